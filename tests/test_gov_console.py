"""The commission console /gov/: institution accounts (C1), registry (C3), direct businesses
(C4), questions and FAQ (C5), statistics (C6), audit log (C7), system administration (C8)."""
import csv
import datetime as dt
import io

import sqlalchemy as sa

from models import db
from models.account import ConsoleUser
from models.audit import AuditLog
from models.enums import (AuthorityLevel, ConsoleRole, DirectBusinessKind, FaqAudience,
                          UserKind)
from models.institution import Institution, InstitutionAuthority
from models.messaging import FaqEntry, Question
from models.registry import DirectBusiness, Qualification
from tests.helpers import csrf_token, text_of
from tests.test_services_import import qual_rows


def _shanxi(make):
    shanxi = make.authority(name="山西省卫生健康委员会", region_code="140000")
    tcm = make.authority(name="山西省中医药管理局", region_code="140000", is_tcm=True, parent=shanxi)
    taiyuan = make.authority(name="太原市卫生健康委员会", level=AuthorityLevel.MUNICIPAL,
                             region_code="140100", parent=shanxi)
    return shanxi, tcm, taiyuan


def _post(client, url, data, page_url=None):
    page = client.get(page_url or url)
    assert page.status_code == 200, page.status_code
    return client.post(url, data={"csrf_token": csrf_token(text_of(page)), **data})


def _county(prefix):
    from models.enums import RegionLevel
    from models.reference import Region
    return db.session.scalar(sa.select(Region.code).where(
        Region.level == RegionLevel.COUNTY, Region.code.like(prefix + "%")).order_by(Region.code))


INST = {"name": "太原市测试医院", "license_no": "PDY14010500001", "address": "迎泽大街1号",
        "responsible_person": "王建国", "reserved_phone": "13912345678"}


def test_reviewer_creates_an_institution_and_its_account(client, make, login_as, outbox):
    shanxi, tcm, taiyuan = _shanxi(make)
    login_as(make.reviewer(shanxi))
    form = text_of(client.get("/gov/institutions/new/"))
    for label in ["机构标准名称", "执业许可证登记号", "所在地区", "地址", "负责人", "预留手机号"]:
        assert f">{label}" in form
    assert "110105" not in form  # only counties inside the jurisdiction are offered
    county = _county("1401")
    r = _post(client, "/gov/institutions/new/", {**INST, "region_code": county})
    assert r.status_code == 302, text_of(r)
    db.session.expire_all()
    inst = db.session.scalar(sa.select(Institution).where(Institution.name == INST["name"]))
    assert inst.licensing_authority_id == shanxi.id and inst.region_code == county
    user = db.session.scalar(sa.select(ConsoleUser).where(ConsoleUser.institution_id == inst.id))
    assert user.role == ConsoleRole.INSTITUTION_ADMIN and user.must_change_password
    assert user.phone == INST["reserved_phone"] and user.username.startswith("org")
    links = {link.category: link.authority_id for link in db.session.scalars(
        sa.select(InstitutionAuthority).where(InstitutionAuthority.institution_id == inst.id))}
    assert links[next(c for c in links if c.label == "中医")] == tcm.id
    assert links[next(c for c in links if c.label == "临床")] == shanxi.id
    sms = outbox.messages("sms", INST["reserved_phone"])
    assert len(sms) == 1 and user.username in sms[0]["body"]
    # the audit log has the creation, never the password
    row = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "institution_created"))
    password = sms[0]["body"].split("初始密码：")[1][:10]
    assert password not in str(row.after) and password not in row.detail
    # the detail page masks the phone and offers reset / disable
    page = text_of(client.get(f"/gov/institutions/details/?id={inst.id}"))
    assert "139****5678" in page and "13912345678" not in page
    assert "重置密码" in page and "停用" in page


