"""P3: phone verification by SMS code, e-mail verification as the fallback; expiry,
cool-down, attempt limit, sending limits; a verified phone is a login name."""
import datetime as dt

import sqlalchemy as sa

from models import db
from models.account import PhysicianAccount, VerificationCode
from models.enums import AccountState
from tests import factories as f
from tests import factories_portal as fp
from tests.helpers import csrf_token, text_of


def _account(make, **kw):
    inst, person, reg = fp.registry_physician()
    return fp.account_for(person, institution=inst, phone_verified=False,
                          phone="15175070658", **kw)


def send(client, phone, url="/physician/security/phone", field="phone"):
    page = client.get(url)
    return client.post(url, data={"csrf_token": csrf_token(text_of(page)), field: phone,
                                  "code": "", "send": "1"})


def confirm(client, phone, code, url="/physician/security/phone", field="phone"):
    page = client.get(url)
    return client.post(url, data={"csrf_token": csrf_token(text_of(page)), field: phone,
                                  "code": code, "submit": "1"})


def fresh(acct):
    db.session.expire_all()
    return db.session.get(PhysicianAccount, acct.id)


def test_phone_page_has_the_deck_steps(client, make, login_as):
    acct = _account(make)
    login_as(acct)
    html = text_of(client.get("/physician/security/phone"))
    for w in ["验证手机号码", "我的手机", "向手机发送校验码", "请填写手机校验码", "确定",
              "15175070658", "点击此处进行邮箱的验证"]:
        assert w in html, w


def test_verify_phone_then_log_in_with_it(client, make, login_as, outbox):
    acct = _account(make)
    login_as(acct)
    r = send(client, "15175070658")
    assert "校验码已发送至 151****0658" in text_of(r)
    (msg,) = outbox.messages("sms", "15175070658")
    assert "验证手机号码" in msg["body"] and "10分钟内有效" in msg["body"]
    code = outbox.last_code("15175070658")
    row = db.session.scalar(sa.select(VerificationCode))
    assert code not in row.code_hash  # stored hashed
    r = confirm(client, "15175070658", code)
    assert r.status_code == 302 and r.headers["Location"].endswith("/physician/activate")
    assert fresh(acct).phone_verified_at is not None
    from services.auth import find_physician_account
    assert find_physician_account("15175070658").id == acct.id
    # reuse of the same code fails
    r = confirm(client, "15175070658", code)
    assert "已使用" in text_of(r)


def test_wrong_code_counts_and_five_tries_end_the_code(client, make, login_as, outbox):
    acct = _account(make)
    login_as(acct)
    send(client, "15175070658")
    code = outbox.last_code("15175070658")
    wrong = "000000" if code != "000000" else "111111"
    for i in range(5):
        r = confirm(client, "15175070658", wrong)
        assert "校验码错误" in text_of(r)
    r = confirm(client, "15175070658", code)
    assert "错误次数过多" in text_of(r)
    assert fresh(acct).phone_verified_at is None


def test_expired_code_is_refused(client, make, login_as, outbox):
    acct = _account(make)
    login_as(acct)
    send(client, "15175070658")
    code = outbox.last_code("15175070658")
    row = db.session.scalar(sa.select(VerificationCode))
    row.expires_at = dt.datetime.utcnow() - dt.timedelta(seconds=1)
    db.session.commit()
    r = confirm(client, "15175070658", code)
    assert "已过期" in text_of(r)
    assert fresh(acct).phone_verified_at is None


def test_code_for_another_phone_does_not_verify_this_one(client, make, login_as, outbox):
    acct = _account(make)
    login_as(acct)
    send(client, "15175070658")
    code = outbox.last_code("15175070658")
    r = confirm(client, "15175070659", code)
    assert "请先获取校验码" in text_of(r)
    assert fresh(acct).phone_verified_at is None


def test_resend_cool_down_and_daily_limit(client, make, login_as, outbox):
    acct = _account(make)
    login_as(acct)
    send(client, "15175070658")
    r = send(client, "15175070658")
    assert "60秒后" in text_of(r)
    assert len(outbox.messages("sms", "15175070658")) == 1
    # ten a day per phone
    rows = db.session.scalars(sa.select(VerificationCode)).all()
    for row in rows:
        row.created_at -= dt.timedelta(minutes=5)
    for i in range(9):
        db.session.add(VerificationCode(purpose=rows[0].purpose, target="15175070658",
                                        code_hash="x", ip="10.0.0.9",
                                        created_at=dt.datetime.utcnow() - dt.timedelta(hours=2),
                                        expires_at=dt.datetime.utcnow()))
    db.session.commit()
    r = send(client, "15175070658")
    assert "次数已达上限" in text_of(r)


def test_per_ip_hourly_limit(client, make, login_as):
    acct = _account(make)
    login_as(acct)
    from models.enums import CodePurpose
    for i in range(30):
        db.session.add(VerificationCode(purpose=CodePurpose.VERIFY_PHONE, target=f"1380000{i:04d}",
                                        code_hash="x", ip="127.0.0.1",
                                        created_at=dt.datetime.utcnow() - dt.timedelta(minutes=5),
                                        expires_at=dt.datetime.utcnow()))
    db.session.commit()
    r = send(client, "15175070658")
    assert "过于频繁" in text_of(r)


def test_bad_phone_and_phone_verified_by_someone_else(client, make, login_as, outbox):
    f.physician_account(phone="15175070658", phone_verified=True)
    acct = _account(make)
    login_as(acct)
    r = send(client, "2517507065")
    assert "11位中国大陆手机号码" in text_of(r)
    r = send(client, "15175070658")
    assert "已被其他账户验证使用" in text_of(r)
    assert outbox.messages("sms") == []


def test_email_fallback_verification(client, make, login_as, outbox):
    acct = _account(make)
    login_as(acct)
    url = "/physician/security/email"
    r = send(client, "doc@example.com", url=url, field="email")
    assert "校验码已发送" in text_of(r)
    (msg,) = outbox.messages("email", "doc@example.com")
    assert "邮箱校验码" in msg["subject"] and "医师电子化注册信息系统" in msg["body"]
    r = confirm(client, "doc@example.com", outbox.last_code("doc@example.com"), url=url,
                field="email")
    assert r.status_code == 302
    a = fresh(acct)
    assert a.email_verified_at is not None and a.email == "doc@example.com"
    # a verified e-mail lets the physician go on to step 2 of activation
    assert "输入激活码激活账户" in text_of(client.get("/physician/activate"))


def test_change_verified_phone(client, make, login_as, outbox):
    inst, person, reg, acct = fp.activated_physician(phone="15175070658")
    login_as(acct)
    html = text_of(client.get("/physician/security/phone"))
    assert "已校验手机：151****0658" in html and "更换手机号" in html
    send(client, "13912340000", url="/physician/security/phone?change=1")
    r = confirm(client, "13912340000", outbox.last_code("13912340000"),
                url="/physician/security/phone?change=1")
    assert r.status_code == 302
    a = fresh(acct)
    assert a.phone == "13912340000" and a.state == AccountState.ACTIVATED
