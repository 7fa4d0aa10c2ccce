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


def _prepared_count(conn, like):
    import sqlalchemy as sa
    return conn.execute(sa.text("SELECT count(*) FROM pg_prepared_statements "
                                "WHERE statement LIKE :like"), {"like": like}).scalar()


def test_postgresql_keeps_prepared_statements_past_a_read_only_transaction(app_ctx, make):
    """psycopg prepares a statement on its fifth use and forgets every prepared statement on
    ROLLBACK; a transaction that only read (as most requests' are) is ended with COMMIT, so
    the statement stays prepared and PostgreSQL stops planning it."""
    import pytest
    import sqlalchemy as sa

    from models import db
    from models.institution import Institution
    if db.engine.dialect.name != "postgresql":
        pytest.skip("psycopg prepared statements (runs when TEST_DATABASE_URL is set)")
    inst = make.institution(name="预备语句医院")
    query = sa.select(Institution.name).where(Institution.id == sa.bindparam("i"))
    with db.engine.connect() as conn:
        for _ in range(7):
            assert conn.execute(query, {"i": inst.id}).scalar() == "预备语句医院"
            conn.rollback()  # how a request's session ends its transaction
        assert _prepared_count(conn, "SELECT institution.name%") == 1
        conn.rollback()


def test_a_rolled_back_table_change_leaves_no_stale_prepared_statement(app_ctx):
    """A transaction that ran no DDL ends with a ROLLBACK sent past psycopg, which keeps its
    prepared statements. One that changed a table's definition takes psycopg's own rollback:
    a statement prepared inside it would otherwise come back with the rolled-back row type
    (PostgreSQL: "cached plan must not change result type") on every later use."""
    import pytest
    import sqlalchemy as sa

    from models import db
    if db.engine.dialect.name != "postgresql":
        pytest.skip("psycopg prepared statements (runs when TEST_DATABASE_URL is set)")
    query = sa.text("SELECT * FROM scratch_sheet")
    with db.engine.connect() as conn:
        conn.execute(sa.text("CREATE TEMP TABLE scratch_sheet (a integer)"))
        conn.execute(sa.text("INSERT INTO scratch_sheet VALUES (1)"))
        conn.commit()
        conn.execute(sa.text("ALTER TABLE scratch_sheet ADD COLUMN b text"))
        for _ in range(7):  # prepared on its fifth use, inside the changed table's transaction
            assert conn.execute(query).one()._fields == ("a", "b")
        conn.rollback()
        for _ in range(7):
            assert conn.execute(query).all() == [(1,)]
            conn.rollback()
        assert _prepared_count(conn, "SELECT * FROM scratch_sheet") == 1
        conn.rollback()


def test_a_transaction_that_wrote_is_still_rolled_back(app_ctx, make):
    """Whatever wrote — an ORM flush, plain SQL, a COPY on the driver's own cursor — is
    undone by a rollback, and a read-only rollback changes nothing: the rows are not there."""
    import sqlalchemy as sa

    from models import db
    from models.institution import Department, Institution
    inst = make.institution(name="回滚医院")
    db.session.add(Department(institution_id=inst.id, name="刷新后回滚科"))
    db.session.flush()
    db.session.rollback()
    with db.engine.connect() as conn:
        conn.execute(sa.text("UPDATE institution SET name = '改名未提交' WHERE id = :i"),
                     {"i": inst.id})
        conn.rollback()
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT 1"))  # the transaction SQLAlchemy will roll back
            raw = conn.connection.driver_connection
            with raw.cursor() as cur:
                with cur.copy("COPY department (institution_id, name) FROM STDIN") as copy:
                    copy.write_row((inst.id, "复制后回滚科"))
            conn.rollback()
    assert db.session.scalar(sa.select(Institution.name).where(Institution.id == inst.id)) \
        == "回滚医院"
    assert db.session.scalars(sa.select(Department.name).where(
        Department.institution_id == inst.id)).all() == []


