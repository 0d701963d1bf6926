"""A SIGKILL loop during a fan-out: real worker processes, a real SMTP server.

The CI-sized run of ``bench/crash.py`` (which prints the 10,000-recipient figures).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import POSTGRES_URL

ROOT = Path(__file__).resolve().parents[2]
KILLS = 3
CONNECTIONS = 2


def test_sigkilled_workers_lose_nothing_and_duplicate_at_most_one_mail_per_connection(tmp_path):
    command = [sys.executable, str(ROOT / "bench" / "crash.py"), "--json", "--n", "300"]
    command += ["--kills", str(KILLS), "--connections", str(CONNECTIONS), "--batch-size", "10"]
    command += ["--lease", "2", "--timeout", "120"]
    if POSTGRES_URL:
        command += ["--database-url", POSTGRES_URL]
    run = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=300, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    summary = json.loads(run.stdout.strip().splitlines()[-1])

    assert summary["queued"] == 300
    assert len(summary["kills"]) == KILLS, "every kill happened mid-fan-out"
    assert all(kill["accepted_before"] < 300 for kill in summary["kills"])
    assert summary["lost"] == 0, summary.get("worker_log")
    assert summary["failed_rows"] == 0 and summary["unknown"] == 0
    assert summary["duplicates"] <= KILLS * CONNECTIONS, summary
    # Every mail accepted but not yet recorded when its worker died is sent again.
    assert summary["duplicates"] >= sum(kill["unrecorded"] for kill in summary["kills"])
