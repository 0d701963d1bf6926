"""plan: retire services, systems and stakeholder groups

Old notices keep naming a retired row; see docs/deleting.md.

Revision ID: i1c7accf4ea3
Revises: a10c0ffee5e5
Create Date: 2026-12-01 08:59:35.655945

"""
from alembic import op
import sqlalchemy as sa
import commsplan.types


# revision identifiers, used by Alembic.
revision = 'i1c7accf4ea3'
down_revision = "a10c0ffee5e5"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('service', schema=None) as batch_op:
        batch_op.add_column(sa.Column('retired_at', commsplan.types.UTCDateTime(timezone=True), nullable=True))

    with op.batch_alter_table('stakeholder_group', schema=None) as batch_op:
        batch_op.add_column(sa.Column('retired_at', commsplan.types.UTCDateTime(timezone=True), nullable=True))

    with op.batch_alter_table('system', schema=None) as batch_op:
        batch_op.add_column(sa.Column('retired_at', commsplan.types.UTCDateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('system', schema=None) as batch_op:
        batch_op.drop_column('retired_at')

    with op.batch_alter_table('stakeholder_group', schema=None) as batch_op:
        batch_op.drop_column('retired_at')

    with op.batch_alter_table('service', schema=None) as batch_op:
        batch_op.drop_column('retired_at')
