"""How relations are loaded with the rows that show them, how a page's constants reach the
SQL, and which readings are kept between requests."""
import datetime as dt
import time

import sqlalchemy as sa
from sqlalchemy import orm

from . import db


def collection_load(attr, parent=None):
    """Loader option for a collection a page shows with its rows: joined to them on
    PostgreSQL (each statement there is a round trip between processes), a statement of its
    own on SQLite, whose planner would build the whole association table for an outer join
    to a nested join (执业范围: registration_scope joined to practice_scope)."""
    joined = db.session.get_bind().dialect.name == "postgresql"
    how = "joinedload" if joined else "selectinload"
    return getattr(parent if parent is not None else orm, how)(attr)


def page_rows_select(stmt, model, *loads):
    """The rows a paged `select(model)` chooses (its filters, order by the model's own columns,
    LIMIT/OFFSET), with the relations the page shows loaded in the same statement.

    Joining the relations to the paged statement itself would join them for every row the
    OFFSET skips as well; here the page's ids are chosen first, in a subquery that reads the
    list's index alone, and only those rows are joined to their relations. (The Flask-Admin
    lists do the same with their Query: admin_views.base.page_rows_with_loads.)"""
    order = stmt._order_by_clauses  # Select keeps no public accessor for its ORDER BY
    page_ids = stmt.with_only_columns(model.id).subquery()
    return (sa.select(model).join(page_ids, model.id == page_ids.c.id)
            .options(*loads).order_by(*order))


def written_in(value, type_=None):
    """A constant written into the SQL at execution rather than sent as a parameter: ids,
    dates, status values and the code's own strings, never text a user typed (SQLAlchemy's
    literal processors render them). PostgreSQL keeps one generic plan for a prepared
    statement, made for an average value: an institution's lists were planned for an
    institution of 5 physicians and probed the filings or persons once per physician of a
    hospital of 4,500 (5–16 ms) where a plan for that hospital reads one index range
    (0.2–3 ms). Each institution then has its own prepared statement."""
    kind = type_ or {dt.datetime: sa.DateTime, dt.date: sa.Date, int: sa.Integer}.get(
        type(value), sa.String)
    return sa.bindparam(None, value, type_=kind, literal_execute=True)


def kept_reading(store, session, key, max_age: float, read, limit: int = 512):
    """`read()`'s value for `key`, kept per database in `store` (a WeakKeyDictionary by
    engine) and read again once it is older than `max_age` seconds. Only for what may be a
    little stale: reference lists, or counts that merely choose a plan. At most `limit`
    keys are kept per database (all are dropped when it is reached)."""
    kept = store.setdefault(session.get_bind(), {})
    now = time.monotonic()
    reading = kept.get(key)
    if reading is None or now - reading[0] > max_age:
        if len(kept) >= limit:
            kept.clear()
        reading = kept[key] = (now, read())
    return reading[1]
