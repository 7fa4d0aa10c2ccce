"""Physician accounts: P1 registration, P2 verification against the register, P4 activation,
P6 recovery and P8 password change. Every rule is checked here (the forms only parse)."""
import datetime as dt
import hmac
import re
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from stdnum.cn import ric
from stdnum.exceptions import (InvalidChecksum, InvalidComponent, InvalidFormat, InvalidLength,
                               ValidationError)

from models import db
from models.account import ActivationCode, PhysicianAccount
from models.enums import (AccountState, ActivationMethod, CodePurpose, RegistrationStatus,
                          VerificationOutcome)
from models.identity import id_blind_index, mask_email, mask_id_number, mask_phone, mask_text
from models.institution import utcnow
from models.reference import Region
from models.registry import Person, Qualification, Registration

from . import Actor, DomainError, audit
from .contact import check_code, check_email, check_phone, send_code
from .security import hash_password, is_locked, note_attempt, verify_password
from .sessions import end_user_sessions

NAME_RE = re.compile(r"^[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff·]{2,30}$")
USERNAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9]{5,11}$")
PASSWORD_RE = re.compile(r"^[A-Za-z0-9]{6,16}$")
ID_RE = re.compile(r"^\d{17}[\dX]$")

ACTIVATION_SCOPE = "activation"
RECOVERY_SCOPE = "recovery"
LOCKED = "尝试次数过多，请15分钟后再试。"

_COMMON = None


def common_passwords() -> frozenset:
    global _COMMON
    if _COMMON is None:
        path = Path(__file__).resolve().parent.parent / "seed" / "data" / "common_passwords.txt"
        _COMMON = frozenset(ln.strip().lower() for ln in path.read_text(encoding="utf-8")
                            .splitlines() if ln.strip() and not ln.startswith("#"))
    return _COMMON


# ---- field rules (P1) ------------------------------------------------------------------

def check_name(value: str, field: str = "name") -> str:
    v = (value or "").strip()
    if not v:
        raise DomainError("请输入您的姓名。", field=field)
    if re.search(r"[A-Za-z0-9]", v):
        raise DomainError("姓名只能填写汉字（少数民族姓名可用“·”分隔），不能输入字母或数字。"
                          "姓名不是登录用户名。", field=field)
    if not NAME_RE.match(v) or v.startswith("·") or v.endswith("·") or "··" in v:
        raise DomainError("姓名应为2至30个汉字，只能包含汉字和“·”。", field=field)
    return v


def check_id_number(value: str, field: str = "id_number") -> str:
    v = (value or "").strip().upper()
    if not v:
        raise DomainError("请输入身份证号。", field=field)
    if len(v) != 18:
        raise DomainError("身份证号应为18位。", field=field)
    if not ID_RE.match(v):
        raise DomainError("身份证号前17位应为数字，最后一位为数字或字母X。", field=field)
    try:
        ric.validate(v)
    except InvalidChecksum:
        raise DomainError("身份证号校验位不正确，请仔细核对。", field=field)
    except (InvalidComponent, KeyError):  # KeyError: stdnum on an unknown county of a province
        raise DomainError("身份证号中的出生日期或地区代码无效，请仔细核对。", field=field)
    except (InvalidLength, InvalidFormat, ValidationError):
        raise DomainError("身份证号格式不正确。", field=field)
    birth = ric.get_birth_date(v)
    if birth > dt.date.today() or birth.year < 1900:
        raise DomainError("身份证号中的出生日期无效，请仔细核对。", field=field)
    return v


def check_username(value: str, field: str = "username", exclude_id: int | None = None) -> str:
    v = (value or "").strip()
    if not v:
        raise DomainError("请输入用户名称。", field=field)
    if not USERNAME_RE.match(v):
        raise DomainError("用户名须以字母开头，由6至12位字母和数字组成。", field=field)
    q = sa.select(PhysicianAccount.id).where(PhysicianAccount.username_key == v.lower())
    if exclude_id:
        q = q.where(PhysicianAccount.id != exclude_id)
    if db.session.scalar(q.limit(1)) is not None:
        raise DomainError("该用户名已被使用，请换一个。", field=field)
    return v


