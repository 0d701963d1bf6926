"""Relay: reading sources, turning each new item into a draft regional notice, and the
review queue (publish, merge into a notice as an update, dismiss).

Polling commits per source (and per mail for IMAP) so a crash loses at most the item in
hand, and that item is read again: the source's cursor (UID, validators) only moves in
the commit that stores what it covers. The unique (source, external id) key and the
content hash make reading twice harmless. Review functions take a session and never
commit; the caller does.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, or_, select
from sqlalchemy import update as sql_update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from commsplan.auth.models import User
from commsplan.delivery.models import AddressBounce, OutboxItem
from commsplan.inputs import text_problem
from commsplan.kinds import NoticeKind
from commsplan.notices import services as notices
from commsplan.notices.models import Notice, NoticeStatus
from commsplan.relay import feeds, imap
from commsplan.relay.entries import Entry, SourceError
from commsplan.relay.mail import Bounce, looks_like_mail, parse_mail, tidy
from commsplan.relay.models import ItemState, RelayItem, RelaySource, SourceKind
from commsplan.relay.rules_services import Mapping, map_text
from commsplan.relay.understanding import Understanding, understand
from commsplan.timeutil import local, utcnow

DEFAULT_INTERVALS = {SourceKind.feed: 15, SourceKind.imap: 5}
MAX_BACKOFF = timedelta(hours=6)
# How long a worker holds a source it is polling before another may take it over.
POLL_LEASE = timedelta(minutes=10)
PASTE_SOURCE_NAME = "Inklistrat"
ITEMS_PER_PAGE = 50


class RelayError(ValueError):
    """A request the relay refuses; ``field`` names the input at fault."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass
class PollResult:
    new: int = 0
    updated: int = 0
    duplicates: int = 0
    bounces: int = 0
    error: str = ""
    more: bool = False  # mail left for the next round


@dataclass
class Guess:
    """What the relay read from an item, shown with its evidence on the item page."""

    understanding: Understanding
    mapping: Mapping
    kind: NoticeKind
    starts_at: datetime | None
    ends_at: datetime | None
    notes: list[str] = field(default_factory=list)


# --- sources -----------------------------------------------------------------------------


def _clean_name(name: str) -> str:
    cleaned = " ".join((name or "").split())
    if not cleaned:
        raise RelayError(_("Ange ett namn."), "name")
    if len(cleaned) > 100:
        raise RelayError(_("Namnet får vara högst 100 tecken."), "name")
    return cleaned


def feed_settings(url: str, interval_minutes: int | None = None) -> dict[str, Any]:
    url = (url or "").strip()
    if not url.lower().startswith(("http://", "https://")) or any(c.isspace() for c in url):
        raise RelayError(_("Ange en adress som börjar med http:// eller https://."), "url")
    interval = interval_minutes or DEFAULT_INTERVALS[SourceKind.feed]
    if not 1 <= interval <= 24 * 60:
        raise RelayError(_("Intervallet ska vara 1–1440 minuter."), "interval_minutes")
    return {"url": url[:2000], "interval_minutes": interval}


def imap_settings(
    host: str,
    port: int | None,
    user: str,
    password_env: str,
    folder: str = "INBOX",
    tls: bool = True,
    move_to: str = "",
    interval_minutes: int | None = None,
) -> dict[str, Any]:
    host = (host or "").strip()
    if not host or any(c.isspace() for c in host):
        raise RelayError(_("Ange IMAP-serverns namn."), "host")
    port = port or (993 if tls else 143)
    if not 1 <= port <= 65535:
        raise RelayError(_("Porten ska vara 1–65535."), "port")
    if not (user or "").strip():
        raise RelayError(_("Ange användarnamnet."), "user")
    env = (password_env or "").strip()
    if not env or not env.replace("_", "").isalnum():
        raise RelayError(
            _("Ange namnet på miljövariabeln med lösenordet (bokstäver, siffror, _)."), "password_env"
        )
    interval = interval_minutes or DEFAULT_INTERVALS[SourceKind.imap]
    if not 1 <= interval <= 24 * 60:
        raise RelayError(_("Intervallet ska vara 1–1440 minuter."), "interval_minutes")
    return {
        "host": host[:255],
        "port": port,
        "user": user.strip()[:255],
        "password_env": env[:100],
        "folder": (folder or "INBOX").strip()[:255] or "INBOX",
        "tls": bool(tls),
        "move_to": (move_to or "").strip()[:255],
        "interval_minutes": interval,
    }