def test_bad_institution_input_is_refused_at_the_field(client, make, login_as):
    shanxi, _, _ = _shanxi(make)
    make.institution(name="已有医院", region_code="140105", authority_obj=shanxi)
    existing = db.session.scalar(sa.select(Institution.license_no))
    login_as(make.reviewer(shanxi))
    cases = [({"reserved_phone": "12345"}, "请输入正确的11位手机号码。"),
             ({"license_no": existing}, "该执业许可证登记号已被其他医疗机构使用。"),
             ({"region_code": "110105"}, "所在地区不在本审批机关的管辖范围内。"),
             ({"responsible_person": "Wang"}, "负责人姓名只能由汉字"),
             ({"name": ""}, "此项为必填项。")]
    for change, message in cases:
        data = {**INST, "region_code": _county("1401"), **change}
        r = _post(client, "/gov/institutions/new/", data)
        assert r.status_code == 200 and message in text_of(r), (change, text_of(r)[:200])
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Institution)) == 1


def test_reset_and_disable_institution_account(client, make, login_as, outbox, app):
    shanxi, _, _ = _shanxi(make)
    login_as(make.reviewer(shanxi))
    _post(client, "/gov/institutions/new/", {**INST, "region_code": _county("1401")})
    db.session.expire_all()
    inst = db.session.scalar(sa.select(Institution))
    user = db.session.scalar(sa.select(ConsoleUser).where(ConsoleUser.institution_id == inst.id))
    org_client = app.test_client()
    login_as(user, org_client)
    # signed in, and held at 安全设置 until the generated password is changed
    assert org_client.get("/org/security/").status_code == 200
    details = f"/gov/institutions/details/?id={inst.id}"
    r = _post(client, f"/gov/institutions/reset-password/?id={inst.id}", {}, details)
    assert r.status_code == 302
    assert len(outbox.messages("sms", INST["reserved_phone"])) == 2
    assert "密码已重置" in outbox.messages("sms", INST["reserved_phone"])[-1]["body"]
    r = org_client.get("/org/security/")  # sessions ended: back to the login page
    assert r.status_code == 302 and "/org/login" in r.headers["Location"]
    r = _post(client, f"/gov/institutions/toggle/?id={inst.id}", {}, details)
    db.session.expire_all()
    assert not db.session.get(Institution, inst.id).active
    assert not db.session.get(ConsoleUser, user.id).active
    # a disabled account cannot log in, even with the right password
    password = outbox.messages("sms", INST["reserved_phone"])[-1]["body"].split("新密码：")[-1]
    password = outbox.messages("sms", INST["reserved_phone"])[-1]["body"].split("初始密码：")[1][:10]
    login_page = app.test_client()
    page = text_of(login_page.get("/org/login"))
    r = login_page.post("/org/login", data={"csrf_token": csrf_token(page),
                                            "username": user.username, "password": password,
                                            "captcha": "x"})
    assert "用户名或密码错误" in text_of(r)
    _post(client, f"/gov/institutions/toggle/?id={inst.id}", {}, details)
    db.session.expire_all()
    assert db.session.get(ConsoleUser, user.id).active


def test_registry_search_exact_and_prefix(client, make, login_as):
    shanxi, _, _ = _shanxi(make)
    inst = make.institution(region_code="140105", authority_obj=shanxi)
    p1 = make.person(name="张三丰", id_no=make.id_number(area="140100", seq=11))
    p2 = make.person(name="李四光", id_no=make.id_number(area="140100", seq=12))
    q1 = make.qualification(p1)
    make.registration(p1, inst, qual=q1)
    make.registration(p2, inst)
    login_as(make.reviewer(shanxi))
    page = text_of(client.get("/gov/qualifications/", query_string={"search": "张"}))
    assert "张三丰" in page and "李四光" not in page
    assert p1.id_number not in page and p1.id_number_masked in page
    page = text_of(client.get("/gov/qualifications/", query_string={"search": p2.id_number}))
    assert "李四光" in page and "张三丰" not in page
    page = text_of(client.get("/gov/qualifications/", query_string={"search": q1.code}))
    assert "张三丰" in page and "李四光" not in page
    page = text_of(client.get("/gov/registrations/",
                              query_string={"search": p2.certificate_no}))
    assert "李四光" in page and "张三丰" not in page
    # the detail page shows the full number, and that view is audited
    page = text_of(client.get(f"/gov/qualifications/details/?id={q1.id}"))
    assert p1.id_number in page
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditLog).where(
        AuditLog.action == "reveal_id_number", AuditLog.object_id == str(p1.id))) == 1


