"""registration.person_name: the person's 姓名 as the sort key of a hospital's lists

Revision ID: 4574d257d9a9
Revises: 3f1c2a9b7d10
Create Date: 2026-11-26 22:25:45.936475

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '4574d257d9a9'
down_revision = '3f1c2a9b7d10'
branch_labels = None
depends_on = None

# the tables as this revision knows them (not the models, which may change later)
registration = sa.table("registration", sa.column("person_id", sa.Integer),
                        sa.column("person_name", sa.String))
person = sa.table("person", sa.column("id", sa.Integer), sa.column("name", sa.String))


def upgrade():
    with op.batch_alter_table('registration', schema=None) as batch_op:
        batch_op.add_column(sa.Column('person_name', sa.String(length=32), nullable=True))
    # every existing registration gets its person's name, then the index is built once
    op.execute(sa.update(registration).values(
        person_name=sa.select(person.c.name).where(person.c.id == registration.c.person_id)
        .scalar_subquery()))
    with op.batch_alter_table('registration', schema=None) as batch_op:
        batch_op.create_index('ix_registration_institution_status_name',
                              ['institution_id', 'status', 'person_name', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('registration', schema=None) as batch_op:
        batch_op.drop_index('ix_registration_institution_status_name')
        batch_op.drop_column('person_name')
