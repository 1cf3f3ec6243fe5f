"""List imports: a CSV of contacts with an attestation of consent, checked row by row."""
