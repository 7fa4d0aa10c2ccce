"""Outbox (短信/邮件), questions and the FAQ."""
import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from . import db
from .enums import FaqAudience, MessageChannel, MessageStatus, UserKind, enum_column
from .institution import utcnow

__all__ = ["OutboxMessage", "Question", "FaqEntry"]


class OutboxMessage(db.Model):
    """Committed with the business change; a worker delivers it with retries."""
    __tablename__ = "outbox_message"
    __table_args__ = (sa.Index("ix_outbox_message_due", "status", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[MessageChannel] = mapped_column(enum_column(MessageChannel))
    to: Mapped[str] = mapped_column(sa.String(128))
    subject: Mapped[str] = mapped_column(sa.String(256), default="")
    body: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[MessageStatus] = mapped_column(enum_column(MessageStatus),
                                                 default=MessageStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(sa.String(512))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column()


class Question(db.Model):  # 我要提问 / 向客服提问
    __tablename__ = "question"
    __table_args__ = (sa.Index("ix_question_asker", "asker_kind", "asker_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    asker_kind: Mapped[UserKind] = mapped_column(enum_column(UserKind))
    asker_id: Mapped[int] = mapped_column()
    asker_name: Mapped[str] = mapped_column(sa.String(128))
    # the authority whose jurisdiction answers it (None = national)
    authority_id: Mapped[int | None] = mapped_column(sa.ForeignKey("authority.id"), index=True)
    title: Mapped[str] = mapped_column(sa.String(128))
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    reply: Mapped[str | None] = mapped_column(sa.Text)
    replied_at: Mapped[dt.datetime | None] = mapped_column()
    replied_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("console_user.id"))
    hidden_by_asker: Mapped[bool] = mapped_column(default=False)

    authority = relationship("Authority")


class FaqEntry(db.Model):  # 热点问题 (physicians) / 常见问题 (institutions)
    __tablename__ = "faq_entry"
    id: Mapped[int] = mapped_column(primary_key=True)
    audience: Mapped[FaqAudience] = mapped_column(enum_column(FaqAudience), index=True)
    category: Mapped[str] = mapped_column(sa.String(32), default="系统操作指南")
    title: Mapped[str] = mapped_column(sa.String(128))
    answer: Mapped[str] = mapped_column(sa.Text)
    sort: Mapped[int] = mapped_column(default=0)
    published: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
