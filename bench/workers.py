"""Scale-out benchmark: 1 vs 2 ``flask commsplan worker`` processes on one PostgreSQL.

For each worker count (``--workers``, default ``1,2``) the database is emptied, N
contacts are made, the workers are started and left to settle (app loaded, first round
of scheduled jobs done), then one notice to all N is enqueued and committed. Measured:
from that commit until every outbox row is marked sent (the workers claim with
``FOR UPDATE SKIP LOCKED``), as messages/s, plus how many messages each worker sent and
whether any scheduled job ran twice for one slot (it must not).

The sink is Postfix's ``smtp-sink`` (see ``bench/fanout.py``). Run from the project root::

    createdb -h 127.0.0.1 -U postgres commsplan_bench
    .venv/bin/python bench/workers.py \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/commsplan_bench

The database is emptied (all commsplan tables dropped and created again).
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from fanout import SMTP_SINK, free_port, make_contacts, publish, start_sink  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from commsplan import create_app  # noqa: E402
from commsplan.delivery.models import OutboxItem  # noqa: E402
from commsplan.delivery.worker import DEFAULTS  # noqa: E402
from commsplan.extensions import db  # noqa: E402
from commsplan.jobs.models import ScheduledJobRun  # noqa: E402

PROJECT = Path(__file__).resolve().parent.parent
SECRET = secrets.token_urlsafe(16)
SENT = re.compile(r"^Skickade (\d+),", re.MULTILINE)


def start_worker(url: str, port: int, connections: int, workdir: Path, index: int) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "COMMSPLAN_SQLALCHEMY_DATABASE_URI": url,
        "COMMSPLAN_SECRET_KEY": SECRET,
        "COMMSPLAN_MAIL_SERVER": "127.0.0.1",
        "COMMSPLAN_MAIL_PORT": str(port),
        "COMMSPLAN_INSTANCE_PATH": str(workdir / f"worker-{index}"),
        "COMMSPLAN_BASE_URL": "https://commsplan.example.org",
        "PYTHONUNBUFFERED": "1",
    }
    command = [sys.executable, "-m", "flask", "--app", "wsgi", "commsplan", "worker"]
    command += ["--connections", str(connections), "--poll", "0.1"]
    output = {"stdout": subprocess.PIPE, "stderr": subprocess.STDOUT, "text": True}
    return subprocess.Popen(command, cwd=PROJECT, env=env, **output)  # type: ignore[call-overload]


def unsent() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(OutboxItem).where(OutboxItem.sent_at.is_(None)))


def settled() -> bool:
    """Every registered job has run its first slot: the workers are past start-up."""
    db.session.rollback()
    return (db.session.scalar(select(func.count(func.distinct(ScheduledJobRun.name)))) or 0) >= 7


def run(workers: int, args: argparse.Namespace, workdir: Path) -> dict[str, object]:
    app = create_app({"SQLALCHEMY_DATABASE_URI": args.database_url, "SECRET_KEY": SECRET, "TESTING": True})
    port = free_port()
    sink = start_sink(port)
    with app.app_context():
        db.drop_all()
        db.create_all()
        make_contacts(args.n)
        url, connections = args.database_url, args.connections
        processes = [start_worker(url, port, connections, workdir, i) for i in range(workers)]
        try:
            deadline = time.monotonic() + 60
            while not settled() and time.monotonic() < deadline:
                time.sleep(0.2)
            time.sleep(1)
            count, _ = publish(SECRET)
            started = time.monotonic()
            while unsent() and time.monotonic() - started < 600:
                time.sleep(0.05)
            elapsed = time.monotonic() - started
        finally:
            outputs = []
            for process in processes:
                process.send_signal(signal.SIGTERM)
                outputs.append(process.communicate(timeout=60)[0])
            sink.terminate()
        db.session.rollback()
        slots = select(ScheduledJobRun.name, ScheduledJobRun.slot, func.count()).group_by(
            ScheduledJobRun.name, ScheduledJobRun.slot
        )
        doubled = [row for row in db.session.execute(slots) if row[2] > 1]
        db.engine.dispose()
    per_worker = [sum(int(n) for n in SENT.findall(output)) for output in outputs]
    return {
        "workers": workers,
        "messages": count,
        "seconds": elapsed,
        "per_worker": per_worker,
        "doubled": doubled,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True, help="PostgreSQL URL (emptied)")
    parser.add_argument("--n", type=int, default=10_000, help="contacts to send to (default 10000)")
    parser.add_argument(
        "--connections",
        type=int,
        default=DEFAULTS["DELIVERY_CONNECTIONS"],
        help=f"SMTP connections per worker (default {DEFAULTS['DELIVERY_CONNECTIONS']}, as the app)",
    )
    parser.add_argument("--workers", default="1,2", help="worker counts to compare (default 1,2)")
    args = parser.parse_args()
    if not SMTP_SINK:
        raise SystemExit("smtp-sink not found: apt-get install -y postfix (see bench/fanout.py).")
    with tempfile.TemporaryDirectory() as workdir:
        results = [run(int(k), args, Path(workdir)) for k in args.workers.split(",")]
    base = results[0]["messages"] / results[0]["seconds"]  # type: ignore[operator]
    print(f"{args.n} messages, {args.connections} SMTP connections per worker, {os.cpu_count()} cores")
    for result in results:
        rate = result["messages"] / result["seconds"]  # type: ignore[operator]
        print(
            f"{result['workers']} worker(s): {rate:,.0f} messages/s ({result['seconds']:.2f} s), "
            f"ratio to first {rate / base:.2f}, sent per worker {result['per_worker']}, "
            f"job slots run twice: {len(result['doubled'])}"  # type: ignore[arg-type]
        )


if __name__ == "__main__":
    main()
