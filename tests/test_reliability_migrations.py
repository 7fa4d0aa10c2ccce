"""`flask db upgrade` on a database made by the first migration keeps every row.

Revision-agnostic: the database is built at the oldest revision, every table of that schema
gets a row through plain SQL (values generated from the reflected column types, foreign keys
pointing at the parent rows), then the database is upgraded to head and every row must still
be there with its values. With one revision this is a no-op upgrade; it becomes a real test as
soon as a second migration exists."""
import datetime as dt

import pytest
import sqlalchemy as sa

from tests.helpers import fresh_database_url


@pytest.fixture()
def fresh_app():
    from app import create_app
    from models import db
    from tests.conftest import make_test_config
    application = create_app(make_test_config(SQLALCHEMY_DATABASE_URI=fresh_database_url("relmig")))
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


def _value(column, n: int):
    """A value of the column's type; n keeps unique columns unique."""
    t = column.type
    py = None
    try:
        py = t.python_type
    except NotImplementedError:
        pass
    if isinstance(t, sa.JSON) or py is dict:
        return {"k": n}
    if isinstance(t, sa.Boolean) or py is bool:
        return True
    if isinstance(t, (sa.Integer, sa.BigInteger, sa.SmallInteger)) or py is int:
        return n
    if isinstance(t, sa.Numeric) or py in (float,):
        return 1.5
    if isinstance(t, sa.DateTime) or py is dt.datetime:
        return dt.datetime(2020, 1, 2, 3, 4, 5)
    if isinstance(t, sa.Date) or py is dt.date:
        return dt.date(2020, 1, 2)
    if isinstance(t, sa.Time) or py is dt.time:
        return dt.time(3, 4, 5)
    if isinstance(t, sa.LargeBinary) or py is bytes:
        return b"\x00\x01row" + str(n).encode()
    length = getattr(t, "length", None) or 32
    text = f"{n}v{column.name}"
    return text[:length]


def _fill(conn, metadata) -> dict:
    """One row per table, parents first; returns {table: row dict}."""
    rows: dict[str, dict] = {}
    for i, table in enumerate(metadata.sorted_tables):
        if table.name == "alembic_version":
            continue
        row = {}
        for col in table.columns:
            fks = list(col.foreign_keys)
            if fks:
                target = fks[0].column
                parent = rows.get(target.table.name)
                if parent is not None:
                    row[col.name] = parent[target.name]
                elif not col.nullable:
                    raise AssertionError(f"{table.name}.{col.name}: no parent row")
                continue
            row[col.name] = _value(col, 100 + i)
        conn.execute(table.insert().values(**row))
        rows[table.name] = row
    return rows


def _norm(v):
    if isinstance(v, memoryview):
        return bytes(v)
    return v


def test_upgrade_from_the_first_revision_keeps_every_row(fresh_app):
    from alembic.script import ScriptDirectory
    from flask import current_app
    from flask_migrate import upgrade

    from models import db
    with fresh_app.app_context():
        cfg = current_app.extensions["migrate"].migrate.get_config()
        script = ScriptDirectory.from_config(cfg)
        revisions = list(reversed(list(script.walk_revisions())))
        assert revisions, "no migrations"
        upgrade(revision=revisions[0].revision)
        old = sa.MetaData()
        old.reflect(bind=db.engine)
        assert len(old.tables) > 10
        with db.engine.begin() as conn:
            rows = _fill(conn, old)
        assert len(rows) == len(old.tables) - 1  # every table but alembic_version

        upgrade()  # to head, through every later revision
        with db.engine.connect() as conn:
            head_rev = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
        assert head_rev == script.get_current_head()
        new = sa.MetaData()
        new.reflect(bind=db.engine)
        with db.engine.connect() as conn:
            for name, row in rows.items():
                assert name in new.tables, f"table {name} disappeared in an upgrade"
                table = new.tables[name]
                got = conn.execute(sa.select(table)).mappings().all()
                assert len(got) == 1, name
                for col, value in row.items():
                    if col in table.columns:
                        assert _norm(got[0][col]) == value, (name, col)
            # derived on the way: who sees the qualification (its person's 身份证号 area)
            masked, qual_id = rows["person"]["id_number_masked"], rows["qualification"]["id"]
            derived = set(conn.execute(sa.text(
                "SELECT region_code, qualification_id FROM qualification_region")).all())
            assert {(masked[:2], qual_id), (masked[:4], qual_id)} <= derived
        db.session.remove()
