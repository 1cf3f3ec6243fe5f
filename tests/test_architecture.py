"""The house's rules about who may use what, read from the source of portal/ with ``ast``.

Each rule is one test naming the modules that break it; more rules belong here as they are made.
"""
from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

PORTAL = Path(__file__).resolve().parents[1] / "portal"


@cache
def modules() -> dict[str, ast.Module]:
    """Dotted module name -> its parsed source, for every module of portal/."""
    found = {}
    for path in sorted(PORTAL.rglob("*.py")):
        parts = path.relative_to(PORTAL.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return found


def imported(tree: ast.Module) -> set[str]:
    """Every module an ``import`` or ``from ... import`` names (``from a import b`` gives a and a.b),
    at any depth: an import inside a function counts too."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def outside(*allowed: str) -> dict[str, ast.Module]:
    """The modules of portal/ but ``allowed`` (a module, or a package and everything in it)."""
    return {name: tree for name, tree in modules().items()
            if not any(name == prefix or name.startswith(prefix + ".") for prefix in allowed)}


def callees(tree: ast.Module) -> set[str]:
    """The source of every callee in ``tree`` (``identity.message_id``, ``make_msgid``)."""
    return {ast.unparse(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}


#: The outbox's model, its table as SQLAlchemy spells it, and the insert helpers a table is given to.
OUTBOX = {"OutboxMessage", "OutboxMessage.__table__"}
INSERTS = {"insert", "write_rows", "copy_rows", "insert_returning"}


def outbox_writes(tree: ast.Module) -> list[str]:
    """The source of every write of outbox rows in ``tree``: ``OutboxMessage(...)``,
    ``OutboxMessage.__table__.insert()``, ``insert(OutboxMessage)``, ``write_rows(OutboxMessage.__table__, ...)``,
    or SQL text that inserts into ``outbox_messages``."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            callee = ast.unparse(node.func)
            base, _, method = callee.rpartition(".")
            given = {ast.unparse(argument) for argument in node.args}
            if callee in OUTBOX or (base in OUTBOX and method == "insert") or (method in INSERTS and given & OUTBOX):
                found.append(ast.unparse(node))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if "insert into outbox_messages" in " ".join(node.value.lower().replace('"', " ").split()):
                found.append(node.value)
    return found


def test_only_links_imports_tokens():
    """Every signed token is made and read in portal/links.py (issue 15)."""
    offenders = [name for name, tree in outside("portal.links", "portal.tokens").items()
                 if any(module == "portal.tokens" or module.startswith("portal.tokens.") for module in imported(tree))]
    assert offenders == []


def test_only_the_outbox_writes_outbox_rows():
    """No module outside portal/outbox/ builds an OutboxMessage or inserts into its table: the
    outbox's enqueue_mail, enqueue_many and enqueue_webhook are the only writers (issue 15)."""
    offenders = {name: outbox_writes(tree) for name, tree in outside("portal.outbox").items()}
    assert {name: writes for name, writes in offenders.items() if writes} == {}


def test_message_ids_are_made_by_the_outbox_only():
    """A mail's Message-ID is made in one place: the outbox's writers (issue 15)."""
    makers = {"identity.message_id", "make_msgid", "email.utils.make_msgid"}
    offenders = {name: sorted(makers & callees(tree)) for name, tree in outside("portal.outbox").items()}
    assert {name: found for name, found in offenders.items() if found} == {}


#: Session calls that write, and the SQL statements that do (built, or spelt in text).
SESSION_WRITES = {"add", "add_all", "delete", "flush"}
STATEMENTS = {"update", "insert", "delete"}
DIALECTS = {"sa", "sqlalchemy", "postgresql", "sqlite", "dialect"}
SQL_WRITE = re.compile(r"^\s*(insert\s+into|update\s+\S+\s+set|delete\s+from)\s", re.IGNORECASE)
#: Who may write besides a domain's ``operations`` (module or package), and why.
WRITERS = (
    "portal.consent",  # the ledger's own writer: append-only rows, checkpoints, redaction (its operations)
    "portal.outbox",  # the outbox's own writer: enqueue_* and its worker's delivery states
    "portal.bulk",  # infrastructure: COPY / executemany of the rows an operation hands it, any table
)


def session_writes(tree: ast.Module) -> list[str]:
    """The source of every database write in ``tree``: ``db.session.add/add_all/delete/flush``,
    an ``update``/``insert``/``delete`` statement (``update(Model)``, ``postgresql.insert(...)``,
    ``table.insert()``), or SQL text that inserts, updates or deletes."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            callee = ast.unparse(node.func)
            base, _, method = callee.rpartition(".")
            bare = isinstance(node.func, ast.Attribute) and not node.args and not node.keywords  # Table.insert()
            if (base.endswith("session") and method in SESSION_WRITES) or (
                    method in STATEMENTS and (not base or base in DIALECTS or bare)):
                found.append(ast.unparse(node))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL_WRITE.match(node.value):
            found.append(node.value)
    return found


def is_operations(name: str) -> bool:
    """Whether a module is a domain's ``operations`` module, or a module of its ``operations`` package."""
    return "operations" in name.split(".")[2:3]


def test_writes_live_in_operations():
    """Issue 15: a write lives in its domain's operations (``portal/<domain>/operations.py`` or the
    ``operations/`` package); views, api, cli and the read-only modules call them."""
    offenders = {name: session_writes(tree) for name, tree in outside(*WRITERS).items() if not is_operations(name)}
    assert {name: found for name, found in offenders.items() if found} == {}
    assert is_operations("portal.preferences.operations.centre") and not is_operations("portal.preferences.centre")


def test_the_checks_see_what_they_look_for():
    """The rules above would catch a breach: each finds what it looks for in a made-up module."""
    tree = ast.parse("from portal.tokens import make_token\n"
                     "def f(rows):\n"
                     "    import portal.tokens\n"
                     "    db.session.add(OutboxMessage(kind='x'))\n"
                     "    db.session.execute(OutboxMessage.__table__.insert(), rows)\n"
                     "    db.session.execute(sa.insert(OutboxMessage).values(rows))\n"
                     "    write_rows(OutboxMessage.__table__, rows)\n"
                     "    db.session.execute(text('INSERT INTO \"outbox_messages\" (kind) VALUES (1)'))\n"
                     "    db.session.scalar(select(func.count(OutboxMessage.id)))\n"
                     "    return identity.message_id()\n")
    assert {"portal.tokens", "portal.tokens.make_token"} <= imported(tree)
    assert len(outbox_writes(tree)) == 5  # the count of outbox rows is a read, not a write
    assert "identity.message_id" in callees(tree)
    assert "portal.links" in modules() and "portal.outbox.operations" in modules()
    writes = ast.parse("def g(session, rows, contact):\n"
                       "    db.session.add(contact); db.session.add_all(rows); session.flush(); db.session.delete(contact)\n"
                       "    db.session.execute(update(Contact).values(name=None))\n"
                       "    db.session.execute(postgresql.insert(Contact).on_conflict_do_nothing())\n"
                       "    db.session.execute(Contact.__table__.insert(), rows); db.session.query(Contact).delete()\n"
                       "    db.session.execute(text('DELETE FROM contacts WHERE id = 1'))\n"
                       "    rows.insert(0, contact); rows.update(contact); db.session.get(Contact, 1)\n"
                       "    return db.session.execute(select(Contact).where(Contact.id == 1))\n")
    assert len(session_writes(writes)) == 9  # a list's insert, a dict's update, a get and a select are reads


def test_no_handler_commits_the_route_does():
    """Issue 15: ``api.route`` commits once after a successful API handler, and ``web.writes`` after a
    page's form handler; no ``api.py`` or ``views.py`` commits itself."""
    committing = sorted(name for name, tree in modules().items()
                        if name.endswith((".api", ".views")) and name != "portal.api"
                        and "db.session.commit" in callees(tree))
    assert committing == []
    assert "db.session.commit" in callees(modules()["portal.api"])
    assert "db.session.commit" in callees(modules()["portal.web"])


def ledger_aliases(tree: ast.Module) -> list[str]:
    """Imports that give the ledger (``portal.consent`` or a module of it) another name: ``ledger``."""
    return [ast.unparse(node) for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))
            for alias in node.names if alias.asname and "ledger" in alias.asname
            and "portal.consent" in ast.unparse(node)]


