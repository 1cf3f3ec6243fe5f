"""One configuration: every setting read from the environment in portal/config.py only, typed and
validated at start-up (a bad value stops the app naming the variable), the README's table checked
against it, and warnings for a production start that would misbehave."""
from __future__ import annotations

import ast
import importlib
import os
import pathlib
import re
import subprocess
import sys

import pytest

import portal.config
from portal import create_app

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture
def environment(monkeypatch):
    """Set variables, reload the config (as a fresh start would read it); restored afterwards."""
    def set_and_reload(**variables):
        for name, value in variables.items():
            monkeypatch.setenv(name, value)
        return importlib.reload(portal.config)

    yield set_and_reload
    monkeypatch.undo()
    importlib.reload(portal.config)


@pytest.mark.parametrize("name,value", [
    ("PORTAL_OUTBOX_BATCH_SIZE", "fifty"), ("PORTAL_OUTBOX_BATCH_SIZE", "0"), ("MAIL_PORT", "-1"),
    ("PORTAL_WEBHOOK_TIMEOUT_SECONDS", "nan"), ("PORTAL_FAST_LOOKUP", "maybe"),
    ("PORTAL_SIGNUP_IP_LIMIT", "lots per hour"), ("PORTAL_BASE_URL", "ftp://portal.example"),
    ("RATELIMIT_STORAGE_URI", "localhost:6379"), ("PORTAL_FEEDBACK_MAX_BYTES", "10MB"),
    ("PORTAL_CONFIRM_MAX_AGE_DAYS", "0"), ("PORTAL_WEBHOOKS_ALLOW_HTTP_LOOPBACK", "sometimes"),
    ("PORTAL_MAIL_FROM_DOMAIN", "mail example.com"), ("PORTAL_MAIL_FROM_DOMAIN", "localhost"),
    ("PORTAL_MAIL_FROM_DOMAIN", "x.example\r\nBcc: victim@example.org"),
])
def test_a_bad_value_stops_the_app_naming_the_variable(environment, tmp_path, name, value):
    config = environment(**{name: value, "DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3"})
    with pytest.raises(config.ConfigError) as raised:
        create_app(config.Config)
    assert f"{name}={value!r}" in str(raised.value)


