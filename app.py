"""医师电子化注册信息系统 — application factory and the embedded default server."""
import os
from pathlib import Path

from flask import Flask

from config import build_config


def create_app(config: dict | None = None) -> Flask:
    cfg = build_config(config)
    app = Flask(__name__, instance_path=cfg["INSTANCE_PATH"], instance_relative_config=False)
    app.config.update(cfg)
    app.config.setdefault("ADMIN_TRANSLATIONS", _compile_admin_translations(app))

    from extensions import babel, csrf, migrate
    from models import db

    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).parent / "migrations"))
    csrf.init_app(app)
    babel.init_app(app, default_locale="zh_Hans_CN", locale_selector=lambda: "zh_Hans_CN")
    _ping_idle(app, db)
    _configure_sqlite(app, db)
    _configure_postgresql(app, db)

    from web import auth, common
    auth.install(app)
    common.install(app)

    from portal import bp as portal_bp
    app.register_blueprint(portal_bp)

    from fhir_api import bp as fhir_bp
    from public_site import bp as public_bp
    app.register_blueprint(public_bp)
    app.register_blueprint(fhir_bp)

    from admin_views.auth import bp as console_auth_bp
    app.register_blueprint(console_auth_bp)
    from admin_views.console_recovery import register as register_console_recovery
    register_console_recovery(app)

    from admin_views.gov import build_gov_admin
    from admin_views.org import build_org_admin
    build_org_admin(app)
    build_gov_admin(app)
    from admin_views.base import cached_menu, cached_static_url
    app.jinja_env.globals["cached_menu"] = cached_menu
    app.jinja_env.globals["cached_static_url"] = cached_static_url

    from seed.commands import register_commands
    register_commands(app)
    from ops.cli import register_ops
    register_ops(app)
    return app


def _compile_admin_translations(app) -> str:
    """Flask-Admin ships a zh_Hans_CN .mo older than its .po: compile the .po into instance/."""
    import flask_admin
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    src = Path(flask_admin.__file__).parent / "translations" / "zh_Hans_CN" / "LC_MESSAGES" / "admin.po"
    dest_dir = Path(app.instance_path) / "translations" / "zh_Hans_CN" / "LC_MESSAGES"
    dest = dest_dir / "admin.mo"
    if not dest.exists() or dest.stat().st_mtime < src.stat().st_mtime:
        dest_dir.mkdir(parents=True, exist_ok=True)
        with open(src, "rb") as fh:
            catalog = read_po(fh, locale="zh_Hans_CN")
        tmp = dest.with_suffix(f".{os.getpid()}.tmp")
        with open(tmp, "wb") as fh:
            write_mo(fh, catalog)
        os.replace(tmp, dest)
    return str(dest_dir.parent.parent)


def _ping_idle(app, db):
    """Pessimistic disconnect handling without a round trip per request: a connection that
    sat in the pool longer than DB_PING_AFTER_IDLE_SECONDS (the server may have restarted or
    dropped it meanwhile) is tested on checkout and replaced if dead; one in steady use is
    not (`pool_pre_ping` would ping before every request)."""
    import time

    import sqlalchemy as sa

    idle_limit = float(app.config["DB_PING_AFTER_IDLE_SECONDS"])
    with app.app_context():
        engine = db.engine

    @sa.event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_conn, record):
        record.info["checked_in_at"] = time.monotonic()

    @sa.event.listens_for(engine, "checkout")
    def _checked_out(dbapi_conn, record, _proxy):
        since = record.info.get("checked_in_at")
        if since is None or time.monotonic() - since <= idle_limit:
            return
        try:
            cur = dbapi_conn.cursor()
            cur.execute("SELECT 1")
            cur.close()
            dbapi_conn.rollback()
        except Exception as exc:  # noqa: BLE001 (any failure means a dead connection)
            # the pool discards this connection and checks out a fresh one
            raise sa.exc.DisconnectionError() from exc


