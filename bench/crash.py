"""Crash benchmark: a fan-out while the worker is SIGKILLed again and again.

One notice-like mail goes to N generated contacts (default 10,000) through the durable
outbox. A real ``flask commsplan worker`` subprocess sends it to an SMTP server in this
process (aiosmtpd, announcing PIPELINING like Postfix) that notes every Message-ID it
accepts. Each time the server has accepted another N/(kills+1) distinct mails, the
worker is killed with SIGKILL and a new one is started. At the end it prints, per kill,
how many mails the server had accepted whose rows the dead worker had not yet recorded
as sent (those are sent again: the duplicates that kill causes), and in total the mails
lost (a Message-ID never accepted), the duplicates (accepted more than once) and the
bound ``kills × DELIVERY_CONNECTIONS``.

Run from the project root::

    .venv/bin/python bench/crash.py                       # SQLite, 10,000 recipients, 5 kills
    .venv/bin/python bench/crash.py --n 2000 --kills 3 --connections 3
    createdb -h 127.0.0.1 -U postgres commsplan_bench
    .venv/bin/python bench/crash.py \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/commsplan_bench

The database given with ``--database-url`` is emptied (all commsplan tables are dropped
and created again). ``--json`` prints the summary as one JSON line (the CI test in
tests/delivery/test_crash.py runs a small N that way).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from aiosmtpd.controller import Controller  # noqa: E402
from fanout import free_port, make_contacts, publish  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from commsplan import create_app  # noqa: E402
from commsplan.delivery.models import DeliveryState, OutboxItem  # noqa: E402
from commsplan.delivery.worker import DEFAULTS  # noqa: E402
from commsplan.extensions import db  # noqa: E402

_MESSAGE_ID = re.compile(rb"(?im)^Message-ID:\s*(<[^>\r\n]+>)")
SECRET = "crash-bench-secret"  # noqa: S105 - a throw-away database


class CountingHandler:
    """Accepts every mail and notes its Message-ID; announces PIPELINING."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.accepted: Counter[str] = Counter()

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        return [*responses[:-1], "250-PIPELINING", responses[-1]]

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        match = _MESSAGE_ID.search(envelope.original_content or envelope.content)
        with self.lock:
            self.accepted[match.group(1).decode("ascii") if match else "?"] += 1
        return "250 OK"

    def distinct(self) -> int:
        with self.lock:
            return len(self.accepted)

    def snapshot(self) -> Counter[str]:
        with self.lock:
            return Counter(self.accepted)


def start_worker(env: dict[str, str], log: Any) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "flask", "--app", "wsgi", "commsplan", "worker"]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def unrecorded_at_kill(pid: int, accepted: Counter[str]) -> int:
    """Mails the server holds whose rows the killed worker still had claimed: sent again."""
    rows = db.session.scalars(
        select(OutboxItem.message_id_header).where(
            OutboxItem.state == DeliveryState.sending, OutboxItem.claimed_by.like(f"%:{pid}:%")
        )
    )
    db.session.remove()
    return sum(1 for header in rows if header in accepted)


