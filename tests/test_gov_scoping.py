"""A municipal commission never sees institutions, physicians or applications outside its
region: every list, detail, action, export and lookup of /gov/ is tried with the other
city's and the other province's rows."""
import datetime as dt

import pytest
import sqlalchemy as sa

from models import db
from models.application import Application
from models.audit import AuditLog
from models.enums import (ApplicationStatus, ApplicationType, AssessmentResult, AuthorityLevel,
                          ConsoleRole, CreditKind, DirectBusinessKind, UserKind)
from models.messaging import Question
from models.registry import Assessment, CreditRecord, DirectBusiness
from services import Actor, audit
from tests.helpers import csrf_token, text_of


@pytest.fixture()
def world(make):
    shanxi = make.authority(name="山西省卫生健康委员会", region_code="140000")
    taiyuan = make.authority(name="太原市卫生健康委员会", level=AuthorityLevel.MUNICIPAL,
                             region_code="140100", parent=shanxi)
    datong = make.authority(name="大同市卫生健康委员会", level=AuthorityLevel.MUNICIPAL,
                            region_code="140200", parent=shanxi)
    beijing = make.authority(name="北京市卫生健康委员会", region_code="110000")
    rows = {}
    for key, auth, region, area, name in [
            ("mine", taiyuan, "140105", "140100", "太原小店医院"),
            ("city", datong, "140213", "140202", "大同平城医院"),
            ("prov", beijing, "110105", "110105", "北京朝阳医院")]:
        inst = make.institution(name=name, region_code=region, authority_obj=auth)
        person = make.person(name={"mine": "太原医师", "city": "大同医师", "prov": "北京医师"}[key],
                             id_no=make.id_number(area=area, seq=len(rows) + 40))
        reg = make.registration(person, inst)
        db.session.add(Assessment(person_id=person.id, period_start=dt.date(2019, 1, 1),
                                  period_end=dt.date(2021, 12, 31),
                                  result=AssessmentResult.PASSED, assessing_body=f"{name}考核委员会"))
        db.session.add(CreditRecord(person_id=person.id, kind=CreditKind.BAD_CONDUCT,
                                    description=f"{name}不良记录", decided_on=dt.date(2020, 1, 1),
                                    authority_id=auth.id))
        biz = DirectBusiness(kind=DirectBusinessKind.HMT_SHORT_TERM, name=f"{name}港澳医师",
                             nationality="香港", document_type="护照", scope="",
                             valid_from=dt.date(2026, 1, 1), valid_to=dt.date(2026, 6, 1),
                             authority_id=auth.id)
        biz.id_number = f"H{len(rows)}234567"
        question = Question(asker_kind=UserKind.CONSOLE, asker_id=inst.id, asker_name=name,
                            authority_id=auth.id, title=f"{name}的提问", body="内容")
        app_row = Application(type=ApplicationType.REGISTRATION,
                              status=ApplicationStatus.PENDING_APPROVAL,
                              subject_key=f"p:{person.id}", person_id=person.id,
                              applicant_kind=UserKind.PHYSICIAN,
                              confirming_institution_id=inst.id, authority_id=auth.id,
                              accepted_on=dt.date(2026, 1, 5))
        db.session.add_all([biz, question, app_row])
        db.session.commit()
        audit.record(Actor(UserKind.CONSOLE, 1, f"{name}操作员", authority_id=auth.id),
                     "test_action", inst, detail=f"{name}审计")
        db.session.commit()
        rows[key] = {"auth": auth, "inst": inst, "person": person, "reg": reg, "biz": biz,
                     "question": question, "qual": reg.qualification,
                     "assessment": db.session.scalar(sa.select(Assessment.id).where(
                         Assessment.person_id == person.id)),
                     "credit": db.session.scalar(sa.select(CreditRecord.id).where(
                         CreditRecord.person_id == person.id))}
    rows["shanxi"] = shanxi
    return rows


def _foreign(world):
    return [world["city"], world["prov"]]


LISTS = [("/gov/institutions/", "inst", lambda r: r["inst"].name),
         ("/gov/qualifications/", "qual", lambda r: r["person"].name),
         ("/gov/registrations/", "reg", lambda r: r["person"].name),
         ("/gov/assessments/", "assessment", lambda r: r["person"].name),
         ("/gov/credit/", "credit", lambda r: r["person"].name),
         ("/gov/direct/", "biz", lambda r: r["biz"].name),
         ("/gov/questions/", "question", lambda r: r["question"].title)]


