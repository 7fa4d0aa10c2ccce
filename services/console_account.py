"""Console accounts (I1): 安全设置 password change and 找回密码 recovery by the reserved phone."""
import datetime as dt
import re

import sqlalchemy as sa

from models import db
from models.account import ConsoleUser, VerificationCode
from models.enums import CodePurpose, UserKind
from models.institution import utcnow

from . import Actor, DomainError, audit
from .auth import CONSOLE_AREAS
from .messaging import queue_sms
from .security import (code_digest, codes_equal, hash_password, is_locked, note_attempt,
                       numeric_code, verify_password)
from .sessions import end_user_sessions

PASSWORD_RE = re.compile(r"^(?=.*[A-Za-z])(?=.*\d)[A-Za-z\d]{8,16}$")
CODE_MINUTES = 10
CODE_TRIES = 5
SCOPE = "console_recover"
GENERIC = "用户名与预留手机号不匹配。"


def check_console_password(new: str, field="new_password") -> None:
    if not PASSWORD_RE.match(new or ""):
        raise DomainError("密码须为8–16位，且同时包含字母和数字。", field=field)
    from .security import is_common_password
    if is_common_password(new):
        raise DomainError("该密码过于常见，容易被猜中，请换一个。", field=field)


def change_password(actor: Actor, user: ConsoleUser, old: str, new: str, confirm: str,
                    keep_token: str | None) -> None:
    if not verify_password(user.password_hash, old or ""):
        audit.record(actor, "password_change_failed", user, detail="原密码错误")
        db.session.commit()
        raise DomainError("原密码不正确。", field="old_password")
    check_console_password(new)
    if new != confirm:
        raise DomainError("两次输入的新密码不一致。", field="confirm_password")
    if new == old:
        raise DomainError("新密码不能与原密码相同。", field="new_password")
    user.password_hash = hash_password(new)
    user.password_changed_at = utcnow()
    user.must_change_password = False
    ended = end_user_sessions(user, except_token=keep_token)
    audit.record(actor, "password_changed", user, after={"other_sessions_ended": ended})
    db.session.commit()


def _find(area: str, username: str, phone: str) -> ConsoleUser | None:
    user = db.session.scalar(sa.select(ConsoleUser).where(
        ConsoleUser.username_key == (username or "").strip().lower()))
    if (user is None or user.role not in CONSOLE_AREAS[area] or not user.active
            or user.phone != (phone or "").strip()):
        return None
    return user


def start_recovery(area: str, username: str, phone: str, ip: str) -> int:
    """Send a code to the reserved phone; returns the user id. Throttled per name and IP."""
    key = f"name:{(username or '').strip().lower()}"
    if is_locked(SCOPE, key, ip):
        raise DomainError("尝试次数过多，请15分钟后再试。")
    user = _find(area, username, phone)
    actor = Actor(UserKind.CONSOLE, user.id if user else None, (username or "")[:64], ip)
    if user is None:
        note_attempt(SCOPE, key, False, ip)
        audit.record(actor, "password_recovery_failed", None, detail="用户名与预留手机号不匹配")
        db.session.commit()
        raise DomainError(GENERIC)
    recent = db.session.scalar(sa.select(sa.func.count()).select_from(VerificationCode).where(
        VerificationCode.purpose == CodePurpose.RECOVER, VerificationCode.user_kind == UserKind.CONSOLE,
        VerificationCode.user_id == user.id,
        VerificationCode.created_at >= utcnow() - dt.timedelta(seconds=60)))
    if recent:
        raise DomainError("校验码已发送，请60秒后再重新获取。")
    code = numeric_code(6)
    db.session.add(VerificationCode(purpose=CodePurpose.RECOVER, target=user.phone,
                                    user_kind=UserKind.CONSOLE, user_id=user.id,
                                    code_hash=code_digest(code), ip=ip[:64],
                                    expires_at=utcnow() + dt.timedelta(minutes=CODE_MINUTES)))
    queue_sms(user.phone, f"【医师电子化注册】您正在找回机构端/审批端登录密码，校验码为{code}，"
                          f"{CODE_MINUTES}分钟内有效。如非本人操作，请忽略本短信。")
    audit.record(actor, "password_recovery_code_sent", user)
    db.session.commit()
    return user.id


def finish_recovery(area: str, user_id: int, code: str, new: str, confirm: str, ip: str) -> None:
    user = db.session.get(ConsoleUser, user_id)
    if user is None or user.role not in CONSOLE_AREAS[area] or not user.active:
        raise DomainError("请重新开始找回密码。")
    key = f"name:{user.username.lower()}"
    actor = Actor(UserKind.CONSOLE, user.id, user.username, ip)
    if is_locked(SCOPE, key, ip):
        raise DomainError("尝试次数过多，请15分钟后再试。")
    row = db.session.scalar(sa.select(VerificationCode).where(
        VerificationCode.purpose == CodePurpose.RECOVER,
        VerificationCode.user_kind == UserKind.CONSOLE, VerificationCode.user_id == user.id,
        VerificationCode.used_at.is_(None)).order_by(VerificationCode.id.desc()).limit(1))
    if row is None or row.expires_at < utcnow() or row.attempts >= CODE_TRIES:
        raise DomainError("校验码已失效，请重新获取。", field="code")
    if not codes_equal(row.code_hash, code or ""):
        row.attempts += 1
        note_attempt(SCOPE, key, False, ip)
        audit.record(actor, "password_recovery_failed", user, detail="校验码错误")
        db.session.commit()
        raise DomainError("校验码错误。", field="code")
    check_console_password(new)
    if new != confirm:
        raise DomainError("两次输入的新密码不一致。", field="confirm_password")
    row.used_at = utcnow()
    user.password_hash = hash_password(new)
    user.password_changed_at = utcnow()
    ended = end_user_sessions(user)
    note_attempt(SCOPE, key, True)
    audit.record(actor, "password_recovered", user, after={"sessions_ended": ended})
    db.session.commit()


__all__ = ["change_password", "start_recovery", "finish_recovery", "check_console_password"]
