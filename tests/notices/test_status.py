"""The public status page, each notice's public page and the Atom feed."""

from __future__ import annotations

from datetime import timedelta
from xml.etree import ElementTree as ET

from commsplan.notices import services
from commsplan.notices.models import NoticeKind, OutageState
from commsplan.timeutil import utcnow
from tests.notices.helpers import make_notice, small_plan

ATOM = "{http://www.w3.org/2005/Atom}"


def _published(session, kind=NoticeKind.outage, **overrides):  # type: ignore[no-untyped-def]
    notice = make_notice(session, kind, **overrides)
    services.add_recipient(session, notice, "a@example.org")
    services.publish(session, notice, None)
    return notice


def test_status_page_is_public_and_shows_current_state(client, session):
    plan = small_plan(session)
    outage = _published(session, title="Journalen nere", service_ids=[plan.journalen.id])
    start = utcnow() + timedelta(days=2)
    _published(
        session,
        NoticeKind.service_window,
        title="Uppgradering av Webbtidbok",
        starts_at=start,
        ends_at=start + timedelta(hours=1),
        service_ids=[plan.tidbok.id],
    )
    old = _published(session, title="Gammal störning")
    services.close(session, old, None, "Löst.")
    make_notice(session, title="Hemligt utkast")
    session.commit()

    page = client.get("/status")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Journalen nere" in html
    assert "Uppgradering av Webbtidbok" in html
    assert "Gammal störning" in html  # recent history
    assert "Hemligt utkast" not in html
    assert "Normal drift" not in html.split("Journalen</th>")[1].split("</tr>")[0]

    public = client.get(f"/status/{outage.uid}")
    assert public.status_code == 200
    assert "Tidslinje" in public.get_data(as_text=True)


def test_public_page_shows_timeline_but_never_drafts(client, session):
    outage = _published(session, title="Störning")
    services.post_update(session, outage, None, "Vi vet orsaken.", OutageState.identified)
    draft = make_notice(session, title="Utkast")
    session.commit()
    html = client.get(f"/status/{outage.uid}").get_data(as_text=True)
    assert "Vi vet orsaken." in html
    assert "Orsaken är identifierad" in html
    assert "a@example.org" not in html
    assert client.get(f"/status/{draft.uid}").status_code == 404


def test_atom_feed_includes_every_update_of_a_notice(client, session):
    outage = _published(session, title="Journalen nere", body_markdown="Vi felsöker.")
    session.commit()
    services.post_update(
        session, outage, None, "Orsaken är <script>x</script>**hittad**.", OutageState.identified
    )
    session.commit()
    services.close(session, outage, None, "Allt fungerar igen.")
    session.commit()
    feed = ET.fromstring(client.get("/status.atom").data)  # noqa: S314 - our own feed, in a test
    [entry] = feed.findall(f"{ATOM}entry")
    content = entry.find(f"{ATOM}content").text
    assert "Vi felsöker." in content
    assert "<strong>hittad</strong>" in content and "<script>" not in content
    assert "Orsaken är identifierad" in content and "Allt fungerar igen." in content
    # Newest first, like the status page's timeline.
    assert content.index("Allt fungerar igen.") < content.index("hittad")


def test_atom_feed_parses(client, session):
    outage = _published(session, title="Störning <i>med</i> & tecken", body_markdown="**Viktigt**")
    make_notice(session, title="Utkast syns inte")
    session.commit()
    response = client.get("/status.atom")
    assert response.status_code == 200
    assert response.mimetype == "application/atom+xml"
    feed = ET.fromstring(response.data)  # noqa: S314 - our own feed, in a test
    assert feed.tag == f"{ATOM}feed"
    assert feed.find(f"{ATOM}id").text
    assert feed.find(f"{ATOM}updated").text
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == 1
    entry = entries[0]
    assert entry.find(f"{ATOM}title").text == "Driftstörning: Störning <i>med</i> & tecken"
    assert entry.find(f"{ATOM}id").text.endswith(outage.uid)
    assert entry.find(f"{ATOM}link").get("href") == f"https://commsplan.example.org/status/{outage.uid}"
    assert "<strong>Viktigt</strong>" in entry.find(f"{ATOM}content").text