def check_password(password: str, confirm: str, *, username: str = "",
                   field: str = "password", confirm_field: str = "confirm") -> str:
    p = password or ""
    if not p:
        raise DomainError("请输入登录密码。", field=field)
    if not 6 <= len(p) <= 16:
        raise DomainError("密码长度应为6至16位。", field=field)
    if not PASSWORD_RE.match(p):
        raise DomainError("密码只能由字母和数字组成。", field=field)
    if not (re.search(r"[A-Za-z]", p) and re.search(r"\d", p)):
        raise DomainError("密码须同时包含字母和数字。", field=field)
    if p.lower() in common_passwords() or (username and p.lower() == username.lower()):
        raise DomainError("该密码过于常见，容易被猜到，请换一个更复杂的密码。", field=field)
    if (confirm or "") != p:
        raise DomainError("两次输入的密码不一致。", field=confirm_field)
    return p


def _live_account_for(id_hash: str):
    return db.session.scalar(sa.select(PhysicianAccount).where(
        PhysicianAccount.id_number_hash == id_hash,
        PhysicianAccount.state != AccountState.REVOKED).limit(1))


def check_identity(name: str, id_number: str, exclude_id: int | None = None) -> tuple[str, str]:
    """Step 1: 姓名 + 身份证号, and no live account for this 身份证号 yet."""
    errors = []
    try:
        name = check_name(name)
    except DomainError as exc:
        errors.append(exc)
    try:
        id_number = check_id_number(id_number)
    except DomainError as exc:
        errors.append(exc)
    if errors:
        raise MultiError(errors)
    other = _live_account_for(id_blind_index(id_number))
    if other is not None and other.id != exclude_id:
        raise DomainError("该身份证号已注册过账户，请直接登录；如忘记用户名或密码，请使用“忘记密码”找回。",
                          field="id_number")
    return name, id_number


class MultiError(DomainError):
    """Several fields failed at once; `errors` holds one DomainError per field."""

    def __init__(self, errors: list[DomainError]):
        super().__init__(errors[0].message, field=errors[0].field)
        self.errors = errors


# ---- P1 registration + P2 verification -------------------------------------------------

def register(actor: Actor, *, name: str, id_number: str, phone: str, email: str,
             username: str, password: str, confirm: str) -> tuple[PhysicianAccount, dict]:
    """Create the account (state 未通过验证), verify it against the register, and return it
    with the masked summary of the 您的账户信息 page."""
    name, id_number = check_identity(name, id_number)
    errors = []
    values = {}
    for key, fn in (("phone", lambda: check_phone(phone)), ("email", lambda: check_email(email)),
                    ("username", lambda: check_username(username)),
                    ("password", lambda: check_password(password, confirm,
                                                        username=username or ""))):
        try:
            values[key] = fn()
        except DomainError as exc:
            errors.append(exc)
    if errors:
        raise MultiError(errors)
    acct = PhysicianAccount(username=values["username"], name=name, phone=values["phone"],
                            email=values["email"], password_hash=hash_password(password),
                            state=AccountState.REGISTERED)
    acct.id_number = id_number
    db.session.add(acct)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        if _live_account_for(id_blind_index(id_number)) is not None:
            raise DomainError("该身份证号已注册过账户，请直接登录。", field="id_number")
        raise DomainError("该用户名已被使用，请换一个。", field="username")
    audit.record(actor, "account_registered", acct,
                 after={"username": acct.username, "name": name,
                        "id_number": mask_id_number(id_number), "phone": mask_phone(acct.phone)})
    verify(actor, acct, commit=False)
    db.session.commit()
    summary = {"username": mask_text(acct.username), "password": mask_text(password),
               "phone": _summary_phone(acct.phone), "email": mask_email(acct.email)}
    return acct, summary


def _summary_phone(phone: str) -> str:
    return phone[:3] + "..." + phone[-2:]  # 151...58, as on the deck's summary page


def _valid_registrations(person_id: int) -> list[Registration]:
    return list(db.session.scalars(sa.select(Registration).where(
        Registration.person_id == person_id, Registration.status == RegistrationStatus.VALID)
        .order_by(Registration.approved_on, Registration.id)))


def primary_registration(account: PhysicianAccount) -> Registration | None:
    """The valid registration whose 主要执业机构 is the account's institution (else the first)."""
    if not account.person_id:
        return None
    regs = _valid_registrations(account.person_id)
    for r in regs:
        if r.institution_id == account.institution_id:
            return r
    return regs[0] if regs else None


