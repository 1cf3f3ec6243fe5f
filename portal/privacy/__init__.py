"""A subscriber's rights over their data: export, erasure; retention of what is kept."""
