"""Business applications (§5, B1–B12): one state machine for every type.

已提交 → (机构同意 → 待审批 → 已批准 | 不予批准) | 机构不同意; 已撤回 by the applicant before
confirmation; the institution may take back its 同意 while the authority has not decided.

Every transition is guarded: a conditional UPDATE on (id, status, version) whose rowcount is
checked (plus SELECT … FOR UPDATE on PostgreSQL), an ApplicationEvent, an audit row and a
message to the physician, all committed together. The rules are checked when applying and
again when approving (`plan()` is the single place that knows them)."""
import datetime as dt
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import joinedload

from models import db
from models.account import PhysicianAccount
from models.application import Application, ApplicationEvent
from models.enums import (AccountState, ActivationMethod, ApplicationStatus, ApplicationType,
                          FilingStatus, PhysicianCategory, PhysicianLevel, RegistrationStatus,
                          UserKind, VerificationOutcome)
from models.institution import Institution, utcnow
from models.loading import collection_load
from models.reference import PracticeScope, ReferenceItem
from models.registry import (CertificateReissue, CreditRecord, Filing, LegacySite, Person,
                             Qualification, Registration, RegistrationMove)

from . import Actor, DomainError, audit
from .messaging import queue_email, queue_sms

T = ApplicationType
S = ApplicationStatus
CONFLICT = "该业务已被其他人处理，请刷新后查看"

# the nine types a physician applies for (P12), in the deck's order, plus P14
PHYSICIAN_TYPES = [T.REGISTRATION, T.ASSISTANT_UPGRADE, T.MILITARY_IN, T.TO_MILITARY, T.CHANGE,
                   T.CANCELLATION, T.MULTI_FILING, T.MULTI_FILING_CANCEL, T.LEGACY_SITE_CANCEL,
                   T.CERTIFICATE_REISSUE]
INSTITUTION_TYPES = [T.CANCELLATION, T.REGISTRATION_FILING, T.INSTITUTION_RENAME]
# before activation (P4c: province without electronic registration) only these
PRE_ACTIVATION_TYPES = (T.REGISTRATION, T.CHANGE)
REISSUE_REASONS = ("遗失", "损毁")
FILING_REASON_CODES = ("F01", "F02", "F03", "F04", "F05")  # 调离 退休 退职 被辞退 被开除
INSTITUTION_CANCEL_EXCLUDED = ("C10",)  # 本人主动申请 is the physician's own


@dataclass
class Plan:
    """What an application means, computed from the register as it is now."""
    person: Person | None = None
    registration: Registration | None = None  # the registration the business is about
    confirming: Institution | None = None
    authority_id: int | None = None
    qualification: Qualification | None = None
    institution: Institution | None = None  # the proposed institution (B1/B3/B5/B7)
    scopes: list = field(default_factory=list)
    category: PhysicianCategory | None = None
    level: PhysicianLevel | None = None
    location_code: str | None = None
    lines: list = field(default_factory=list)  # 业务申请内容, (label, value)


# ---- look-ups ------------------------------------------------------------------------------

def valid_registrations(person_id: int) -> list[Registration]:
    return list(db.session.scalars(
        sa.select(Registration).where(Registration.person_id == person_id,
                                      Registration.status == RegistrationStatus.VALID)
        .order_by(Registration.id)))


def reasons(kind: str) -> list[ReferenceItem]:
    return list(db.session.scalars(
        sa.select(ReferenceItem).where(ReferenceItem.kind == kind, ReferenceItem.active.is_(True))
        .order_by(ReferenceItem.sort, ReferenceItem.code)))


def cancel_reasons(for_institution: bool = False) -> list[ReferenceItem]:
    """The deck's ten 注销 reasons (C01–C10); C10 本人主动申请 only for the physician."""
    items = [r for r in reasons("cancel_reason") if r.code <= "C10"]
    if for_institution:
        items = [r for r in items if r.code not in INSTITUTION_CANCEL_EXCLUDED]
    return items


def filing_reasons() -> list[ReferenceItem]:
    return [r for r in reasons("filing_reason") if r.code in FILING_REASON_CODES]


def _reason_name(kind: str, code: str) -> str:
    item = db.session.get(ReferenceItem, (kind, code))
    return item.name if item else code


def scopes_of(category: PhysicianCategory) -> list[PracticeScope]:
    return list(db.session.scalars(sa.select(PracticeScope).where(
        PracticeScope.category == category).order_by(PracticeScope.sort, PracticeScope.code)))


def search_institutions(name: str, limit: int = 20) -> list[Institution]:
    name = (name or "").strip()
    if not name:
        return []
    return list(db.session.scalars(
        sa.select(Institution).where(Institution.active.is_(True),
                                     Institution.name.contains(name, autoescape=True))
        .order_by(Institution.name).limit(limit)))


def _int(payload: dict, key: str, label: str) -> int:
    try:
        return int(payload.get(key))
    except (TypeError, ValueError):
        raise DomainError(f"请选择{label}。", field=key) from None


def _authority_for(inst: Institution, category: PhysicianCategory) -> int:
    a = inst.authority_for(category)
    if a is None:
        raise DomainError(f"该机构尚未设置{category.label}类别医师的审批机关，"
                          f"请联系{inst.name}在「审批机关设置」中设置后再申请。",
                          field="institution_id")
    return a.id


def _institution(payload: dict, key: str = "institution_id") -> Institution:
    inst = db.session.get(Institution, _int(payload, key, "拟执业机构"))
    if inst is None or not inst.active:
        raise DomainError("所选医疗机构不存在或已停用，请重新选择。", field=key)
    return inst