def verify(actor: Actor, account: PhysicianAccount, commit: bool = True) -> VerificationOutcome:
    """P2: match 姓名 + 身份证号 against the register. Activated accounts are never
    re-verified (activation happens once)."""
    if account.state in (AccountState.ACTIVATED, AccountState.REVOKED, AccountState.DISABLED):
        return account.verification_outcome
    before = {"state": account.state.value,
              "outcome": account.verification_outcome.value
              if account.verification_outcome else None}
    person = db.session.scalar(sa.select(Person).where(
        Person.id_number_hash == account.id_number_hash))
    outcome, institution_id = VerificationOutcome.NOT_FOUND, None
    if person is not None and person.name == account.name:
        regs = _valid_registrations(person.id)
        has_qual = db.session.scalar(sa.select(Qualification.id).where(
            Qualification.person_id == person.id).limit(1)) is not None
        if regs:
            electronic = [r for r in regs if _electronic(r.location_code)]
            if electronic:
                outcome, institution_id = VerificationOutcome.IN_REGISTER, electronic[0].institution_id
            else:
                outcome, institution_id = VerificationOutcome.NON_ELECTRONIC, regs[0].institution_id
        elif has_qual:
            outcome = VerificationOutcome.SELF_ACTIVATE
    if outcome == VerificationOutcome.NOT_FOUND:
        account.state = AccountState.REGISTERED
        account.person_id = None
        account.institution_id = None
        account.verified_at = None
    else:
        account.state = AccountState.VERIFIED
        account.person_id = person.id
        account.institution_id = institution_id
        account.verified_at = account.verified_at or utcnow()
    account.verification_outcome = outcome
    after = {"state": account.state.value, "outcome": outcome.value}
    if after != before:
        audit.record(actor, "account_verified", account, before=before, after=after,
                     institution_id=institution_id)
    if commit:
        db.session.commit()
    return outcome


def _electronic(location_code: str) -> bool:
    province = db.session.get(Region, location_code[:2] + "0000")
    return True if province is None else bool(province.electronic_registration)


def update_identity(actor: Actor, account: PhysicianAccount, name: str,
                    id_number: str) -> VerificationOutcome:
    """检查和更新我的身份信息: only while nothing was found in the register."""
    if account.state != AccountState.REGISTERED:
        raise DomainError("您的身份信息已通过校验，不能再修改。")
    name, id_number = check_identity(name, id_number, exclude_id=account.id)
    before = {"name": account.name, "id_number": account.id_number_masked}
    account.name = name
    account.id_number = id_number
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise DomainError("该身份证号已注册过账户。", field="id_number")
    audit.record(actor, "identity_updated", account, before=before,
                 after={"name": name, "id_number": account.id_number_masked})
    outcome = verify(actor, account, commit=False)
    db.session.commit()
    return outcome


# ---- P4 activation ---------------------------------------------------------------------

def contact_verified(account: PhysicianAccount) -> bool:
    return account.phone_verified_at is not None or account.email_verified_at is not None


def _ready_for_activation(account: PhysicianAccount):
    if account.state == AccountState.ACTIVATED:
        raise DomainError("您的账户已激活，无需再次激活。")
    if account.state != AccountState.VERIFIED:
        raise DomainError("您的账户尚未通过医师资格信息校验，不能激活。")
    if not contact_verified(account):
        raise DomainError("激活账户前请先验证您的手机号码。")


def _activate(actor: Actor, account: PhysicianAccount, method: ActivationMethod, **detail):
    done = db.session.execute(sa.update(PhysicianAccount).where(
        PhysicianAccount.id == account.id, PhysicianAccount.state == AccountState.VERIFIED)
        .values(state=AccountState.ACTIVATED, activated_at=utcnow(), activation_method=method)
    ).rowcount
    if not done:
        db.session.rollback()
        raise DomainError("您的账户已激活或状态已变化，请刷新页面。")
    audit.record(actor, "account_activated", account,
                 before={"state": AccountState.VERIFIED.value},
                 after={"state": AccountState.ACTIVATED.value, "method": method.value, **detail},
                 institution_id=account.institution_id)


