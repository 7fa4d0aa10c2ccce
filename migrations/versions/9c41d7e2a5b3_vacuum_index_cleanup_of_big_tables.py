"""index cleanup on every vacuum of the national-size tables (PostgreSQL only)

A vacuum that skips the indexes leaves the busy pages without the all-visible bit (see
models.maintenance).

Revision ID: 9c41d7e2a5b3
Revises: 0bd30bc85652
Create Date: 2026-11-27 02:40:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '9c41d7e2a5b3'
down_revision = '0bd30bc85652'
branch_labels = None
depends_on = None

# the same list as models.maintenance (kept literal here: a migration must not change when
# the models do)
TABLES = ("person", "qualification", "registration", "registration_scope",
          "physician_account", "institution", "application", "assessment", "audit_log",
          "qualification_region", "assessment_region", "credit_record_region")


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f'ALTER TABLE "{table}" SET (vacuum_index_cleanup = on)')


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f'ALTER TABLE "{table}" RESET (vacuum_index_cleanup)')
