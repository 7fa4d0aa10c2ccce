"""公众查询 in a real browser: search by name + province, see the physician with the masked
执业证书编码 and none of the private fields."""
import datetime as dt

from playwright.sync_api import expect

from models import db
from models.enums import Gender

CERT = "110140000067890"


def test_public_search_by_name_and_province(page, live_server, make):
    inst = make.institution(name="山西省人民医院", region_code="140106")
    p = make.person(name="刘芳", gender=Gender.FEMALE, birth=dt.date(1982, 7, 14),
                    certificate_no=CERT)
    reg = make.registration(p, inst, scope_codes=("11",))
    acct = make.physician_account(p, phone="13712345678")
    id_number, masked_id, qual_code = p.id_number, p.id_number_masked, reg.qualification.code
    db.session.commit()

    page.goto("/")
    page.get_by_role("link", name="医师执业注册信息查询").first.click()
    page.get_by_label("医师姓名").fill("刘芳")
    page.get_by_label("执业地点（省份）").select_option(label="山西省")
    page.get_by_label("验证码").fill("ABCD")  # CAPTCHA_ENABLED is off in tests
    page.get_by_role("button", name="查询").click()

    result = page.locator(".public-result")
    expect(result).to_have_count(1)  # waits for the result page, which is still loading here
    text = result.inner_text()
    for word in ("刘芳", "女", "执业医师", "临床", "内科专业", "山西省", "山西省人民医院", "有效",
                 "1101********890"):
        assert word in text, word
    body = page.content()
    for secret in (id_number, masked_id, acct.phone, "137****5678", "1982-07-14", qual_code, CERT):
        assert secret not in body, secret
    assert "身份证号：" not in page.locator("main").inner_text()


def test_public_search_fits_a_phone_screen(page, live_server, make):
    inst = make.institution(name="太原市中心医院", region_code="140105")
    make.registration(make.person(name="赵磊"), inst)
    page.set_viewport_size({"width": 375, "height": 740})
    page.goto("/public/?name=赵磊&province=140000&captcha=ABCD")
    assert page.locator(".public-result").count() == 1
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"horizontal scroll of {overflow}px at 375px"
