"""The public sign-up cannot be used against anyone: one answer for every address, a
confirmation link for addresses the plan does not know, limits per address and per
client, and nothing the registrant typed in mail (issue 10, point 1)."""

from __future__ import annotations

import re
from datetime import date, time, timedelta

import vobject
from sqlalchemy import func, select

from commsplan.delivery.models import OutboxItem
from commsplan.delivery.services import drain
from commsplan.meetings import services
from commsplan.meetings.models import Registration
from commsplan.meetings.services import SeriesData
from commsplan.timeutil import utcnow
from tests import factories

HOSTILE_NAME = "Vinnare! Hämta priset på https://evil.example.net"
HOSTILE_ORG = "Ring 0700-000000"


def _series(session, **overrides):
    values = {
        "title": "Agenda 1177 – status och nyheter",
        "start_time": time(9, 0),
        "starts_on": date.today() - timedelta(days=70),
        "duration_minutes": 120,
        "rrule": "FREQ=MONTHLY;BYDAY=2TH",
        "registration_open": True,
    }
    series = services.create_series(session, SeriesData(**(values | overrides)))
    session.commit()
    return series


def _sign_up(client, occ, email, client_address="192.0.2.1", **extra):
    data = {"name": HOSTILE_NAME, "email": email, "organisation": HOSTILE_ORG} | extra
    return client.post(
        f"/meetings/register/{occ.id}", data=data, environ_base={"REMOTE_ADDR": client_address}
    )


def _confirmed(session):
    return session.scalar(
        select(func.count()).select_from(Registration).where(Registration.confirmed_at.is_not(None))
    )


def _all_text(mail):
    parts = [str(mail["Subject"]), str(mail["To"])]
    parts += [part.get_content() for part in mail.walk() if part.get_content_maintype() == "text"]
    return "\n".join(parts)


def _confirm_path(mail):
    text = mail.get_body(("plain",)).get_content()
    return re.search(r"https://commsplan\.example\.org(/meetings/register/confirm/\S+)", text).group(1)


def test_same_answer_for_new_known_and_already_registered_addresses(app, client, session, outbox):
    occ = services.upcoming(_series(session))[0]
    factories.make_contact(session, email="kand@example.org")
    session.commit()
    new = _sign_up(client, occ, "ny@example.org")
    known = _sign_up(client, occ, "kand@example.org")
    again = _sign_up(client, occ, "KAND@example.org")
    assert new.status_code == known.status_code == again.status_code == 200
    assert new.get_data() == known.get_data() == again.get_data()
    assert "Du är redan anmäld" not in again.get_data(as_text=True)


def test_unknown_address_must_confirm_and_mail_carries_no_registrant_text(app, client, session, outbox):
    occ = services.upcoming(_series(session))[0]
    assert _sign_up(client, occ, "stranger@example.org").status_code == 200
    assert _confirmed(session) == 0
    drain(app, connections=1)
    [mail] = outbox.to("stranger@example.org")
    text = _all_text(mail)
    assert "Bekräfta din anmälan" in mail["Subject"]
    assert "Vinnare" not in text and "evil.example.net" not in text and "0700" not in text
    assert mail["To"] == "stranger@example.org"  # no display name chosen by the registrant
    assert not list(mail.iter_attachments())

    # Not counted, not listed, not mailed about until confirmed.
    assert services.registration_count(session, occ) == 0
    path = _confirm_path(mail)
    page = client.get(path)  # opening the link (or a mail scanner doing so) confirms nothing
    assert page.status_code == 200 and "Ja, anmäl mig" in page.get_data(as_text=True)
    assert _confirmed(session) == 0

    outbox.clear()
    done = client.post(path)
    assert done.status_code == 200 and "bekräftad" in done.get_data(as_text=True)
    assert _confirmed(session) == 1
    drain(app, connections=1)
    [confirmation] = outbox.to("stranger@example.org")
    assert "Anmälan bekräftad" in confirmation["Subject"]
    assert "Vinnare" not in _all_text(confirmation)
    [ics] = [p for p in confirmation.iter_attachments() if p.get_filename() == "mote.ics"]
    assert vobject.readOne(ics.get_content()).vevent.uid.value == occ.uid
    # The link works once.
    assert client.post(path).status_code == 404
    assert client.get(path).status_code == 404