def _throttled(actor: Actor, account: PhysicianAccount):
    key = f"acct:{account.id}"
    if is_locked(ACTIVATION_SCOPE, key, actor.ip):
        raise DomainError("激活码输入错误次数过多，请15分钟后再试。", field="code")
    return key


def activate_with_code(actor: Actor, account: PhysicianAccount, code: str) -> None:
    """P4a: the 激活码 generated by the 主要执业机构 for this account (single use)."""
    _ready_for_activation(account)
    if account.verification_outcome not in (VerificationOutcome.IN_REGISTER,
                                            VerificationOutcome.NON_ELECTRONIC):
        raise DomainError("您的账户需通过资格证书编码激活。")
    key = _throttled(actor, account)
    code = re.sub(r"\s", "", code or "").upper()
    if not code:
        raise DomainError("请输入账户激活码。", field="code")
    row = db.session.scalar(sa.select(ActivationCode).where(
        ActivationCode.account_id == account.id,
        ActivationCode.institution_id == account.institution_id).limit(1))
    ok = (row is not None and row.used_at is None and len(code) <= 16
          and hmac.compare_digest(row.code.upper().encode(), code.encode()))
    if not ok:
        note_attempt(ACTIVATION_SCOPE, key, False, actor.ip)
        audit.record(actor, "activation_failed", account, detail="激活码错误")
        db.session.commit()
        if row is not None and row.used_at is not None:
            raise DomainError("该激活码已使用。", field="code")
        raise DomainError("激活码不正确，请核对医疗机构发给您的激活码。", field="code")
    used = db.session.execute(sa.update(ActivationCode).where(
        ActivationCode.id == row.id, ActivationCode.used_at.is_(None))
        .values(used_at=utcnow())).rowcount
    if not used:
        db.session.rollback()
        raise DomainError("该激活码已使用。", field="code")
    note_attempt(ACTIVATION_SCOPE, key, True)
    _activate(actor, account, ActivationMethod.INSTITUTION_CODE, activation_code_id=row.id)
    db.session.commit()


def activate_with_qualification(actor: Actor, account: PhysicianAccount, code: str) -> None:
    """P4b: physicians with a qualification but no valid registration enter their
    资格证书编码."""
    _ready_for_activation(account)
    if account.verification_outcome != VerificationOutcome.SELF_ACTIVATE:
        raise DomainError("在册医师请使用所在医疗机构生成的激活码激活账户。")
    key = _throttled(actor, account)
    code = (code or "").strip()
    if not code:
        raise DomainError("请输入您的医师资格证书编码。", field="code")
    qual = db.session.scalar(sa.select(Qualification).where(
        Qualification.code == code[:32], Qualification.person_id == account.person_id))
    if qual is None:
        note_attempt(ACTIVATION_SCOPE, key, False, actor.ip)
        audit.record(actor, "activation_failed", account, detail="资格证书编码错误")
        db.session.commit()
        raise DomainError("资格证书编码不正确，请核对您的医师资格证书。", field="code")
    note_attempt(ACTIVATION_SCOPE, key, True)
    _activate(actor, account, ActivationMethod.QUALIFICATION_CODE, qualification=qual.code)
    db.session.commit()


# ---- P6 recovery -----------------------------------------------------------------------

def _recovery_locked(key: str, ip: str):
    if is_locked(RECOVERY_SCOPE, key, ip):
        raise DomainError(LOCKED)


def _by_verified_phone(phone: str):
    return db.session.scalar(sa.select(PhysicianAccount).where(
        PhysicianAccount.phone == phone, PhysicianAccount.phone_verified_at.is_not(None),
        PhysicianAccount.state != AccountState.REVOKED).limit(1))


def _by_verified_email(email: str):
    return db.session.scalar(sa.select(PhysicianAccount).where(
        sa.func.lower(PhysicianAccount.email) == email.lower(),
        PhysicianAccount.email_verified_at.is_not(None),
        PhysicianAccount.state != AccountState.REVOKED).order_by(PhysicianAccount.id).limit(1))


