"""Every mail to a contact links to the person's own preferences page (issue 9): meeting
invitations too, in the contact's language, and the link opens without an account."""

from __future__ import annotations

import re
from datetime import date, time, timedelta

from commsplan.delivery.services import drain
from commsplan.feeds import invitations
from commsplan.meetings import services
from commsplan.meetings.services import SeriesData
from tests import factories


def test_an_invitation_links_to_the_contacts_preferences_page(app, client, session, outbox):
    member = factories.make_contact(session, name="Member", email="member@example.org", language="en")
    series = services.create_series(
        session,
        SeriesData(
            title="Nätverket Invånartjänster",
            start_time=time(13, 0),
            starts_on=date.today() + timedelta(days=1),
            duration_minutes=60,
            rrule="FREQ=MONTHLY;INTERVAL=3",
            contacts=[member],
        ),
    )
    invitations.send_invitations(session, series)
    session.commit()
    drain(app, connections=1)
    [mail] = outbox.to("member@example.org")
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert "Choose what you get and how often:" in text
    link = re.search(r"https?://\S+/preferences/\S+", text).group(0)
    assert f'href="{link}"' in html.replace("&amp;", "&")
    page = client.get(link.split("example.org", 1)[1])
    assert page.status_code == 200
    assert "Member" in page.get_data(as_text=True) or "member@example.org" in page.get_data(as_text=True)
