"""The review queue, item page, paste form and source pages, as a coordinator uses them."""

from __future__ import annotations

import html
import re
import uuid

from sqlalchemy import event, func, select

from commsplan.auth.models import Role
from commsplan.extensions import db
from commsplan.kinds import NoticeKind
from commsplan.notices import services as notice_services
from commsplan.notices.models import Notice, NoticeStatus, UpdateKind
from commsplan.relay import services
from commsplan.relay.models import ItemState, RelayItem, RelaySource, SourceKind
from tests.notices.helpers import make_notice, small_plan
from tests.relay import mails


def _paste(client, text: str):  # type: ignore[no-untyped-def]
    return client.post("/relay/paste", data={"text": text}, follow_redirects=True)


def test_pasted_mail_becomes_a_draft_shown_with_its_evidence(client, auth, session):
    plan = small_plan(session)
    session.commit()
    auth.login()

    page = _paste(client, mails.outage().decode("ascii"))

    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Driftstörning i 1177 Journalen" in html
    assert "Vad relän läste ut" in html and "driftstörning" in html
    item = session.scalar(select(RelayItem))
    assert item.notice.kind is NoticeKind.outage
    # The draft carries what the mapping gives (services of the plan, so its audience).
    mapping = services.guess_for(session, item).mapping
    assert item.notice.services == mapping.services and item.notice.systems == mapping.systems
    assert all(s.id in {plan.journalen.id, plan.tidbok.id} for s in item.notice.services)
    assert "Planen ger" in html  # the audience the plan gives

    again = _paste(client, mails.outage().decode("ascii"))
    assert "Samma innehåll finns redan" in again.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(Notice)) == 1


def test_unmapped_item_is_flagged(client, auth, session):
    auth.login()
    _paste(client, "Information om nya e-tjänstekort\nGäller från januari.")

    item = session.scalar(select(RelayItem))
    html = client.get(f"/relay/items/{item.id}").get_data(as_text=True)
    assert "Ingen regel matchade" in html


def test_publish_from_the_item_page_sends_to_the_plan_audience(client, auth, session, outbox):
    small_plan(session)
    session.commit()
    auth.login()
    _paste(client, "Servicefönster Journalen\nPlanerat underhåll 2030-12-08 19:00 - 23:00.")
    item = session.scalar(select(RelayItem))

    response = client.post(f"/relay/items/{item.id}/publish", follow_redirects=True)

    assert "är publicerat och skickas till" in response.get_data(as_text=True)
    session.refresh(item)
    assert item.notice.status is NoticeStatus.published
    assert item.current_state is ItemState.published
    queue = client.get("/relay/").get_data(as_text=True)
    assert "Servicefönster Journalen" not in queue  # reviewed: out of the queue


def test_merge_makes_a_threaded_update_and_removes_the_draft(client, auth, session):
    plan = small_plan(session)
    published = make_notice(session, NoticeKind.outage, service_ids=[plan.journalen.id])
    notice_services.publish(session, published, None)
    session.commit()
    auth.login()
    _paste(client, "Driftstörning i Journalen åtgärdad\nFelet är åtgärdat sedan kl. 10.40.")
    item = session.scalar(select(RelayItem))
    draft_id = item.notice_id

    response = client.post(f"/relay/items/{item.id}/merge", data={"notice": published.id})

    assert response.status_code == 302
    session.expire_all()
    assert session.get(Notice, draft_id) is None
    update = published.updates[-1]
    assert update.kind is UpdateKind.update and "Felet är åtgärdat" in update.body_markdown
    assert update.sent
    assert session.get(RelayItem, item.id).state is ItemState.merged


def test_dismiss_needs_a_reason(client, auth, session):
    auth.login()
    _paste(client, "Nyhetsbrev december\nInget som rör regionen.")
    item = session.scalar(select(RelayItem))

    refused = client.post(f"/relay/items/{item.id}/dismiss", data={"reason": ""})
    assert refused.status_code == 400
    done = client.post(f"/relay/items/{item.id}/dismiss", data={"reason": "Rör inte regionen"})

    assert done.status_code == 302
    session.expire_all()
    item = session.get(RelayItem, item.id)
    assert item.state is ItemState.dismissed and item.dismiss_reason == "Rör inte regionen"
    assert session.scalar(select(func.count()).select_from(Notice)) == 0


def test_sources_are_registered_in_the_ui_with_their_health(client, auth, session):
    auth.login()
    response = client.post(
        "/relay/sources/new",
        data={"name": "Inera drift", "kind": "feed", "url": "https://inera.example/drift.atom"},
    )
    assert response.status_code == 302
    bad = client.post("/relay/sources/new", data={"name": "X", "kind": "feed", "url": "ftp://x"})
    assert bad.status_code == 400 and "http://" in bad.get_data(as_text=True)
    imap = client.post(
        "/relay/sources/new",
        data={
            "name": "Brevlådan",
            "kind": "imap",
            "host": "imap.region.example",
            "user": "fb",
            "password_env": "FB_PW",
        },
    )
    assert imap.status_code == 302

    listing = client.get("/relay/sources").get_data(as_text=True)
    assert "Inera drift" in listing and "Brevlådan" in listing and "Aldrig" in listing
    source = session.scalar(select(RelaySource).where(RelaySource.name == "Brevlådan"))
    assert source.settings["password_env"] == "FB_PW" and "password" not in source.settings
    detail = client.get(f"/relay/sources/{source.id}").get_data(as_text=True)
    assert "FB_PW" in detail


