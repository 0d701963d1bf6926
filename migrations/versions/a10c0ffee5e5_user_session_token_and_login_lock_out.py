"""user session token and login lock-out

Revision ID: a10c0ffee5e5
Revises: f23e72d8caf0
Create Date: 2026-12-01 08:59:26.056937

"""

import secrets

import sqlalchemy as sa
from alembic import op

import commsplan.types

# revision identifiers, used by Alembic.
revision = "a10c0ffee5e5"
down_revision = "f23e72d8caf0"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.add_column(sa.Column("session_token", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("failed_logins", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(
            sa.Column("locked_until", commsplan.types.UTCDateTime(timezone=True), nullable=True)
        )
    # Each existing account gets its own random token; sessions from before the upgrade
    # (cookies holding only the id) then no longer load and their users log in again.
    connection = op.get_bind()
    users = sa.table("user_account", sa.column("id", sa.Integer), sa.column("session_token", sa.String))
    for (user_id,) in connection.execute(sa.select(users.c.id)).all():
        connection.execute(
            users.update().where(users.c.id == user_id).values(session_token=secrets.token_urlsafe(24))
        )
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.alter_column("session_token", existing_type=sa.String(length=64), nullable=False)


def downgrade():
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.drop_column("locked_until")
        batch_op.drop_column("failed_logins")
        batch_op.drop_column("session_token")
