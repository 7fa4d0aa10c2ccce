"""application: (confirming institution | authority, status, id) and (applicant institution,
id) indexes, so that a page of a business list (newest first, keyset `id < before`) is one index
range read backwards instead of every application of the list's history read and sorted

Revision ID: 7d2f4b8e1c06
Revises: 1a47e3c9fd6a
Create Date: 2026-11-28 07:20:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '7d2f4b8e1c06'
down_revision = '1a47e3c9fd6a'
branch_labels = None
depends_on = None

INDEXES = {
    "ix_application_confirming_status_id": ["confirming_institution_id", "status", "id"],
    "ix_application_authority_status_id": ["authority_id", "status", "id"],
    "ix_application_applicant_id": ["applicant_institution_id", "id"],
}


def upgrade():
    with op.batch_alter_table('application', schema=None) as batch_op:
        for name, columns in INDEXES.items():
            batch_op.create_index(name, columns, unique=False)


def downgrade():
    with op.batch_alter_table('application', schema=None) as batch_op:
        for name in reversed(list(INDEXES)):
            batch_op.drop_index(name)
