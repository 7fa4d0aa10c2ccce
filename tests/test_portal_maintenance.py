"""P9 信息维护 change requests, P10 photos, P11 我的科室; and id tampering."""
import io
import zlib
import struct

import pytest
import sqlalchemy as sa
from PIL import Image

from models import db
from models.account import ChangeRequest, Photo
from models.enums import ReviewStatus
from models.institution import Department
from models.registry import Qualification, Registration
from tests import factories as f
from tests import factories_portal as fp
from tests.helpers import csrf_token, text_of


def post(client, url, data=None, **kw):
    page = client.get(url)
    data = dict(data or {}, csrf_token=csrf_token(text_of(page)))
    return client.post(url, data=data, **kw)


def upload(client, data: bytes, filename="photo.jpg"):
    return post(client, "/physician/maintenance/photo",
                {"photo": (io.BytesIO(data), filename)}, content_type="multipart/form-data")


def photos():
    db.session.expire_all()
    return db.session.scalars(sa.select(Photo).order_by(Photo.id)).all()


def requests_():
    db.session.expire_all()
    return db.session.scalars(sa.select(ChangeRequest).order_by(ChangeRequest.id)).all()


@pytest.fixture()
def doctor(make, login_as):
    inst, person, reg, acct = fp.activated_physician()
    login_as(acct)
    return inst, person, reg, acct


def test_maintenance_page_as_in_the_deck(client, doctor):
    html = text_of(client.get("/physician/maintenance/"))
    for w in ["我的基本信息", "我的科室", "您修改的内容需您执业所在医疗机构审核!",
              "以下个人信息来自您执业注册关联的医师资格!", "原始资格信息不会被更新", "毕业学校", "学历",
              "任职资格", "所学专业", "我修改的内容", "我上传的相片", "信息修改", "点击上传相片"]:
        assert w in html, w


def test_change_request_pending_replaces_previous_and_keeps_qualification(client, doctor):
    inst, person, reg, acct = doctor
    r = post(client, "/physician/maintenance/edit", {"education_code": "21", "school": "山西医科大学",
                                                    "title_code": "", "major": "临床医学"})
    assert r.status_code == 302
    (cr,) = requests_()
    assert cr.status == ReviewStatus.PENDING and cr.education_code == "21"
    assert cr.school is None and cr.major is None  # unchanged values are not requested
    assert cr.original["education_code"] == "41" and cr.institution_id == inst.id
    r = post(client, "/physician/maintenance/edit", {"education_code": "", "school": "北京大学医学部",
                                                    "title_code": "234", "major": ""})
    first, second = requests_()
    assert first.status == ReviewStatus.SUPERSEDED and second.status == ReviewStatus.PENDING
    assert second.title_code == "234" and second.school == "北京大学医学部"
    html = text_of(client.get("/physician/maintenance/changes"))
    assert "待审核" in html and "已被替换" in html and "北京大学医学部" in html
    db.session.expire_all()
    q = db.session.get(Qualification, reg.qualification_id)
    assert q.school == "山西医科大学" and q.education_code == "41"
    assert db.session.get(Registration, reg.id).school is None


def test_change_request_bad_input(client, doctor):
    r = post(client, "/physician/maintenance/edit", {"education_code": "99x", "school": "",
                                                    "title_code": "", "major": ""})
    assert "请选择有效的学历" in text_of(r)
    r = post(client, "/physician/maintenance/edit", {"education_code": "", "school": "",
                                                    "title_code": "", "major": ""})
    assert "没有修改任何内容" in text_of(r)
    r = post(client, "/physician/maintenance/edit", {"education_code": "", "school": "",
                                                    "title_code": "nope", "major": ""})
    assert "请选择有效的任职资格" in text_of(r)
    assert requests_() == []


def test_valid_photo_is_reencoded_and_replaces_pending(client, doctor):
    inst, person, reg, acct = doctor
    data = fp.photo_bytes()
    im = Image.open(io.BytesIO(data))
    exif = im.getexif()
    exif[0x010E] = "secret comment"
    out = io.BytesIO()
    im.save(out, format="JPEG", exif=exif, quality=85)
    data = out.getvalue()
    assert len(data) <= 80 * 1024 and b"secret comment" in data
    r = upload(client, data)
    assert r.status_code == 302
    (p,) = photos()
    assert p.status == ReviewStatus.PENDING and p.institution_id == inst.id
    assert b"secret comment" not in p.data
    assert Image.open(io.BytesIO(p.data)).size == (354, 472)
    r = upload(client, fp.photo_bytes(fmt="PNG"), "me.png")
    assert r.status_code == 302
    first, second = photos()
    assert first.status == ReviewStatus.SUPERSEDED and second.status == ReviewStatus.PENDING
    html = text_of(client.get("/physician/maintenance/photos"))
    assert f"/physician/maintenance/photos/{second.id}.jpg" in html and "待审核" in html
    img = client.get(f"/physician/maintenance/photos/{second.id}.jpg")
    assert img.status_code == 200 and img.headers["Content-Type"] == "image/jpeg"


