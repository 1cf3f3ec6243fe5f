"""Benchmark: each pathological input of issue 16 beside its baseline, measured in the same run.

    python bench/hostile_inputs.py [--old] [--no-gunicorn]

In process (a fresh SQLite app): the message check with ``html = "<" * 160000`` beside the same
size of plain text; then every parser of user input on its pathological inputs, each beside a
baseline of the same run: HTML-to-text, List-Unsubscribe parsing, feedback reports, inbound mail,
CSV reading and checks, log masking and screening at n and 4n (a linear parser takes about 4
times as long, a quadratic one 16), and addresses and origins (whose length is capped before any
parsing) beside a benign value of the same length (ratio about 1). In process, times are the
least CPU time of 5 runs in the measuring thread, with the garbage collector off, so that the
figures are the parsers' own on a busy machine; the sizes are past a few hundred KB, where a
fresh allocation's page faults no longer make a step between n and 4n. Against gunicorn, times
are wall-clock, as a client sees them. Against real gunicorn
(``gunicorn wsgi:app``, gunicorn.conf.py, two workers): a 56 MiB signup body answered 413 beside a
normal signup, an unauthenticated 300 MiB chunked import answered 401 (the worker's peak memory
before and after) beside a 1 MiB one, and /healthz with ten stalled connections open beside
/healthz alone. ``--old`` also times the regexes these parsers replaced (on 40,000 characters:
160,000 take 19 s).
"""
from __future__ import annotations

import argparse
import gc
import io
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
os.environ.setdefault("PORTAL_LEDGER_CREATE_KEYS", "1")  # development ledger keys: a bench is not production
sys.path.insert(0, ROOT)


def best(function, argument, repeat: int = 5) -> float:
    """The least CPU time of ``repeat`` runs in this thread (time the machine's other work took from
    it is not counted), the garbage collector off (a collection is not the parser's)."""
    times = []
    enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(repeat):
            started = time.thread_time()
            function(argument)
            times.append(time.thread_time() - started)
    finally:
        if enabled:
            gc.enable()
    return min(times)


def row(label: str, measured: float, baseline: float, baseline_label: str) -> None:
    print(f"  {label:<44} {measured * 1000:9.2f} ms   {baseline_label:<28} {baseline * 1000:9.2f} ms"
          f"   ratio {measured / baseline:6.2f}")


def scaled(function, name: str, make, n: int) -> None:
    """``function`` on ``make(4n)`` beside ``make(n)``: linear is a ratio of about 4."""
    row(f"{name} (4n = {4 * n})", best(function, make(4 * n)), best(function, make(n)), f"n = {n}")


def same_size(function, name: str, pathological, benign) -> None:
    """``function`` on a pathological value beside a benign one of the same length: about 1."""
    row(f"{name} ({len(pathological)})", best(function, pathological), best(function, benign),
        f"benign, same length")


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
        parsers()
        if old:
            tag = re.compile(r"<[^>]*>")
            uri_list = re.compile(r"^\s*<[^<>\s]+>(\s*,\s*<[^<>\s]+>)*\s*$")
            print("the regexes replaced (for comparison):")
            row("<[^>]*> on '<' * 40000", best(lambda s: tag.sub(" ", s), "<" * 40_000, 1),
                best(lambda s: tag.sub(" ", s), "<" * 10_000, 1), "on '<' * 10000")
            row("URI-list regex, 80000 items", best(uri_list.match, make(80_000), 1),
                best(uri_list.match, make(20_000), 1), "20000 items")


def parsers() -> None:
    """Every other parser of user input, on its pathological inputs (the app's token routes are learnt)."""
    feedback_reports()
    inbound_mail()
    csv_imports()
    addresses_and_origins()
    log_masking_and_screening()


def _report(boundary: bytes, body: bytes) -> bytes:
    return (b"From: fbl@isp.example\r\nContent-Type: multipart/report; report-type=feedback-report; boundary="
            + boundary + b"\r\n\r\n" + body)


def _nested(depth: int) -> bytes:
    return _report(b"b0", b"".join(b"--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n" % (i, i + 1)
                                   for i in range(depth)) + b"x\r\n")


