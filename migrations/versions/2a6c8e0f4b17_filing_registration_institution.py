"""filing.registration_institution_id: each filing keeps its registration's 主要执业机构, with
an index for 本院多执业机构备案医师

Revision ID: 2a6c8e0f4b17
Revises: 7d3e9a41c2b8
Create Date: 2026-11-27 18:58:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '2a6c8e0f4b17'
down_revision = '7d3e9a41c2b8'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('filing', schema=None) as batch_op:
        batch_op.add_column(sa.Column('registration_institution_id', sa.Integer(), nullable=True))
    # fill it from the registrations before indexing
    op.execute("UPDATE filing SET registration_institution_id = (SELECT institution_id "
               "FROM registration WHERE registration.id = filing.registration_id)")
    with op.batch_alter_table('filing', schema=None) as batch_op:
        batch_op.create_index('ix_filing_registration_institution_status',
                              ['registration_institution_id', 'status', 'registration_id'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('filing', schema=None) as batch_op:
        batch_op.drop_index('ix_filing_registration_institution_status')
        batch_op.drop_column('registration_institution_id')