def _own_registration(person: Person, payload: dict, key: str = "registration_id",
                      level: PhysicianLevel | None = None) -> Registration:
    reg = db.session.get(Registration, _int(payload, key, "执业注册信息"))
    if reg is None or reg.person_id != person.id:
        raise DomainError("所选执业注册信息不存在。", field=key)
    if reg.status != RegistrationStatus.VALID:
        raise DomainError(f"所选执业注册当前状态为「{reg.status.label}」，不能办理此业务。", field=key)
    if level is not None and reg.level != level:
        raise DomainError(f"所选执业注册不是{level.label}注册。", field=key)
    return reg


def _scopes(payload: dict, category: PhysicianCategory, required: bool = True) -> list:
    codes = payload.get("scope_codes") or []
    if isinstance(codes, str):
        codes = [codes]
    codes = [str(c) for c in codes if str(c).strip()]
    if not codes:
        if required:
            raise DomainError("请选择执业范围。", field="scope_codes")
        return []
    if len(set(codes)) != len(codes):
        raise DomainError("执业范围不能重复选择。", field="scope_codes")
    if len(codes) > 3:
        raise DomainError("执业范围最多选择3项。", field="scope_codes")
    out = []
    for c in codes:
        s = db.session.get(PracticeScope, c)
        if s is None:
            raise DomainError("所选执业范围不在执业范围目录中。", field="scope_codes")
        if s.category != category:
            raise DomainError(f"执业范围「{s.name}」不属于{category.label}类别，"
                              f"请在{category.label}类别的执业范围中选择。", field="scope_codes")
        out.append(s)
    return out


def _location_for(inst: Institution, level: PhysicianLevel) -> str:
    """执业地点: the institution's province for 执业医师, its county for 执业助理医师."""
    return inst.province_code if level == PhysicianLevel.PHYSICIAN else inst.region_code


def _qualification(person: Person, payload: dict, *, level=None, category=None) -> Qualification:
    if payload.get("qualification_id"):
        q = db.session.get(Qualification, _int(payload, "qualification_id", "医师资格"))
        if q is None or q.person_id != person.id:
            raise DomainError("所选医师资格不存在。", field="qualification_id")
    else:
        quals = [q for q in person.qualifications
                 if (level is None or q.level == level)
                 and (category is None or q.category == category)]
        if not quals:
            if category is not None:
                raise DomainError(f"您没有{category.label}类别的"
                                  f"{(level.label if level else '')}医师资格，不能申请该类别。"
                                  .replace("执业医师医师资格", "执业医师资格"), field="category")
            raise DomainError("未查询到您的医师资格信息，不能申请注册。", field="qualification_id")
        # the 执业医师 qualification wins over an earlier 助理 one
        q = sorted(quals, key=lambda x: (x.level != PhysicianLevel.PHYSICIAN, -x.year))[0]
    if level is not None and q.level != level:
        raise DomainError(f"所选医师资格的级别不是{level.label}。", field="qualification_id")
    if category is not None and q.category != category:
        raise DomainError(f"您没有{category.label}类别的医师资格，不能申请该类别。",
                          field="category")
    return q


def _check_re_registration_bars(person: Person, today: dt.date) -> None:
    """医师法 第十六条: 2 years after revocation; 1 year after 注销 for failed assessment."""
    revoked = db.session.scalar(
        sa.select(sa.func.max(CreditRecord.decided_on)).where(
            CreditRecord.person_id == person.id, CreditRecord.revokes_certificate.is_(True)))
    if revoked and today < _add_years(revoked, 2):
        raise DomainError(f"您于{revoked:%Y年%m月%d日}被吊销医师执业证书，不满二年，"
                          f"依照《医师法》第十六条不予注册（{_add_years(revoked, 2):%Y年%m月%d日}后可申请）。")
    failed = db.session.scalar(
        sa.select(sa.func.max(Registration.status_changed_on)).where(
            Registration.person_id == person.id,
            Registration.status == RegistrationStatus.CANCELLED,
            Registration.status_reason_code == "C04"))
    if failed and today < _add_years(failed, 1):
        raise DomainError(f"您于{failed:%Y年%m月%d日}因医师定期考核不合格被注销注册，不满一年，"
                          f"依照《医师法》第十六条不予注册（{_add_years(failed, 1):%Y年%m月%d日}后可申请）。")


def _add_years(d: dt.date, n: int) -> dt.date:
    try:
        return d.replace(year=d.year + n)
    except ValueError:  # 29 February
        return d.replace(year=d.year + n, day=28)


def _new_location_rules(person: Person, level: PhysicianLevel, location: str,
                        ignore_reg_id: int | None = None) -> None:
    regs = [r for r in valid_registrations(person.id) if r.id != ignore_reg_id]
    if any(r.location_code == location for r in regs):
        raise DomainError("您在该执业地点已有有效注册，一个执业地点只能有一个主要执业机构；"
                          "如需更换主要执业机构，请申请「变更」。", field="institution_id")
    if level == PhysicianLevel.ASSISTANT and regs:
        raise DomainError("执业助理医师只能注册一个执业地点，您已有有效注册。", field="institution_id")
    if level == PhysicianLevel.PHYSICIAN and any(r.level == PhysicianLevel.ASSISTANT for r in regs):
        raise DomainError("您持有有效的执业助理医师注册，请申请「助理医师升执业医师」。")


# ---- the rules of each type ------------------------------------------------------------------

