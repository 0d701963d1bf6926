"""Reading received mail: encodings, HTML, forwarded mail and delivery reports."""

from __future__ import annotations

from commsplan.relay.mail import html_to_text, looks_like_mail, parse_mail
from tests.relay import mails


def test_plain_quoted_printable_mail_keeps_swedish_letters():
    mail = parse_mail(mails.outage())
    assert mail.subject == "Driftstörning i 1177 Journalen"
    assert "för närvarande en driftstörning" in mail.body
    assert mail.message_id.endswith("@inera.example>")
    assert not mail.is_report


def test_latin1_body_and_encoded_subject():
    mail = parse_mail(mails.latin1())
    assert mail.subject == "Driftstörning i Vårdguiden åtgärdad"
    assert "Vårdguidens söktjänst är åtgärdad" in mail.body


def test_html_only_mail_is_read_as_text_without_styles():
    text = html_to_text("<style>p{x}</style><p>Webbtidbok är <b>inte</b> tillgänglig.</p><p>Rad två</p>")
    assert text == "Webbtidbok är inte tillgänglig.\n\nRad två"


def test_prefers_plain_part_of_alternative():
    mail = parse_mail(mails.service_window())
    assert mail.body.startswith("Planerat underhåll av Webbtidbok")
    assert "<" not in mail.body


def test_forwarded_as_attachment_reads_the_national_mail():
    mail = parse_mail(mails.forwarded_attachment())
    assert mail.subject == "Driftstörning i Intygstjänster"
    assert "går inte att nå" in mail.body
    assert "vidarebefordrar" not in mail.body


def test_forwarded_inline_block_gives_its_subject_and_text():
    mail = parse_mail(mails.forwarded_inline())
    assert mail.subject == "Planerat underhåll av Journalen"
    assert mail.body == "Journalen har planerat underhåll 2026-12-10 06:00 - 07:00."


def test_delivery_report_names_failed_recipient_and_returned_message_id():
    mail = parse_mail(mails.delivery_report("Borta@Region.example", "<abc123@commsplan.example.org>"))
    assert mail.is_report
    (bounce,) = mail.bounces
    assert bounce.recipient == "borta@region.example"
    assert bounce.status == "5.1.1"
    assert "User unknown" in bounce.diagnostic
    assert bounce.message_ids == ("<abc123@commsplan.example.org>",)


def test_pasted_raw_mail_is_recognised_and_plain_text_is_not():
    assert looks_like_mail(mails.outage().decode("ascii"))
    assert not looks_like_mail("Driftstörning i Journalen\nDet fungerar inte.")


def test_a_mail_pasted_in_a_browser_is_recognised_with_its_crlf_line_breaks():
    # A textarea's line breaks reach the server as CRLF.
    pasted = "Subject: Planerat underhåll av Webbtidbok\r\n\r\nTisdag 3 december kl. 19.00–23.00."
    assert looks_like_mail(pasted)
    assert parse_mail(pasted.replace("\r\n", "\n").encode()).subject == "Planerat underhåll av Webbtidbok"