def add_source(
    session: Session,
    name: str,
    kind: SourceKind,
    settings: dict[str, Any],
    auto_publish: Iterable[NoticeKind] = (),
) -> RelaySource:
    cleaned = _clean_name(name)
    if session.scalar(select(RelaySource.id).where(func.lower(RelaySource.name) == cleaned.lower())):
        raise RelayError(_("Det finns redan en källa som heter %(name)s.", name=cleaned), "name")
    source = RelaySource(
        name=cleaned,
        kind=kind,
        settings={**settings, "auto_publish": [k.value for k in auto_publish]},
        next_poll_at=utcnow(),
    )
    session.add(source)
    session.flush()
    return source


def set_auto_publish(source: RelaySource, kinds: Iterable[NoticeKind]) -> None:
    source.settings = {**(source.settings or {}), "auto_publish": [k.value for k in kinds]}


def find_source(session: Session, name: str) -> RelaySource | None:
    return session.scalar(
        select(RelaySource).where(func.lower(RelaySource.name) == " ".join(name.split()).lower())
    )


def list_sources(session: Session) -> list[RelaySource]:
    return list(session.scalars(select(RelaySource).order_by(RelaySource.name)))


def remove_source(session: Session, source: RelaySource) -> None:
    """The source and its items go; drafts made from them stay as ordinary drafts."""
    session.delete(source)
    session.flush()


def source_healthy(source: RelaySource) -> bool:
    if source.last_error_at is None:
        return True
    return source.last_success_at is not None and source.last_success_at > source.last_error_at


# --- polling -----------------------------------------------------------------------------


def _interval(source: RelaySource) -> timedelta:
    return timedelta(minutes=int((source.settings or {}).get("interval_minutes") or 15))


def _record_success(source: RelaySource, now: datetime) -> None:
    source.last_success_at = now
    source.failures = 0
    source.next_poll_at = now + _interval(source)


def _record_error(session: Session, source_id: int, message: str, now: datetime) -> None:
    """In a fresh transaction: what was stored of this poll stays, the error is added."""
    session.rollback()
    source = session.get(RelaySource, source_id)
    if source is None:
        return
    source.failures += 1
    source.last_error = message[:2000]
    source.last_error_at = now
    # Exponential back-off: the interval, then twice, four times … at most MAX_BACKOFF.
    wait = min(_interval(source) * (2 ** min(source.failures, 16)), MAX_BACKOFF)
    source.next_poll_at = now + wait
    session.commit()


def poll_source(session: Session, source: RelaySource, now: datetime | None = None) -> PollResult:
    """Read ``source`` once and commit. Never raises for a source problem: the error is
    stored on the source (and returned) so the caller goes on with the next one."""
    now = now or utcnow()
    result = PollResult()
    source_id = source.id
    try:
        if source.kind is SourceKind.feed:
            _poll_feed(session, source, result, now)
        elif source.kind is SourceKind.imap:
            _poll_imap(session, source, result, now)
        _record_success(source, now)
        if result.more:
            source.next_poll_at = now
        session.commit()
    except SourceError as error:
        result.error = str(error)
        _record_error(session, source_id, result.error, now)
    except Exception as error:  # noqa: BLE001 - one broken source must not stop the others
        current_app.logger.exception("Relay source %s failed", source_id)
        result.error = _("Oväntat fel: %(error)s", error=error)
        _record_error(session, source_id, result.error, now)
    return result


