"""P1 registration (two steps + masked summary) and P2 verification outcomes."""
import pytest
import sqlalchemy as sa

from models import db
from models.account import PhysicianAccount
from models.enums import AccountState, RegistrationStatus, VerificationOutcome
from models.reference import Region
from tests import factories as f
from tests import factories_portal as fp
from tests.helpers import csrf_token, text_of

GOOD = {"phone": "15175070658", "email": "hc123@6.com", "username": "chen563x563",
        "password": "bi8Kx7q53", "confirm": "bi8Kx7q53"}


def step1(client, name, id_number):
    page = client.get("/physician/register")
    return client.post("/physician/register", data={
        "csrf_token": csrf_token(text_of(page)), "name": name, "id_number": id_number,
        "captcha": "ANY"})


def step2(client, **overrides):
    page = client.get("/physician/register/account")
    assert page.status_code == 200, page.headers.get("Location")
    data = dict(GOOD, **overrides)
    data["csrf_token"] = csrf_token(text_of(page))
    return client.post("/physician/register/account", data=data)


def register(client, name, id_number, **overrides):
    r = step1(client, name, id_number)
    assert r.status_code == 302, text_of(r)
    return step2(client, **overrides)


def accounts():
    db.session.expire_all()
    return db.session.scalars(sa.select(PhysicianAccount)).all()


def test_pages_carry_the_deck_labels(client):
    html = text_of(client.get("/physician/register"))
    for w in ["您的姓名", "身份证号", "验证码", "确定，继续", "换一张", "注册说明",
              'for="name"', 'for="id_number"', 'for="captcha"']:
        assert w in html, w


def test_in_register_physician_registers_and_sees_masked_summary(client, make):
    inst, person, reg = fp.registry_physician()
    r = register(client, person.name, person.id_number)
    assert r.status_code == 302 and r.headers["Location"].endswith("/physician/register/done")
    html = text_of(client.get("/physician/register/done"))
    for w in ["您的账户信息", "ch...563", "bi...q53", "151...58", "hc...@6.com", "注册信息, 请牢记!",
              "点击下一步"]:
        assert w in html, w
    assert GOOD["password"] not in html and GOOD["username"] not in html
    (acct,) = accounts()
    assert acct.state == AccountState.VERIFIED
    assert acct.verification_outcome == VerificationOutcome.IN_REGISTER
    assert acct.person_id == person.id and acct.institution_id == inst.id
    assert acct.phone_verified_at is None
    # signed in: the next step is the activation page (phone first)
    page = text_of(client.get("/physician/activate"))
    assert "恭喜，您已经通过医师资格信息校验！" in page and "点击此处验证手机" in page


@pytest.mark.parametrize("name,id_fix,field_msg", [
    ("Zhang三", None, "不能输入字母或数字"),
    ("张3", None, "不能输入字母或数字"),
    ("张", None, "2至30个汉字"),
    ("张 三", None, "只能包含汉字"),
    (None, "checksum", "校验位不正确"),
    (None, "date", "出生日期或地区代码无效"),
    (None, "county", "出生日期或地区代码无效"),
    (None, "short", "应为18位"),
    (None, "letters", "前17位应为数字"),
    (None, "", "请输入身份证号"),
])
def test_step1_bad_input_explained_next_to_field(client, make, name, id_fix, field_msg):
    good_id = f.id_number()
    id_number = {"checksum": good_id[:-1] + ("0" if good_id[-1] != "0" else "1"),
                 "date": _with_check("11010519851332001"),
                 # 110001: 北京市 is known, this county code never was (stdnum: KeyError)
                 "county": _with_check("11000119850317001"),
                 "short": good_id[:17], "letters": "11010519850317A01X", "": "",
                 None: good_id}[id_fix]
    r = step1(client, name or "张三", id_number)
    assert r.status_code == 200
    html = text_of(r)
    assert field_msg in html and 'class="error"' in html
    assert accounts() == []


def _with_check(base17):
    from stdnum.cn import ric
    return base17 + ric.calc_check_digit(base17 + "0")


