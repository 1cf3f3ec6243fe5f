"""Configuration read from the environment (SPEC section 7)."""
from __future__ import annotations

import os
from datetime import timedelta


def _bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _list(name: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


def database_url(instance_path: str) -> str:
    """The ``DATABASE_URL`` for SQLAlchemy; SQLite under ``instance/`` when unset."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        return "sqlite:///" + os.path.join(instance_path, "portal.sqlite3")
    # psycopg 3 is the driver; accept the common short spellings.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


class Config:
    """Production defaults, each overridable from the environment."""

    SECRET_KEY = os.environ.get("SECRET_KEY", "dev-secret-key-change-me")
    #: Older keys still accepted for tokens and sessions, oldest first.
    SECRET_KEY_FALLBACKS = _list("SECRET_KEY_FALLBACKS")
    SQLALCHEMY_DATABASE_URI: str | None = None  # filled in by create_app
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    #: How long a worker remembers an API key's row (and that an account exists). A key revoked
    #: elsewhere keeps working for at most this long; 0 reads the key on every request.
    PORTAL_AUTH_CACHE_SECONDS = float(os.environ.get("PORTAL_AUTH_CACHE_SECONDS", "5"))
    #: Answer plain single-address suppression lookups in front of Flask (same answer, a third
    #: of the cost: see portal/suppression/fastpath.py).
    PORTAL_FAST_LOOKUP = _bool("PORTAL_FAST_LOOKUP", True)
    #: Load the suppression index as each gunicorn worker starts (gunicorn.conf.py), not on its
    #: first lookup.
    PORTAL_WARM_INDEX = _bool("PORTAL_WARM_INDEX", True)
    PORTAL_BASE_URL = os.environ.get("PORTAL_BASE_URL", "http://127.0.0.1:5000").rstrip("/")
    PORTAL_UNSUBSCRIBE_MAIL_DOMAIN = os.environ.get("PORTAL_UNSUBSCRIBE_MAIL_DOMAIN") or None

    MAIL_SERVER = os.environ.get("MAIL_SERVER") or None
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "25"))
    MAIL_USE_TLS = _bool("MAIL_USE_TLS")
    MAIL_USE_SSL = _bool("MAIL_USE_SSL")
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME") or None
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD") or None
    #: Seconds an SMTP connect, read or write may take before the worker gives up (and retries).
    MAIL_TIMEOUT = float(os.environ.get("MAIL_TIMEOUT", "30"))
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "Consent Portal <no-reply@localhost>")
    DKIM_DOMAIN = os.environ.get("DKIM_DOMAIN") or None
    DKIM_SELECTOR = os.environ.get("DKIM_SELECTOR") or None
    DKIM_PRIVATE_KEY_PATH = os.environ.get("DKIM_PRIVATE_KEY_PATH") or None

    #: How many reverse proxies (load balancers) in front set X-Forwarded-For/-Proto.
    PORTAL_PROXY_COUNT = int(os.environ.get("PORTAL_PROXY_COUNT", "0"))

    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_HEADERS_ENABLED = True

    #: Largest request body accepted anywhere (imports stream larger files in parts).
    MAX_CONTENT_LENGTH = int(os.environ.get("PORTAL_MAX_CONTENT_LENGTH", str(64 * 1024 * 1024)))
    #: Largest CSV upload to ``.../imports`` (the file is spooled to disk, never held in memory).
    PORTAL_IMPORT_MAX_BYTES = int(os.environ.get("PORTAL_IMPORT_MAX_BYTES", str(1024 * 1024 * 1024)))
    #: Re-permission mails of one import released per minute (``next_attempt_at`` spreading).
    PORTAL_IMPORT_MAILS_PER_MINUTE = int(os.environ.get("PORTAL_IMPORT_MAILS_PER_MINUTE", "1000"))
    WTF_CSRF_TIME_LIMIT = None

    BABEL_DEFAULT_LOCALE = "en"
    PORTAL_LOCALES = ("en", "id")

    #: How long a double-opt-in confirmation link stays valid.
    PORTAL_CONFIRM_MAX_AGE = timedelta(days=int(os.environ.get("PORTAL_CONFIRM_MAX_AGE_DAYS", "7")))
    #: Signup abuse limits (Flask-Limiter strings) and the daily cap of confirmation mails.
    PORTAL_SIGNUP_IP_LIMIT = os.environ.get("PORTAL_SIGNUP_IP_LIMIT", "20 per hour")
    PORTAL_SIGNUP_ADDRESS_LIMIT = os.environ.get("PORTAL_SIGNUP_ADDRESS_LIMIT", "10 per hour")
    PORTAL_RESEND_IP_LIMIT = os.environ.get("PORTAL_RESEND_IP_LIMIT", "10 per hour")
    PORTAL_CONFIRMATIONS_PER_DAY = int(os.environ.get("PORTAL_CONFIRMATIONS_PER_DAY", "3"))
    #: Every accepted signup is answered no sooner than this, so that the time taken does not
    #: tell a new address from a known or suppressed one (STANDARDS I-12).
    PORTAL_SIGNUP_MIN_SECONDS = float(os.environ.get("PORTAL_SIGNUP_MIN_SECONDS", "0.2"))
    #: Limits of the other public POSTs (per client IP unless said otherwise). The one-click
    #: unsubscribe is limited per link, never per IP: a mailbox provider posts many from one IP.
    PORTAL_CONFIRM_IP_LIMIT = os.environ.get("PORTAL_CONFIRM_IP_LIMIT", "60 per hour")
    PORTAL_UNSUBSCRIBE_TOKEN_LIMIT = os.environ.get("PORTAL_UNSUBSCRIBE_TOKEN_LIMIT", "20 per hour")
    PORTAL_PREFERENCES_IP_LIMIT = os.environ.get("PORTAL_PREFERENCES_IP_LIMIT", "60 per hour")
    PORTAL_COMPLAINT_FORM_LIMIT = os.environ.get("PORTAL_COMPLAINT_FORM_LIMIT", "20 per hour")
    PORTAL_PRIVACY_IP_LIMIT = os.environ.get("PORTAL_PRIVACY_IP_LIMIT", "10 per hour")

    #: Outbox worker: where .eml files go without MAIL_SERVER (default ``<instance>/outbox``),
    #: retries with exponential backoff, the lease a claim holds, batch size and idle poll.
    PORTAL_OUTBOX_DIR = os.environ.get("PORTAL_OUTBOX_DIR") or None
    PORTAL_OUTBOX_MAX_ATTEMPTS = int(os.environ.get("PORTAL_OUTBOX_MAX_ATTEMPTS", "8"))
    PORTAL_OUTBOX_BACKOFF_SECONDS = int(os.environ.get("PORTAL_OUTBOX_BACKOFF_SECONDS", "30"))
    PORTAL_OUTBOX_BACKOFF_MAX_SECONDS = int(os.environ.get("PORTAL_OUTBOX_BACKOFF_MAX_SECONDS", "21600"))
    PORTAL_OUTBOX_LEASE_SECONDS = int(os.environ.get("PORTAL_OUTBOX_LEASE_SECONDS", "300"))
    PORTAL_OUTBOX_BATCH_SIZE = int(os.environ.get("PORTAL_OUTBOX_BATCH_SIZE", "50"))
    PORTAL_OUTBOX_POLL_SECONDS = float(os.environ.get("PORTAL_OUTBOX_POLL_SECONDS", "2"))
    PORTAL_WEBHOOK_TIMEOUT_SECONDS = float(os.environ.get("PORTAL_WEBHOOK_TIMEOUT_SECONDS", "5"))

    #: No consent and no contact for this long makes an address stale.
    PORTAL_STALE_AFTER = timedelta(days=int(os.environ.get("PORTAL_STALE_AFTER_DAYS", "730")))
    #: Soft bounces in a row that suppress an address like a hard bounce.
    PORTAL_SOFT_BOUNCE_LIMIT = int(os.environ.get("PORTAL_SOFT_BOUNCE_LIMIT", "3"))
    #: Events younger than this are left for the next ledger checkpoint.
    PORTAL_LEDGER_SEAL_GRACE = timedelta(seconds=int(os.environ.get("PORTAL_LEDGER_SEAL_GRACE_SECONDS", "60")))

    # --- Complaint policy (portal/complaints/policy.py) and the compliance console (portal/ops/) ---
    #: Rolling windows of the complaint rates: a short one (hours) and a long one (days; the
    #: older PORTAL_COMPLAINT_RATE_WINDOW_DAYS is read as its alias).
    PORTAL_COMPLAINT_SHORT_WINDOW_HOURS = int(os.environ.get("PORTAL_COMPLAINT_SHORT_WINDOW_HOURS", "24"))
    PORTAL_COMPLAINT_LONG_WINDOW_DAYS = int(os.environ.get(
        "PORTAL_COMPLAINT_LONG_WINDOW_DAYS", os.environ.get("PORTAL_COMPLAINT_RATE_WINDOW_DAYS", "30")))
    #: Delivered messages a window needs before its rate is judged; below it in every window
    #: the account is a small sender, judged by counts.
    PORTAL_COMPLAINT_RATE_MIN_VOLUME = int(os.environ.get("PORTAL_COMPLAINT_RATE_MIN_VOLUME", "1000"))
    #: Rates (complaints / delivered, as fractions): warn, open a review (Gmail's and Yahoo's
    #: 0.3%; the older PORTAL_COMPLAINT_RATE_LIMIT is its alias), suspend at once (abusive).
    PORTAL_COMPLAINT_RATE_WARN = float(os.environ.get("PORTAL_COMPLAINT_RATE_WARN", "0.001"))
    PORTAL_COMPLAINT_RATE_REVIEW = float(os.environ.get("PORTAL_COMPLAINT_RATE_REVIEW")
                                         or os.environ.get("PORTAL_COMPLAINT_RATE_LIMIT") or "0.003")
    PORTAL_COMPLAINT_RATE_SUSPEND = float(os.environ.get("PORTAL_COMPLAINT_RATE_SUSPEND", "0.01"))
    #: Small senders: complaints that warn an active account, then complaints after the warning
    #: that suspend it and open a review.
    PORTAL_COMPLAINTS_TO_WARN = int(os.environ.get("PORTAL_COMPLAINTS_TO_WARN", "1"))
    PORTAL_COMPLAINTS_TO_SUSPEND = int(os.environ.get("PORTAL_COMPLAINTS_TO_SUSPEND", "1"))
    #: An operator's lexicon of restricted content, added to portal/data/restricted_lexicon.txt.
    PORTAL_RESTRICTED_LEXICON_PATH = os.environ.get("PORTAL_RESTRICTED_LEXICON_PATH") or None
    #: Failed console sign-ins allowed per client IP and per user name (Flask-Limiter strings).
    PORTAL_OPS_SIGNIN_LIMIT = os.environ.get("PORTAL_OPS_SIGNIN_LIMIT", "5 per 15 minutes")
    #: How long a console session lasts after sign-in.
    PORTAL_OPS_SESSION_HOURS = float(os.environ.get("PORTAL_OPS_SESSION_HOURS", "8"))


class TestingConfig(Config):
    """What the tests need: a fixed key, no CSRF in the test client, no real limits."""

    TESTING = True
    SECRET_KEY = "test-secret-key"
    SECRET_KEY_FALLBACKS: list[str] = []
    WTF_CSRF_ENABLED = False
    RATELIMIT_ENABLED = False
    RATELIMIT_STORAGE_URI = "memory://"
    MAIL_SERVER = None
    MAIL_TIMEOUT = 2.0
    PORTAL_SIGNUP_MIN_SECONDS = 0.0
    PORTAL_BASE_URL = "https://portal.test"
    PORTAL_UNSUBSCRIBE_MAIL_DOMAIN = None
    PORTAL_LEDGER_SEAL_GRACE = timedelta(seconds=0)
