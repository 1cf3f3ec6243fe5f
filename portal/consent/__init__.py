"""The consent ledger: append-only, timestamped, tamper-evident. Every domain writes to it."""
