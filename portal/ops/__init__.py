"""The compliance team's console at ``/ops/``: reviews, accounts, complaints, flagged messages."""
