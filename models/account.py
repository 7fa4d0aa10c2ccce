"""Accounts: physicians' self-service accounts, console users (institution administrators,
commission reviewers, system administrators, auditors), sessions, activation codes,
verification codes, change requests (信息维护) and photos."""
import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from . import db
from .enums import (AccountState, ActivationMethod, CodePurpose, ConsoleRole, ReviewStatus,
                    UserKind, VerificationOutcome, enum_column)
from .identity import IdentityNumberMixin
from .institution import utcnow

__all__ = ["PhysicianAccount", "ConsoleUser", "UserSession", "TrustedDevice", "ActivationCode",
           "VerificationCode", "LoginAttempt", "ChangeRequest", "Photo"]

class AuthUserMixin:
    """Flask-Login's user protocol. get_id() returns the server-side session token set at
    login or load (never the row id), so a session can be revoked."""

    is_anonymous = False
    is_authenticated = True

    @property
    def is_active(self):
        if self.kind == UserKind.PHYSICIAN:
            return self.state not in (AccountState.REVOKED, AccountState.DISABLED)
        return bool(self.active)

    def get_id(self):
        return getattr(self, "_session_token", None)


_LIVE_ACCOUNT = sa.text("state <> 'revoked'")
_VERIFIED_PHONE = sa.text("phone_verified_at IS NOT NULL AND state <> 'revoked'")
_PENDING = sa.text("status = 'pending'")


class PhysicianAccount(AuthUserMixin, IdentityNumberMixin, db.Model):  # 医师个人账户
    __tablename__ = "physician_account"
    __table_args__ = (
        # one live account per 身份证号; a revoked one lets the person register again
        sa.Index("uq_physician_account_person", "id_number_hash", unique=True,
                 sqlite_where=_LIVE_ACCOUNT, postgresql_where=_LIVE_ACCOUNT),
        # a verified phone is a login name, so it must identify one account
        sa.Index("uq_physician_account_verified_phone", "phone", unique=True,
                 sqlite_where=_VERIFIED_PHONE, postgresql_where=_VERIFIED_PHONE),
        sa.Index("ix_physician_account_institution_state", "institution_id", "state"),
        # 医师账户 lists of an institution, newest first, straight from the index
        sa.Index("ix_physician_account_institution_id", "institution_id", "id"),
        sa.Index("uq_physician_account_username_key", "username_key", unique=True),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(32), unique=True)
    # the lower-cased 用户名: logins and the uniqueness check are case-insensitive, and an
    # equality on this unique index is one lookup (lower(username) would read every account)
    username_key: Mapped[str | None] = mapped_column(sa.String(32))
    name: Mapped[str] = mapped_column(sa.String(32))
    phone: Mapped[str] = mapped_column(sa.String(20))
    phone_verified_at: Mapped[dt.datetime | None] = mapped_column()
    email: Mapped[str] = mapped_column(sa.String(128))
    email_verified_at: Mapped[dt.datetime | None] = mapped_column()
    password_hash: Mapped[str] = mapped_column(sa.String(256))
    state: Mapped[AccountState] = mapped_column(enum_column(AccountState),
                                               default=AccountState.REGISTERED)
    verification_outcome: Mapped[VerificationOutcome | None] = mapped_column(
        enum_column(VerificationOutcome))
    person_id: Mapped[int | None] = mapped_column(sa.ForeignKey("person.id"), index=True)
    # the 主要执业机构 that issues the activation code (outcome in_register)
    institution_id: Mapped[int | None] = mapped_column(sa.ForeignKey("institution.id"))
    registered_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    verified_at: Mapped[dt.datetime | None] = mapped_column()
    activated_at: Mapped[dt.datetime | None] = mapped_column()
    activation_method: Mapped[ActivationMethod | None] = mapped_column(
        enum_column(ActivationMethod))
    revoked_at: Mapped[dt.datetime | None] = mapped_column()
    password_changed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    person = relationship("Person")
    institution = relationship("Institution")

    kind = UserKind.PHYSICIAN

    @property
    def is_activated(self) -> bool:
        return self.state == AccountState.ACTIVATED

    def __str__(self):
        return self.username


class ConsoleUser(AuthUserMixin, db.Model):  # 机构端 / 审批端 账户
    __tablename__ = "console_user"
    # a unique index, not a constraint: SQLite adds it without rebuilding the table
    __table_args__ = (sa.Index("uq_console_user_username_key", "username_key", unique=True),)
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(32), unique=True)
    # the lower-cased 用户名: logins and the uniqueness check are case-insensitive, and an
    # equality on this unique index is one lookup (lower(username) would read every account)
    username_key: Mapped[str | None] = mapped_column(sa.String(32))
    display_name: Mapped[str] = mapped_column(sa.String(64))
    password_hash: Mapped[str] = mapped_column(sa.String(256))
    role: Mapped[ConsoleRole] = mapped_column(enum_column(ConsoleRole))
    institution_id: Mapped[int | None] = mapped_column(sa.ForeignKey("institution.id"),
                                                       index=True)
    authority_id: Mapped[int | None] = mapped_column(sa.ForeignKey("authority.id"), index=True)
    phone: Mapped[str] = mapped_column(sa.String(20))  # reserved phone for the second factor
    active: Mapped[bool] = mapped_column(default=True)
    must_change_password: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    password_changed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    institution = relationship("Institution")
    authority = relationship("Authority")

    kind = UserKind.CONSOLE

    @property
    def is_institution(self) -> bool:
        return self.role == ConsoleRole.INSTITUTION_ADMIN

    def __str__(self):
        return self.display_name


