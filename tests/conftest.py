"""Fixtures: an app on a migrated database (SQLite always; PostgreSQL with TEST_DATABASE_URL).

Every database test runs once per backend. SQLite gets a fresh copy of a migrated file per
test; PostgreSQL gets one migrated database per session, truncated after each test.
"""
from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg
import pytest
from sqlalchemy import select, text

from portal import create_app
from portal.config import TestingConfig
from portal.extensions import db as _db
from tests import factories

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
CHROMIUM = "/usr/bin/chromium"
#: Set by .ci/run: a missing PostgreSQL, Redis or Chromium is a failure, never a skip.
REQUIRE_SERVICES = os.environ.get("PORTAL_REQUIRE_SERVICES") == "1"
#: The suppression index directories of this session's apps (see :func:`make_app`).
INDEX_ROOT = tempfile.mkdtemp(prefix="portal-index-")
atexit.register(shutil.rmtree, INDEX_ROOT, ignore_errors=True)
BACKENDS = ["sqlite"] + (["postgresql"] if TEST_DATABASE_URL else [])
#: This session's namespace in the shared Redis (the rate limiters' counters of every app it
#: builds): no other session on the machine counts against its limits, nor it against theirs.
REDIS_PREFIX = f"portal-test-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def pytest_configure(config):
    if REQUIRE_SERVICES and not TEST_DATABASE_URL:
        raise pytest.UsageError("PORTAL_REQUIRE_SERVICES=1 needs TEST_DATABASE_URL (PostgreSQL)")
    compile_translations()


def compile_translations() -> None:
    """Compile the .po catalogs to .mo, as `make translations` does, so pytest alone works."""
    from pathlib import Path

    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po in (Path(__file__).resolve().parents[1] / "translations").glob("*/LC_MESSAGES/messages.po"):
        with open(po, "rb") as source:
            catalog = read_po(source)
        # Written beside it, then renamed over it: another session's app reading the catalog
        # meanwhile sees the old file or the new one, never a truncated one (a 500 in its pages).
        with tempfile.NamedTemporaryFile("wb", dir=po.parent, suffix=".mo.tmp", delete=False) as target:
            write_mo(target, catalog)
        os.chmod(target.name, 0o644)  # as pybabel writes it (a temporary file is the owner's only)
        os.replace(target.name, po.with_suffix(".mo"))


#: The repository's instance/ (development's database, ledger keys, index and mail).
INSTANCE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "instance")


def _instance_files() -> set[str]:
    return {os.path.join(top, name) for top, _dirs, names in os.walk(INSTANCE) for name in names}


@pytest.fixture(scope="session", autouse=True)
def instance_untouched():
    """Nothing the tests run, nor a server or worker they start, writes into the repository's
    instance/: each gets the test's own ledger keys, index and mail directory. Checked at the end."""
    before = _instance_files()
    yield
    made = _instance_files() - before
    assert not made, f"the tests wrote into instance/: {sorted(made)}"


def skip_or_fail(reason: str):
    """Skip a test for want of a service, except in CI where that is a failure."""
    if REQUIRE_SERVICES:
        pytest.fail(f"required service missing: {reason}")
    pytest.skip(reason)


@dataclass
class Database:
    """A migrated test database of one backend."""

    backend: str
    url: str
    template: str | None = None  # SQLite: the migrated file each test copies


def _sqlalchemy_url(url: str) -> str:
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


#: Ledger keys and anchor log of apps that name none (the ``app`` fixture gives each test its own).
LEDGER_DIR = tempfile.mkdtemp(prefix="portal-ledger-")


def ledger_paths(directory) -> dict[str, str]:
    """Ledger key files and anchor log under ``directory`` (created on first use)."""
    return {"PORTAL_LEDGER_SIGNING_KEY_PATH": os.path.join(directory, "ledger-signing.pem"),
            "PORTAL_LEDGER_HMAC_KEY_PATH": os.path.join(directory, "ledger-hmac.key"),
            "PORTAL_LEDGER_ANCHOR_DIR": os.path.join(directory, "anchors")}


def index_directory(url: str) -> str:
    """The suppression index directory of the apps and servers on ``url``: shared, as a machine's workers share it."""
    return os.path.join(INDEX_ROOT, hashlib.sha256(url.encode()).hexdigest()[:16])


def ledger_env(app) -> dict[str, str]:
    """The ledger key files and anchor log of ``app``, as environment for a process of its own.

    The keys are made here first, so that the processes started with them read them, never
    race to make them (nor make their own in the repository's instance/).
    """
    from portal.consent.keys import ledger_keys

    with app.app_context():
        ledger_keys()
    return {key: str(app.config[key]) for key in ledger_paths(LEDGER_DIR)}


