"""X5: application forms as PDF (reportlab, Chinese through the STSong-Light CID font),
with the physician's approved photo and the opinions so far."""
import io

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from models import db
from models.account import Photo
from models.application import Application
from models.enums import ApplicationType as T, ReviewStatus

from . import applications as svc

FONT = "STSong-Light"
_registered = False

FORM_TITLES = {
    T.REGISTRATION: "医师执业注册申请审核表",
    T.ASSISTANT_UPGRADE: "医师执业注册申请审核表（助理医师升执业医师）",
    T.MILITARY_IN: "医师执业注册申请审核表（军队变更入）",
    T.TO_MILITARY: "医师变更执业注册申请审核表（变更到军队）",
    T.CHANGE: "医师变更执业注册申请审核表",
    T.CANCELLATION: "医师注销执业注册申请表",
    T.MULTI_FILING: "医师多机构执业备案申请表",
    T.MULTI_FILING_CANCEL: "医师多机构执业取消备案申请表",
    T.LEGACY_SITE_CANCEL: "医师取消多地点执业申请表",
    T.REGISTRATION_FILING: "医师执业注册备案表",
    T.INSTITUTION_RENAME: "医疗机构更名变更申请表",
    T.CERTIFICATE_REISSUE: "医师执业证书补办申请表",
}


def _font():
    global _registered
    if not _registered:
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
        _registered = True


def _photo_bytes(reg):
    if reg is None or not reg.photo_id:
        return None
    photo = db.session.get(Photo, reg.photo_id)
    if photo is None or photo.status != ReviewStatus.APPROVED:
        return None
    return photo.data


def _wrap(text: str, width: int = 38):
    text = text or ""
    return [text[i:i + width] for i in range(0, len(text), width)] or [""]


def application_pdf(app: Application) -> bytes:
    _font()
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    c.setTitle(FORM_TITLES.get(app.type, app.type.label))
    width, height = A4
    y = height - 25 * mm

    def line(text, size=11, indent=20 * mm):
        nonlocal y
        for part in _wrap(text):
            if y < 20 * mm:
                c.showPage()
                y = height - 20 * mm
            c.setFont(FONT, size)
            c.drawString(indent, y, part)
            y -= size * 1.8

    c.setFont(FONT, 18)
    c.drawCentredString(width / 2, y, FORM_TITLES.get(app.type, app.type.label))
    y -= 14 * mm
    reg = svc.record_registration(app)
    photo = _photo_bytes(reg)
    if photo:
        try:
            c.drawImage(ImageReader(io.BytesIO(photo)), width - 50 * mm, y - 35 * mm,
                        width=30 * mm, height=40 * mm)
        except Exception:  # a damaged image never stops the form
            pass
    person = app.person
    line(f"业务编号：{app.id}    业务类型：{app.type.label}    状态：{app.status.label}")
    if person is not None:
        line(f"姓名：{person.name}    性别：{person.gender.label}")
        line(f"身份证号：{person.id_number_masked}")
        line(f"执业证书编码：{person.certificate_no or '—'}")
        qual = reg.qualification if reg else (person.qualifications[-1]
                                              if person.qualifications else None)
        if qual:
            line(f"资格证书编码：{qual.code}    级别：{qual.level.label}    类别：{qual.category.label}")
    if reg is not None:
        line(f"主要执业机构：{reg.institution.name}")
        line(f"执业地点：{reg.location}    执业范围：{reg.scope_names}")
        line(f"审批机关：{reg.authority.name}")
    if app.applicant_institution is not None:
        line(f"申请机构：{app.applicant_institution.name}")
    y -= 4 * mm
    line("业务申请内容", size=13)
    for label, value in svc.content_lines(app):
        line(f"{label}：{value}")
    y -= 4 * mm
    line("办理意见", size=13)
    inst = app.confirming_institution
    line(f"医疗机构意见（{inst.name if inst else ''}）：{app.institution_opinion or '（尚未办理）'}")
    if app.confirmed_at:
        line(f"    确认时间：{app.confirmed_at:%Y年%m月%d日}")
    auth = app.authority
    line(f"审批机关意见（{auth.name if auth else ''}）：{app.authority_opinion or '（尚未审批）'}")
    if app.decided_at and app.status.value in ("approved", "rejected"):
        line(f"    审批时间：{app.decided_at:%Y年%m月%d日}")
    y -= 8 * mm
    line("申请人签字：________________    日期：________________")
    line("医疗机构（盖章）：________________    审批机关（盖章）：________________")
    c.showPage()
    c.save()
    return buf.getvalue()