def _id(row, key):
    v = row[key]
    return v if isinstance(v, int) else v.id


def test_lists_and_details_stay_in_the_city(client, make, login_as, world):
    login_as(make.reviewer(world["mine"]["auth"]))
    for url, key, text in LISTS:
        page = text_of(client.get(url))
        assert text(world["mine"]) in page, url
        for other in _foreign(world):
            assert text(other) not in page, (url, text(other))
        ok = client.get(f"{url}details/?id={_id(world['mine'], key)}")
        assert ok.status_code == 200, url
        for other in _foreign(world):
            r = client.get(f"{url}details/?id={_id(other, key)}")
            assert r.status_code in (302, 404), (url, r.status_code)
            if r.status_code == 302:
                assert text(other) not in text_of(client.get(r.headers["Location"]))


def test_name_search_and_code_search_stay_in_the_city(client, make, login_as, world):
    login_as(make.reviewer(world["mine"]["auth"]))
    for url in ["/gov/qualifications/", "/gov/registrations/", "/gov/assessments/",
                "/gov/credit/"]:
        for other in _foreign(world):
            p = other["person"]
            for term in [p.name[:1], p.name, p.certificate_no, other["qual"].code]:
                page = text_of(client.get(url, query_string={"search": term}))
                page = page.replace(f'value="{term}"', "")  # the search box echoes the term
                assert p.name not in page, (url, term)
        # an exact 身份证号 reaches other regions only on the qualification list
        if url != "/gov/qualifications/":
            p = world["city"]["person"]
            assert p.name not in text_of(client.get(url, query_string={"search": p.id_number}))


def test_actions_on_foreign_rows_are_not_found(client, make, login_as, world):
    login_as(make.reviewer(world["mine"]["auth"]))
    token = csrf_token(text_of(client.get("/gov/institutions/new/")))
    for other in _foreign(world):
        for method, url in [
                ("post", f"/gov/institutions/reset-password/?id={other['inst'].id}"),
                ("post", f"/gov/institutions/toggle/?id={other['inst'].id}"),
                ("get", f"/gov/institutions/edit-institution/?id={other['inst'].id}"),
                ("get", f"/gov/qualifications/correct/?id={other['qual'].id}"),
                ("post", f"/gov/qualifications/correct/?id={other['qual'].id}"),
                ("get", f"/gov/registrations/correct/?id={other['reg'].id}"),
                ("post", f"/gov/registrations/correct/?id={other['reg'].id}"),
                ("get", f"/gov/direct/edit-business/?id={other['biz'].id}"),
                ("post", f"/gov/direct/edit-business/?id={other['biz'].id}"),
                ("get", f"/gov/questions/answer/?id={other['question'].id}"),
                ("post", f"/gov/questions/answer/?id={other['question'].id}")]:
            r = getattr(client, method)(url, data={"csrf_token": token, "reply": "x",
                                                   "reason": "x", "school": "x"})
            assert r.status_code == 404, (url, r.status_code)
    db.session.expire_all()
    for other in _foreign(world):
        assert db.session.get(type(other["inst"]), other["inst"].id).active
        assert db.session.get(Question, other["question"].id).reply is None


def test_exports_stay_in_the_city(client, make, login_as, world):
    login_as(make.reviewer(world["mine"]["auth"]))
    body = client.get("/gov/institutions/export/csv/").get_data(as_text=True)
    assert world["mine"]["inst"].name in body
    assert all(o["inst"].name not in body for o in _foreign(world))
    assert world["mine"]["inst"].reserved_phone not in body  # masked
    for url in ["/gov/qualifications/export/csv/", "/gov/registrations/export/csv/"]:
        r = client.get(url)
        assert r.status_code in (302, 404) or \
            all(o["person"].name not in r.get_data(as_text=True) for o in _foreign(world))


def test_new_institution_cannot_be_placed_outside_the_city(client, make, login_as, world):
    login_as(make.reviewer(world["mine"]["auth"]))
    page = text_of(client.get("/gov/institutions/new/"))
    assert 'value="140105"' in page
    assert 'value="140213"' not in page and 'value="110105"' not in page
    r = client.post("/gov/institutions/new/", data={
        "csrf_token": csrf_token(page), "name": "越界医院", "license_no": "X1",
        "region_code": "140213", "address": "某路", "responsible_person": "王五",
        "reserved_phone": "13900001111"})
    assert "所在地区不在本审批机关的管辖范围内" in text_of(r)
    # the direct-business form offers only the city's institutions
    page = text_of(client.get("/gov/direct/new/"))
    assert world["mine"]["inst"].name in page
    assert all(o["inst"].name not in page for o in _foreign(world))