def make_app(url: str, **overrides):
    """An app on ``url`` with the testing config and ``overrides``."""
    config = {key: getattr(TestingConfig, key) for key in dir(TestingConfig) if key.isupper()}
    config["PORTAL_SUPPRESSION_INDEX_DIR"] = index_directory(url)
    config.update(SQLALCHEMY_DATABASE_URI=url, RATELIMIT_KEY_PREFIX=REDIS_PREFIX, **ledger_paths(LEDGER_DIR))
    config.update(overrides)
    app = create_app(config)
    from tests.network import TestNetwork

    app.extensions["portal.network"] = TestNetwork()  # webhooks reach loopback only
    return app


def migrate(url: str) -> None:
    """Apply every migration to the database at ``url``."""
    import flask_migrate

    app = make_app(url)
    with app.app_context():
        flask_migrate.upgrade()
        _db.engine.dispose()


def create_pg_database(prefix: str = "portal_t") -> tuple[str, str]:
    """A new empty PostgreSQL database next to TEST_DATABASE_URL: (name, SQLAlchemy url)."""
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(TEST_DATABASE_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = _sqlalchemy_url(TEST_DATABASE_URL)
    return name, base.rsplit("/", 1)[0] + "/" + name


def drop_pg_database(name: str) -> None:
    """Drop a database made by :func:`create_pg_database`."""
    with psycopg.connect(TEST_DATABASE_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session", params=BACKENDS)
def database(request, tmp_path_factory):
    """One migrated database per backend for the whole session."""
    if request.param == "sqlite":
        template = tmp_path_factory.mktemp("sqlite") / "template.sqlite3"
        url = f"sqlite:///{template}"
        migrate(url)
        yield Database("sqlite", url, str(template))
        return
    name, url = create_pg_database()
    migrate(url)
    yield Database("postgresql", url)
    drop_pg_database(name)


@pytest.fixture
def app(database, tmp_path, request):
    """The app on a clean database, with an app context pushed for the test.

    ``@pytest.mark.app_config(KEY=value)`` sets config keys read as the app is built.
    """
    marker = request.node.get_closest_marker("app_config")
    url = database.url
    if database.backend == "sqlite":
        copy = tmp_path / "portal.sqlite3"
        shutil.copyfile(database.template, copy)
        url = f"sqlite:///{copy}"
    app = make_app(url, **{"PORTAL_OUTBOX_DIR": str(tmp_path / "outbox"), **ledger_paths(tmp_path / "ledger"),
                           **(marker.kwargs if marker else {})})
    with app.app_context():
        yield app
        _db.session.remove()
        if database.backend == "postgresql":
            _truncate_all()
        _db.engine.dispose()


def _truncate_all() -> None:
    tables = ", ".join(f'"{t.name}"' for t in _db.metadata.sorted_tables)
    with _db.engine.begin() as conn:
        # The ledger's guards refuse TRUNCATE; the test superuser sets them aside for this transaction.
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture
def network(app):
    """The app's webhook network: set ``.names``, read ``.resolved`` and ``.connections``."""
    return app.extensions["portal.network"]


@pytest.fixture
def db(app):
    """The Flask-SQLAlchemy handle, bound to the test's app."""
    return _db


@pytest.fixture
def client(app):
    return app.test_client()


@contextmanager
def other_app(app, **config):
    """Another app on the test's database with ``config`` (a second worker, limits on...),
    its context pushed; its connections are closed on the way out.

    Read what you need of the test's rows (ids) before: touching an expired row of the test's
    session inside would borrow a connection of this app's engine.
    """
    other = make_app(app.config["SQLALCHEMY_DATABASE_URI"], PORTAL_OUTBOX_DIR=app.config["PORTAL_OUTBOX_DIR"],
                     **config)
    with other.app_context():
        try:
            yield other
        finally:
            _db.session.remove()
            _db.engine.dispose()


@pytest.fixture
def second_app(app):
    """A function: another app on the test's database with ``config`` (its context not pushed, so
    the test's session stays the test app's); its connections are closed after the test."""
    made = []

    def make(**config):
        other = make_app(app.config["SQLALCHEMY_DATABASE_URI"], PORTAL_OUTBOX_DIR=app.config["PORTAL_OUTBOX_DIR"],
                         **config)
        made.append(other)
        return other

    yield make
    for other in made:
        with other.app_context():
            _db.engine.dispose()


def browser_client(other, *, cookies: bool = True, follow: bool = True):
    """A test client of ``other`` as a browser: it follows redirects (Post/Redirect/Get) unless
    ``follow=False`` or a call says otherwise; with ``cookies=False`` it never sends a cookie (as a
    browser that blocks them) and checks that every answer sets none."""
    client = other.test_client(use_cookies=cookies)
    original = client.open

    def open_as_browser(*args, **kwargs):
        if follow:
            kwargs.setdefault("follow_redirects", True)
        if cookies:
            return original(*args, **kwargs)
        headers = dict(kwargs.pop("headers", None) or {})
        assert "Cookie" not in headers
        response = original(*args, headers=headers, **kwargs)
        assert "Set-Cookie" not in response.headers, response.headers
        return response

    client.open = open_as_browser
    return client


@pytest.fixture
def csrf_client(second_app):
    """A client of a second app on the same database, with CSRF protection on (as in production),
    that follows redirects as a browser does (Post/Redirect/Get) unless told otherwise."""
    return browser_client(second_app(WTF_CSRF_ENABLED=True))


@pytest.fixture
def cookieless(second_app):
    """A client of a second app on the same database, anti-forgery on, that never sends a cookie
    (as a browser that blocks them): every answer is also checked to set none; it follows
    redirects as a browser does (Post/Redirect/Get) unless told otherwise."""
    return browser_client(second_app(WTF_CSRF_ENABLED=True), cookies=False)


def outbox(kind: str | None = None, *, recipient: str | None = None, channel: str | None = None) -> list:
    """The queued outbox rows, oldest first; only those of ``kind``, ``recipient``, ``channel`` when given."""
    from portal.outbox.models import OutboxMessage

    query = select(OutboxMessage).order_by(OutboxMessage.id)
    for column, value in ((OutboxMessage.kind, kind), (OutboxMessage.recipient, recipient),
                          (OutboxMessage.channel, channel)):
        if value is not None:
            query = query.where(column == value)
    return list(_db.session.scalars(query))


def webhook_payloads(event: str) -> list[dict]:
    """The ``data`` of every queued webhook delivery of ``event``, oldest first."""
    import json

    return [json.loads(row.payload["body"])["data"] for row in outbox(event, channel="webhook")]


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def backend(database) -> str:
    """``sqlite`` or ``postgresql``: the backend of this test run."""
    return database.backend


@pytest.fixture(scope="session")
def redis_url():
    """The Redis of the tests (TEST_REDIS_URL); this session's keys (REDIS_PREFIX) are deleted at its end."""
    import redis

    try:
        redis.Redis.from_url(TEST_REDIS_URL, socket_connect_timeout=2).ping()
    except redis.exceptions.RedisError as error:
        skip_or_fail(f"Redis at {TEST_REDIS_URL}: {error}")
    yield TEST_REDIS_URL
    store = redis.Redis.from_url(TEST_REDIS_URL)
    for key in store.scan_iter(f"*{REDIS_PREFIX}*"):
        store.delete(key)


@pytest.fixture(scope="session")
def chromium_path():
    """Debian's Chromium, for Playwright's ``executable_path``."""
    if not os.path.exists(CHROMIUM):
        skip_or_fail(f"{CHROMIUM} is not installed (apt-get install chromium)")
    return CHROMIUM


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SMTPSink:
    """A real SMTP server (aiosmtpd) on loopback that keeps what it receives."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        self.messages: list = []  # email.message.EmailMessage, in arrival order
        self.envelopes: list = []
        self.controller = Controller(self, hostname="127.0.0.1", port=free_port())

    async def handle_DATA(self, server, session, envelope):
        import email
        import email.policy

        self.envelopes.append(envelope)
        self.messages.append(email.message_from_bytes(envelope.original_content or envelope.content,
                                                      policy=email.policy.default))
        return "250 OK"

    @property
    def port(self) -> int:
        return self.controller.port

    def start(self):
        self.controller.start()
        return self

    def stop(self):
        self.controller.stop()


@pytest.fixture
def smtp_server():
    """A started :class:`SMTPSink`; point MAIL_SERVER/MAIL_PORT at it."""
    sink = SMTPSink().start()
    yield sink
    sink.stop()


class HTTPEndpoint(BaseHTTPRequestHandler):
    """Answers each POST with the next status of ``server.statuses`` and keeps what it got."""

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append((self.path, dict(self.headers), body))
        status = self.server.statuses.pop(0) if self.server.statuses else 200
        if status == "slow":
            time.sleep(1.5)
            status = 200
        self.send_response(status)
        if 300 <= status < 400:
            self.send_header("Location", "/elsewhere")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def http_endpoint():
    """A real HTTP server on loopback (webhook receiver): ``.received``, ``.statuses`` to answer."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), HTTPEndpoint)
    server.received, server.statuses = [], []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


# Factory fixtures: tests ask for these instead of building rows by hand.

@pytest.fixture
def create_account(app):
    return factories.create_account


@pytest.fixture
def create_list(app):
    return factories.create_list


@pytest.fixture
def create_form(app):
    return factories.create_form


@pytest.fixture
def create_contact(app):
    return factories.create_contact


@pytest.fixture
def create_subscription(app):
    return factories.create_subscription


@pytest.fixture
def create_deliveries(app):
    return factories.create_deliveries


@pytest.fixture
def create_webhook(app):
    return factories.create_webhook


@pytest.fixture
def create_api_key(app):
    return factories.create_api_key


def bearer(secret: str) -> dict[str, str]:
    """The Authorization header that presents ``secret`` as a bearer token (an API key, the metrics token)."""
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def platform_auth(app):
    """Authorization headers of a fresh platform key."""
    _key, secret = factories.create_api_key("platform")
    return bearer(secret)


@pytest.fixture
def account_auth(app):
    """A function: Authorization headers of a new key scoped to ``account``."""
    def make(account):
        _key, secret = factories.create_api_key("account", account)
        return bearer(secret)
    return make
