"""I1 console accounts: 找回密码 (/org/forgot, /gov/forgot) and 安全设置 (change password)."""
import sqlalchemy as sa

from models import db
from models.account import ConsoleUser, UserSession
from models.audit import AuditLog
from services.security import verify_password
from tests.helpers import csrf_token, text_of


def _sessions_alive(user_id):
    return db.session.scalar(sa.select(sa.func.count()).select_from(UserSession).where(
        UserSession.user_id == user_id, UserSession.revoked_at.is_(None)))


def test_login_page_links_to_recovery(client, app):
    page = text_of(client.get("/org/login"))
    assert 'href="/org/forgot"' in page
    assert 'href="/gov/forgot"' in text_of(client.get("/gov/login"))


def test_recover_password_by_reserved_phone(client, app, make, login_as, outbox):
    admin = make.institution_admin(phone="13912345678", username="orgadmin01")
    other = app.test_client()
    login_as(admin, other)
    page = text_of(client.get("/org/forgot"))
    for label in ["用户名", "预留手机号", "验证码"]:
        assert f">{label}</label>" in page
    token = csrf_token(page)
    r = client.post("/org/forgot", data={"csrf_token": token, "username": "orgadmin01",
                                         "phone": "13900000001", "captcha": "x"})
    assert "用户名与预留手机号不匹配" in text_of(r)
    assert not outbox.messages("sms", "13912345678")
    r = client.post("/org/forgot", data={"csrf_token": token, "username": "orgadmin01",
                                         "phone": "13912345678", "captcha": "x"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/org/forgot/reset")
    code = outbox.last_code("13912345678")
    page = text_of(client.get("/org/forgot/reset"))
    token = csrf_token(page)
    r = client.post("/org/forgot/reset", data={"csrf_token": token, "code": "000000",
                                               "new_password": "NewPass2026",
                                               "confirm_password": "NewPass2026"})
    assert "校验码错误" in text_of(r)
    r = client.post("/org/forgot/reset", data={"csrf_token": token, "code": code,
                                               "new_password": "short1",
                                               "confirm_password": "short1"})
    assert "8–16位" in text_of(r)
    r = client.post("/org/forgot/reset", data={"csrf_token": token, "code": code,
                                               "new_password": "NewPass2026",
                                               "confirm_password": "NewPass2026"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/org/login")
    db.session.expire_all()
    user = db.session.get(ConsoleUser, admin.id)
    assert verify_password(user.password_hash, "NewPass2026")
    assert _sessions_alive(admin.id) == 0
    assert other.get("/org/").status_code == 302  # the old session ended
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditLog).where(
        AuditLog.action == "password_recovered")) == 1


def test_recovery_is_per_console_and_throttled(client, app, make, outbox):
    reviewer = make.reviewer(phone="13712345678", username="govuser01")
    page = text_of(client.get("/org/forgot"))
    token = csrf_token(page)
    # a commission account cannot recover through the institution console
    r = client.post("/org/forgot", data={"csrf_token": token, "username": "govuser01",
                                         "phone": "13712345678", "captcha": "x"})
    assert "不匹配" in text_of(r)
    for _ in range(5):
        client.post("/gov/forgot", data={"csrf_token": token, "username": "govuser01",
                                         "phone": "13700000000", "captcha": "x"})
    r = client.post("/gov/forgot", data={"csrf_token": token, "username": "govuser01",
                                         "phone": "13712345678", "captcha": "x"})
    assert "尝试次数过多" in text_of(r)
    assert not outbox.messages("sms", reviewer.phone)


def test_change_password_ends_other_sessions(client, app, make, login_as):
    admin = make.institution_admin()
    other = app.test_client()
    login_as(admin, other)
    login_as(admin)
    page = text_of(client.get("/org/security/"))
    for label in ["原密码", "新密码", "确认新密码"]:
        assert f">{label}</label>" in page
    token = csrf_token(page)
    r = client.post("/org/security/", data={"csrf_token": token, "old_password": "wrong",
                                            "new_password": "Abcdefg12",
                                            "confirm_password": "Abcdefg12"})
    assert "原密码不正确" in text_of(r)
    r = client.post("/org/security/", data={"csrf_token": token, "old_password": "Admin2026x",
                                            "new_password": "abcdefgh",
                                            "confirm_password": "abcdefgh"})
    assert "同时包含字母和数字" in text_of(r)
    r = client.post("/org/security/", data={"csrf_token": token, "old_password": "Admin2026x",
                                            "new_password": "Abcdefg12",
                                            "confirm_password": "Abcdefg12"})
    assert r.status_code == 302
    assert client.get("/org/security/").status_code == 200  # this session stays
    assert other.get("/org/security/").status_code == 302  # the other one ended
    db.session.expire_all()
    assert verify_password(db.session.get(ConsoleUser, admin.id).password_hash, "Abcdefg12")
