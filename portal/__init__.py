"""The consent portal: subscriber pages, consent ledger and the sending platform's API."""
from __future__ import annotations

import os
from urllib.parse import urlencode, urlsplit
from typing import Any

from flask import Flask, current_app, g, request
from flask_babel import get_locale

from portal import config as settings
from portal import links
from portal.config import Config, database_url
from portal.extensions import babel, csrf, db, limiter, mail, migrate

#: The domain packages. Each may have ``api.py`` (routes on the API blueprint), ``views.py``
#: (a blueprint ``bp`` of HTML pages) and ``cli.py`` (click groups in ``commands``).
DOMAINS = ("accounts", "subscriptions", "preferences", "complaints", "consent", "suppression",
           "outbox", "imports", "privacy", "webhooks", "receipts", "screening", "ops", "notices")
#: The order of the domains, from the bottom up (issue 15): the core modules of a domain (all but its
#: ``api.py``, ``views.py`` and ``cli.py``, the edge that serves routes and commands) import only the
#: domains before it; ``consent`` (the ledger) and ``outbox`` import no domain at all. The package
#: ``dev`` (development pages) comes last. ``tests/test_import_direction.py`` parses the imports and
#: holds the arrows that still point the wrong way; ``python tools/domain_graph.py`` draws the graph.
LAYERS = ("consent", "outbox", "webhooks", "accounts", "screening", "subscriptions", "notices", "suppression",
          "receipts", "signup", "preferences", "complaints", "imports", "privacy", "ops", "dev")


def create_app(config: type[Config] | dict[str, Any] | None = None) -> Flask:
    """Build the application: config, extensions, blueprints, CLI, error handlers.

    :raises portal.config.ConfigError: an environment variable holds a value that cannot be used.
    """
    settings.check()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    app = Flask(__name__, instance_path=os.path.join(root, "instance"), instance_relative_config=True,
                template_folder=os.path.join(root, "templates"), static_folder=os.path.join(root, "static"))
    from portal.json_provider import OrjsonProvider

    app.json = OrjsonProvider(app)
    app.config.from_object(Config)
    if isinstance(config, dict):
        app.config.update(config)
    elif config is not None:
        app.config.from_object(config)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", os.path.join(root, "translations"))
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        os.makedirs(app.instance_path, exist_ok=True)
        app.config["SQLALCHEMY_DATABASE_URI"] = database_url(app.instance_path)

    # A session cookie, where one remains, is Secure whenever the public URL is https.
    app.config["SESSION_COOKIE_SECURE"] = app.config["PORTAL_BASE_URL"].startswith("https://")
    _init_extensions(app)
    from portal import security
    from portal.suppression import fastpath

    fastpath.init_app(app)  # inside the proxy fix that security installs around it
    security.init_app(app)
    from portal import logs

    logs.init_app(app)  # outermost: request ids and request metrics for every answer, the fast path's too
    _register_blueprints(app)
    logs.learn_token_routes(app.url_map)  # its <token> rules: masked in logs, never cached (security)
    _register_cli(app)
    from portal.errors import register_error_handlers

    register_error_handlers(app)
    from portal import limits

    limits.init_app(app)  # last, so that its hook runs before every other one
    if not app.config.get("TESTING"):
        from portal.consent import keys

        keys.check_start(app)  # a forgotten key path stops the start, never a silent new key
    if not app.config.get("TESTING") and not app.debug:
        for warning in settings.production_warnings(app.config):
            app.logger.warning("configuration: %s", warning)
    return app


