"""Smoke test of the benchmark harness on a few hundred rows: the bulk loader writes a valid
register (decryptable, checksummed 身份证号; one big institution), and one page is measured
against its raw SQL."""
import sqlalchemy as sa
from stdnum.cn import ric


def test_loader_writes_a_valid_register_and_a_page_is_measured(app, app_ctx):
    from bench import loader
    from bench.appsetup import signed_in_client
    from bench.measure import SqlRecorder, measure_get, merge_rounds, replay_raw, row_statements
    from models import db
    from models.registry import Person, Registration

    loader.build(300, 20, echo=lambda *a: None, big=150)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Person)) == 300
    for p in db.session.scalars(sa.select(Person).limit(20)):
        assert ric.is_valid(p.id_number) and p.id_number_masked == \
            p.id_number[:6] + "********" + p.id_number[-4:]
    big = loader.big_institution_id()
    valid = db.session.scalar(sa.select(sa.func.count()).select_from(Registration).where(
        Registration.institution_id == big, Registration.status == "valid"))
    assert 130 <= valid <= 150
    # the person's 姓名 (the lists' sort key), 性别 and 出生日期 (统计信息), written by the loader
    assert all((r.person_name, r.person_gender, r.person_birth_date)
               == (r.person.name, r.person.gender, r.person.birth_date)
               for r in db.session.scalars(sa.select(Registration)))
    users = loader.ensure_users(big)
    client = signed_in_client(app, "console", users["bench_org"])
    rec = SqlRecorder(db.engine)
    try:
        res = measure_get(app, client, rec, "/org/main-physicians/", repeat=3, warmup=1,
                          probe=True)
        # a page measured in rounds: its result holds every round's requests
        later = measure_get(app, client, rec, "/org/main-physicians/", repeat=2, warmup=0,
                            probe=True)
        missing = measure_get(app, client, rec, "/org/main-physicians/999999999/", repeat=2,
                              warmup=0)
    finally:
        rec.close()
    assert res["status"] == 200 and res["statements"] >= 3 and res["p50"] > 0
    merged = merge_rounds([res, later])
    assert merged["status"] == 200 and merged["n"] == 5
    assert sorted(merged["_samples"]["times"]) == sorted(res["_samples"]["times"]
                                                        + later["_samples"]["times"])
    # the machine probe: one value per measured request, in the same order as the times
    assert merged["_samples"]["probe"] == res["_samples"]["probe"] + later["_samples"]["probe"]
    assert len(merged["_samples"]["probe"]) == 5 and min(merged["_samples"]["probe"]) > 0
    # a round that did not answer 200 stands for the page: it is not measured
    failed = merge_rounds([res, missing])
    assert failed["status"] == 404 and failed["n"] == 0 and failed["p50"] is None
    raw = replay_raw(db.engine, row_statements(res["_statements"]), repeat=2, warmup=0)
    assert raw["n"] == 2 and raw["p50"] > 0
    page = client.get("/org/main-physicians/").get_data(as_text=True)
    assert f"本次查询共查到{valid}条数据" in page


