"""Fixture mails modelled on the national operator's subscriber mails (written for the
tests, plausible Inera style), built with the standard library so every encoding is real."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

SENDER = "Inera Kundservice <noreply@inera.example>"
MAILBOX = "1177etjanster@region.example"
SENT = datetime(2026, 12, 1, 8, 30, tzinfo=UTC)


def _base(subject: str, message_id: str | None = None, sender: str = SENDER) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = MAILBOX
    message["Subject"] = subject
    message["Date"] = format_datetime(SENT)
    message["Message-ID"] = message_id or make_msgid(domain="inera.example")
    return message


def outage() -> bytes:
    message = _base("Driftstörning i 1177 Journalen")
    message.set_content(
        "Hej,\n\nDet är för närvarande en driftstörning i 1177 Journalen. Invånare kan inte "
        "logga in och se sin journal.\n\nVi felsöker och återkommer med mer information "
        "senast kl. 11.00.\n\nMed vänliga hälsningar\nInera Kundservice",
        charset="utf-8",
        cte="quoted-printable",
    )
    return message.as_bytes()


def service_window() -> bytes:
    message = _base("Planerat underhåll av Webbtidbok tisdag 3 december kl. 19.00–23.00")
    message.set_content("Planerat underhåll av Webbtidbok 2026-12-08 19:00 - 23:00.", charset="utf-8")
    message.add_alternative(
        "<html><head><style>p{color:red}</style></head><body>"
        "<h1>Planerat underhåll</h1><p>Webbtidbok är inte tillgänglig under "
        "<strong>2026-12-08 19:00 - 23:00</strong> på grund av planerat underhåll.</p>"
        "<p>Invånare kan inte boka, av- eller omboka tider.</p></body></html>",
        subtype="html",
        charset="utf-8",
        cte="quoted-printable",
    )
    return message.as_bytes()


def release() -> bytes:
    message = _base("Release av Stöd och behandling version 5.2")
    message.set_content(
        "Den 15 december driftsätts en ny version av Stöd och behandling. Nyheter: "
        "förbättrad inkorg för vårdpersonal och nya påminnelser till invånare.",
        charset="utf-8",
    )
    return message.as_bytes()


def latin1() -> bytes:
    """An ISO-8859-1 body with an RFC 2047 (Q-encoded) subject, as older systems send."""
    subject = "=?iso-8859-1?q?Driftst=F6rning_i_V=E5rdguiden_=E5tg=E4rdad?="
    body = "Störningen i Vårdguidens söktjänst är åtgärdad. Tjänsten fungerar som vanligt igen.\n"
    return (
        f"From: {SENDER}\r\nTo: {MAILBOX}\r\nSubject: {subject}\r\n"
        f"Date: {format_datetime(SENT)}\r\nMessage-ID: <latin1-1@inera.example>\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n"
    ).encode("ascii") + body.replace("\n", "\r\n").encode("iso-8859-1")


def forwarded_attachment() -> bytes:
    """A colleague forwards the national mail as an attachment (message/rfc822)."""
    inner = _base("Driftstörning i Intygstjänster", "<inner-1@inera.example>")
    inner.set_content("Intygstjänster går inte att nå. Felsökning pågår.", charset="utf-8")
    outer = _base("VB: Driftstörning i Intygstjänster", sender="Anna Andersson <anna@region.example>")
    outer.set_content("Se nedan, vidarebefordrar.", charset="utf-8")
    outer.add_attachment(inner)
    return outer.as_bytes()


def forwarded_inline() -> bytes:
    """Forwarded by Outlook/Gmail: the national mail as a block in the text."""
    message = _base("Fwd: Planerat underhåll av Journalen", sender="Bo Berg <bo@region.example>")
    message.set_content(
        "Till funktionsbrevlådan.\n\n"
        "---------- Vidarebefordrat meddelande ----------\n"
        f"Från: {SENDER}\n"
        "Datum: mån 30 nov. 2026 kl. 14:02\n"
        "Ämne: Planerat underhåll av Journalen\n"
        f"Till: {MAILBOX}\n\n"
        "Journalen har planerat underhåll 2026-12-10 06:00 - 07:00.\n",
        charset="utf-8",
    )
    return message.as_bytes()


def delivery_report(recipient: str, original_message_id: str, reporter: str = "mx.region.example") -> bytes:
    """An RFC 3464 DSN returning the headers of a mail commsplan sent."""
    boundary = "dsn-boundary-42"
    return (
        f"From: Mail Delivery System <MAILER-DAEMON@{reporter}>\r\n"
        f"To: {MAILBOX}\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        f"Date: {format_datetime(SENT)}\r\n"
        f"Message-ID: <dsn-{abs(hash(original_message_id))}@{reporter}>\r\n"
        "MIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"\r\n\r\n'
        f"--{boundary}\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
        "I'm sorry to have to inform you that your message could not be delivered.\r\n\r\n"
        f"--{boundary}\r\nContent-Type: message/delivery-status\r\n\r\n"
        f"Reporting-MTA: dns; {reporter}\r\nArrival-Date: {format_datetime(SENT)}\r\n\r\n"
        f"Original-Recipient: rfc822;{recipient}\r\nFinal-Recipient: rfc822; {recipient}\r\n"
        "Action: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 User unknown\r\n\r\n"
        f"--{boundary}\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        "From: commsplan <noreply@example.org>\r\n"
        f"To: {recipient}\r\nSubject: =?utf-8?q?Driftst=C3=B6rning?=\r\n"
        f"Message-ID: {original_message_id}\r\n\r\n"
        f"--{boundary}--\r\n"
    ).encode("ascii")
