"""Personal information at rest and in logs: no plain 身份证号 anywhere in the database
files (SQLite main file and WAL) or in any column (PostgreSQL); logs carry no passwords,
codes or full 身份证号."""
import logging
from pathlib import Path

import pytest
import sqlalchemy as sa

from models import db
from tests.helpers import csrf_token, text_of


def _post_login(client, url, data):
    page = client.get(url)
    return client.post(url, data=dict(data, csrf_token=csrf_token(text_of(page)), captcha="X"))


def _build_people(make, count=4, area="110105"):
    """Persons with accounts. Tests that type a number into a login box use another area
    code, so deleted-but-not-overwritten pages of the SQLite file never hold a number that
    the at-rest test searches for."""
    inst = make.institution()
    numbers = []
    for i in range(count):
        p = make.person(id_no=make.id_number(area=area))
        make.registration(p, inst)
        make.physician_account(p, institution_obj=inst, username=f"pii{i:07d}")
        numbers.append(p.id_number)
    # an account without a registry person (self-registered)
    acct = make.physician_account(username="pii_self01", id_no=make.id_number(area=area))
    numbers.append(acct.id_number)
    return inst, numbers


def _exercise(app, client, make, login_as, inst):
    """Pages that read the numbers: lists, details (audited reveal), a physician login."""
    admin = make.institution_admin(inst)
    login_as(admin)
    client.get("/org/")
    _post_login(app.test_client(), "/physician/login",
                {"login_name": "pii0000000", "password": "Passw0rd1"})


def _sqlite_files(app) -> list[Path]:
    url = sa.make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    main = Path(url.database)
    return [p for p in (main, Path(str(main) + "-wal"), Path(str(main) + "-journal"))
            if p.exists()]


def _postgres_rows_containing(needles: list[str]) -> list[str]:
    """Every table, every row cast to text (bytea shows as hex: search both forms)."""
    hits = []
    forms = {n: (n, n.encode().hex()) for n in needles}
    for table in db.metadata.sorted_tables:
        for row in db.session.execute(sa.text(f'SELECT t::text FROM "{table.name}" t')):
            text = row[0]
            for n, (plain, hexed) in forms.items():
                if plain in text or hexed in text.lower():
                    hits.append(f"{table.name}: {n}")
    return hits


def _assert_no_plain_numbers(app, numbers):
    assert all(len(n) == 18 for n in numbers)
    with app.app_context():
        db.session.commit()
        if db.engine.dialect.name == "sqlite":
            files = _sqlite_files(app)
            assert files
            for f in files:
                data = f.read_bytes()
                for n in numbers:
                    assert n.encode() not in data, (f.name, n)
                    assert n.encode("utf-16-le") not in data, (f.name, n)
        else:
            assert _postgres_rows_containing(numbers) == []
        # sanity: the rows are really there, encrypted, and decrypt to the numbers
        from models.registry import Person
        stored = {p.id_number for p in db.session.scalars(sa.select(Person))}
        assert set(numbers[:-1]) <= stored


def test_database_holds_no_plain_id_numbers(app, client, make, login_as):
    inst, numbers = _build_people(make)
    _exercise(app, client, make, login_as, inst)
    _assert_no_plain_numbers(app, numbers)


def test_id_number_typed_as_login_name_is_not_stored_in_plain(app, client, make):
    _, numbers = _build_people(make, count=1, area="320102")
    # people do type their 身份证号 into the login box; the failed attempt is recorded
    _post_login(client, "/physician/login", {"login_name": numbers[0], "password": "x"})
    _assert_no_plain_numbers(app, numbers)


@pytest.fixture()
def all_logs(app, caplog):
    """Every record of the app logger and of the root logger at DEBUG (SQLAlchemy's statement
    echo excluded: it is off in every configuration — SQLALCHEMY_ECHO is never set)."""
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger=app.logger.name)
    for name in ("sqlalchemy", "sqlalchemy.engine", "sqlalchemy.pool"):
        caplog.set_level(logging.WARNING, logger=name)
    return caplog


def test_logs_hold_no_passwords_codes_or_id_numbers(app, make, outbox, all_logs):
    assert not app.config.get("SQLALCHEMY_ECHO")
    inst, numbers = _build_people(make, count=2, area="440103")
    make.institution_admin(inst, username="logorg001", phone="13600007777")
    c = app.test_client()
    # a failed and a successful physician login, a login by a typed 身份证号
    _post_login(c, "/physician/login", {"login_name": "pii0000000", "password": "WrongPass9"})
    _post_login(c, "/physician/login", {"login_name": numbers[1], "password": "WrongPass8"})
    r = _post_login(c, "/physician/login", {"login_name": "pii0000000", "password": "Passw0rd1"})
    assert r.status_code == 302
    c.get("/physician/")
    # console login with the SMS second factor: a wrong code, then the right one
    c2 = app.test_client()
    r = _post_login(c2, "/org/login", {"username": "logorg001", "password": "Admin2026x"})
    assert r.headers["Location"].endswith("/org/login/verify")
    page = c2.get("/org/login/verify")
    code = outbox.last_code(to="13600007777")
    wrong = "000000" if code != "000000" else "111111"
    c2.post("/org/login/verify", data={"csrf_token": csrf_token(text_of(page)), "code": wrong})
    # another SMS code send (resend after the 60 s window is refused with a message)
    c2.post("/org/login/verify", data={"csrf_token": csrf_token(text_of(page)), "resend": "1"})
    r = c2.post("/org/login/verify", data={"csrf_token": csrf_token(text_of(page)),
                                           "code": code})
    assert r.status_code == 302
    c2.get("/org/")
    # a failing SMS backend is logged without the message body (which holds the code)
    from services.messaging import queue_sms, deliver_due
    app.config["SMS_BACKEND"] = "definitely-not-a-backend"
    try:
        queue_sms("13600007777", "【医师电子化注册】您的校验码为246813。")
        db.session.commit()
        deliver_due()
    finally:
        app.config["SMS_BACKEND"] = "outbox"
    text = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}"
                     for r in all_logs.records)
    for secret in ["WrongPass9", "WrongPass8", "Passw0rd1", "Admin2026x", code, wrong,
                   "246813", *numbers]:
        assert secret not in text, secret


def test_throttling_rows_keep_no_typed_login_name(app, client, make):
    """What a visitor types as a login name (often a 身份证号 or a phone) is counted for
    lockout under a keyed digest, so login_attempt never holds it in plain text."""
    from models.account import LoginAttempt
    typed = make.id_number(area="330102")
    for _ in range(5):
        _post_login(client, "/physician/login", {"login_name": typed, "password": "x"})
    r = _post_login(client, "/physician/login", {"login_name": typed, "password": "x"})
    assert "锁定" in text_of(r)  # the digest still counts the failures
    with app.app_context():
        keys = db.session.scalars(sa.select(LoginAttempt.key)).all()
    assert len(keys) >= 5 and not any(typed in k for k in keys), keys
