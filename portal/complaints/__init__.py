"""Complaints: the subscriber's report form and ISP feedback-loop (ARF) reports."""
