"""The functional mailbox against a real IMAP server (Dovecot, started by a fixture):
every mail becomes one draft, repeated polls add nothing, DSNs flag addresses."""

from __future__ import annotations

import imaplib
import uuid

import pytest
from sqlalchemy import func, select

from commsplan.delivery.models import AddressBounce, OutboxItem, OutgoingMessage
from commsplan.delivery.services import Addressee, enqueue
from commsplan.notices.models import Notice
from commsplan.relay import services
from commsplan.relay.imap import PROCESSED_KEYWORD
from commsplan.relay.models import ItemState, RelayItem, SourceKind
from tests import factories
from tests.relay import mails

PASSWORD_ENV = "RELAY_TEST_IMAP_PASSWORD"


class Box:
    """A folder of its own per test, filled and inspected over IMAP like a mail client."""

    def __init__(self, dovecot) -> None:  # type: ignore[no-untyped-def]
        self.dovecot = dovecot
        self.folder = f"Test-{uuid.uuid4().hex[:8]}"
        with self.connect() as connection:
            connection.create(self.folder)

    def connect(self) -> imaplib.IMAP4:
        connection = imaplib.IMAP4("127.0.0.1", self.dovecot.port)
        connection.login(self.dovecot.user, self.dovecot.password)
        return connection

    def deliver(self, *raws: bytes) -> None:
        with self.connect() as connection:
            for raw in raws:
                status, _ = connection.append(self.folder, "", None, raw)
                assert status == "OK"

    def flags(self) -> list[bytes]:
        with self.connect() as connection:
            connection.select(self.folder, readonly=True)
            _, data = connection.uid("FETCH", "1:*", "(FLAGS)")
            return [line for line in data if isinstance(line, bytes)]

    def count(self, folder: str | None = None) -> int:
        with self.connect() as connection:
            _, data = connection.select(folder or self.folder, readonly=True)
            return int(data[0])


