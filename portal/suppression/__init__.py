"""Suppressions ("never send this address"), send eligibility, and the changes feed."""
