"""An institution administrator logs in with the SMS code, sets the approving authority and
a department, generates an activation code for a registered physician, and approves another
physician's pending photo and 学历 change; the registration shows them."""
import sqlalchemy as sa

from models import db
from models.account import ActivationCode, ChangeRequest
from models.enums import AuthorityLevel, PhysicianCategory, ReviewStatus
from models.institution import Department, InstitutionAuthority
from models.registry import Registration
from tests import factories as f
from tests import factories_org as fo
from tests.browser.waiting import page_text


def test_institution_admin_journey(app, page, live_server, outbox):
    with app.app_context():
        sx = f.authority(name="山西省卫生健康委员会", region_code="140000")
        ty = f.authority(name="太原市卫生健康委员会", level=AuthorityLevel.MUNICIPAL,
                         region_code="140100", parent=sx)
        inst = f.institution(name="太原市第一人民医院", region_code="140105", authority_obj=sx,
                             with_authorities=False)
        f.institution_admin(inst, username="tyyy01", password="Admin2026x",
                            phone="13911112222")
        new_p, _, new_acct = fo.verified_physician(inst)
        p, reg, acct = fo.activated_physician(inst)
        cr = fo.change_request(acct, reg, education_code="14", school="山西医科大学",
                               title_code=None)
        ph = fo.photo(acct, inst)
        ids = {"inst": inst.id, "ty": ty.id, "reg": reg.id, "cr": cr.id, "ph": ph.id,
               "new_acct": new_acct.id}
        new_name, name = new_p.name, p.name

    # login: password, then the SMS code to the reserved phone
    page.goto("/org/login")
    page.get_by_label("用户名", exact=True).fill("tyyy01")
    page.get_by_label("密码", exact=True).fill("Admin2026x")
    page.get_by_label("验证码", exact=True).fill("ABCD")
    page.get_by_role("button", name="登录").click()
    code = outbox.last_code("13911112222")
    page.get_by_label("短信校验码").fill(code)
    page.get_by_role("button", name="确定").click()
    assert "太原市第一人民医院" in page_text(page)

    # 审批机关设置: the 临床 category → 太原市卫生健康委员会
    page.goto("/org/authorities/")
    page.locator("#cat_1").select_option(label="太原市卫生健康委员会")
    page.get_by_role("button", name="保存").click()
    assert "当前设置为：太原市卫生健康委员会" in page_text(page)

    # 设置本院科室信息 with the 诊疗科目名称筛选 (client-side filter)
    page.goto("/org/departments/")
    page.get_by_label("第一步：请输入要设置的科室名称").fill("呼吸科")
    page.get_by_label("诊疗科目名称筛选").fill("呼吸")
    assert not page.get_by_label("全科医疗科").is_visible()
    page.get_by_label("呼吸内科专业").check()
    page.get_by_role("button", name="第三步：确认").click()
    assert "已增加科室“呼吸科”" in page_text(page)

    # 医师账户激活
    page.goto("/org/activation/")
    row = page.locator("tr", has_text=new_name)
    row.get_by_role("button", name="生成激活码").click()
    body = page_text(page)
    assert "激活码已发送到手机" in body

    # 本院医师信息审核
    page.goto("/org/info-review/")
    row = page.locator("tr", has_text=name)
    assert "信息有更新" in row.inner_text() and "相片有更新" in row.inner_text()
    row.get_by_role("link", name="审核").click()
    body = page_text(page)
    assert "学历请求变更为" in body and "该医师上传的个人相片" in body
    photo = page.get_by_role("img", name="该医师上传的个人相片")
    # wait until the browser has loaded the image, then check it decodes at 354 px wide
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=photo.element_handle())
    assert photo.evaluate("img => img.naturalWidth") == 354
    page.get_by_label("修改医生所在科室").select_option(label="呼吸科")
    page.get_by_role("button", name="保存").click()
    page.get_by_role("button", name="审核通过").click()
    assert "审核通过，医师信息已更新" in page_text(page)

    with app.app_context():
        link = db.session.get(InstitutionAuthority, (ids["inst"], PhysicianCategory.CLINICAL))
        assert link.authority_id == ids["ty"]
        dept = db.session.scalar(sa.select(Department).where(
            Department.institution_id == ids["inst"]))
        assert dept.name == "呼吸科" and [s.code for s in dept.subjects] == ["03.01"]
        assert db.session.scalar(sa.select(ActivationCode).where(
            ActivationCode.account_id == ids["new_acct"])) is not None
        reg = db.session.get(Registration, ids["reg"])
        assert reg.education_code == "14" and reg.school == "山西医科大学"
        assert reg.photo_id == ids["ph"] and reg.department_id == dept.id
        assert db.session.get(ChangeRequest, ids["cr"]).status == ReviewStatus.APPROVED
