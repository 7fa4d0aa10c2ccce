"""Reference lists loaded by `flask seed reference`."""
import datetime as dt
import weakref

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from . import db
from .enums import PhysicianCategory, RegionLevel, enum_column
from .loading import kept_reading

__all__ = ["Region", "PracticeScope", "TreatmentSubject", "ReferenceItem", "Holiday",
           "practice_scope_names"]


class Region(db.Model):
    """GB/T 2260 administrative division."""
    __tablename__ = "region"
    code: Mapped[str] = mapped_column(sa.String(6), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(64))
    full_name: Mapped[str] = mapped_column(sa.String(128))
    level: Mapped[RegionLevel] = mapped_column(enum_column(RegionLevel))
    parent_code: Mapped[str | None] = mapped_column(sa.ForeignKey("region.code"), index=True)
    # 是否实施电子化注册 (meaningful on provinces; matters for P4c)
    electronic_registration: Mapped[bool] = mapped_column(sa.Boolean, default=True)

    parent = relationship("Region", remote_side=[code])

    @property
    def province_code(self) -> str:
        return self.code[:2] + "0000"

    def __str__(self):
        return self.full_name or self.name


def region_prefix(code: str) -> str:
    """The code prefix shared by a region and everything below it (jurisdiction test)."""
    if code.endswith("0000"):
        return code[:2]
    if code.endswith("00"):
        return code[:4]
    return code


class PracticeScope(db.Model):  # 执业范围
    __tablename__ = "practice_scope"
    code: Mapped[str] = mapped_column(sa.String(8), primary_key=True)
    category: Mapped[PhysicianCategory] = mapped_column(enum_column(PhysicianCategory), index=True)
    name: Mapped[str] = mapped_column(sa.String(64))
    sort: Mapped[int] = mapped_column(default=0)

    def __str__(self):
        return self.name


# 执业范围 code → name per database, with the time read (practice_scope_names)
_scope_names_by_engine: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
SCOPE_NAMES_MAX_AGE = 300.0  # seconds


def practice_scope_names(session) -> dict[str, str]:
    """执业范围 code → name. The list is reference data (loaded by `flask seed reference`,
    edited in no console), so it is read at most every five minutes per database, not in
    every request that shows a registration's 执业范围."""
    return kept_reading(_scope_names_by_engine, session, "names", SCOPE_NAMES_MAX_AGE,
                        lambda: dict(session.execute(
                            sa.select(PracticeScope.code, PracticeScope.name)).all()))


class TreatmentSubject(db.Model):  # 诊疗科目
    __tablename__ = "treatment_subject"
    code: Mapped[str] = mapped_column(sa.String(12), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(64))
    display_name: Mapped[str] = mapped_column(sa.String(64))
    level: Mapped[int] = mapped_column(default=1)
    parent_code: Mapped[str | None] = mapped_column(sa.String(12))

    def __str__(self):
        return f"{self.code} {self.display_name}"


class ReferenceItem(db.Model):
    """Small coded lists: education, degree, title, ethnic group, 注销/备案 reasons."""
    __tablename__ = "reference_item"
    kind: Mapped[str] = mapped_column(sa.String(24), primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(128))
    label: Mapped[str | None] = mapped_column(sa.String(64))  # short label shown in forms
    sort: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)

    def __str__(self):
        return self.label or self.name


class Holiday(db.Model):
    """Working-day calendar exceptions: official holidays (is_workday False) and the
    weekend days that are made working days (调休, is_workday True)."""
    __tablename__ = "holiday"
    day: Mapped[dt.date] = mapped_column(sa.Date, primary_key=True)
    is_workday: Mapped[bool] = mapped_column(default=False)
    name: Mapped[str] = mapped_column(sa.String(32))