@pytest.fixture
def box(dovecot, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv(PASSWORD_ENV, dovecot.password)
    return Box(dovecot)


def _mailbox_source(session, box, name="Funktionsbrevlådan", **overrides):  # type: ignore[no-untyped-def]
    settings = services.imap_settings(
        "127.0.0.1",
        box.dovecot.port,
        box.dovecot.user,
        overrides.pop("password_env", PASSWORD_ENV),
        box.folder,
        tls=False,
        **overrides,
    )
    source = services.add_source(session, name, SourceKind.imap, settings)
    session.commit()
    return source


def _sent_mail_to(session, address: str) -> OutboxItem:  # type: ignore[no-untyped-def]
    contact = factories.make_contact(session, email=address)
    message = OutgoingMessage(kind="notice", subject="Driftstörning", text_body="Text")
    enqueue(session, message, [Addressee(email=address, contact_id=contact.id)])
    session.commit()
    return session.scalar(select(OutboxItem).where(OutboxItem.to_address == address))


def test_every_mail_becomes_one_draft_and_repeated_polls_add_nothing(session, box):
    sent = _sent_mail_to(session, "borta@region.example")
    outage = mails.outage()
    box.deliver(
        outage,
        mails.service_window(),
        mails.release(),
        mails.latin1(),
        mails.forwarded_attachment(),
        mails.forwarded_inline(),
        mails.delivery_report("borta@region.example", sent.message_id_header),
    )
    source = _mailbox_source(session, box)

    result = services.poll_source(session, source)

    assert result.error == ""
    assert (result.new, result.bounces) == (6, 1)
    subjects = set(session.scalars(select(Notice.title)))
    assert subjects == {
        "Driftstörning i 1177 Journalen",
        "Planerat underhåll av Webbtidbok tisdag 3 december kl. 19.00–23.00",
        "Release av Stöd och behandling version 5.2",
        "Driftstörning i Vårdguiden åtgärdad",
        "Driftstörning i Intygstjänster",
        "Planerat underhåll av Journalen",
    }
    # Nothing lost: every mail is an item; the report is kept but never a draft.
    assert session.scalar(select(func.count()).select_from(RelayItem)) == 7
    report = session.scalar(select(RelayItem).where(RelayItem.subject.like("Undelivered%")))
    assert report.state is ItemState.dismissed and report.notice_id is None
    bounce = session.scalar(select(AddressBounce))
    assert (bounce.email, bounce.outbox_item_id) == ("borta@region.example", sent.id)
    assert "User unknown" in bounce.answer
    # Processed mail is flagged read and relayed in the mailbox.
    flags = box.flags()
    assert len(flags) == 7 and all(b"\\Seen" in f and PROCESSED_KEYWORD.encode() in f for f in flags)

    again = services.poll_source(session, source)
    # The same mail again (same Message-ID), and the same text under a new Message-ID
    # (someone forwarded it to the mailbox again).
    box.deliver(outage, mails.outage())
    third = services.poll_source(session, source)

    assert (again.new, again.bounces, third.new, third.duplicates) == (0, 0, 0, 1)
    assert session.scalar(select(func.count()).select_from(Notice)) == 6
    assert session.scalar(select(func.count()).select_from(AddressBounce)) == 1
    assert source.items_seen == 8
    assert source.last_success_at is not None and source.failures == 0


def test_renumbered_folder_is_read_again_without_second_drafts(session, box):
    box.deliver(mails.outage(), mails.release())
    source = _mailbox_source(session, box)
    services.poll_source(session, source)
    # The server says the old UIDs are void (UIDVALIDITY changed): everything is read again.
    source.uidvalidity, source.last_uid = 1, 99
    session.commit()

    result = services.poll_source(session, source)

    assert result.error == "" and result.new == 0
    assert session.scalar(select(func.count()).select_from(Notice)) == 2
    assert source.uidvalidity != 1 and source.last_uid == 2


def test_processed_mail_is_moved_when_a_folder_is_given(session, box):
    with box.connect() as connection:
        connection.create(f"{box.folder}-klart")
    box.deliver(mails.outage())
    source = _mailbox_source(session, box, move_to=f"{box.folder}-klart")

    assert services.poll_source(session, source).new == 1
    assert box.count() == 0
    assert box.count(f"{box.folder}-klart") == 1


def test_refused_login_is_a_clear_source_error_and_other_sources_still_run(session, box, monkeypatch):
    box.deliver(mails.outage())
    good = _mailbox_source(session, box, name="Rätt lösen")
    monkeypatch.setenv("RELAY_WRONG_PASSWORD", "fel")
    bad = _mailbox_source(session, box, name="Fel lösen", password_env="RELAY_WRONG_PASSWORD")

    results = services.poll_all(session)

    assert "Inloggningen nekades" in results["Fel lösen"].error
    assert results["Rätt lösen"].new == 1
    session.refresh(bad)
    assert bad.failures == 1 and "Inloggningen nekades" in bad.last_error
    assert not services.source_healthy(bad) and services.source_healthy(good)
    assert bad.next_poll_at > bad.last_error_at


def test_missing_password_variable_is_named_in_the_error(session, box, monkeypatch):
    monkeypatch.delenv("RELAY_NOT_SET", raising=False)
    source = _mailbox_source(session, box, password_env="RELAY_NOT_SET")

    result = services.poll_source(session, source)

    assert "RELAY_NOT_SET" in result.error
    assert session.scalar(select(func.count()).select_from(RelayItem)) == 0


def test_unreachable_server_is_a_source_error(session, monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, "x")
    settings = services.imap_settings("127.0.0.1", 1, "u", PASSWORD_ENV, tls=False)
    source = services.add_source(session, "Ingen server", SourceKind.imap, settings)
    session.commit()

    result = services.poll_source(session, source)

    assert "Kunde inte ansluta" in result.error


def test_full_mailbox_is_read_a_batch_per_round(app, session, box):
    app.config["RELAY_IMAP_BATCH"] = 2
    box.deliver(mails.outage(), mails.release(), mails.latin1())
    _mailbox_source(session, box)

    first = services.poll_due(session)["Funktionsbrevlådan"]
    assert (first.new, first.more) == (2, True)
    second = services.poll_due(session)["Funktionsbrevlådan"]  # due again at once

    assert (second.new, second.more) == (1, False)
    assert session.scalar(select(func.count()).select_from(Notice)) == 3
    assert services.poll_due(session) == {}