def _init_extensions(app: Flask) -> None:
    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(app.root_path), "migrations"))
    mail.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.globals["current_locale"] = lambda: str(get_locale() or "en")
    app.jinja_env.globals["switch_query"] = switch_query
    from portal.accounts.branding import usable
    from portal.web import accent_style

    app.jinja_env.globals["accent_style"] = accent_style  # base.html: an account's colour, CSP-allowed
    app.jinja_env.filters["accent_or"] = usable  # mails: {{ account.accent_colour|accent_or("#1f5fbf") }}
    from portal.addresses import mask

    app.jinja_env.filters["masked"] = mask  # token pages name their address only masked
    app.jinja_env.filters["site_name"] = lambda origin: urlsplit(origin).hostname or origin
    # Mail links open their page in the mail's language (templates/email/: ``{{ url|in_language }}``).
    app.jinja_env.filters["in_language"] = lambda url: links.in_language(url, str(get_locale() or "en"))
    from portal.subscriptions import content

    content.init_app(app)  # customer content in the page's language: ``{{ item|local("name") }}``
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        _sqlite_pragmas(app)


def switch_query(code: str, state: dict[str, str | None] | None = None) -> str:
    """The language switch's query: the page's state with ``lang`` set to ``code``. The state is the
    page's own query, or ``state`` where the view vouches only for some of it (``switch_state``: the
    values it checked, so that nothing it refused is reflected)."""
    if state is None:
        args = [(key, value) for key, value in request.args.items(multi=True) if key != "lang"]
    else:
        args = [(key, value) for key, value in state.items() if value is not None]
    return "?" + urlencode([*args, ("lang", code)])


def _sqlite_pragmas(app: Flask) -> None:
    from sqlalchemy import event

    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    @event.listens_for(engine, "savepoint")
    def _on_savepoint(connection, _name):
        # pysqlite opens a transaction only before a write, so a savepoint that was the first write
        # of a session's transaction became the transaction, and releasing it committed: a later
        # refusal in the same request could not roll it back. Open the transaction first. (Reads
        # still take no lock until the first write, so a reading session never blocks a writer.)
        if not connection.connection.dbapi_connection.in_transaction:
            connection.exec_driver_sql("BEGIN")


def select_locale() -> str:
    """``?lang=``, then Accept-Language, then the account's default (``g.account_locale``)."""
    locales = list(current_app.config["PORTAL_LOCALES"])
    requested = request.args.get("lang")
    if requested in locales:
        return requested
    best = request.accept_languages.best_match(locales)
    if best:
        return best
    return getattr(g, "account_locale", None) or "en"


def _domain_module(domain: str, name: str):
    """``portal.<domain>.<name>`` imported, or None when the domain has no such module."""
    import importlib
    import importlib.util

    module_name = f"portal.{domain}.{name}"
    if importlib.util.find_spec(f"portal.{domain}") is None or importlib.util.find_spec(module_name) is None:
        return None
    return importlib.import_module(module_name)


def load_domains() -> None:
    """Import every domain's models and API routes (idempotent): the whole schema and API."""
    for domain in DOMAINS:
        _domain_module(domain, "models")
    for domain in DOMAINS:
        _domain_module(domain, "api")


def _register_blueprints(app: Flask) -> None:
    from portal import api, apidocs, dev, health, home, metrics, openapi  # noqa: F401  (openapi attaches its route)

    load_domains()  # the api modules attach their routes to api.bp
    app.session_interface = api.StatelessApiSessions()
    csrf.exempt(api.bp)
    limiter.exempt(api.bp)  # no API route is rate limited (see extensions.PortalLimiter)
    app.register_blueprint(api.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(home.bp)
    app.register_blueprint(apidocs.bp)
    app.register_blueprint(metrics.bp)
    dev.init_app(app)  # development only: the dev inbox and the demo customer site
    for domain in DOMAINS:
        views = _domain_module(domain, "views")
        if views is not None:
            app.register_blueprint(views.bp)


def _register_cli(app: Flask) -> None:
    from portal.demo import demo_command

    for domain in DOMAINS:
        cli = _domain_module(domain, "cli")
        for command in getattr(cli, "commands", ()):
            app.cli.add_command(command)
    app.cli.add_command(demo_command)
