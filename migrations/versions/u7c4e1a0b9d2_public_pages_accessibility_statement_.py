"""public pages: accessibility statement and privacy notice

One row per required public page once an admin has edited it; until then the default
text shipped in commsplan/pages/defaults/ is shown. Reviewed by hand: a plain new table.

Revision ID: u7c4e1a0b9d2
Revises: a1e9c4d2b7f3
Create Date: 2026-12-01 09:17:06.736313

"""
from alembic import op
import sqlalchemy as sa
import commsplan.types


# revision identifiers, used by Alembic.
revision = 'u7c4e1a0b9d2'
down_revision = "a1e9c4d2b7f3"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('public_page',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('title_sv', sa.String(length=200), nullable=False),
    sa.Column('body_sv', sa.Text(), nullable=False),
    sa.Column('title_en', sa.String(length=200), nullable=False),
    sa.Column('body_en', sa.Text(), nullable=False),
    sa.Column('updated_by', sa.String(length=254), nullable=False),
    sa.Column('updated_at', commsplan.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_public_page')),
    sa.UniqueConstraint('kind', name=op.f('uq_public_page_kind'))
    )


def downgrade():
    op.drop_table('public_page')
