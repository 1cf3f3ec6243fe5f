"""Unsubscribing (RFC 8058 one-click, links, mailto) and the preference centre."""