def run(args: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="commsplan-crash-"))
    database_url = args.database_url or f"sqlite:///{workdir / 'crash.db'}"
    handler = CountingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    config = {
        "SECRET_KEY": SECRET,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "BASE_URL": "https://commsplan.example.org",
    }
    os.environ["COMMSPLAN_INSTANCE_PATH"] = str(workdir / "instance")
    app = create_app(config)
    env = {
        **os.environ,
        "COMMSPLAN_SECRET_KEY": SECRET,
        "COMMSPLAN_SQLALCHEMY_DATABASE_URI": database_url,
        "COMMSPLAN_BASE_URL": "https://commsplan.example.org",
        "COMMSPLAN_INSTANCE_PATH": str(workdir / "instance"),
        "COMMSPLAN_MAIL_SERVER": "127.0.0.1",
        "COMMSPLAN_MAIL_PORT": str(controller.port),
        "COMMSPLAN_DELIVERY_CONNECTIONS": str(args.connections),
        "COMMSPLAN_DELIVERY_BATCH_SIZE": str(args.batch_size),
        # Short, so a killed worker's claims come back within the run.
        "COMMSPLAN_DELIVERY_LEASE_SECONDS": str(args.lease),
        "COMMSPLAN_DELIVERY_POLL_SECONDS": "0.2",
    }
    kills: list[dict[str, Any]] = []
    log_path = workdir / "worker.log"
    started = time.monotonic()
    try:
        with app.app_context():
            db.drop_all()
            db.create_all()
            make_contacts(args.n)
            queued, _seconds = publish(SECRET)
            db.session.remove()
            with log_path.open("ab") as log:
                worker = start_worker(env, log)
                for k in range(args.kills):
                    target = args.n * (k + 1) // (args.kills + 1)
                    while handler.distinct() < target:
                        if worker.poll() is not None:
                            raise SystemExit(f"worker exited early:\n{log_path.read_text()}")
                        time.sleep(0.005)
                    worker.send_signal(signal.SIGKILL)
                    worker.wait()
                    time.sleep(1.0)  # let the server finish a mail whose dot it has read
                    accepted = handler.snapshot()
                    kills.append(
                        {
                            "kill": k + 1,
                            "accepted_before": sum(accepted.values()),
                            "unrecorded": unrecorded_at_kill(worker.pid, accepted),
                        }
                    )
                    worker = start_worker(env, log)
                deadline = time.monotonic() + args.timeout
                while time.monotonic() < deadline:
                    open_rows = db.session.scalar(
                        select(func.count())
                        .select_from(OutboxItem)
                        .where(OutboxItem.state.not_in([DeliveryState.sent, DeliveryState.failed]))
                    )
                    db.session.remove()
                    if not open_rows:
                        break
                    time.sleep(0.2)
                worker.send_signal(signal.SIGTERM)
                try:
                    worker.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    worker.kill()
                    worker.wait()
            expected = set(db.session.scalars(select(OutboxItem.message_id_header)))
            failed = db.session.scalar(
                select(func.count()).select_from(OutboxItem).where(OutboxItem.state == DeliveryState.failed)
            )
            db.session.remove()
            db.engine.dispose()
    finally:
        controller.stop()
    accepted = handler.snapshot()
    duplicates = sum(count - 1 for count in accepted.values() if count > 1)
    summary = {
        "n": args.n,
        "queued": queued,
        "connections": args.connections,
        "kills": kills,
        "lost": len(expected - set(accepted)),
        "duplicates": duplicates,
        "bound": args.kills * args.connections,
        "failed_rows": failed or 0,
        "unknown": len(set(accepted) - expected),
        "seconds": time.monotonic() - started,
    }
    if summary["lost"] or summary["duplicates"] > summary["bound"]:
        summary["worker_log"] = log_path.read_text()[-4000:]
    shutil.rmtree(workdir, ignore_errors=True)
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10_000, help="recipients (default 10000)")
    parser.add_argument("--kills", type=int, default=5, help="SIGKILLs during the fan-out (default 5)")
    parser.add_argument(
        "--connections",
        type=int,
        default=DEFAULTS["DELIVERY_CONNECTIONS"],
        help=f"DELIVERY_CONNECTIONS (default {DEFAULTS['DELIVERY_CONNECTIONS']}, as the app)",
    )
    parser.add_argument("--batch-size", type=int, default=50, help="DELIVERY_BATCH_SIZE (default 50)")
    parser.add_argument("--lease", type=float, default=3.0, help="DELIVERY_LEASE_SECONDS (default 3)")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for the rest")
    parser.add_argument("--database-url", default="", help="SQLAlchemy URL; emptied! default: SQLite")
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON line")
    args = parser.parse_args()
    summary = run(args)
    if args.json:
        print(json.dumps(summary))
        return
    backend = (args.database_url or "sqlite").split(":", 1)[0]
    print(
        f"crash: {summary['queued']} recipients, {args.kills} SIGKILLs, {args.connections} connections, "
        f"database {backend}, {os.cpu_count()} CPUs, {summary['seconds']:.1f} s"
    )
    print(f"{'kill':>4} {'accepted before':>15} {'duplicates (unrecorded at kill)':>31}")
    for kill in summary["kills"]:
        print(f"{kill['kill']:>4} {kill['accepted_before']:>15} {kill['unrecorded']:>31}")
    print(
        f"lost {summary['lost']}, duplicates {summary['duplicates']} "
        f"(bound {summary['bound']} = kills × connections), failed rows {summary['failed_rows']}"
    )
    if "worker_log" in summary:
        print(summary["worker_log"])


if __name__ == "__main__":
    main()
