"""Digest benchmark: N subscribers with a week of notices, one weekly round.

What it measures, for N (default 10,000) and, to show that memory does not grow with N,
for a second, smaller N (``--compare-n``, default N/4), each in a fresh process:

* **digests**: ``run_round`` for the weekly period: load the week's notices once, then
  per batch of people insert their digest runs under the unique key, build each
  person's content, render one mail per distinct content, queue one outbox row per
  person and commit — everything up to the mail being in the outbox;
* **peak memory** of that round (``tracemalloc`` peak, in separate runs for N and N/4:
  tracing slows Python down, so the timed run is not traced);
* **fan-out**, in the same process and database: publishing one outage of the highest
  severity, which goes at once to every follower whatever their frequency (resolve the
  list, sign a preferences and a one-click link per person, queue N outbox rows).

Subscribers follow one to three of eight e-services (some all kinds, some one kind); the
week holds 56 notices with updates, spread over the last seven days.

Run from the project root::

    .venv/bin/python bench/digests.py                 # SQLite in a temporary directory
    .venv/bin/python bench/digests.py --n 20000
    .venv/bin/python bench/digests.py \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/commsplan_bench

The database given with ``--database-url`` is emptied (all commsplan tables are dropped
and created again). Target on a 2-core machine: 10,000 digests built and queued in under
10 s, with memory flat in N.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, insert, select  # noqa: E402

from commsplan import create_app  # noqa: E402
from commsplan.delivery.models import OutboxItem, OutgoingMessage  # noqa: E402
from commsplan.digests import services as digests  # noqa: E402
from commsplan.extensions import db  # noqa: E402
from commsplan.notices import services as notices  # noqa: E402
from commsplan.notices.models import NoticeKind, OutageState, Severity  # noqa: E402
from commsplan.plan.models import Contact, Service  # noqa: E402
from commsplan.subscriptions.models import Frequency, Subscription  # noqa: E402
from commsplan.timeutil import utcnow  # noqa: E402

SERVICES = 8
KINDS = list(NoticeKind)


def _setup(n: int) -> list[int]:
    now = utcnow()
    services = [Service(name=f"E-tjänst {i + 1}", position=i) for i in range(SERVICES)]
    db.session.add_all(services)
    db.session.flush()
    service_ids = [s.id for s in services]
    db.session.execute(
        insert(Contact),
        [
            {
                "name": f"Prenumerant {i}",
                "email": f"prenumerant{i}@example.org",
                "language": "en" if i % 10 == 0 else "sv",
                "active": True,
                "phone": "",
                "role": "",
                "created_at": now,
            }
            for i in range(n)
        ],
    )
    contact_ids = list(db.session.scalars(select(Contact.id).order_by(Contact.id)))
    rows = []
    for i, contact_id in enumerate(contact_ids):
        followed = {service_ids[i % SERVICES], service_ids[(i * 3 + 1) % SERVICES]}
        if i % 5 == 0:
            followed.add(service_ids[(i + 4) % SERVICES])
        for service_id in sorted(followed):
            kind = None if i % 2 == 0 else KINDS[i % len(KINDS)]
            rows.append(
                {
                    "contact_id": contact_id,
                    "service_id": service_id,
                    "notice_kind": kind,
                    "frequency": Frequency.weekly,
                    "created_at": now - timedelta(days=30),
                }
            )
    db.session.execute(insert(Subscription), rows)
    db.session.commit()
    return service_ids


def _week_of_notices(service_ids: list[int]) -> int:
    now = utcnow()
    count = 0
    for day in range(7):
        for index, service_id in enumerate(service_ids):
            at = now - timedelta(days=7 - day, hours=index)
            kind = KINDS[(day + index) % len(KINDS)]
            data: dict[str, Any] = {
                "kind": kind,
                "title": f"Meddelande {day}-{index}",
                "body_markdown": "Text.",
            }
            data["service_ids"] = [service_id]
            if kind is NoticeKind.outage:
                data["severity"] = Severity.high
            if kind is NoticeKind.service_window:
                data.update(
                    starts_at=now + timedelta(days=day + 1), ends_at=now + timedelta(days=day + 1, hours=2)
                )
            if kind is NoticeKind.release:
                data.update(version="1.0", release_date=at.date())
            notice = notices.create_draft(db.session, notices.NoticeData(**data), None)
            notices.publish(db.session, notice, None, now=at)
            if kind is NoticeKind.outage:
                notices.post_update(
                    db.session,
                    notice,
                    None,
                    "Felet är hittat.",
                    OutageState.identified,
                    now=at + timedelta(minutes=30),
                )
            db.session.commit()
            count += 1
    return count


def run_once(n: int, database_url: str, trace: bool = False) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as workdir:
        url = database_url or f"sqlite:///{workdir}/bench.db"
        app = create_app(
            {
                "SECRET_KEY": "bench",
                "SQLALCHEMY_DATABASE_URI": url,
                "BASE_URL": "https://commsplan.example.org",
                "DIGESTS_IN_WORKER": False,
                # The week's notices are published directly, not prepared as activities.
                "ACTIVITY_GATE": False,
            }
        )
        with app.app_context(), app.test_request_context():
            db.drop_all()
            db.create_all()
            service_ids = _setup(n)
            notice_count = _week_of_notices(service_ids)

            if trace:
                tracemalloc.start()
            started = time.perf_counter()
            result = digests.run_round(db.session, Frequency.weekly, utcnow())
            digest_seconds = time.perf_counter() - started
            traced_peak = tracemalloc.get_traced_memory()[1] if trace else 0
            tracemalloc.stop()
            messages = db.session.scalar(
                select(func.count())
                .select_from(OutgoingMessage)
                .where(OutgoingMessage.source_type == "digest")
            )

            # Fan-out in the same run: a critical outage reaches every follower at once.
            notice = notices.create_draft(
                db.session,
                notices.NoticeData(
                    kind=NoticeKind.outage,
                    title="Allt nere",
                    body_markdown="Vi felsöker.",
                    severity=Severity.critical,
                    service_ids=service_ids,
                ),
                None,
            )
            db.session.commit()
            started = time.perf_counter()
            fanout = notices.publish(db.session, notice, None)
            db.session.commit()
            fanout_seconds = time.perf_counter() - started
            items = db.session.scalar(select(func.count()).select_from(OutboxItem))
            db.session.remove()
            db.engine.dispose()
    return {
        "n": n,
        "notices": notice_count,
        "sent": result.sent,
        "empty": result.empty,
        "messages": messages,
        "digest_seconds": digest_seconds,
        "traced_peak": traced_peak,
        "fanout": fanout,
        "fanout_seconds": fanout_seconds,
        "outbox_rows": items,
    }


def _child(n: int, database_url: str, trace: bool) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", str(n), "--database-url", database_url]
    output = subprocess.run(
        [*command, *(["--trace"] if trace else [])], check=True, capture_output=True, text=True
    )
    return json.loads(output.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10_000, help="subscribers (default 10000)")
    parser.add_argument(
        "--compare-n", type=int, default=0, help="a smaller N for the memory check (default N/4)"
    )
    parser.add_argument("--database-url", default="", help="SQLAlchemy URL; default: SQLite in a temp dir")
    parser.add_argument("--child", type=int, default=0, help=argparse.SUPPRESS)  # internal: one run
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)  # internal: with tracemalloc
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_once(args.child, args.database_url, args.trace)))
        return
    small = args.compare_n or max(args.n // 4, 1)
    # Timing without tracemalloc (it slows Python down); memory in separate traced runs.
    timed = _child(args.n, args.database_url, trace=False)
    traced = {n: _child(n, args.database_url, trace=True)["traced_peak"] for n in (args.n, small)}
    print(
        f"N={timed['n']}: {timed['sent']} digests ({timed['messages']} distinct mails, "
        f"{timed['empty']} empty) from {timed['notices']} notices in a week: "
        f"{timed['digest_seconds']:.2f} s ({timed['sent'] / timed['digest_seconds']:.0f} digests/s)"
    )
    print(
        f"  fan-out, same run: 1 critical outage to {timed['fanout']} followers queued in "
        f"{timed['fanout_seconds']:.2f} s ({timed['fanout'] / timed['fanout_seconds']:.0f}/s)"
    )
    print(
        "  peak Python memory of the round (tracemalloc): "
        + ", ".join(f"{peak / 2**20:.1f} MiB at N={n}" for n, peak in traced.items())
    )
    verdict = "meets" if timed["digest_seconds"] < 10 else "misses"
    print(f"N={timed['n']}: digests in {timed['digest_seconds']:.2f} s: {verdict} the 10 s target")


if __name__ == "__main__":
    main()
