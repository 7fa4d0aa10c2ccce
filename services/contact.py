"""P3 / P6 contact verification: 6-digit codes by SMS (phone) and e-mail (fallback and
recovery). Codes are stored hashed, expire after 10 minutes, allow 5 tries, and sending is
rate-limited (60 s cool-down per target, 10 a day per target, 30 an hour per IP)."""
import datetime as dt
import re

import sqlalchemy as sa

from models import db
from models.account import PhysicianAccount, VerificationCode
from models.enums import AccountState, CodePurpose, UserKind
from models.identity import mask_email, mask_phone
from models.institution import utcnow

from . import Actor, DomainError, audit
from .messaging import queue_email, queue_sms
from .security import code_digest, codes_equal, numeric_code

CODE_MINUTES = 10
RESEND_SECONDS = 60
MAX_TRIES = 5
PER_TARGET_PER_DAY = 10
PER_IP_PER_HOUR = 30

PHONE_RE = re.compile(r"^1[3-9]\d{9}$")
EMAIL_RE = re.compile(r"^[A-Za-z0-9._%+\-]{1,64}@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,24}$")

SIGN = "【医师电子化注册】"
# message templates per purpose: (sms body, e-mail subject, e-mail body)
TEMPLATES = {
    CodePurpose.VERIFY_PHONE: (
        SIGN + "您正在验证手机号码，校验码为{code}，{minutes}分钟内有效。请勿将校验码告诉他人，"
        "如非本人操作，请忽略本短信。",
        None, None),
    CodePurpose.VERIFY_EMAIL: (
        None,
        "医师电子化注册信息系统：邮箱校验码",
        "您好：\n\n您正在医师电子化注册信息系统（医师个人版）验证电子邮箱，校验码为：{code}\n\n"
        "校验码{minutes}分钟内有效，请在页面中输入以完成验证。请勿将校验码告诉他人。\n"
        "如非本人操作，请忽略本邮件。\n\n医师电子化注册信息系统"),
    CodePurpose.RECOVER: (
        SIGN + "您正在找回登录账户，校验码为{code}，{minutes}分钟内有效。如非本人操作，"
        "请立即修改密码并忽略本短信。",
        "医师电子化注册信息系统：找回登录账户",
        "您好：\n\n您正在医师电子化注册信息系统（医师个人版）找回登录账户，校验码为：{code}\n\n"
        "校验码{minutes}分钟内有效。找回后请重新设置登录密码。\n"
        "如非本人操作，请忽略本邮件，您的账户不会发生变化。\n\n医师电子化注册信息系统"),
}


def normalize_phone(value: str) -> str:
    return re.sub(r"[\s-]", "", value or "")


def check_phone(value: str, field: str = "phone") -> str:
    v = normalize_phone(value)
    if not v:
        raise DomainError("请输入手机号码。", field=field)
    if not PHONE_RE.match(v):
        raise DomainError("请输入正确的11位中国大陆手机号码（1开头，第二位为3至9）。", field=field)
    return v


def check_email(value: str, field: str = "email") -> str:
    v = (value or "").strip()
    if not v:
        raise DomainError("请输入电子邮箱。", field=field)
    if len(v) > 128 or not EMAIL_RE.match(v):
        raise DomainError("请输入正确的电子邮箱地址，例如 name@example.com。", field=field)
    return v.lower()


def _count(*conds) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(VerificationCode)
                             .where(*conds)) or 0


def send_code(purpose: CodePurpose, target: str, *, channel: str, ip: str = "",
              user_id: int | None = None, field: str = "code") -> VerificationCode:
    """Create a code for (purpose, target) and queue it; enforces the sending limits."""
    now = utcnow()
    if _count(VerificationCode.purpose == purpose, VerificationCode.target == target,
              VerificationCode.created_at >= now - dt.timedelta(seconds=RESEND_SECONDS)):
        raise DomainError(f"校验码已发送，请{RESEND_SECONDS}秒后再重新获取。", field=field)
    if _count(VerificationCode.target == target,
              VerificationCode.created_at >= now - dt.timedelta(days=1)) >= PER_TARGET_PER_DAY:
        raise DomainError("今天向该号码（邮箱）发送校验码的次数已达上限，请明天再试。", field=field)
    if ip and _count(VerificationCode.ip == ip[:64],
                     VerificationCode.created_at >= now - dt.timedelta(hours=1)) >= PER_IP_PER_HOUR:
        raise DomainError("发送校验码过于频繁，请稍后再试。", field=field)
    code = numeric_code(6)
    row = VerificationCode(purpose=purpose, target=target, user_kind=UserKind.PHYSICIAN,
                           user_id=user_id, code_hash=code_digest(code), ip=(ip or "")[:64],
                           created_at=now, expires_at=now + dt.timedelta(minutes=CODE_MINUTES))
    db.session.add(row)
    sms, subject, body = TEMPLATES[purpose]
    if channel == "sms":
        queue_sms(target, sms.format(code=code, minutes=CODE_MINUTES))
    else:
        queue_email(target, subject, body.format(code=code, minutes=CODE_MINUTES))
    return row