def test_statistics_count_only_the_city(client, make, login_as, world):
    from services.gov_statistics import jurisdiction_statistics
    stats = jurisdiction_statistics(world["mine"]["auth"])
    assert dict(stats["by_category"])["临床"] == 1
    assert stats["pending"] == 1
    province = jurisdiction_statistics(world["shanxi"])
    assert dict(province["by_category"])["临床"] == 2 and province["pending"] == 2
    login_as(make.reviewer(world["mine"]["auth"]))
    page = text_of(client.get("/gov/statistics/"))
    assert "大同" not in page and "北京" not in page


def test_audit_log_of_a_city_auditor(client, make, login_as, world):
    auditor = make.console_user(ConsoleRole.AUDITOR, authority_obj=world["mine"]["auth"])
    login_as(auditor)
    page = text_of(client.get("/gov/audit/"))
    assert "太原小店医院审计" in page
    assert "大同平城医院审计" not in page and "北京朝阳医院审计" not in page
    body = client.get("/gov/audit/export/csv/").get_data(as_text=True)
    assert "太原小店医院审计" in body and "大同平城医院审计" not in body
    foreign = db.session.scalar(sa.select(AuditLog.id).where(
        AuditLog.detail == "大同平城医院审计"))
    assert client.get(f"/gov/audit/details/?id={foreign}").status_code in (302, 404)


def test_city_sysadmin_sees_only_its_authorities_and_accounts(client, make, login_as, world):
    other_reviewer = make.reviewer(world["city"]["auth"])
    admin = make.console_user(ConsoleRole.SYSADMIN, authority_obj=world["mine"]["auth"])
    mine = make.reviewer(world["mine"]["auth"])
    login_as(admin)
    page = text_of(client.get("/gov/authorities/"))
    assert "太原市卫生健康委员会" in page and "大同市卫生健康委员会" not in page
    page = text_of(client.get("/gov/accounts/"))
    assert mine.username in page and other_reviewer.username not in page
    assert client.get(f"/gov/accounts/details/?id={other_reviewer.id}").status_code in (302, 404)
    token = csrf_token(text_of(client.get("/gov/accounts/new/")))
    for action in ["reset-password", "toggle"]:
        r = client.post(f"/gov/accounts/{action}/?id={other_reviewer.id}",
                        data={"csrf_token": token})
        assert r.status_code == 404
    r = client.get(f"/gov/authorities/edit-authority/?id={world['city']['auth'].id}")
    assert r.status_code == 404


def test_import_jobs_belong_to_their_authority(client, make, login_as, world):
    from models.audit import ImportJob
    reviewer_city = make.reviewer(world["city"]["auth"])
    job = ImportJob(authority_id=world["city"]["auth"].id, created_by_id=reviewer_city.id,
                    kind="qualification", filename="x.csv", status="done")
    db.session.add(job)
    db.session.commit()
    login_as(make.reviewer(world["mine"]["auth"]))
    for url in [f"/gov/import/{job.id}/", f"/gov/import/{job.id}/status",
                f"/gov/import/{job.id}/report.csv"]:
        assert client.get(url).status_code == 404
    assert "x.csv" not in text_of(client.get("/gov/import/"))


def test_every_gov_route_requires_a_commission_login(client, make, login_as, app):
    """Anonymous → login page (or 403); an institution account → 403, on every /gov/ route."""
    inst_admin = make.institution_admin()
    org = app.test_client()
    login_as(inst_admin, org)
    rules = [r for r in app.url_map.iter_rules() if r.rule.startswith("/gov/")
             and r.endpoint.split(".")[0].startswith("gov")  # the console, not its login pages
             and "GET" in r.methods and "<" not in r.rule and "static" not in r.rule]
    assert len(rules) > 20
    for rule in rules:
        r = client.get(rule.rule)
        assert r.status_code in (302, 401, 403), rule.rule
        if r.status_code == 302:
            assert "/gov/login" in r.headers["Location"], rule.rule
        assert org.get(rule.rule).status_code in (403, 302), rule.rule
        if org.get(rule.rule).status_code == 302:
            assert "/login" in org.get(rule.rule).headers["Location"]