def test_each_rows_view_link_opens_that_row_and_returns_to_the_list(client, make, login_as):
    """The 查看 icon of every row of a registry list (built once per page, the row's id put
    in) opens that row's details, with the list as it was (search kept) as the way back."""
    import html
    import re
    from urllib.parse import parse_qs, urlsplit
    shanxi, _, _ = _shanxi(make)
    inst = make.institution(region_code="140105", authority_obj=shanxi)
    people = [make.person(name=name, id_no=make.id_number(area="140100", seq=30 + k))
              for k, name in enumerate(["张一鸣", "张二河", "张三江"])]
    regs = {make.registration(p, inst).id: p.name for p in people}
    login_as(make.reviewer(shanxi))
    page = text_of(client.get("/gov/registrations/", query_string={"search": "张"}))
    links = [html.unescape(h) for h in re.findall(
        r'<td class="list-buttons-column">\s*<a class="icon" href="([^"]+)"', page)]
    assert len(links) == 3
    for link in links:
        args = parse_qs(urlsplit(link).query)
        assert urlsplit(link).path == "/gov/registrations/details/"
        assert set(args) == {"id", "url"}
        assert parse_qs(urlsplit(args["url"][0]).query)["search"] == ["张"]
        details = text_of(client.get(link))
        assert regs[int(args["id"][0])] in details
        assert all(name not in details for rid, name in regs.items()
                   if rid != int(args["id"][0]))
    assert {int(parse_qs(urlsplit(link).query)["id"][0]) for link in links} == set(regs)


def test_exact_id_lookup_reaches_across_the_country_and_is_audited(client, make, login_as):
    _, _, taiyuan = _shanxi(make)
    bj = make.person(name="赵北京", id_no=make.id_number(area="110105", seq=21))
    q = make.qualification(bj)
    login_as(make.reviewer(taiyuan))
    assert "赵北京" not in text_of(client.get("/gov/qualifications/"))
    assert "赵北京" not in text_of(client.get("/gov/qualifications/",
                                              query_string={"search": "赵"}))
    page = text_of(client.get("/gov/qualifications/", query_string={"search": bj.id_number}))
    assert "赵北京" in page and bj.id_number_masked in page  # (the box echoes the query)
    assert client.get(f"/gov/qualifications/details/?id={q.id}").status_code in (302, 404)
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditLog).where(
        AuditLog.action == "id_number_lookup")) == 1


def test_corrections_are_audited_with_before_and_after(client, make, login_as):
    shanxi, _, _ = _shanxi(make)
    inst = make.institution(region_code="140105", authority_obj=shanxi)
    p, reg = make.registered_physician(inst)
    login_as(make.reviewer(shanxi))
    url = f"/gov/qualifications/correct/?id={reg.qualification_id}"
    r = _post(client, url, {"school": "山西医科大学汾阳学院", "major": "临床医学",
                            "issuing_authority": "山西省卫生厅", "education_code": "41",
                            "reason": ""})
    assert "请填写更正原因" in text_of(r)
    r = _post(client, url, {"school": "山西医科大学汾阳学院", "major": "临床医学",
                            "issuing_authority": "山西省卫生厅", "education_code": "41",
                            "reason": "原始档案录入错误"})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(Qualification, reg.qualification_id).school == "山西医科大学汾阳学院"
    row = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "qualification_corrected"))
    assert row.before == {"school": "山西医科大学"} and row.after == {"school": "山西医科大学汾阳学院"}
    url = f"/gov/registrations/correct/?id={reg.id}"
    r = _post(client, url, {"approved_on": "2999-01-01", "reason": "更正"})
    assert "批准日期不能晚于今天" in text_of(r)
    r = _post(client, url, {"approved_on": "2015-06-02", "reason": "更正批准日期"})
    assert r.status_code == 302
    row = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "registration_corrected"))
    assert row.before == {"approved_on": "2015-06-01"} and row.after == {"approved_on": "2015-06-02"}


