"""Reading the functional mailbox over IMAP with the standard library's ``imaplib``
(the few commands needed — SELECT, UID SEARCH/FETCH/STORE/MOVE — need no extra library).

Mail is fetched with BODY.PEEK so reading alone marks nothing; a message is flagged
(\\Seen and the keyword below) or moved only after the relay has stored it.
"""

from __future__ import annotations

import imaplib
import re
import ssl
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass

from flask_babel import gettext as _

from commsplan.relay.entries import SourceError

PROCESSED_KEYWORD = "$CommsplanRelayed"
_UIDVALIDITY = re.compile(rb"UIDVALIDITY (\d+)")


@dataclass(frozen=True)
class MailboxSettings:
    host: str
    port: int
    user: str
    password: str
    folder: str = "INBOX"
    tls: bool = True
    move_to: str = ""
    timeout: float = 30.0


def _quote(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Mailbox:
    def __init__(self, connection: imaplib.IMAP4, settings: MailboxSettings, uidvalidity: int) -> None:
        self.connection = connection
        self.settings = settings
        self.uidvalidity = uidvalidity

    def uids_after(self, last_uid: int) -> list[int]:
        # "n:*" always includes the highest UID, even when it is below n: filter.
        status, data = self.connection.uid("SEARCH", "UID", f"{last_uid + 1}:*")
        if status != "OK":
            raise SourceError(_("IMAP-sökningen misslyckades: %(answer)s", answer=data))
        return sorted(uid for uid in (int(x) for x in (data[0] or b"").split()) if uid > last_uid)

    def fetch(self, uid: int) -> bytes:
        status, data = self.connection.uid("FETCH", str(uid), "(BODY.PEEK[])")
        if status != "OK":
            raise SourceError(_("Kunde inte hämta brev %(uid)s: %(answer)s", uid=uid, answer=data))
        for part in data:
            if isinstance(part, tuple) and len(part) == 2:
                return bytes(part[1])
        raise SourceError(_("Brev %(uid)s finns inte längre.", uid=uid))

    def mark_processed(self, uid: int) -> None:
        """Move the mail to the configured folder, or flag it read and relayed."""
        if self.settings.move_to:
            status, _data = self.connection.uid("MOVE", str(uid), _quote(self.settings.move_to))
            if status == "OK":
                return
        self.connection.uid("STORE", str(uid), "+FLAGS", f"(\\Seen {PROCESSED_KEYWORD})")


@contextmanager
def open_mailbox(settings: MailboxSettings) -> Iterator[Mailbox]:
    """Log in and select the folder; every failure is a ``SourceError`` with the reason."""
    try:
        if settings.tls:
            connection: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                settings.host,
                settings.port,
                ssl_context=ssl.create_default_context(),
                timeout=settings.timeout,
            )
        else:
            connection = imaplib.IMAP4(settings.host, settings.port, timeout=settings.timeout)
    except (OSError, imaplib.IMAP4.error) as error:
        raise SourceError(
            _(
                "Kunde inte ansluta till %(host)s:%(port)s: %(reason)s",
                host=settings.host,
                port=settings.port,
                reason=error,
            )
        ) from error
    try:
        try:
            connection.login(settings.user, settings.password)
        except imaplib.IMAP4.error as error:
            raise SourceError(_("Inloggningen nekades: %(reason)s", reason=_decoded(error))) from error
        status, data = connection.select(_quote(settings.folder))
        if status != "OK":
            raise SourceError(
                _("Mappen %(folder)s finns inte: %(answer)s", folder=settings.folder, answer=data)
            )
        match = None
        for line in connection.response("UIDVALIDITY")[1] or []:
            if line:
                match = match or re.match(rb"(\d+)", line)
        if match is None:
            status, data = connection.status(_quote(settings.folder), "(UIDVALIDITY)")
            match = _UIDVALIDITY.search(b" ".join(d for d in data if isinstance(d, bytes)))
        if match is None:
            raise SourceError(_("Servern uppgav ingen UIDVALIDITY."))
        yield Mailbox(connection, settings, int(match.group(1)))
    except (TimeoutError, OSError, imaplib.IMAP4.error) as error:
        raise SourceError(_("IMAP-fel: %(reason)s", reason=_decoded(error))) from error
    finally:
        with suppress(OSError, imaplib.IMAP4.error):
            connection.logout()


def _decoded(error: Exception) -> str:
    reason = error.args[0] if error.args else error
    return reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason)
