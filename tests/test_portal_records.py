"""P7 my records: 基本信息 home, 资格信息, 执业信息 (every 执业地点, filings, legacy sites),
考核信息; the full 身份证号 only to its owner, audited; 375 px layout rules."""
import datetime as dt
import re

import sqlalchemy as sa

from models import db
from models.audit import AuditLog
from models.enums import AssessmentResult, FilingStatus, RegistrationStatus
from models.registry import Assessment, Filing, LegacySite
from tests import factories as f
from tests import factories_portal as fp
from tests.helpers import text_of


def visible(html):
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))


def test_home_shows_the_deck_fields(client, make, login_as):
    inst = f.institution(name="山西大学医院")
    inst, person, reg, acct = fp.activated_physician(inst)
    login_as(acct)
    html = visible(text_of(client.get("/physician/")))
    for w in ["基本信息", f"姓名：{person.name}", "性别：男", "民族：汉族", "出生日期：1985-03-17",
              "学历：中专", "毕业院校：山西医科大学", "专业：临床医学", "任职资格：",
              f"身份证号码：{person.id_number_masked}", f"执业证书编码：{person.certificate_no}",
              "执业地点：山西省（有效）", "主执业机构：山西大学医院", "执业范围：", "医师级别：执业医师",
              "审批机关：", "医师类别：临床", "审批日期：2015年06月01日"]:
        assert w in html, w
    assert person.id_number not in html
    for label in ["资格信息", "执业信息", "考核信息", "信息维护", "业务申请", "业务查询", "证书补办",
                  "安全设置", "帮助中心", "退出"]:
        assert label in html


def test_full_id_number_only_on_request_and_audited(client, make, login_as):
    inst, person, reg, acct = fp.activated_physician()
    login_as(acct)
    html = text_of(client.get("/physician/?show_id=1"))
    assert person.id_number in html
    rows = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "reveal_id_number")).all()
    assert len(rows) == 1 and rows[0].actor_id == acct.id and rows[0].object_id == str(person.id)


def test_records_pages(client, make, login_as):
    inst, person, reg, acct = fp.activated_physician()
    other_inst = f.institution(name="太原市中心医院")
    db.session.add(Filing(registration_id=reg.id, institution_id=other_inst.id,
                          authority_id=other_inst.licensing_authority_id,
                          status=FilingStatus.VALID, filed_on=dt.date(2020, 5, 6)))
    db.session.add(LegacySite(registration_id=reg.id, institution_id=other_inst.id,
                              authority_id=other_inst.licensing_authority_id,
                              status=FilingStatus.CANCELLED, added_on=dt.date(2012, 1, 2),
                              cancelled_on=dt.date(2019, 3, 4)))
    old_inst = f.institution(region_code="110105", name="北京某医院")
    f.registration(person, old_inst, status=RegistrationStatus.TRANSFERRED_OUT)
    db.session.add(Assessment(person_id=person.id, period_start=dt.date(2019, 1, 1),
                              period_end=dt.date(2021, 12, 31), result=AssessmentResult.PASSED,
                              assessing_body="太原市医师协会", assessed_on=dt.date(2022, 3, 1)))
    db.session.commit()
    login_as(acct)
    html = visible(text_of(client.get("/physician/qualification")))
    assert reg.qualification.code in html and "新人新办法" in html
    html = visible(text_of(client.get("/physician/practice")))
    for w in ["执业地点：山西省（有效）", "执业地点：北京市（变更出(区内到区外)）", "多执业机构备案",
              "太原市中心医院", "2020-05-06", "多地点执业", "已取消", "北京某医院"]:
        assert w in html, w
    html = visible(text_of(client.get("/physician/assessment")))
    assert "合格" in html and "太原市医师协会" in html and "2019年01月—2021年12月" in html


def test_records_never_show_another_persons_data(client, make, login_as):
    inst, person, reg, acct = fp.activated_physician()
    inst2, person2, reg2, acct2 = fp.activated_physician()
    login_as(acct)
    for url in ["/physician/", "/physician/qualification", "/physician/practice"]:
        html = text_of(client.get(url))
        assert reg2.qualification.code not in html and person2.name not in html


def test_pages_fit_a_phone_screen(client, make, login_as):
    """No fixed widths above 375 px in the portal stylesheet; wide tables stack."""
    css = text_of(client.get("/static/css/portal.css"))
    widths = [int(w) for w in re.findall(r"(?<![-\w])(?:min-)?width:(\d+)px", css)]
    assert all(w <= 375 for w in widths), widths
    assert "table.stack" in css


def test_record_pages_run_as_many_statements_for_many_places(app, client, make, login_as):
    """N+1 guard: a physician with one 执业地点 and one with four (each with a filing and a
    legacy site at other institutions) cost the same number of statements per records page
    (the person comes with the session; each registration's places, institutions,
    commissions and scopes with the registrations)."""
    from tests.factories_applications import filing, legacy_site

    def statements(acct, url):
        login_as(acct)
        client.get(url)  # warm: first-request work is not what is counted
        seen = []

        def count(*_a):
            seen.append(1)
        sa.event.listen(db.engine, "before_cursor_execute", count)
        try:
            html = visible(text_of(client.get(url)))
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", count)
        return len(seen), html

    one = fp.activated_physician()[3]
    inst, person, reg, many = fp.activated_physician()
    for k in range(3):
        elsewhere = f.institution(region_code="110105", name=f"北京第{k + 1}医院")
        old = f.registration(person, elsewhere, status=RegistrationStatus.TRANSFERRED_OUT)
        filing(old, f.institution(name=f"太原备案{k + 1}医院"))
        legacy_site(old, f.institution(name=f"太原原多点{k + 1}医院"))
    for url in ("/physician/", "/physician/practice"):
        few, _ = statements(one, url)
        lots, html = statements(many, url)
        assert "北京第3医院" in html
        if url.endswith("practice"):
            assert "太原备案3医院" in html and "太原原多点3医院" in html
        assert lots == few, url
