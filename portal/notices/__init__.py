"""Privacy notices: versioned per account (and the platform's default), and their notice mails."""
