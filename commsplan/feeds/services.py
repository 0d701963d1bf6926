"""Feed tokens, and feed rendering with cheap validators (invitations: ``invitations``).

A feed request first computes a version key from one aggregate query (counts, sums of
ids, latest ``updated_at``). Its hash is the ETag, so a calendar program that polls an
unchanged feed gets its 304 without the feed being built. When the feed did change, the
rendered body is cached in ``feed_cache`` under that ETag, shared by all worker
processes, and so is each event's text, so a change re-renders only what changed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any

from dateutil.relativedelta import relativedelta
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from icalendar import Event
from sqlalchemy import delete, func, select, true, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload
from werkzeug.routing import BuildError

from commsplan.feeds import ical, recurrence
from commsplan.feeds.models import REGION_TARGET, FeedCache, FeedKind, FeedToken
from commsplan.meetings import links
from commsplan.meetings import services as meetings
from commsplan.meetings.models import AgendaItem, MeetingSeries, Occurrence
from commsplan.plan.models import Contact
from commsplan.timeutil import utcnow

# Bump when the rendered text changes for the same data, so clients refetch.
FEED_FORMAT_VERSION = "3"
# How far back a feed reaches; the start is a month boundary so the key changes monthly.
MONTHS_BACK = 12
# Notices further ahead than this are not put in the region feed.
NOTICE_YEARS_AHEAD = 3
CALENDAR_LANGUAGE = "sv"
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
# Cached feeds and events not rendered for this long are dropped (deleted series,
# contacts, occurrences); one still in use is simply rendered again.
CACHE_DAYS = 90


class FeedNotFound(LookupError):
    """Unknown or revoked token, or the feed's target is gone."""


# --- tokens ----------------------------------------------------------------------------


def live_token(session: Session, kind: FeedKind, target_id: int = REGION_TARGET) -> FeedToken | None:
    return session.scalar(
        select(FeedToken).where(
            FeedToken.kind == kind, FeedToken.target_id == target_id, FeedToken.revoked_at.is_(None)
        )
    )


def ensure_token(session: Session, kind: FeedKind, target_id: int = REGION_TARGET) -> FeedToken | None:
    """The live token of a feed, made on first use so every feed can be subscribed to.

    None once a coordinator revoked the feed's links: a revoked feed stays off until
    someone makes a new link on purpose (``create_token``).
    """
    token = live_token(session, kind, target_id)
    if token is not None:
        return token
    if session.scalar(
        select(FeedToken.id).where(FeedToken.kind == kind, FeedToken.target_id == target_id).limit(1)
    ):
        return None
    return create_token(session, kind, target_id)


def create_token(session: Session, kind: FeedKind, target_id: int = REGION_TARGET) -> FeedToken:
    """A new live token for a feed that has none (or the one a parallel request made)."""
    existing = live_token(session, kind, target_id)
    if existing is not None:
        return existing
    token = FeedToken(kind=kind, target_id=target_id)
    try:
        with session.begin_nested():
            session.add(token)
    except IntegrityError:
        # Another request made it at the same moment; the unique index kept one.
        found = live_token(session, kind, target_id)
        assert found is not None
        return found
    return token


def tokens_for(session: Session, kind: FeedKind, target_ids: Iterable[int]) -> dict[int, FeedToken | None]:
    """Live tokens of many feeds of one kind (see ``ensure_token``)."""
    ids = list(target_ids)
    found: dict[int, FeedToken | None] = {
        token.target_id: token
        for token in session.scalars(
            select(FeedToken).where(
                FeedToken.kind == kind, FeedToken.target_id.in_(ids), FeedToken.revoked_at.is_(None)
            )
        )
    }
    for target_id in ids:
        if target_id not in found:
            found[target_id] = ensure_token(session, kind, target_id)
    return found


