"""Benchmark: each pathological input of issue 16 beside its baseline, measured in the same run.

    python bench/hostile_inputs.py [--old]

In process (a fresh SQLite app): the message check with ``html = "<" * 160000`` beside the same
size of plain text; the HTML-to-text and List-Unsubscribe parsers on their pathological inputs
at n and 4n (a linear parser takes 4 times as long, a quadratic one 16). Against real gunicorn
(``gunicorn wsgi:app``, gunicorn.conf.py, two workers): a 56 MiB signup body answered 413 beside
a normal signup, and /healthz with ten stalled connections open beside /healthz alone.
``--old`` also times the regexes these parsers replaced (on 40,000 characters: 160,000 take 19 s).
"""
from __future__ import annotations

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def best(function, argument, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        function(argument)
        times.append(time.perf_counter() - started)
    return min(times)


def row(label: str, measured: float, baseline: float, baseline_label: str) -> None:
    print(f"  {label:<44} {measured * 1000:9.2f} ms   {baseline_label:<28} {baseline * 1000:9.2f} ms"
          f"   ratio {measured / baseline:6.2f}")


def in_process(old: bool) -> None:
    from portal.preferences import messages
    from tests.conftest import make_app, migrate

    directory = tempfile.mkdtemp()
    url = f"sqlite:///{directory}/bench.sqlite3"
    migrate(url)
    app = make_app(url)
    with app.app_context():
        from tests import factories

        account = factories.create_account()
        _key, secret = factories.create_api_key("platform")
        client = app.test_client()
        headers = {"Authorization": f"Bearer {secret}"}

        def check(html: str) -> None:
            response = client.post(f"/api/v1/accounts/{account.id}/messages/check", headers=headers,
                                   json={"html": html, "headers": {}})
            assert response.status_code == 200

        print("message check (POST .../messages/check, Flask test client):")
        row('html = "<" * 160000', best(check, "<" * 160_000), best(check, "x" * 160_000), "html = 160000 plain chars")
        print("HTML-to-text, n = 40000 vs 4n (linear: ratio 4):")
        for name, make in (("<", lambda n: "<" * n), ("<!--", lambda n: "<!--" * n), ("</a", lambda n: "</a" * n),
                           ("<a>x", lambda n: "<a>x" * n)):
            row(f"{name!r} * 160000", best(messages._html_text, make(160_000)),
                best(messages._html_text, make(40_000)), f"{name!r} * 40000")
        print("List-Unsubscribe parsing, n = 20000 vs 4n:")
        make = lambda n: "<a>" + ", <a>" * n + "x"  # noqa: E731
        row("'<a>' + ', <a>' * 80000", best(messages._uri_list, make(80_000)), best(messages._uri_list, make(20_000)),
            "... * 20000")
        if old:
            tag = re.compile(r"<[^>]*>")
            uri_list = re.compile(r"^\s*<[^<>\s]+>(\s*,\s*<[^<>\s]+>)*\s*$")
            print("the regexes replaced (for comparison):")
            row("<[^>]*> on '<' * 40000", best(lambda s: tag.sub(" ", s), "<" * 40_000, 1),
                best(lambda s: tag.sub(" ", s), "<" * 10_000, 1), "on '<' * 10000")
            row("URI-list regex, 80000 items", best(uri_list.match, make(80_000), 1),
                best(uri_list.match, make(20_000), 1), "20000 items")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def against_gunicorn() -> None:
    from tests.conftest import make_app, migrate

    directory = tempfile.mkdtemp()
    url = f"sqlite:///{directory}/bench.sqlite3"
    migrate(url)
    with make_app(url).app_context():
        from tests import factories

        form_id = factories.create_form().id
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench-key", "PORTAL_BASE_URL": "https://portal.test",
           "PORTAL_WORKERS": "2", "PORTAL_SIGNUP_MIN_SECONDS": "0"}
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-b", f"127.0.0.1:{port}", "wsgi:app"], cwd=ROOT,
                              env=env, stderr=subprocess.DEVNULL)
    try:
        _wait_up(port)
        print("real gunicorn (gunicorn wsgi:app, 2 workers x 8 threads):")
        big = [_request(port, f"POST /f/{form_id} HTTP/1.1\r\nHost: p\r\nContent-Type: application/json\r\n"
                              f"Content-Length: {56 * 1024 * 1024}\r\n\r\n".encode()) for _ in range(10)]
        small = [_request(port, _signup(form_id, n)) for n in range(10)]
        row("56 MiB signup body -> 413 (median of 10)", statistics.median(big), statistics.median(small),
            "a normal signup -> 303")
        alone = [_healthz(port) for _ in range(10)]
        stalled = _stall(port, form_id, 10)
        try:
            time.sleep(0.5)
            busy = [_healthz(port) for _ in range(10)]
        finally:
            for conn in stalled:
                conn.close()
        row("/healthz, 10 stalled connections (median)", statistics.median(busy), statistics.median(alone),
            "/healthz alone")
        print(f"  /healthz, 10 stalled connections: worst {max(busy) * 1000:.1f} ms")
    finally:
        server.terminate()
        server.wait(15)


def _signup(form_id: str, n: int) -> bytes:
    body = f"email=bench{n}%40example.org"
    return (f"POST /f/{form_id} HTTP/1.1\r\nHost: p\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n{body}").encode()


def _request(port: int, data: bytes) -> float:
    started = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        conn.sendall(data)
        assert conn.recv(12) in (b"HTTP/1.1 413", b"HTTP/1.1 303")
    return time.perf_counter() - started


def _healthz(port: int) -> float:
    started = time.perf_counter()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=30) as response:
        response.read()
    return time.perf_counter() - started


def _stall(port: int, form_id: str, count: int) -> list[socket.socket]:
    conns = []
    for n in range(count):
        conn = socket.create_connection(("127.0.0.1", port), timeout=30)
        if n % 2:
            conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: p\r\nX-Slow: ")
        else:
            conn.sendall(f"POST /f/{form_id} HTTP/1.1\r\nHost: p\r\nContent-Length: 1000\r\n\r\nemail=".encode())
        conns.append(conn)
    return conns


def _wait_up(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            _healthz(port)
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--old", action="store_true", help="also time the regexes that were replaced")
    args = parser.parse_args()
    in_process(args.old)
    against_gunicorn()


if __name__ == "__main__":
    main()
