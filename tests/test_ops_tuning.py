"""gunicorn picks up gunicorn.conf.py from the project directory, and its worker hook
leaves the collector tuned for serving."""
import gc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_gunicorn_config_tunes_the_collector_in_each_worker():
    from gunicorn.config import Config
    cfg = Config()
    namespace = {"__file__": str(ROOT / "gunicorn.conf.py")}
    exec(compile((ROOT / "gunicorn.conf.py").read_text(), "gunicorn.conf.py", "exec"), namespace)
    cfg.set("post_worker_init", namespace["post_worker_init"])
    before = gc.get_threshold()
    try:
        cfg.post_worker_init(None)
        from ops.tuning import SERVING_GC_THRESHOLD
        assert gc.get_threshold() == SERVING_GC_THRESHOLD
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


def test_postgresql_web_sessions_plan_serially_without_jit(app_ctx):
    """Every PostgreSQL connection of the app plans without parallel workers or JIT (a page
    is a few index lookups on a small machine); the statistics refresh, a batch pass, turns
    parallelism back on for its own transaction only, not for the connection."""
    import pytest
    import sqlalchemy as sa

    from models import db
    from services.gov_statistics import refresh_tallies
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL session settings (runs when TEST_DATABASE_URL is set)")

    def setting(name):
        return db.session.execute(sa.text(f"SHOW {name}")).scalar()  # noqa: S608 (constant)

    assert setting("max_parallel_workers_per_gather") == "0"
    assert setting("jit") == "off"
    db.session.rollback()
    assert refresh_tallies() >= 0
    # the refresh's own setting ended with its transaction: the pooled connection serves
    # pages serially again
    assert setting("max_parallel_workers_per_gather") == "0"
    db.session.rollback()


def test_postgresql_session_options_come_from_the_environment(tmp_path, monkeypatch):
    from config import build_config
    monkeypatch.setenv("PG_SESSION_OPTIONS", "-c work_mem=8MB")
    cfg = build_config({"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "x", "DATA_KEY": bytes(32),
                        "SQLALCHEMY_DATABASE_URI": "postgresql://u@h/db"})
    assert cfg["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@h/db"
    assert cfg["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"] == {"options": "-c work_mem=8MB"}
    monkeypatch.delenv("PG_SESSION_OPTIONS")
    sqlite = build_config({"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "x",
                           "DATA_KEY": bytes(32), "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert "connect_args" not in sqlite["SQLALCHEMY_ENGINE_OPTIONS"]


def test_a_dropped_idle_connection_is_replaced_without_an_error(app):
    """A pooled connection the server dropped while it sat idle (a restart, an idle timeout)
    is found dead on checkout and replaced: the next page is served normally. Busy
    connections are not pinged before every request."""
    import pytest
    import sqlalchemy as sa

    from app import create_app
    from models import db
    from tests.conftest import make_test_config
    if not make_test_config()["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("needs a server that can drop a connection (runs with TEST_DATABASE_URL)")
    pinged = create_app(make_test_config(DB_PING_AFTER_IDLE_SECONDS=0))
    with pinged.app_context():
        pid = db.session.execute(sa.text("SELECT pg_backend_pid()")).scalar()
        db.session.remove()  # back to the pool, idle
        with app.app_context():  # another connection ends it, as a server restart would
            db.session.execute(sa.text("SELECT pg_terminate_backend(:p)"), {"p": pid})
            db.session.commit()
    resp = pinged.test_client().get("/healthz")
    assert resp.status_code == 200 and resp.get_json()["db"] is True
    with pinged.app_context():
        assert db.session.execute(sa.text("SELECT pg_backend_pid()")).scalar() != pid
        db.session.remove()
        db.engine.dispose()
