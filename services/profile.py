"""P9 信息维护 (change requests), P10 photo, P11 我的科室. Requests go to the 主要执业机构
for review (I9); they never touch the qualification."""
import io
import warnings

import sqlalchemy as sa
from PIL import Image

from models import db
from models.account import ChangeRequest, Photo, PhysicianAccount
from models.enums import ReviewStatus
from models.institution import Department, utcnow
from models.reference import ReferenceItem
from models.registry import Registration

from . import Actor, DomainError, audit
from .accounts import primary_registration

PHOTO_WIDTH, PHOTO_HEIGHT = 354, 472
PHOTO_MAX_BYTES = 80 * 1024
PHOTO_EXTENSIONS = ("jpg", "jpeg", "png")
# a photo is 167,088 pixels; anything far bigger is refused before decoding
PHOTO_PIXEL_CAP = 1_000_000

FIELDS = ("education_code", "school", "title_code", "major")
FIELD_LABELS = {"education_code": "学历", "school": "毕业学校", "title_code": "任职资格",
                "major": "所学专业"}


def _require_activated(account: PhysicianAccount):
    if not account.is_activated:
        raise DomainError("请先激活您的账户。")


def _require_registration(account: PhysicianAccount) -> Registration:
    _require_activated(account)
    reg = primary_registration(account)
    if reg is None:
        raise DomainError("您目前没有有效的执业注册，无法修改执业注册信息。")
    return reg


def current_values(reg: Registration) -> dict:
    """The values shown on 我的基本信息: the registration's overlay, else the qualification's."""
    q = reg.qualification
    return {"education_code": reg.education_code or q.education_code,
            "school": reg.school or q.school,
            "title_code": reg.title_code,
            "major": reg.major or q.major}


def reference_label(kind: str, code: str | None) -> str:
    if not code:
        return ""
    item = db.session.get(ReferenceItem, (kind, code))
    return (item.label or item.name) if item else code


def reference_labels(**codes: str | None) -> dict:
    """reference_label() of several kinds in one statement: {kind: label}; a code missing
    from the table is shown as itself, an empty one as ""."""
    wanted = {(kind, code) for kind, code in codes.items() if code}
    found = {}
    if wanted:
        found = {(i.kind, i.code): (i.label or i.name) for i in db.session.scalars(
            sa.select(ReferenceItem).where(
                sa.tuple_(ReferenceItem.kind, ReferenceItem.code).in_(sorted(wanted))))}
    return {kind: found.get((kind, code), code) if code else ""
            for kind, code in codes.items()}


def education_choices() -> list[tuple[str, str]]:
    rows = db.session.scalars(sa.select(ReferenceItem).where(
        ReferenceItem.kind == "education", ReferenceItem.active.is_(True))
        .order_by(ReferenceItem.sort))
    return [(r.code, r.name) for r in rows]


def title_choices() -> list[tuple[str, str]]:
    rows = db.session.scalars(sa.select(ReferenceItem).where(
        ReferenceItem.kind == "title", ReferenceItem.active.is_(True))
        .order_by(ReferenceItem.sort))
    return [(r.code, r.name) for r in rows]


def request_change(actor: Actor, account: PhysicianAccount, *, education_code: str | None,
                   school: str | None, title_code: str | None, major: str | None) -> ChangeRequest:
    reg = _require_registration(account)
    current = current_values(reg)
    wanted = {"education_code": (education_code or "").strip() or None,
              "school": (school or "").strip() or None,
              "title_code": (title_code or "").strip() or None,
              "major": (major or "").strip() or None}
    if wanted["education_code"] and wanted["education_code"] not in dict(education_choices()):
        raise DomainError("请选择有效的学历。", field="education_code")
    if wanted["title_code"] and wanted["title_code"] not in dict(title_choices()):
        raise DomainError("请选择有效的任职资格。", field="title_code")
    if wanted["school"] and len(wanted["school"]) > 100:
        raise DomainError("毕业学校不能超过100个字。", field="school")
    if wanted["major"] and len(wanted["major"]) > 60:
        raise DomainError("所学专业不能超过60个字。", field="major")
    changed = {k: v for k, v in wanted.items() if v is not None and v != current[k]}
    if not changed:
        raise DomainError("您没有修改任何内容。")
    old = db.session.scalar(sa.select(ChangeRequest).where(
        ChangeRequest.account_id == account.id, ChangeRequest.status == ReviewStatus.PENDING))
    if old is not None:
        old.status = ReviewStatus.SUPERSEDED
        audit.record(actor, "change_request_superseded", old,
                     institution_id=old.institution_id)
        db.session.flush()
    row = ChangeRequest(account_id=account.id, registration_id=reg.id,
                        institution_id=reg.institution_id, original=current,
                        status=ReviewStatus.PENDING, **{k: changed.get(k) for k in FIELDS})
    db.session.add(row)
    db.session.flush()
    audit.record(actor, "change_request_submitted", row, before=current, after=changed,
                 institution_id=reg.institution_id)
    db.session.commit()
    return row


def change_requests_of(account: PhysicianAccount) -> list[ChangeRequest]:
    return list(db.session.scalars(sa.select(ChangeRequest).where(
        ChangeRequest.account_id == account.id).order_by(ChangeRequest.id.desc())))


def own_change_request(account: PhysicianAccount, request_id: int) -> ChangeRequest | None:
    return db.session.scalar(sa.select(ChangeRequest).where(
        ChangeRequest.id == request_id, ChangeRequest.account_id == account.id))