def test_import_page_report_and_status(client, make, login_as, tmp_path):
    shanxi, _, _ = _shanxi(make)
    login_as(make.reviewer(shanxi))
    rows = qual_rows(30)
    rows[4][1] = "140100198501010000"
    rows[9][6] = "西医"
    out = io.StringIO()
    w = csv.writer(out)
    from services.registry_import import COLUMNS
    w.writerow(COLUMNS)
    w.writerows(rows)
    page = text_of(client.get("/gov/import/"))
    r = client.post("/gov/import/upload/", data={
        "csrf_token": csrf_token(page),
        "file": (io.BytesIO(out.getvalue().encode("utf-8")), "资格.csv")},
        content_type="multipart/form-data")
    assert r.status_code == 302
    job_url = r.headers["Location"]
    page = text_of(client.get(job_url))
    assert "导入完成" in page and "下载错误报告" in page
    status = client.get(job_url + "status").get_json()
    assert status["imported_rows"] == 28 and status["failed_rows"] == 2
    assert status["processed_rows"] == status["total_rows"] == 30
    report = client.get(job_url + "report.csv").get_data(as_text=True)
    lines = list(csv.reader(io.StringIO(report.lstrip("\ufeff"))))
    assert lines[0] == ["行号", "字段", "错误说明"]
    assert {(r[0], r[1]) for r in lines[1:]} == {("6", "身份证号"), ("11", "类别")}
    # another authority cannot read this job
    other = app_client = client.application.test_client()
    login_as(make.reviewer(make.authority(name="河北省卫生健康委员会", region_code="130000")),
             other)
    assert app_client.get(job_url + "status").status_code == 404
    assert app_client.get(job_url + "report.csv").status_code == 404


def test_old_rules_qualification(client, make, login_as):
    shanxi, _, _ = _shanxi(make)
    login_as(make.reviewer(shanxi))
    idn = make.id_number(area="140100", birth=dt.date(1950, 5, 1), seq=3)
    data = {"name": "老大夫", "id_number": idn, "gender": "1", "level": "1", "category": "4",
            "year": "2001", "code": "OLD1401000001", "school": "", "major": "",
            "education_code": "", "issuing_authority": "山西省卫生厅"}
    r = _post(client, "/gov/old-qualification/", data)
    assert "老人老办法资格的获得年度应在1999年之前" in text_of(r)
    r = _post(client, "/gov/old-qualification/", {**data, "year": "1985"})
    assert r.status_code == 302
    db.session.expire_all()
    q = db.session.scalar(sa.select(Qualification).where(Qualification.code == "OLD1401000001"))
    assert q.kind.label == "老人老办法" and q.year == 1985


def test_direct_business_validity(client, make, login_as):
    shanxi, _, _ = _shanxi(make)
    login_as(make.reviewer(shanxi))
    data = {"kind": DirectBusinessKind.FOREIGN_SHORT_TERM.value, "name": "John Smith",
            "nationality": "英国", "document_type": "护照", "document_no": "P1234567",
            "institution_id": "", "scope": "内科", "valid_from": "2026-01-01",
            "valid_to": "2027-06-30"}
    r = _post(client, "/gov/direct/new/", data)
    assert "短期行医的有效期最长为1年" in text_of(r)
    r = _post(client, "/gov/direct/new/", {**data, "valid_to": "2025-06-30"})
    assert "有效期截止日期不能早于起始日期" in text_of(r)
    r = _post(client, "/gov/direct/new/", {**data, "valid_to": "2026-12-31"})
    assert r.status_code == 302
    db.session.expire_all()
    row = db.session.scalar(sa.select(DirectBusiness))
    assert row.authority_id == shanxi.id and row.id_number_masked != "P1234567"
    page = text_of(client.get("/gov/direct/"))
    assert "John Smith" in page and "P1234567" not in page


