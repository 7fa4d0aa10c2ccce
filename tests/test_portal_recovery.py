"""P5 login names, P6 找回您的登录账户 (phone, e-mail, personal information) and P8 修改密码."""
import sqlalchemy as sa

from models import db
from models.account import PhysicianAccount, UserSession
from tests import factories as f
from tests import factories_portal as fp
from tests.helpers import csrf_token, text_of


def fresh(acct):
    db.session.expire_all()
    return db.session.get(PhysicianAccount, acct.id)


def live_sessions(acct):
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count()).select_from(UserSession).where(
        UserSession.user_id == acct.id, UserSession.revoked_at.is_(None)))


def login(client, name, password):
    page = client.get("/physician/login")
    return client.post("/physician/login", data={"csrf_token": csrf_token(text_of(page)),
                                                 "login_name": name, "password": password,
                                                 "captcha": "x"})


def post(client, url, **data):
    page = client.get(url)
    data["csrf_token"] = csrf_token(text_of(page))
    return client.post(url, data=data)


def test_login_page_links(client):
    html = text_of(client.get("/physician/login"))
    assert 'href="/physician/register"' in html and 'href="/physician/recover"' in html
    assert 'href="/physician/guide"' in html
    assert client.get("/physician/guide", follow_redirects=True).status_code == 200
    html = text_of(client.get("/physician/recover"))
    for w in ["找回您的登录账户", "通过手机找回", "通过邮箱找回", "通过个人信息找回",
              "手机号必须已经通过验证才能通过此方式找回登录账户！"]:
        assert w in html


def test_recover_by_phone_sets_new_password_and_ends_sessions(app, client, make, outbox, login_as):
    inst, person, reg, acct = fp.activated_physician(username="findme001",
                                                     phone="15175070658")
    other = app.test_client()
    login_as(acct, other)
    assert live_sessions(acct) == 1
    r = post(client, "/physician/recover/phone", phone="15175070658", captcha="x", code="",
             send="1")
    assert "校验码已发送" in text_of(r)
    code = outbox.last_code("15175070658")
    wrong = "000000" if code != "000000" else "111111"
    r = post(client, "/physician/recover/phone", phone="15175070658", code=wrong, submit="1")
    assert "校验码错误" in text_of(r)
    r = post(client, "/physician/recover/phone", phone="15175070658", code=code, submit="1")
    assert r.status_code == 302 and r.headers["Location"].endswith("/physician/recover/reset")
    html = text_of(client.get("/physician/recover/reset"))
    assert "findme001" in html
    r = post(client, "/physician/recover/reset", password="abc", confirm="abc")
    assert "6至16位" in text_of(r)
    r = post(client, "/physician/recover/reset", password="NewPass2026", confirm="NewPass2026")
    assert r.status_code == 302
    assert live_sessions(acct) == 0
    assert other.get("/physician/").status_code == 302
    assert login(client, "findme001", "NewPass2026").status_code == 302
    # the grant is single use
    assert client.get("/physician/recover/reset").status_code == 302


def test_unverified_phone_gets_no_code(client, make, outbox):
    fp.activated_physician(phone="15175070658", phone_verified=False)
    r = post(client, "/physician/recover/phone", phone="15175070658", captcha="x", code="",
             send="1")
    assert r.status_code == 200  # same answer, nothing sent
    assert outbox.messages("sms") == []


def test_recover_by_email(client, make, outbox):
    inst, person, reg, acct = fp.activated_physician(username="mailme001")
    acct.email = "mailme@example.com"
    acct.email_verified_at = acct.registered_at
    db.session.commit()
    post(client, "/physician/recover/email", email="mailme@example.com", captcha="x", code="",
         send="1")
    (msg,) = outbox.messages("email", "mailme@example.com")
    assert "找回登录账户" in msg["subject"]
    r = post(client, "/physician/recover/email", email="mailme@example.com",
             code=outbox.last_code("mailme@example.com"), submit="1")
    assert r.status_code == 302
    assert "mailme001" in text_of(client.get("/physician/recover/reset"))


def test_recover_by_personal_information_and_throttle(client, make):
    inst, person, reg, acct = fp.activated_physician(username="infome001",
                                                     phone="15175070658", phone_verified=False)
    data = {"name": person.name, "id_number": person.id_number,
            "qualification_code": reg.qualification.code, "phone": "15175070658", "captcha": "x"}
    bad = dict(data, qualification_code="WRONG")
    r = post(client, "/physician/recover/info", **bad)
    assert "不一致" in text_of(r)
    r = post(client, "/physician/recover/info", **dict(data, id_number=person.id_number[:-1]))
    assert "身份证号" in text_of(r)
    r = post(client, "/physician/recover/info", **data)
    assert r.status_code == 302
    assert "infome001" in text_of(client.get("/physician/recover/reset"))
    # five failures lock the 身份证号 for 15 minutes, even with the right data
    c2 = client.application.test_client()
    for _ in range(5):
        post(c2, "/physician/recover/info", **bad)
    r = post(c2, "/physician/recover/info", **data)
    assert "15分钟" in text_of(r)


def test_change_password_needs_old_one_and_ends_other_sessions(app, client, make, login_as):
    inst, person, reg, acct = fp.activated_physician(username="chpass001")
    other = app.test_client()
    login_as(acct, other)
    login_as(acct)
    assert live_sessions(acct) == 2
    html = text_of(client.get("/physician/security/password"))
    for w in ["我的手机", "我的邮箱", "修改密码", "原密码", "新密码", "确认密码"]:
        assert w in html
    r = post(client, "/physician/security/password", old_password="wrong1", password="Zz123456",
             confirm="Zz123456")
    assert "原密码不正确" in text_of(r)
    r = post(client, "/physician/security/password", old_password=f.PASSWORD, password="Zz123456",
             confirm="Zz12345")
    assert "两次输入的密码不一致" in text_of(r)
    r = post(client, "/physician/security/password", old_password=f.PASSWORD,
             password="Zz123456", confirm="Zz123456")
    assert r.status_code == 302
    assert live_sessions(acct) == 1
    assert client.get("/physician/").status_code == 200
    assert other.get("/physician/").status_code == 302
