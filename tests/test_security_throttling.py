"""Throttling: per-IP lockout across many account names, lockout expiry after 15 minutes,
console lockout, one password hash per attempt whatever the user, common passwords refused."""
import datetime as dt

import pytest
import sqlalchemy as sa

from models import db
from models.account import LoginAttempt, VerificationCode
from models.institution import utcnow
from services import DomainError
from tests.helpers import csrf_token, text_of


def _post_login(client, url, data):
    page = client.get(url)
    assert page.status_code == 200
    return client.post(url, data=dict(data, csrf_token=csrf_token(text_of(page)), captcha="X"))


def _client_from(app, ip):
    c = app.test_client()
    c.environ_base["REMOTE_ADDR"] = ip
    return c


def test_per_ip_lockout_across_many_account_names(app, make):
    make.physician_account(username="victim0001")
    limit = app.config["IP_MAX_FAILURES"]
    assert 5 < limit <= 100
    attacker = _client_from(app, "203.0.113.7")
    for i in range(limit):
        r = _post_login(attacker, "/physician/login", {"login_name": f"guess{i:04d}",
                                                       "password": "wrong123"})
        assert "用户名或密码错误" in text_of(r), i
    # every name was tried once, yet this address is now locked out, even for a real account
    r = _post_login(attacker, "/physician/login", {"login_name": "victim0001",
                                                   "password": "Passw0rd1"})
    assert r.status_code == 200 and "锁定" in text_of(r)
    assert attacker.get("/physician/").status_code == 302
    # the account's owner from another address is not affected
    owner = _client_from(app, "198.51.100.20")
    r = _post_login(owner, "/physician/login", {"login_name": "victim0001",
                                                "password": "Passw0rd1"})
    assert r.status_code == 302
    assert owner.get("/physician/").status_code == 200


def test_lockout_expires_after_15_minutes(app, client, make):
    make.physician_account(username="expire0001")
    for _ in range(5):
        _post_login(client, "/physician/login", {"login_name": "expire0001",
                                                 "password": "wrong123"})
    r = _post_login(client, "/physician/login", {"login_name": "expire0001",
                                                 "password": "Passw0rd1"})
    assert "锁定" in text_of(r)
    with app.app_context():
        # 14 minutes later: still locked
        for row in db.session.scalars(sa.select(LoginAttempt)):
            row.at = row.at - dt.timedelta(minutes=14)
        db.session.commit()
    r = _post_login(client, "/physician/login", {"login_name": "expire0001",
                                                 "password": "Passw0rd1"})
    assert "锁定" in text_of(r)
    with app.app_context():
        db.session.execute(sa.update(LoginAttempt).values(
            at=utcnow() - dt.timedelta(minutes=16)))
        db.session.commit()
    r = _post_login(client, "/physician/login", {"login_name": "expire0001",
                                                 "password": "Passw0rd1"})
    assert r.status_code == 302 and client.get("/physician/").status_code == 200


def test_success_resets_the_failure_count(app, client, make):
    make.physician_account(username="resets0001")
    for _ in range(4):
        _post_login(client, "/physician/login", {"login_name": "resets0001", "password": "bad"})
    assert _post_login(client, "/physician/login", {"login_name": "resets0001",
                                                    "password": "Passw0rd1"}).status_code == 302
    other = app.test_client()
    for _ in range(4):
        r = _post_login(other, "/physician/login", {"login_name": "resets0001", "password": "x"})
        assert "用户名或密码错误" in text_of(r)


@pytest.mark.parametrize("area", ["org", "gov"])
def test_console_login_lockout(app, client, make, outbox, area):
    if area == "org":
        make.institution_admin(username="lockcons1", phone="13600009999")
    else:
        make.reviewer(username="lockcons1", phone="13600009999")
    for _ in range(5):
        r = _post_login(client, f"/{area}/login", {"username": "lockcons1",
                                                   "password": "Wrong2026x"})
        assert r.status_code == 200 and "用户名或密码错误" in text_of(r)
    r = _post_login(client, f"/{area}/login", {"username": "lockcons1", "password": "Admin2026x"})
    assert r.status_code == 200 and "锁定" in text_of(r)
    assert outbox.messages(to="13600009999") == []  # no second-factor code sent
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(VerificationCode)) == 0
    assert client.get(f"/{area}/").status_code == 302


def test_console_per_ip_lockout(app, make):
    make.institution_admin(username="ipcons001")
    attacker = _client_from(app, "203.0.113.99")
    for i in range(app.config["IP_MAX_FAILURES"]):
        _post_login(attacker, "/org/login", {"username": f"nosuch{i}", "password": "Wrong2026x"})
    r = _post_login(attacker, "/org/login", {"username": "ipcons001", "password": "Admin2026x"})
    assert "锁定" in text_of(r)


class _HashCounter:
    def __init__(self, real):
        self.real = real
        self.calls = 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        return self.real(*args, **kwargs)


@pytest.fixture()
def hash_calls(monkeypatch):
    """Count werkzeug's check_password_hash (a library call) as used by services.security."""
    import services.security as security
    counter = _HashCounter(security.check_password_hash)
    monkeypatch.setattr(security, "check_password_hash", counter)
    return counter


def test_one_password_hash_per_attempt_whoever_the_user(app_ctx, make, hash_calls):
    from services.auth import authenticate_console, authenticate_physician
    make.physician_account(username="known00001")
    make.institution_admin(username="knownorg1")
    cases = [
        lambda: authenticate_physician("nobody-here", "whatever1", "10.1.1.1"),
        lambda: authenticate_physician("known00001", "wrong1234", "10.1.1.1"),
        lambda: authenticate_console("org", "nobody-here", "whatever1", "10.1.1.2"),
        lambda: authenticate_console("org", "knownorg1", "wrong1234", "10.1.1.2"),
        lambda: authenticate_console("gov", "knownorg1", "Admin2026x", "10.1.1.3"),  # wrong kind
    ]
    for i, attempt in enumerate(cases):
        before = hash_calls.calls
        with pytest.raises(DomainError):
            attempt()
        assert hash_calls.calls - before == 1, i
    before = hash_calls.calls
    assert authenticate_physician("known00001", "Passw0rd1", "10.1.1.1").username == "known00001"
    assert hash_calls.calls - before == 1
    # a locked account still costs one hash (no timing shortcut)
    for _ in range(5):
        with pytest.raises(DomainError):
            authenticate_physician("known00001", "bad", "10.1.1.4")
    before = hash_calls.calls
    with pytest.raises(DomainError, match="锁定"):
        authenticate_physician("known00001", "Passw0rd1", "10.1.1.4")
    assert hash_calls.calls - before == 1


def test_common_passwords_are_on_the_bundled_list():
    from services.security import is_common_password
    for weak in ["password1", "Password1", "qwerty123", "admin123", "ADMIN1234", "abc123"]:
        assert is_common_password(weak), weak
    for fine in ["Zx9rT4kq", "Hk3vW8pLm2", "Admin2026x", "Passw0rd1"]:
        assert not is_common_password(fine), fine
