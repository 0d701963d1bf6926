"""axe-core on the HTML part of every kind of mail the app sends, as it arrived at the
loopback SMTP server: notices, sign-up confirmation and "already on our list", meeting
registration confirmation and update, calendar invitations (one meeting and a whole
series) and the daily digest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from commsplan.delivery.models import OutgoingMessage
from commsplan.delivery.services import drain
from commsplan.feeds import invitations
from commsplan.meetings import notify
from commsplan.meetings.models import MeetingSeries, Occurrence
from commsplan.notices.models import NoticeKind
from commsplan.plan.models import Contact
from commsplan.subscriptions import services as subscription_services
from tests import factories
from tests.browser.axe import violations


def test_every_kind_of_mail_has_no_wcag_violation(app, live_url, audited_page, outbox, session, runner):
    app.config["WTF_CSRF_ENABLED"] = False  # the posts below come from the test client
    client = app.test_client()
    drain(app)  # the notices demo_loaded published
    sign_up = {"email": "ny@example.org", "name": "Ny", "language": "sv", "kinds": ["outage"]}
    sign_up["frequency"] = "immediate"
    for _ in range(2):  # a confirmation, then "you are already on our list" once confirmed
        assert client.post("/subscribe", data=sign_up).status_code in (200, 302)
        drain(app)
        pending = [m for m in outbox.to("ny@example.org")]
        if len(pending) == 1:
            link = pending[0].get_body(("plain",)).get_content().split(f"{live_url}/subscribe/confirm/")[1]
            client.post(f"/subscribe/confirm/{link.split()[0]}")
    occurrence = session.scalars(
        select(Occurrence)
        .join(MeetingSeries)
        .where(MeetingSeries.registration_open.is_(True), Occurrence.start > datetime.now(UTC))
    ).first()
    registration = {"name": "Maja", "email": "maja@example.org", "language": "sv"}
    assert client.post(f"/meetings/register/{occurrence.id}", data=registration).status_code == 200
    contact = session.scalars(select(Contact).order_by(Contact.id)).first()
    subscription_services.set_subscriptions(
        session,
        contact,
        subscription_services.Choices((), tuple(NoticeKind), subscription_services.Frequency.daily),
    )
    session.commit()
    runner.invoke(args=["commsplan", "digests", "--period", "daily"])
    # Calendar invitations, for a series with dates (one mail per meeting) and one with
    # a rule (one mail for the whole series), and the "new time" mail to registrants.
    for series in session.scalars(select(MeetingSeries)):
        series.contacts.append(contact)
        invitations.send_invitations(session, series)
    registrant = factories.make_registration(session, occurrence, "Kim", "kim@example.org")
    previous = (occurrence.start, occurrence.end)
    occurrence.start, occurrence.end = (
        occurrence.start + timedelta(hours=1),
        occurrence.end + timedelta(hours=1),
    )
    notify.queue_registrant_update(
        session,
        occurrence,
        meeting_url=f"{live_url}/meetings/{occurrence.id}",
        cancel_urls={},
        previous=previous,
    )
    session.commit()
    drain(app)

    kind_of = dict(session.execute(select(OutgoingMessage.subject, OutgoingMessage.kind)).tuples().all())
    found, kinds = {}, set()
    for mail in outbox.messages:
        html = mail.get_body(("html",))
        if html is None:
            continue
        kind = kind_of.get(str(mail["Subject"]), str(mail["Subject"]))
        if kind in kinds:
            continue
        kinds.add(kind)
        audited_page.set_content(html.get_content())
        if problems := violations(audited_page):
            found[str(mail["Subject"])] = problems
    assert found == {}, found
    expected = {"registration_update", "invitation", "series_invitation"}
    assert expected <= kinds and len(kinds) >= 7, kinds
    assert outbox.to(registrant.email), "the registrant got the new time"


def test_axe_reports_a_violation_when_there_is_one(audited_page):
    """The zero-violation tests above mean something only if axe runs and reports."""
    audited_page.set_content('<html lang="sv"><body><img src="x.png"><a href="/"></a></body></html>')
    assert any(line.startswith("image-alt") for line in violations(audited_page))