def test_questions_answer_and_faq(client, make, login_as):
    shanxi, _, taiyuan = _shanxi(make)
    hebei = make.authority(name="河北省卫生健康委员会", region_code="130000")
    mine = Question(asker_kind=UserKind.PHYSICIAN, asker_id=1, asker_name="张医师",
                    authority_id=taiyuan.id, title="如何变更主要执业机构", body="请问流程")
    theirs = Question(asker_kind=UserKind.CONSOLE, asker_id=2, asker_name="某医院",
                      authority_id=hebei.id, title="河北的问题", body="内容")
    db.session.add_all([mine, theirs])
    db.session.commit()
    login_as(make.reviewer(shanxi))
    page = text_of(client.get("/gov/questions/"))
    assert "如何变更主要执业机构" in page and "河北的问题" not in page
    assert client.get(f"/gov/questions/answer/?id={theirs.id}").status_code == 404
    r = _post(client, f"/gov/questions/answer/?id={mine.id}", {"reply": "请在业务申请中提交变更。"})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(Question, mine.id).reply == "请在业务申请中提交变更。"
    r = _post(client, f"/gov/questions/to-faq/?id={mine.id}",
              {"audience": FaqAudience.PHYSICIAN.value, "title": "如何变更主要执业机构",
               "answer": "请在业务申请中提交变更。"}, f"/gov/questions/answer/?id={mine.id}")
    assert r.status_code == 302
    entry = db.session.scalar(sa.select(FaqEntry))
    assert entry.audience == FaqAudience.PHYSICIAN
    # a municipal reviewer sees the list but cannot edit it
    city = client.application.test_client()
    login_as(make.reviewer(taiyuan), city)
    assert "只能查看" in text_of(city.get("/gov/faq/"))
    assert city.get(f"/gov/faq/edit-entry/?id={entry.id}").status_code == 403


def test_statistics_page_draws_svg_charts(client, make, login_as):
    shanxi, _, _ = _shanxi(make)
    inst = make.institution(region_code="140105", authority_obj=shanxi)
    for _ in range(3):
        make.registered_physician(inst)
    login_as(make.reviewer(shanxi))
    page = text_of(client.get("/gov/statistics/"))
    assert "<svg" in page and "执业注册 按类别" in page and "临床" in page
    assert "<script>" not in page


def test_roles_are_separated(client, make, login_as, app):
    shanxi, _, _ = _shanxi(make)
    sysadmin = make.console_user(ConsoleRole.SYSADMIN, authority_obj=shanxi)
    auditor = make.console_user(ConsoleRole.AUDITOR, authority_obj=shanxi)
    reviewer = make.reviewer(shanxi)
    reviewer_pages = ["/gov/institutions/", "/gov/qualifications/", "/gov/registrations/",
                      "/gov/import/", "/gov/questions/", "/gov/statistics/", "/gov/direct/"]
    sys_pages = ["/gov/authorities/", "/gov/accounts/"]
    audit_pages = ["/gov/audit/"]
    for user, allowed in [(reviewer, reviewer_pages), (sysadmin, sys_pages),
                          (auditor, audit_pages)]:
        c = app.test_client()
        login_as(user, c)
        for url in reviewer_pages + sys_pages + audit_pages:
            status = c.get(url).status_code
            assert status == (200 if url in allowed else 403), (user.role, url, status)


def test_sysadmin_manages_commission_accounts(client, make, login_as, outbox):
    shanxi, _, taiyuan = _shanxi(make)
    hebei = make.authority(name="河北省卫生健康委员会", region_code="130000")
    admin = make.console_user(ConsoleRole.SYSADMIN, authority_obj=shanxi)
    login_as(admin)
    page = text_of(client.get("/gov/accounts/new/"))
    assert "太原市卫生健康委员会" in page and "河北省卫生健康委员会" not in page
    r = _post(client, "/gov/accounts/new/", {"display_name": "李审批", "role": "reviewer",
                                             "authority_id": str(hebei.id),
                                             "phone": "13700000001"})
    assert "请选择本机关或下级审批机关" in text_of(r)
    r = _post(client, "/gov/accounts/new/", {"display_name": "李审批", "role": "reviewer",
                                             "authority_id": str(taiyuan.id),
                                             "phone": "13700000001"})
    assert r.status_code == 302
    db.session.expire_all()
    user = db.session.scalar(sa.select(ConsoleUser).where(ConsoleUser.display_name == "李审批"))
    assert user.role == ConsoleRole.REVIEWER and user.authority_id == taiyuan.id
    assert user.username in outbox.messages("sms", "13700000001")[0]["body"]
    details = f"/gov/accounts/details/?id={user.id}"
    _post(client, f"/gov/accounts/toggle/?id={user.id}", {}, details)
    db.session.expire_all()
    assert not db.session.get(ConsoleUser, user.id).active
    # authorities: create a county bureau under the province
    r = _post(client, "/gov/authorities/new/", {"name": "小店区卫生健康局", "level": "county",
                                                "region_code": "140105",
                                                "parent_id": str(taiyuan.id), "active": "y"})
    assert r.status_code == 302, text_of(r)[:500]
    r = _post(client, "/gov/authorities/new/", {"name": "石家庄市卫生健康委员会", "level": "city",
                                                "region_code": "130100", "active": "y"})
    assert "所辖地区不在本机关的管辖范围内" in text_of(r)