def send_recovery_code(actor: Actor, channel: str, target: str) -> None:
    """通过手机找回 / 通过邮箱找回: the code goes only to a verified phone or e-mail. The
    answer is the same whether or not an account exists (no account enumeration)."""
    field = "phone" if channel == "sms" else "email"
    target = check_phone(target) if channel == "sms" else check_email(target)
    _recovery_locked(f"{field}:{target}", actor.ip)
    acct = _by_verified_phone(target) if channel == "sms" else _by_verified_email(target)
    if acct is None:
        note_attempt(RECOVERY_SCOPE, f"{field}:{target}", False, actor.ip)
        db.session.commit()
        return
    send_code(CodePurpose.RECOVER, target, channel=channel, ip=actor.ip, user_id=acct.id,
              field=field)
    audit.record(actor, "recovery_code_sent", acct, detail=channel)
    db.session.commit()


def recover_with_code(actor: Actor, channel: str, target: str, code: str) -> PhysicianAccount:
    field = "phone" if channel == "sms" else "email"
    target = check_phone(target) if channel == "sms" else check_email(target)
    _recovery_locked(f"{field}:{target}", actor.ip)
    acct = _by_verified_phone(target) if channel == "sms" else _by_verified_email(target)
    if acct is None:
        note_attempt(RECOVERY_SCOPE, f"{field}:{target}", False, actor.ip)
        db.session.commit()
        raise DomainError("校验码错误或已过期，请重新获取。", field="code")
    try:
        check_code(CodePurpose.RECOVER, target, code, user_id=acct.id)
    except DomainError:
        note_attempt(RECOVERY_SCOPE, f"{field}:{target}", False, actor.ip)
        db.session.commit()
        raise
    audit.record(actor, "account_recovered", acct, detail=f"通过{'手机' if field == 'phone' else '邮箱'}找回")
    db.session.commit()
    return acct


def recover_with_personal_info(actor: Actor, *, name: str, id_number: str,
                               qualification_code: str, phone: str) -> PhysicianAccount:
    """通过个人信息找回: 姓名 + 身份证号 + 资格证书编码 + the phone given at registration."""
    name = check_name(name)
    id_number = check_id_number(id_number)
    phone = check_phone(phone)
    qualification_code = (qualification_code or "").strip()
    if not qualification_code:
        raise DomainError("请输入医师资格证书编码。", field="qualification_code")
    id_hash = id_blind_index(id_number)
    key = "id:" + id_hash
    _recovery_locked(key, actor.ip)
    acct = _live_account_for(id_hash)
    ok = (acct is not None and acct.name == name and acct.phone == phone
          and acct.person_id is not None
          and db.session.scalar(sa.select(Qualification.id).where(
              Qualification.code == qualification_code[:32],
              Qualification.person_id == acct.person_id)) is not None)
    if not ok:
        note_attempt(RECOVERY_SCOPE, key, False, actor.ip)
        if acct is not None:
            audit.record(actor, "recovery_failed", acct, detail="个人信息不符")
        db.session.commit()
        raise DomainError("您填写的信息与账户注册信息不一致，请核对后重试。")
    note_attempt(RECOVERY_SCOPE, key, True)
    audit.record(actor, "account_recovered", acct, detail="通过个人信息找回")
    db.session.commit()
    return acct


def reset_password(actor: Actor, account: PhysicianAccount, password: str, confirm: str) -> None:
    """After recovery: a new password; every session of the account ends."""
    check_password(password, confirm, username=account.username)
    account.password_hash = hash_password(password)
    account.password_changed_at = utcnow()
    end_user_sessions(account)
    audit.record(actor, "password_reset", account, detail="找回账户后重设密码")
    db.session.commit()


def change_password(actor: Actor, account: PhysicianAccount, old: str, password: str,
                    confirm: str, keep_token: str | None) -> None:
    """P8 修改密码: the old password is required; the user's other sessions end."""
    key = f"acct:{account.id}"
    if is_locked("password_change", key, actor.ip):
        raise DomainError(LOCKED, field="old_password")
    if not verify_password(account.password_hash, old or ""):
        note_attempt("password_change", key, False, actor.ip)
        db.session.commit()
        raise DomainError("原密码不正确。", field="old_password")
    check_password(password, confirm, username=account.username)
    if password == old:
        raise DomainError("新密码不能与原密码相同。", field="password")
    account.password_hash = hash_password(password)
    account.password_changed_at = utcnow()
    ended = end_user_sessions(account, except_token=keep_token)
    audit.record(actor, "password_changed", account, detail=f"结束其他会话{ended}个")
    db.session.commit()