def plan(type_: ApplicationType, payload: dict, *, person: Person | None = None,
         applicant_institution: Institution | None = None,
         today: dt.date | None = None) -> Plan:
    """Check every rule of `type_` against the register as it is now; say who confirms and
    who approves. Raises DomainError with a Chinese message."""
    today = today or dt.date.today()
    p = Plan(person=person)
    reason = (payload.get("reason") or "").strip()

    if type_ == T.INSTITUTION_RENAME:
        inst = applicant_institution
        new_name = (payload.get("new_name") or "").strip()
        if not new_name:
            raise DomainError("请输入机构新名称。", field="new_name")
        if len(new_name) > 128:
            raise DomainError("机构名称不能超过128个字。", field="new_name")
        if new_name == inst.name:
            raise DomainError("新名称与现名称相同。", field="new_name")
        p.institution = inst
        p.authority_id = inst.licensing_authority_id
        p.lines = [("机构原名称", inst.name), ("机构名称请求变更为", new_name)]
        _reason_line(p, reason)
        return p

    if person is None:
        raise DomainError("未查询到您的医师资格信息，不能办理业务。")

    if type_ in (T.REGISTRATION, T.MILITARY_IN):
        _check_re_registration_bars(person, today)
        inst = _institution(payload)
        if type_ == T.MILITARY_IN:
            if not person.is_military and not any(q.kind.value == "military"
                                                  for q in person.qualifications):
                raise DomainError("未查询到您的军队医师身份，「军队变更入」仅限军队医师办理。")
            if inst.is_military:
                raise DomainError("军队变更入须选择地方医疗机构。", field="institution_id")
        q = _qualification(person, payload)
        p.qualification, p.level, p.category = q, q.level, q.category
        p.scopes = _scopes(payload, q.category)
        p.location_code = _location_for(inst, q.level)
        _new_location_rules(person, q.level, p.location_code)
        p.institution = p.confirming = inst
        p.authority_id = _authority_for(inst, q.category)
        p.lines = [("拟主要执业机构", inst.name), ("执业地点", _region_name(p.location_code)),
                   ("医师级别", q.level.label), ("医师类别", q.category.label),
                   ("执业范围", "，".join(s.name for s in p.scopes))]

    elif type_ == T.ASSISTANT_UPGRADE:
        reg = _own_registration(person, payload, level=PhysicianLevel.ASSISTANT)
        q = _qualification(person, {"qualification_id": payload.get("qualification_id")}
                           if payload.get("qualification_id") else {},
                           level=PhysicianLevel.PHYSICIAN, category=reg.category)
        inst = reg.institution
        p.registration, p.qualification = reg, q
        p.level, p.category = PhysicianLevel.PHYSICIAN, reg.category
        p.scopes = _scopes(payload, reg.category, required=False) or list(reg.scopes)
        p.location_code = inst.province_code
        others = [r for r in valid_registrations(person.id)
                  if r.id != reg.id and r.location_code == p.location_code]
        if others:
            raise DomainError("您在该省已有有效的执业医师注册。")
        p.institution = p.confirming = inst
        p.authority_id = _authority_for(inst, reg.category)
        p.lines = [("主要执业机构（不变）", inst.name), ("医师级别请求变更为", "执业医师"),
                   ("执业医师资格证书编码", q.code),
                   ("执业范围", "，".join(s.name for s in p.scopes))]

    elif type_ == T.TO_MILITARY:
        reg = _own_registration(person, payload)
        p.registration, p.confirming = reg, reg.institution
        p.authority_id = _authority_for(reg.institution, reg.category)
        n = len(valid_registrations(person.id))
        p.lines = [("业务内容", f"变更到军队，地方的{n}个有效执业注册将全部失效")]

    elif type_ == T.CHANGE:
        reg = _own_registration(person, payload)
        inst = _institution(payload) if payload.get("institution_id") else reg.institution
        try:
            category = PhysicianCategory(str(payload.get("category") or reg.category.value))
        except ValueError:
            raise DomainError("请选择正确的执业类别。", field="category") from None
        q = reg.qualification
        if category != reg.category:
            q = _qualification(person, {}, level=reg.level, category=category)
        scopes = _scopes(payload, category)
        location = _location_for(inst, reg.level)
        if (inst.id == reg.institution_id and category == reg.category
                and {s.code for s in scopes} == {s.code for s in reg.scopes}):
            raise DomainError("申请内容与当前注册信息相同，没有需要变更的事项。")
        if location != reg.location_code:
            _new_location_rules(person, reg.level, location, ignore_reg_id=reg.id)
        p.registration, p.qualification, p.institution = reg, q, inst
        p.level, p.category, p.scopes, p.location_code = reg.level, category, scopes, location
        p.confirming = inst
        p.authority_id = _authority_for(inst, category)
        if inst.id != reg.institution_id:
            p.lines.append(("主要执业机构请求变更为", inst.name))
        if location != reg.location_code:
            p.lines.append(("执业地点请求变更为", _region_name(location)))
        if category != reg.category:
            p.lines.append(("执业类别请求变更为", category.label))
        if {s.code for s in scopes} != {s.code for s in reg.scopes}:
            p.lines.append(("执业范围请求变更为", "，".join(s.name for s in scopes)))

    elif type_ == T.CANCELLATION:
        reg = _own_registration(person, payload)
        code = (payload.get("reason_code") or "").strip()
        allowed = {r.code for r in cancel_reasons(for_institution=applicant_institution is not None)}
        if code not in allowed:
            raise DomainError("请选择注销原因。", field="reason_code")
        if applicant_institution is not None and reg.institution_id != applicant_institution.id:
            raise DomainError("该医师的主要执业机构不是本机构，不能为其申请注销。")
        p.registration, p.confirming = reg, reg.institution
        p.authority_id = _authority_for(reg.institution, reg.category)
        p.lines = [("注销的执业地点", _region_name(reg.location_code)),
                   ("主要执业机构", reg.institution.name),
                   ("注销原因", _reason_name("cancel_reason", code))]

    elif type_ == T.MULTI_FILING:
        reg = _own_registration(person, payload)
        inst = _institution(payload)
        if inst.id == reg.institution_id:
            raise DomainError("拟备案机构是您的主要执业机构，无需备案。", field="institution_id")
        if _location_for(inst, reg.level) != reg.location_code:
            raise DomainError("拟备案机构不在该注册的执业地点内，请先在该地注册或申请变更。",
                              field="institution_id")
        if any(f.institution_id == inst.id and f.status == FilingStatus.VALID for f in reg.filings):
            raise DomainError("您已在该机构备案。", field="institution_id")
        p.registration, p.institution, p.confirming = reg, inst, inst
        p.authority_id = _authority_for(inst, reg.category)
        p.lines = [("拟备案机构", inst.name), ("执业地点", _region_name(reg.location_code))]

    elif type_ == T.MULTI_FILING_CANCEL:
        f = db.session.get(Filing, _int(payload, "filing_id", "要取消的备案"))
        if f is None or f.registration.person_id != person.id:
            raise DomainError("所选备案信息不存在。", field="filing_id")
        if f.status != FilingStatus.VALID:
            raise DomainError("该备案已取消。", field="filing_id")
        p.registration, p.confirming = f.registration, f.institution
        p.authority_id = _authority_for(f.institution, f.registration.category)
        p.lines = [("取消备案的机构", f.institution.name)]

    elif type_ == T.LEGACY_SITE_CANCEL:
        s = db.session.get(LegacySite, _int(payload, "legacy_site_id", "要取消的多地点执业"))
        if s is None or s.registration.person_id != person.id:
            raise DomainError("所选多地点执业信息不存在。", field="legacy_site_id")
        if s.status != FilingStatus.VALID:
            raise DomainError("该多地点执业已取消。", field="legacy_site_id")
        p.registration, p.confirming = s.registration, s.institution
        p.authority_id = _authority_for(s.institution, s.registration.category)
        p.lines = [("取消的多地点执业机构", s.institution.name)]

    elif type_ == T.REGISTRATION_FILING:
        reg = _own_registration(person, payload)
        if applicant_institution is None or reg.institution_id != applicant_institution.id:
            raise DomainError("该医师的主要执业机构不是本机构，不能为其申请备案。")
        code = (payload.get("reason_code") or "").strip()
        if code not in FILING_REASON_CODES:
            raise DomainError("请选择备案原因（调离、退休、退职、被辞退、被开除）。",
                              field="reason_code")
        p.registration, p.confirming = reg, reg.institution
        p.authority_id = _authority_for(reg.institution, reg.category)
        p.lines = [("备案原因", _reason_name("filing_reason", code))]

    elif type_ == T.CERTIFICATE_REISSUE:
        reg = _own_registration(person, payload)
        why = (payload.get("reissue_reason") or "").strip()
        if why not in REISSUE_REASONS:
            raise DomainError("请选择补办原因（遗失或损毁）。", field="reissue_reason")
        p.registration, p.confirming = reg, reg.institution
        p.authority_id = _authority_for(reg.institution, reg.category)
        p.lines = [("补办原因", f"证书{why}"), ("执业证书编码", person.certificate_no or "")]
    else:  # pragma: no cover
        raise DomainError("不支持的业务类型。")
    _reason_line(p, reason)
    return p


