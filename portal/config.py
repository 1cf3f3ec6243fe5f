"""Configuration read from the environment (SPEC section 7): the only module that reads it.

Each setting is read by one of the typed readers below, which also record the variable's name
(:data:`VARIABLES`, checked against the README's table by a test). A value that does not parse or
is out of range is recorded in :data:`PROBLEMS`; :func:`check` (called by ``create_app``) then
stops the app with a message naming each bad variable, before anything is served.
"""
from __future__ import annotations

import os
from datetime import timedelta
from typing import Callable, TypeVar
from urllib.parse import urlsplit

T = TypeVar("T")

#: Every environment variable this module reads.
VARIABLES: set[str] = {"DATABASE_URL"}  # read by database_url()
#: ``NAME=value: what is wrong`` for each variable whose value is not acceptable.
PROBLEMS: list[str] = []

#: The development key: a start with it in production logs a warning.
DEV_SECRET_KEY = "dev-secret-key-change-me"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class ConfigError(RuntimeError):
    """One or more environment variables hold values the portal cannot use."""


def _read(name: str, default: T, parse: Callable[[str], T], check: Callable[[T], str | None] | None = None) -> T:
    """``name`` from the environment parsed by ``parse``, or ``default``; a bad value is recorded."""
    VARIABLES.add(name)
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = parse(raw.strip())
    except (TypeError, ValueError) as error:
        PROBLEMS.append(f"{name}={raw!r}: {error}")
        return default
    problem = check(value) if check else None
    if problem:
        PROBLEMS.append(f"{name}={raw!r}: {problem}")
        return default
    return value


def _at_least(low: float) -> Callable[[float], str | None]:
    return lambda value: None if value >= low else f"must be at least {low:g}"


def _parse_bool(raw: str) -> bool:
    value = raw.lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError("must be one of 1/0, true/false, yes/no, on/off")


def _parse_int(raw: str) -> int:
    try:
        return int(raw.replace("_", ""))
    except ValueError:
        raise ValueError("must be a whole number") from None


