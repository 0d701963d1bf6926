"""English notice wording and registration language

Mail goes out in the recipient's language: a notice may carry an English title and
body for English-speaking contacts, and a sign-up remembers the language its mail is in.

Revision ID: m1a2b3c4d5e6
Revises: u7c4e1a0b9d2
Create Date: 2026-12-01 08:58:07.980872

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "m1a2b3c4d5e6"
down_revision = "u7c4e1a0b9d2"
branch_labels = None
depends_on = None


def upgrade():
    # Server defaults only so existing rows get a value; the models set them on insert.
    with op.batch_alter_table("notice", schema=None) as batch_op:
        batch_op.add_column(sa.Column("title_en", sa.String(length=200), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("body_markdown_en", sa.Text(), nullable=False, server_default=""))

    with op.batch_alter_table("registration", schema=None) as batch_op:
        batch_op.add_column(sa.Column("language", sa.String(length=5), nullable=False, server_default="sv"))

    with op.batch_alter_table("notice", schema=None) as batch_op:
        batch_op.alter_column("title_en", server_default=None)
        batch_op.alter_column("body_markdown_en", server_default=None)

    with op.batch_alter_table("registration", schema=None) as batch_op:
        batch_op.alter_column("language", server_default=None)


def downgrade():
    with op.batch_alter_table("registration", schema=None) as batch_op:
        batch_op.drop_column("language")

    with op.batch_alter_table("notice", schema=None) as batch_op:
        batch_op.drop_column("body_markdown_en")
        batch_op.drop_column("title_en")
