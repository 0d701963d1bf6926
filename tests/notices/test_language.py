"""Notice mail follows each contact's language: English contacts get English mail."""

from __future__ import annotations

from datetime import timedelta

import vobject
from sqlalchemy import select

from commsplan.delivery.models import OutgoingMessage
from commsplan.notices import services
from commsplan.notices.models import NoticeKind, OutageState
from commsplan.timeutil import utcnow
from tests import factories
from tests.mail_links import assert_links_work_anonymously
from tests.notices.helpers import at, make_notice, small_plan


def _deliver(runner) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(args=["commsplan", "deliver"])
    assert result.exit_code == 0, result.output


def _english_ops(session):  # type: ignore[no-untyped-def]
    plan = small_plan(session)
    plan.ops.language = "en"
    session.flush()
    return plan


def test_english_contact_gets_english_mail_and_swedish_stays_default(client, session, runner, outbox):
    plan = _english_ops(session)
    notice = make_notice(
        session,
        service_ids=[plan.journalen.id],
        title="Journalen går inte att nå",
        body_markdown="Vi felsöker.",
        title_en="The Journal cannot be reached",
        body_markdown_en="We are **investigating**.",
        starts_at=at("2026-03-02 10:15"),
    )
    services.publish(session, notice, None)
    session.commit()
    services.post_update(session, notice, None, "Orsaken är hittad.", OutageState.identified)
    session.commit()

    # Rendered once per language, not once per recipient.
    messages = session.scalars(select(OutgoingMessage).where(OutgoingMessage.source_id == notice.id)).all()
    assert len(messages) == 4

    _deliver(runner)

    english = sorted(outbox.to("drift@example.org"), key=lambda m: m["Subject"])
    assert [m["Subject"] for m in english] == [
        "Outage: The Journal cannot be reached",
        "[Update] Outage: The Journal cannot be reached",
    ]
    first = english[0]
    html = first.get_body(("html",)).get_content()
    text = first.get_body(("plain",)).get_content()
    assert '<html lang="en">' in html
    assert "<strong>investigating</strong>" in html
    assert "We are **investigating**." in text
    assert "Started: Monday 2 March 2026 at 10:15" in text
    assert "Affected e-services: Journalen" in text
    assert "Choose what you get and how often:" in text and "Välj vad" not in text
    assert "Vi felsöker" not in text
    # The coordinator's update is sent as written; the fixed texts around it are English.
    update_text = english[1].get_body(("plain",)).get_content()
    assert "Orsaken är hittad." in update_text and "Identified" in update_text

    swedish = outbox.to("strateg@example.org")
    assert sorted(m["Subject"] for m in swedish) == [
        "Driftstörning: Journalen går inte att nå",
        "[Uppdatering] Driftstörning: Journalen går inte att nå",
    ]
    swedish_first = next(m for m in swedish if m["Subject"].startswith("Drift"))
    assert '<html lang="sv">' in swedish_first.get_body(("html",)).get_content()
    swedish_text = swedish_first.get_body(("plain",)).get_content()
    assert "Började: måndag 2 mars 2026 kl. 10:15" in swedish_text
    assert "Vi felsöker." in swedish_text and "investigating" not in swedish_text

    # The notice page the English mail links to shows the English wording.
    link = f"/status/{notice.uid}?lang=en"
    assert link in html
    page = client.get(link).get_data(as_text=True)
    assert '<html lang="en">' in page and "<h1>The Journal cannot be reached</h1>" in page
    assert "<strong>investigating</strong>" in page
    swedish_page = client.get(f"/status/{notice.uid}").get_data(as_text=True)
    assert "<h1>Journalen går inte att nå</h1>" in swedish_page and "Vi felsöker." in swedish_page


def test_without_english_wording_the_text_is_sent_as_written(session, runner, outbox):
    plan = _english_ops(session)
    notice = make_notice(session, NoticeKind.release, service_ids=[plan.journalen.id], title="Ny version")
    services.publish(session, notice, None)
    session.commit()
    _deliver(runner)
    mail = outbox.to("drift@example.org")[0]
    assert mail["Subject"] == "Release: Ny version"
    text = mail.get_body(("plain",)).get_content()
    assert "Vi felsöker." in text and "Read more and follow the event" in text


