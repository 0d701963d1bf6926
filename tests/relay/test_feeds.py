"""Feeds from a real local HTTP server that changes between polls: new, updated and
removed entries, malformed XML, HTTP 500, a slow answer, 304 on a conditional GET."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from commsplan.kinds import NoticeKind
from commsplan.notices.models import Notice, NoticeStatus
from commsplan.relay import services
from commsplan.relay.models import ItemState, RelayItem, SourceKind
from commsplan.timeutil import utcnow


def atom(*entries: tuple[str, str, str]) -> str:
    body = "".join(
        f"<entry><id>{guid}</id><title>{title}</title><updated>2026-12-01T08:00:00Z</updated>"
        f'<link href="https://status.inera.example/{guid}"/><content type="html">{text}</content></entry>'
        for guid, title, text in entries
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        "<id>urn:inera:drift</id><title>Driftinformation</title>"
        f"<updated>2026-12-01T08:00:00Z</updated>{body}</feed>"
    )


OUTAGE = ("urn:drift:1", "Driftstörning i 1177 Journalen", "Invånare kan inte logga in. Vi felsöker.")
WINDOW = (
    "urn:drift:2",
    "Planerat underhåll av Webbtidbok",
    "Webbtidbok har planerat underhåll 2026-12-08 19:00 - 23:00.",
)


def _feed_source(session, url: str, name: str = "Inera drift", **settings):  # type: ignore[no-untyped-def]
    source = services.add_source(session, name, SourceKind.feed, services.feed_settings(url), **settings)
    session.commit()
    return source


def _notices(session) -> list[Notice]:  # type: ignore[no-untyped-def]
    return list(session.scalars(select(Notice).order_by(Notice.id)))


def test_new_updated_and_removed_entries_across_polls(session, feed_server):
    feed_server.serve("/drift.atom", atom(OUTAGE))
    source = _feed_source(session, feed_server.url("/drift.atom"))

    first = services.poll_source(session, source)
    assert (first.new, first.error) == (1, "")
    (draft,) = _notices(session)
    assert draft.kind is NoticeKind.outage and draft.is_draft
    assert "Invånare kan inte logga in" in draft.body_markdown
    assert "https://status.inera.example/urn:drift:1" in draft.body_markdown  # link to the source

    # A new entry, and the first one rewritten by the operator.
    changed = (OUTAGE[0], OUTAGE[1], "Felet är hittat. Åtgärd pågår.")
    feed_server.serve("/drift.atom", atom(changed, WINDOW))
    second = services.poll_source(session, source)
    assert (second.new, second.updated) == (1, 1)
    notices = _notices(session)
    assert len(notices) == 2
    assert "Felet är hittat" in notices[0].body_markdown  # the draft follows the change
    assert notices[1].kind is NoticeKind.service_window

    # The operator removes an entry: what was read stays.
    feed_server.serve("/drift.atom", atom(WINDOW))
    third = services.poll_source(session, source)
    assert (third.new, third.updated, third.error) == (0, 0, "")
    assert len(_notices(session)) == 2
    assert session.scalar(select(func.count()).select_from(RelayItem)) == 2


def test_change_after_publishing_is_proposed_as_update(session, feed_server):
    feed_server.serve("/drift.atom", atom(WINDOW))
    source = _feed_source(session, feed_server.url("/drift.atom"))
    services.poll_source(session, source)
    item = session.scalar(select(RelayItem))
    services.publish_item(session, item, None)
    session.commit()

    feed_server.serve("/drift.atom", atom((WINDOW[0], WINDOW[1], WINDOW[2] + " Förlängt till 23.30.")))
    assert services.poll_source(session, source).updated == 1

    assert item.change_pending
    assert item.notice.status is NoticeStatus.published
    assert "Förlängt" not in item.notice.body_markdown  # a published notice is not rewritten
    services.send_change(session, item, None)
    session.commit()
    assert "Förlängt till 23.30" in item.notice.updates[-1].body_markdown
    assert not item.change_pending


def test_conditional_get_sends_validators_and_accepts_304(session, feed_server):
    feed_server.serve("/drift.atom", atom(OUTAGE), etag='"v1"', last_modified="Tue, 01 Dec 2026 08:00:00 GMT")
    source = _feed_source(session, feed_server.url("/drift.atom"))
    services.poll_source(session, source)

    result = services.poll_source(session, source)

    path, headers = feed_server.requests[-1]
    assert headers.get("If-None-Match") == '"v1"'
    assert headers.get("If-Modified-Since") == "Tue, 01 Dec 2026 08:00:00 GMT"
    assert (result.new, result.error) == (0, "")
    assert source.failures == 0 and source.last_success_at is not None


def test_malformed_xml_is_a_source_error_and_nothing_is_stored(session, feed_server):
    feed_server.serve("/drift.atom", atom(OUTAGE)[:-20] + "<entry><title>trasig")
    source = _feed_source(session, feed_server.url("/drift.atom"))

    result = services.poll_source(session, source)

    assert "inte giltig XML" in result.error
    assert source.last_error == result.error and source.failures == 1
    assert _notices(session) == []


def test_server_error_backs_off_exponentially_and_recovers(session, feed_server):
    route = feed_server.serve("/drift.atom", "fel", status=500, content_type="text/plain")
    source = _feed_source(session, feed_server.url("/drift.atom"))
    start = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)

    services.poll_source(session, source, now=start)
    first_wait = source.next_poll_at - start
    services.poll_source(session, source, now=start + first_wait)
    second_wait = source.next_poll_at - (start + first_wait)

    assert "HTTP 500" in source.last_error
    assert second_wait == 2 * first_wait and first_wait > timedelta(minutes=15)
    route.status, route.body, route.content_type = 200, atom(OUTAGE).encode(), "application/atom+xml"
    services.poll_source(session, source, now=start + timedelta(hours=1))
    assert source.failures == 0 and services.source_healthy(source)
    assert source.next_poll_at == start + timedelta(hours=1, minutes=15)


def test_slow_answer_times_out_as_source_error(app, session, feed_server):
    app.config["RELAY_FEED_TIMEOUT"] = 0.5
    feed_server.serve("/slow.atom", atom(OUTAGE), delay=2)
    source = _feed_source(session, feed_server.url("/slow.atom"))

    result = services.poll_source(session, source)

    assert "Inget svar inom 0.5 sekunder" in result.error
    assert _notices(session) == []


def test_one_failing_feed_does_not_stop_the_others(session, feed_server):
    feed_server.serve("/ok.atom", atom(OUTAGE))
    feed_server.serve("/broken.atom", "fel", status=500)
    _feed_source(session, feed_server.url("/broken.atom"), name="Trasig")
    _feed_source(session, feed_server.url("/ok.atom"), name="Fungerar")

    results = services.poll_due(session)

    assert results["Trasig"].error and results["Fungerar"].new == 1
    # Not due again until their interval (or back-off) has passed.
    assert services.poll_due(session) == {}


def test_rss_json_feed_and_icalendar_are_read(session, feed_server):
    feed_server.serve(
        "/rss.xml",
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Inera</title>'
        "<item><guid>rss-1</guid><title>Release av Stöd och behandling</title>"
        "<description>Ny version 5.2 driftsätts.</description></item></channel></rss>",
        content_type="application/rss+xml",
    )
    feed_server.serve(
        "/feed.json",
        '{"version": "https://jsonfeed.org/version/1.1", "title": "Inera", "items": ['
        '{"id": "json-1", "title": "Driftstörning i Intygstjänster", '
        '"content_text": "Intygstjänster går inte att nå.", "url": "https://inera.example/1"}]}',
        content_type="application/feed+json",
    )
    feed_server.serve(
        "/windows.ics",
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Inera//Servicefönster//SV\r\nBEGIN:VEVENT\r\n"
        "UID:sf-1@inera.example\r\nDTSTAMP:20261201T080000Z\r\nDTSTART:20261208T180000Z\r\n"
        "DTEND:20261208T220000Z\r\nSUMMARY:Servicefönster Webbtidbok\r\n"
        "DESCRIPTION:Planerat underhåll.\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        content_type="text/calendar",
    )
    for path in ("/rss.xml", "/feed.json", "/windows.ics"):
        source = _feed_source(session, feed_server.url(path), name=path)
        assert services.poll_source(session, source).new == 1, path

    titles = {n.title: n for n in _notices(session)}
    assert set(titles) == {
        "Release av Stöd och behandling",
        "Driftstörning i Intygstjänster",
        "Servicefönster Webbtidbok",
    }
    window = titles["Servicefönster Webbtidbok"]
    # The calendar's own times, not a guess from the text.
    assert window.starts_at == datetime(2026, 12, 8, 18, 0, tzinfo=UTC)
    assert window.ends_at == datetime(2026, 12, 8, 22, 0, tzinfo=UTC)


def test_same_content_from_two_feeds_makes_one_draft(session, feed_server):
    feed_server.serve("/a.atom", atom(OUTAGE))
    feed_server.serve("/b.atom", atom(("other-guid", OUTAGE[1], OUTAGE[2])))
    for name in ("a", "b"):
        services.poll_source(session, _feed_source(session, feed_server.url(f"/{name}.atom"), name=name))

    assert len(_notices(session)) == 1
    duplicate = session.scalar(select(RelayItem).where(RelayItem.external_id == "other-guid"))
    assert duplicate.state is ItemState.dismissed and "Samma innehåll" in duplicate.dismiss_reason


@pytest.mark.parametrize("kind", [NoticeKind.service_window])
def test_auto_publish_for_a_kind_publishes_without_review(session, feed_server, kind):
    feed_server.serve("/drift.atom", atom(WINDOW, OUTAGE))
    _feed_source(session, feed_server.url("/drift.atom"), auto_publish=[kind])

    services.poll_due(session, now=utcnow())

    by_kind = {n.kind: n for n in _notices(session)}
    assert by_kind[NoticeKind.service_window].status is NoticeStatus.published
    assert by_kind[NoticeKind.outage].is_draft  # only the kinds the source names


@pytest.mark.activity_gate
def test_auto_publish_waits_for_the_activity_gate(session, feed_server):
    feed_server.serve("/drift.atom", atom(WINDOW))
    _feed_source(session, feed_server.url("/drift.atom"), auto_publish=[NoticeKind.service_window])

    services.poll_due(session, now=utcnow())

    (notice,) = _notices(session)
    assert notice.is_draft  # no prepared activity: the gate keeps it for review
    assert session.scalar(select(RelayItem)).current_state is ItemState.drafted


def test_only_web_links_are_kept_from_a_feed(session, feed_server):
    feed_server.serve(
        "/drift.atom",
        atom(OUTAGE).replace("https://status.inera.example/urn:drift:1", "javascript:alert(1)"),
    )
    services.poll_source(session, _feed_source(session, feed_server.url("/drift.atom")))

    item = session.scalar(select(RelayItem))
    assert item.link == ""
    assert "javascript" not in item.notice.body_markdown
