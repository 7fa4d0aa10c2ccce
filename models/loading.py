"""How relations are loaded with the rows that show them."""
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
