"""P4 activation: institution 激活码 (a), 资格证书编码 (b), non-electronic province (c);
the activation gate of the menu."""
import re

import sqlalchemy as sa

from models import db
from models.account import ActivationCode, PhysicianAccount
from models.enums import AccountState, ActivationMethod, RegistrationStatus, VerificationOutcome
from tests import factories as f
from tests import factories_portal as fp
from tests.helpers import csrf_token, text_of


def post_code(client, code):
    page = client.get("/physician/activate")
    return client.post("/physician/activate", data={"csrf_token": csrf_token(text_of(page)),
                                                     "code": code})


def visible(html):
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))


def fresh(acct):
    db.session.expire_all()
    return db.session.get(PhysicianAccount, acct.id)


def test_activation_with_institution_code(client, make, login_as):
    inst = f.institution(name="山西大学医院")
    inst, person, reg = fp.registry_physician(inst)
    acct = fp.account_for(person, institution=inst)
    code = fp.activation_code(acct)
    login_as(acct)
    html = visible(text_of(client.get("/physician/activate")))
    for w in ["医师账户激活第二步 输入激活码激活账户", "恭喜，您已经通过医师信息校验！",
              "山西大学医院", "如果“山西大学医院”不是您目前执业所在的医疗机构，请您去卫生计生行政部门办理医师执业注册的变更",
              "请输入账户激活码", "激活我的账户"]:
        assert w in html, w
    r = post_code(client, code.code.lower())
    assert r.status_code == 302 and r.headers["Location"].endswith("/physician/")
    a = fresh(acct)
    assert a.state == AccountState.ACTIVATED and a.activated_at is not None
    assert a.activation_method == ActivationMethod.INSTITUTION_CODE
    assert db.session.get(ActivationCode, code.id).used_at is not None
    # activation happens once
    r = client.get("/physician/activate")
    assert r.status_code == 302 and r.headers["Location"].endswith("/physician/")
    home = text_of(client.get("/physician/"))
    assert "基本信息" in home and "山西大学医院" in home


def test_wrong_code_then_lockout_after_five(client, make, login_as):
    inst, person, reg = fp.registry_physician()
    acct = fp.account_for(person, institution=inst)
    code = fp.activation_code(acct, code="ACDEFGHJ")
    login_as(acct)
    for _ in range(5):
        r = post_code(client, "QQQQQQQQ")
        assert "激活码不正确" in text_of(r)
    r = post_code(client, code.code)
    assert "错误次数过多" in text_of(r)
    assert fresh(acct).state == AccountState.VERIFIED
    assert db.session.get(ActivationCode, code.id).used_at is None


def test_code_bound_to_account_and_institution(client, make, login_as):
    inst, person, reg = fp.registry_physician()
    acct = fp.account_for(person, institution=inst)
    other_inst, other_person, _ = fp.registry_physician()
    other = fp.account_for(other_person, institution=other_inst)
    theirs = fp.activation_code(other)
    # a code for this account but from another institution does not count either
    wrong_inst = fp.activation_code(acct, institution=other_inst)
    login_as(acct)
    assert "激活码不正确" in text_of(post_code(client, theirs.code))
    assert "激活码不正确" in text_of(post_code(client, wrong_inst.code))
    assert fresh(acct).state == AccountState.VERIFIED


def test_used_code_is_refused(client, make, login_as):
    inst, person, reg = fp.registry_physician()
    acct = fp.account_for(person, institution=inst)
    code = fp.activation_code(acct, used=True)
    login_as(acct)
    assert "已使用" in text_of(post_code(client, code.code))
    assert fresh(acct).state == AccountState.VERIFIED


def test_phone_must_be_verified_first(client, make, login_as):
    inst, person, reg = fp.registry_physician()
    acct = fp.account_for(person, institution=inst, phone_verified=False)
    code = fp.activation_code(acct)
    login_as(acct)
    html = text_of(client.get("/physician/activate"))
    assert "医师账户激活第一步 医师信息校验" in html and "点击此处验证手机" in html
    r = post_code(client, code.code)  # the form is not even offered; posting does nothing
    assert fresh(acct).state == AccountState.VERIFIED
    from services import DomainError, accounts
    from services import Actor
    from models.enums import UserKind
    try:
        accounts.activate_with_code(Actor(UserKind.PHYSICIAN, acct.id, "x"), fresh(acct), code.code)
    except DomainError as exc:
        assert "验证您的手机号码" in exc.message
    else:
        raise AssertionError("activation without a verified phone")


def test_self_activation_with_qualification_code(client, make, login_as):
    person, qual = fp.qualified_only(status=RegistrationStatus.TRANSFERRED_OUT)
    acct = fp.account_for(person, outcome=VerificationOutcome.SELF_ACTIVATE)
    other_person, other_qual = fp.qualified_only()
    login_as(acct)
    html = text_of(client.get("/physician/activate"))
    assert "输入资格证书编码激活账户" in html and "请输入您的医师资格证书编码" in html
    assert "资格证书编码不正确" in text_of(post_code(client, other_qual.code))
    assert fresh(acct).state == AccountState.VERIFIED
    r = post_code(client, qual.code)
    assert r.status_code == 302
    a = fresh(acct)
    assert a.state == AccountState.ACTIVATED
    assert a.activation_method == ActivationMethod.QUALIFICATION_CODE


def test_gate_before_activation(client, make, login_as):
    inst, person, reg = fp.registry_physician()
    acct = fp.account_for(person, institution=inst)
    login_as(acct)
    for url in ["/physician/", "/physician/qualification", "/physician/practice",
                "/physician/assessment", "/physician/maintenance/", "/physician/maintenance/edit",
                "/physician/maintenance/photo", "/physician/maintenance/department"]:
        r = client.get(url)
        assert r.status_code == 302 and r.headers["Location"].endswith("/physician/activate"), url
    page = client.get("/physician/activate")
    assert "尚未激活" in text_of(page)
    for url in ["/physician/security/phone", "/physician/security/email",
                "/physician/security/password", "/physician/help/"]:
        assert client.get(url).status_code == 200, url


def test_login_reverifies_a_not_yet_activated_account(client, make):
    person, qual = fp.qualified_only()
    acct = f.physician_account(person, username="recheck01", state=AccountState.REGISTERED)
    page = client.get("/physician/login")
    r = client.post("/physician/login", data={"csrf_token": csrf_token(text_of(page)),
                                              "login_name": "recheck01",
                                              "password": f.PASSWORD, "captcha": "x"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/physician/activate")
    a = fresh(acct)
    assert a.state == AccountState.VERIFIED
    assert a.verification_outcome == VerificationOutcome.SELF_ACTIVATE