def test_audit_log_is_read_only_and_exports_csv(client, make, login_as):
    shanxi, _, _ = _shanxi(make)
    reviewer = make.reviewer(shanxi)
    auditor = make.console_user(ConsoleRole.AUDITOR, authority_obj=shanxi)
    login_as(reviewer)
    _post(client, "/gov/institutions/new/", {**INST, "region_code": _county("1401")})
    other = client.application.test_client()
    login_as(auditor, other)
    page = text_of(other.get("/gov/audit/"))
    assert "创建医疗机构" in page and "医疗机构" in page  # the action and object in Chinese
    assert other.get("/gov/audit/edit/?id=1").status_code in (302, 404)
    assert other.post("/gov/audit/delete/", data={"id": "1"}).status_code in (302, 400, 404)
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditLog)) >= 1
    r = other.get("/gov/audit/export/csv/")
    assert r.status_code == 200 and "创建医疗机构" in r.get_data(as_text=True)


def test_registry_lists_run_no_count_and_no_contains_search(client, make, login_as, app):
    """National-size lists: no exact count(*), no ILIKE '%…%' (index-friendly lookups only)."""
    shanxi, _, _ = _shanxi(make)
    inst = make.institution(region_code="140105", authority_obj=shanxi)
    p, reg = make.registered_physician(inst)
    login_as(make.reviewer(shanxi))
    statements = []

    def _capture(conn, cursor, statement, params, context, executemany):
        statements.append(statement.lower())
    engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", _capture)
    try:
        for url in ["/gov/qualifications/", "/gov/registrations/", "/gov/assessments/",
                    "/gov/credit/"]:
            for term in ["", p.name[:1], p.id_number, p.certificate_no]:
                statements.clear()
                r = client.get(url, query_string={"search": term} if term else None)
                assert r.status_code == 200
                # the list statement: through person, or a province's region rows
                listed = [s for s in statements
                          if "from person" in s or "join person" in s or "_region" in s]
                assert listed, url
                for s in statements:
                    assert "count(" not in s, (url, s)
                    assert "ilike" not in s and "lower(" not in s, (url, s)
                    assert "'%" not in s, (url, s)
    finally:
        sa.event.remove(engine, "before_cursor_execute", _capture)


def test_import_runs_in_the_background_with_progress(app, make):
    """Outside TESTING the upload returns at once and a worker thread processes the file;
    the status endpoint reports progress until the job is done."""
    import time

    from app import create_app
    from services.registry_import import COLUMNS
    from tests.conftest import IsolatedClient, make_test_config
    from tests.helpers import login_client
    background = create_app(make_test_config(TESTING=False))
    background.test_client_class = IsolatedClient
    c = background.test_client()
    shanxi, _, _ = _shanxi(make)
    login_client(background, c, make.reviewer(shanxi))
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(COLUMNS)
    w.writerows(qual_rows(3000))
    page = text_of(c.get("/gov/import/"))
    r = c.post("/gov/import/upload/", data={
        "csrf_token": csrf_token(page),
        "file": (io.BytesIO(out.getvalue().encode("utf-8")), "bg.csv")},
        content_type="multipart/form-data")
    assert r.status_code == 302
    url = r.headers["Location"]
    status = None
    for _ in range(240):
        status = c.get(url + "status").get_json()
        if status["status"] != "running":
            break
        time.sleep(0.25)
    assert status["status"] == "done" and status["imported_rows"] == 3000
    assert 'data-status-url' in text_of(c.get(url))