# ---- P10 photo ---------------------------------------------------------------------------

class PhotoError(DomainError):
    pass


def check_photo(data: bytes, filename: str) -> bytes:
    """Decode the upload (JPEG/PNG only), check 354×472 and ≤ 80 KB, refuse trailing
    payloads, and return a freshly encoded JPEG without metadata."""
    name = (filename or "").strip().lower()
    ext = name.rsplit(".", 1)[-1] if "." in name else ""
    if ext not in PHOTO_EXTENSIONS:
        raise PhotoError("相片文件扩展名须为jpg、jpeg或png。", field="photo")
    if not data:
        raise PhotoError("请选择要上传的相片。", field="photo")
    if len(data) > PHOTO_MAX_BYTES:
        raise PhotoError(f"相片大小不得超过80k（当前约{(len(data) + 1023) // 1024}k）。",
                         field="photo")
    bad = PhotoError("文件不是有效的JPG或PNG图片，请上传符合要求的证件照。", field="photo")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=["JPEG", "PNG"]) as im:
                fmt = im.format
                if im.size != (PHOTO_WIDTH, PHOTO_HEIGHT):
                    raise PhotoError(
                        f"相片尺寸须为宽354像素、高472像素（当前为宽{im.size[0]}像素、高{im.size[1]}像素）。",
                        field="photo")
                im.load()
                rgb = im.convert("RGBA" if im.mode in ("RGBA", "LA", "P") else "RGB")
    except PhotoError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PhotoError("图片像素数量异常，已拒绝上传。", field="photo")
    except Exception:  # noqa: BLE001 - any decoder failure is a bad upload
        raise bad
    if fmt == "PNG" and not data.endswith(b"IEND\xaeB`\x82"):
        raise PhotoError("图片文件结尾含有多余数据，已拒绝上传。", field="photo")
    if fmt == "JPEG" and not data.rstrip(b"\x00").endswith(b"\xff\xd9"):
        raise PhotoError("图片文件结尾含有多余数据，已拒绝上传。", field="photo")
    fresh = Image.new("RGB", (PHOTO_WIDTH, PHOTO_HEIGHT), "white")
    if rgb.mode == "RGBA":
        fresh.paste(rgb, mask=rgb.split()[3])
    else:
        fresh.paste(rgb)
    out = io.BytesIO()
    fresh.save(out, format="JPEG", quality=90, optimize=True)
    return out.getvalue()


# Pillow's decompression-bomb threshold for this process (photos are the only untrusted
# images the app decodes): warning above the cap (raised as an error above), error above 2×.
if Image.MAX_IMAGE_PIXELS is None or Image.MAX_IMAGE_PIXELS > PHOTO_PIXEL_CAP:
    Image.MAX_IMAGE_PIXELS = PHOTO_PIXEL_CAP


def upload_photo(actor: Actor, account: PhysicianAccount, data: bytes, filename: str) -> Photo:
    reg = _require_registration(account)
    clean = check_photo(data, filename)
    old = db.session.scalar(sa.select(Photo).where(Photo.account_id == account.id,
                                                   Photo.status == ReviewStatus.PENDING))
    if old is not None:
        old.status = ReviewStatus.SUPERSEDED
        audit.record(actor, "photo_superseded", old, institution_id=old.institution_id)
        db.session.flush()
    photo = Photo(account_id=account.id, institution_id=reg.institution_id, data=clean,
                  content_type="image/jpeg", width=PHOTO_WIDTH, height=PHOTO_HEIGHT,
                  size=len(clean), status=ReviewStatus.PENDING)
    db.session.add(photo)
    db.session.flush()
    audit.record(actor, "photo_uploaded", photo, after={"size": len(clean)},
                 institution_id=reg.institution_id)
    db.session.commit()
    return photo


def photos_of(account: PhysicianAccount) -> list[Photo]:
    return list(db.session.scalars(sa.select(Photo).where(Photo.account_id == account.id)
                                   .order_by(Photo.id.desc())))


def own_photo(account: PhysicianAccount, photo_id: int) -> Photo | None:
    return db.session.scalar(sa.select(Photo).where(Photo.id == photo_id,
                                                    Photo.account_id == account.id))


def current_photo(account: PhysicianAccount) -> Photo | None:
    reg = primary_registration(account)
    if reg is not None and reg.photo_id:
        return db.session.get(Photo, reg.photo_id)
    return None


# ---- P11 department ----------------------------------------------------------------------

def departments_for(account: PhysicianAccount) -> list[Department]:
    reg = primary_registration(account)
    if reg is None:
        return []
    return list(db.session.scalars(sa.select(Department).where(
        Department.institution_id == reg.institution_id).order_by(Department.name)))


def set_department(actor: Actor, account: PhysicianAccount, department_id) -> Registration:
    reg = _require_registration(account)
    try:
        dep_id = int(department_id)
    except (TypeError, ValueError):
        raise DomainError("请选择您所在的科室。", field="department_id")
    dep = db.session.get(Department, dep_id)
    if dep is None or dep.institution_id != reg.institution_id:
        raise DomainError("请选择您主要执业机构的科室。", field="department_id")
    before = {"department_id": reg.department_id}
    reg.department_id = dep.id
    audit.record(actor, "department_set", reg, before=before,
                 after={"department_id": dep.id, "department": dep.name},
                 institution_id=reg.institution_id)
    db.session.commit()
    return reg
