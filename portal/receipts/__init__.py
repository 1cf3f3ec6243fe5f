"""Consent receipts: what a person agreed to, for them to keep (ISO/IEC TS 27560, Kantara CR)."""