def _list_page_with_statements(client, url, table):
    """The page and the (statement, parameters) of its `SELECT <table>.id … LIMIT` queries."""
    seen = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().startswith(f"SELECT {table}.id") and " LIMIT " in statement:
            seen.append((statement, parameters))

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        page = text_of(client.get(url))
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    return page, seen


def _plan(conn, statement, params) -> str:
    return " | ".join(r[-1] for r in conn.exec_driver_sql(
        "EXPLAIN QUERY PLAN " + statement, params))


def test_provincial_registration_list_runs_on_indexes(client, make, login_as, world):
    """The 执业注册 list of a provincial reviewer is one range of the (province_code, id)
    index read newest first: no `LIKE '14%'`, no scan of registration, no sort of the
    province's rows; the province sees both of its cities and not 北京 (SQLite planner)."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("plan check written for SQLite's EXPLAIN QUERY PLAN")
    login_as(make.reviewer(world["shanxi"]))
    page, seen = _list_page_with_statements(client, "/gov/registrations/", "registration")
    assert "太原医师" in page and "大同医师" in page and "北京医师" not in page
    assert len(seen) == 1, seen
    statement, params = seen[0]
    assert " LIKE " not in statement.upper(), statement
    # the planner's choice depends on sqlite_stat1 (another test may ANALYZE this worker's
    # database, and on a few rows walking the ids is cheaper), so the plan is taken on the
    # same schema without statistics: can the indexes serve the jurisdiction test at all?
    fresh = sa.create_engine("sqlite://")
    db.metadata.create_all(fresh)
    with fresh.connect() as conn:
        plan = _plan(conn, statement, params)
    fresh.dispose()
    assert "SCAN registration" not in plan, plan
    assert "ix_registration_province_id (province_code=?)" in plan, plan
    # the page's ids are chosen first (read newest first from the index, unsorted), and only
    # those 20 rows are joined to their relations (and put back in order)
    page_ids = plan.split("SCAN anon_1", 1)[0]
    assert "ix_registration_province_id" in page_ids and "TEMP B-TREE" not in page_ids, plan
    assert "SCAN institution " not in plan + " ", plan


def test_name_search_starts_from_the_name_index(client, make, login_as, world):
    """A 姓名 prefix search over a list smaller than the register (信用记录) starts from the
    person name index instead of scanning the list and probing each person (SQLite planner,
    with statistics that make the list look cheap to scan)."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("plan check written for SQLite's EXPLAIN QUERY PLAN")
    nation = make.authority(name="国家卫生健康委员会", level=AuthorityLevel.NATIONAL,
                            region_code="110000")
    login_as(make.reviewer(nation))
    page, seen = _list_page_with_statements(client, "/gov/credit/?search=太原", "credit_record")
    assert "太原医师" in page and "大同医师" not in page
    statement, params = seen[-1]
    plain = statement.replace("likelihood(", "(").replace(", 0.001)", ")")
    fresh = sa.create_engine("sqlite://")
    db.metadata.create_all(fresh)
    with fresh.begin() as conn:
        # the national shape: 4.8 M persons, 96 k credit records
        conn.exec_driver_sql("ANALYZE")
        conn.exec_driver_sql("DELETE FROM sqlite_stat1")
        conn.exec_driver_sql(
            "INSERT INTO sqlite_stat1 VALUES ('person', NULL, '4800000'), "
            "('person', 'ix_person_name', '4800000 3'), "
            "('credit_record', NULL, '96000'), "
            "('credit_record', 'ix_credit_record_person_id', '96000 1')")
    with fresh.connect() as conn:
        conn.exec_driver_sql("ANALYZE sqlite_schema")  # reload the statistics
        plan = _plan(conn, statement, params)
        without_hint = _plan(conn, plain, params)
    fresh.dispose()
    assert "ix_person_name" in plan and "SCAN credit_record" not in plan, (plan, statement)
    # the statistics do mislead the planner without the hint (the test can fail)
    assert "SCAN credit_record" in without_hint, without_hint


def _region_rows_by_rule(model, prefix: str) -> set[int]:
    """Record ids a commission with this prefix may see, by the jurisdiction rule (a 信用记录
    also by the commission that recorded it)."""
    from models.institution import Authority
    from services.registry import code_range, person_id_in_jurisdiction
    rule = person_id_in_jurisdiction(model.person_id, prefix)
    if model is CreditRecord:
        rule = sa.or_(rule, CreditRecord.authority_id.in_(sa.select(Authority.id).where(
            code_range(Authority.region_code, prefix))))
    return set(db.session.scalars(sa.select(model.id).where(rule)))


