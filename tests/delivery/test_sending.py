"""Sending through a real SMTP server on loopback: content, headers, personalisation."""

from __future__ import annotations

from datetime import timedelta

import pytest

from commsplan.delivery.models import DeliveryState
from commsplan.delivery.services import Addressee, enqueue
from commsplan.extensions import db
from commsplan.timeutil import utcnow
from tests.delivery.conftest import items, outgoing

ICS = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n"


def test_mail_has_text_and_html_parts_headers_and_personalisation(put, drain, outbox):
    message = put(
        Addressee(
            "asa.oberg@example.org",
            name="Åsa Öberg",
            personalisation={
                "name": "Åsa <Öberg>",
                "link": "https://commsplan.example.org/notices/1?r=abc&x=1",
                "unsubscribe_url": "https://commsplan.example.org/unsubscribe/tok.en",
            },
        ),
        Addressee(
            "per@example.org",
            name="Per Persson",
            personalisation={"name": "Per", "link": "https://x.example/p"},
        ),
        headers={
            "In-Reply-To": "<first@commsplan.example.org>",
            "References": "<first@commsplan.example.org>",
        },
        attachments=[
            {
                "filename": "invite.ics",
                "content_type": "text/calendar; method=REQUEST; charset=utf-8",
                "content": ICS,
            }
        ],
    )

    result = drain()

    assert result.sent == 2
    asa, per = items(message)
    assert asa.state is DeliveryState.sent and asa.sent_at is not None and asa.attempts == 1
    [mail] = outbox.to("asa.oberg@example.org")
    assert mail["Subject"] == "Driftstörning: Journalen"
    assert mail["From"] == "commsplan <noreply@example.org>"
    assert mail["To"].addresses[0].display_name == "Åsa Öberg"
    assert mail["Message-ID"] == asa.message_id_header
    assert asa.message_id_header.endswith("@commsplan.example.org>")
    assert mail["Date"] is not None
    assert mail["In-Reply-To"] == "<first@commsplan.example.org>"
    assert mail["List-Unsubscribe"] == "<https://commsplan.example.org/unsubscribe/tok.en>"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mail.get_content_type() == "multipart/mixed"
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert "Hej Åsa <Öberg>!" in text
    assert "https://commsplan.example.org/notices/1?r=abc&x=1" in text
    assert "Hej Åsa &lt;Öberg&gt;!" in html
    assert 'href="https://commsplan.example.org/notices/1?r=abc&amp;x=1"' in html
    assert "%%" not in text and "%%" not in html
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_filename() == "invite.ics"
    assert attachment.get_content_type() == "text/calendar"
    assert attachment.get_param("method") == "REQUEST"
    assert "METHOD:REQUEST" in attachment.get_content()

    [other] = outbox.to("per@example.org")
    assert "Hej Per!" in other.get_body(("plain",)).get_content()
    assert other["List-Unsubscribe"] is None
    assert other["Message-ID"] == per.message_id_header != asa.message_id_header


def test_plain_message_without_attachments_is_multipart_alternative(put, drain, outbox):
    put("a@example.org")
    drain()
    [mail] = outbox.messages
    assert mail.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in mail.iter_parts()] == ["text/plain", "text/html"]


def test_enqueue_dedupes_addresses_case_insensitively_and_keeps_invalid_ones_visible(app, drain, outbox):
    message = outgoing()
    count = enqueue(
        db.session,
        message,
        [
            Addressee("Anna@Example.org"),
            Addressee("anna@example.org"),
            Addressee(" ANNA@example.org "),
            Addressee("not an address"),
            Addressee("bo@example.org"),
        ],
    )
    db.session.commit()
    assert count == 3
    rows = items(message)
    assert [r.to_address for r in rows] == ["Anna@Example.org", "not an address", "bo@example.org"]
    assert rows[1].state is DeliveryState.failed and "Ogiltig" in rows[1].last_error
    assert len({r.message_id_header for r in rows}) == 3

    drain()
    assert sorted(e.rcpt_tos[0] for e in outbox.envelopes) == ["Anna@Example.org", "bo@example.org"]


def test_enqueue_writes_nothing_if_the_caller_rolls_back(app, drain, outbox):
    enqueue(db.session, outgoing(), [Addressee("a@example.org")])
    db.session.rollback()
    assert items() == []
    assert drain().claimed == 0
    assert outbox.messages == []


