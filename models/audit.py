"""Append-only audit log (who, when, what, before/after)."""
import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from . import db
from .enums import UserKind, enum_column
from .institution import utcnow

__all__ = ["AuditLog", "ImportJob"]


class AuditLog(db.Model):
    __tablename__ = "audit_log"
    # (action, at): "this action in this window" (the change feed's moves) is one index range,
    # also for PostgreSQL's generic plan of the prepared statement, which otherwise reads
    # the whole window's audit rows from the at index
    __table_args__ = (sa.Index("ix_audit_log_object", "object_type", "object_id"),
                      sa.Index("ix_audit_log_actor", "actor_kind", "actor_id", "at"),
                      sa.Index("ix_audit_log_action_at", "action", "at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    actor_kind: Mapped[UserKind | None] = mapped_column(enum_column(UserKind))
    actor_id: Mapped[int | None] = mapped_column()
    actor_name: Mapped[str] = mapped_column(sa.String(128), default="")
    ip: Mapped[str] = mapped_column(sa.String(64), default="")
    action: Mapped[str] = mapped_column(sa.String(48))
    object_type: Mapped[str] = mapped_column(sa.String(48), default="")
    object_id: Mapped[str] = mapped_column(sa.String(48), default="")
    # scope columns let consoles show only their tenant's rows
    institution_id: Mapped[int | None] = mapped_column(index=True)
    authority_id: Mapped[int | None] = mapped_column(index=True)
    before: Mapped[dict | None] = mapped_column(sa.JSON)
    after: Mapped[dict | None] = mapped_column(sa.JSON)
    detail: Mapped[str] = mapped_column(sa.String(512), default="")


class ImportJob(db.Model):  # 注册库导入任务 (C3)
    __tablename__ = "import_job"
    id: Mapped[int] = mapped_column(primary_key=True)
    authority_id: Mapped[int] = mapped_column(sa.ForeignKey("authority.id"), index=True)
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("console_user.id"))
    kind: Mapped[str] = mapped_column(sa.String(24))  # qualification / registration / …
    filename: Mapped[str] = mapped_column(sa.String(256))
    status: Mapped[str] = mapped_column(sa.String(16), default="running")
    total_rows: Mapped[int] = mapped_column(default=0)
    processed_rows: Mapped[int] = mapped_column(default=0)
    imported_rows: Mapped[int] = mapped_column(default=0)
    failed_rows: Mapped[int] = mapped_column(default=0)
    errors: Mapped[list] = mapped_column(sa.JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column()

