"""docs/contract.md documents every route of the URL map, every CLI command and every setting.

The repository stands alone: a user reads the contract, not the code. A route, command or
setting added without its line there fails here, and so does a line left for one that is gone.
"""
import re
from pathlib import Path

import click
import pytest

import portal.config
from portal import create_app
from portal.config import TestingConfig

CONTRACT = (Path(__file__).resolve().parents[1] / "docs" / "contract.md").read_text(encoding="utf-8")
METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}
#: A documented route: ``GET /path``, ``GET/POST /path``, ``GET .../tail`` (the prefix of the row above).
DOCUMENTED = re.compile(r"`((?:GET|POST|PUT|PATCH|DELETE)(?:/(?:GET|POST|PUT|PATCH|DELETE))*) (/[^`\s]*|\.\.\./[^`\s]*)`")


def section(number: int) -> str:
    """The text of the contract's section ``number`` (``## N. ...`` up to the next ``## ``)."""
    start = re.search(rf"^## {number}\. .*$", CONTRACT, re.M)
    end = re.search(r"^## ", CONTRACT[start.end():], re.M)
    return CONTRACT[start.end(): start.end() + end.start()] if end else CONTRACT[start.end():]


def shape(path: str) -> str:
    """A path with its query, optional parts and variables' names left out: ``/a/<>/b``."""
    path = re.sub(r"\[[^]]*\]", "", path).split("?", 1)[0]
    return re.sub(r"<[^>]*>", "<>", path)


def documented_routes() -> set[tuple[str, str]]:
    """(method, path shape) of every route the contract names; ``.../tail`` kept as ``...`` + tail."""
    found = set()
    for methods, path in DOCUMENTED.findall(CONTRACT):
        for method in methods.split("/"):
            found.add((method, shape(path)))
    return found


def served_routes() -> set[tuple[str, str]]:
    """(method, path shape) of every rule of an app with every optional part on."""
    config = {key: getattr(TestingConfig, key) for key in dir(TestingConfig) if key.isupper()}
    config.update(SQLALCHEMY_DATABASE_URI="sqlite://", PORTAL_DEVELOPMENT=True, PORTAL_METRICS_TOKEN="t",
                  MAIL_SERVER=None)
    app = create_app(config)
    return {(method, shape(rule.rule)) for rule in app.url_map.iter_rules() if rule.endpoint != "static"
            for method in rule.methods & METHODS}


def is_documented(route: tuple[str, str], documented: set[tuple[str, str]]) -> bool:
    method, path = route
    return route in documented or any(m == method and d.startswith("...") and path.endswith(d[3:])
                                      for m, d in documented)


def test_every_route_of_the_url_map_is_in_the_contract():
    documented = documented_routes()
    missing = sorted(route for route in served_routes() if not is_documented(route, documented))
    assert missing == [], "routes the contract does not document"


def test_every_route_in_the_contract_is_served():
    served = served_routes()
    stale = sorted(route for route in documented_routes()
                   if not (route in served or (route[1].startswith("...")
                                               and any(m == route[0] and p.endswith(route[1][3:])
                                                       for m, p in served))))
    assert stale == [], "routes the contract names that the app does not serve"


def _ours(command) -> bool:
    """A command of this project (not Flask's ``run``/``shell``/``routes`` or Flask-Migrate's ``db``)."""
    if isinstance(command, click.Group):
        return all(_ours(sub) for sub in command.commands.values())
    return command.callback is not None and command.callback.__module__.startswith("portal")


def _names(prefix: str, command) -> set[str]:
    if isinstance(command, click.Group):
        return {name for sub, child in command.commands.items() for name in _names(f"{prefix} {sub}", child)}
    return {prefix}


def project_commands() -> set[str]:
    """Every command of the project's CLI, as typed after ``flask --app wsgi`` (groups expanded)."""
    config = {key: getattr(TestingConfig, key) for key in dir(TestingConfig) if key.isupper()}
    app = create_app({**config, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    return {name for top, command in app.cli.commands.items() if _ours(command) for name in _names(top, command)}


def test_every_command_is_in_the_contract():
    table = section(8).split("### Command line", 1)[1]
    spans = re.findall(r"`([a-z][^`]*)`", table)
    missing = sorted(name for name in project_commands()
                     if not any(span == name or span.startswith(name + " ") for span in spans))
    assert missing == [], "commands the contract's command table does not document"
    assert "db upgrade" in {span.split(" [")[0] for span in spans}


@pytest.mark.parametrize("name", sorted(portal.config.VARIABLES))
def test_every_setting_is_in_the_contract(name):
    assert f"`{name}`" in section(7), f"{name} is read by portal/config.py but not in the contract's section 7"


def test_every_setting_in_the_contract_is_read():
    rows = [line.split(" | ")[0] for line in section(7).splitlines() if line.startswith("| `")]
    named = {name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", row)}
    assert sorted(named - portal.config.VARIABLES) == [], "settings in the contract that no code reads"
