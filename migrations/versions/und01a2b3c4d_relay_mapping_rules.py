"""Relay mapping rules

A word or identifier in national information (Inera's mails and feeds) that names one
of the region's e-services and/or systems. A rule names at least one target.

Revision ID: und01a2b3c4d
Revises: wording03e6f7
Create Date: 2026-12-01 12:13:32.176455

"""

import sqlalchemy as sa
from alembic import op

import commsplan.types

# revision identifiers, used by Alembic.
revision = "und01a2b3c4d"
down_revision = "wording03e6f7"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "relay_mapping_rule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pattern", sa.String(length=200), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=True),
        sa.Column("system_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", commsplan.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "service_id IS NOT NULL OR system_id IS NOT NULL", name=op.f("ck_relay_mapping_rule_has_target")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user_account.id"],
            name=op.f("fk_relay_mapping_rule_created_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["service_id"], ["service.id"], name=op.f("fk_relay_mapping_rule_service_id_service")
        ),
        sa.ForeignKeyConstraint(
            ["system_id"], ["system.id"], name=op.f("fk_relay_mapping_rule_system_id_system")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_relay_mapping_rule")),
    )
    with op.batch_alter_table("relay_mapping_rule", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_relay_mapping_rule_service_id"), ["service_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_relay_mapping_rule_system_id"), ["system_id"], unique=False)


def downgrade():
    with op.batch_alter_table("relay_mapping_rule", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_relay_mapping_rule_system_id"))
        batch_op.drop_index(batch_op.f("ix_relay_mapping_rule_service_id"))

    op.drop_table("relay_mapping_rule")
