"""Business applications (业务申请) and their transition history."""
import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from . import db
from .enums import ApplicationStatus, ApplicationType, UserKind, enum_column
from .institution import utcnow

__all__ = ["Application", "ApplicationEvent"]

_OPEN = sa.text("status IN ('submitted', 'pending')")


class Application(db.Model):
    __tablename__ = "application"
    __table_args__ = (
        # one open application per physician (or institution) and type
        sa.Index("uq_application_open", "subject_key", "type", unique=True,
                 sqlite_where=_OPEN, postgresql_where=_OPEN),
        sa.Index("ix_application_confirming_status", "confirming_institution_id", "status",
                 "submitted_at"),
        sa.Index("ix_application_authority_status", "authority_id", "status", "submitted_at"),
        # an institution's own applications (备案/注销 it files): with the confirming index,
        # the 业务办理 lists read "confirming OR applicant" as two index ranges
        sa.Index("ix_application_applicant_status", "applicant_institution_id", "status",
                 "submitted_at"),
        # the same lists newest first (the 时间段 search above reads submitted_at): a page of
        # a commission's 已批准业务 or an institution's 业务 is one index range read backwards
        # from the newest (or the keyset's `id < before`), however long the history grows
        sa.Index("ix_application_confirming_status_id", "confirming_institution_id", "status",
                 "id"),
        sa.Index("ix_application_authority_status_id", "authority_id", "status", "id"),
        # (an institution's own 备案/注销 applications are listed in every status)
        sa.Index("ix_application_applicant_id", "applicant_institution_id", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    type: Mapped[ApplicationType] = mapped_column(enum_column(ApplicationType))
    status: Mapped[ApplicationStatus] = mapped_column(enum_column(ApplicationStatus),
                                                     default=ApplicationStatus.SUBMITTED)
    # "p:<person id>" or "i:<institution id>": whose open application this is
    subject_key: Mapped[str] = mapped_column(sa.String(32))
    account_id: Mapped[int | None] = mapped_column(sa.ForeignKey("physician_account.id"),
                                                   index=True)
    person_id: Mapped[int | None] = mapped_column(sa.ForeignKey("person.id"), index=True)
    applicant_kind: Mapped[UserKind] = mapped_column(enum_column(UserKind))
    applicant_institution_id: Mapped[int | None] = mapped_column(sa.ForeignKey("institution.id"))
    confirming_institution_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("institution.id"))
    authority_id: Mapped[int | None] = mapped_column(sa.ForeignKey("authority.id"))
    registration_id: Mapped[int | None] = mapped_column(sa.ForeignKey("registration.id"))
    payload: Mapped[dict] = mapped_column(sa.JSON, default=dict)  # the requested values
    reason: Mapped[str] = mapped_column(sa.String(256), default="")  # 提交本次业务的缘由
    submitted_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    accepted_on: Mapped[dt.date | None] = mapped_column(sa.Date)  # start of the 20 working days
    confirmed_at: Mapped[dt.datetime | None] = mapped_column()
    decided_at: Mapped[dt.datetime | None] = mapped_column()
    institution_opinion: Mapped[str | None] = mapped_column(sa.String(512))
    authority_opinion: Mapped[str | None] = mapped_column(sa.String(512))
    version: Mapped[int] = mapped_column(default=1)  # guards concurrent transitions

    account = relationship("PhysicianAccount")
    person = relationship("Person")
    applicant_institution = relationship("Institution",
                                         foreign_keys=[applicant_institution_id])
    confirming_institution = relationship("Institution",
                                          foreign_keys=[confirming_institution_id])
    authority = relationship("Authority")
    registration = relationship("Registration")
    events = relationship("ApplicationEvent", back_populates="application",
                          order_by="ApplicationEvent.id")


class ApplicationEvent(db.Model):  # 业务办理记录
    __tablename__ = "application_event"
    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(sa.ForeignKey("application.id"), index=True)
    from_status: Mapped[ApplicationStatus | None] = mapped_column(
        enum_column(ApplicationStatus))
    to_status: Mapped[ApplicationStatus] = mapped_column(enum_column(ApplicationStatus))
    actor_kind: Mapped[UserKind] = mapped_column(enum_column(UserKind))
    actor_id: Mapped[int | None] = mapped_column()
    actor_name: Mapped[str] = mapped_column(sa.String(128))
    opinion: Mapped[str] = mapped_column(sa.String(512), default="")
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    application = relationship("Application", back_populates="events")
