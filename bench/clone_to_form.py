"""Benchmark: from `git clone` to the hosted form answering 200 on a non-default port.

    python bench/clone_to_form.py [--port N] [--venv PATH] [--runs 1] [--timeout 600]

What a newcomer does: clone this repository (its committed HEAD) into a temporary directory and
run ``make run PORT=<a free port>`` there, as the README says, with nothing set in the
environment. The virtualenv that runs this script is reused (``VENV=<it>``, and ``-o
<it>/.installed`` so that make installs nothing: the figure leaves out downloading and building
the packages, which depend on the network and pip's cache). The clock starts before ``git
clone`` and stops at the first ``200`` of the hosted form's URL, read from the block that
``make run`` prints once its server listens. Printed for each run: the clone, ``make run`` up to
the block, the first answer, and the total; and the baseline of the same run, one ``create_app``
in a new process of the same clone (the part of the wait that is Python and the app's imports).
Everything runs on loopback; the temporary directory is removed afterwards.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HOSTED = re.compile(r"^  hosted form\s+(http://\S+)$")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def newcomer_env(home: str) -> dict:
    """A shell's environment with none of the portal's settings (as on a new machine)."""
    keep = ("PATH", "LANG", "LC_ALL", "TERM", "USER", "LOGNAME")
    return {**{k: os.environ[k] for k in keep if k in os.environ}, "HOME": home, "TMPDIR": home}


def answers(url: str, timeout: float) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status == 200
    except OSError:
        return False


def one_run(venv: str, port: int, timeout: float) -> dict:
    """Clone, make run, first 200 of the hosted form: the seconds of each step."""
    work = tempfile.mkdtemp(prefix="portal-clone-")
    clone = os.path.join(work, "portal")
    env = newcomer_env(work)
    started = time.perf_counter()
    subprocess.run(["git", "clone", "--quiet", ROOT, clone], check=True, env=env, timeout=120)
    cloned = time.perf_counter()
    make = subprocess.Popen(["make", "-o", f"{venv}/.installed", "run", f"VENV={venv}", f"PORT={port}"],
                            cwd=clone, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    figures = {"clone": cloned - started}
    try:
        hosted, printed = None, None
        for line in make.stdout:
            match = HOSTED.match(line.rstrip("\n"))
            if match:
                hosted = match.group(1)
            if line.startswith("Listening."):
                printed = time.perf_counter()
                break
            if time.perf_counter() - started > timeout:
                break
        if hosted is None or printed is None:
            raise RuntimeError(f"make run printed no block within {timeout} s")
        if f":{port}/" not in hosted:
            raise RuntimeError(f"the hosted form is not on port {port}: {hosted}")
        while not answers(hosted, timeout=10):
            if time.perf_counter() - started > timeout:
                raise RuntimeError(f"{hosted} did not answer 200 within {timeout} s")
            time.sleep(0.05)
        answered = time.perf_counter()
        figures.update(make=printed - cloned, first_answer=answered - printed, total=answered - started,
                       url=hosted)
        baseline_start = time.perf_counter()
        subprocess.run([f"{venv}/bin/python", "-c", "from portal import create_app; create_app()"], cwd=clone,
                       env={**env, "DATABASE_URL": f"sqlite:///{work}/baseline.sqlite3"}, check=True,
                       capture_output=True, timeout=120)
        figures["baseline"] = time.perf_counter() - baseline_start
        return figures
    finally:
        try:
            os.killpg(make.pid, signal.SIGINT)
            make.wait(30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(make.pid, signal.SIGKILL)
            make.wait(10)
        make.stdout.close()
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=None, help="default: a free port (never 5000)")
    parser.add_argument("--venv", default=sys.prefix, help="the virtualenv to reuse (default: this one)")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()
    print(f"reusing the virtualenv {args.venv} (make installs nothing); clones of {ROOT} at HEAD")
    for number in range(1, args.runs + 1):
        port = args.port or free_port()
        while port == 5000:
            port = free_port()
        figures = one_run(args.venv, port, args.timeout)
        print(f"run {number}, port {port}: git clone {figures['clone']:.1f} s, make run to its block "
              f"{figures['make']:.1f} s, first 200 of {figures['url']} {figures['first_answer'] * 1000:.0f} ms; "
              f"**clone to form {figures['total']:.1f} s**; baseline, one create_app in a new process of "
              f"the clone: {figures['baseline']:.1f} s")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
