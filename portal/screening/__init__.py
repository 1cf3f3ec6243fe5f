"""Restricted-content screening of messages before they are sent (``POST .../messages/check``)."""