def test_postgresql_plans_a_list_page_once_not_on_every_request(app_ctx, make):
    """LIMIT is written into the statement: with `LIMIT $1` PostgreSQL re-planned every page
    of a list (its generic plan cannot know how many rows are wanted); now the prepared
    statement's one plan serves every request, and the page still has the rows asked for."""
    import pytest
    import sqlalchemy as sa

    from models import db
    from models.institution import Institution
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL plan reuse (runs when TEST_DATABASE_URL is set)")
    for k in range(5):
        make.institution(name=f"计划复用医院{k}")
    # a list page whose filter is written in: LIMIT would be its only parameter
    page = (sa.select(Institution.name).where(sa.text("institution.name LIKE '计划复用医院%'"))
            .order_by(Institution.name.desc()))
    with db.engine.connect() as conn:
        for _ in range(8):
            assert conn.execute(page.limit(3)).scalars().all() == [
                "计划复用医院4", "计划复用医院3", "计划复用医院2"]
            assert conn.execute(page.limit(2).offset(3)).scalars().all() == [
                "计划复用医院1", "计划复用医院0"]
            conn.rollback()
        plans = conn.execute(sa.text(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements "
            "WHERE statement LIKE 'SELECT institution.name%LIMIT 3'")).all()
        assert len(plans) == 1 and plans[0].custom_plans == 0 and plans[0].generic_plans > 0, \
            plans
        conn.rollback()


def test_gunicorn_collects_a_requests_leftovers_once_its_response_is_sent(app, client, make,
                                                                           login_as):
    """A console page leaves its template context — and the rows it showed — in reference
    cycles (its macros close over the context). The worker's post_request hook collects
    them between requests, so the next request does not pay for them."""
    import weakref

    from gunicorn.config import Config

    from models.registry import Registration
    cfg = Config()
    namespace = {"__file__": str(ROOT / "gunicorn.conf.py")}
    exec(compile((ROOT / "gunicorn.conf.py").read_text(), "gunicorn.conf.py", "exec"), namespace)
    cfg.set("post_request", namespace["post_request"])
    inst = make.institution(name="回收测试医院")
    make.registration(make.person(), inst)
    login_as(make.institution_admin(inst))

    loaded = []

    def keep(target, context):
        if isinstance(target, Registration):
            loaded.append(weakref.ref(target))

    from sqlalchemy import event
    event.listen(Registration, "load", keep)
    was_enabled = gc.isenabled()
    gc.disable()  # only the hook may collect in between
    try:
        client.get("/org/main-physicians/")
        assert loaded and any(ref() is not None for ref in loaded), \
            "the page's rows are no longer held in cycles: this test needs another page"
        cfg.post_request(None, None, {}, None)
        assert all(ref() is None for ref in loaded)
    finally:
        event.remove(Registration, "load", keep)
        if was_enabled:
            gc.enable()


def test_between_requests_the_older_generations_follow_pythons_thresholds():
    """Each call collects the young generation; every SERVING_GC_THRESHOLD[1]-th the middle
    one, every SERVING_GC_THRESHOLD[2]-th of those the whole heap — Python's own schedule,
    run between requests instead of inside one."""
    from ops.tuning import SERVING_GC_THRESHOLD, collect_between_requests
    collected = []

    def note(phase, info):
        if phase == "stop":
            collected.append(info["generation"])

    gc.collect()
    gc.callbacks.append(note)
    try:
        # (a middle collection takes the place of the young one on its call)
        calls = (SERVING_GC_THRESHOLD[1] + 1) * SERVING_GC_THRESHOLD[2] + 1
        for _ in range(calls):
            collect_between_requests()
    finally:
        gc.callbacks.remove(note)
    assert collected[-1] == 2 and collected.count(2) == 1
    assert collected.count(1) == SERVING_GC_THRESHOLD[2]
    assert len(collected) == calls
