"""What people do with commsplan, in a real browser with clicks and typing: a coordinator
publishes an outage and the public sees it on /status; someone signs up for a meeting;
a subscriber opens the preferences page from a received mail and uses the one-click
unsubscribe. Mail comes through the loopback SMTP server and is delivered by the real
outbox worker (``drain``) between the steps, as the worker process would."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.message import EmailMessage

from sqlalchemy import select

from commsplan.auth.models import Role
from commsplan.delivery.services import drain
from commsplan.extensions import db
from commsplan.meetings.models import MeetingSeries, Occurrence
from commsplan.notices import services as notice_services
from commsplan.notices.models import Notice, NoticeKind, NoticeStatus
from commsplan.plan.models import Contact, Service
from commsplan.subscriptions.models import Subscription
from tests.browser.conftest import log_in, make_account
from tests.notices.helpers import make_notice


def first_link(mail: EmailMessage, base: str, path: str) -> str:
    """The first link to ``path`` in the HTML part, as the mail reader would click it."""
    html = mail.get_body(("html",)).get_content()
    match = re.search(r'href="(' + re.escape(base + path) + r'[^"]*)"', html)
    assert match, html
    return match.group(1).replace("&amp;", "&")


def test_coordinator_publishes_an_outage_and_the_public_sees_it_on_status(app, live_url, page, outbox):
    log_in(page, live_url, make_account(Role.coordinator, "samordnare@example.org"))
    page.goto(f"{live_url}/notices/")
    page.locator("main").get_by_role("link", name="Ny driftstörning").first.click()
    page.get_by_role("combobox", name="Typ", exact=True).select_option(label="Driftstörning")
    page.get_by_role("textbox", name="Rubrik", exact=True).fill("Journalen går inte att öppna")
    page.get_by_role("textbox", name="Text", exact=True).fill("Vi felsöker. **Inloggningen** fungerar.")
    page.get_by_role("group", name="Berörda e-tjänster").get_by_label("Journalen").check()
    page.get_by_label("Start (servicefönster, driftstörning)").fill("2026-12-01T08:30")
    page.get_by_label("Allvarlighetsgrad (driftstörning)").select_option(label="Hög")
    page.get_by_role("button", name="Spara utkast").click()
    page.get_by_role("link", name="Mottagare och publicering").click()
    page.get_by_role("link", name="Granska och publicera").click()
    page.get_by_role("button", name=re.compile("Ja, publicera")).click()
    page.wait_for_load_state()

    notice = db.session.scalars(select(Notice).where(Notice.title == "Journalen går inte att öppna")).one()
    assert notice.status == NoticeStatus.published
    drain(app)
    assert any(notice.title in str(mail["Subject"]) for mail in outbox.messages)

    visitor = page.context.browser.new_page()  # no cookies: the public
    visitor.goto(f"{live_url}/status")
    visitor.get_by_role("link", name="Journalen går inte att öppna", exact=True).click()
    assert visitor.get_by_role("heading", level=1).inner_text() == "Journalen går inte att öppna"
    assert visitor.locator("main strong", has_text="Inloggningen").count() == 1
    visitor.close()


def test_a_visitor_signs_up_for_a_meeting_and_gets_a_mail(app, live_url, page, outbox):
    occurrence = db.session.scalars(
        select(Occurrence)
        .join(MeetingSeries)
        .where(MeetingSeries.registration_open.is_(True), Occurrence.start > datetime.now(UTC))
        .order_by(Occurrence.start)
    ).first()
    assert occurrence is not None, "the demo has a series that takes sign-ups"
    page.goto(f"{live_url}/meetings/public/{occurrence.id}")
    page.get_by_role("link", name="Anmäl dig till mötet").click()
    page.get_by_label("Namn").fill("Maja Andersson")
    page.get_by_label("E-postadress").fill("maja@example.org")
    page.get_by_label("Organisation").fill("Vårdcentralen Gränby")
    page.locator("main").get_by_role("button").click()
    page.wait_for_load_state()
    assert page.get_by_role("status").count() == 1
    drain(app)
    assert len(outbox.to("maja@example.org")) == 1


def test_a_subscriber_opens_preferences_from_a_mail_and_unsubscribes_in_one_click(
    app, live_url, page, outbox, session
):
    page.goto(f"{live_url}/subscribe")
    page.get_by_role("textbox", name="E-postadress", exact=True).fill("lisa@example.org")
    page.get_by_role("textbox", name="Namn", exact=True).fill("Lisa Berg")
    page.get_by_role("group", name="E-tjänster").get_by_label("Journalen", exact=True).check()
    page.get_by_role("group", name="Typer av meddelanden").get_by_label("Driftstörning").check()
    page.get_by_role("group", name="Hur ofta vill du få mejl?").get_by_label(re.compile("^Direkt")).check()
    page.get_by_role("button", name="Prenumerera").click()
    page.wait_for_load_state()
    drain(app)
    (confirmation,) = outbox.to("lisa@example.org")
    page.goto(first_link(confirmation, live_url, "/subscribe/confirm/"))
    page.get_by_role("button", name="Bekräfta och visa mina val").click()
    page.wait_for_load_state()
    outbox.clear()

    journalen = session.scalars(select(Service.id).where(Service.name == "Journalen")).one()
    notice = make_notice(session, NoticeKind.outage, title="Journalen ligger nere", service_ids=[journalen])
    notice_services.publish(session, notice, None)
    session.commit()
    drain(app)
    (mail,) = outbox.to("lisa@example.org")
    assert "Journalen ligger nere" in str(mail["Subject"])

    page.goto(first_link(mail, live_url, "/preferences/"))
    assert page.get_by_role("heading", level=1).count() == 1
    assert page.get_by_role("group", name="E-tjänster").get_by_label("Journalen", exact=True).is_checked()

    one_click = str(mail["List-Unsubscribe"]).strip("<>")
    assert one_click.startswith(f"{live_url}/one-click/")
    page.goto(one_click)
    page.get_by_role("button", name="Ja, avsluta prenumerationen").click()
    assert page.get_by_role("status").inner_text().startswith("Klart")
    session.expire_all()
    contact = session.scalars(select(Contact).where(Contact.email == "lisa@example.org")).one()
    assert session.scalars(select(Subscription).where(Subscription.contact_id == contact.id)).all() == []
