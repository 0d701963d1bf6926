"""Meeting mail in the reader's language, and mail links that work without an account."""

from __future__ import annotations

import re
from datetime import date, time, timedelta
from pathlib import Path

from sqlalchemy import select

import commsplan
from commsplan.auth.models import Role
from commsplan.delivery.models import OutgoingMessage
from commsplan.delivery.services import drain
from commsplan.feeds import invitations
from commsplan.meetings import services
from commsplan.meetings.links import occurrence_key
from commsplan.meetings.models import Registration
from commsplan.meetings.services import SeriesData
from commsplan.timeutil import STOCKHOLM
from tests import factories
from tests.mail_links import BASE, assert_links_work_anonymously, mail_links


def _series(session, **overrides):
    values = {
        "title": "Agenda 1177 – status och nyheter",
        "start_time": time(9, 0),
        "starts_on": date.today() - timedelta(days=70),
        "duration_minutes": 120,
        "rrule": "FREQ=MONTHLY;BYDAY=2TH",
        "registration_open": True,
        "online_url": "https://meet.example.org/agenda-1177",
    }
    values.update(overrides)
    series = services.create_series(session, SeriesData(**values))
    session.commit()
    return series


def _sign_up(client, occ, email, **extra):
    data = {"name": "Anna Andersson", "email": email} | extra
    return client.post(f"/meetings/register/{occ.id}", data=data)


