"""I5 账户激活码: the 主要执业机构 generates one code per physician account (never twice).

The code is random from an alphabet without look-alike characters, bound to one account and
one institution (unique constraint), sent to the physician's verified phone (SMS) or else the
verified e-mail through the outbox, and audited. The physician consumes it on the physician
site (services/accounts.py)."""
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from models import db
from models.account import ActivationCode, PhysicianAccount
from models.audit import AuditLog
from models.enums import AccountState, MessageChannel, MessageStatus, VerificationOutcome
from models.institution import Institution, utcnow

from . import Actor, DomainError, audit
from .messaging import queue_email, queue_many, queue_sms
from .security import random_code

CODE_LENGTH = 8
ALREADY_ISSUED = "激活码已生成，不再重复发放；如医师未收到，请当面告知。"
ELIGIBLE_STATES = (AccountState.VERIFIED, AccountState.ACTIVATED)


def eligible_accounts(institution_id: int):
    """Accounts whose 主要执业机构 is this institution and who registered and passed the
    verification as 在册医师 (the I5 list)."""
    return sa.select(PhysicianAccount).where(
        PhysicianAccount.institution_id == institution_id,
        PhysicianAccount.verification_outcome == VerificationOutcome.IN_REGISTER,
        PhysicianAccount.state.in_(ELIGIBLE_STATES))


def _check(actor: Actor, account: PhysicianAccount) -> None:
    if (actor.institution_id is None or account.institution_id != actor.institution_id
            or account.verification_outcome != VerificationOutcome.IN_REGISTER
            or account.state not in ELIGIBLE_STATES):
        raise DomainError("该医师不是本院待激活的医师，不能生成激活码。")
    if account.state == AccountState.ACTIVATED:
        raise DomainError("该医师账户已激活，无需生成激活码。")


def _message(inst_name: str, code: str) -> str:
    return (f"【医师电子化注册】{inst_name}已为您生成医师账户激活码：{code}。请登录医师个人端，"
            f"在“医师账户激活”页面输入激活码激活您的账户。激活码仅可使用一次，请勿告知他人。")


def _deliver(account: PhysicianAccount, inst_name: str, code: str) -> str:
    if account.phone_verified_at and account.phone:
        queue_sms(account.phone, _message(inst_name, code))
        return "sms"
    if account.email_verified_at and account.email:
        queue_email(account.email, "医师账户激活码", _message(inst_name, code))
        return "email"
    return ""


def generate_activation_code(actor: Actor, account: PhysicianAccount) -> ActivationCode:
    _check(actor, account)
    exists = db.session.scalar(sa.select(ActivationCode.id).where(
        ActivationCode.account_id == account.id,
        ActivationCode.institution_id == actor.institution_id))
    if exists:
        raise DomainError(ALREADY_ISSUED)
    inst_name = db.session.scalar(sa.select(Institution.name).where(
        Institution.id == actor.institution_id))
    code = random_code(CODE_LENGTH)
    row = ActivationCode(account_id=account.id, institution_id=actor.institution_id, code=code,
                         created_by_id=actor.id)
    db.session.add(row)
    try:
        db.session.flush()
    except IntegrityError:  # a concurrent request issued it first
        db.session.rollback()
        raise DomainError(ALREADY_ISSUED) from None
    row.sent_via = _deliver(account, inst_name, code)
    audit.record(actor, "activation_code_generated", account,
                 after={"sent_via": row.sent_via or "none"})
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise DomainError(ALREADY_ISSUED) from None
    return row


def generate_activation_codes(actor: Actor, accounts: list[PhysicianAccount]) -> tuple[int, int]:
    """Bulk path: one query for existing codes and three multi-row INSERTs (codes, outbox,
    audit) in one transaction. Returns (issued, skipped); accounts that are not eligible or
    already have a code are skipped."""
    if actor.institution_id is None:
        raise DomainError("只有医疗机构账户才能生成激活码。")
    ids = [a.id for a in accounts]
    issued_ids = set(db.session.scalars(sa.select(ActivationCode.account_id).where(
        ActivationCode.institution_id == actor.institution_id,
        ActivationCode.account_id.in_(ids)))) if ids else set()
    inst_name = db.session.scalar(sa.select(Institution.name).where(
        Institution.id == actor.institution_id))
    now = utcnow()
    codes, messages, audits = [], [], []
    skipped = 0
    for account in accounts:
        try:
            _check(actor, account)
        except DomainError:
            skipped += 1
            continue
        if account.id in issued_ids:
            skipped += 1
            continue
        code = random_code(CODE_LENGTH)
        via = ""
        if account.phone_verified_at and account.phone:
            via = "sms"
            messages.append({"channel": MessageChannel.SMS, "to": account.phone, "subject": "",
                             "body": _message(inst_name, code), "status": MessageStatus.PENDING,
                             "attempts": 0, "next_attempt_at": now, "created_at": now})
        elif account.email_verified_at and account.email:
            via = "email"
            messages.append({"channel": MessageChannel.EMAIL, "to": account.email,
                             "subject": "医师账户激活码", "body": _message(inst_name, code),
                             "status": MessageStatus.PENDING, "attempts": 0,
                             "next_attempt_at": now, "created_at": now})
        codes.append({"account_id": account.id, "institution_id": actor.institution_id,
                      "code": code, "created_at": now, "created_by_id": actor.id,
                      "sent_via": via})
        audits.append({"at": now, "actor_kind": actor.kind, "actor_id": actor.id,
                       "actor_name": actor.name[:128], "ip": actor.ip[:64],
                       "action": "activation_code_generated",
                       "object_type": PhysicianAccount.__tablename__,
                       "object_id": str(account.id), "institution_id": actor.institution_id,
                       "authority_id": actor.authority_id, "before": None,
                       "after": {"sent_via": via or "none", "bulk": True}, "detail": ""})
        issued_ids.add(account.id)
    try:
        if codes:
            db.session.execute(sa.insert(ActivationCode), codes)
            db.session.execute(sa.insert(AuditLog), audits)
        if messages:
            queue_many(messages)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise DomainError("部分激活码已被其他操作员生成，请刷新后重试。") from None
    return len(codes), skipped


__all__ = ["generate_activation_code", "generate_activation_codes", "eligible_accounts",
           "ALREADY_ISSUED"]
