"""Precomputed statistics (C6)."""
import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from . import db

__all__ = ["JurisdictionTally"]


class JurisdictionTally(db.Model):  # 统计汇总: C6 statistics of every jurisdiction, precomputed
    """Counts of valid registrations (by 类别 / 级别 / 执业范围 / 下级地区) and of business
    applications (by 类型 / 办理结果) for every jurisdiction prefix ('' = national, '14',
    '1401', '140105'), written by services.gov_statistics.refresh_tallies in one pass over the
    register, so a commission's statistics page reads ~80 rows instead of scanning millions."""
    __tablename__ = "jurisdiction_tally"
    __table_args__ = (sa.Index("ix_jurisdiction_tally_prefix_kind", "prefix", "kind"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    prefix: Mapped[str] = mapped_column(sa.String(6))
    kind: Mapped[str] = mapped_column(sa.String(16))  # category / level / scope / region / …
    key: Mapped[str] = mapped_column(sa.String(16))
    count: Mapped[int] = mapped_column()
    computed_at: Mapped[dt.datetime] = mapped_column()