def _png_bomb() -> bytes:
    width = height = 12000  # 144 M pixels of 1-bit zeros: a few KB on disk
    raw = b"".join(b"\x00" + b"\x00" * (width // 8) for _ in range(height))

    def chunk(kind, body):
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 9))
            + chunk(b"IEND", b""))


def _gif() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (354, 472), "white").save(out, format="GIF")
    return out.getvalue()


@pytest.mark.parametrize("kind,filename,msg", [
    ("wide", "a.jpg", "宽354像素、高472像素（当前为宽355像素"),
    ("big", "a.jpg", "不得超过80k"),
    ("gif", "a.jpg", "不是有效的JPG或PNG图片"),
    ("bomb", "a.png", "像素数量异常"),
    ("appended", "a.png", "多余数据"),
    ("appended_jpeg", "a.jpg", "多余数据"),
    ("text", "a.jpg", "不是有效的JPG或PNG图片"),
    ("ext", "a.gif", "扩展名须为jpg、jpeg或png"),
    ("empty", "a.jpg", "请选择要上传的相片"),
])
def test_bad_photos_are_refused(client, doctor, kind, filename, msg):
    data = {"wide": lambda: fp.photo_bytes(size=(355, 472)),
            "big": lambda: fp.noisy_jpeg(81),
            "gif": _gif,
            "bomb": _png_bomb,
            "appended": lambda: fp.photo_bytes(fmt="PNG") + b"<?php system($_GET['c']); ?>",
            "appended_jpeg": lambda: fp.photo_bytes() + b"PK\x03\x04payload",
            "text": lambda: b"hello, not an image",
            "ext": lambda: fp.photo_bytes(),
            "empty": lambda: b""}[kind]()
    if kind == "big":
        assert 81 * 1024 < len(data) <= 90 * 1024
    if kind == "bomb":
        assert len(data) < 80 * 1024
    r = upload(client, data, filename)
    assert r.status_code == 200
    assert msg in text_of(r)
    assert photos() == []


def test_department_choice(client, doctor, make):
    inst, person, reg, acct = doctor
    dep = Department(institution_id=inst.id, name="内科")
    other_inst = f.institution()
    foreign = Department(institution_id=other_inst.id, name="外院外科")
    db.session.add_all([dep, foreign])
    db.session.commit()
    html = text_of(client.get("/physician/maintenance/department"))
    assert "请选择您所在的科室" in html and "确认保存" in html and "内科" in html
    assert "外院外科" not in html
    r = post(client, "/physician/maintenance/department", {"department_id": str(foreign.id)})
    assert "主要执业机构的科室" in text_of(r)
    r = post(client, "/physician/maintenance/department", {"department_id": str(dep.id)})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(Registration, reg.id).department_id == dep.id


def test_id_tampering_photos_changes_questions(app, client, make, login_as):
    inst, person, reg, mine = fp.activated_physician()
    inst2, person2, reg2, theirs = fp.activated_physician()
    other = app.test_client()
    login_as(theirs, other)
    upload(other, fp.photo_bytes())
    post(other, "/physician/maintenance/edit", {"education_code": "21", "school": "",
                                               "title_code": "", "major": ""})
    post(other, "/physician/help/ask", {"title": "他人的问题", "body": "内容"})
    (their_photo,) = photos()
    (their_request,) = requests_()
    from models.messaging import Question
    their_q = db.session.scalar(sa.select(Question))
    login_as(mine)
    assert client.get(f"/physician/maintenance/photos/{their_photo.id}.jpg").status_code == 404
    assert client.get(f"/physician/maintenance/changes/{their_request.id}").status_code == 404
    assert client.get(f"/physician/help/questions/{their_q.id}").status_code == 404
    page = client.get("/physician/help/")
    r = client.post(f"/physician/help/questions/{their_q.id}/delete",
                    data={"csrf_token": csrf_token(text_of(page))})
    assert r.status_code == 404
    db.session.expire_all()
    assert db.session.get(Question, their_q.id).hidden_by_asker is False
    assert "他人的问题" not in text_of(client.get("/physician/help/questions"))
    assert f"/photos/{their_photo.id}.jpg" not in text_of(client.get("/physician/maintenance/photos"))
    assert "待审核" not in text_of(client.get("/physician/maintenance/changes"))
    # the owner sees their own
    assert other.get(f"/physician/maintenance/photos/{their_photo.id}.jpg").status_code == 200
    assert other.get(f"/physician/maintenance/changes/{their_request.id}").status_code == 200