def _configure_sqlite(app, db):
    """WAL, a busy timeout and foreign keys on every SQLite connection."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return
    import sqlalchemy as sa

    with app.app_context():
        engine = db.engine

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=10000")
        if ":memory:" not in app.config["SQLALCHEMY_DATABASE_URI"]:
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        # page cache per connection (SQLite's default is 2 MB): a national register's indexes
        # are gigabytes, and an import or a big institution's page touches many of their pages
        cur.execute(f"PRAGMA cache_size=-{int(app.config['SQLITE_CACHE_KIB'])}")
        cur.execute(f"PRAGMA wal_autocheckpoint={int(app.config['SQLITE_WAL_AUTOCHECKPOINT'])}")
        cur.close()

    @sa.event.listens_for(engine, "checkin")
    def _on_checkin(dbapi_conn, record):
        # an import holds WAL checkpoints back in its own commits only
        # (services.registry_import._hold_wal_write_back)
        if dbapi_conn is not None and record.info.pop("wal_checkpoint_held", False):
            cur = dbapi_conn.cursor()
            cur.execute(
                f"PRAGMA wal_autocheckpoint={int(app.config['SQLITE_WAL_AUTOCHECKPOINT'])}")
            cur.close()


def _configure_postgresql(app, db):
    """Keep psycopg's prepared statements across requests, and end a request's transaction
    in one round trip.

    psycopg prepares a statement on its fifth use on a connection, so PostgreSQL stops
    planning it (1.4 ms for the session lookup's six-table join) — but its rollback() forgets
    them all (and sends DEALLOCATE ALL), since a rolled-back transaction may have changed the
    tables they were planned against. A request's session ends its transaction with a
    rollback, so nothing would ever stay prepared. PostgreSQL's prepared statements outlive
    a ROLLBACK, and the plans of those whose tables a rolled-back transaction altered are
    re-planned by the server; only a statement prepared inside a transaction that changed a
    table's definition could come back with another row type. So a transaction that ran no
    DDL ends with a plain ROLLBACK sent past psycopg (one round trip; measured on this
    machine ~0.12–0.4 ms each, ten per page), which psycopg then finds finished and keeps
    its statements; one that ran DDL takes psycopg's own rollback. Either way everything
    the transaction wrote, by any path, COPY included, is undone."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        return
    import psycopg
    import sqlalchemy as sa

    with app.app_context():
        engine = db.engine
    engine.dialect.statement_compiler = _limit_written_in(engine.dialect.statement_compiler)
    idle = psycopg.pq.TransactionStatus.IDLE

    @sa.event.listens_for(engine, "before_cursor_execute")
    def _note_ddl(conn, _cursor, statement, _params, _context, _executemany):
        if statement.lstrip()[:8].upper().startswith(_DDL_WORDS):
            conn.info["ddl_in_transaction"] = True

    @sa.event.listens_for(engine, "commit")
    def _forget_ddl(conn):
        conn.info.pop("ddl_in_transaction", None)

    @sa.event.listens_for(engine, "rollback")
    def _roll_back_keeping_prepared_statements(conn):
        raw = conn.connection.dbapi_connection
        if conn.info.pop("ddl_in_transaction", False) or raw is None \
                or raw.info.transaction_status == idle:
            return  # psycopg's rollback (forgets the statements) or nothing to end
        try:
            raw.pgconn.exec_(b"ROLLBACK")
        except psycopg.Error:
            pass  # a broken connection: psycopg's rollback that follows deals with it


# statements that may change a table's definition (a prepared statement's row type with it)
_DDL_WORDS = ("CREATE", "ALTER", "DROP", "DO")


def _limit_written_in(compiler_class):
    """PostgreSQL statement compiler that writes LIMIT's number into the SQL (`LIMIT 20`)
    instead of sending it as a parameter.

    A prepared statement is planned once ("generic plan") only when that plan costs about as
    much as planning with the actual values; with `LIMIT $1` the generic plan must assume
    any number of rows, so PostgreSQL planned every list page anew — 1.9 ms each for the
    registry list's five-table join, more than running it. Page sizes are a handful of
    constants (20, 50, 21, …), so each gets its own statement text; OFFSET stays a
    parameter (one text for every page number). The value is an integer SQLAlchemy already
    checked, rendered by the Integer type's literal processor."""

    class LimitWrittenInCompiler(compiler_class):
        def limit_clause(self, select, **kw):
            if select._limit_clause is None:
                return super().limit_clause(select, **kw)
            text = " \n LIMIT " + self.process(select._limit_clause,
                                                **{**kw, "literal_execute": True})
            if select._offset_clause is not None:
                text += " OFFSET " + self.process(select._offset_clause, **kw)
            return text

    return LimitWrittenInCompiler


def main():
    from seed.commands import ensure_demo_data, print_demo_accounts

    app = create_app()
    with app.app_context():
        ensure_demo_data()
        print_demo_accounts()
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "5000"))
    app.run(host=host, port=port, debug=False, use_reloader=False)


if __name__ == "__main__":
    main()