def _reason_line(p: Plan, reason: str) -> None:
    if len(reason) > 200:
        raise DomainError("提交本次业务的缘由不能超过200个字。", field="reason")
    if reason:
        p.lines.append(("提交本次业务的缘由", reason))


def _region_name(code: str) -> str:
    from models.reference import Region
    r = db.session.get(Region, code)
    return str(r) if r else code


# ---- submission ---------------------------------------------------------------------------

def _clean_payload(type_: ApplicationType, payload: dict) -> dict:
    keys = {"reason", "institution_id", "qualification_id", "scope_codes", "registration_id",
            "category", "reason_code", "filing_id", "legacy_site_id", "reissue_reason",
            "new_name"}
    out = {k: v for k, v in (payload or {}).items() if k in keys and v not in (None, "", [])}
    if "scope_codes" in out and isinstance(out["scope_codes"], str):
        out["scope_codes"] = [out["scope_codes"]]
    return out


def submit_application(actor: Actor, applicant, type_: ApplicationType, payload: dict,
                       ) -> Application:
    """`applicant` is a PhysicianAccount or (I11–I13) an Institution."""
    type_ = ApplicationType.coerce(type_)
    payload = _clean_payload(type_, payload)
    account = applicant if isinstance(applicant, PhysicianAccount) else None
    inst = applicant if isinstance(applicant, Institution) else None
    if account is not None:
        if type_ not in PHYSICIAN_TYPES:
            raise DomainError("医师个人不能办理此业务。")
        if account.state != AccountState.ACTIVATED:
            if not (type_ in PRE_ACTIVATION_TYPES and account.verification_outcome
                    == VerificationOutcome.NON_ELECTRONIC
                    and account.state not in (AccountState.REVOKED, AccountState.DISABLED)):
                raise DomainError("您的账户尚未激活，激活后才能提交业务申请。")
        person = account.person
        if person is None:
            raise DomainError("未查询到您的医师资格信息，不能办理业务。")
        subject_key = f"p:{person.id}"
    else:
        if type_ not in INSTITUTION_TYPES:
            raise DomainError("医疗机构不能办理此业务。")
        person = None
        if type_ != T.INSTITUTION_RENAME:
            reg = db.session.get(Registration, _int(payload, "registration_id", "医师"))
            if reg is None or reg.institution_id != inst.id:
                raise DomainError("所选医师不是主执业机构在本院的医师。", field="registration_id")
            person = reg.person
            subject_key = f"p:{person.id}"
        else:
            subject_key = f"i:{inst.id}"
    p = plan(type_, payload, person=person, applicant_institution=inst)
    _refuse_duplicate(subject_key, type_)

    # nobody else confirms what an institution applies for itself (B6 by I13, B10, B11)
    self_confirmed = inst is not None
    now = utcnow()
    app = Application(
        type=type_, subject_key=subject_key, account_id=account.id if account else None,
        person_id=person.id if person else None,
        applicant_kind=actor.kind,
        applicant_institution_id=inst.id if inst else None,
        confirming_institution_id=(p.confirming.id if p.confirming else
                                   (inst.id if inst else None)),
        authority_id=p.authority_id,
        registration_id=p.registration.id if p.registration else None,
        payload={**payload, "_summary": [list(x) for x in p.lines]},
        reason=(payload.get("reason") or "")[:256], submitted_at=now,
        status=S.PENDING_APPROVAL if self_confirmed else S.SUBMITTED,
        accepted_on=dt.date.today() if self_confirmed else None,
        confirmed_at=now if self_confirmed else None, version=1)
    db.session.add(app)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise DomainError(_duplicate_message(type_)) from None
    _event(app, actor, None, app.status, "提交申请")
    audit.record(actor, "application_submit", app,
                 after={"type": type_.value, "status": app.status.value, "payload": payload},
                 institution_id=app.confirming_institution_id)
    _notify(app, f"您的「{type_.label}」业务申请已提交，"
                 + ("已报送审批机关审批。" if self_confirmed else "请到拟执业机构进行确认。"))
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise DomainError(_duplicate_message(type_)) from None
    return app


