"""Meeting sign-up confirmation

A sign-up from an address the plan does not know waits for a confirmation link (its
token stored as a hash) before it counts. Sign-ups made before this revision were
accepted as they were, so they count as confirmed at their creation time.

Revision ID: a3c9e1f0b7d2
Revises: c1a2e3d4f5b6
Create Date: 2026-12-01 09:43:31.068458

"""

import sqlalchemy as sa
from alembic import op

import commsplan.types

# revision identifiers, used by Alembic.
revision = "a3c9e1f0b7d2"
down_revision = "c1a2e3d4f5b6"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("registration", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("confirmed_at", commsplan.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("confirm_token_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("confirm_expires_at", commsplan.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_registration_confirm_token_hash"), ["confirm_token_hash"]
        )
    op.execute("UPDATE registration SET confirmed_at = created_at")


def downgrade():
    # Unconfirmed sign-ups were never valid: they go with the columns that describe them.
    op.execute("DELETE FROM registration WHERE confirmed_at IS NULL")
    with op.batch_alter_table("registration", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_registration_confirm_token_hash"), type_="unique")
        batch_op.drop_column("confirm_expires_at")
        batch_op.drop_column("confirm_token_hash")
        batch_op.drop_column("confirmed_at")