@pytest.mark.parametrize("overrides,msg", [
    ({"phone": "12345678901"}, "手机号码"),
    ({"phone": "1517507065"}, "手机号码"),
    ({"email": "not-an-email"}, "电子邮箱地址"),
    ({"username": "1abcdef"}, "以字母开头"),
    ({"username": "abc12"}, "6至12位"),
    ({"username": "abcdefghij123"}, "6至12位"),
    ({"username": "abc_def1"}, "6至12位"),
    ({"password": "abcdefgh", "confirm": "abcdefgh"}, "同时包含字母和数字"),
    ({"password": "12345678", "confirm": "12345678"}, "同时包含字母和数字"),
    ({"password": "a1b2", "confirm": "a1b2"}, "6至16位"),
    ({"password": "a1" * 9, "confirm": "a1" * 9}, "6至16位"),
    ({"password": "abc123", "confirm": "abc123"}, "过于常见"),
    ({"password": "Password1", "confirm": "Password1"}, "过于常见"),
    ({"password": "bi8Kx7q53", "confirm": "bi8kx7q53"}, "两次输入的密码不一致"),
    ({"password": "bi8K x7q53", "confirm": "bi8K x7q53"}, "只能由字母和数字组成"),
])
def test_step2_bad_input_stores_nothing(client, make, overrides, msg):
    person = f.person()
    r = register(client, person.name, person.id_number, **overrides)
    assert r.status_code == 200
    assert msg in text_of(r)
    assert accounts() == []


def test_username_unique_case_insensitively(client, make):
    f.physician_account(username="Chen563x563")
    person = f.person()
    r = register(client, person.name, person.id_number)
    assert "该用户名已被使用" in text_of(r)
    assert len(accounts()) == 1


def test_one_live_account_per_id_number(client, make):
    person = f.person()
    f.physician_account(person)
    r = step1(client, person.name, person.id_number)
    assert r.status_code == 200 and "该身份证号已注册过账户" in text_of(r)
    # a revoked account lets the person register again
    acct = accounts()[0]
    acct.state = AccountState.REVOKED
    db.session.commit()
    r = register(client, person.name, person.id_number)
    assert r.status_code == 302
    assert len(accounts()) == 2


def test_step2_without_step1_goes_back(client):
    r = client.get("/physician/register/account")
    assert r.status_code == 302 and r.headers["Location"].endswith("/physician/register")


def test_id_number_is_not_kept_in_clear_in_the_session_cookie(client, make):
    person = f.person()
    step1(client, person.name, person.id_number)
    with client.session_transaction() as s:
        assert person.id_number not in repr(dict(s))


def test_outcome_self_activate_for_qualification_without_valid_registration(client, make):
    person, qual = fp.qualified_only(status=RegistrationStatus.CANCELLED)
    register(client, person.name, person.id_number)
    (acct,) = accounts()
    assert acct.verification_outcome == VerificationOutcome.SELF_ACTIVATE
    assert acct.state == AccountState.VERIFIED


def test_outcome_not_found_and_identity_update(client, make):
    person, qual = fp.qualified_only()
    wrong = f.id_number(birth=person.birth_date.replace(year=1990))
    register(client, person.name, wrong)
    (acct,) = accounts()
    assert acct.state == AccountState.REGISTERED
    assert acct.verification_outcome == VerificationOutcome.NOT_FOUND
    html = text_of(client.get("/physician/activate"))
    for w in ["未查询到医师资格信息", "检查和更新我的身份信息", "老人老办法医师资格信息修改及补录指南",
              "新人新办法医师资格信息修改及补录指南", "军队离休及复转退人员医师资格信息补录指南"]:
        assert w in html, w
    for slug in ("old", "new", "military"):
        assert client.get(f"/physician/guide/{slug}").status_code == 200
    # other pages are closed before activation
    r = client.get("/physician/qualification")
    assert r.status_code == 302 and r.headers["Location"].endswith("/physician/activate")
    page = client.get("/physician/identity")
    bad = client.post("/physician/identity", data={"csrf_token": csrf_token(text_of(page)),
                                                   "name": person.name,
                                                   "id_number": wrong[:-1] + "Y"})
    assert "前17位应为数字" in text_of(bad)
    r = client.post("/physician/identity", data={"csrf_token": csrf_token(text_of(page)),
                                                 "name": person.name,
                                                 "id_number": person.id_number})
    assert r.status_code == 302
    (acct,) = accounts()
    assert acct.verification_outcome == VerificationOutcome.SELF_ACTIVATE
    assert acct.id_number == person.id_number


def test_name_must_match_too(client, make):
    inst, person, reg = fp.registry_physician()
    register(client, "欧阳" + person.name[1:], person.id_number)
    (acct,) = accounts()
    assert acct.verification_outcome == VerificationOutcome.NOT_FOUND


def test_outcome_non_electronic_province(client, make):
    inst = f.institution(region_code="650102")
    province = db.session.get(Region, "650000")
    assert province.electronic_registration is False
    person, reg = f.registered_physician(inst)
    register(client, person.name, person.id_number)
    (acct,) = accounts()
    assert acct.verification_outcome == VerificationOutcome.NON_ELECTRONIC
    acct.phone_verified_at = acct.registered_at
    db.session.commit()
    html = text_of(client.get("/physician/activate"))
    for w in ["点击进入“注册”业务申请", "点击进入“变更”业务申请", "已提交业务查询", inst.name]:
        assert w in html, w
