"""A whole region's data, built fast: the demo plan, then bulk inserts on top of it.

Used by ``tests/test_query_counts.py`` (small and region size, same shape, so a page's
query count can be compared between the two) and by ``bench/web.py``. Rows go in with
Core ``insert()`` executemany batches, not one ORM object at a time: 10,000 contacts
and 100,000 outbox rows take seconds, not minutes.

    build_region(session, RegionSize.region())   # 10,000 contacts, 2,000 notices, …
    build_region(session, RegionSize.small())    # the same shape, a few rows of each
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from typing import Any

from dateutil.relativedelta import relativedelta
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from commsplan.activities.demo import load_activities_demo
from commsplan.activities.services import ensure_default_templates
from commsplan.audience.demo import load_audience_demo
from commsplan.delivery.models import DeliveryState, MessageKind, OutboxItem, OutgoingMessage, SourceType
from commsplan.feeds.models import FeedKind, FeedToken
from commsplan.kinds import NoticeKind, Severity
from commsplan.meetings import services as meetings
from commsplan.meetings.demo import load_meetings_demo
from commsplan.meetings.models import MeetingKind, Occurrence, Registration
from commsplan.notices.models import (
    Notice,
    NoticeStatus,
    NoticeUpdate,
    OutageState,
    UpdateKind,
    notice_service,
)
from commsplan.plan.demo import load_demo
from commsplan.plan.models import (
    Contact,
    Service,
    StakeholderGroup,
    Unit,
    UnitKind,
    contact_stakeholder_group,
)
from commsplan.subscriptions.models import Frequency, SubscriberProfile, Subscription
from commsplan.timeutil import local, utcnow

BATCH = 5_000


@dataclass(frozen=True)
class RegionSize:
    contacts: int
    notices: int
    published_notices: int  # of ``notices``, still open (shown on /status)
    meeting_years: int  # one year back, the rest ahead
    outbox_items: int
    units: int

    @classmethod
    def region(cls) -> RegionSize:
        return cls(
            contacts=10_000,
            notices=2_000,
            published_notices=500,
            meeting_years=3,
            outbox_items=100_000,
            units=60,
        )

    @classmethod
    def small(cls) -> RegionSize:
        return cls(contacts=40, notices=20, published_notices=6, meeting_years=1, outbox_items=200, units=4)


SERIES = [
    # title, rule, kind, start time, minutes
    ("Nätverket Invånartjänster", "FREQ=MONTHLY;INTERVAL=3;BYDAY=2TU", MeetingKind.network, clock(9, 0), 180),
    ("Samverkan förvaltningarna", "FREQ=MONTHLY;BYDAY=2TU", MeetingKind.collaboration, clock(13, 0), 90),
    (
        "Avstämning e-tjänstesamordnare",
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=WE",
        MeetingKind.other,
        clock(10, 0),
        45,
    ),
    ("Veckomöte Invånartjänster e-hälsa", "FREQ=WEEKLY;BYDAY=MO", MeetingKind.other, clock(8, 30), 30),
]


def _bulk(session: Session, table: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), BATCH):
        session.execute(insert(table), rows[start : start + BATCH])


def build_region(session: Session, size: RegionSize, *, seed: int = 13) -> dict[str, int]:
    """Fill an empty database with a region of ``size``; commits. Returns row counts."""
    rng = random.Random(seed)
    now = utcnow().replace(microsecond=0)
    load_demo(session)
    session.flush()
    load_audience_demo(session)
    load_meetings_demo(session, local(now).date())
    ensure_default_templates(session)
    load_activities_demo(session)
    session.flush()

    _bulk(
        session,
        Unit,
        [
            {"name": f"Vårdcentral {i:04d}", "kind": UnitKind.administration, "description": ""}
            for i in range(size.units)
        ],
    )
    unit_ids = list(session.scalars(select(Unit.id).order_by(Unit.id)))
    group_ids = list(session.scalars(select(StakeholderGroup.id).order_by(StakeholderGroup.id)))
    service_ids = list(session.scalars(select(Service.id).order_by(Service.id)))
    first_contact = (session.scalar(select(Contact.id).order_by(Contact.id.desc()).limit(1)) or 0) + 1

    contacts = []
    for i in range(size.contacts):
        contacts.append(
            {
                "id": first_contact + i,
                "name": f"{rng.choice(FIRST)} {rng.choice(LAST)} {i:05d}",
                "email": f"kontakt{i:05d}@region.example.org",
                "phone": "",
                "unit_id": unit_ids[i % len(unit_ids)] if i % 10 else None,
                "role": ROLES[i % len(ROLES)],
                "language": "en" if i % 17 == 0 else "sv",
                "active": i % 23 != 0,
                "created_at": now - timedelta(days=i % 900),
            }
        )
    _bulk(session, Contact, contacts)
    contact_ids = [row["id"] for row in contacts]
    _bulk(
        session,
        contact_stakeholder_group,
        [{"contact_id": cid, "group_id": group_ids[n % len(group_ids)]} for n, cid in enumerate(contact_ids)],
    )
    # Every fourth contact subscribes; every tenth without a unit signed up on /subscribe.
    subscriptions = []
    for n, cid in enumerate(contact_ids[::4]):
        if n % 2:
            subscriptions.append({"contact_id": cid, "service_id": service_ids[n % len(service_ids)]})
        else:
            subscriptions.append({"contact_id": cid, "notice_kind": list(NoticeKind)[n % len(NoticeKind)]})
    for row in subscriptions:
        row.setdefault("service_id", None)
        row.setdefault("notice_kind", None)
        row["frequency"] = list(Frequency)[row["contact_id"] % 3]
        row["created_at"] = now
    _bulk(session, Subscription, subscriptions)
    _bulk(
        session,
        SubscriberProfile,
        [
            {
                "contact_id": row["id"],
                "self_subscribed": True,
                "organisation": "Privat vårdgivare",
                "confirmed_at": now,
                "role_digest": Frequency.immediate,
                "created_at": now,
            }
            for row in contacts
            if row["unit_id"] is None
        ],
    )
    # The subscription page was opened once: every active contact has a feed link.
    _bulk(
        session,
        FeedToken,
        [
            {
                "kind": FeedKind.contact,
                "target_id": row["id"],
                "token": f"region-contact-{row['id']}",
                "created_at": now,
            }
            for row in contacts
            if row["active"]
        ],
    )

    series_count = _meetings(session, size, rng, now, contact_ids)
    notice_ids = _notices(session, size, rng, now, service_ids)
    outbox = _outbox(session, size, rng, now, notice_ids, contacts)
    session.commit()
    return {
        "contacts": len(contacts),
        "subscriptions": len(subscriptions),
        "series": series_count,
        "occurrences": session.query(Occurrence).count(),
        "notices": len(notice_ids),
        "outbox_items": outbox,
    }


def _meetings(
    session: Session, size: RegionSize, rng: random.Random, now: datetime, contact_ids: list[int]
) -> int:
    first = local(now).date() - relativedelta(years=1)
    for n, (title, rule, kind, start_time, minutes) in enumerate(SERIES):
        data = meetings.SeriesData(
            title=title,
            rrule=rule,
            kind=kind,
            start_time=start_time,
            starts_on=first,
            duration_minutes=minutes,
            location="Akademiska sjukhuset, ingång 70",
            online_url=f"https://meet.example.org/{n}",
            organiser_name="Invånartjänster e-hälsa",
            organiser_email="invanartjanster@example.org",
            description="Återkommande möte för regionens e-tjänstesamordnare.",
            registration_open=n % 2 == 0,
        )
        series = meetings.create_series(session, data, now=now)
        series.contacts.extend(
            session.get(Contact, cid) for cid in contact_ids[n :: max(1, len(contact_ids) // 20)]
        )
    session.flush()
    meetings.extend_due(session, now, horizon_months=12 * (size.meeting_years - 1))
    occurrences = list(
        session.scalars(select(Occurrence.id).where(Occurrence.start >= now).order_by(Occurrence.start))
    )
    registrations = []
    for n, occ_id in enumerate(occurrences[:40]):
        for k in range(size.contacts // 400 + 2):
            registrations.append(
                {
                    "occurrence_id": occ_id,
                    "name": f"Deltagare {n}-{k}",
                    "email": f"deltagare{n}-{k}@example.org",
                    "organisation": "Vårdcentral",
                    "language": "sv",
                    "token": f"reg-{n}-{k}",
                    "created_at": now,
                    "confirmed_at": now,
                }
            )
    _bulk(session, Registration, registrations)
    return len(SERIES)


def _notices(
    session: Session, size: RegionSize, rng: random.Random, now: datetime, service_ids: list[int]
) -> list[int]:
    first_id = (session.scalar(select(Notice.id).order_by(Notice.id.desc()).limit(1)) or 0) + 1
    notices, links, updates = [], [], []
    kinds = list(NoticeKind)
    span = int(timedelta(days=365 * 3).total_seconds())
    for i in range(size.notices):
        nid = first_id + i
        kind = kinds[i % len(kinds)]
        at = (now - timedelta(days=365 * 2) + timedelta(seconds=rng.randrange(span))).replace(
            minute=0, second=0
        )
        published = i < size.published_notices
        if published:  # open notices are current: outages began lately, windows lie ahead
            at = (now + timedelta(hours=rng.randrange(-48, 24 * 60))).replace(minute=0, second=0)
        status = (
            NoticeStatus.published
            if published
            else (NoticeStatus.cancelled if i % 40 == 0 else NoticeStatus.closed)
        )
        row: dict[str, Any] = {
            "id": nid,
            "uid": f"region-notice-{nid}",
            "kind": kind,
            "title": f"{TITLES[kind]} {i}",
            "body_markdown": "Under tiden går det inte att logga in. **Vi återkommer** med mer information.",
            "status": status,
            "severity": Severity.high if kind is NoticeKind.outage else None,
            "outage_state": (OutageState.investigating if published else OutageState.resolved)
            if kind is NoticeKind.outage
            else None,
            "starts_at": None,
            "ends_at": None,
            "release_date": None,
            "version": "",
            "sequence": 1,
            # Open notices were published over the last year, not all this month.
            "published_at": min(at, now - timedelta(hours=1 + (i * 17) % (24 * 365))),
            "closed_at": None if published else at + timedelta(hours=4),
            "created_at": at - timedelta(days=1),
            "updated_at": at,
        }
        if kind in (NoticeKind.service_window, NoticeKind.outage):
            start = local(at).replace(hour=18).astimezone(UTC)
            row["starts_at"], row["ends_at"] = start, start + timedelta(hours=3)
        if kind is NoticeKind.release:
            row["release_date"], row["version"] = local(at).date(), f"{i // 100}.{i % 100}"
        notices.append(row)
        for service_id in {service_ids[i % len(service_ids)], service_ids[(i * 7) % len(service_ids)]}:
            links.append({"notice_id": nid, "service_id": service_id})
        timeline = [UpdateKind.published, UpdateKind.update] + ([] if published else [UpdateKind.closed])
        for k, update_kind in enumerate(timeline):
            updates.append(
                {
                    "notice_id": nid,
                    "kind": update_kind,
                    "body_markdown": "Felet är under utredning." if update_kind is UpdateKind.update else "",
                    "author_name": "Samordnare",
                    "sent": True,
                    "recipient_count": 120,
                    "created_at": at + timedelta(hours=k),
                }
            )
    _bulk(session, Notice, notices)
    _bulk(session, notice_service, links)
    _bulk(session, NoticeUpdate, updates)
    return [row["id"] for row in notices]


def _outbox(
    session: Session,
    size: RegionSize,
    rng: random.Random,
    now: datetime,
    notice_ids: list[int],
    contacts: list[dict[str, Any]],
) -> int:
    per_message = 50
    first_message = (
        session.scalar(select(OutgoingMessage.id).order_by(OutgoingMessage.id.desc()).limit(1)) or 0
    ) + 1
    message_count = max(1, size.outbox_items // per_message)
    messages, items = [], []
    for m in range(message_count):
        mid = first_message + m
        notice_id = notice_ids[m % len(notice_ids)]
        created = now - timedelta(minutes=(message_count - m) * 17)
        messages.append(
            {
                "id": mid,
                "kind": MessageKind.notice.value if m % 3 else MessageKind.notice_update.value,
                "subject": f"Driftstörning {notice_id}",
                "text_body": "Hej!\n\nJournalen går inte att nå just nu.\n",
                "html_body": "<p>Hej!</p><p>Journalen går inte att nå just nu.</p>",
                "headers": {},
                "attachments": [],
                "sender": "",
                "source_type": SourceType.notice.value,
                "source_id": notice_id,
                "created_at": created,
            }
        )
        for k in range(per_message):
            contact = contacts[(m * per_message + k) % len(contacts)] if contacts else None
            n = m * per_message + k
            # Old mail is sent; a little failed; nothing left queued for a worker to pick up.
            state = DeliveryState.failed if n % 97 == 0 else DeliveryState.sent
            items.append(
                {
                    "message_id": mid,
                    "to_address": contact["email"] if contact else f"person{n}@example.org",
                    "to_name": contact["name"] if contact else "",
                    "contact_id": contact["id"] if contact else None,
                    "personalisation": {},
                    "reason": "Prenumererar på driftstörningar",
                    "state": state,
                    "attempts": 1 if state is DeliveryState.sent else 5,
                    "sent_at": created + timedelta(seconds=30) if state is DeliveryState.sent else None,
                    "last_error": "550 5.1.1 User unknown" if state is DeliveryState.failed else "",
                    "message_id_header": f"<region-{n}@commsplan.example.org>",
                    "created_at": created,
                }
            )
    _bulk(session, OutgoingMessage, messages)
    _bulk(session, OutboxItem, items)
    return len(items)


FIRST = ["Anna", "Erik", "Maria", "Lars", "Karin", "Johan", "Sara", "Per", "Eva", "Örjan", "Åsa", "Ali"]
LAST = ["Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Öberg", "Lindqvist"]
ROLES = ["E-tjänstesamordnare", "Verksamhetschef", "Systemförvaltare", "Enhetschef", ""]
TITLES = {
    NoticeKind.outage: "Driftstörning i Journalen",
    NoticeKind.service_window: "Servicefönster för Webbtidbok",
    NoticeKind.release: "Release av 1177 e-tjänster",
    NoticeKind.general: "Information om inloggning",
}
