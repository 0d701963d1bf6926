"""Benchmark the calendar feeds: prints figures, asserts nothing.

The combined region feed with three years of meetings (a year back, two ahead) and
2,000 published service windows and releases, fetched through the Flask test client:

* cold: the first request after a change (version key, build with icalendar, cache row),
* warm 200: unchanged feed, body served from the feed cache,
* 304 If-None-Match and 304 If-Modified-Since: what polling calendar programs mostly get.

Usage (from the project root):

    .venv/bin/python bench/feeds.py                       # SQLite in a temporary file
    .venv/bin/python bench/feeds.py --database postgresql+psycopg://postgres@127.0.0.1:5432/bench
    .venv/bin/python bench/feeds.py --requests 500 --notices 2000

The PostgreSQL database is emptied (drop_all/create_all) first.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, timedelta
from datetime import time as clock
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dateutil.relativedelta import relativedelta  # noqa: E402

from commsplan import create_app  # noqa: E402
from commsplan.extensions import db  # noqa: E402
from commsplan.feeds import services as feeds  # noqa: E402
from commsplan.feeds.models import FeedKind  # noqa: E402
from commsplan.meetings import services as meetings  # noqa: E402
from commsplan.meetings.models import MeetingKind  # noqa: E402
from commsplan.notices.models import Notice, NoticeKind, NoticeStatus  # noqa: E402
from commsplan.plan.models import Contact, StakeholderGroup, Unit, UnitKind  # noqa: E402
from commsplan.timeutil import STOCKHOLM, utcnow  # noqa: E402

SERIES = [
    # title, rule, kind, start time, minutes
    ("Nätverket Invånartjänster", "FREQ=MONTHLY;INTERVAL=3;BYDAY=2TU", MeetingKind.network, clock(9, 0), 180),
    ("Samverkan förvaltningarna", "FREQ=MONTHLY;BYDAY=2TU", MeetingKind.collaboration, clock(13, 0), 90),
    ("Agenda 1177 – status och nyheter", "FREQ=MONTHLY;BYDAY=1TH", MeetingKind.information, clock(9, 0), 60),
    (
        "Avstämning e-tjänstesamordnare",
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=WE",
        MeetingKind.other,
        clock(10, 0),
        45,
    ),
    ("Veckomöte Invånartjänster e-hälsa", "FREQ=WEEKLY;BYDAY=MO", MeetingKind.other, clock(8, 30), 30),
]


def seed(notice_count: int, rng: random.Random) -> dict[str, int]:
    session = db.session
    today = date.today()
    first = today - relativedelta(years=1)
    units = [Unit(name=f"Förvaltning {i}", kind=UnitKind.administration) for i in range(8)]
    groups = [StakeholderGroup(name=f"Intressentgrupp {i}") for i in range(4)]
    session.add_all(units + groups)
    session.flush()
    contacts = [
        Contact(name=f"Kontakt {i}", email=f"kontakt{i}@example.org", unit=units[i % len(units)])
        for i in range(80)
    ]
    session.add_all(contacts)
    for i, contact in enumerate(contacts):
        contact.groups.append(groups[i % len(groups)])
    session.flush()

    all_series = []
    for n, (title, rule, kind, start_time, minutes) in enumerate(SERIES):
        data = meetings.SeriesData(
            title=title,
            rrule=rule,
            kind=kind,
            start_time=start_time,
            starts_on=first,
            duration_minutes=minutes,
            location="Akademiska sjukhuset, ingång 70",
            online_url="https://meet.example.org/" + str(n),
            organiser_name="Invånartjänster e-hälsa",
            organiser_email="invanartjanster@example.org",
            description="Återkommande möte för regionens e-tjänstesamordnare.",
            units=units[n : n + 2],
            groups=groups[n % len(groups) : n % len(groups) + 1],
        )
        all_series.append(meetings.create_series(session, data, now=utcnow()))
    occurrences = [occ for series in all_series for occ in series.occurrences]
    for occ in occurrences:
        if occ.series.kind in (MeetingKind.information, MeetingKind.network):
            meetings.replace_agenda(
                session,
                occ,
                [
                    meetings.AgendaItemData(
                        title="Välkommen och inledning", presenter="Ordförande", duration_minutes=10
                    ),
                    meetings.AgendaItemData(
                        title="Nyheter i 1177 e-tjänster", presenter="Inera", duration_minutes=30
                    ),
                    meetings.AgendaItemData(title="Paus", is_break=True, duration_minutes=10),
                    meetings.AgendaItemData(
                        title="Journalen: kommande förändringar", presenter="ITC", duration_minutes=20
                    ),
                    meetings.AgendaItemData(title="Frågor och avslutning", duration_minutes=10),
                ],
            )
    for occ in rng.sample(occurrences, 10):
        meetings.cancel_occurrence(session, occ, note="Inställt.")

    window_start = feeds.window_start()
    span = (window_start + relativedelta(years=3)) - window_start
    now = utcnow()
    for i in range(notice_count):
        at = window_start + timedelta(seconds=rng.randrange(int(span.total_seconds())))
        at = at.replace(minute=0, second=0, microsecond=0)
        if i % 2:
            notice = Notice(
                kind=NoticeKind.service_window,
                title=f"Servicefönster {i}: uppgradering av Journalen",
                body_markdown="Under servicefönstret går det inte att logga in i Journalen.",
                starts_at=at.astimezone(STOCKHOLM).replace(hour=18).astimezone(UTC),
                ends_at=at.astimezone(STOCKHOLM).replace(hour=21).astimezone(UTC),
            )
        else:
            notice = Notice(
                kind=NoticeKind.release,
                title=f"Release {i} av Webbtidbok",
                version=f"{i // 100}.{i % 100}",
                body_markdown="Nyheter: bättre tillgänglighet och nya ombudsfunktioner.",
                release_date=at.astimezone(STOCKHOLM).date(),
            )
        notice.status = NoticeStatus.cancelled if i % 50 == 0 else NoticeStatus.published
        notice.published_at = now
        notice.sequence = i % 3
        session.add(notice)
    session.commit()
    return {"series": len(all_series), "occurrences": len(occurrences), "notices": notice_count}


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p50 = statistics.median(ordered)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * len(ordered))) - 1)]
    return f"p50 {p50 * 1000:7.2f} ms   p95 {p95 * 1000:7.2f} ms   max {ordered[-1] * 1000:7.2f} ms"


def timed(requests: int, call: Callable[[], object]) -> list[float]:
    samples = []
    for _ in range(requests):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", default="", help="SQLAlchemy URL; default: SQLite in a temp dir")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--notices", type=int, default=2000)
    args = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix="commsplan-bench-")
    url = args.database or f"sqlite:///{workdir}/bench.db"
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": "bench",
            "BASE_URL": "https://commsplan.example.org",
            "MAIL_DEFAULT_SENDER": "commsplan <noreply@example.org>",
        }
    )
    rng = random.Random(5)
    with app.app_context():
        db.drop_all()
        db.create_all()
        started = time.perf_counter()
        sizes = seed(args.notices, rng)
        print(
            f"database: {db.engine.dialect.name}   seeded in {time.perf_counter() - started:.1f} s: {sizes}"
        )
        region = feeds.ensure_token(db.session, FeedKind.region)
        series_token = feeds.ensure_token(db.session, FeedKind.series, 2)
        contact_token = feeds.ensure_token(db.session, FeedKind.contact, 1)
        db.session.commit()
        urls = {
            "region": f"/feeds/region/{region.token}.ics",
            "series": f"/feeds/series/{series_token.token}.ics",
            "contact": f"/feeds/contact/{contact_token.token}.ics",
        }
        db.session.remove()

    client = app.test_client()

    def get(url: str, **headers: str):  # type: ignore[no-untyped-def]
        response = client.get(url, headers=headers)
        assert response.status_code in (200, 304), response.status_code
        return response

    for name, url in urls.items():
        started = time.perf_counter()
        first = get(url)
        cold = time.perf_counter() - started
        events = first.data.count(b"BEGIN:VEVENT")
        print(
            f"\n{name} feed: {len(first.data) / 1024:.0f} KiB, {events} events;"
            f" cold build {cold * 1000:.0f} ms"
        )
        etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
        warm = timed(args.requests, lambda url=url: get(url))
        print(f"  200 warm (cached body)   {percentiles(warm)}")
        not_modified = timed(args.requests, lambda url=url, etag=etag: get(url, **{"If-None-Match": etag}))
        assert get(url, **{"If-None-Match": etag}).status_code == 304
        print(f"  304 If-None-Match        {percentiles(not_modified)}")
        since = timed(
            args.requests, lambda url=url, modified=modified: get(url, **{"If-Modified-Since": modified})
        )
        print(f"  304 If-Modified-Since    {percentiles(since)}")

    # A change: the next poll rebuilds once, then it is warm again.
    with app.app_context():
        from commsplan.meetings.models import Occurrence

        occ = db.session.scalars(db.select(Occurrence).where(Occurrence.start > utcnow()).limit(1)).first()
        meetings.move_occurrence(
            db.session, occ, occ.start + timedelta(hours=1), occ.end + timedelta(hours=1)
        )
        db.session.commit()
        db.session.remove()
    started = time.perf_counter()
    get(urls["region"])
    print(
        f"\nregion feed after moving one occurrence: rebuild {(time.perf_counter() - started) * 1000:.0f} ms"
    )
    warm = timed(args.requests, lambda: get(urls["region"]))
    print(f"  200 warm again           {percentiles(warm)}")


if __name__ == "__main__":
    main()