def _duplicate_message(type_: ApplicationType) -> str:
    return f"已有一项未办结的「{type_.label}」业务申请，请勿重复提交；可在业务查询中查看办理进度。"


def _refuse_duplicate(subject_key: str, type_: ApplicationType) -> None:
    exists = db.session.scalar(sa.select(Application.id).where(
        Application.subject_key == subject_key, Application.type == type_,
        Application.status.in_([S.SUBMITTED, S.PENDING_APPROVAL])))
    if exists:
        raise DomainError(_duplicate_message(type_))


# ---- transitions ----------------------------------------------------------------------------

def _guarded(app_id: int, expected: tuple, new_status: ApplicationStatus, *,
             allowed: Callable[[Application], None] | None = None, **values) -> Application:
    """Move `app_id` from one of `expected` to `new_status` — or tell the user someone else
    was quicker. `allowed(app)` may refuse the actor on the locked row (a DomainError), so
    a caller need not load the application a first time to authorise. The caller commits."""
    conn = db.session.connection()
    # with the 审批机关 and the applicant's account: every transition's notice reads them
    q = sa.select(Application).where(Application.id == app_id).options(
        joinedload(Application.authority), joinedload(Application.account))
    if conn.dialect.name == "postgresql":
        q = q.with_for_update(of=Application)  # the application's row only
    elif conn.dialect.name == "sqlite":
        # take the write lock first (BEGIN IMMEDIATE) so the read below is not stale
        raw = conn.connection.dbapi_connection
        if not raw.in_transaction:
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            except OperationalError:
                db.session.rollback()
                raise DomainError(CONFLICT) from None
    app = db.session.execute(q.execution_options(populate_existing=True)).scalar_one_or_none()
    if app is None:
        db.session.rollback()
        raise DomainError("该业务申请不存在。")
    if allowed is not None:
        try:
            allowed(app)
        except DomainError:
            db.session.rollback()
            raise
    if app.status not in expected:
        db.session.rollback()
        raise DomainError(CONFLICT)
    version, old = app.version, app.status
    held = (app.authority, app.account)  # loaded with the row (above)
    try:
        # RETURNING refreshes the loaded application with what the row now holds (one
        # statement, not an UPDATE and a SELECT)
        updated = db.session.execute(
            sa.update(Application)
            .where(Application.id == app_id, Application.status == old,
                   Application.version == version)
            .values(status=new_status, version=version + 1, **values)
            .returning(Application)
            .execution_options(synchronize_session=False, populate_existing=True)
        ).scalar_one_or_none()
    except OperationalError:  # SQLite: another writer held the lock past the busy timeout
        db.session.rollback()
        raise DomainError(CONFLICT) from None
    if updated is None:
        db.session.rollback()
        raise DomainError(CONFLICT)
    updated._from_status = old
    # the RETURNING above reloaded the row; the session keeps the authority and account
    # loaded with it (found there by id, no statement) only while something refers to them
    updated._held = held
    return updated


def _event(app: Application, actor: Actor, from_status, to_status, opinion: str = ""):
    db.session.add(ApplicationEvent(application_id=app.id, from_status=from_status,
                                    to_status=to_status, actor_kind=actor.kind,
                                    actor_id=actor.id, actor_name=actor.name[:128],
                                    opinion=(opinion or "")[:512], at=utcnow()))


def _account_of(app: Application) -> PhysicianAccount | None:
    if app.account_id:
        return db.session.get(PhysicianAccount, app.account_id)
    if app.person_id:
        return db.session.scalar(sa.select(PhysicianAccount).where(
            PhysicianAccount.person_id == app.person_id,
            PhysicianAccount.state != AccountState.REVOKED).limit(1))
    return None


def _notify(app: Application, text: str, institution_too: bool = False,
            account: PhysicianAccount | None = None) -> None:
    """Queue the applicant's SMS (and e-mail); `account` when the caller holds it already."""
    body = f"【医师电子化注册】{text}（业务编号{app.id}）"
    acct = account if account is not None else _account_of(app)
    if acct is not None:
        queue_sms(acct.phone, body)
        if acct.email:
            queue_email(acct.email, f"业务申请办理通知：{app.type.label}", body)
    if institution_too:
        for iid in {app.confirming_institution_id, app.applicant_institution_id} - {None}:
            inst = db.session.get(Institution, iid)
            if inst is not None and inst.reserved_phone:
                queue_sms(inst.reserved_phone, body)


