"""Generated console passwords must be changed at first login; console passwords refuse the
common-password list."""
from models import db
from models.account import ConsoleUser
from models.enums import ConsoleRole
from tests.helpers import csrf_token, text_of


def test_generated_password_must_be_changed_first(app, client, make, login_as):
    auth = make.authority()
    user = make.console_user(ConsoleRole.REVIEWER, authority_obj=auth, password="Initial2026a")
    user.must_change_password = True
    db.session.commit()
    login_as(user)
    r = client.get("/gov/institutions/")
    assert r.status_code == 302 and r.headers["Location"].endswith("/gov/security/")
    page = client.get("/gov/security/")
    assert "初始密码" in text_of(page)
    token = csrf_token(text_of(page))
    r = client.post("/gov/security/", data={"csrf_token": token, "old_password": "Initial2026a",
                                            "new_password": "password1",
                                            "confirm_password": "password1"})
    assert "过于常见" in text_of(r)
    r = client.post("/gov/security/", data={"csrf_token": token, "old_password": "Initial2026a",
                                            "new_password": "Shenpi2026q",
                                            "confirm_password": "Shenpi2026q"})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(ConsoleUser, user.id).must_change_password is False
    assert client.get("/gov/institutions/").status_code == 200


def test_institution_admin_is_sent_to_org_security(app, client, make, login_as):
    admin = make.institution_admin()
    admin.must_change_password = True
    db.session.commit()
    login_as(admin)
    r = client.get("/org/main-physicians/")
    assert r.status_code == 302 and r.headers["Location"].endswith("/org/security/")
