"""The transactional outbox: mail (and webhooks) written with their cause, sent after commit."""
