"""/public/ 医师执业注册信息查询 (X6): what the public sees, and what it never sees."""
import datetime as dt

import pytest

from models import db
from models.enums import Gender, PhysicianLevel, RegistrationStatus
from services.public_register import mask_certificate_no
from tests.helpers import text_of

CERT = "110140000012345"


@pytest.fixture()
def physician(make):
    inst = make.institution(name="太原市第一人民医院", region_code="140105")
    p = make.person(name="王建国", gender=Gender.FEMALE, birth=dt.date(1979, 11, 23),
                    certificate_no=CERT)
    reg = make.registration(p, inst, scope_codes=("11",))
    acct = make.physician_account(p, phone="13912345678")
    return p, reg, inst, acct


def _private_values(p, reg, acct):
    return [p.id_number, p.id_number_masked, acct.phone, "13912345678", "139****5678",
            "1979-11-23", "1979年11月23日", "19791123", reg.qualification.code, CERT]


def test_name_and_province_show_public_fields_only(client, physician):
    p, reg, inst, acct = physician
    resp = client.get("/public/", query_string={"name": "王建国", "province": "140000",
                                                 "captcha": "ABCD"})
    assert resp.status_code == 200
    html = text_of(resp)
    for word in ("王建国", "女", "执业医师", "临床", "内科专业", "山西省", "太原市第一人民医院",
                 "有效", "1101********345"):
        assert word in html, word
    for secret in _private_values(p, reg, acct):
        assert secret not in html, secret
    assert "身份证号" not in html.split("不公开身份证号")[0]


def test_mask_certificate_no():
    assert mask_certificate_no(CERT) == "1101********345"
    assert mask_certificate_no("1234567") == "*******"
    assert mask_certificate_no(None) == ""


def test_other_province_and_unpublished_status_are_not_found(client, make, physician):
    p, reg, inst, acct = physician
    resp = client.get("/public/", query_string={"name": "王建国", "province": "110000",
                                                 "captcha": "x"})
    assert "未查询到符合条件的医师执业注册信息" in text_of(resp)
    # 注册备案 is not published; 注销 is (准予注册和注销注册的人员名单)
    other = make.person(name="李秀英")
    make.registration(other, inst, status=RegistrationStatus.FILED)
    resp = client.get("/public/", query_string={"name": "李秀英", "province": "140000"})
    assert "未查询到" in text_of(resp)
    gone = make.person(name="赵明")
    make.registration(gone, inst, status=RegistrationStatus.CANCELLED)
    html = text_of(client.get("/public/", query_string={"name": "赵明", "province": "140000"}))
    assert "赵明" in html and "注销" in html and "未查询到" not in html


def test_institution_filter_is_a_name_prefix(client, make, physician):
    other = make.institution(name="大同市中医医院", region_code="140212")
    make.registration(make.person(name="王建国"), other)
    html = text_of(client.get("/public/", query_string={
        "name": "王建国", "province": "140000", "institution": "太原市"}))
    assert "太原市第一人民医院" in html and "大同市中医医院" not in html
    html = text_of(client.get("/public/", query_string={"name": "王建国", "province": "140000"}))
    assert "太原市第一人民医院" in html and "大同市中医医院" in html


def test_assistant_registered_in_a_county_is_found_by_province(client, make):
    inst = make.institution(name="阳曲县人民医院", region_code="140122")
    p = make.person(name="孙丽")
    make.registration(p, inst, level=PhysicianLevel.ASSISTANT)
    html = text_of(client.get("/public/", query_string={"name": "孙丽", "province": "140000"}))
    assert "执业助理医师" in html and "阳曲县人民医院" in html


def test_bad_input_gets_chinese_messages_not_500(client, app):
    resp = client.get("/public/", query_string={"name": "abc", "province": ""})
    html = text_of(resp)
    assert resp.status_code == 200
    assert "请输入医师的完整中文姓名" in html and "请选择省份" in html
    resp = client.get("/public/", query_string={"name": "王建国", "province": "999999"})
    assert resp.status_code == 200 and "请选择省份" in text_of(resp)
    resp = client.get("/public/", query_string={"name": "王建国", "province": "140000",
                                                 "page": "x" * 50})
    assert resp.status_code == 200


def test_captcha_is_required_when_enabled(client, app, make, physician, monkeypatch):
    monkeypatch.setitem(app.config, "CAPTCHA_ENABLED", True)
    resp = client.get("/public/", query_string={"name": "王建国", "province": "140000",
                                                 "captcha": "ZZZZ"})
    html = text_of(resp)
    assert "验证码错误或已过期" in html and "太原市第一人民医院" not in html
    client.get("/captcha.png")
    with client.session_transaction() as s:
        answer = s["captcha"]["text"]
    html = text_of(client.get("/public/", query_string={
        "name": "王建国", "province": "140000", "captcha": answer}))
    assert "太原市第一人民医院" in html
    # within the grace period the next search (or page) needs no new captcha
    html = text_of(client.get("/public/", query_string={"name": "王建国", "province": "140000"}))
    assert "太原市第一人民医院" in html and 'id="captcha"' not in html