class UserSession(db.Model):
    """Server-side session: the signed cookie holds only this row's random id."""
    __tablename__ = "user_session"
    __table_args__ = (sa.Index("ix_user_session_user", "user_kind", "user_id"),)
    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)  # sha256 of the token
    user_kind: Mapped[UserKind] = mapped_column(enum_column(UserKind))
    user_id: Mapped[int] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column()
    ip: Mapped[str] = mapped_column(sa.String(64), default="")
    user_agent: Mapped[str] = mapped_column(sa.String(256), default="")


class TrustedDevice(db.Model):
    """A browser that passed the console second factor (cookie token, stored hashed)."""
    __tablename__ = "trusted_device"
    id: Mapped[int] = mapped_column(primary_key=True)
    console_user_id: Mapped[int] = mapped_column(sa.ForeignKey("console_user.id"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ActivationCode(db.Model):  # 账户激活码
    __tablename__ = "activation_code"
    __table_args__ = (
        # never issued twice: one code per account and institution
        sa.UniqueConstraint("account_id", "institution_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("physician_account.id"))
    institution_id: Mapped[int] = mapped_column(sa.ForeignKey("institution.id"), index=True)
    code: Mapped[str] = mapped_column(sa.String(16))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("console_user.id"))
    sent_via: Mapped[str] = mapped_column(sa.String(16), default="")  # sms / email / ""
    used_at: Mapped[dt.datetime | None] = mapped_column()

    account = relationship("PhysicianAccount")
    institution = relationship("Institution")


class VerificationCode(db.Model):  # 短信/邮件校验码 (stored hashed)
    __tablename__ = "verification_code"
    __table_args__ = (sa.Index("ix_verification_code_target", "purpose", "target", "created_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    purpose: Mapped[CodePurpose] = mapped_column(enum_column(CodePurpose))
    target: Mapped[str] = mapped_column(sa.String(128))  # phone number or e-mail address
    user_kind: Mapped[UserKind | None] = mapped_column(enum_column(UserKind))
    user_id: Mapped[int | None] = mapped_column()
    code_hash: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column()
    attempts: Mapped[int] = mapped_column(default=0)
    used_at: Mapped[dt.datetime | None] = mapped_column()
    ip: Mapped[str] = mapped_column(sa.String(64), default="")


class LoginAttempt(db.Model):
    """Failures counted for throttling and lockout (per account key and per IP)."""
    __tablename__ = "login_attempt"
    __table_args__ = (sa.Index("ix_login_attempt_key_at", "scope", "key", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(sa.String(24))  # physician_login / console_login / activation …
    key: Mapped[str] = mapped_column(sa.String(128))  # account key or "ip:…"
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    success: Mapped[bool] = mapped_column(default=False)


class ChangeRequest(db.Model):  # 信息修改申请 (学历 / 毕业学校 / 任职资格 / 所学专业)
    __tablename__ = "change_request"
    __table_args__ = (
        sa.Index("uq_change_request_pending", "account_id", unique=True,
                 sqlite_where=_PENDING, postgresql_where=_PENDING),
        sa.Index("ix_change_request_institution_status", "institution_id", "status"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("physician_account.id"), index=True)
    registration_id: Mapped[int] = mapped_column(sa.ForeignKey("registration.id"))
    institution_id: Mapped[int] = mapped_column(sa.ForeignKey("institution.id"))
    # requested values (None = unchanged) and the values they replace
    education_code: Mapped[str | None] = mapped_column(sa.String(8))
    school: Mapped[str | None] = mapped_column(sa.String(128))
    title_code: Mapped[str | None] = mapped_column(sa.String(8))
    major: Mapped[str | None] = mapped_column(sa.String(64))
    original: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    status: Mapped[ReviewStatus] = mapped_column(enum_column(ReviewStatus),
                                                default=ReviewStatus.PENDING)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    reviewed_at: Mapped[dt.datetime | None] = mapped_column()
    reviewed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("console_user.id"))
    review_reason: Mapped[str | None] = mapped_column(sa.String(256))

    account = relationship("PhysicianAccount")
    registration = relationship("Registration")


class Photo(db.Model):  # 医师相片 (re-encoded; stored in the database)
    __tablename__ = "photo"
    __table_args__ = (
        sa.Index("uq_photo_pending", "account_id", unique=True,
                 sqlite_where=_PENDING, postgresql_where=_PENDING),
        sa.Index("ix_photo_institution_status", "institution_id", "status"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("physician_account.id"), index=True)
    institution_id: Mapped[int | None] = mapped_column(sa.ForeignKey("institution.id"))
    data: Mapped[bytes] = mapped_column(sa.LargeBinary)
    content_type: Mapped[str] = mapped_column(sa.String(16))
    width: Mapped[int] = mapped_column()
    height: Mapped[int] = mapped_column()
    size: Mapped[int] = mapped_column()
    status: Mapped[ReviewStatus] = mapped_column(enum_column(ReviewStatus),
                                                default=ReviewStatus.PENDING)
    uploaded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    reviewed_at: Mapped[dt.datetime | None] = mapped_column()
    reviewed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("console_user.id"))
    review_reason: Mapped[str | None] = mapped_column(sa.String(256))

    account = relationship("PhysicianAccount")


@sa.event.listens_for(PhysicianAccount, "before_insert")
@sa.event.listens_for(PhysicianAccount, "before_update")
@sa.event.listens_for(ConsoleUser, "before_insert")
@sa.event.listens_for(ConsoleUser, "before_update")
def _keep_username_key(mapper, connection, target):
    target.username_key = (target.username or "").lower() or None
