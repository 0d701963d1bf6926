"""Index on contact (name, id)

Every list of contacts (the contact list, its search, the calendar links, the activity
form's picker) is ordered by name and id. Without an index each visit sorted all of a
region's 10,000 contacts to show 50 of them.

Revision ID: web02b3c4d5e
Revises: web01a2b3c4d
Create Date: 2026-12-01 15:45:00.000000

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "web02b3c4d5e"
down_revision = "web01a2b3c4d"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.create_index("ix_contact_name_id", ["name", "id"], unique=False)


def downgrade():
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.drop_index("ix_contact_name_id")