def _require_institution(actor: Actor, app: Application) -> None:
    if actor.institution_id is None or actor.institution_id not in (
            app.confirming_institution_id, app.applicant_institution_id):
        raise DomainError("该业务申请不存在。")


def _require_authority(actor: Actor, app: Application) -> None:
    if actor.authority_id is None or actor.authority_id != app.authority_id:
        raise DomainError("该业务申请不存在。")


def _load(app_id: int) -> Application:
    app = db.session.get(Application, app_id)
    if app is None:
        raise DomainError("该业务申请不存在。")
    return app


def withdraw_application(actor: Actor, account: PhysicianAccount, app_id: int) -> Application:
    app = _load(app_id)
    if app.account_id != account.id:
        raise DomainError("该业务申请不存在。")
    if app.status != S.SUBMITTED:
        raise DomainError("机构已确认或已办结的业务不能撤回。"
                          if app.status != S.WITHDRAWN else CONFLICT)
    app = _guarded(app_id, (S.SUBMITTED,), S.WITHDRAWN, decided_at=utcnow())
    _event(app, actor, S.SUBMITTED, S.WITHDRAWN, "申请人撤回")
    audit.record(actor, "application_withdraw", app, before={"status": "submitted"},
                 after={"status": "withdrawn"}, institution_id=app.confirming_institution_id)
    _notify(app, f"您已撤回「{app.type.label}」业务申请。")
    db.session.commit()
    return app


def confirm_application(actor: Actor, app_id: int, agree: bool, opinion: str = "") -> Application:
    """The confirming institution's 同意 (→ 待审批, the 20 working days start) or 不同意."""
    app = _load(app_id)
    if actor.institution_id is None or actor.institution_id != app.confirming_institution_id:
        raise DomainError("该业务申请不存在。")
    opinion = (opinion or "").strip()
    if len(opinion) > 500:
        raise DomainError("意见不能超过500个字。", field="opinion")
    if not agree and not opinion:
        raise DomainError("不同意时请填写意见。", field="opinion")
    if agree:
        app = _guarded(app_id, (S.SUBMITTED,), S.PENDING_APPROVAL, accepted_on=dt.date.today(),
                       confirmed_at=utcnow(), institution_opinion=opinion or "同意")
        _event(app, actor, S.SUBMITTED, S.PENDING_APPROVAL, opinion or "同意")
        _notify(app, f"{app.confirming_institution.name}已确认您的「{app.type.label}」业务申请，"
                     f"已报送{app.authority.name if app.authority else '审批机关'}审批。")
    else:
        app = _guarded(app_id, (S.SUBMITTED,), S.INSTITUTION_REJECTED, confirmed_at=utcnow(),
                       decided_at=utcnow(), institution_opinion=opinion)
        _event(app, actor, S.SUBMITTED, S.INSTITUTION_REJECTED, opinion)
        _notify(app, f"{app.confirming_institution.name}不同意您的「{app.type.label}」业务申请，"
                     f"意见：{opinion}")
    audit.record(actor, "application_confirm", app, before={"status": "submitted"},
                 after={"status": app.status.value, "opinion": opinion})
    db.session.commit()
    return app


def retract_confirmation(actor: Actor, app_id: int, opinion: str = "") -> Application:
    """撤销办理: the institution takes back its 同意 while the authority has not decided."""
    app = _load(app_id)
    if actor.institution_id is None or actor.institution_id != app.confirming_institution_id:
        raise DomainError("该业务申请不存在。")
    if app.applicant_institution_id == actor.institution_id:
        # the institution's own application (I11–I13): taking it back withdraws it
        app = _guarded(app_id, (S.PENDING_APPROVAL,), S.WITHDRAWN, decided_at=utcnow())
        _event(app, actor, S.PENDING_APPROVAL, S.WITHDRAWN, opinion or "机构撤回申请")
    else:
        app = _guarded(app_id, (S.PENDING_APPROVAL,), S.SUBMITTED, accepted_on=None,
                       confirmed_at=None, institution_opinion=None)
        _event(app, actor, S.PENDING_APPROVAL, S.SUBMITTED, opinion or "机构撤销办理")
        _notify(app, f"{app.confirming_institution.name}撤销了对您「{app.type.label}」业务申请的确认，"
                     "申请恢复为已提交状态。")
    audit.record(actor, "application_retract", app, before={"status": "pending"},
                 after={"status": app.status.value})
    db.session.commit()
    return app


def reject_application(actor: Actor, app_id: int, reasons_text: str) -> Application:
    """不予批准 with written reasons, sent to the applicant and the institution (第十六条)."""
    app = _load(app_id)
    _require_authority(actor, app)
    reasons_text = (reasons_text or "").strip()
    if not reasons_text:
        raise DomainError("不予批准须书面说明理由，请填写审批意见。", field="opinion")
    if len(reasons_text) > 500:
        raise DomainError("审批意见不能超过500个字。", field="opinion")
    app = _guarded(app_id, (S.PENDING_APPROVAL,), S.REJECTED, decided_at=utcnow(),
                   authority_opinion=reasons_text)
    _event(app, actor, S.PENDING_APPROVAL, S.REJECTED, reasons_text)
    audit.record(actor, "application_reject", app, before={"status": "pending"},
                 after={"status": "rejected", "opinion": reasons_text})
    _notify(app, f"{app.authority.name}对「{app.type.label}」业务申请不予批准，理由：{reasons_text}",
            institution_too=True)
    db.session.commit()
    return app


