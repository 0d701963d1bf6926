"""Outbox item groups: the stakeholder groups a recipient was reached as

Coverage counted a contact for the groups it belongs to today, so moving a contact to
another group rewrote who had been told. Each outbox row now records the groups at the
time the mail was queued. Rows queued before this revision get the memberships as they
are now: the best record there is of them.

Revision ID: wording01a2b3
Revises: a3c9e1f0b7d2
Create Date: 2026-12-01 12:14:48.394617

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "wording01a2b3"
down_revision = "a3c9e1f0b7d2"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "outbox_item_group",
        sa.Column("outbox_item_id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["stakeholder_group.id"],
            name=op.f("fk_outbox_item_group_group_id_stakeholder_group"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["outbox_item_id"],
            ["outbox_item.id"],
            name=op.f("fk_outbox_item_group_outbox_item_id_outbox_item"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("outbox_item_id", "group_id", name=op.f("pk_outbox_item_group")),
    )
    with op.batch_alter_table("outbox_item_group", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_item_group_group_id"), ["group_id"], unique=False)
    op.execute(
        "INSERT INTO outbox_item_group (outbox_item_id, group_id) "
        "SELECT outbox_item.id, contact_stakeholder_group.group_id FROM outbox_item "
        "JOIN contact_stakeholder_group ON contact_stakeholder_group.contact_id = outbox_item.contact_id"
    )


def downgrade():
    with op.batch_alter_table("outbox_item_group", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_item_group_group_id"))
    op.drop_table("outbox_item_group")