def check_code(purpose: CodePurpose, target: str, code: str, *, user_id: int | None = None,
               field: str = "code") -> VerificationCode:
    """Consume the latest code for (purpose, target). Wrong → tries+1 (committed)."""
    code = (code or "").strip()
    if not re.fullmatch(r"\d{6}", code):
        raise DomainError("请输入6位数字校验码。", field=field)
    q = sa.select(VerificationCode).where(VerificationCode.purpose == purpose,
                                          VerificationCode.target == target)
    if user_id is not None:
        q = q.where(VerificationCode.user_id == user_id)
    row = db.session.scalar(q.order_by(VerificationCode.id.desc()).limit(1))
    if row is None:
        raise DomainError("请先获取校验码。", field=field)
    if row.used_at is not None:
        raise DomainError("校验码已使用，请重新获取。", field=field)
    if row.expires_at < utcnow():
        raise DomainError("校验码已过期，请重新获取。", field=field)
    if row.attempts >= MAX_TRIES:
        raise DomainError("校验码错误次数过多，请重新获取。", field=field)
    if not codes_equal(row.code_hash, code):
        row.attempts += 1
        db.session.commit()
        left = MAX_TRIES - row.attempts
        raise DomainError("校验码错误。" + (f"还可尝试{left}次。" if left else "请重新获取校验码。"),
                          field=field)
    # consume once, even under concurrent submissions
    done = db.session.execute(sa.update(VerificationCode).where(
        VerificationCode.id == row.id, VerificationCode.used_at.is_(None))
        .values(used_at=utcnow())).rowcount
    if not done:
        raise DomainError("校验码已使用，请重新获取。", field=field)
    return row


# ---- P3: the account's own phone and e-mail ------------------------------------------

def _phone_taken(phone: str, account: PhysicianAccount) -> bool:
    return db.session.scalar(sa.select(PhysicianAccount.id).where(
        PhysicianAccount.phone == phone, PhysicianAccount.phone_verified_at.is_not(None),
        PhysicianAccount.state != AccountState.REVOKED, PhysicianAccount.id != account.id)
        .limit(1)) is not None


def send_phone_code(actor: Actor, account: PhysicianAccount, phone: str):
    phone = check_phone(phone)
    if _phone_taken(phone, account):
        raise DomainError("该手机号码已被其他账户验证使用，请更换手机号码。", field="phone")
    send_code(CodePurpose.VERIFY_PHONE, phone, channel="sms", ip=actor.ip, user_id=account.id,
              field="phone")
    audit.record(actor, "phone_code_sent", account, detail=mask_phone(phone))
    db.session.commit()
    return phone


def confirm_phone(actor: Actor, account: PhysicianAccount, phone: str, code: str):
    phone = check_phone(phone)
    check_code(CodePurpose.VERIFY_PHONE, phone, code, user_id=account.id)
    if _phone_taken(phone, account):
        db.session.rollback()
        raise DomainError("该手机号码已被其他账户验证使用，请更换手机号码。", field="phone")
    before = {"phone": mask_phone(account.phone), "verified": account.phone_verified_at is not None}
    account.phone = phone
    account.phone_verified_at = utcnow()
    audit.record(actor, "phone_verified", account, before=before,
                 after={"phone": mask_phone(phone), "verified": True})
    db.session.commit()


def send_email_code(actor: Actor, account: PhysicianAccount, email: str):
    email = check_email(email)
    send_code(CodePurpose.VERIFY_EMAIL, email, channel="email", ip=actor.ip,
              user_id=account.id, field="email")
    audit.record(actor, "email_code_sent", account, detail=mask_email(email))
    db.session.commit()
    return email


def confirm_email(actor: Actor, account: PhysicianAccount, email: str, code: str):
    email = check_email(email)
    check_code(CodePurpose.VERIFY_EMAIL, email, code, user_id=account.id)
    before = {"email": mask_email(account.email), "verified": account.email_verified_at is not None}
    account.email = email
    account.email_verified_at = utcnow()
    audit.record(actor, "email_verified", account, before=before,
                 after={"email": mask_email(email), "verified": True})
    db.session.commit()
