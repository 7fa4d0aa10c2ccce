"""Acceptance journey of the physician site in Chromium: a physician from the register
registers, verifies the phone with the SMS code from the outbox, activates with the code
the institution generated, logs in by phone number, uploads a photo, requests a 学历 change
and sees both pending. Then every visited page is checked at 375 px width."""
import io
import re

import sqlalchemy as sa
from PIL import Image

from models import db
from models.account import ChangeRequest, Photo, PhysicianAccount
from models.enums import AccountState, ReviewStatus
from tests import factories as f
from tests.browser.waiting import page_text

PHONE = "15175070658"
PASSWORD = "Yisheng2026"


def _photo(tmp_path):
    im = Image.new("RGB", (354, 472), (236, 240, 245))
    for x in range(100, 254):
        for y in range(120, 360):
            im.putpixel((x, y), (60 + x % 40, 70, 90 + y % 50))
    path = tmp_path / "zhengjianzhao.jpg"
    im.save(path, format="JPEG", quality=88)
    assert path.stat().st_size <= 80 * 1024
    return path


def body(page) -> str:
    """The page's visible text without whitespace (labels and values sit on separate lines)."""
    return re.sub(r"\s+", "", page_text(page))


def has(page, *words) -> bool:
    text = body(page)
    missing = [w for w in words if re.sub(r"\s+", "", w) not in text]
    assert not missing, (missing, text[:400])
    return True


def _no_horizontal_scroll(page):
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_physician_journey(page, live_server, make, outbox, tmp_path):
    inst = make.institution(name="山西大学医院")
    person, reg = make.registered_physician(inst)
    admin = make.institution_admin(inst)

    # P1 step 1
    page.goto("/physician/login")
    page.get_by_role("link", name="注册新账号").click()
    page.get_by_label("您的姓名").fill(person.name)
    page.get_by_label("身份证号").fill(person.id_number)
    page.get_by_label("验证码", exact=True).fill("ABCD")
    page.get_by_role("button", name="确定，继续").click()
    # P1 step 2
    page.get_by_label("手机号码").fill(PHONE)
    page.get_by_label("电子邮箱").fill("song@example.com")
    page.get_by_label("用户名称").fill("songhq2026")
    page.get_by_label("登录密码").fill(PASSWORD)
    page.get_by_label("确认密码").fill(PASSWORD)
    page.get_by_role("button", name="确定，继续").click()
    # summary
    assert has(page, "您的账户信息", "so...026", "151...58", "注册信息, 请牢记!")
    assert PASSWORD not in body(page)
    page.get_by_role("link", name="点击下一步").click()
    # P4 step 1 → P3 phone
    assert has(page, "恭喜，您已经通过医师资格信息校验！")
    page.get_by_role("link", name="点击此处验证手机").click()
    assert page.get_by_label("我的手机").input_value() == PHONE
    page.get_by_role("button", name="向手机发送校验码").click()
    assert has(page, "校验码已发送")
    page.get_by_label("请填写手机校验码").fill(outbox.last_code(PHONE))
    page.get_by_role("button", name="确定", exact=True).click()
    assert has(page, "手机号码验证成功")
    # the institution generates the code (I5); it arrives by SMS
    db.session.expire_all()
    acct = db.session.scalar(sa.select(PhysicianAccount).where(
        PhysicianAccount.username == "songhq2026"))
    assert acct.state == AccountState.VERIFIED and acct.institution_id == inst.id
    from services import Actor
    from services.activation import generate_activation_code
    from models.enums import UserKind
    row = generate_activation_code(Actor(UserKind.CONSOLE, admin.id, "机构管理员", "127.0.0.1",
                                         institution_id=inst.id), acct)
    # P4a
    page.reload()
    assert has(page, "医师账户激活第二步 输入激活码激活账户", "山西大学医院")
    page.get_by_label("请输入账户激活码").fill("WRONG234")
    page.get_by_role("button", name="激活我的账户").click()
    assert has(page, "激活码不正确")
    page.get_by_label("请输入账户激活码").fill(row.code)
    page.get_by_role("button", name="激活我的账户").click()
    assert has(page, "您的账户已激活", "基本信息", "执业地点：山西省（有效）")
    # P5: log out and back in with the verified phone number
    page.get_by_role("button", name="退出").click()
    page.get_by_label("用户名/手机号码/资格证书编码").fill(PHONE)
    page.get_by_label("密码", exact=True).fill(PASSWORD)
    page.get_by_label("验证码", exact=True).fill("ABCD")
    page.get_by_role("button", name="登录").click()
    assert has(page, "主执业机构：山西大学医院")
    # P10 photo
    page.get_by_role("link", name="信息维护").first.click()
    page.get_by_role("link", name="点击上传相片").click()
    page.get_by_label("点击上传您的相片").set_input_files(str(_photo(tmp_path)))
    page.get_by_role("button", name="上传相片").click()
    assert has(page, "相片上传成功", "待审核")
    photo = page.locator("img[alt$='上传的相片']")
    # wait until the browser has loaded the image, then check it decodes at 354 px wide
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=photo.element_handle())
    assert photo.evaluate("img => img.naturalWidth") == 354
    # P9 学历 change
    page.get_by_role("link", name="信息修改").click()
    page.get_by_label("学历").select_option(label="大学本科毕业")
    page.get_by_role("button", name="提交审核").click()
    assert has(page, "修改申请已提交", "待审核", "学历：中专→本科")
    db.session.expire_all()
    photo = db.session.scalar(sa.select(Photo).where(Photo.account_id == acct.id))
    change = db.session.scalar(sa.select(ChangeRequest).where(ChangeRequest.account_id == acct.id))
    assert photo.status == ReviewStatus.PENDING and photo.institution_id == inst.id
    assert change.status == ReviewStatus.PENDING and change.education_code == "21"
    assert change.institution_id == inst.id

    # every page at 375 px: no horizontal scrolling
    page.set_viewport_size({"width": 375, "height": 740})
    for url in ["/physician/", "/physician/qualification", "/physician/practice",
                "/physician/assessment", "/physician/maintenance/", "/physician/maintenance/edit",
                "/physician/maintenance/changes", "/physician/maintenance/photos",
                "/physician/maintenance/photo", "/physician/maintenance/department",
                "/physician/security/phone", "/physician/security/email",
                "/physician/security/password", "/physician/help/", "/physician/help/ask"]:
        page.goto(url)
        assert _no_horizontal_scroll(page), url
    page.get_by_role("button", name="退出").click()
    for url in ["/physician/login", "/physician/register", "/physician/recover",
                "/physician/recover/phone", "/physician/recover/info", "/physician/guide/old"]:
        page.goto(url)
        assert _no_horizontal_scroll(page), url