def test_viewer_reads_the_queue_but_cannot_paste(client, auth, session):
    auth.login(Role.viewer)
    assert client.get("/relay/").status_code == 200
    assert client.post("/relay/paste", data={"text": "x"}).status_code == 403


def test_hostile_input_is_refused_without_a_500(client, auth):
    auth.login()
    assert client.get("/relay/?state=nope").status_code == 400
    assert client.get("/relay/?page=99999999999999999999").status_code in (200, 400)
    assert client.post("/relay/paste", data={"text": "a\x00b"}).status_code == 400
    assert client.get("/relay/items/99999999999999999999").status_code == 404


def test_cli_adds_lists_polls_and_removes_sources(runner, session, feed_server):
    feed_server.serve("/drift.atom", "fel", status=500)
    added = runner.invoke(
        args=["commsplan", "relay", "add-source", "--name", "Inera", "--feed", feed_server.url("/drift.atom")]
    )
    assert added.exit_code == 0, added.output
    mailbox = runner.invoke(
        args=[
            "commsplan", "relay", "add-source", "--name", "Brevlådan", "--imap-host", "127.0.0.1",
            "--imap-port", "1", "--imap-user", "fb", "--imap-password-env", "RELAY_CLI_PW",
            "--imap-folder", "INBOX", "--no-tls",
        ]
    )  # fmt: skip
    assert mailbox.exit_code == 0, mailbox.output

    polled = runner.invoke(args=["commsplan", "relay", "poll"])
    assert polled.exit_code == 1
    assert "Inera: FEL: Servern svarade HTTP 500." in polled.output
    assert "Brevlådan: FEL:" in polled.output
    listing = runner.invoke(args=["commsplan", "relay", "list"])
    assert "Inera" in listing.output and "FEL" in listing.output

    removed = runner.invoke(args=["commsplan", "relay", "remove", "Inera"])
    assert removed.exit_code == 0
    assert [s.name for s in session.scalars(select(RelaySource))] == ["Brevlådan"]
    assert session.scalar(select(RelaySource)).kind is SourceKind.imap
    assert services.find_source(session, "inera") is None


def test_rule_is_made_from_an_unmapped_item_in_one_step(client, auth, session):
    plan = small_plan(session)
    session.commit()
    auth.login()
    _paste(client, "Driftstörning i Journalen\nInvånare kan inte logga in i e-journalen.")
    item = session.scalar(select(RelayItem))
    page = client.get(f"/relay/items/{item.id}").get_data(as_text=True)
    assert "Ingen regel matchade" in page
    link = re.search(r'href="(/relay/rules/new\?[^"]+)"', page)
    assert link is not None
    href = html.unescape(link.group(1))
    assert f"next=%2Frelay%2Fitems%2F{item.id}" in href

    form = client.get(href)
    assert form.status_code == 200
    saved = client.post(
        href,
        data={"pattern": "e-journalen", "service_id": plan.journalen.id, "system_id": "",
              "note": "", "next": f"/relay/items/{item.id}"},
    )  # fmt: skip

    assert saved.status_code == 302 and saved.headers["Location"].endswith(f"/relay/items/{item.id}")
    after = client.get(f"/relay/items/{item.id}").get_data(as_text=True)
    assert "Ingen regel matchade" not in after
    assert f"/edit?next=/relay/items/{item.id}" in after  # change the rule and come back
    assert services.guess_for(session, item).mapping.services == [plan.journalen]
    # The draft was made before the rule: one more click gives it the rule's e-service.
    assert "Använd reglernas e-tjänster" in after
    applied = client.post(f"/relay/items/{item.id}/apply-mapping", follow_redirects=True)
    assert "Använd reglernas e-tjänster" not in applied.get_data(as_text=True)
    session.expire_all()
    assert session.get(RelayItem, item.id).notice.services == [plan.journalen]


def _statements_for(client, url: str) -> int:  # type: ignore[no-untyped-def]
    statements: list[str] = []

    def count(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        assert client.get(url).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return len(statements)


def test_queue_is_paginated_with_a_fixed_number_of_queries(client, auth, session):
    auth.login(Role.viewer)
    source = services.paste_source(session)

    def add(n: int) -> None:
        for _ in range(n):
            item = RelayItem(source=source, external_id=uuid.uuid4().hex, content_hash=uuid.uuid4().hex,
                             subject="Driftstörning", body_text="x")  # fmt: skip
            session.add(item)
            services.make_draft(session, item)
        session.commit()

    add(3)
    few = _statements_for(client, "/relay/")
    add(services.ITEMS_PER_PAGE + 5)
    many = _statements_for(client, "/relay/")

    assert many == few
    page = client.get("/relay/").get_data(as_text=True)
    assert page.count('href="/relay/items/') == services.ITEMS_PER_PAGE
    assert "?page=2" in page