def test_header_injection_through_subject_names_and_personalisation_is_impossible(put, drain, outbox):
    put(
        Addressee(
            "victim@example.org",
            name="Eve\r\nBcc: evil@example.org",
            personalisation={"who": "x\r\nBcc: evil2@example.org\r\n\r\nbody"},
        ),
        subject="Driftstörning\r\nBcc: evil3@example.org %%who%%",
    )
    drain()
    [mail] = outbox.messages
    [envelope] = outbox.envelopes
    assert envelope.rcpt_tos == ["victim@example.org"]
    assert mail["Bcc"] is None
    assert len(mail.get_all("Subject")) == 1
    assert mail["Subject"].startswith("Driftstörning Bcc: evil3@example.org x")
    assert "evil@example.org" not in str(mail["To"].addresses[0].addr_spec)


def test_extra_headers_cannot_override_the_senders_own(app):
    with pytest.raises(ValueError):
        enqueue(db.session, outgoing(headers={"Bcc": "evil@example.org"}), [Addressee("a@example.org")])
    db.session.rollback()
    with pytest.raises(ValueError):
        enqueue(db.session, outgoing(headers={"X-Evil\r\nBcc": "x"}), [Addressee("a@example.org")])
    db.session.rollback()


def test_long_personalised_values_still_give_valid_lines(put, drain, outbox):
    long_value = "https://commsplan.example.org/" + "a" * 1500
    put(Addressee("a@example.org", personalisation={"name": "A", "link": long_value}))
    drain()
    [mail] = outbox.messages
    assert long_value in mail.get_body(("plain",)).get_content()
    raw = bytes(mail)
    assert max(len(line) for line in raw.split(b"\n")) <= 998


def test_unknown_markers_are_removed(put, drain, outbox):
    put(Addressee("a@example.org", personalisation={}))
    drain()
    [mail] = outbox.messages
    assert "Hej !" in mail.get_body(("plain",)).get_content()


def test_items_not_yet_due_are_left_for_later(put, drain, outbox):
    message = put("a@example.org")
    row = items(message)[0]
    row.next_attempt_at = utcnow() + timedelta(minutes=5)
    db.session.commit()
    assert drain().claimed == 0
    assert drain(at=utcnow() + timedelta(minutes=6)).sent == 1


def test_lines_starting_with_a_dot_arrive_intact(put, drain, outbox):
    put("a@example.org", text_body=".\n..två punkter\n.en punkt\nslut\n", html_body="<p>\n.punkt</p>\n")
    drain()
    [mail] = outbox.messages
    text = mail.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert text == ".\n..två punkter\n.en punkt\nslut\n"
    assert ".punkt</p>" in mail.get_body(("html",)).get_content()


def test_personalised_values_that_start_lines_with_a_dot_arrive_intact(put, drain, outbox):
    # The template has no line starting with a dot; only the values bring them.
    lines = "Hej\n%%name%%\n%%note%%\n"
    values = {"name": ".Åsa", "note": "rad ett\n.rad två\n..rad tre"}
    put(
        Addressee(email="a@example.org", personalisation=values),
        text_body=lines,
        html_body="<p>\n%%name%%</p>\n",
    )
    put("b@example.org", text_body="Inga punkter här.\n", html_body="")
    drain()
    first, second = sorted(outbox.messages, key=lambda m: m["To"])
    text = first.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert text == "Hej\n.Åsa\nrad ett\n.rad två\n..rad tre\n"
    assert "\n.Åsa</p>" in first.get_body(("html",)).get_content().replace("\r\n", "\n")
    assert second.get_content().replace("\r\n", "\n") == "Inga punkter här.\n"


def test_a_sender_with_line_breaks_cannot_inject_smtp_commands(put, drain, outbox):
    message = put("a@example.org", sender="Samordnare <samordnare@example.org>\r\nRCPT TO:<evil@example.org>")
    drain()
    recipients = [to for e in outbox.envelopes for to in e.rcpt_tos]
    assert "evil@example.org" not in recipients
    [row] = items(message)
    if row.state is DeliveryState.sent:
        [mail] = outbox.messages
        assert mail["From"].addresses[0].addr_spec == "samordnare@example.org"
    else:
        assert row.state is DeliveryState.failed and "Kunde inte bygga brevet" in row.last_error
