"""Smoke test of the benchmark harness on a few hundred rows: the bulk loader writes a valid
register (decryptable, checksummed 身份证号; one big institution), and one page is measured
against its raw SQL."""
import sqlalchemy as sa
from stdnum.cn import ric


def test_loader_writes_a_valid_register_and_a_page_is_measured(app, app_ctx):
    from bench import loader
    from bench.appsetup import signed_in_client
    from bench.measure import SqlRecorder, measure_get, replay_raw, row_statements
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
    users = loader.ensure_users(big)
    client = signed_in_client(app, "console", users["bench_org"])
    rec = SqlRecorder(db.engine)
    try:
        res = measure_get(app, client, rec, "/org/main-physicians/", repeat=3, warmup=1)
    finally:
        rec.close()
    assert res["status"] == 200 and res["statements"] >= 3 and res["p50"] > 0
    raw = replay_raw(db.engine, row_statements(res["_statements"]), repeat=2, warmup=0)
    assert raw["n"] == 2 and raw["p50"] > 0
    page = client.get("/org/main-physicians/").get_data(as_text=True)
    assert f"本次查询共查到{valid}条数据" in page
