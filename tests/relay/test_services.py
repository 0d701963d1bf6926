"""Relay services on their own: delivery reports, drafting failures, paste."""

from __future__ import annotations

from sqlalchemy import func, select

from commsplan.delivery.models import AddressBounce
from commsplan.notices.models import Notice
from commsplan.relay import services
from commsplan.relay.models import ItemState, RelayItem, SourceKind
from commsplan.timeutil import utcnow
from tests.relay import mails


def test_report_about_mail_we_did_not_send_flags_nothing(session):
    source = services.paste_source(session)

    outcome = services.ingest_mail(
        session, source, mails.delivery_report("x@region.example", "<not-ours@elsewhere.example>"), "f"
    )

    assert outcome == "bounce:0"
    assert session.scalar(select(func.count()).select_from(AddressBounce)) == 0
    item = session.scalar(select(RelayItem))
    assert item.state is ItemState.dismissed and "inte skickades av commsplan" in item.dismiss_reason
    assert session.scalar(select(func.count()).select_from(Notice)) == 0


def test_a_draft_that_cannot_be_made_leaves_the_item_new(session, monkeypatch):
    source = services.paste_source(session)

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("understanding failed")

    monkeypatch.setattr(services, "make_draft", broken)
    outcome = services.ingest_mail(session, source, mails.outage(), "f")
    session.commit()

    item = session.scalar(select(RelayItem))
    assert outcome == "new" and item.state is ItemState.new and item.notice is None
    assert session.scalar(select(func.count()).select_from(Notice)) == 0


def test_unreadable_mail_is_kept_as_text(session):
    source = services.paste_source(session)

    services.ingest_mail(session, source, b"\xff\xfe not a mail at all \x00", "uid:1:1")

    item = session.scalar(select(RelayItem))
    assert item.external_id == "uid:1:1" and "not a mail" in item.body_text


def test_undecodable_bytes_and_nul_never_reach_the_database(session):
    source = services.paste_source(session)
    raw = b"Subject: Driftst\xf6rning\r\nMessage-ID: <x@y>\r\n\r\nText med \xff\xfe och NUL \x00 h\xe4r\r\n"

    services.ingest_mail(session, source, raw, "f")
    session.commit()

    item = session.scalar(select(RelayItem))
    assert "\x00" not in item.body_text and "Text med" in item.body_text
    item.body_text.encode("utf-8")  # no lone surrogates
    item.subject.encode("utf-8")


def test_a_due_source_is_claimed_by_one_worker_only(session):
    source = services.add_source(
        session, "Flöde", SourceKind.feed, services.feed_settings("https://inera.example/a.atom")
    )
    session.commit()
    now = utcnow()

    assert services._claim(session, source.id, now) is True
    assert services._claim(session, source.id, now) is False  # the second worker skips it
    session.refresh(source)
    assert source.next_poll_at > now
