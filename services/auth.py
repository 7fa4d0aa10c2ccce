"""Authentication of physicians and console users: passwords, throttling, lockout and the
console second factor (SMS code to the reserved phone at first login and from a new browser)."""
import datetime as dt
import secrets

import sqlalchemy as sa

from models import db
from models.account import (ConsoleUser, PhysicianAccount, TrustedDevice, VerificationCode)
from models.enums import AccountState, CodePurpose, ConsoleRole, UserKind
from models.institution import utcnow
from models.registry import Qualification

from . import Actor, DomainError, audit
from .messaging import queue_sms
from .security import (code_digest, codes_equal, is_locked, note_attempt, numeric_code,
                       token_digest, verify_password)

LOCKED_MESSAGE = "登录失败次数过多，账户已被临时锁定，请15分钟后再试。"
BAD_LOGIN_MESSAGE = "用户名或密码错误。"
LOGIN_CODE_MINUTES = 10
LOGIN_CODE_MAX_TRIES = 5

CONSOLE_AREAS = {
    "org": (ConsoleRole.INSTITUTION_ADMIN,),
    "gov": (ConsoleRole.REVIEWER, ConsoleRole.SYSADMIN, ConsoleRole.AUDITOR),
}


def find_physician_account(login_name: str) -> PhysicianAccount | None:
    """用户名, a verified 手机号, or a 资格证书编码 (P5)."""
    name = (login_name or "").strip()
    if not name:
        return None
    live = PhysicianAccount.state != AccountState.REVOKED
    acct = db.session.scalar(sa.select(PhysicianAccount).where(
        PhysicianAccount.username_key == name.lower(), live))
    if acct is None and name.isdigit() and len(name) == 11:
        acct = db.session.scalar(sa.select(PhysicianAccount).where(
            PhysicianAccount.phone == name, PhysicianAccount.phone_verified_at.is_not(None), live))
    if acct is None:
        qual = db.session.scalar(sa.select(Qualification).where(Qualification.code == name))
        if qual is not None:
            acct = db.session.scalar(sa.select(PhysicianAccount).where(
                PhysicianAccount.person_id == qual.person_id, live))
    return acct


def authenticate_physician(login_name: str, password: str, ip: str) -> PhysicianAccount:
    acct = find_physician_account(login_name)
    lock_key = f"acct:{acct.id}" if acct else _unknown_name_key(login_name)
    if is_locked("physician_login", lock_key, ip):
        verify_password(None, password)  # same cost as any other attempt
        _fail(UserKind.PHYSICIAN, acct, lock_key, ip, "账户锁定期间尝试登录")
        raise DomainError(LOCKED_MESSAGE)
    ok = verify_password(acct.password_hash if acct else None, password)
    if not ok or acct is None or not acct.is_active:
        _fail(UserKind.PHYSICIAN, acct, lock_key, ip, "密码错误或账户不可用")
        raise DomainError(BAD_LOGIN_MESSAGE)
    note_attempt("physician_login", lock_key, True)
    return acct


def authenticate_console(area: str, username: str, password: str, ip: str) -> ConsoleUser:
    key = (username or "").strip().lower()
    user = db.session.scalar(sa.select(ConsoleUser).where(ConsoleUser.username_key == key))
    if user is not None and user.role not in CONSOLE_AREAS[area]:
        user_for_area = None
    else:
        user_for_area = user
    lock_key = f"console:{user.id}" if user else _unknown_name_key(username)
    if is_locked("console_login", lock_key, ip):
        verify_password(None, password)
        _fail(UserKind.CONSOLE, user, lock_key, ip, "账户锁定期间尝试登录", scope="console_login")
        raise DomainError(LOCKED_MESSAGE)
    ok = verify_password(user.password_hash if user else None, password)
    if not ok or user_for_area is None or not user_for_area.active:
        _fail(UserKind.CONSOLE, user, lock_key, ip,
              "登录失败" if user_for_area is not None or user is None else "账户类型不符",
              scope="console_login")
        raise DomainError(BAD_LOGIN_MESSAGE)
    note_attempt("console_login", lock_key, True)
    return user


def _unknown_name_key(typed: str) -> str:
    """Throttle key for a login name that matches no account. People type their 身份证号
    or phone into the login box: keep only a keyed digest, never the typed text."""
    return "name:" + code_digest((typed or "").strip().lower())[:32]


def _fail(kind, user, lock_key, ip, detail, scope="physician_login"):
    note_attempt(scope, lock_key, False, ip)
    audit.record(Actor(kind, user.id if user else None,
                       (getattr(user, "username", "") if user else "未知用户"), ip),
                 "login_failed", user, detail=detail)
    db.session.commit()


# ---- console second factor ------------------------------------------------------------

def is_trusted_device(user: ConsoleUser, device_token: str | None) -> bool:
    if not device_token:
        return False
    row = db.session.scalar(sa.select(TrustedDevice).where(
        TrustedDevice.token_hash == token_digest(device_token),
        TrustedDevice.console_user_id == user.id))
    if row is None:
        return False
    row.last_used_at = utcnow()
    return True


def send_console_login_code(user: ConsoleUser, ip: str) -> None:
    recent = db.session.scalar(sa.select(sa.func.count()).select_from(VerificationCode).where(
        VerificationCode.purpose == CodePurpose.CONSOLE_LOGIN,
        VerificationCode.user_id == user.id,
        VerificationCode.created_at >= utcnow() - dt.timedelta(seconds=60)))
    if recent:
        raise DomainError("校验码已发送，请60秒后再重新获取。")
    code = numeric_code(6)
    db.session.add(VerificationCode(
        purpose=CodePurpose.CONSOLE_LOGIN, target=user.phone, user_kind=UserKind.CONSOLE,
        user_id=user.id, code_hash=code_digest(code), ip=ip[:64],
        expires_at=utcnow() + dt.timedelta(minutes=LOGIN_CODE_MINUTES)))
    queue_sms(user.phone, f"【医师电子化注册】您的登录校验码为{code}，{LOGIN_CODE_MINUTES}分钟内有效。"
                          "如非本人操作，请忽略本短信。")
    db.session.commit()


def verify_console_login_code(user: ConsoleUser, code: str, ip: str) -> str:
    """Check the SMS code; on success trust this browser and return its device token."""
    row = db.session.scalar(sa.select(VerificationCode).where(
        VerificationCode.purpose == CodePurpose.CONSOLE_LOGIN,
        VerificationCode.user_id == user.id, VerificationCode.used_at.is_(None))
        .order_by(VerificationCode.id.desc()).limit(1))
    if row is None or row.expires_at < utcnow():
        raise DomainError("校验码已过期，请重新获取。", field="code")
    if row.attempts >= LOGIN_CODE_MAX_TRIES:
        raise DomainError("校验码错误次数过多，请重新获取。", field="code")
    if not codes_equal(row.code_hash, code or ""):
        row.attempts += 1
        audit.record(Actor(UserKind.CONSOLE, user.id, user.username, ip), "login_failed", user,
                     detail="登录校验码错误")
        db.session.commit()
        raise DomainError("校验码错误。", field="code")
    row.used_at = utcnow()
    token = secrets.token_urlsafe(32)
    db.session.add(TrustedDevice(console_user_id=user.id, token_hash=token_digest(token)))
    return token
