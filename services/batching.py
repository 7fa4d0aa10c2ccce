"""Id lists built in Python (a few thousand ids found through an index) used as a filter:
on PostgreSQL one array parameter (`= ANY(%s)`, planned once, read as index lookups) instead
of thousands of bound parameters; elsewhere `IN (…)` in pieces SQLite accepts."""
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from models import db

ID_PART = 5000


def id_parts(ids, size: int = ID_PART):
    ids = list(ids)
    for i in range(0, len(ids), size):
        yield ids[i:i + size]


def id_in(column, ids):
    """`column IN ids` for an id list of any length (SQLite: at most 30,000 ids)."""
    ids = list(ids)
    if not ids:
        return sa.false()
    if db.session.get_bind().dialect.name == "postgresql":
        return column == sa.any_(sa.bindparam(None, ids, type_=postgresql.ARRAY(sa.Integer)))
    return column.in_(ids)