def test_menu_follows_role_and_current_view_when_reused(app, client, make, login_as):
    """The console menu is rendered once per (console, role, current view) and reused: each
    role still sees only its own items, and the highlighted item follows the page."""
    from models.enums import ConsoleRole
    from tests.helpers import text_of
    shanxi = make.authority(name="山西省卫生健康委员会（菜单）", region_code="140000")

    def menu(url):
        html = text_of(client.get(url))
        # from the main menu to the user's links on the right
        return html.split('class="nav navbar-nav mr-auto"', 1)[1].split('navbar-nav ml-auto', 1)[0]

    reviewer = make.reviewer(shanxi)
    sysadmin = make.console_user(ConsoleRole.SYSADMIN, authority_obj=shanxi)
    for _ in range(2):  # the second round is served from the cache
        login_as(reviewer)
        m = menu("/gov/registrations/")
        assert "执业注册" in m and "后台账户" not in m and "审计日志" not in m
        active = m.split('dropdown-item active', 1)[1].split("</a>", 1)[0]
        assert "执业注册" in active
        active = menu("/gov/qualifications/").split('dropdown-item active', 1)[1]
        assert "医师资格" in active.split("</a>", 1)[0]
        m = menu("/gov/security/")  # a page both roles open: same view, other role
        assert "执业注册" in m and "后台账户" not in m
        login_as(sysadmin)
        m = menu("/gov/security/")
        assert "后台账户" in m and "执业注册" not in m


def test_static_file_urls_are_kept_per_console_and_script_root(app, client, make, login_as):
    """The stylesheets and scripts of a console page (Flask-Admin's static files) are named
    once per console, file and script root and then reused: each URL serves its file, and
    an app mounted under a prefix gets the prefixed URL, also after an unprefixed request."""
    import re

    from tests.helpers import text_of
    shanxi = make.authority(name="山西省卫生健康委员会（静态）", region_code="140000")
    hospital = make.institution(name="静态文件医院")

    def static_urls(html):
        return re.findall(r'(?:src|href)="([^"]*/static/[^"]*)"', html)

    for user, page, prefix in ((make.reviewer(shanxi), "/gov/registrations/", "/gov/"),
                               (make.institution_admin(hospital), "/org/main-physicians/",
                                "/org/")):
        login_as(user)
        for _ in range(2):  # the second request is served from the kept URLs
            urls = static_urls(text_of(client.get(page)))
            admin_urls = [u for u in urls if u.startswith(prefix + "static/")]
            assert len(admin_urls) >= 10 and any("bootstrap.min.css" in u for u in admin_urls)
            for url in urls:
                assert client.get(url).status_code == 200, url
        mounted = text_of(client.get(page, base_url="http://localhost/yszc/"))
        admin_urls = [u for u in static_urls(mounted) if "/static/" in u]
        assert admin_urls and all(u.startswith("/yszc/") for u in admin_urls)


def test_kept_menus_and_static_urls_stay_bounded(app, client, make, login_as, monkeypatch):
    """Every mount prefix (script root) a request comes with is a key of its own: past the
    limit the kept entries start over instead of growing, and pages stay right."""
    import admin_views.base as console_base
    from tests.helpers import text_of
    monkeypatch.setattr(console_base, "KEPT_MARKUP_LIMIT", 30)
    login_as(make.reviewer(make.authority(name="山西省卫生健康委员会（上限）",
                                          region_code="140000")))
    for k in range(8):
        html = text_of(client.get("/gov/registrations/", base_url=f"http://localhost/p{k}/"))
        assert f'href="/p{k}/gov/static/' in html and "执业注册" in html
        assert len(app.extensions["admin_static_url_cache"]) <= 30
        assert len(app.extensions["console_menu_cache"]) <= 30

