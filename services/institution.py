"""The institution's own settings (I2 审批机关设置, I3 科室, I4 医师所在科室), I6 撤销医师账户
and the I19 profile counts."""
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from models import db
from models.account import ChangeRequest, PhysicianAccount, Photo
from models.application import Application
from models.enums import (AccountState, ApplicationStatus, AuthorityLevel, PhysicianCategory,
                          RegistrationStatus, ReviewStatus)
from models.institution import (Authority, Department, Institution, InstitutionAuthority,
                                utcnow)
from models.reference import TreatmentSubject
from models.registry import Registration

from . import Actor, DomainError, audit
from .sessions import end_user_sessions


def _own(actor: Actor, institution_id) -> None:
    if actor.institution_id is None or institution_id != actor.institution_id:
        raise DomainError("只能办理本院的数据。")


# ---- I2 审批机关设置 ------------------------------------------------------------------

def eligible_authorities(inst: Institution) -> list[Authority]:
    """Authorities whose jurisdiction contains the institution: national, its province, its
    city and its county (health commissions and TCM bureaus)."""
    # the regions whose region_prefix() the institution's code starts with: its province,
    # city and county (read by index, not every commission of the country tested in turn:
    # ~370 rows loaded per page view of 审批机关设置 at national scale)
    code = inst.region_code
    ancestors = {code[:2] + "0000", code[:4] + "00", code}
    out = db.session.scalars(sa.select(Authority).where(
        Authority.active.is_(True),
        sa.or_(Authority.level == AuthorityLevel.NATIONAL,
               Authority.region_code.in_(sorted(ancestors))))).all()
    order = {AuthorityLevel.NATIONAL: 0, AuthorityLevel.PROVINCIAL: 1,
             AuthorityLevel.MUNICIPAL: 2, AuthorityLevel.COUNTY: 3}
    return sorted(out, key=lambda a: (order[a.level], a.is_tcm, a.id))


def set_authority(actor: Actor, inst: Institution, category: PhysicianCategory,
                  authority_id: int) -> InstitutionAuthority:
    _own(actor, inst.id)
    allowed = {a.id: a for a in eligible_authorities(inst)}
    if authority_id not in allowed:
        raise DomainError("请选择管辖本机构的审批机关。", field=f"cat_{category.value}")
    link = db.session.get(InstitutionAuthority, (inst.id, category))
    before = link.authority_id if link else None
    if link is None:
        link = InstitutionAuthority(institution_id=inst.id, category=category,
                                    authority_id=authority_id)
        db.session.add(link)
    else:
        link.authority_id = authority_id
    audit.record(actor, "institution_authority_set", inst,
                 before={"category": category.value, "authority_id": before},
                 after={"category": category.value, "authority_id": authority_id})
    db.session.commit()
    return link


# ---- I3 科室 ----------------------------------------------------------------------------

def add_department(actor: Actor, inst: Institution, name: str,
                   subject_codes: list[str]) -> Department:
    _own(actor, inst.id)
    name = (name or "").strip()
    if not name:
        raise DomainError("请输入科室名称。", field="name")
    if len(name) > 30:
        raise DomainError("科室名称不能超过30个字。", field="name")
    codes = sorted(set(c for c in subject_codes if c))
    if not codes:
        raise DomainError("请为科室至少选择一个诊疗科目。", field="subjects")
    subjects = list(db.session.scalars(sa.select(TreatmentSubject)
                                       .where(TreatmentSubject.code.in_(codes))))
    if len(subjects) != len(codes):
        raise DomainError("所选诊疗科目不在诊疗科目名录中。", field="subjects")
    if db.session.scalar(sa.select(Department.id).where(Department.institution_id == inst.id,
                                                        Department.name == name)):
        raise DomainError("本院已有同名科室。", field="name")
    dept = Department(institution_id=inst.id, name=name, subjects=subjects)
    db.session.add(dept)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise DomainError("本院已有同名科室。", field="name") from None
    audit.record(actor, "department_added", dept, after={"name": name, "subjects": codes})
    db.session.commit()
    return dept


def delete_department(actor: Actor, dept: Department) -> None:
    _own(actor, dept.institution_id)
    snapshot = {"name": dept.name, "subjects": [s.code for s in dept.subjects]}
    db.session.execute(sa.update(Registration).where(Registration.department_id == dept.id)
                       .values(department_id=None))
    audit.record(actor, "department_deleted", dept, before=snapshot)
    db.session.delete(dept)
    db.session.commit()


