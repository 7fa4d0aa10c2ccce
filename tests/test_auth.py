"""Login and logout for the four account kinds; kinds never cross; lockout; second factor."""
import re

import pytest
import sqlalchemy as sa

from models import db
from models.audit import AuditLog
from models.account import UserSession
from models.enums import ConsoleRole
from tests.helpers import csrf_token, text_of


def _post_login(client, url, data):
    page = client.get(url)
    assert page.status_code == 200
    data = dict(data, csrf_token=csrf_token(text_of(page)), captcha="ANY")
    return client.post(url, data=data)


@pytest.fixture()
def no_2fa(app):
    app.config["CONSOLE_2FA_ENABLED"] = False
    yield
    app.config["CONSOLE_2FA_ENABLED"] = True


def test_login_pages_are_chinese(client):
    for url, words in [("/physician/login", ["用户名/手机号码/资格证书编码", "注册新账号", "忘记密码?"]),
                       ("/org/login", ["医疗机构版系统登录", "记住用户名", "找回密码"]),
                       ("/gov/login", ["审批端", "记住用户名"]),
                       ("/", ["医师个人版", "机构端入口", "审批端入口"])]:
        html = text_of(client.get(url))
        for w in words:
            assert w in html, (url, w)
        assert 'lang="zh-CN"' in html


def test_physician_logs_in_by_username_phone_and_qualification_code(app, client, make):
    inst = make.institution()
    p, reg = make.registered_physician(inst)
    acct = make.physician_account(p, username="zhangsan01", phone="13912345678",
                                  institution_obj=inst)
    for login_name in ["zhangsan01", "13912345678", reg.qualification.code]:
        r = _post_login(client, "/physician/login", {"login_name": login_name,
                                                     "password": "Passw0rd1"})
        assert r.status_code == 302 and r.headers["Location"].endswith("/physician/"), login_name
        home = client.get("/physician/")
        assert home.status_code == 200 and acct.name in text_of(home)
        client.post("/physician/logout", data={"csrf_token": csrf_token(text_of(home))})
        assert client.get("/physician/").status_code == 302


def test_unverified_phone_is_not_a_login_name(client, make):
    make.physician_account(username="lisi000001", phone="13700001111", phone_verified=False)
    r = _post_login(client, "/physician/login", {"login_name": "13700001111",
                                                 "password": "Passw0rd1"})
    assert r.status_code == 200 and "用户名或密码错误" in text_of(r)


def test_wrong_password_is_refused_and_audited(client, make, app):
    acct = make.physician_account(username="wangwu0001")
    r = _post_login(client, "/physician/login", {"login_name": "wangwu0001", "password": "nope12"})
    assert "用户名或密码错误" in text_of(r)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditLog).where(
            AuditLog.action == "login_failed", AuditLog.actor_id == acct.id)) == 1


def test_lockout_after_five_failures_even_with_right_password(client, make):
    make.physician_account(username="zhaoliu001")
    for _ in range(5):
        r = _post_login(client, "/physician/login", {"login_name": "zhaoliu001",
                                                     "password": "wrong123"})
        assert "用户名或密码错误" in text_of(r)
    r = _post_login(client, "/physician/login", {"login_name": "zhaoliu001",
                                                 "password": "Passw0rd1"})
    assert "锁定" in text_of(r)
    assert client.get("/physician/").status_code == 302


def test_captcha_is_checked_when_enabled(app, client, make):
    make.physician_account(username="captcha001")
    app.config["CAPTCHA_ENABLED"] = True
    try:
        page = client.get("/physician/login")
        client.get("/captcha.png")
        with client.session_transaction() as s:
            answer = s["captcha"]["text"]
        r = client.post("/physician/login", data={
            "csrf_token": csrf_token(text_of(page)), "login_name": "captcha001",
            "password": "Passw0rd1", "captcha": "XXXX" if answer != "XXXX" else "YYYY"})
        assert "验证码错误" in text_of(r)
        client.get("/captcha.png")
        with client.session_transaction() as s:
            answer = s["captcha"]["text"]
        r = client.post("/physician/login", data={
            "csrf_token": csrf_token(text_of(page)), "login_name": "captcha001",
            "password": "Passw0rd1", "captcha": answer.lower()})
        assert r.status_code == 302
    finally:
        app.config["CAPTCHA_ENABLED"] = False


def test_post_without_csrf_token_is_refused(client, make):
    make.physician_account(username="csrf000001")
    r = client.post("/physician/login", data={"login_name": "csrf000001",
                                              "password": "Passw0rd1", "captcha": "x"})
    assert r.status_code == 400 and "页面已过期" in text_of(r)


