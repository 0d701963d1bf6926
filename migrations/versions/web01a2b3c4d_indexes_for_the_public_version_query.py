"""Indexes for the public pages' version query

Every visit to /status (and its feed and public notices) runs one query that says whether
the page changed: the newest service-window start and end that have passed and the newest
closed notice inside the history. Without indexes each of those scanned every notice
(about 0.6 ms of a 2.6 ms answer with 2,000 notices on SQLite); with them each is a lookup.
Notices are written rarely, so the three indexes cost nothing that matters.

Revision ID: web01a2b3c4d
Revises: size01a2b3c4
Create Date: 2026-12-01 15:55:00.000000

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "web01a2b3c4d"
down_revision = "size01a2b3c4"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("notice", schema=None) as batch_op:
        batch_op.create_index(
            "ix_notice_kind_status_starts_at", ["kind", "status", "starts_at"], unique=False
        )
        batch_op.create_index("ix_notice_kind_status_ends_at", ["kind", "status", "ends_at"], unique=False)
        batch_op.create_index("ix_notice_status_closed_at", ["status", "closed_at"], unique=False)


def downgrade():
    with op.batch_alter_table("notice", schema=None) as batch_op:
        batch_op.drop_index("ix_notice_status_closed_at")
        batch_op.drop_index("ix_notice_kind_status_ends_at")
        batch_op.drop_index("ix_notice_kind_status_starts_at")