# ---- I4 医师所在科室 --------------------------------------------------------------------

def set_physician_department(actor: Actor, reg: Registration,
                             department_id: int | None) -> Registration:
    _own(actor, reg.institution_id)
    if reg.status != RegistrationStatus.VALID:
        raise DomainError("只能为本院在册医师设置科室。")
    activated = db.session.scalar(sa.select(PhysicianAccount.id).where(
        PhysicianAccount.person_id == reg.person_id,
        PhysicianAccount.state == AccountState.ACTIVATED))
    if not activated:
        raise DomainError("只有已激活的医师才能修改其所在科室信息。")
    if department_id is not None:
        ok = db.session.scalar(sa.select(Department.id).where(
            Department.id == department_id, Department.institution_id == reg.institution_id))
        if not ok:
            raise DomainError("请选择本院的科室。", field="department_id")
    before = reg.department_id
    reg.department_id = department_id
    audit.record(actor, "physician_department_set", reg, before={"department_id": before},
                 after={"department_id": department_id})
    db.session.commit()
    return reg


# ---- I6 撤销医师账户 --------------------------------------------------------------------

def revoke_physician_account(actor: Actor, account: PhysicianAccount,
                             reason: str = "") -> PhysicianAccount:
    _own(actor, account.institution_id)
    if account.state == AccountState.REVOKED:
        raise DomainError("该账户已撤销。")
    before = account.state.value
    done = db.session.execute(
        sa.update(PhysicianAccount)
        .where(PhysicianAccount.id == account.id, PhysicianAccount.state == account.state)
        .values(state=AccountState.REVOKED, revoked_at=utcnow())
        .execution_options(synchronize_session=False)).rowcount
    if done != 1:
        db.session.rollback()
        raise DomainError("该账户状态已变化，请刷新后重试。")
    db.session.expire(account)
    end_user_sessions(account)
    audit.record(actor, "physician_account_revoked", account, before={"state": before},
                 after={"state": AccountState.REVOKED.value}, detail=(reason or "")[:200])
    db.session.commit()
    return account


# ---- I19 综合信息 -----------------------------------------------------------------------

REPORT_DAYS = 30  # 医师法 第十七条: report a 注销 situation within 30 days


def profile_counts(inst_id: int) -> dict:
    """The institution's summary (注册状态, 账户状态, 待办事项) in one statement: the home page and
    综合信息 show it on every visit, and five round trips cost more than the counting."""
    def kind(tag, key, model, *where):
        return (sa.select(sa.literal(tag).label("kind"), sa.cast(key, sa.String).label("key"),
                          sa.func.count().label("n")).select_from(model).where(*where))
    counted = sa.union_all(
        kind("reg", Registration.status, Registration,
             Registration.institution_id == inst_id).group_by(Registration.status),
        kind("acct", PhysicianAccount.state, PhysicianAccount,
             PhysicianAccount.institution_id == inst_id).group_by(PhysicianAccount.state),
        kind("change", sa.null(), ChangeRequest, ChangeRequest.institution_id == inst_id,
             ChangeRequest.status == ReviewStatus.PENDING),
        kind("photo", sa.null(), Photo, Photo.institution_id == inst_id,
             Photo.status == ReviewStatus.PENDING),
        kind("app", sa.null(), Application, Application.confirming_institution_id == inst_id,
             Application.status == ApplicationStatus.SUBMITTED))
    counts = {(tag, key): n for tag, key, n in db.session.execute(counted)}
    return {
        "registrations": [(s.label, counts.get(("reg", s.value), 0))
                          for s in RegistrationStatus],
        "accounts": [(s.label, counts.get(("acct", s.value), 0)) for s in AccountState],
        "pending_changes": counts.get(("change", None), 0),
        "pending_photos": counts.get(("photo", None), 0),
        "pending_applications": counts.get(("app", None), 0),
        # the register keeps no "situation occurred on" date for 注销/备案 events, so no
        # report can be computed as overdue yet (shown as 0 with this explanation)
        "overdue_reports": 0,
        "report_days": REPORT_DAYS,
    }


__all__ = ["eligible_authorities", "set_authority", "add_department", "delete_department",
           "set_physician_department", "revoke_physician_account", "profile_counts"]