def test_the_documented_start_refuses_a_bad_value(tmp_path):
    """``gunicorn wsgi:app`` and ``flask --app wsgi`` import wsgi: the start stops with the message."""
    env = {**os.environ, "PORTAL_OUTBOX_LEASE_SECONDS": "five minutes",
           "DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3"}
    result = subprocess.run([sys.executable, "-c", "import wsgi"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode != 0
    assert "Invalid configuration in the environment" in result.stderr
    assert "PORTAL_OUTBOX_LEASE_SECONDS='five minutes': must be a whole number" in result.stderr


def test_settings_once_documented_but_never_read_are_read(environment, tmp_path):
    config = environment(PORTAL_FEEDBACK_MAX_BYTES="2048", PORTAL_WEBHOOKS_ALLOW_HTTP_LOOPBACK="yes",
                         PORTAL_PENDING_RETENTION_DAYS="9", DATABASE_URL=f"sqlite:///{tmp_path}/x.sqlite3",
                         **_keys(tmp_path))
    app = create_app(config.Config)
    assert app.config["PORTAL_FEEDBACK_MAX_BYTES"] == 2048
    assert app.config["PORTAL_WEBHOOKS_ALLOW_HTTP_LOOPBACK"] is True
    assert app.config["PORTAL_PENDING_RETENTION_DAYS"] == 9
    with app.test_request_context("/api/v1/feedback/arf", method="POST"):
        from portal.limits import body_limit

        assert body_limit() == 2048


#: Reads of the environment that are not settings (the operator's login name as a default actor)
#: or that another change moves into config.py (the complaint policy).
NOT_SETTINGS = {"portal/accounts/cli.py"}


def test_no_module_but_config_reads_the_environment():
    readers = []
    for path in sorted((ROOT / "portal").rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if relative in NOT_SETTINGS or relative == "portal/config.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv") and \
                    isinstance(node.value, ast.Name) and node.value.id == "os":
                readers.append(f"{relative}:{node.lineno}")
    assert readers == []


def _config_reads() -> list[tuple[str, str, bool]]:
    """``(where, KEY, has_default)`` for each ``config["KEY"]`` / ``config.get("KEY"[, default])`` in portal/."""
    reads = []
    for path in sorted((ROOT / "portal").rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if relative == "portal/config.py":  # the declarations themselves
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
                target, key, has_default = node.value, node.slice.value, False
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get"
                  and node.args and isinstance(node.args[0], ast.Constant)):
                target, key, has_default = node.func.value, node.args[0].value, len(node.args) > 1
            else:
                continue
            named = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
            if named == "config" and isinstance(key, str) and key.startswith("PORTAL_"):
                reads.append((f"{relative}:{node.lineno}", key, has_default))
    return reads


def test_every_setting_the_code_reads_is_declared_once_with_its_default_in_config():
    """Issue 15: a default lives in portal/config.py only, never a second one at the point of use."""
    reads = _config_reads()
    assert len(reads) > 50  # the scan sees the code's reads
    declared = {name for name in vars(portal.config.Config) if name.startswith("PORTAL_")}
    assert sorted({key for _, key, _ in reads} - declared) == [], "read but not declared in Config"
    assert [(where, key) for where, key, has_default in reads if has_default] == [], "a second default"


def _readme_variables() -> set[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    names = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            names.update(re.findall(r"`([A-Z][A-Z0-9_]+)`", line.split(" | ")[0]))
    return names


def _setting_variables() -> set[str]:
    return set(portal.config.VARIABLES)


def test_every_setting_has_a_readme_row_and_every_row_a_setting():
    documented, read = _readme_variables(), _setting_variables()
    assert sorted(read - documented) == [], "settings without a README row"
    assert sorted(documented - read) == [], "README rows that no code reads"


def _run_start(tmp_path, **variables) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items()
           if key not in ("SECRET_KEY", "PORTAL_BASE_URL", "PORTAL_DEVELOPMENT") and not key.startswith("PORTAL_LEDGER_")}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path}/x.sqlite3", **variables)
    return subprocess.run([sys.executable, "-c", "import wsgi"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)


def _keys(tmp_path) -> dict[str, str]:
    """Ledger key files made as production makes them (``ledger keygen``)."""
    from portal.consent.keys import generate_hmac_key, generate_signing_key

    signing, secret = tmp_path / "signing.pem", tmp_path / "hmac.key"
    generate_signing_key(str(signing))
    generate_hmac_key(str(secret))
    return {"PORTAL_LEDGER_SIGNING_KEY_PATH": str(signing), "PORTAL_LEDGER_HMAC_KEY_PATH": str(secret)}


def _start(tmp_path, **variables) -> str:
    result = _run_start(tmp_path, **{**_keys(tmp_path), **variables})
    assert result.returncode == 0, result.stderr
    return result.stderr


def test_a_production_start_without_its_ledger_keys_stops_naming_them(tmp_path):
    """Outside development no key is made up: a forgotten key path stops the start."""
    result = _run_start(tmp_path, PORTAL_LEDGER_HMAC_KEY_PATH=str(tmp_path / "absent.key"))
    assert result.returncode != 0
    assert "Ledger key files are missing" in result.stderr
    assert f"PORTAL_LEDGER_HMAC_KEY_PATH: {tmp_path / 'absent.key'}" in result.stderr
    assert "flask --app wsgi ledger keygen" in result.stderr
    assert not (tmp_path / "absent.key").exists()


def test_development_creates_the_ledger_keys_it_lacks(tmp_path):
    secret = tmp_path / "dev-hmac.key"
    result = _run_start(tmp_path, PORTAL_DEVELOPMENT="1", PORTAL_LEDGER_SIGNING_KEY_PATH=str(tmp_path / "dev.pem"),
                        PORTAL_LEDGER_HMAC_KEY_PATH=str(secret))
    assert result.returncode == 0, result.stderr
    from portal.config import Config

    assert Config.PORTAL_LEDGER_CREATE_KEYS is False  # this process's environment: not development
    code = ("import wsgi\nfrom portal.consent import keys\nwith wsgi.app.app_context():\n"
            "    print(keys.ledger_keys().signing_id)")
    env = {**os.environ, "PORTAL_DEVELOPMENT": "1", "DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3",
           "PORTAL_LEDGER_SIGNING_KEY_PATH": str(tmp_path / "dev.pem"), "PORTAL_LEDGER_HMAC_KEY_PATH": str(secret)}
    env.pop("PORTAL_LEDGER_CREATE_KEYS", None)
    made = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    assert secret.exists() and (tmp_path / "dev.pem").exists()


def test_a_production_start_warns_of_http_and_the_development_key(tmp_path):
    log = _start(tmp_path, PORTAL_BASE_URL="http://portal.example")
    assert "PORTAL_BASE_URL is http://" in log and "mailbox providers reject" in log
    assert "SECRET_KEY is the development key" in log


def test_a_proper_production_start_warns_of_nothing(tmp_path):
    log = _start(tmp_path, PORTAL_BASE_URL="https://portal.example", SECRET_KEY="x" * 40)
    assert "configuration:" not in log
