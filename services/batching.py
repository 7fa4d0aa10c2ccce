"""Id lists built in Python (a few thousand ids found through an index) used as a filter,
bound as one parameter instead of thousands."""
import json

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from models import db

def id_in(column, ids):
    """`column IN ids` for an id list of any length, as one bound parameter: PostgreSQL
    `= ANY(array)`, SQLite `IN (SELECT value FROM json_each(?))` (thousands of separate
    parameters cost more to build and bind than the lookups themselves)."""
    ids = [int(i) for i in ids]
    if not ids:
        return sa.false()
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        return column == sa.any_(sa.bindparam(None, ids, type_=postgresql.ARRAY(sa.Integer)))
    if dialect == "sqlite":
        values = sa.func.json_each(json.dumps(ids)).table_valued("value")
        return column.in_(sa.select(values.c.value))
    return column.in_(ids)
