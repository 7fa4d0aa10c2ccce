"""autovacuum thresholds of the national-size tables (PostgreSQL only)

Revision ID: 3f1c2a9b7d10
Revises: cb7ba30d85cc
Create Date: 2026-11-26 22:40:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '3f1c2a9b7d10'
down_revision = 'cb7ba30d85cc'
branch_labels = None
depends_on = None

# the same list and values as models.maintenance (kept literal here: a migration must not
# change when the models do)
TABLES = ("person", "qualification", "registration", "registration_scope",
          "physician_account", "institution", "application", "assessment", "audit_log",
          "qualification_region", "assessment_region", "credit_record_region")
SETTINGS = ("autovacuum_vacuum_scale_factor = 0.01, "
            "autovacuum_vacuum_insert_scale_factor = 0.01, "
            "autovacuum_analyze_scale_factor = 0.02")
NAMES = ("autovacuum_vacuum_scale_factor, autovacuum_vacuum_insert_scale_factor, "
         "autovacuum_analyze_scale_factor")


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f'ALTER TABLE "{table}" SET ({SETTINGS})')


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f'ALTER TABLE "{table}" RESET ({NAMES})')
