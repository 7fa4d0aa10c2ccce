"""audit_log index by action and time

The change feed asks for one action in a window; (action, at) answers it as one index range,
whatever plan PostgreSQL keeps for the prepared statement. It serves every query by action
alone as well, so the single-column index goes.

Revision ID: 94fb7a937bd4
Revises: 9c41d7e2a5b3
Create Date: 2026-11-27 02:32:54.997447

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '94fb7a937bd4'
down_revision = '9c41d7e2a5b3'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index('ix_audit_log_action_at', ['action', 'at'], unique=False)
        batch_op.drop_index(batch_op.f('ix_audit_log_action'))


def downgrade():
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_action'), ['action'], unique=False)
        batch_op.drop_index('ix_audit_log_action_at')