def _claim(session: Session, source_id: int, now: datetime) -> bool:
    """Take a due source for this worker; two workers never poll the same one at once."""
    result = session.execute(
        sql_update(RelaySource)
        .where(
            RelaySource.id == source_id,
            or_(RelaySource.next_poll_at.is_(None), RelaySource.next_poll_at <= now),
        )
        .values(next_poll_at=now + POLL_LEASE)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return result.rowcount == 1  # type: ignore[attr-defined]


def poll_due(session: Session, now: datetime | None = None) -> dict[str, PollResult]:
    """The periodic job: every source whose time has come, each on its own."""
    now = now or utcnow()
    due = list(
        session.scalars(
            select(RelaySource.id)
            .where(
                RelaySource.kind != SourceKind.paste,
                or_(RelaySource.next_poll_at.is_(None), RelaySource.next_poll_at <= now),
            )
            .order_by(RelaySource.next_poll_at)
        )
    )
    results: dict[str, PollResult] = {}
    for source_id in due:
        if not _claim(session, source_id, now):
            continue
        source = session.get(RelaySource, source_id)
        if source is not None:
            results[source.name] = poll_source(session, source, now)
    return results


def poll_all(session: Session, now: datetime | None = None) -> dict[str, PollResult]:
    """Every feed and mailbox once, due or not (``flask commsplan relay poll``)."""
    results: dict[str, PollResult] = {}
    for source in list_sources(session):
        if source.kind is not SourceKind.paste:
            results[source.name] = poll_source(session, source, now)
    return results


def _feed_timeout() -> float:
    return float(current_app.config.get("RELAY_FEED_TIMEOUT", 10))


def _poll_feed(session: Session, source: RelaySource, result: PollResult, now: datetime) -> None:
    response = feeds.fetch(
        str(source.settings.get("url", "")),
        etag=source.etag,
        last_modified=source.last_modified,
        timeout=_feed_timeout(),
    )
    if response.not_modified:
        return
    for entry in response.entries:
        _count(result, ingest(session, source, entry, now))
    # The validators move only with the items they cover, in the same commit.
    source.etag = response.etag
    source.last_modified = response.last_modified


def mailbox_settings(source: RelaySource) -> imap.MailboxSettings:
    settings = source.settings or {}
    env = str(settings.get("password_env", ""))
    password = os.environ.get(env) if env else None
    if password is None:
        raise SourceError(_("Miljövariabeln %(name)s med lösenordet är inte satt.", name=env))
    return imap.MailboxSettings(
        host=str(settings.get("host", "")),
        port=int(settings.get("port") or 993),
        user=str(settings.get("user", "")),
        password=password,
        folder=str(settings.get("folder") or "INBOX"),
        tls=bool(settings.get("tls", True)),
        move_to=str(settings.get("move_to", "")),
        timeout=float(current_app.config.get("RELAY_IMAP_TIMEOUT", 30)),
    )


def _poll_imap(session: Session, source: RelaySource, result: PollResult, now: datetime) -> None:
    with imap.open_mailbox(mailbox_settings(source)) as box:
        if source.uidvalidity != box.uidvalidity:
            # The server renumbered the folder: read it again; Message-IDs and content
            # hashes keep the mail already relayed from becoming second drafts.
            source.uidvalidity = box.uidvalidity
            source.last_uid = 0
            session.commit()
        pending = box.uids_after(source.last_uid)
        batch = int(current_app.config.get("RELAY_IMAP_BATCH", 100))
        # A full mailbox is read a batch per round so the worker keeps sending mail.
        result.more = len(pending) > batch
        for uid in pending[:batch]:
            raw = box.fetch(uid)
            _count(result, ingest_mail(session, source, raw, f"uid:{box.uidvalidity}:{uid}", now))
            source.last_uid = uid
            session.commit()
            box.mark_processed(uid)


def _count(result: PollResult, outcome: str) -> None:
    if outcome == "new":
        result.new += 1
    elif outcome == "updated":
        result.updated += 1
    elif outcome == "duplicate":
        result.duplicates += 1
    elif outcome.startswith("bounce"):
        result.bounces += int(outcome.split(":")[1])


# --- ingesting ---------------------------------------------------------------------------


def safe_link(link: str) -> str:
    """An http(s) link from a source, or "": it is shown as a link and written into
    Markdown, so other schemes (javascript:) and characters that end a Markdown link go."""
    link = (link or "").strip()
    if not link.lower().startswith(("http://", "https://")) or text_problem(link):
        return ""
    return quote(link, safe=":/?#[]@!$&'*+,;=%~-._")[:2000]


def content_hash(subject: str, body: str) -> str:
    normalised = " ".join(f"{subject}\n{body}".lower().split())
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()


def ingest_mail(
    session: Session, source: RelaySource, raw: bytes, fallback_id: str, now: datetime | None = None
) -> str:
    """One received mail: a delivery report flags addresses, anything else is an item."""
    now = now or utcnow()
    try:
        mail = parse_mail(raw)
    except Exception:  # noqa: BLE001 - an unreadable mail is kept as text, not lost
        current_app.logger.exception("Relay could not parse a mail of source %s", source.id)
        return ingest(session, source, Entry(fallback_id, "", tidy(raw.decode("latin-1"))[:100_000]), now)
    external_id = storable(mail.message_id or fallback_id)
    if mail.is_report:
        subject, body = storable(mail.subject), storable(mail.body)
        return _ingest_report(session, source, external_id, subject, body, mail.bounces, now)
    return ingest(session, source, Entry(external_id, mail.subject, mail.body, "", mail.received_at), now)


def _ingest_report(
    session: Session,
    source: RelaySource,
    external_id: str,
    subject: str,
    body: str,
    bounces: tuple[Bounce, ...],
    now: datetime,
) -> str:
    """Flag the addresses of a DSN; the report itself is kept as a dismissed item so it
    is never read twice and never becomes a draft."""
    existing = _item_by_external_id(session, source, external_id)
    if existing is not None:
        return "unchanged"
    flagged = record_bounces(session, bounces, now)
    if flagged:
        reason = _("Leveransrapport: %(addresses)s flaggad i Vem får vad.", addresses=", ".join(flagged))
    else:
        reason = _("Leveransrapport om e-post som inte skickades av commsplan.")
    _store(
        session,
        RelayItem(
            source=source,
            external_id=external_id[:500],
            content_hash=content_hash(subject, body),
            subject=subject[:998],
            body_text=body,
            received_at=now,
            state=ItemState.dismissed,
            dismiss_reason=reason,
        ),
    )
    return f"bounce:{len(flagged)}"


def record_bounces(session: Session, bounces: Iterable[Bounce], now: datetime | None = None) -> list[str]:
    """Flag each failed recipient of mail we sent (recognised by our Message-ID), the
    way the delivery worker flags a 5xx answer; returns the addresses flagged."""
    now = now or utcnow()
    flagged: list[str] = []
    for bounce in bounces:
        if not bounce.message_ids:
            continue
        sent = session.scalar(
            select(OutboxItem).where(
                OutboxItem.message_id_header.in_(bounce.message_ids),
                func.lower(OutboxItem.to_address) == bounce.recipient,
            )
        )
        if sent is None:
            continue
        already = session.scalar(select(AddressBounce.id).where(AddressBounce.outbox_item_id == sent.id))
        if already is None:
            answer = " ".join(part for part in (bounce.status, bounce.diagnostic) if part)
            session.add(
                AddressBounce(
                    email=bounce.recipient,
                    contact_id=sent.contact_id,
                    outbox_item_id=sent.id,
                    answer=(answer or _("Leveransrapport: kunde inte levereras."))[:2000],
                    bounced_at=now,
                )
            )
        flagged.append(bounce.recipient)
    session.flush()
    return flagged


def _item_by_external_id(session: Session, source: RelaySource, external_id: str) -> RelayItem | None:
    return session.scalar(
        select(RelayItem).where(RelayItem.source_id == source.id, RelayItem.external_id == external_id[:500])
    )


def _store(session: Session, item: RelayItem) -> bool:
    """Insert ``item``; False if another worker stored the same one first."""
    try:
        with session.begin_nested():
            session.add(item)
    except IntegrityError:
        return False
    item.source.items_seen += 1
    return True


def storable(text: str) -> str:
    """Text any database column takes: no NUL, no lone surrogates (undecodable mail bytes)."""
    return text.replace("\x00", "").encode("utf-8", "surrogatepass").decode("utf-8", "replace")


def ingest(session: Session, source: RelaySource, entry: Entry, now: datetime | None = None) -> str:
    """Store one entry: "new" (a draft was made), "updated" (its draft follows the
    change, or an update is proposed), "duplicate" (same content as an earlier item, kept
    as dismissed) or "unchanged"."""
    now = now or utcnow()
    entry = replace(
        entry,
        external_id=storable(entry.external_id),
        subject=storable(entry.subject),
        body=storable(entry.body),
        link=storable(entry.link),
    )
    subject = " ".join(entry.subject.split())[:998]
    digest = content_hash(subject, entry.body)
    existing = _item_by_external_id(session, source, entry.external_id)
    if existing is not None:
        if existing.content_hash == digest:
            return "unchanged"
        _apply_change(session, existing, entry, subject, digest)
        return "updated"
    item = RelayItem(
        source=source,
        external_id=entry.external_id[:500],
        content_hash=digest,
        subject=subject,
        body_text=entry.body,
        link=safe_link(entry.link),
        starts_at=entry.starts_at,
        ends_at=entry.ends_at,
        received_at=entry.received_at or now,
    )
    twin = session.scalar(
        select(RelayItem).where(RelayItem.content_hash == digest).order_by(RelayItem.id).limit(1)
    )
    if twin is not None:
        item.state = ItemState.dismissed
        item.dismiss_reason = _(
            "Samma innehåll som post %(id)s från %(source)s.", id=twin.id, source=twin.source.name
        )
        return "duplicate" if _store(session, item) else "unchanged"
    if not _store(session, item):
        return "unchanged"
    try:
        with session.begin_nested():
            make_draft(session, item)
            _auto_publish(session, item, now)
    except Exception:  # noqa: BLE001 - the item is kept as new; a draft can be made on its page
        current_app.logger.exception("Relay could not make a draft of item %s", item.id)
        item.state = ItemState.new
        item.notice = None
    return "new"


def _apply_change(session: Session, item: RelayItem, entry: Entry, subject: str, digest: str) -> None:
    item.subject = subject
    item.body_text = entry.body
    item.link = safe_link(entry.link) or item.link
    item.starts_at = entry.starts_at
    item.ends_at = entry.ends_at
    item.content_hash = digest
    if item.state in (ItemState.dismissed, ItemState.merged):
        return
    if item.notice is not None and item.notice.is_draft:
        guess = guess_for(session, item)
        notices.update_draft(session, item.notice, _notice_data(item, guess, item.notice))
    elif item.notice is not None:
        item.change_pending = True
    session.flush()


# --- drafts ------------------------------------------------------------------------------


def guess_for(session: Session, item: RelayItem) -> Guess:
    """Understanding and mapping of ``item``, computed afresh (rules may have changed)."""
    understanding = understand(item.subject, item.body_text, received_at=item.received_at or utcnow())
    mapping = map_text(session, item.subject, item.body_text, understanding.services)
    kind = understanding.kind or NoticeKind.general
    starts = item.starts_at or understanding.starts_at
    ends = item.ends_at or understanding.ends_at
    notes = []
    if understanding.kind is None:
        notes.append(_("Typen kunde inte avgöras: utkastet är allmän information."))
    if starts and ends and ends <= starts:
        notes.append(_("Sluttiden ligger före starten och används inte."))
        ends = None
    return Guess(understanding, mapping, kind, starts, ends, notes)


def _source_line(item: RelayItem) -> str:
    when = local(item.received_at or utcnow()).strftime("%Y-%m-%d %H:%M")
    if item.link:
        return _("Källa: [%(name)s](%(link)s), %(when)s", name=item.source.name, link=item.link, when=when)
    return _("Källa: %(name)s, %(when)s", name=item.source.name, when=when)


def _body(item: RelayItem) -> str:
    return f"{item.body_text}\n\n{_source_line(item)}".strip()


def _notice_data(item: RelayItem, guess: Guess, notice: Notice | None = None) -> notices.NoticeData:
    """The draft's fields from the item; a coordinator's choice of groups is kept."""
    return notices.NoticeData(
        kind=guess.kind,
        title=item.subject or _("(utan ämne)"),
        body_markdown=_body(item),
        starts_at=guess.starts_at,
        ends_at=guess.ends_at,
        service_ids=[s.id for s in guess.mapping.services if s.retired_at is None],
        system_ids=[s.id for s in guess.mapping.systems if s.retired_at is None],
        group_ids=[g.id for g in notice.groups] if notice is not None else [],
        severity=notice.severity if notice is not None else None,
    )


def make_draft(session: Session, item: RelayItem, author: User | None = None) -> Notice:
    guess = guess_for(session, item)
    notice = notices.create_draft(session, _notice_data(item, guess), author)
    item.notice = notice
    item.state = ItemState.drafted
    session.flush()
    return notice


def mapping_differs(item: RelayItem, guess: Guess) -> bool:
    """Whether the draft's services and systems are not (any more) what the rules give."""
    notice = item.notice
    if notice is None or not notice.is_draft:
        return False
    return {s.id for s in notice.services} != {s.id for s in guess.mapping.services} or {
        s.id for s in notice.systems
    } != {s.id for s in guess.mapping.systems}


def apply_mapping(session: Session, item: RelayItem) -> None:
    """Give the draft the services and systems the rules give now (after a new rule);
    everything else the coordinator changed in the draft stays."""
    notice = item.notice
    if notice is None or not notice.is_draft:
        raise RelayError(_("Bara ett utkast kan få ny mappning."))
    guess = guess_for(session, item)
    notice.services = [s for s in guess.mapping.services if s.retired_at is None]
    notice.systems = [s for s in guess.mapping.systems if s.retired_at is None]
    session.flush()


def _auto_publish(session: Session, item: RelayItem, now: datetime) -> None:
    """Publish at once if the source asks it for this kind and nothing blocks it (the
    activity gate included); otherwise the draft waits in the queue."""
    notice = item.notice
    if notice is None or notice.kind.value not in item.source.auto_publish:
        return
    if notices.publish_blockers(session, notice):
        return
    notices.publish(session, notice, None, now=now)
    item.state = ItemState.published


# --- review ------------------------------------------------------------------------------


def queue(session: Session, state: ItemState | None = None, page: int = 1) -> tuple[list[RelayItem], bool]:
    """One page of items, newest first; without ``state`` the ones waiting for review."""
    query = select(RelayItem).outerjoin(Notice, Notice.id == RelayItem.notice_id)
    if state is None:
        query = query.where(
            or_(
                RelayItem.state == ItemState.new,
                (RelayItem.state == ItemState.drafted) & (Notice.status == NoticeStatus.draft),
                RelayItem.change_pending.is_(True),
            )
        )
    elif state is ItemState.published:
        query = query.where(
            or_(
                RelayItem.state == ItemState.published,
                (RelayItem.state == ItemState.drafted) & (Notice.status != NoticeStatus.draft),
            )
        )
    elif state is ItemState.drafted:
        query = query.where(RelayItem.state == ItemState.drafted, Notice.status == NoticeStatus.draft)
    else:
        query = query.where(RelayItem.state == state)
    rows = list(
        session.scalars(
            query.options(selectinload(RelayItem.source), selectinload(RelayItem.notice))
            .order_by(RelayItem.received_at.desc(), RelayItem.id.desc())
            .offset((max(page, 1) - 1) * ITEMS_PER_PAGE)
            .limit(ITEMS_PER_PAGE + 1)
        )
    )
    return rows[:ITEMS_PER_PAGE], len(rows) > ITEMS_PER_PAGE


def _require_reviewable(item: RelayItem) -> None:
    if item.current_state in (ItemState.dismissed, ItemState.merged):
        raise RelayError(_("Posten är redan hanterad."))


def publish_item(session: Session, item: RelayItem, actor: User | None) -> int:
    """Publish the item's draft as it stands (the notice's own checks and the gate apply)."""
    _require_reviewable(item)
    if item.notice is None:
        make_draft(session, item, actor)
    assert item.notice is not None
    if not item.notice.is_draft:
        raise RelayError(_("Meddelandet är redan publicerat."))
    try:
        count = notices.publish(session, item.notice, actor)
    except notices.NoticeError as error:
        raise RelayError(str(error), error.field) from error
    item.state = ItemState.published
    return count


def merge_candidates(session: Session, item: RelayItem, limit: int = 20) -> list[Notice]:
    """Published notices still open, those sharing the item's services first."""
    guess_ids = {s.id for s in (item.notice.services if item.notice else [])}
    rows = list(
        session.scalars(
            select(Notice)
            .where(Notice.status == NoticeStatus.published)
            .order_by(Notice.published_at.desc())
            .limit(200)
        )
    )
    rows.sort(
        key=lambda n: (
            not guess_ids & {s.id for s in n.services},
            n.kind is not (item.notice.kind if item.notice else None),
        )
    )
    return rows[:limit]


def _update_text(item: RelayItem) -> str:
    return f"**{item.subject}**\n\n{_body(item)}".strip() if item.subject else _body(item)


def merge_item(session: Session, item: RelayItem, target: Notice, actor: User | None) -> None:
    """The item becomes an update of ``target`` (mailed, threaded under the first mail);
    its own draft is removed."""
    _require_reviewable(item)
    if item.notice is not None and item.notice.id == target.id:
        raise RelayError(_("Välj ett annat meddelande än postens eget."), "notice")
    if target.status is not NoticeStatus.published:
        raise RelayError(
            _("Det går bara att lägga till uppdateringar i ett publicerat meddelande."), "notice"
        )
    if item.notice is not None and not item.notice.is_draft:
        raise RelayError(_("Postens meddelande är redan publicerat; skicka ändringen som uppdatering."))
    try:
        notices.post_update(session, target, actor, _update_text(item))
    except notices.NoticeError as error:
        raise RelayError(str(error), "notice") from error
    draft = item.notice
    item.notice = None
    item.merged_into = target
    item.state = ItemState.merged
    item.change_pending = False
    if draft is not None:
        notices.delete_draft(session, draft)
    session.flush()


def send_change(session: Session, item: RelayItem, actor: User | None) -> None:
    """Send what the source changed as an update of the item's published notice."""
    if not item.change_pending or item.notice is None:
        raise RelayError(_("Det finns ingen ändring att skicka."))
    try:
        notices.post_update(session, item.notice, actor, _update_text(item))
    except notices.NoticeError as error:
        raise RelayError(str(error)) from error
    item.change_pending = False
    session.flush()


def dismiss_item(session: Session, item: RelayItem, reason: str) -> None:
    reason = (reason or "").strip()
    if not reason:
        raise RelayError(_("Ange varför posten avfärdas."), "reason")
    if item.current_state is ItemState.published:
        raise RelayError(_("Meddelandet är redan publicerat; ställ in eller avsluta det i stället."))
    _require_reviewable(item)
    draft = item.notice
    item.notice = None
    item.state = ItemState.dismissed
    item.dismiss_reason = reason[:2000]
    item.change_pending = False
    if draft is not None and draft.is_draft:
        notices.delete_draft(session, draft)
    session.flush()


def paste_source(session: Session) -> RelaySource:
    source = session.scalar(
        select(RelaySource).where(RelaySource.kind == SourceKind.paste).order_by(RelaySource.id)
    )
    if source is None:
        source = RelaySource(name=PASTE_SOURCE_NAME, kind=SourceKind.paste, settings={})
        session.add(source)
        session.flush()
    return source


def paste(
    session: Session, text: str, actor: User | None, now: datetime | None = None
) -> tuple[str, RelayItem | None]:
    """A coordinator pasted a mail (raw RFC 822) or plain text: ingest it like any other."""
    now = now or utcnow()
    text = (text or "").replace("\x00", "")
    if not text.strip():
        raise RelayError(_("Klistra in ett e-postmeddelande eller en text."), "text")
    source = paste_source(session)
    if looks_like_mail(text):
        raw = text.replace("\r\n", "\n").encode("utf-8", "surrogateescape")
        fallback = "paste:" + hashlib.sha256(raw).hexdigest()
        outcome = ingest_mail(session, source, raw, fallback, now)
        mail = parse_mail(raw)
        external = mail.message_id or fallback
    else:
        lines = tidy(text).split("\n")
        subject, body = lines[0][:998], "\n".join(lines[1:]).strip()
        external = "paste:" + content_hash(subject, body)
        outcome = ingest(session, source, Entry(external, subject, body, "", now), now)
    item = _item_by_external_id(session, source, external)
    if item is not None and item.notice is not None and actor is not None and item.notice.created_by is None:
        item.notice.created_by = actor
    session.flush()
    return outcome, item