def test_the_ledger_is_named_once():
    """Issue 15: the ledger lives in ``portal.consent``, its export included, and is imported under
    that name only (the contract publishes ``python -m portal.consent.verify``)."""
    assert {name for name in modules() if "ledger" in name.rpartition(".")[2]} == set()
    assert "portal.consent.export" in modules()
    offenders = {name: ledger_aliases(tree) for name, tree in modules().items()}
    assert {name: found for name, found in offenders.items() if found} == {}
    assert ledger_aliases(ast.parse("from portal.consent import operations as ledger\n")) != []


#: What queues mail, and what makes a function more than a queuer (a write of its own, a ledger event).
QUEUERS = {"enqueue_mail", "enqueue_many"}
OTHER_WRITES = {"db.session.add", "db.session.flush", "db.session.execute", "db.session.delete", "record",
                "record_many", "update", "insert", "write_rows"}


def mail_only_functions(tree: ast.Module) -> dict[str, str]:
    """Public functions that queue mail and write nothing else: name -> the queuer they call."""
    found = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
            called = callees(node)
            if called & QUEUERS and not called & OTHER_WRITES:
                found[node.name] = sorted(called & QUEUERS)[0]
    return found


def test_functions_that_only_queue_mail_are_named_queue():
    """Issue 15: a function that only queues mail says so (``queue_confirmation``, not ``send_...``):
    it sends nothing; the outbox worker does, after the commit."""
    named = {f"{module}.{name}" for module, tree in outside("portal.outbox").items()
             for name in mail_only_functions(tree)}
    assert sorted(name for name in named if not name.rpartition(".")[2].startswith("queue_")) == []
    assert "portal.subscriptions.emails.queue_confirmation" in named
    assert "portal.privacy.operations.erasure.queue_erasure_link" in named
    assert mail_only_functions(ast.parse("def send_it(x):\n    return enqueue_mail('k', to=x)\n")) == \
        {"send_it": "enqueue_mail"}


#: What only a request has: an operation is given what it needs instead (issue 15).
REQUEST_GLOBALS = {"flask.request", "flask.g", "flask.session", "portal.api.current_key", "portal.api.parse_body",
                   "portal.api"}


def request_reads(tree: ast.Module) -> list[str]:
    """The request globals a module imports or calls (``request``, ``g``, ``api.current_key()``)."""
    found = sorted(name for name in imported(tree) if name in REQUEST_GLOBALS)
    found += sorted(callee for callee in callees(tree) if callee in ("api.current_key", "api.parse_body"))
    return found


def test_operations_read_no_request():
    """Issue 15: operations take explicit arguments (the key that asks, the request's evidence),
    never the request's globals, so a CLI, a worker or a test calls them as the API does."""
    offenders = {name: request_reads(tree) for name, tree in modules().items() if is_operations(name)}
    assert {name: found for name, found in offenders.items() if found} == {}
    assert request_reads(ast.parse("from flask import request, g\ndef f():\n    return api.current_key()\n")) == \
        ["flask.g", "flask.request", "api.current_key"]
