"""Server-side sessions: idle timeout 30 min, absolute 12 h, logout revokes (console too),
a password change ends the user's other sessions. (New session id at login: test_auth.py.)"""
import datetime as dt

import sqlalchemy as sa

from models import db
from models.account import UserSession
from models.institution import utcnow
from services.security import token_digest
from tests.helpers import csrf_token, text_of


def _shift(app, token, **fields):
    with app.app_context():
        db.session.execute(sa.update(UserSession).where(UserSession.id == token_digest(token))
                           .values(**fields))
        db.session.commit()


def _row(app, token):
    with app.app_context():
        return db.session.get(UserSession, token_digest(token))


def test_idle_timeout_logs_out_after_30_minutes(app, client, make, login_as):
    token = login_as(make.physician_account())
    assert client.get("/physician/").status_code == 200
    _shift(app, token, last_seen_at=utcnow() - dt.timedelta(minutes=29))
    assert client.get("/physician/").status_code == 200  # still inside the idle window
    _shift(app, token, last_seen_at=utcnow() - dt.timedelta(minutes=31))
    r = client.get("/physician/")
    assert r.status_code == 302 and "/physician/login" in r.headers["Location"]
    assert _row(app, token).revoked_at is not None
    # coming back inside the window does not revive a revoked session
    _shift(app, token, last_seen_at=utcnow())
    assert client.get("/physician/").status_code == 302


def test_activity_keeps_the_session_alive(app, client, make, login_as):
    token = login_as(make.institution_admin())
    _shift(app, token, last_seen_at=utcnow() - dt.timedelta(minutes=20))
    assert client.get("/org/").status_code == 200
    assert utcnow() - _row(app, token).last_seen_at < dt.timedelta(minutes=1)


def test_absolute_timeout_after_12_hours_even_when_active(app, client, make, login_as):
    token = login_as(make.institution_admin())
    _shift(app, token, created_at=utcnow() - dt.timedelta(hours=11, minutes=58),
           last_seen_at=utcnow())
    assert client.get("/org/").status_code == 200
    _shift(app, token, created_at=utcnow() - dt.timedelta(hours=12, minutes=1),
           last_seen_at=utcnow())
    r = client.get("/org/")
    assert r.status_code == 302 and "/org/login" in r.headers["Location"]
    assert _row(app, token).revoked_at is not None


def test_console_logout_revokes_the_server_side_session(app, client, make, login_as):
    token = login_as(make.reviewer())
    home = client.get("/gov/")
    assert home.status_code == 200
    r = client.post("/gov/logout", data={"csrf_token": csrf_token(text_of(home))})
    assert r.status_code == 302
    assert _row(app, token).revoked_at is not None
    with client.session_transaction() as s:
        s["_user_id"] = token  # replaying the old cookie value
    assert client.get("/gov/").status_code == 302


def test_logout_needs_post_with_csrf(app, client, make, login_as):
    token = login_as(make.physician_account())
    assert client.get("/physician/logout").status_code == 405
    assert client.post("/physician/logout").status_code == 400
    assert _row(app, token).revoked_at is None
    assert client.get("/physician/").status_code == 200


def test_password_change_ends_the_users_other_sessions(app, make):
    """Service level: end_user_sessions keeps the current session, ends the user's others,
    leaves other users alone (the UI calls it from 安全设置)."""
    from services.sessions import end_user_sessions, load_session_user, start_session
    doctor = make.physician_account()
    other = make.physician_account()
    admin = make.institution_admin()
    mine = start_session(doctor, "10.0.0.1", "browser A")
    second = start_session(doctor, "10.0.0.2", "browser B")
    third = start_session(doctor, "10.0.0.3", "phone")
    theirs = start_session(other, "10.0.0.4", "x")
    admins = start_session(admin, "10.0.0.5", "x")
    db.session.commit()
    assert all(load_session_user(t) is not None for t in (mine, second, third, theirs, admins))
    assert end_user_sessions(doctor, except_token=mine) == 2
    db.session.commit()
    assert load_session_user(mine).id == doctor.id
    assert load_session_user(second) is None and load_session_user(third) is None
    assert load_session_user(theirs).id == other.id
    assert load_session_user(admins).id == admin.id  # same numeric id space, other kind
    # without an exception every session of the user ends
    assert end_user_sessions(doctor) == 1
    db.session.commit()
    assert load_session_user(mine) is None


def test_other_browser_is_logged_out_after_sessions_end(app, client, make, login_as):
    from services.sessions import end_user_sessions
    doctor = make.physician_account()
    login_as(doctor)
    other = app.test_client()
    keep = login_as(doctor, other)
    assert client.get("/physician/").status_code == 200
    end_user_sessions(doctor, except_token=keep)
    db.session.commit()
    assert client.get("/physician/").status_code == 302
    assert other.get("/physician/").status_code == 200


def test_cookie_holds_only_a_random_token(app, client, make, login_as):
    token = login_as(make.physician_account())
    assert len(token) >= 40
    row = _row(app, token)
    assert row.id == token_digest(token) and row.id != token  # only the digest is stored
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(UserSession)
                                 .where(UserSession.id == token)) == 0
