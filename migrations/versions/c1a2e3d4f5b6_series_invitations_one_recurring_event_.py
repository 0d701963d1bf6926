"""series invitations: one recurring event per person; a calendar reminder per series

``series_invitation`` records, per person, what their calendar holds of a rule series
sent as one recurring event; ``meeting_series.reminder_minutes`` is the optional VALARM.

Revision ID: c1a2e3d4f5b6
Revises: a14c0ffee001
Create Date: 2026-12-01 09:49:44.830974

"""
from alembic import op
import sqlalchemy as sa
import commsplan.types


# revision identifiers, used by Alembic.
revision = 'c1a2e3d4f5b6'
down_revision = "a14c0ffee001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('series_invitation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('series_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('sequence_sent', sa.Integer(), nullable=False),
    sa.Column('cancelled', sa.Boolean(), nullable=False),
    sa.Column('state', sa.JSON(), nullable=False),
    sa.Column('sent_at', commsplan.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], name=op.f('fk_series_invitation_contact_id_contact'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['series_id'], ['meeting_series.id'], name=op.f('fk_series_invitation_series_id_meeting_series'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_series_invitation')),
    sa.UniqueConstraint('series_id', 'email', name=op.f('uq_series_invitation_series_id'))
    )
    with op.batch_alter_table('series_invitation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_series_invitation_series_id'), ['series_id'], unique=False)

    with op.batch_alter_table('meeting_series', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reminder_minutes', sa.Integer(), nullable=True))



def downgrade():
    with op.batch_alter_table("meeting_series", schema=None) as batch_op:
        batch_op.drop_column("reminder_minutes")

    with op.batch_alter_table('series_invitation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_series_invitation_series_id'))

    op.drop_table('series_invitation')
