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
    if dialect not in ("postgresql", "sqlite"):
        return column.in_(ids)
    return id_in_parameter(column, None, dialect, id_list_value(ids, dialect))


def id_in_parameter(column, name: str | None, dialect: str, value=None):
    """id_in's expression with the list as the parameter `name`, given at execution as
    id_list_value(ids) — for a statement built once and executed with other lists."""
    if dialect == "postgresql":
        return column == sa.any_(sa.bindparam(name, value, type_=postgresql.ARRAY(sa.Integer)))
    values = sa.func.json_each(sa.bindparam(name, value, type_=sa.String)).table_valued("value")
    return column.in_(sa.select(values.c.value))


def id_list_value(ids, dialect: str):
    """An id list as id_in_parameter's parameter takes it."""
    ids = [int(i) for i in ids]
    return ids if dialect == "postgresql" else json.dumps(ids)
