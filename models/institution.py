"""Authorities (审批机关), institutions (医疗机构) and their departments (科室)."""
import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from . import db
from .enums import AuthorityLevel, PhysicianCategory, enum_column

__all__ = ["Authority", "Institution", "InstitutionAuthority", "Department",
           "department_subject"]


def utcnow():
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


class Authority(db.Model):  # 卫生健康行政部门 / 中医药管理局
    __tablename__ = "authority"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(128), unique=True)
    level: Mapped[AuthorityLevel] = mapped_column(enum_column(AuthorityLevel))
    region_code: Mapped[str] = mapped_column(sa.ForeignKey("region.code"), index=True)
    is_tcm: Mapped[bool] = mapped_column(default=False)  # 中医药管理局
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("authority.id"))
    active: Mapped[bool] = mapped_column(default=True)

    region = relationship("Region")
    parent = relationship("Authority", remote_side=[id])

    def __str__(self):
        return self.name


class Institution(db.Model):  # 医疗机构
    __tablename__ = "institution"
    __table_args__ = (
        # a commission's institution list is one index range in id order at every level
        sa.Index("ix_institution_province_prefix_id", "province_prefix", "id"),
        sa.Index("ix_institution_city_prefix_id", "city_prefix", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(128), index=True)  # 标准名称
    license_no: Mapped[str] = mapped_column(sa.String(64), unique=True)  # 执业许可证登记号
    region_code: Mapped[str] = mapped_column(sa.ForeignKey("region.code"), index=True)  # county
    # the region code's province / city prefixes ('14', '1401'), kept from region_code
    province_prefix: Mapped[str | None] = mapped_column(sa.String(2))
    city_prefix: Mapped[str | None] = mapped_column(sa.String(4))
    address: Mapped[str] = mapped_column(sa.String(256), default="")
    licensing_authority_id: Mapped[int] = mapped_column(sa.ForeignKey("authority.id"), index=True)
    responsible_person: Mapped[str] = mapped_column(sa.String(64), default="")
    reserved_phone: Mapped[str] = mapped_column(sa.String(20), default="")  # 预留手机号
    is_military: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    region = relationship("Region")
    licensing_authority = relationship("Authority")
    authorities = relationship("InstitutionAuthority", back_populates="institution",
                               cascade="all, delete-orphan")
    departments = relationship("Department", back_populates="institution",
                               cascade="all, delete-orphan", order_by="Department.name")

    @property
    def province_code(self) -> str:
        return self.region_code[:2] + "0000"

    def authority_for(self, category: PhysicianCategory):
        for link in self.authorities:
            if link.category == category:
                return link.authority
        return None

    def __str__(self):
        return self.name


def region_prefixes(region_code: str | None) -> tuple:
    """('14', '1401') for 140105; ('14', None) for a provincial code."""
    if not region_code:
        return None, None
    return region_code[:2], (region_code[:4] if region_code[2:4] != "00" else None)


@sa.event.listens_for(Institution, "before_insert")
@sa.event.listens_for(Institution, "before_update")
def _keep_region_prefixes(mapper, connection, target):
    target.province_prefix, target.city_prefix = region_prefixes(target.region_code)


class InstitutionAuthority(db.Model):
    """审批机关设置: one approving authority per physician 类别 (I2)."""
    __tablename__ = "institution_authority"
    institution_id: Mapped[int] = mapped_column(sa.ForeignKey("institution.id"), primary_key=True)
    category: Mapped[PhysicianCategory] = mapped_column(enum_column(PhysicianCategory),
                                                        primary_key=True)
    authority_id: Mapped[int] = mapped_column(sa.ForeignKey("authority.id"), index=True)

    institution = relationship("Institution", back_populates="authorities")
    authority = relationship("Authority")


department_subject = sa.Table(
    "department_subject", db.metadata,
    sa.Column("department_id", sa.ForeignKey("department.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("subject_code", sa.ForeignKey("treatment_subject.code"), primary_key=True),
)


class Department(db.Model):  # 本院科室
    __tablename__ = "department"
    __table_args__ = (sa.UniqueConstraint("institution_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(sa.ForeignKey("institution.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(64))

    institution = relationship("Institution", back_populates="departments")
    subjects = relationship("TreatmentSubject", secondary=department_subject,
                            order_by="TreatmentSubject.code")

    def __str__(self):
        return self.name
