"""Demo business applications in every state (已提交, 机构不同意, 待审批, 已批准, 不予批准, 已撤回),
made through the services so they carry events, audit rows and messages. Idempotent."""
import sqlalchemy as sa

from models import db
from models.account import ConsoleUser, PhysicianAccount
from models.application import Application
from models.enums import (AccountState, ApplicationType as T, ConsoleRole, RegistrationStatus,
                          UserKind)
from models.institution import Institution
from models.registry import Registration
from services import Actor, DomainError
from services import applications as svc

MARK = "演示："


def _candidates(limit=12):
    """Activated accounts with one valid registration whose institution has its authority."""
    rows = db.session.execute(
        sa.select(PhysicianAccount, Registration)
        .join(Registration, Registration.person_id == PhysicianAccount.person_id)
        .where(PhysicianAccount.state == AccountState.ACTIVATED,
               Registration.status == RegistrationStatus.VALID)
        .order_by(PhysicianAccount.id).limit(200)).all()
    out, seen = [], set()
    for acct, reg in rows:
        if acct.id in seen or reg.institution.authority_for(reg.category) is None:
            continue
        seen.add(acct.id)
        out.append((acct, reg))
        if len(out) >= limit:
            break
    return out


def load(info: dict) -> None:
    if db.session.scalar(sa.select(Application.id).where(
            Application.reason.startswith(MARK)).limit(1)):
        return
    cands = _candidates()
    if not cands:
        return
    plan = [("submitted", T.CERTIFICATE_REISSUE), ("pending", T.CHANGE),
            ("approved", T.CERTIFICATE_REISSUE), ("rejected", T.CERTIFICATE_REISSUE),
            ("inst_rejected", T.CHANGE), ("withdrawn", T.CERTIFICATE_REISSUE),
            ("submitted", T.CHANGE), ("pending", T.CERTIFICATE_REISSUE)]
    made = []
    for (acct, reg), (state, type_) in zip(cands, plan):
        actor = Actor(UserKind.PHYSICIAN, acct.id, acct.name)
        if type_ == T.CHANGE:
            scope = next((s.code for s in svc.scopes_of(reg.category)
                          if s.code not in {x.code for x in reg.scopes}), None)
            payload = {"registration_id": reg.id, "scope_codes": [scope],
                       "reason": MARK + "变更执业范围"}
        else:
            payload = {"registration_id": reg.id, "reissue_reason": "遗失",
                       "reason": MARK + "执业证书遗失"}
        try:
            app = svc.submit_application(actor, acct, type_, payload)
            org = _console(ConsoleRole.INSTITUTION_ADMIN, institution_id=app.confirming_institution_id)
            gov = _console(ConsoleRole.REVIEWER, authority_id=app.authority_id)
            if state == "withdrawn":
                svc.withdraw_application(actor, acct, app.id)
            elif state == "inst_rejected":
                svc.confirm_application(org, app.id, False, "申请材料不全，请补充后重新申请。")
            elif state in ("pending", "approved", "rejected"):
                svc.confirm_application(org, app.id, True, "情况属实，同意。")
                if state == "approved":
                    svc.approve_application(gov, app.id, "符合条件，准予。")
                elif state == "rejected":
                    svc.reject_application(gov, app.id, "未提供证书遗失声明，不予批准。")
        except DomainError:
            db.session.rollback()
            continue
        made.append({"id": app.id, "type": type_.label, "state": state,
                     "physician": acct.username})
    info["applications"] = made


def _console(role, institution_id=None, authority_id=None) -> Actor:
    q = sa.select(ConsoleUser).where(ConsoleUser.role == role)
    q = q.where(ConsoleUser.institution_id == institution_id) if institution_id else \
        q.where(ConsoleUser.authority_id == authority_id)
    u = db.session.scalar(q.limit(1))
    name = u.display_name if u else ("演示机构管理员" if institution_id else "演示审批人员")
    return Actor(UserKind.CONSOLE, u.id if u else None, name, institution_id=institution_id,
                 authority_id=authority_id)
