"""Index on contact.unit_id

A notice's audience is resolved from the contacts of the units it reaches, and the unit
list counts contacts per unit; both scanned all of a region's contacts (3 and 1.5 ms on
SQLite with 10,000), now they read the units' rows only.

Revision ID: web03c4d5e6f
Revises: web02b3c4d5e
Create Date: 2026-12-01 15:50:00.000000

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "web03c4d5e6f"
down_revision = "web02b3c4d5e"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contact_unit_id"), ["unit_id"], unique=False)


def downgrade():
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_unit_id"))
