"""username keys for case-insensitive logins: lower-cased 用户名 with a unique index, so a login
is one index lookup instead of lower(username) over every account (issue 8)

Revision ID: 5cf2b3b4ca0e
Revises: 47cd3fcedee2
Create Date: 2026-11-26 16:51:40.014171

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5cf2b3b4ca0e'
down_revision = '47cd3fcedee2'
branch_labels = None
depends_on = None


def upgrade():
    for table in ("console_user", "physician_account"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('username_key', sa.String(length=32), nullable=True))
        t = sa.table(table, sa.column("username"), sa.column("username_key"))
        op.execute(sa.update(t).values(username_key=sa.func.lower(t.c.username)))
        # a unique index (SQLite would rebuild the table for a unique constraint)
        op.create_index(f'uq_{table}_username_key', table, ['username_key'], unique=True)


def downgrade():
    for table in ("physician_account", "console_user"):
        op.drop_index(f'uq_{table}_username_key', table_name=table)
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('username_key')
