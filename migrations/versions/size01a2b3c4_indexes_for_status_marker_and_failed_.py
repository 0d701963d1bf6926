"""Indexes on notice.updated_at and on the failed outbox rows' created_at

The public status page is cached per process and checks a change marker (the newest
notice id and change time) on every request; the index makes that check a lookup. The
start page lists the addresses that failed in the last 30 days: with 100,000 outbox rows
that was a scan of the whole table on every visit. The index holds the failed rows only
(partial), so sending a mail does not maintain it.

Revision ID: size01a2b3c4
Revises: deliv01a2b3c
Create Date: 2026-12-01 12:50:00.000000

"""

import sqlalchemy as sa
from alembic import op

FAILED = sa.text("state = 'failed'")

# revision identifiers, used by Alembic.
revision = "size01a2b3c4"
down_revision = "deliv01a2b3c"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("notice", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notice_updated_at"), ["updated_at"], unique=False)
    with op.batch_alter_table("outbox_item", schema=None) as batch_op:
        batch_op.create_index(
            "ix_outbox_item_failed_created_at",
            ["created_at"],
            unique=False,
            sqlite_where=FAILED,
            postgresql_where=FAILED,
        )


def downgrade():
    with op.batch_alter_table("outbox_item", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_item_failed_created_at")
    with op.batch_alter_table("notice", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notice_updated_at"))
