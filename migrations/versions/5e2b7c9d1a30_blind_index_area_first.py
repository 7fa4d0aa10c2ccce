"""blind indexes of 身份证号 start with the area code (the masked copy's first six digits),
then the HMAC's first 128 bits: one province's persons sit together in the index

Revision ID: 5e2b7c9d1a30
Revises: 2a6c8e0f4b17
Create Date: 2026-11-27 23:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5e2b7c9d1a30'
down_revision = '2a6c8e0f4b17'
branch_labels = None
depends_on = None

TABLES = ("person", "physician_account", "direct_business")


def _table(name):
    return sa.table(name, sa.column("id", sa.Integer), sa.column("id_number_enc"),
                    sa.column("id_number_hash", sa.String),
                    sa.column("id_number_masked", sa.String))


def upgrade():
    # from the stored columns, no key needed (models.identity.blind_index_of's form)
    for name in TABLES:
        t = _table(name)
        area = sa.case((sa.func.length(t.c.id_number_masked) >= 10,
                        sa.func.substr(t.c.id_number_masked, 1, 6)), else_="")
        op.execute(sa.update(t).where(sa.func.length(t.c.id_number_hash) == 64).values(
            id_number_hash=area + sa.func.substr(t.c.id_number_hash, 1, 32)))


def downgrade():
    # the whole HMAC again: it is recomputed from the ciphertext with the app's keys
    import hashlib
    import hmac

    from models.identity import _keys, decrypt_id_number
    _, idx_key = _keys()
    conn = op.get_bind()
    for name in TABLES:
        t = _table(name)
        rows = conn.execute(sa.select(t.c.id, t.c.id_number_enc)).all()
        update = sa.update(t).where(t.c.id == sa.bindparam("row_id")).values(
            id_number_hash=sa.bindparam("whole"))
        for start in range(0, len(rows), 5000):
            conn.execute(update, [
                {"row_id": row_id, "whole": hmac.new(idx_key, decrypt_id_number(enc).encode(),
                                                     hashlib.sha256).hexdigest()}
                for row_id, enc in rows[start:start + 5000]])
