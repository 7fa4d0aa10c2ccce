"""registration.person_gender, person_birth_date: the person's 性别 and 出生日期 kept on the
registration, and the (机构, 状态, id) index extended with what a hospital's 统计信息 groups and
counts by, so that page reads one index range instead of a person and a table row per physician

Revision ID: 0bd30bc85652
Revises: 4574d257d9a9
Create Date: 2026-11-27 00:00:36.188532

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0bd30bc85652'
down_revision = '4574d257d9a9'
branch_labels = None
depends_on = None

# the tables as this revision knows them (not the models, which may change later)
registration = sa.table("registration", sa.column("person_id", sa.Integer),
                        sa.column("person_gender", sa.String),
                        sa.column("person_birth_date", sa.Date))
person = sa.table("person", sa.column("id", sa.Integer), sa.column("gender", sa.String),
                  sa.column("birth_date", sa.Date))


def upgrade():
    with op.batch_alter_table('registration', schema=None) as batch_op:
        batch_op.add_column(sa.Column('person_gender', sa.Enum('1', '2', name='gender', native_enum=False, length=24), nullable=True))
        batch_op.add_column(sa.Column('person_birth_date', sa.Date(), nullable=True))
    # every existing registration gets its person's 性别 and 出生日期 in one pass
    op.execute(sa.update(registration).where(person.c.id == registration.c.person_id).values(
        person_gender=person.c.gender, person_birth_date=person.c.birth_date))
    with op.batch_alter_table('registration', schema=None) as batch_op:
        batch_op.create_index('ix_registration_institution_status_stats',
                              ['institution_id', 'status', 'id', 'category', 'level',
                               'department_id', 'person_gender', 'person_birth_date',
                               'person_id'], unique=False)
        batch_op.drop_index('ix_registration_institution_status')


def downgrade():
    with op.batch_alter_table('registration', schema=None) as batch_op:
        batch_op.create_index('ix_registration_institution_status',
                              ['institution_id', 'status', 'id'], unique=False)
        batch_op.drop_index('ix_registration_institution_status_stats')
        batch_op.drop_column('person_birth_date')
        batch_op.drop_column('person_gender')