def approve_application(actor: Actor, app_id: int, opinion: str = "") -> Application:
    """批准: re-check the rules, then apply every effect in the same transaction."""
    opinion = (opinion or "").strip()[:500]
    app = _guarded(app_id, (S.PENDING_APPROVAL,), S.APPROVED,
                   allowed=lambda a: _require_authority(actor, a), decided_at=utcnow(),
                   authority_opinion=opinion or "同意")
    # held for the whole approval: the session keeps loaded rows only while something refers
    # to them, and the rules, the effects and the notice all read these
    authority, account = app.authority, _account_of(app)
    subjects = _load_subjects(app.payload or {})  # noqa: F841 (held, see above)
    try:
        _apply_effects(actor, app, account if app.account_id else None)
    except DomainError as e:
        db.session.rollback()
        raise DomainError(f"审批时复核未通过：{e.message}", field=e.field) from None
    except IntegrityError:
        db.session.rollback()
        raise DomainError("审批时复核未通过：注册信息已发生变化，请刷新后重新审核。") from None
    _event(app, actor, S.PENDING_APPROVAL, S.APPROVED, opinion or "同意")
    audit.record(actor, "application_approve", app, before={"status": "pending"},
                 after={"status": "approved", "opinion": opinion})
    _notify(app, f"{authority.name}已批准您的「{app.type.label}」业务申请。", account=account)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise DomainError("审批时复核未通过：注册信息已发生变化，请刷新后重新审核。") from None
    return app


# ---- effects of approval --------------------------------------------------------------------

def new_certificate_no() -> str:
    """执业证书编码: 15 digits, one number for life, opaque; unique."""
    while True:
        no = str(secrets.randbelow(9 * 10 ** 14) + 10 ** 14)
        if not db.session.scalar(sa.select(Person.id).where(Person.certificate_no == no)):
            return no


def _set_status(actor, reg: Registration, status: RegistrationStatus, today, reason_code=None):
    before = {"status": reg.status.value}
    reg.status = status
    reg.status_changed_on = today
    reg.status_reason_code = reason_code
    audit.record(actor, "registration_status", reg, before=before,
                 after={"status": status.value, "reason": reason_code},
                 institution_id=reg.institution_id)


def _new_registration(actor, app: Application, p: Plan, today) -> Registration:
    person = p.person
    if not person.certificate_no:
        person.certificate_no = new_certificate_no()
    old = p.registration
    reg = Registration(person_id=person.id, qualification_id=p.qualification.id, level=p.level,
                       category=p.category, location_code=p.location_code,
                       institution_id=p.institution.id, authority_id=app.authority_id,
                       approved_on=today, status=RegistrationStatus.VALID,
                       status_changed_on=today)
    if old is not None:  # overlay fields follow the physician
        reg.education_code, reg.school, reg.title_code, reg.major, reg.photo_id = (
            old.education_code, old.school, old.title_code, old.major, old.photo_id)
    reg.scopes = list(p.scopes)
    db.session.add(reg)
    db.session.flush()
    audit.record(actor, "registration_create", reg,
                 after={"certificate_no": person.certificate_no, "location": p.location_code,
                        "institution_id": p.institution.id, "application_id": app.id},
                 institution_id=p.institution.id)
    return reg


def _payload_id(payload: dict, key: str) -> int | None:
    try:
        return int(payload[key])
    except (KeyError, TypeError, ValueError):
        return None  # plan() reports what is wrong with the payload


def _load_subjects(payload: dict) -> list:
    """The registration and the institution an application names, with what the rules read
    of them (the registration's person, qualification and 执业范围; the institution's
    审批机关), in one statement each instead of one per relation; plan() then finds them
    in the session. Returned for the caller to hold."""
    held = []
    registration_id = _payload_id(payload, "registration_id")
    if registration_id is not None:
        held += db.session.scalars(
            sa.select(Registration).where(Registration.id == registration_id)
            .options(joinedload(Registration.person), joinedload(Registration.qualification),
                     collection_load(Registration.scopes))).unique().all()
    institution_id = _payload_id(payload, "institution_id")
    if institution_id is not None:
        held += db.session.scalars(
            sa.select(Institution).where(Institution.id == institution_id)
            .options(joinedload(Institution.authorities))).unique().all()
    return held


