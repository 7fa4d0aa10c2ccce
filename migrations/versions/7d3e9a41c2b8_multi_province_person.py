"""multi_province_person: the persons whose valid registrations lie in more than one province
(医师在外省注册情况 joins an institution's physicians to them)

Revision ID: 7d3e9a41c2b8
Revises: cbba0191da55
Create Date: 2026-11-27 18:50:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7d3e9a41c2b8'
down_revision = 'cbba0191da55'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'multi_province_person',
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['person_id'], ['person.id'],
                                name=op.f('fk_multi_province_person_person_id_person')),
        sa.PrimaryKeyConstraint('person_id', name=op.f('pk_multi_province_person')))
    # the persons the register already holds in more than one province
    op.execute("INSERT INTO multi_province_person (person_id) "
               "SELECT person_id FROM registration WHERE status = 'valid' "
               "GROUP BY person_id HAVING count(DISTINCT substr(location_code, 1, 2)) > 1")


def downgrade():
    op.drop_table('multi_province_person')