def test_confirmation_link_expires(app, client, session, outbox):
    occ = services.upcoming(_series(session))[0]
    _sign_up(client, occ, "late@example.org")
    drain(app, connections=1)
    path = _confirm_path(outbox.to("late@example.org")[0])
    registration = session.scalars(select(Registration)).one()
    registration.confirm_expires_at = utcnow() - timedelta(seconds=1)
    session.commit()
    response = client.post(path)
    assert response.status_code == 404 and "gäller inte" in response.get_data(as_text=True)
    assert _confirmed(session) == 0
    assert client.get("/meetings/register/confirm/" + "x" * 5000).status_code == 404


def test_registrant_text_never_reaches_a_known_contact(app, client, session, outbox):
    occ = services.upcoming(_series(session))[0]
    factories.make_contact(session, name="Kontakt", email="kontakt@example.org")
    session.commit()
    _sign_up(client, occ, "kontakt@example.org")
    assert _confirmed(session) == 1  # a contact of the plan is signed up at once
    drain(app, connections=1)
    [mail] = outbox.to("kontakt@example.org")
    text = _all_text(mail)
    assert "Vinnare" not in text and "evil.example.net" not in text and "0700" not in text
    # Coordinators still see what was typed.
    assert session.scalars(select(Registration.name)).one() == HOSTILE_NAME


def test_one_address_gets_at_most_the_limit_of_sign_up_mail(app, client, session, outbox):
    series = _series(session)
    occurrences = services.upcoming(series)[:6]
    limit = app.config["REGISTRATION_MAILS_PER_ADDRESS"]
    # From many clients, so the per-client limit does not hide the per-address one.
    for n, occ in enumerate(occurrences):
        for attempt in range(2):
            response = _sign_up(
                client, occ, "victim@example.org", client_address=f"198.51.100.{n * 2 + attempt}"
            )
            assert response.status_code == 200
    queued = session.scalar(
        select(func.count()).select_from(OutboxItem).where(OutboxItem.to_address == "victim@example.org")
    )
    assert queued == limit
    drain(app, connections=1)
    assert len(outbox.to("victim@example.org")) == limit


def test_one_client_is_limited(app, client, session):
    occ = services.upcoming(_series(session))[0]
    allowed = int(app.config["REGISTRATION_RATE_LIMIT"].split()[0])
    for n in range(allowed):
        assert _sign_up(client, occ, f"p{n}@example.org").status_code == 200
    refused = _sign_up(client, occ, "one-more@example.org")
    assert refused.status_code == 429
    assert "För många anmälningar" in refused.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(Registration)) == allowed


def test_expired_pending_sign_ups_are_purged(app, client, session):
    occ = services.upcoming(_series(session))[0]
    _sign_up(client, occ, "old@example.org")
    _sign_up(client, occ, "fresh@example.org")
    old = session.scalars(select(Registration).where(Registration.email == "old@example.org")).one()
    old.confirm_expires_at = utcnow() - timedelta(minutes=1)
    session.commit()
    assert services.purge_unconfirmed(session) == 1
    session.commit()
    assert session.scalars(select(Registration.email)).all() == ["fresh@example.org"]


def test_pending_sign_ups_are_not_listed_for_coordinators(app, client, auth, session):
    occ = services.upcoming(_series(session))[0]
    _sign_up(client, occ, "pending@example.org")
    factories.make_registration(session, occ, "Bekräftad", "ok@example.org")
    session.commit()
    auth.login()
    listing = client.get(f"/meetings/occurrences/{occ.id}/registrations").get_data(as_text=True)
    assert "ok@example.org" in listing and "pending@example.org" not in listing
    body = client.get(f"/meetings/occurrences/{occ.id}/registrations.csv").get_data(as_text=True)
    assert "ok@example.org" in body and "pending@example.org" not in body
