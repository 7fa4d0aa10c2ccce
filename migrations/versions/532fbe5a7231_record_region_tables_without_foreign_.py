"""record region tables without foreign keys

qualification_region, assessment_region and credit_record_region are derived rows (who sees
a record), kept like an index in the record's own transaction; the per-row key check was a
third of what PostgreSQL spent writing an import's region rows. SQLite rebuilds each table
(batch mode), keeping it WITHOUT ROWID.

Revision ID: 532fbe5a7231
Revises: d74ca85f4741
Create Date: 2026-11-27 06:12:39.953360

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '532fbe5a7231'
down_revision = 'd74ca85f4741'
branch_labels = None
depends_on = None

KEYS = (("qualification_region", "qualification_id", "qualification"),
        ("assessment_region", "assessment_id", "assessment"),
        ("credit_record_region", "credit_record_id", "credit_record"))


def _name(table, column, target):
    return f"fk_{table}_{column}_{target}"


def upgrade():
    for table, column, target in KEYS:
        with op.batch_alter_table(table, schema=None,
                                  table_kwargs={"sqlite_with_rowid": False}) as batch_op:
            batch_op.drop_constraint(_name(table, column, target), type_="foreignkey")


def downgrade():
    for table, column, target in KEYS:
        with op.batch_alter_table(table, schema=None,
                                  table_kwargs={"sqlite_with_rowid": False}) as batch_op:
            batch_op.create_foreign_key(_name(table, column, target), target, [column], ["id"])
