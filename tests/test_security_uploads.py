"""Request size cap (MAX_CONTENT_LENGTH → 413 with the Chinese error page, nothing stored)
and a fuzz of the P10 photo upload with random bytes and truncated image headers."""
import io

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models import db
from models.account import Photo
from models.audit import AuditLog
from tests import factories_portal as fp
from tests.helpers import csrf_token, text_of

PHOTO_URL = "/physician/maintenance/photo"


def _count(model, *where):
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


@pytest.fixture()
def small_cap(app):
    old = app.config["MAX_CONTENT_LENGTH"]
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    yield 64 * 1024
    app.config["MAX_CONTENT_LENGTH"] = old


@pytest.fixture()
def doctor(make, login_as):
    inst, person, reg, acct = fp.activated_physician()
    login_as(acct)
    return acct


def test_default_cap_is_8_mb(app):
    assert app.config["MAX_CONTENT_LENGTH"] == 8 * 1024 * 1024


def test_photo_upload_over_the_cap_is_413_and_stores_nothing(client, doctor, small_cap):
    token = csrf_token(text_of(client.get(PHOTO_URL)))
    big = fp.photo_bytes() + b"\0" * (small_cap + 1)
    r = client.post(PHOTO_URL, data={"csrf_token": token, "photo": (io.BytesIO(big), "me.jpg")},
                    content_type="multipart/form-data")
    assert r.status_code == 413
    assert "上传内容过大" in text_of(r)
    assert _count(Photo) == 0
    assert _count(AuditLog, AuditLog.action == "photo_uploaded") == 0
    # under the cap the same form still works
    r = client.post(PHOTO_URL, data={"csrf_token": token,
                                     "photo": (io.BytesIO(fp.photo_bytes()), "me.jpg")},
                    content_type="multipart/form-data")
    assert r.status_code == 302 and _count(Photo) == 1


def test_login_form_over_the_cap_is_413(client, make, small_cap):
    token = csrf_token(text_of(client.get("/physician/login")))
    r = client.post("/physician/login", data={"csrf_token": token, "login_name": "13900000000",
                                              "password": "x" * (small_cap + 10),
                                              "captcha": "abcd"})
    assert r.status_code == 413
    assert "上传内容过大" in text_of(r)
    assert "_user_id" not in (client.get_cookie("session").value if client.get_cookie("session")
                              else "")


PNG_SIG = b"\x89PNG\r\n\x1a\n"
JPEG_SOI = b"\xff\xd8\xff"


def _truncated(fmt):
    full = fp.photo_bytes(fmt=fmt)
    return st.integers(min_value=0, max_value=len(full) - 1).map(lambda k: full[:k])


bodies = st.one_of(
    st.binary(max_size=4096),
    st.binary(max_size=512).map(lambda b: JPEG_SOI + b),
    st.binary(max_size=512).map(lambda b: PNG_SIG + b),
    _truncated("JPEG"), _truncated("PNG"),
)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=bodies, name=st.sampled_from(["p.jpg", "p.png", "p.jpeg", "p", "p.gif"]))
def test_fuzzed_photo_bytes_never_500_and_store_nothing(client, doctor, data, name):
    token = csrf_token(text_of(client.get(PHOTO_URL)))
    r = client.post(PHOTO_URL, data={"csrf_token": token, "photo": (io.BytesIO(data), name)},
                    content_type="multipart/form-data")
    assert r.status_code == 200, r.status_code  # the form again, with the error at the field
    assert _count(Photo) == 0
