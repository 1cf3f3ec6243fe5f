"""Lists, signup forms, contacts and their subscriptions; signup and double opt-in."""
