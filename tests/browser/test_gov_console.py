"""Commission console end to end: a provincial reviewer logs in with the SMS second factor,
creates an institution whose credentials go by SMS to its reserved phone, the institution
logs in with them (new browser, SMS code), and the reviewer imports 1,000 qualifications
with three bad rows."""
import csv
import io
import re

import sqlalchemy as sa

from tests.test_services_import import qual_rows

REVIEWER_PHONE = "13800138000"
RESERVED_PHONE = "13912340001"


def _console_login(page, area, username, password, phone, outbox):
    page.goto(f"/{area}/login")
    page.get_by_label("用户名", exact=True).fill(username)
    page.get_by_label("密码", exact=True).fill(password)
    page.get_by_label("验证码", exact=True).fill("test")
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(rf"/{area}/login/verify"))
    page.get_by_label("短信校验码").fill(outbox.last_code(phone))
    page.get_by_role("button", name="确定").click()
    page.wait_for_url(re.compile(rf"/{area}/(security/)?$"))  # generated passwords: 安全设置 first


def test_reviewer_creates_institution_and_imports_qualifications(page, browser, live_server,
                                                                   make, outbox, tmp_path):
    from models import db
    from models.enums import RegionLevel
    from models.reference import Region
    shanxi = make.authority(name="山西省卫生健康委员会", region_code="140000")
    reviewer = make.reviewer(shanxi, username="sxreviewer", password="Review2026x",
                             phone=REVIEWER_PHONE)
    county = db.session.scalar(sa.select(Region).where(
        Region.level == RegionLevel.COUNTY, Region.code.like("1401%")).order_by(Region.code))

    _console_login(page, "gov", reviewer.username, "Review2026x", REVIEWER_PHONE, outbox)
    page.goto("/gov/institutions/new/")
    page.get_by_label("机构标准名称").fill("太原市第九人民医院")
    page.get_by_label("执业许可证登记号").fill("PDY14010599001")
    page.get_by_label("所在地区").select_option(county.code)
    page.get_by_label("地址").fill("迎泽大街99号")
    page.get_by_label("负责人").fill("刘振华")
    page.get_by_label("预留手机号").fill(RESERVED_PHONE)
    page.get_by_role("button", name="创建机构账户").click()
    page.wait_for_url(re.compile(r"/gov/institutions/details/"))
    assert "太原市第九人民医院" in page.content()
    assert "用户名和初始密码已通过短信发送" in page.content()

    sms = outbox.messages("sms", RESERVED_PHONE)
    assert len(sms) == 1
    m = re.search(r"用户名：(\w+)，初始密码：(\w+)。", sms[0]["body"])
    assert m, sms[0]["body"]
    username, password = m.groups()

    # the institution logs in from a new browser: password, then the SMS code to its phone
    other = browser.new_context(base_url=str(live_server), locale="zh-CN")
    try:
        org_page = other.new_page()
        _console_login(org_page, "org", username, password, RESERVED_PHONE, outbox)
        # a generated password must be changed before anything else
        assert "/org/security" in org_page.url and "初始密码" in org_page.content()
        org_page.goto("/org/main-physicians/")
        assert "/org/security" in org_page.url
        org_page.get_by_label("原密码").fill(password)
        org_page.get_by_label("新密码", exact=True).fill("Jiuyuan2026k")
        org_page.get_by_label("确认新密码").fill("Jiuyuan2026k")
        org_page.get_by_role("button", name="确定").click()
        org_page.goto("/org/")
        assert org_page.url.endswith("/org/")
        assert "太原市第九人民医院" in org_page.content()
    finally:
        other.close()

    # 1,000 qualification rows, three of them bad
    rows = qual_rows(1000, start=5000)
    rows[99][1] = rows[99][1][:-1] + ("1" if rows[99][1][-1] != "1" else "2")  # line 101
    rows[499][0] = "Li Si"  # line 501
    rows[899][6] = "西医"  # line 901
    out = io.StringIO()
    w = csv.writer(out)
    from services.registry_import import COLUMNS
    w.writerow(COLUMNS)
    w.writerows(rows)
    path = tmp_path / "资格导入.csv"
    path.write_text(out.getvalue(), encoding="utf-8")

    page.goto("/gov/import/")
    page.get_by_label("导入文件").set_input_files(str(path))
    page.get_by_role("button", name="开始导入").click()
    page.wait_for_url(re.compile(r"/gov/import/\d+/$"))
    assert page.locator("#import-status").inner_text() == "导入完成"
    assert page.locator("#import-imported").inner_text() == "997"
    assert page.locator("#import-failed").inner_text() == "3"
    table = page.locator("table").last.inner_text()
    for line, field in [("101", "身份证号"), ("501", "姓名"), ("901", "类别")]:
        assert re.search(rf"{line}\s+{field}", table), table
    with page.expect_download() as dl:
        page.get_by_role("link", name="下载错误报告").click()
    report = open(dl.value.path(), encoding="utf-8-sig").read()
    lines = list(csv.reader(io.StringIO(report)))
    assert lines[0] == ["行号", "字段", "错误说明"]
    assert sorted(r[0] for r in lines[1:]) == ["101", "501", "901"]