def test_english_registrant_gets_english_mail_swedish_stays_default(app, client, auth, session, outbox):
    series = _series(session)
    occ = services.upcoming(series)[0]
    for address in ("en@example.org", "sv@example.org"):  # known addresses: signed up at once
        factories.make_contact(session, email=address)
    session.commit()
    assert _sign_up(client, occ, "en@example.org", language="en").status_code == 200
    assert _sign_up(client, occ, "sv@example.org", language="sv").status_code == 200
    drain(app, connections=1)

    [english] = outbox.to("en@example.org")
    assert english["Subject"].startswith("Registration confirmed: Agenda 1177")
    html = english.get_body(("html",)).get_content()
    assert '<html lang="en">' in html and "You are registered" in html
    weekday = occ.start.strftime("%A")  # English day name, e.g. "Thursday"
    assert weekday in english["Subject"] and "09:00" in english["Subject"]
    [swedish] = outbox.to("sv@example.org")
    assert swedish["Subject"].startswith("Anmälan bekräftad: Agenda 1177")
    assert '<html lang="sv">' in swedish.get_body(("html",)).get_content()
    assert "09.00" in swedish["Subject"]

    # Moving the meeting: one message per language, each in its readers' language.
    outbox.clear()
    auth.login(Role.coordinator)
    start = occ.start.astimezone(STOCKHOLM)
    response = client.post(
        f"/meetings/occurrences/{occ.id}/move",
        data={
            "day": (start + timedelta(days=1)).date().isoformat(),
            "start_time": "10:00",
            "end_time": "12:00",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    updates = session.scalars(
        select(OutgoingMessage).where(OutgoingMessage.kind == "registration_update")
    ).all()
    assert len(updates) == 2
    drain(app, connections=1)
    [moved] = outbox.to("en@example.org")
    assert moved["Subject"].startswith("Rescheduled: Agenda 1177")
    assert "Hello!" in moved.get_body(("plain",)).get_content()
    new_day = start + timedelta(days=1)
    assert (
        f"The meeting on {start.day} {start:%B} at {start:%H:%M} has been moved to "
        f"{new_day.day} {new_day:%B} at 10:00."
    ) in moved.get_body(("plain",)).get_content()
    [flyttat] = outbox.to("sv@example.org")
    assert flyttat["Subject"].startswith("Ändrad tid: Agenda 1177")
    assert f"kl. {start:%H.%M} är flyttat till {new_day.day} " in flyttat.get_body(("plain",)).get_content()


def test_sign_up_language_defaults_to_the_page_language(client, session):
    series = _series(session)
    occ = services.upcoming(series)[0]
    client.post("/language/en", data={"next": "/"})
    page = client.get(f"/meetings/register/{occ.id}").get_data(as_text=True)
    assert '<option selected value="en">' in page or '<option value="en" selected>' in page
    assert _sign_up(client, occ, "besok@example.org").status_code == 200
    assert session.scalars(select(Registration.language)).one() == "en"


def test_english_contact_gets_english_invitation_and_cancel(app, client, auth, session, outbox):
    contact = factories.make_contact(session, name="Member", email="member@example.org", language="en")
    factories.make_contact(session, name="Medlem", email="medlem@example.org")
    series = services.create_series(
        session,
        SeriesData(
            title="Nätverket Invånartjänster",
            start_time=time(13, 0),
            starts_on=date.today() - timedelta(days=1),
            duration_minutes=120,
            rrule="FREQ=MONTHLY;INTERVAL=3;BYDAY=2WE",
            contacts=[contact],
        ),
    )
    invitations.send_invitations(session, series)
    session.commit()
    drain(app, connections=1)
    [invite] = outbox.to("member@example.org")[:1]
    # One invitation to the whole series, which a rule expresses.
    assert invite["Subject"] == "Invitation: Nätverket Invånartjänster (meeting series)"
    html = invite.get_body(("html",)).get_content()
    assert '<html lang="en">' in html and "You are invited" in html and "Upcoming meetings" in html
    assert "13:00" in html  # English clock time

    outbox.clear()
    occ = services.upcoming(series)[0]
    auth.login(Role.coordinator)
    assert client.post(f"/meetings/occurrences/{occ.id}/cancel").status_code == 302
    drain(app, connections=1)
    [cancel] = outbox.to("member@example.org")
    assert cancel["Subject"].startswith("Cancelled: Nätverket Invånartjänster")
    assert "These meetings of the series are cancelled:" in cancel.get_body(("plain",)).get_content()


def test_every_link_in_meeting_mail_works_without_an_account(app, client, auth, session, outbox):
    # A network series (no public sign-up) with an invited contact, and an information
    # meeting with sign-ups: invitation, update, cancellation, confirmation, update mails.
    member = factories.make_contact(session, name="Medlem", email="medlem@example.org")
    english = factories.make_contact(session, name="Member", email="member@example.org", language="en")
    network = services.create_series(
        session,
        SeriesData(
            title="Nätverket Invånartjänster",
            start_time=time(13, 0),
            starts_on=date.today() - timedelta(days=1),
            duration_minutes=120,
            rrule="FREQ=MONTHLY;INTERVAL=3;BYDAY=2WE",
            contacts=[member, english],
        ),
    )
    invitations.send_invitations(session, network)
    session.commit()
    for address in ("anna@example.org", "ann@example.org"):
        factories.make_contact(session, email=address)
    session.commit()
    info = _series(session)
    info_occ, info_later = services.upcoming(info)[:2]
    assert _sign_up(client, info_occ, "okand@example.org").status_code == 200  # a confirmation link
    assert _sign_up(client, info_occ, "anna@example.org").status_code == 200
    assert _sign_up(client, info_later, "anna@example.org").status_code == 200
    assert _sign_up(client, info_occ, "ann@example.org", language="en").status_code == 200

    auth.login(Role.coordinator)
    network_first, network_later = services.upcoming(network)[:2]
    for occ in (network_first, info_occ):  # moved: iMIP update, registrant update
        day = (occ.start.astimezone(STOCKHOLM) + timedelta(days=1)).date().isoformat()
        moved = {"day": day, "start_time": "10:00", "end_time": "11:00"}
        assert client.post(f"/meetings/occurrences/{occ.id}/move", data=moved).status_code == 302
    for occ in (network_later, info_later):  # cancelled: iMIP CANCEL, registrant update
        assert client.post(f"/meetings/occurrences/{occ.id}/cancel").status_code == 302
    auth.logout()
    drain(app, connections=1)

    kinds = {m["Subject"].split(":")[0] for m in outbox.messages}
    assert {
        "Inbjudan",
        "Ändrat",
        "Inställt",
        "Anmälan bekräftad",
        "Ändrad tid",
        "Bekräfta din anmälan",
    } <= kinds
    assert {"Invitation", "Changed", "Cancelled", "Registration confirmed", "Rescheduled"} <= kinds
    checked = sum(assert_links_work_anonymously(app, mail) for mail in outbox.messages)
    assert checked >= len(outbox.messages)
    # The page of the network meeting shows no participant names.
    page = app.test_client().get(
        next(
            link for link in mail_links(outbox.to("medlem@example.org")[0]) if "/meetings/public/" in link
        ).removeprefix(BASE)
    )
    assert "Medlem" not in page.get_data(as_text=True)


def test_the_public_page_of_a_closed_series_needs_the_key(app, session):
    network = _series(session, title="Nätverket", registration_open=False)
    occ = services.upcoming(network)[0]
    anonymous = app.test_client()
    assert anonymous.get(f"/meetings/public/{occ.id}").status_code == 404
    assert anonymous.get(f"/meetings/public/{occ.id}?key=forged").status_code == 404
    other = services.upcoming(network)[1]
    assert anonymous.get(f"/meetings/public/{occ.id}?key={occurrence_key(other.id)}").status_code == 404
    assert anonymous.get(f"/meetings/public/{occ.id}?key={occurrence_key(occ.id)}").status_code == 200


def test_occurrence_page_says_how_often_it_was_changed(client, auth, session):
    series = _series(session)
    occ = services.upcoming(series)[0]
    auth.login(Role.viewer)
    assert "Inte ändrad" in client.get(f"/meetings/occurrences/{occ.id}").get_data(as_text=True)
    occ.sequence = 1
    session.commit()
    assert "Ändrad 1 gång<" in client.get(f"/meetings/occurrences/{occ.id}").get_data(as_text=True)
    occ.sequence = 3
    session.commit()
    page = client.get(f"/meetings/occurrences/{occ.id}").get_data(as_text=True)
    assert "Ändrad 3 gånger" in page and "Version" not in page
    client.post("/language/en", data={"next": "/"})
    assert "Changed 3 times" in client.get(f"/meetings/occurrences/{occ.id}").get_data(as_text=True)


def _hidden_classes_in_print() -> set[str]:
    """Classes that a ``display: none`` rule of the print styles ends on."""
    hidden: set[str] = set()
    for name in ("print.css", "meetings.css"):
        css = (Path(commsplan.__file__).parent / "static" / name).read_text()
        for selectors, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css):
            if re.search(r"display:\s*none", body):
                for selector in selectors.split(","):
                    last = selector.strip().split()[-1] if selector.strip() else ""
                    hidden.update(re.findall(r"\.([\w-]+)", last))
    return hidden


def test_printed_agenda_includes_item_notes(client, auth, session):
    series = _series(session)
    occ = services.upcoming(series)[0]
    services.replace_agenda(
        session, occ, [services.AgendaItemData("Nyheter i 1177", "Inera", 20, notes="Frågor tas i chatten")]
    )
    session.commit()
    auth.login(Role.viewer)
    page = client.get(f"/meetings/occurrences/{occ.id}/agenda/print").get_data(as_text=True)
    match = re.search(r'<(\w+)[^>]*class="([^"]*)"[^>]*>Frågor tas i chatten<', page)
    assert match, "the note is on the printed agenda"
    assert not set(match.group(2).split()) & _hidden_classes_in_print()