def test_a_reused_data_set_gets_the_columns_and_indexes_added_since():
    """A data set built by an older version (no registration.person_name, person_gender, nor
    the indexes on them; a table since added; an index since replaced; a foreign key since
    dropped) is brought up to the models before it is measured: the columns filled, the
    table and the indexes built, the replaced index and the dropped key removed (the
    table's rows and other indexes kept)."""
    from app import create_app
    from bench import loader
    from alembic.migration import MigrationContext
    from alembic.operations import Operations

    from bench.run import bring_schema_up_to_models
    from models import db
    from models.registry import index_bulk_load
    from tests.conftest import make_test_config
    from tests.helpers import fresh_database_url

    app = create_app(make_test_config(SQLALCHEMY_DATABASE_URI=fresh_database_url("bench")))
    with app.app_context():
        db.create_all()
        try:
            from seed.reference import load_reference
            load_reference()
            db.session.commit()
            loader.build(40, 5, echo=lambda *a: None, big=20)
            with db.engine.begin() as conn:
                index_bulk_load(conn)  # rows the loader wrote directly
                conn.execute(sa.text("DROP INDEX ix_registration_institution_status_name"))
                conn.execute(sa.text("ALTER TABLE registration DROP COLUMN person_name"))
                conn.execute(sa.text("DROP INDEX ix_registration_institution_status_stats"))
                conn.execute(sa.text("ALTER TABLE registration DROP COLUMN person_gender"))
                conn.execute(sa.text(  # filings written before the column existed
                    "INSERT INTO filing (registration_id, institution_id, authority_id, status, "
                    "filed_on) SELECT id, institution_id, authority_id, 'valid', '2020-01-01' "
                    "FROM registration ORDER BY id LIMIT 3"))
                conn.execute(sa.text("DROP INDEX ix_filing_registration_institution_status"))
                conn.execute(sa.text("ALTER TABLE filing DROP COLUMN registration_institution_id"))
                # a table the models have gained since
                conn.execute(sa.text("DROP TABLE registration_move"))
                # an index the models have since replaced
                conn.execute(sa.text("CREATE INDEX ix_registration_institution_status "
                                     "ON registration (institution_id, status, id)"))
                # a foreign key the models have since dropped (region rows: derived)
                with Operations(MigrationContext.configure(conn)).batch_alter_table(
                        "qualification_region",
                        table_kwargs={"sqlite_with_rowid": False}) as batch_op:
                    batch_op.create_foreign_key(
                        "fk_qualification_region_qualification_id_qualification",
                        "qualification", ["qualification_id"], ["id"])
            region_rows = db.session.scalar(sa.text("SELECT count(*) FROM qualification_region"))
            db.session.remove()
            assert sa.inspect(db.engine).get_foreign_keys("qualification_region")
            assert sorted(bring_schema_up_to_models(db)) == [
                "-fk_qualification_region_qualification_id_qualification",
                "-ix_registration_institution_status", "filing.registration_institution_id",
                "ix_filing_registration_institution_status",
                "ix_registration_institution_status_name",
                "ix_registration_institution_status_stats", "registration.person_gender",
                "registration.person_name", "registration_move"]
            copies = db.session.execute(sa.text(
                "SELECT r.person_name, p.name, r.person_gender, p.gender FROM registration r "
                "JOIN person p ON p.id = r.person_id")).all()
            assert len(copies) >= 40 and all(a == b and c == d for a, b, c, d in copies)
            filings = db.session.execute(sa.text(
                "SELECT f.registration_institution_id, r.institution_id FROM filing f "
                "JOIN registration r ON r.id = f.registration_id")).all()
            assert len(filings) == 3 and all(a == b for a, b in filings)
            indexes = {i["name"] for i in sa.inspect(db.engine).get_indexes("registration")}
            assert {"ix_registration_institution_status_name",
                    "ix_registration_institution_status_stats"} <= indexes
            assert "ix_registration_institution_status" not in indexes
            assert {"ix_registration_move_from_day", "ix_registration_move_registration_id"} == {
                i["name"] for i in sa.inspect(db.engine).get_indexes("registration_move")}
            db.engine.dispose()  # SQLite: the rebuilt table's definition read afresh
            inspector = sa.inspect(db.engine)
            assert inspector.get_foreign_keys("qualification_region") == []
            assert "ix_qualification_region_qualification_id" in {
                i["name"] for i in inspector.get_indexes("qualification_region")}
            assert db.session.scalar(sa.text(
                "SELECT count(*) FROM qualification_region")) == region_rows > 0
            if db.engine.dialect.name == "sqlite":
                assert "WITHOUT ROWID" in db.session.scalar(sa.text(
                    "SELECT sql FROM sqlite_master WHERE name = 'qualification_region'"))
            assert bring_schema_up_to_models(db) == []
        finally:
            db.session.remove()
            db.drop_all()
            db.engine.dispose()


def test_the_bench_import_file_holds_only_persons_the_register_lacks(app_ctx):
    """The bench's import file is made of new persons: a 身份证号 it would have generated
    that the register already holds (the data set's persons share areas, birth dates and
    sequence numbers) is replaced by another, and none repeats in the file."""
    import datetime as dt

    from bench.actions import _unregistered_id_numbers
    from tests import factories as F
    first = _unregistered_id_numbers(30, stamp=4242)
    registered = [first[3][0], first[17][0]]
    for idno in registered:
        F.person(id_no=idno, birth=dt.date.fromisoformat(
            f"{idno[6:10]}-{idno[10:12]}-{idno[12:14]}"))
    again = _unregistered_id_numbers(30, stamp=4242)
    numbers = [idno for idno, _ in again]
    assert len(set(numbers)) == 30 and not set(registered) & set(numbers)
    assert [n for n in numbers if n not in registered] and numbers[0] == first[0][0]
    for idno, birth in again:
        assert ric.is_valid(idno) and idno[6:14] == f"{birth:%Y%m%d}"


def test_the_steady_p95_leaves_out_the_requests_taken_while_the_machine_ran_slow():
    """A request whose machine probe ran over 1.3x the run's median probe is left out of the
    steady figures; the plain p95 keeps every request, and the report shows both."""
    from bench.measure import machine_summary, steady_summary
    from bench.report import markdown

    times = [10.0, 11.0, 12.0, 50.0, 13.0, 48.0]
    probes = [1.0, 1.05, 0.9, 3.0, 0.95, 1.4]  # the 50 and 48 ms requests: slow moments
    machine = machine_summary(probes)
    assert machine["min"] == 0.9 and machine["slow_share"] == 2 / 6
    steady = steady_summary(times, probes, probe_p50=machine["p50"])
    assert steady["n"] == 4 and steady["p95"] < 13.0 < 48.0
    assert steady_summary(times, probes[:-1], probe_p50=1.0)["n"] == 0  # unpaired: none
    assert steady_summary(times, probes, probe_p50=None)["n"] == 0
    page = {"page": "org_main_physicians page 1", "url": "/org/main-physicians/",
            "target_p95": 30, "meets_target": False,
            "ours": {"status": 200, "p50": 12.5, "p95": 49.5, "statements": 4,
                     "steady": steady}}
    md = markdown({"meta": {"scale": "tiny", "database": "sqlite", "started": "", "python": "",
                            "machine": ""}, "machine": machine, "pages": [page]})
    row = next(line for line in md.splitlines() if line.startswith("| org_main_physicians"))
    assert f"| {steady['p95']:.2f} (4) |" in row and row.endswith("| NO |")
    assert "p95 ÷ p50" in md and "for 33% of them the slower" in md