def _apply_effects(actor: Actor, app: Application, acct: PhysicianAccount | None) -> None:
    """The register's side of 批准; `acct` is the application's own account, if it has one."""
    today = dt.date.today()
    inst = db.session.get(Institution, app.applicant_institution_id) \
        if app.applicant_institution_id else None
    person = db.session.get(Person, app.person_id) if app.person_id else None
    p = plan(app.type, app.payload or {}, person=person, applicant_institution=inst, today=today)
    if p.authority_id != app.authority_id:
        raise DomainError("该业务的审批机关已发生变化，请退回机构重新确认。")
    t = app.type
    if t in (T.REGISTRATION, T.MILITARY_IN):
        reg = _new_registration(actor, app, p, today)
        app.registration_id = reg.id
    elif t == T.ASSISTANT_UPGRADE:
        _set_status(actor, p.registration, RegistrationStatus.INVALID, today)
        db.session.flush()
        reg = _new_registration(actor, app, p, today)
        app.registration_id = reg.id
    elif t == T.TO_MILITARY:
        for r in valid_registrations(person.id):
            _set_status(actor, r, RegistrationStatus.INVALID, today)
        person.is_military = True
    elif t == T.CHANGE:
        old = p.registration
        if p.location_code != old.location_code and \
                p.location_code[:2] != old.location_code[:2]:
            # leaving the province: the old one is 变更出, a new registration there
            _set_status(actor, old, RegistrationStatus.TRANSFERRED_OUT, today)
            db.session.flush()
            reg = _new_registration(actor, app, p, today)
            app.registration_id = reg.id
        else:
            before = {"institution_id": old.institution_id, "location": old.location_code,
                      "category": old.category.value,
                      "scopes": [s.code for s in old.scopes]}
            if old.institution_id != p.institution.id:
                # the old institution's 医师变动信息 lists it as 调离本院
                db.session.add(RegistrationMove(
                    registration_id=old.id, from_institution_id=old.institution_id,
                    to_institution_id=p.institution.id, moved_on=today, application_id=app.id))
                old.department_id = None
                for f in old.filings:  # the new main institution cannot also be a filing
                    if f.institution_id == p.institution.id and f.status == FilingStatus.VALID:
                        f.status, f.cancelled_on = FilingStatus.CANCELLED, today
            old.institution_id = p.institution.id
            old.location_code = p.location_code
            old.category = p.category
            old.qualification_id = p.qualification.id
            old.scopes = list(p.scopes)
            old.authority_id = app.authority_id
            old.approved_on = today
            audit.record(actor, "registration_change", old, before=before,
                         after={"institution_id": p.institution.id, "location": p.location_code,
                                "category": p.category.value,
                                "scopes": [s.code for s in p.scopes],
                                "application_id": app.id},
                         institution_id=p.institution.id)
    elif t == T.CANCELLATION:
        _set_status(actor, p.registration, RegistrationStatus.CANCELLED, today,
                    app.payload.get("reason_code"))
    elif t == T.REGISTRATION_FILING:
        _set_status(actor, p.registration, RegistrationStatus.FILED, today,
                    app.payload.get("reason_code"))
    elif t == T.MULTI_FILING:
        f = Filing(registration_id=p.registration.id, institution_id=p.institution.id,
                   authority_id=app.authority_id, status=FilingStatus.VALID, filed_on=today)
        db.session.add(f)
        db.session.flush()
        audit.record(actor, "filing_create", f, after={"application_id": app.id},
                     institution_id=p.institution.id)
    elif t == T.MULTI_FILING_CANCEL:
        f = db.session.get(Filing, int(app.payload["filing_id"]))
        f.status, f.cancelled_on = FilingStatus.CANCELLED, today
        audit.record(actor, "filing_cancel", f, before={"status": "valid"},
                     after={"status": "cancelled"}, institution_id=f.institution_id)
    elif t == T.LEGACY_SITE_CANCEL:
        s = db.session.get(LegacySite, int(app.payload["legacy_site_id"]))
        s.status, s.cancelled_on = FilingStatus.CANCELLED, today
        audit.record(actor, "legacy_site_cancel", s, before={"status": "valid"},
                     after={"status": "cancelled"}, institution_id=s.institution_id)
    elif t == T.INSTITUTION_RENAME:
        before = inst.name
        inst.name = app.payload["new_name"].strip()
        audit.record(actor, "institution_rename", inst, before={"name": before},
                     after={"name": inst.name}, institution_id=inst.id)
    elif t == T.CERTIFICATE_REISSUE:
        r = CertificateReissue(registration_id=p.registration.id, application_id=app.id,
                               reason=app.payload["reissue_reason"], reissued_on=today)
        db.session.add(r)
        db.session.flush()
        audit.record(actor, "certificate_reissue", r, after={"reason": r.reason},
                     institution_id=p.registration.institution_id)
    # P4(c): an approved application activates an account that is not yet activated
    if acct is not None:
        if acct.state in (AccountState.REGISTERED, AccountState.VERIFIED):
            acct.state = AccountState.ACTIVATED
            acct.activation_method = ActivationMethod.APPROVAL
            acct.activated_at = utcnow()
            if acct.person_id is None and person is not None:
                acct.person_id = person.id
            if app.registration_id:
                acct.institution_id = db.session.get(Registration,
                                                     app.registration_id).institution_id
            audit.record(actor, "account_activate", acct,
                         after={"method": ActivationMethod.APPROVAL.value,
                                "application_id": app.id})


# ---- reading ------------------------------------------------------------------------------

def content_lines(app: Application) -> list[tuple[str, str]]:
    """业务申请内容 as the deck shows it: 执业范围请求变更为：外科专业；… 申请时间：…"""
    summary = (app.payload or {}).get("_summary")
    if summary:
        lines = [tuple(x) for x in summary]
    else:
        lines = [("申请内容", _payload_text(app))]
        if app.reason:
            lines.append(("提交本次业务的缘由", app.reason))
    lines.append(("申请时间", f"{app.submitted_at:%Y/%m/%d %H:%M:%S}"))
    return lines


def _payload_text(app: Application) -> str:
    pl = app.payload or {}
    parts = []
    if pl.get("institution_id"):
        inst = db.session.get(Institution, int(pl["institution_id"]))
        if inst:
            parts.append(f"机构：{inst.name}")
    if pl.get("scope_codes"):
        names = [s.name for s in (db.session.get(PracticeScope, c) for c in pl["scope_codes"]) if s]
        parts.append("执业范围：" + "，".join(names))
    if pl.get("new_name"):
        parts.append(f"新名称：{pl['new_name']}")
    if pl.get("reason_code"):
        parts.append("原因：" + _reason_name(
            "filing_reason" if pl["reason_code"].startswith("F") else "cancel_reason",
            pl["reason_code"]))
    return "；".join(parts) or app.type.label


def record_registration(app: Application) -> Registration | None:
    """The physician's registration shown next to the application (医师的执业信息)."""
    if app.registration is not None:
        return app.registration
    if app.person_id:
        regs = valid_registrations(app.person_id)
        return regs[0] if regs else None
    return None


__all__ = ["submit_application", "withdraw_application", "confirm_application",
           "retract_confirmation", "approve_application", "reject_application", "plan",
           "content_lines", "record_registration", "CONFLICT", "PHYSICIAN_TYPES",
           "cancel_reasons", "filing_reasons", "scopes_of", "search_institutions",
           "valid_registrations", "new_certificate_no", "REISSUE_REASONS"]
