"""The load script's quick run (bench/load.py --quick) in the suite, on PostgreSQL only."""
from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import TEST_DATABASE_URL
from tests.reliability.support import ROOT


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="the load run needs PostgreSQL (TEST_DATABASE_URL)")
def test_quick_load_run_loses_nothing_and_answers_no_5xx():
    result = subprocess.run([sys.executable, "bench/load.py", "--quick", "--database-url", TEST_DATABASE_URL],
                            cwd=ROOT, capture_output=True, text=True, timeout=900)  # minutes on a loaded machine
    print(result.stdout)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert "nothing lost" in result.stdout
    rows = [line.split() for line in result.stdout.splitlines()
            if line.split()[:1] in (["confirm"], ["confirm-page"], ["unsubscribe"], ["send-check"])]
    assert len(rows) == 4 and all(row[4] == "0" for row in rows)  # the 5xx column