def feedback_reports() -> None:
    from portal.complaints import arf

    def read(raw: bytes) -> None:
        try:
            report = arf.parse(raw)
        except arf.NotAMessage:
            return
        report.details(), report.link_tokens(), report.recipient_hints(), report.to_addresses()

    print("feedback reports (arf.parse and every accessor):")
    filler = b"x\r\n" * 100_000
    deep = _nested(300) + filler
    flat = _report(b"b", b"--b\r\nContent-Type: text/plain\r\n\r\n" + filler + b"a" * len(deep))[:len(deep)]
    same_size(read, "300 nested multiparts (7 s before)", deep, flat)
    scaled(read, "a huge header", lambda n: b"From: a@b.example\r\nSubject: " + b"a" * (100 * n) + b"\r\n\r\nx", 4_000)
    scaled(read, "thousands of parts", lambda n: _report(
        b"b", b"--b\r\nContent-Type: text/plain\r\n\r\nx\r\n" * n + b"--b--\r\n"), 2_000)
    scaled(read, "a long line without newline", lambda n: b"From: a@b.example\r\n\r\n" + b"a" * (100 * n), 4_000)


def inbound_mail() -> None:
    from portal.preferences import inbound

    def read(raw: bytes) -> None:
        inbound.candidate_tokens(inbound.parse(raw))

    print("inbound unsubscribe mail (inbound.parse and its tokens):")
    quotes = b"From: a@b.example\r\nTo: " + b'"' * 80_000 + b"\r\n\r\nx"
    same_size(read, "a To of 80000 quotes (50 s before)", quotes, quotes.replace(b'"' * 80_000, b"a" * 80_000))
    scaled(read, "a To of quotes", lambda n: b"From: a@b.example\r\nTo: " + b'"' * n + b"\r\n\r\nx", 80_000)
    scaled(read, "repeated unsubscribe+ prefixes",
           lambda n: b"From: a@b.example\r\nCc: " + b"unsubscribe+" * (n // 10) + b"\r\n\r\nx", 160_000)
    scaled(read, "deeply nested multipart", lambda n: _nested(n // 50), 10_000)


def csv_imports() -> None:
    from datetime import datetime, timedelta, timezone

    from portal.imports import checks, reading

    def read(data: bytes) -> None:
        now = datetime.now(timezone.utc)
        try:
            for line in reading.read_rows(reading.HashingReader(io.BytesIO(data))):
                checks.examine(line, now, timedelta(days=730))
        except reading.UnreadableFile:
            pass

    print("CSV imports (reading.read_rows and checks.examine):")
    scaled(read, "a huge quoted cell", lambda n: b'email,name\n"' + b"a" * (100 * n) + b'",x\n', 2_000)
    scaled(read, "doubled quotes", lambda n: b'email,name\n"' + b'""' * (50 * n) + b'"\n', 2_000)
    scaled(read, "many columns", lambda n: b"email" + b",c" * (10 * n) + b"\na@b.example" + b",x" * (10 * n) + b"\n",
           2_000)
    scaled(read, "control characters", lambda n: b"email,name\na@b.example," + b"\x01" * (100 * n) + b"\n", 2_000)
    scaled(read, "many rows", lambda n: b"email,name,consented_at\n" + b"a@b.example,x,2026-11-01\n" * (n // 2), 2_000)


def addresses_and_origins() -> None:
    from portal import addresses, origins

    def normalise(value: str) -> None:
        addresses._domain.cache_clear()  # every run the full way
        addresses.try_normalise(value)

    print("addresses and origins (length capped before parsing; beside a benign value of the same length):")
    benign = "a" * 63 + "@" + ("b" * 60 + ".") * 4
    for name, value in (("dot-atoms and labels", "a." * 31 + "a@" + "b." * 120 + "example"),
                        ("non-ASCII address", "\u00e9" * 64 + "@" + "\u00e9." * 100 + "example"),
                        ("quotes and brackets", '"' * 64 + "@" + "[" * 250)):
        same_size(normalise, f"address: {name}", value, benign[:len(value) - 8] + ".example")
    plain = "https://" + ("a" * 60 + ".") * 5
    for name, value in (("labels", "https://" + "a." * 145 + "b"), ("xn-- prefixes", "https://" + "xn--" * 72),
                        ("colons in brackets", "https://[" + ":" * 290 + "]")):
        same_size(origins.is_origin, f"origin: {name}", value, plain[:len(value) - 8] + ".example")

    def redirect(url: str) -> None:
        try:
            origins.url_origin(url)
        except origins.NotAnOrigin:
            pass

    url = "https://a.example/" + '"' * 1980
    same_size(redirect, "redirect URL of quotes", url, "https://a.example/" + "a" * 1980)


def log_masking_and_screening() -> None:
    from portal import logs
    from portal.screening import operations as screening

    print("log masking (logs.mask, the app's token routes learnt) and screening (html_words):")
    scaled(logs.mask, "'unsubscribe+' * 4n (4.2 s at 8000 before)", lambda n: "unsubscribe+" * n, 16_000)
    scaled(logs.mask, "'unsubscribe%2B' * 4n", lambda n: "unsubscribe%2B" * n, 16_000)
    scaled(logs.mask, "'/confirm/' * 4n", lambda n: "/confirm/" * n, 16_000)
    scaled(logs.mask, "'/receipts/' + a long token", lambda n: "/receipts/" + "a" * (10 * n), 16_000)
    scaled(screening.html_words, "screening: '<' * 4n", lambda n: "<" * n, 20_000)
    scaled(screening.html_words, "screening: '<!--' * 4n", lambda n: "<!--" * n, 20_000)


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
        imports = "/api/v1/accounts/x/lists/y/imports"
        _chunked(port, imports, 1)  # warm: each worker's first upload loads what it needs
        _chunked(port, imports, 1)
        before = _workers_peak_mib(server.pid)
        huge = _chunked(port, imports, 300)
        after = _workers_peak_mib(server.pid)
        row("300 MiB chunked import, no key -> 401", huge, _chunked(port, imports, 1), "1 MiB chunked, no key -> 401")
        print(f"  workers' peak memory (VmHWM) before {before:.1f} MiB, after {after:.1f} MiB (+{after - before:.1f})")
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


def _chunked(port: int, path: str, mib: int) -> float:
    """POST ``mib`` MiB chunked with no key: the seconds until the 401, read while still sending."""
    import threading

    conn = socket.create_connection(("127.0.0.1", port), timeout=60)
    answer = bytearray()
    got = threading.Event()

    def read() -> None:
        while not got.is_set():
            try:
                data = conn.recv(65536)
            except OSError:
                data = b""
            answer.extend(data)
            if not data or b"\r\n\r\n" in answer:
                got.set()

    reader = threading.Thread(target=read, daemon=True)
    block = b"100000\r\n" + b"a" * (1024 * 1024) + b"\r\n"
    started = time.perf_counter()
    reader.start()
    try:
        conn.sendall(f"POST {path} HTTP/1.1\r\nHost: p\r\nContent-Type: multipart/form-data; boundary=x\r\n"
                     "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n".encode())
        for _ in range(mib):
            if got.is_set():
                break
            conn.sendall(block)
        conn.sendall(b"0\r\n\r\n")
    except OSError:
        pass  # answered and closed: the rest is never sent
    got.wait(60)
    seconds = time.perf_counter() - started
    conn.close()
    assert answer.startswith(b"HTTP/1.1 401"), bytes(answer[:40])
    return seconds


def _workers_peak_mib(master: int) -> float:
    """The largest peak resident memory (VmHWM) of ``master``'s workers, in MiB."""
    peaks = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/stat") as stat:
                if int(stat.read().rsplit(")", 1)[1].split()[1]) != master:
                    continue
            with open(f"/proc/{entry}/status") as status:
                peaks += [int(line.split()[1]) / 1024 for line in status if line.startswith("VmHWM")]
        except (OSError, ValueError, IndexError):
            continue
    return max(peaks)


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
    parser.add_argument("--no-gunicorn", action="store_true", help="in process only")
    args = parser.parse_args()
    in_process(args.old)
    if not args.no_gunicorn:
        against_gunicorn()


if __name__ == "__main__":
    main()
