"""Invitation start sent: where the last REQUEST put the meeting

An update of a per-date invitation now says where the meeting moved from, which needs
the start each person was last sent. Invitations already up to date with their
occurrence were sent its current start; for the others it is not known (NULL), and
their next update says only that the meeting changed.

Revision ID: wording02c4d5
Revises: wording01a2b3
Create Date: 2026-12-01 12:23:00.000000

"""

import sqlalchemy as sa
from alembic import op

import commsplan.types

# revision identifiers, used by Alembic.
revision = "wording02c4d5"
down_revision = "wording01a2b3"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("invitation", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("start_sent", commsplan.types.UTCDateTime(timezone=True), nullable=True)
        )
    op.execute(
        "UPDATE invitation SET start_sent = (SELECT occurrence.start FROM occurrence "
        "WHERE occurrence.id = invitation.occurrence_id "
        "AND occurrence.sequence = invitation.sequence_sent) WHERE cancelled = false"
    )


def downgrade():
    with op.batch_alter_table("invitation", schema=None) as batch_op:
        batch_op.drop_column("start_sent")
