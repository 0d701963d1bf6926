"""Mail in the outbox and a database at a given migration, for the ops tests."""

from __future__ import annotations

from datetime import datetime

from alembic.script import ScriptDirectory
from flask import Flask
from flask_migrate import stamp
from sqlalchemy import update
from sqlalchemy.orm import Session

from commsplan.delivery.models import OutboxItem, OutgoingMessage
from commsplan.delivery.services import Addressee, enqueue


def queue_mail(session: Session, *addresses: str, created_at: datetime | None = None) -> OutgoingMessage:
    message = OutgoingMessage(kind="notice", subject="Driftstörning", text_body="Hej", html_body="<p>Hej</p>")
    enqueue(session, message, [Addressee(email=a) for a in addresses])
    if created_at is not None:
        session.execute(
            update(OutboxItem).where(OutboxItem.message_id == message.id).values(created_at=created_at)
        )
    session.commit()
    return message


def stamp_database(app: Flask, revision: str) -> None:
    """Record ``revision`` as the database's schema version (the schema itself is head)."""
    stamp(directory=app.extensions["migrate"].directory, revision=revision)


def revision_before_head(app: Flask) -> str:
    script = ScriptDirectory(app.extensions["migrate"].directory)
    head = script.get_revision(script.get_current_head())
    assert head is not None and isinstance(head.down_revision, str)
    return head.down_revision