def _region_rows_stored(model, prefix: str) -> set[int]:
    from models.registry import region_index_of
    region, column = region_index_of(model)
    return set(db.session.scalars(sa.select(column).where(region.region_code == prefix)))


def _regions_agree_with_the_rule():
    from models.registry import Qualification
    for model in (Qualification, Assessment, CreditRecord):
        for prefix in ("14", "1401", "1402", "11", "1101"):
            assert _region_rows_stored(model, prefix) == _region_rows_by_rule(model, prefix), \
                (model.__name__, prefix)


def test_provincial_qualification_list_follows_id_area_and_registrations(client, make,
                                                                          login_as, world):
    """A province's and a city's 医师资格 (and 考核, 信用) lists are read from region rows: a
    person is seen through the 身份证号 area or a registration there, and the rows follow a
    registration that moves, an institution that moves, a commission given another region
    and a record added later."""
    from models.enums import PhysicianCategory
    from models.registry import Qualification
    shanxi = world["shanxi"]
    beijing_inst = world["prov"]["inst"]
    # a Beijing ID registered in 太原, and a second qualification added afterwards
    migrant = make.person(name="北京籍太原医师", id_no=make.id_number(area="110105", seq=77))
    reg = make.registration(migrant, world["mine"]["inst"])
    make.qualification(migrant, category=PhysicianCategory.TCM)
    login_as(make.reviewer(shanxi))

    def shown(url="/gov/qualifications/"):
        return text_of(client.get(url))

    page = shown()
    assert page.count("北京籍太原医师") == 2
    assert "太原医师" in page and "大同医师" in page and "北京医师" not in page
    _regions_agree_with_the_rule()

    # the registration moves to Beijing: the migrant leaves Shanxi
    reg.institution_id = beijing_inst.id
    db.session.commit()
    assert "北京籍太原医师" not in shown()
    # the Beijing hospital moves to 大同: its physicians come into Shanxi (and the migrant)
    beijing_inst.region_code = "140213"
    db.session.commit()
    page = shown()
    assert "北京医师" in page and page.count("北京籍太原医师") == 2
    _regions_agree_with_the_rule()
    # a name search in the province checks the same rows
    assert "北京医师" in shown("/gov/qualifications/?search=北京医师")
    assert "北京医师" in shown("/gov/assessments/") and "北京医师" in shown("/gov/credit/")
    # the Beijing commission that recorded a 信用记录 becomes Shanxi's 大同 (a region change)
    beijing_auth = world["prov"]["auth"]
    visitor = make.person(name="北京来访医师", id_no=make.id_number(area="110105", seq=88))
    db.session.add(CreditRecord(person_id=visitor.id, kind=CreditKind.BAD_CONDUCT,
                                description="来访不良记录", decided_on=dt.date(2021, 1, 1),
                                authority_id=beijing_auth.id))
    db.session.commit()
    assert "北京来访医师" not in shown("/gov/credit/")
    beijing_auth.region_code = "140200"
    db.session.commit()
    _regions_agree_with_the_rule()
    assert "北京来访医师" in shown("/gov/credit/")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Qualification)) == 5


def test_provincial_qualification_list_pages_by_key(client, make, login_as):
    """The province's walk keys its pages on the region rows: 下一页 continues where the page
    ended, with no row twice and none skipped."""
    province = make.authority(name="山西省卫生健康委员会", region_code="140000")
    inst = make.institution(name="翻页医院", region_code="140105", authority_obj=province)
    outsider = make.institution(name="外省医院", region_code="110105")
    names = []
    for i in range(45):
        name = "资格医师" + "甲乙丙丁戊己庚辛壬癸"[i % 10] + "子丑寅卯辰巳午未申酉戌亥"[i // 10]
        person = make.person(name=name, id_no=make.id_number(area="110105", seq=i))
        make.registration(person, inst if i % 3 else outsider)
        if i % 3:
            names.append(name)
    login_as(make.reviewer(province))
    import re
    seen, url = [], "/gov/qualifications/"
    while url:
        page = text_of(client.get(url))
        seen += re.findall(r"资格医师..", page)
        m = re.search(r'<a class="page-link"[^>]*href="([^"]+)"[^>]*>下一页</a>', page)
        url = html_unescape(m.group(1)) if m else None
        assert url is None or "after=" in url
    assert seen == names[::-1]


def html_unescape(value):
    import html
    return html.unescape(value)
