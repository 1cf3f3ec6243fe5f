"""Accounts (customers), their API keys, and the policy status of each account."""
