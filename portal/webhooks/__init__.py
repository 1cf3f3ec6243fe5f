"""Webhook endpoints of an account, and the signed event calls made to them through the outbox."""
