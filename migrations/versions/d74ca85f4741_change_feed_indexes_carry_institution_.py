"""change feed indexes carry institution and person

The daily 医师变动信息 tests a day's changed registrations against one institution (its own,
or of persons who practise there) on the date indexes alone, without reading the day's other
rows; created_at is no longer what the feed reads by (a registration's change is its 批准日期
or status date), so its index goes.

Revision ID: d74ca85f4741
Revises: 94fb7a937bd4
Create Date: 2026-11-27 02:33:52.454470

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'd74ca85f4741'
down_revision = '94fb7a937bd4'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('registration', schema=None) as batch_op:
        batch_op.create_index('ix_registration_approved_feed',
                              ['approved_on', 'institution_id', 'person_id', 'id'], unique=False)
        batch_op.create_index('ix_registration_status_changed_feed',
                              ['status_changed_on', 'institution_id', 'person_id', 'id'],
                              unique=False)
        batch_op.drop_index(batch_op.f('ix_registration_approved_on'))
        batch_op.drop_index(batch_op.f('ix_registration_created_at'))
        batch_op.drop_index(batch_op.f('ix_registration_status_changed_on'))


def downgrade():
    with op.batch_alter_table('registration', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_registration_status_changed_on'),
                              ['status_changed_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_registration_created_at'), ['created_at'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_registration_approved_on'), ['approved_on'],
                              unique=False)
        batch_op.drop_index('ix_registration_status_changed_feed')
        batch_op.drop_index('ix_registration_approved_feed')