def _parse_float(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ValueError("must be a number") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError("must be a finite number")
    return value


def _parse_rate_limit(raw: str) -> str:
    from limits import parse_many

    try:
        parse_many(raw)
    except ValueError:
        raise ValueError("must be a rate limit such as '20 per hour' or '10/minute'") from None
    return raw


def _parse_http_url(raw: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ValueError("must be an http(s) URL with a host and no query")
    return raw.rstrip("/")


def _parse_domain(raw: str) -> str:
    try:
        domain = raw.strip().rstrip(".").encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise ValueError("must be a domain name such as mail.example.com") from None
    labels = domain.split(".")
    if len(domain) > 253 or len(labels) < 2 or not all(
            0 < len(label) <= 63 and label.replace("-", "").isalnum() and label.isascii()
            and not label.startswith("-") and not label.endswith("-") for label in labels):
        raise ValueError("must be a domain name such as mail.example.com")
    return domain


def _parse_storage_uri(raw: str) -> str:
    if "://" not in raw:
        raise ValueError("must be a storage URI such as memory:// or redis://host:6379/0")
    return raw


def _parse_log_format(raw: str) -> str:
    value = raw.strip().lower()
    if value not in {"text", "json"}:
        raise ValueError("must be text or json")
    return value


def _bool(name: str, default: bool = False) -> bool:
    return _read(name, default, _parse_bool)


def _int(name: str, default: int, low: int = 0) -> int:
    return _read(name, default, _parse_int, _at_least(low))


def _float(name: str, default: float, low: float = 0) -> float:
    return _read(name, default, _parse_float, _at_least(low))


def _str(name: str, default: str | None = None) -> str | None:
    """A string; unset or empty gives ``default``."""
    return _read(name, default, lambda raw: raw or default)


def _limit(name: str, default: str) -> str:
    return _read(name, default, _parse_rate_limit)


def _days(name: str, default: int) -> timedelta:
    return timedelta(days=_int(name, default, low=1))


def _list(name: str) -> list[str]:
    return _read(name, [], lambda raw: [item.strip() for item in raw.split(",") if item.strip()])


def metrics_multiprocess_dir() -> str | None:
    """``PROMETHEUS_MULTIPROC_DIR`` as it is now: gunicorn.conf.py sets it after this module
    is imported, before the workers start, so it is read when asked, not at import."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


VARIABLES.add("PROMETHEUS_MULTIPROC_DIR")


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


def check() -> None:
    """Stop the start-up when any variable held a bad value, naming each one."""
    if PROBLEMS:
        raise ConfigError("Invalid configuration in the environment:\n  " + "\n  ".join(PROBLEMS))


def is_loopback(host: str | None) -> bool:
    """Whether ``host`` (a name or an address) is this machine only: ``localhost``, 127.0.0.0/8, ::1."""
    import ipaddress

    name = (host or "").strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return (mapped or address).is_loopback


def development_warnings(config, host: str | None = None) -> list[str]:
    """What makes development pages reachable from other machines (``host``: where the server listens)."""
    if not config.get("PORTAL_DEVELOPMENT"):
        return []
    warnings = []
    if host is not None and not is_loopback(host):
        warnings.append(f"PORTAL_DEVELOPMENT is on and the server listens on {host}, beyond this machine: "
                        "the dev inbox shows every confirm, unsubscribe and erase link it mails"
                        + ("; other machines may read it (PORTAL_DEV_ALLOW_REMOTE is on)."
                           if config.get("PORTAL_DEV_ALLOW_REMOTE") else
                           "; it answers this machine only (PORTAL_DEV_ALLOW_REMOTE is off)."))
    base_host = urlsplit(str(config.get("PORTAL_BASE_URL", ""))).hostname
    if not is_loopback(base_host):
        warnings.append(f"PORTAL_DEVELOPMENT is on with PORTAL_BASE_URL={config.get('PORTAL_BASE_URL')}: "
                        "the development pages (dev inbox, demo site) are served; never set "
                        "PORTAL_DEVELOPMENT in production.")
    return warnings


def production_warnings(config) -> list[str]:
    """What a production start should not run with (logged as warnings by ``create_app``).

    In development (``PORTAL_DEVELOPMENT``) the production warnings do not apply (``make run``
    is http:// with the development key on purpose): only :func:`development_warnings` do.
    """
    if config.get("PORTAL_DEVELOPMENT"):
        return development_warnings(config)
    warnings = []
    if str(config.get("PORTAL_BASE_URL", "")).startswith("http://"):
        warnings.append("PORTAL_BASE_URL is http://: List-Unsubscribe then carries an http: URI, which "
                        "mailbox providers reject; serve the portal over https and set an https:// URL.")
    if config.get("SECRET_KEY") == DEV_SECRET_KEY:
        warnings.append("SECRET_KEY is the development key: anyone can forge links and sessions; "
                        "set SECRET_KEY to a long random value.")
    return warnings


def several_workers_warning(storage_uri: str, workers: int) -> str | None:
    """The warning for ``memory://`` rate limits shared by nobody: each worker counts alone."""
    if workers > 1 and storage_uri.startswith("memory://"):
        return (f"RATELIMIT_STORAGE_URI is memory:// with {workers} workers: each worker counts on "
                "its own, so every limit is multiplied; set RATELIMIT_STORAGE_URI=redis://...")
    return None


def _default_workers() -> int:
    """Two workers a core, plus one (gunicorn's advice), at most 8."""
    return min(2 * (os.cpu_count() or 1) + 1, 8)


class Config:
    """Production defaults, each overridable from the environment."""

    SECRET_KEY = _str("SECRET_KEY", DEV_SECRET_KEY)
    #: Older keys still accepted for tokens and sessions, oldest first.
    SECRET_KEY_FALLBACKS = _list("SECRET_KEY_FALLBACKS")
    SQLALCHEMY_DATABASE_URI: str | None = None  # filled in by create_app
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    #: How long a worker remembers an API key's row (and that an account exists). A key revoked
    #: elsewhere keeps working for at most this long; 0 reads the key on every request.
    PORTAL_AUTH_CACHE_SECONDS = _float("PORTAL_AUTH_CACHE_SECONDS", 5.0)
    #: Answer plain single-address suppression lookups in front of Flask (same answer, a third
    #: of the cost: see portal/suppression/fastpath.py).
    PORTAL_FAST_LOOKUP = _bool("PORTAL_FAST_LOOKUP", True)
    #: Load the suppression index as each gunicorn worker starts (gunicorn.conf.py), not on its
    #: first lookup.
    PORTAL_WARM_INDEX = _bool("PORTAL_WARM_INDEX", True)
    #: Where the machine's shared suppression index lives (memory-mapped by every worker;
    #: 33 bytes an entry). Default ``<instance>/suppression-index/<digest of the database URL>``,
    #: one per database. Local disk; a set value is used as it is, so give each database its own.
    PORTAL_SUPPRESSION_INDEX_DIR = _str("PORTAL_SUPPRESSION_INDEX_DIR")
    #: Addresses changed since the shared index was written from which a worker writes a new one.
    PORTAL_SUPPRESSION_INDEX_MERGE_ENTRIES = _int("PORTAL_SUPPRESSION_INDEX_MERGE_ENTRIES", 50000, low=1)
    #: How often each worker looks for a newer shared index (or merges); 0 never does.
    PORTAL_SUPPRESSION_INDEX_MERGE_SECONDS = _float("PORTAL_SUPPRESSION_INDEX_MERGE_SECONDS", 30.0)
    PORTAL_BASE_URL = _read("PORTAL_BASE_URL", "http://127.0.0.1:5000", _parse_http_url)
    PORTAL_UNSUBSCRIBE_MAIL_DOMAIN = _str("PORTAL_UNSUBSCRIBE_MAIL_DOMAIN")
    #: Development only (``make run`` sets it): the dev inbox ``/_dev/mail`` (when there is no
    #: MAIL_SERVER) and the demo customer site ``/_dev/site``. Never set it in production.
    PORTAL_DEVELOPMENT = _bool("PORTAL_DEVELOPMENT")
    #: Development pages answer clients on this machine (loopback) only unless this is set, so
    #: that ``make run HOST=0.0.0.0`` does not show the dev inbox's links to the whole network.
    PORTAL_DEV_ALLOW_REMOTE = _bool("PORTAL_DEV_ALLOW_REMOTE")
    #: The platform's name, as receipts and notices name the processor that sends for the accounts.
    PORTAL_PLATFORM_NAME = _str("PORTAL_PLATFORM_NAME", "Consent Portal")
    #: The bearer token that ``/metrics`` asks for; unset, ``/metrics`` answers 404.
    PORTAL_METRICS_TOKEN = _str("PORTAL_METRICS_TOKEN")
    #: ``json``: every log record is one JSON object a line (with the request id); ``text`` otherwise.
    PORTAL_LOG_FORMAT = _read("PORTAL_LOG_FORMAT", "text", _parse_log_format)

    MAIL_SERVER = _str("MAIL_SERVER")
    MAIL_PORT = _int("MAIL_PORT", 25, low=1)
    MAIL_USE_TLS = _bool("MAIL_USE_TLS")
    MAIL_USE_SSL = _bool("MAIL_USE_SSL")
    MAIL_USERNAME = _str("MAIL_USERNAME")
    MAIL_PASSWORD = _str("MAIL_PASSWORD")
    #: Seconds an SMTP connect, read or write may take before the worker gives up (and retries).
    MAIL_TIMEOUT = _float("MAIL_TIMEOUT", 30.0)
    MAIL_DEFAULT_SENDER = _str("MAIL_DEFAULT_SENDER", "Consent Portal <no-reply@localhost>")
    #: The platform's sending domain: the From address (``MAIL_DEFAULT_SENDER``'s local part at it),
    #: the envelope sender and the Message-ID of mail sent for the accounts. Unset: the domain of
    #: ``MAIL_DEFAULT_SENDER``. SPF, DKIM (``DKIM_DOMAIN``) and DMARC must align with it.
    PORTAL_MAIL_FROM_DOMAIN: str | None = _read("PORTAL_MAIL_FROM_DOMAIN", None, _parse_domain)
    DKIM_DOMAIN = _str("DKIM_DOMAIN")
    DKIM_SELECTOR = _str("DKIM_SELECTOR")
    DKIM_PRIVATE_KEY_PATH = _str("DKIM_PRIVATE_KEY_PATH")

    #: How many reverse proxies (load balancers) in front set X-Forwarded-For/-Proto.
    PORTAL_PROXY_COUNT = _int("PORTAL_PROXY_COUNT", 0)

    RATELIMIT_STORAGE_URI = _read("RATELIMIT_STORAGE_URI", "memory://", _parse_storage_uri)
    RATELIMIT_HEADERS_ENABLED = True

    #: Largest request body of a route without a limit of its own (every route has one today).
    MAX_CONTENT_LENGTH = _int("PORTAL_MAX_CONTENT_LENGTH", 64 * 1024 * 1024, low=1)
    #: Per-route body limits (portal/limits.py), checked before anything reads the body.
    #: Subscriber pages and the one-click unsubscribe: a few fields.
    PORTAL_PAGE_MAX_BYTES = _int("PORTAL_PAGE_MAX_BYTES", 16 * 1024, low=1024)
    #: API bodies of one thing (an account, a form, a webhook, one suppression).
    PORTAL_API_MAX_BYTES = _int("PORTAL_API_MAX_BYTES", 64 * 1024, low=1024)
    #: API bodies of up to 10,000 recipients, addresses or delivery events.
    PORTAL_API_BATCH_MAX_BYTES = _int("PORTAL_API_BATCH_MAX_BYTES", 16 * 1024 * 1024, low=1024)
    #: ``POST .../messages/check``: a message's HTML and text parts.
    PORTAL_MESSAGE_CHECK_MAX_BYTES = _int("PORTAL_MESSAGE_CHECK_MAX_BYTES", 4 * 1024 * 1024, low=1024)
    #: Largest feedback-loop report (mailbox providers attach the whole original message).
    PORTAL_FEEDBACK_MAX_BYTES = _int("PORTAL_FEEDBACK_MAX_BYTES", 10 * 1024 * 1024, low=1024)
    #: Largest CSV upload to ``.../imports`` (the file is spooled to disk, never held in memory).
    PORTAL_IMPORT_MAX_BYTES = _int("PORTAL_IMPORT_MAX_BYTES", 1024 * 1024 * 1024, low=1024)
    #: Re-permission mails of one import released per minute (``next_attempt_at`` spreading).
    PORTAL_IMPORT_MAILS_PER_MINUTE = _int("PORTAL_IMPORT_MAILS_PER_MINUTE", 1000, low=1)
    #: Notice mails of a new privacy notice version released per minute (the outbox worker paces them).
    PORTAL_NOTICE_MAILS_PER_MINUTE = _int("PORTAL_NOTICE_MAILS_PER_MINUTE", 1000, low=1)
    #: Hours between a version's last notice mail and the earliest time it may take effect.
    PORTAL_NOTICE_LEAD_HOURS = _int("PORTAL_NOTICE_LEAD_HOURS", 24, low=0)
    #: Seconds an import worker's claim holds without news; renewed after every chunk of rows.
    PORTAL_IMPORT_LEASE_SECONDS = _int("PORTAL_IMPORT_LEASE_SECONDS", 60, low=1)
    #: Claims of one import (its workers died) before it is failed as ``interrupted``.
    PORTAL_IMPORT_MAX_ATTEMPTS = _int("PORTAL_IMPORT_MAX_ATTEMPTS", 3, low=1)
    #: Seconds an idle ``flask imports work`` waits before looking for queued imports again.
    PORTAL_IMPORT_POLL_SECONDS = _float("PORTAL_IMPORT_POLL_SECONDS", 1.0, low=0.01)
    WTF_CSRF_TIME_LIMIT = None
    #: Token pages need no cookie at all; any session cookie that remains is HttpOnly, SameSite=Lax
    #: and, when PORTAL_BASE_URL is https, Secure (set in create_app).
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"

    BABEL_DEFAULT_LOCALE = "en"
    PORTAL_LOCALES = ("en", "id")

    #: After a confirmation, mail the person a short "you are subscribed" message with their consent
    #: receipt, the preference centre and the unsubscribe links.
    PORTAL_SUBSCRIBED_MAIL = _bool("PORTAL_SUBSCRIBED_MAIL", True)
    #: How long a double-opt-in confirmation link stays valid.
    PORTAL_CONFIRM_MAX_AGE = _days("PORTAL_CONFIRM_MAX_AGE_DAYS", 7)
    #: How long the undo offered on an unsubscribe's own answer page works; after it, only a
    #: fresh double opt-in mailed to the address gives the consent back.
    PORTAL_UNDO_MAX_AGE = timedelta(minutes=_float("PORTAL_UNDO_MAX_AGE_MINUTES", 15.0, low=1))
    #: Signup abuse limits (Flask-Limiter strings) and the daily cap of confirmation mails.
    PORTAL_SIGNUP_IP_LIMIT = _limit("PORTAL_SIGNUP_IP_LIMIT", "20 per hour")
    PORTAL_SIGNUP_ADDRESS_LIMIT = _limit("PORTAL_SIGNUP_ADDRESS_LIMIT", "10 per hour")
    PORTAL_RESEND_IP_LIMIT = _limit("PORTAL_RESEND_IP_LIMIT", "10 per hour")
    PORTAL_CONFIRMATIONS_PER_DAY = _int("PORTAL_CONFIRMATIONS_PER_DAY", 3)
    #: Every accepted signup is answered no sooner than this, so that the time taken does not
    #: tell a new address from a known or suppressed one (STANDARDS I-12).
    PORTAL_SIGNUP_MIN_SECONDS = _float("PORTAL_SIGNUP_MIN_SECONDS", 0.2)
    #: Limits of the other public POSTs (per client IP unless said otherwise). The one-click
    #: unsubscribe is limited per link, never per IP: a mailbox provider posts many from one IP.
    PORTAL_CONFIRM_IP_LIMIT = _limit("PORTAL_CONFIRM_IP_LIMIT", "60 per hour")
    PORTAL_UNSUBSCRIBE_TOKEN_LIMIT = _limit("PORTAL_UNSUBSCRIBE_TOKEN_LIMIT", "20 per hour")
    PORTAL_PREFERENCES_IP_LIMIT = _limit("PORTAL_PREFERENCES_IP_LIMIT", "60 per hour")
    PORTAL_COMPLAINT_FORM_LIMIT = _limit("PORTAL_COMPLAINT_FORM_LIMIT", "20 per hour")
    PORTAL_PRIVACY_IP_LIMIT = _limit("PORTAL_PRIVACY_IP_LIMIT", "10 per hour")
    #: "Send me a link to manage my subscriptions" (the invalid and expired link pages): limited per
    #: client IP and per address; every answer takes at least PORTAL_MANAGE_MIN_SECONDS, so that
    #: an address some account holds is not told from one none holds.
    PORTAL_MANAGE_IP_LIMIT = _limit("PORTAL_MANAGE_IP_LIMIT", "10 per hour")
    PORTAL_MANAGE_ADDRESS_LIMIT = _limit("PORTAL_MANAGE_ADDRESS_LIMIT", "3 per hour")
    PORTAL_MANAGE_MIN_SECONDS = _float("PORTAL_MANAGE_MIN_SECONDS", 0.2)

    #: Outbox worker: where .eml files go without MAIL_SERVER (default ``<instance>/outbox``),
    #: retries with exponential backoff, the lease a claim holds, batch size and idle poll.
    PORTAL_OUTBOX_DIR = _str("PORTAL_OUTBOX_DIR")
    PORTAL_OUTBOX_MAX_ATTEMPTS = _int("PORTAL_OUTBOX_MAX_ATTEMPTS", 8, low=1)
    PORTAL_OUTBOX_BACKOFF_SECONDS = _int("PORTAL_OUTBOX_BACKOFF_SECONDS", 30)
    PORTAL_OUTBOX_BACKOFF_MAX_SECONDS = _int("PORTAL_OUTBOX_BACKOFF_MAX_SECONDS", 21600)
    PORTAL_OUTBOX_LEASE_SECONDS = _int("PORTAL_OUTBOX_LEASE_SECONDS", 300, low=1)
    PORTAL_OUTBOX_BATCH_SIZE = _int("PORTAL_OUTBOX_BATCH_SIZE", 50, low=1)
    PORTAL_OUTBOX_POLL_SECONDS = _float("PORTAL_OUTBOX_POLL_SECONDS", 2.0)
    PORTAL_WEBHOOK_TIMEOUT_SECONDS = _float("PORTAL_WEBHOOK_TIMEOUT_SECONDS", 5.0)
    #: Allow ``http://`` webhook URLs to loopback addresses (development only); every other
    #: webhook must be https to a public address.
    PORTAL_WEBHOOKS_ALLOW_HTTP_LOOPBACK = _bool("PORTAL_WEBHOOKS_ALLOW_HTTP_LOOPBACK")

    #: No consent and no contact for this long makes an address stale.
    PORTAL_STALE_AFTER = _days("PORTAL_STALE_AFTER_DAYS", 730)
    #: Soft bounces in a row that suppress an address like a hard bounce.
    PORTAL_SOFT_BOUNCE_LIMIT = _int("PORTAL_SOFT_BOUNCE_LIMIT", 3, low=1)
    #: Events younger than this are left for the next ledger checkpoint.
    PORTAL_LEDGER_SEAL_GRACE = timedelta(seconds=_int("PORTAL_LEDGER_SEAL_GRACE_SECONDS", 60))
    #: Most events one checkpoint seals (``ledger seal`` makes as many as it needs): bounds the
    #: memory of sealing and verifying one checkpoint.
    PORTAL_LEDGER_CHECKPOINT_MAX_EVENTS = _int("PORTAL_LEDGER_CHECKPOINT_MAX_EVENTS", 65536, low=2)
    #: Retention (``flask privacy purge``): unconfirmed signups, then full IP addresses in the ledger.
    PORTAL_PENDING_RETENTION_DAYS = _int("PORTAL_PENDING_RETENTION_DAYS", 30, low=1)
    PORTAL_IP_RETENTION_DAYS = _int("PORTAL_IP_RETENTION_DAYS", 180, low=1)

    #: gunicorn (gunicorn.conf.py): worker processes, threads in each, and the seconds a worker
    #: may be silent (a request may take) before it is restarted.
    PORTAL_WORKERS = _int("PORTAL_WORKERS", _default_workers(), low=1)
    PORTAL_THREADS = _int("PORTAL_THREADS", 8, low=1)
    PORTAL_REQUEST_TIMEOUT_SECONDS = _int("PORTAL_REQUEST_TIMEOUT_SECONDS", 30, low=1)
    #: gunicorn: longest wait for the next bytes of a client's request (headers or body).
    PORTAL_READ_TIMEOUT_SECONDS = _float("PORTAL_READ_TIMEOUT_SECONDS", 5.0, low=0.1)
    #: The Ed25519 key that signs checkpoints (PEM, PKCS#8; default ``<instance>/ledger-signing.pem``).
    PORTAL_LEDGER_SIGNING_KEY_PATH = _str("PORTAL_LEDGER_SIGNING_KEY_PATH")
    #: The secret of the events' keyed hashes (hex; default ``<instance>/ledger-hmac.key``). Kept
    #: apart from the signing key: it must verify every event ever written, across rotations.
    PORTAL_LEDGER_HMAC_KEY_PATH = _str("PORTAL_LEDGER_HMAC_KEY_PATH")
    #: Public keys (PEM files, comma-separated) that signed older checkpoints: still served and trusted.
    PORTAL_LEDGER_RETIRED_KEY_PATHS = _list("PORTAL_LEDGER_RETIRED_KEY_PATHS")
    #: Create an absent key file. On by default only in development (``PORTAL_DEVELOPMENT``, which
    #: ``make run`` sets): in production a missing key file stops the start, never a silent new key.
    PORTAL_LEDGER_CREATE_KEYS = _bool("PORTAL_LEDGER_CREATE_KEYS", PORTAL_DEVELOPMENT)
    #: Where each signed checkpoint is appended as a JSON line (default ``<instance>/ledger-anchors``).
    PORTAL_LEDGER_ANCHOR_DIR = _str("PORTAL_LEDGER_ANCHOR_DIR")

    # --- Complaint policy (portal/complaints/policy.py) and the compliance console (portal/ops/) ---
    #: Rolling windows of the complaint rates: a short one (hours) and a long one (days; the
    #: older PORTAL_COMPLAINT_RATE_WINDOW_DAYS is read as its alias).
    PORTAL_COMPLAINT_SHORT_WINDOW_HOURS = _int("PORTAL_COMPLAINT_SHORT_WINDOW_HOURS", 24, low=1)
    PORTAL_COMPLAINT_LONG_WINDOW_DAYS = _int("PORTAL_COMPLAINT_LONG_WINDOW_DAYS",
                                             _int("PORTAL_COMPLAINT_RATE_WINDOW_DAYS", 30, low=1), low=1)
    #: Delivered messages a window needs before its rate is judged; below it in every window
    #: the account is a small sender, judged by counts.
    PORTAL_COMPLAINT_RATE_MIN_VOLUME = _int("PORTAL_COMPLAINT_RATE_MIN_VOLUME", 1000, low=1)
    #: Rates (complaints / delivered, as fractions): warn, open a review (Gmail's and Yahoo's
    #: 0.3%; the older PORTAL_COMPLAINT_RATE_LIMIT is its alias), suspend at once (abusive).
    PORTAL_COMPLAINT_RATE_WARN = _float("PORTAL_COMPLAINT_RATE_WARN", 0.001)
    PORTAL_COMPLAINT_RATE_REVIEW = _float("PORTAL_COMPLAINT_RATE_REVIEW",
                                          _float("PORTAL_COMPLAINT_RATE_LIMIT", 0.003))
    PORTAL_COMPLAINT_RATE_SUSPEND = _float("PORTAL_COMPLAINT_RATE_SUSPEND", 0.01)
    #: Small senders: complaints that warn an active account, then complaints after the warning
    #: that suspend it and open a review.
    PORTAL_COMPLAINTS_TO_WARN = _int("PORTAL_COMPLAINTS_TO_WARN", 1, low=1)
    PORTAL_COMPLAINTS_TO_SUSPEND = _int("PORTAL_COMPLAINTS_TO_SUSPEND", 1, low=1)
    #: An operator's lexicon of restricted content, added to portal/data/restricted_lexicon.txt.
    PORTAL_RESTRICTED_LEXICON_PATH = _str("PORTAL_RESTRICTED_LEXICON_PATH")
    #: Failed console sign-ins allowed per client IP and per user name (Flask-Limiter strings).
    PORTAL_OPS_SIGNIN_LIMIT = _limit("PORTAL_OPS_SIGNIN_LIMIT", "5 per 15 minutes")
    #: How long a console session lasts after sign-in.
    PORTAL_OPS_SESSION_HOURS = _float("PORTAL_OPS_SESSION_HOURS", 8.0, low=0.01)


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
    #: The sender the mail tests expect, whatever the environment says.
    MAIL_DEFAULT_SENDER = "Consent Portal <no-reply@localhost>"
    PORTAL_MAIL_FROM_DOMAIN = None
    PORTAL_PLATFORM_NAME = "Consent Portal"
    PORTAL_SIGNUP_MIN_SECONDS = 0.0
    PORTAL_MANAGE_MIN_SECONDS = 0.0
    PORTAL_BASE_URL = "https://portal.test"
    PORTAL_DEVELOPMENT = False
    PORTAL_DEV_ALLOW_REMOTE = False
    PORTAL_METRICS_TOKEN = None
    PORTAL_LOG_FORMAT = "text"
    PORTAL_UNSUBSCRIBE_MAIL_DOMAIN = None
    PORTAL_LEDGER_SEAL_GRACE = timedelta(seconds=0)
    #: Each test's ledger keys are made on first use, in a directory of its own.
    PORTAL_LEDGER_CREATE_KEYS = True
    #: The tests' webhook receivers listen on 127.0.0.1 over plain http.
    PORTAL_WEBHOOKS_ALLOW_HTTP_LOOPBACK = True
