"""Reference lists loaded by `flask seed reference`."""
import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from . import db
from .enums import PhysicianCategory, RegionLevel, enum_column

__all__ = ["Region", "PracticeScope", "TreatmentSubject", "ReferenceItem", "Holiday"]


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