def test_institution_login_with_sms_second_factor(app, client, make, outbox):
    inst = make.institution(name="测试第一医院")
    make.institution_admin(inst, username="orgadmin1", phone="13600001234")
    r = _post_login(client, "/org/login", {"username": "orgadmin1", "password": "Admin2026x"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/org/login/verify")
    page = client.get("/org/login/verify")
    assert "136****1234" in text_of(page)
    assert client.get("/org/").status_code == 302  # not signed in yet
    code = outbox.last_code(to="13600001234")
    wrong = "000000" if code != "000000" else "111111"
    r = client.post("/org/login/verify", data={"csrf_token": csrf_token(text_of(page)),
                                               "code": wrong})
    assert "校验码错误" in text_of(r)
    r = client.post("/org/login/verify", data={"csrf_token": csrf_token(text_of(page)),
                                               "code": code})
    assert r.status_code == 302
    home = client.get("/org/")
    assert home.status_code == 200 and "测试第一医院" in text_of(home)
    assert "本院执业医师信息" in text_of(home)
    # the same browser is trusted next time: no second code
    client.post("/org/logout", data={"csrf_token": csrf_token(text_of(home))})
    sent = len(outbox.messages(to="13600001234"))
    r = _post_login(client, "/org/login", {"username": "orgadmin1", "password": "Admin2026x"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/org/")
    assert len(outbox.messages(to="13600001234")) == sent
    # a new browser is asked again
    other = app.test_client()
    r = _post_login(other, "/org/login", {"username": "orgadmin1", "password": "Admin2026x"})
    assert r.headers["Location"].endswith("/org/login/verify")


@pytest.mark.usefixtures("no_2fa")
@pytest.mark.parametrize("role", [ConsoleRole.REVIEWER, ConsoleRole.SYSADMIN, ConsoleRole.AUDITOR])
def test_commission_kinds_log_in_to_gov(client, make, role):
    auth = make.authority(name="山西省卫生健康委员会")
    make.console_user(role, authority_obj=auth, username="gov" + role.value[:5])
    r = _post_login(client, "/gov/login", {"username": "gov" + role.value[:5],
                                           "password": "Admin2026x"})
    assert r.status_code == 302
    home = client.get("/gov/")
    assert home.status_code == 200 and "山西省卫生健康委员会" in text_of(home)


@pytest.mark.usefixtures("no_2fa")
def test_kinds_never_cross(client, make, login_as):
    inst = make.institution()
    admin = make.institution_admin(inst, username="crossorg1")
    auth = make.authority()
    make.reviewer(auth, username="crossgov1")
    doctor = make.physician_account(username="crossdoc01")
    # an institution account cannot log in at /gov/login, nor a commission at /org/login
    r = _post_login(client, "/gov/login", {"username": "crossorg1", "password": "Admin2026x"})
    assert r.status_code == 200 and "用户名或密码错误" in text_of(r)
    r = _post_login(client, "/org/login", {"username": "crossgov1", "password": "Admin2026x"})
    assert r.status_code == 200 and "用户名或密码错误" in text_of(r)
    # a physician's session cannot open the consoles, a console session cannot open /physician/
    login_as(doctor)
    assert client.get("/org/").status_code == 403
    assert client.get("/gov/").status_code == 403
    assert client.get("/org/main-physicians/").status_code == 403
    other = client.application.test_client()
    login_as(admin, other)
    assert other.get("/physician/").status_code == 403
    assert other.get("/gov/").status_code == 403
    assert other.get("/org/").status_code == 200


def test_logout_ends_the_server_side_session(app, client, make, login_as):
    doctor = make.physician_account()
    token = login_as(doctor)
    home = client.get("/physician/")
    assert home.status_code == 200
    client.post("/physician/logout", data={"csrf_token": csrf_token(text_of(home))})
    with app.app_context():
        from services.security import token_digest
        row = db.session.get(UserSession, token_digest(token))
        assert row.revoked_at is not None
    # replaying the old cookie value does not bring the session back
    with client.session_transaction() as s:
        s["_user_id"] = token
    assert client.get("/physician/").status_code == 302


def test_new_session_id_at_login(client, make):
    make.physician_account(username="fixation01")
    with client.session_transaction() as s:
        s["_user_id"] = "attacker-chosen"
    _post_login(client, "/physician/login", {"login_name": "fixation01", "password": "Passw0rd1"})
    with client.session_transaction() as s:
        assert s["_user_id"] != "attacker-chosen" and re.fullmatch(r"[\w-]{40,}", s["_user_id"])