def test_lookup_by_full_certificate_number(client, physician):
    p, reg, inst, acct = physician
    html = text_of(client.get("/public/certificate", query_string={"certificate_no": CERT}))
    assert "王建国" in html and "1101********345" in html
    results = html.split("查询结果", 1)[1]  # the form above echoes what the user typed
    for secret in _private_values(p, reg, acct):
        assert secret not in results, secret
    html = text_of(client.get("/public/certificate", query_string={"certificate_no": "1101400"}))
    assert "未查询到该执业证书编码" in html


def test_pagination_20_per_page_without_count(client, make):
    inst = make.institution(name="晋中市人民医院", region_code="140702")
    for _ in range(21):
        make.registration(make.person(name="周杰"), inst)
    html = text_of(client.get("/public/", query_string={"name": "周杰", "province": "140000"}))
    assert html.count('class="public-result"') == 20 and "下一页" in html
    html = text_of(client.get("/public/", query_string={"name": "周杰", "province": "140000",
                                                         "page": 2}))
    assert html.count('class="public-result"') == 1 and "上一页" in html


def test_institution_search(client, make, physician):
    p, reg, inst, acct = physician
    make.registration(make.person(), inst, status=RegistrationStatus.CANCELLED)
    make.institution(name="太原市妇幼保健院", region_code="140106")
    make.institution(name="太原县医院", region_code="110105")  # another province
    html = text_of(client.get("/public/institutions",
                              query_string={"name": "太原", "province": "140000"}))
    assert "太原市第一人民医院" in html and inst.license_no in html and "测试路1号" in html
    assert "太原市妇幼保健院" in html and "太原县医院" not in html
    assert "山西省" in html and "迎泽区" in html
    row = html.split("太原市第一人民医院", 1)[1].split("</tr>", 1)[0]
    assert "<td>1</td>" in row  # one 有效 registration; the 注销 one is not counted
    assert inst.reserved_phone not in html and "张主任" not in html


def test_rate_limit_per_ip(client, app, physician, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_SEARCH_LIMIT", 3)
    q = {"name": "王建国", "province": "140000"}
    for _ in range(3):
        assert client.get("/public/", query_string=q).status_code == 200
    resp = client.get("/public/", query_string=q)
    assert resp.status_code == 429
    assert "查询过于频繁" in text_of(resp) and "王建国" not in text_of(resp)
    assert client.get("/public/institutions", query_string={"name": "太原"}).status_code == 429
    # another address is not affected
    resp = client.get("/public/", query_string=q, environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert resp.status_code == 200 and "太原市第一人民医院" in text_of(resp)
    # the empty form is not a search
    assert client.get("/public/").status_code == 200


def test_home_page_links_to_public_lookup(client):
    html = text_of(client.get("/"))
    assert "医师执业注册信息查询" in html and 'href="/public/"' in html


def _plan(sql_stmt):
    from sqlalchemy.dialects import sqlite
    compiled = sql_stmt.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True})
    rows = db.session.execute(db.text("EXPLAIN QUERY PLAN " + str(compiled))).all()
    return " | ".join(r[-1] for r in rows)


def test_searches_run_on_indexes(app_ctx):
    """Name (exact and prefix), certificate and institution-name searches use b-tree
    indexes, never a scan of person or registration (SQLite planner)."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("plan check written for SQLite's EXPLAIN QUERY PLAN")
    import sqlalchemy as sa

    from models.institution import Institution
    from models.registry import Person, Registration
    from services import public_register as pr
    for cond in (Person.name == "王建国", pr.prefix_clause(Person.name, "王")):
        q = (sa.select(Registration.id).join(Registration.person)
             .where(cond, Registration.status.in_(pr.PUBLIC_STATUSES),
                    pr.region_clause(Registration.location_code, "140000"))
             .order_by(Person.name, Registration.id).limit(21))
        plan = _plan(q)
        assert "ix_person_name" in plan and "SCAN person" not in plan, plan
        assert "SCAN registration" not in plan, plan
    plan = _plan(sa.select(Person.id).where(Person.certificate_no == CERT))
    assert "INDEX" in plan and "SCAN person" not in plan, plan
    plan = _plan(sa.select(Institution.id).where(pr.prefix_clause(Institution.name, "太原"))
                 .order_by(Institution.name).limit(21))
    assert "ix_institution_name" in plan and "SCAN institution" not in plan, plan
