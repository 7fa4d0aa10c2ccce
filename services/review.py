"""I9 本院医师信息审核: the 主要执业机构 approves or rejects a physician's requested changes
(学历 / 毕业学校 / 任职资格 / 所学专业) and uploaded photo. Approval writes the registration
overlay; rejection changes nothing but the request. Each decision is a guarded transition
(conditional UPDATE … WHERE status='pending', rowcount checked), audited, and the physician
is notified through the outbox."""
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

from models import db
from models.account import ChangeRequest, PhysicianAccount, Photo
from models.enums import RegistrationStatus, ReviewStatus
from models.institution import utcnow
from models.registry import Registration

from . import Actor, DomainError, audit
from .messaging import queue_email, queue_sms

OVERLAY_FIELDS = ("education_code", "school", "title_code", "major")
ALREADY_REVIEWED = "该申请已审核（或已被医师撤回/替换），请刷新页面后查看。"


def _reason(approve: bool, reason: str | None) -> str | None:
    reason = (reason or "").strip()
    if not approve and not reason:
        raise DomainError("请填写审核不通过的原因。", field="reason")
    if len(reason) > 200:
        raise DomainError("原因不能超过200个字。", field="reason")
    return reason or None


def _transition(model, obj_id: int, approve: bool, actor: Actor, reason):
    """The guarded step, done first in the transaction: on PostgreSQL the row lock makes a
    concurrent reviewer wait and then match nothing; on SQLite the UPDATE takes the write lock
    (a stale snapshot raises OperationalError, which means someone else was quicker)."""
    status = ReviewStatus.APPROVED if approve else ReviewStatus.REJECTED
    try:
        done = db.session.execute(
            sa.update(model).where(model.id == obj_id, model.status == ReviewStatus.PENDING,
                                   model.institution_id == actor.institution_id)
            .values(status=status, reviewed_at=utcnow(), reviewed_by_id=actor.id,
                    review_reason=reason)
            .execution_options(synchronize_session=False)).rowcount
    except OperationalError:
        done = 0
    if done != 1:
        db.session.rollback()
        raise DomainError(ALREADY_REVIEWED)
    return status


def _notify(account: PhysicianAccount, what: str, approve: bool, reason: str | None) -> None:
    result = "已审核通过" if approve else f"审核未通过，原因：{reason}"
    body = (f"【医师电子化注册】您申请修改的{what}{result}。详情请登录医师个人端"
            f"“信息维护—我修改的内容”查看。")
    if account.phone_verified_at and account.phone:
        queue_sms(account.phone, body)
    elif account.email_verified_at and account.email:
        queue_email(account.email, f"{what}审核结果", body)


def _check_tenant(actor: Actor, institution_id) -> None:
    if actor.institution_id is None or institution_id != actor.institution_id:
        raise DomainError("只能审核本院医师的信息。")


def review_change_request(actor: Actor, request: ChangeRequest, approve: bool,
                          reason: str | None = None) -> ChangeRequest:
    _check_tenant(actor, request.institution_id)
    reason = _reason(approve, reason)
    req_id, reg_id = request.id, request.registration_id
    status = _transition(ChangeRequest, req_id, approve, actor, reason)
    reg = db.session.execute(sa.select(Registration).where(Registration.id == reg_id)
                             .execution_options(populate_existing=True)).scalar_one_or_none()
    before = {f: getattr(reg, f) for f in OVERLAY_FIELDS} if reg else {}
    after = None
    if approve and reg is not None:
        for f in OVERLAY_FIELDS:
            v = getattr(request, f)
            if v is not None:
                setattr(reg, f, v)
        reg.info_modified_on = utcnow()
        after = {f: getattr(reg, f) for f in OVERLAY_FIELDS}
    audit.record(actor, "change_request_" + status.value, request, before=before,
                 after=after or {"status": status.value}, detail=reason or "")
    _notify(request.account, "个人信息", approve, reason)
    db.session.commit()
    db.session.refresh(request)
    return request


def review_photo(actor: Actor, photo: Photo, approve: bool, reason: str | None = None) -> Photo:
    _check_tenant(actor, photo.institution_id)
    reason = _reason(approve, reason)
    status = _transition(Photo, photo.id, approve, actor, reason)
    regs = []
    if approve:
        account = photo.account
        if account.person_id:
            regs = list(db.session.scalars(sa.select(Registration).where(
                Registration.person_id == account.person_id,
                Registration.institution_id == actor.institution_id,
                Registration.status == RegistrationStatus.VALID)))
        now = utcnow()
        for reg in regs:
            reg.photo_id = photo.id
            reg.info_modified_on = now
    audit.record(actor, "photo_" + status.value, photo,
                 after={"status": status.value, "registrations": [r.id for r in regs]},
                 detail=reason or "")
    _notify(photo.account, "个人相片", approve, reason)
    db.session.commit()
    db.session.refresh(photo)
    return photo


__all__ = ["review_change_request", "review_photo", "ALREADY_REVIEWED"]