def revoke_token(session: Session, token: FeedToken, now: datetime | None = None) -> bool:
    """Stop a feed URL working (subscribers then get 404). False if it already was.

    A conditional UPDATE, not a read then a write: of simultaneous requests exactly one
    changes the row; on PostgreSQL the others wait on its row lock and then find it
    revoked, on SQLite the database lock serialises them the same way.
    """
    result = session.execute(
        update(FeedToken)
        .where(FeedToken.id == token.id, FeedToken.revoked_at.is_(None))
        .values(revoked_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    session.expire(token, ["revoked_at"])
    return bool(result.rowcount)  # type: ignore[attr-defined]


def regenerate_token(session: Session, token: FeedToken, now: datetime | None = None) -> FeedToken | None:
    """Revoke ``token`` and give the same feed a new one (a leaked link).

    None if ``token`` was already revoked, by a parallel or an earlier request: that one
    made the feed's new link (or revoked it on purpose), so this one changes nothing.
    """
    if not revoke_token(session, token, now):
        return None
    return create_token(session, token.kind, token.target_id)


def resolve_token(session: Session, kind: FeedKind, value: str) -> FeedToken:
    token = session.scalar(select(FeedToken).where(FeedToken.token == value, FeedToken.kind == kind))
    if token is None or not token.is_live:
        raise FeedNotFound(value)
    return token


# --- validators ------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedVersion:
    """What decides a feed's content, computed without building it."""

    cache_key: str
    etag: str
    last_modified: datetime


def window_start(now: datetime | None = None) -> datetime:
    now = now or utcnow()
    first = date(now.year, now.month, 1) - relativedelta(months=MONTHS_BACK)
    return datetime(first.year, first.month, first.day, tzinfo=UTC)


def _newest(*values: datetime | None) -> datetime:
    present = [v for v in values if v is not None]
    return max(present) if present else _EPOCH


def _version(cache_key: str, parts: Sequence[object], newest: datetime) -> FeedVersion:
    text = "|".join(
        [FEED_FORMAT_VERSION, current_app.config["BASE_URL"], cache_key, *(_stamp(part) for part in parts)]
    )
    digest = hashlib.sha256(text.encode()).hexdigest()[:32]
    return FeedVersion(cache_key, digest, newest.replace(microsecond=0))


def _stamp(value: object) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return str(value)


def _occurrence_aggregates(*conditions: Any) -> list[Any]:
    """Count, id sum and newest change of the matching occurrences and their agenda items.

    Sums of ids notice a row swapped for another; the newest ``updated_at`` notices edits.
    """
    occurrences = (
        select(func.count(Occurrence.id), func.sum(Occurrence.id), func.max(Occurrence.updated_at))
        .where(*conditions)
        .subquery()
    )
    agenda = (
        select(func.count(AgendaItem.id), func.sum(AgendaItem.id))
        .join(Occurrence, AgendaItem.occurrence_id == Occurrence.id)
        .where(*conditions)
        .subquery()
    )
    return [occurrences, agenda]


def _one_row(session: Session, subqueries: Sequence[Any]) -> tuple[Any, ...]:
    # One round trip: the one-row aggregates are cross joined.
    columns = [column for subquery in subqueries for column in subquery.c]
    joined = subqueries[0]
    for subquery in subqueries[1:]:
        joined = joined.join(subquery, true())
    return tuple(session.execute(select(*columns).select_from(joined)).one())


def _as_utc(value: object) -> datetime | None:
    # Aggregates may bypass UTCDateTime: SQLite can hand back a naive string or datetime.
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def series_version(session: Session, series: MeetingSeries, now: datetime | None = None) -> FeedVersion:
    start = window_start(now)
    conditions = (Occurrence.series_id == series.id, Occurrence.end >= start)
    row = _one_row(session, _occurrence_aggregates(*conditions))
    newest = _newest(series.updated_at, _as_utc(row[2]))
    return _version(f"series:{series.id}", [start, series.updated_at, *row], newest)


def contact_version(session: Session, contact: Contact, now: datetime | None = None) -> FeedVersion:
    start = window_start(now)
    series = meetings.series_for_contact(session, contact) if contact.active else []
    parts: list[object] = [start, contact.name, contact.active]
    parts.extend(f"{s.id}@{_stamp(s.updated_at)}" for s in series)
    newest = _newest(*(s.updated_at for s in series))
    if series:
        conditions = (Occurrence.series_id.in_([s.id for s in series]), Occurrence.end >= start)
        row = _one_row(session, _occurrence_aggregates(*conditions))
        parts.extend(row)
        newest = _newest(newest, _as_utc(row[2]))
    return _version(f"contact:{contact.id}", parts, newest)


def region_version(session: Session, now: datetime | None = None) -> FeedVersion:
    start = window_start(now)
    series = select(
        func.count(MeetingSeries.id), func.sum(MeetingSeries.id), func.max(MeetingSeries.updated_at)
    ).subquery()
    subqueries = [*_occurrence_aggregates(Occurrence.end >= start), series]
    notices = notices_hook.aggregates()
    if notices is not None:
        subqueries.append(notices)
    row = _one_row(session, subqueries)
    newest = _newest(*(_as_utc(value) for value in row if isinstance(value, (datetime, str))))
    return _version("region", [start, *row], newest)


# --- notices hook ----------------------------------------------------------------------


class NoticesHook:
    """The combined feed's view of the notices feature (service windows, releases).

    Kept apart so the meetings part of the feed works on its own: while the notices
    package is not installed, the region feed simply has no notices.
    """

    kinds = ("service_window", "release")

    def _module(self) -> Any:
        try:
            from commsplan.notices import models, services
        except ImportError:
            return None
        return models, services

    def aggregates(self) -> Any | None:
        """A one-row subquery (count, id sum, newest change) of calendar notices, or None."""
        found = self._module()
        if found is None:
            return None
        models, _services = found
        notice = models.Notice
        kinds = [models.NoticeKind(kind) for kind in self.kinds]
        return (
            select(func.count(notice.id), func.sum(notice.id), func.max(notice.updated_at))
            .where(notice.kind.in_(kinds))
            .subquery()
        )

    def sources(self, session: Session, start: datetime, end: datetime) -> list[EventSource]:
        found = self._module()
        if found is None:
            return []
        _models, services = found
        sources = []
        for notice in services.calendar_notices(session, start, end):
            url = external_url("status.public_notice", uid=notice.uid)
            cancelled = notice.status.value == "cancelled"
            kind = notice.kind.value
            version = _digest(notice.updated_at, notice.sequence, cancelled, kind, url)
            sources.append(
                EventSource(
                    f"vevent:notice:{notice.id}",
                    version,
                    partial(
                        _single,
                        partial(ical.notice_to_event, notice, cancelled=cancelled, kind=kind, url=url),
                    ),
                )
            )
        return sources


notices_hook = NoticesHook()


# --- building --------------------------------------------------------------------------


def external_url(endpoint: str, **values: object) -> str | None:
    """Absolute URL under BASE_URL, or None while the endpoint does not exist."""
    if endpoint not in current_app.view_functions:
        return None
    adapter = current_app.url_map.bind("localhost")
    try:
        path = adapter.build(endpoint, values)
    except BuildError:
        return None
    return current_app.config["BASE_URL"] + path


def occurrence_url(occurrence: Occurrence) -> str | None:
    """The page a calendar links to: the public occurrence page, which works without an
    account (most subscribers and invitees have none)."""
    if links.ENDPOINT not in current_app.view_functions:
        return None
    return links.public_occurrence_url(occurrence)


@dataclass(frozen=True)
class EventSource:
    """One VEVENT to be: where its rendering is cached, its version, and how to build it."""

    cache_key: str
    version: str
    build: Callable[[], Sequence[Event]]


def _digest(*parts: object) -> str:
    text = "|".join([FEED_FORMAT_VERSION, CALENDAR_LANGUAGE, *(_stamp(part) for part in parts)])
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _occurrence_sources(
    occurrences: Iterable[Occurrence], since: datetime | None = None
) -> list[EventSource]:
    """One source per occurrence, except that the occurrences of a series a rule expresses
    become one source: its recurring event and overrides (``recurrence``)."""
    sources = []
    done: set[int] = set()
    for occ in occurrences:
        if occ.series_id in done:
            continue
        calendar = recurrence.build(occ.series)
        if calendar is not None:
            done.add(occ.series_id)
            sources.append(_series_source(calendar, since or window_start()))
            continue
        url = occurrence_url(occ)
        # Agenda edits raise the occurrence's sequence (and updated_at); ids catch swaps.
        agenda = ",".join(str(item.id) for item in occ.agenda_items)
        version = _digest(occ.updated_at, occ.sequence, occ.status.value, occ.series.updated_at, url, agenda)
        sources.append(
            EventSource(
                f"vevent:occurrence:{occ.id}",
                version,
                partial(_single, partial(ical.occurrence_to_event, occ, url=url)),
            )
        )
    return sources


def _series_source(calendar: recurrence.SeriesCalendar, since: datetime) -> EventSource:
    series = calendar.series
    parts: list[object] = [series.updated_at, series.sequence, series.materialised_until, since]
    for occ in series.occurrences:
        agenda = ",".join(str(item.id) for item in occ.agenda_items)
        parts += [occ.id, occ.updated_at, occ.sequence, occ.status.value, occ.superseded, agenda]
    return EventSource(
        f"vevent:series:{series.id}",
        _digest(*parts),
        partial(recurrence.feed_events, calendar, since, occurrence_url),
    )


def _single(build: Callable[[], Event | None]) -> list[Event]:
    event = build()
    return [] if event is None else [event]


def render_events(session: Session, sources: Sequence[EventSource]) -> list[str]:
    """The VEVENT texts of ``sources``, re-rendering only those whose version changed.

    Serialising with icalendar costs about half a millisecond per event; after a single
    change to the region feed only that one event is rendered again. Event texts live in
    ``feed_cache`` under ``vevent:…`` keys next to the whole feeds.
    """
    cached: dict[str, tuple[str, str]] = {}
    keys = [source.cache_key for source in sources]
    for chunk_start in range(0, len(keys), 500):
        chunk = keys[chunk_start : chunk_start + 500]
        rows = session.execute(
            select(FeedCache.key, FeedCache.etag, FeedCache.body).where(FeedCache.key.in_(chunk))
        )
        cached.update({row.key: (row.etag, row.body) for row in rows})
    texts: list[str] = []
    fresh: list[tuple[EventSource, str]] = []
    for source in sources:
        hit = cached.get(source.cache_key)
        if hit is not None and hit[0] == source.version:
            texts.append(hit[1])
            continue
        events = source.build()
        if not events:
            continue
        text = "".join(event.to_ical().decode() for event in events)
        texts.append(text)
        fresh.append((source, text))
    if fresh:
        _store_events(session, fresh, {key for key in cached})
    return texts


def _store_events(session: Session, fresh: list[tuple[EventSource, str]], existing: set[str]) -> None:
    now = utcnow()
    try:
        with session.begin_nested():
            for source, text in fresh:
                if source.cache_key in existing:
                    session.execute(
                        update(FeedCache)
                        .where(FeedCache.key == source.cache_key)
                        .values(etag=source.version, body=text, last_modified=now, rendered_at=now)
                    )
                else:
                    session.add(
                        FeedCache(
                            key=source.cache_key,
                            etag=source.version,
                            body=text,
                            last_modified=now,
                            rendered_at=now,
                        )
                    )
    except IntegrityError:
        pass  # a parallel build stored them first; ours were the same texts


def _with_details(query: Any) -> Any:
    return query.options(selectinload(Occurrence.series), selectinload(Occurrence.agenda_items))


def _contact_occurrences(session: Session, contact: Contact, now: datetime | None) -> list[Occurrence]:
    start = window_start(now)
    return [occ for occ in meetings.occurrences_for_contact(session, contact) if occ.end >= start]


def build_series_feed(session: Session, series: MeetingSeries, now: datetime | None = None) -> bytes:
    occurrences = session.scalars(
        _with_details(
            select(Occurrence)
            .where(Occurrence.series_id == series.id, Occurrence.end >= window_start(now))
            .order_by(Occurrence.start, Occurrence.id)
        )
    )
    with force_locale(CALENDAR_LANGUAGE):
        texts = render_events(session, _occurrence_sources(occurrences, window_start(now)))
        calendar = ical.new_calendar(series.title, description=series.description)
    return ical.assemble(calendar, texts)


def build_contact_feed(session: Session, contact: Contact, now: datetime | None = None) -> bytes:
    occurrences = _contact_occurrences(session, contact, now)
    with force_locale(CALENDAR_LANGUAGE):
        texts = render_events(session, _occurrence_sources(occurrences, window_start(now)))
        calendar = ical.new_calendar(_("Möten för %(name)s", name=contact.name))
    return ical.assemble(calendar, texts)


def build_region_feed(session: Session, now: datetime | None = None) -> bytes:
    start = window_start(now)
    occurrences = session.scalars(
        _with_details(
            select(Occurrence).where(Occurrence.end >= start).order_by(Occurrence.start, Occurrence.id)
        )
    )
    end = start + relativedelta(years=NOTICE_YEARS_AHEAD + 1)
    with force_locale(CALENDAR_LANGUAGE):
        sources = _occurrence_sources(occurrences, start) + notices_hook.sources(session, start, end)
        texts = render_events(session, sources)
        calendar = ical.new_calendar(
            _("Regionens kalender: möten, servicefönster och releaser"),
            description=_("Möten, servicefönster och releaser för 1177 e-tjänster"),
        )
    return ical.assemble(calendar, texts)


# --- serving ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedTarget:
    """A resolved feed: how to version it and how to build it."""

    version: Callable[[], FeedVersion]
    build: Callable[[], bytes]


def target_for(session: Session, token: FeedToken, now: datetime | None = None) -> FeedTarget:
    if token.kind is FeedKind.series:
        series = session.get(MeetingSeries, token.target_id)
        if series is None:
            raise FeedNotFound(token.token)
        return FeedTarget(
            lambda: series_version(session, series, now), lambda: build_series_feed(session, series, now)
        )
    if token.kind is FeedKind.contact:
        contact = session.get(Contact, token.target_id)
        if contact is None:
            raise FeedNotFound(token.token)
        return FeedTarget(
            lambda: contact_version(session, contact, now), lambda: build_contact_feed(session, contact, now)
        )
    return FeedTarget(lambda: region_version(session, now), lambda: build_region_feed(session, now))


@dataclass(frozen=True)
class CachedState:
    etag: str
    last_modified: datetime


def current_state(session: Session, version: FeedVersion) -> CachedState:
    """ETag and Last-Modified to answer with, without loading any feed body.

    Last-Modified comes from the cache row when it matches, because it only ever moves
    forward there: deleting an occurrence lowers max(updated_at) but must still count
    as a change for If-Modified-Since.
    """
    row = session.execute(
        select(FeedCache.etag, FeedCache.last_modified).where(FeedCache.key == version.cache_key)
    ).first()
    if row is None:
        return CachedState(version.etag, version.last_modified)
    if row.etag == version.etag:
        return CachedState(version.etag, row.last_modified)
    return CachedState(version.etag, _after(row.last_modified, version.last_modified))


def _after(previous: datetime, newest: datetime) -> datetime:
    """A Last-Modified for changed content that is later than the previous one."""
    return newest if newest > previous else previous + timedelta(seconds=1)


def feed_body(session: Session, version: FeedVersion, build: Callable[[], bytes]) -> tuple[bytes, datetime]:
    """The feed body for ``version``: from the cache, or built and stored (the caller commits)."""
    cached = session.execute(
        select(FeedCache.body, FeedCache.last_modified).where(
            FeedCache.key == version.cache_key, FeedCache.etag == version.etag
        )
    ).first()
    if cached is not None:
        return cached.body.encode(), cached.last_modified
    row = session.get(FeedCache, version.cache_key)
    body = build()
    last_modified = version.last_modified if row is None else _after(row.last_modified, version.last_modified)
    try:
        with session.begin_nested():
            if row is None:
                session.add(
                    FeedCache(
                        key=version.cache_key,
                        etag=version.etag,
                        last_modified=last_modified,
                        body=body.decode(),
                    )
                )
            else:
                row.etag = version.etag
                row.last_modified = last_modified
                row.body = body.decode()
                row.rendered_at = utcnow()
    except IntegrityError:
        pass  # a parallel request stored the same feed first; the savepoint undid ours
    return body, last_modified


def prune_cache(session: Session, now: datetime | None = None) -> int:
    """Drop cache rows not rendered for ``CACHE_DAYS``; run by the delivery worker. Commits."""
    cutoff = (now or utcnow()) - timedelta(days=CACHE_DAYS)
    result = session.execute(
        delete(FeedCache).where(FeedCache.rendered_at < cutoff).execution_options(synchronize_session=False)
    )
    session.commit()
    return result.rowcount or 0  # type: ignore[attr-defined]