def test_service_window_schedule_mail_is_in_the_contacts_language(session, runner, outbox):
    contact = factories.make_contact(session, email="en@example.org", language="en")
    start = utcnow().replace(microsecond=0) + timedelta(hours=1)
    notice = make_notice(
        session, NoticeKind.service_window, starts_at=start, ends_at=start + timedelta(hours=2)
    )
    services.add_recipient(session, notice, contact.email)
    services.publish(session, notice, None)
    session.commit()
    services.run_schedule(session, now=start + timedelta(minutes=1))
    _deliver(runner)
    subjects = sorted(m["Subject"] for m in outbox.to("en@example.org"))
    assert subjects == [
        "Planned service window: Uppgradering av Journalen",
        "[In progress] Planned service window: Uppgradering av Journalen",
    ]


def test_notice_form_and_api_take_the_english_wording(client, auth, session):
    auth.login()
    response = client.post(
        "/notices/new",
        data={
            "kind": "general",
            "title": "Nytt i 1177",
            "title_en": "News in 1177",
            "body_markdown_en": "In English.",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    notice = session.scalars(select(services.Notice)).one()
    assert (notice.title_en, notice.body_markdown_en) == ("News in 1177", "In English.")
    page = client.get(f"/notices/{notice.id}").get_data(as_text=True)
    assert '<div lang="en">' in page and "News in 1177" in page
    edit = client.get(f"/notices/{notice.id}/edit").get_data(as_text=True)
    assert 'value="News in 1177"' in edit


def test_every_link_in_notice_mail_works_without_an_account(app, session, runner, outbox):
    contact = factories.make_contact(session, email="en@example.org", language="en")
    start = utcnow().replace(microsecond=0) + timedelta(hours=1)
    window = make_notice(
        session, NoticeKind.service_window, starts_at=start, ends_at=start + timedelta(hours=2)
    )
    outage = make_notice(session)
    for notice in (window, outage):
        services.add_recipient(session, notice, contact.email)
        services.add_recipient(session, notice, "sv@example.org")
        services.publish(session, notice, None)
    session.commit()
    services.post_update(session, outage, None, "Orsaken är hittad.")
    session.commit()
    services.run_schedule(session, now=start + timedelta(minutes=1))
    services.reschedule(
        session, window, None, start, window.ends_at + timedelta(hours=1), now=start + timedelta(minutes=2)
    )
    services.close(session, outage, None, "Löst.")
    session.commit()
    _deliver(runner)
    # published ×2, update, started, extended, closed – each to two people
    assert len(outbox.messages) == 12
    for mail in outbox.messages:
        assert assert_links_work_anonymously(app, mail) >= 3  # the notice, the status page, unsubscribe
    # The English reader's links open the pages in English (checked by the helper).
    english = outbox.to("en@example.org")
    assert len(english) == 6 and all(
        '<html lang="en">' in m.get_body(("html",)).get_content() for m in english
    )


def test_english_readers_get_the_window_calendar_file_in_english(session, runner, outbox):
    contact = factories.make_contact(session, email="en@example.org", language="en")
    notice = make_notice(session, NoticeKind.service_window, title_en="Upgrade of the Journal")
    services.add_recipient(session, notice, contact.email)
    services.publish(session, notice, None)
    session.commit()
    _deliver(runner)
    [mail] = outbox.to("en@example.org")
    text = mail.get_body(("plain",)).get_content()
    assert "Starts: " in text and "Ends: " in text  # not the start page's "Home"
    [attachment] = [p for p in mail.iter_attachments() if p.get_filename() == "servicefonster.ics"]
    event = vobject.readOne(attachment.get_content()).vevent
    assert event.summary.value == "Service window: Upgrade of the Journal"
    assert "More information:" in event.description.value
