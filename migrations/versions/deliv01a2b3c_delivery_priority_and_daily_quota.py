"""delivery: claim priority (outages before digests) and the per-day quota

Outbox rows get the priority of their message's kind (notices 0, digests 2, the rest 1),
filled in for rows already queued, and the partial index of pending rows becomes
(priority, id) so the claim still walks one index in order. ``delivery_day`` counts the
mails claimed per UTC day for DELIVERY_MAX_PER_DAY.

Revision ID: deliv01a2b3c
Revises: scale01a1b2c3
Create Date: 2026-12-01 12:30:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "deliv01a2b3c"
down_revision = "scale01a1b2c3"
branch_labels = None
depends_on = None

PENDING = sa.text("state IN ('queued', 'retrying', 'sending')")


def upgrade():
    op.create_table(
        "delivery_day",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("claimed", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_delivery_day")),
    )
    with op.batch_alter_table("outbox_item", schema=None) as batch_op:
        batch_op.add_column(sa.Column("priority", sa.SmallInteger(), server_default="1", nullable=False))
        batch_op.drop_index("ix_outbox_item_pending", sqlite_where=PENDING, postgresql_where=PENDING)
        batch_op.create_index(
            "ix_outbox_item_pending",
            ["priority", "id"],
            unique=False,
            sqlite_where=PENDING,
            postgresql_where=PENDING,
        )
    op.execute(
        "UPDATE outbox_item SET priority = 0 WHERE message_id IN "
        "(SELECT id FROM outgoing_message WHERE kind IN ('notice', 'notice_update'))"
    )
    op.execute(
        "UPDATE outbox_item SET priority = 2 WHERE message_id IN "
        "(SELECT id FROM outgoing_message WHERE kind LIKE 'digest\\_%' ESCAPE '\\')"
    )


def downgrade():
    with op.batch_alter_table("outbox_item", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_item_pending", sqlite_where=PENDING, postgresql_where=PENDING)
        batch_op.create_index(
            "ix_outbox_item_pending", ["id"], unique=False, sqlite_where=PENDING, postgresql_where=PENDING
        )
        batch_op.drop_column("priority")
    op.drop_table("delivery_day")
