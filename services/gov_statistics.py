"""C6 statistics of a commission's jurisdiction: registrations by 类别 / 级别 / 执业范围 /
region, applications by type and outcome, approval times against the 20-working-day limit
(counted on the working-day calendar of services.workdays)."""
import datetime as dt

import sqlalchemy as sa

from models import db
from models.application import Application
from models.enums import (ApplicationStatus, ApplicationType, PhysicianCategory, PhysicianLevel,
                          RegistrationStatus)
from models.institution import Authority, Institution
from models.reference import PracticeScope, Region
from models.registry import Registration, registration_scope

from .registry import in_prefix, prefix_of, registration_in_jurisdiction

TOP_N = 15


def _authorities_in(prefix: str):
    return sa.select(Authority.id).where(in_prefix(Authority.region_code, prefix))


def jurisdiction_statistics(authority: Authority, today: dt.date | None = None) -> dict:
    from . import workdays
    today = today or dt.date.today()
    prefix = prefix_of(authority)
    valid = sa.and_(Registration.status == RegistrationStatus.VALID,
                    registration_in_jurisdiction(prefix))
    by_cat = dict(db.session.execute(sa.select(Registration.category, sa.func.count())
                                     .where(valid).group_by(Registration.category)).all())
    by_level = dict(db.session.execute(sa.select(Registration.level, sa.func.count())
                                       .where(valid).group_by(Registration.level)).all())
    by_scope = db.session.execute(
        sa.select(PracticeScope.name, sa.func.count())
        .select_from(Registration)
        .join(registration_scope, registration_scope.c.registration_id == Registration.id)
        .join(PracticeScope, PracticeScope.code == registration_scope.c.scope_code)
        .where(valid).group_by(PracticeScope.name)
        .order_by(sa.func.count().desc()).limit(TOP_N)).all()
    # region = the 主要执业机构's region one level below the jurisdiction
    width = {0: 2, 2: 4, 4: 6}.get(len(prefix), 6)
    region_key = sa.func.substr(Institution.region_code, 1, width)
    by_region_raw = db.session.execute(
        sa.select(region_key, sa.func.count()).select_from(Registration)
        .join(Institution, Institution.id == Registration.institution_id)
        .where(valid).group_by(region_key).order_by(sa.func.count().desc()).limit(TOP_N)).all()
    names = {}
    if by_region_raw:
        codes = [k + "0" * (6 - len(k)) for k, _ in by_region_raw]
        names = dict(db.session.execute(sa.select(Region.code, Region.name)
                                        .where(Region.code.in_(codes))).all())
    by_region = [(names.get(k + "0" * (6 - len(k)), k), n) for k, n in by_region_raw]

    mine = Application.authority_id.in_(_authorities_in(prefix))
    apps_type = dict(db.session.execute(sa.select(Application.type, sa.func.count())
                                        .where(mine).group_by(Application.type)).all())
    apps_status = dict(db.session.execute(sa.select(Application.status, sa.func.count())
                                          .where(mine).group_by(Application.status)).all())
    decided = db.session.execute(
        sa.select(Application.accepted_on, Application.confirmed_at, Application.decided_at)
        .where(mine, Application.status.in_([ApplicationStatus.APPROVED,
                                             ApplicationStatus.REJECTED]),
               Application.decided_at.is_not(None))
        .order_by(Application.decided_at.desc()).limit(2000)).all()
    buckets = {"5个工作日以内": 0, "6—10个工作日": 0, "11—20个工作日": 0, "超过20个工作日": 0}
    total_days = 0
    for accepted, confirmed, decided_at in decided:
        start = accepted or (confirmed.date() if confirmed else decided_at.date())
        days = max(workdays.working_days_between(start, decided_at.date()), 0)
        total_days += days
        key = ("5个工作日以内" if days <= 5 else "6—10个工作日" if days <= 10
               else "11—20个工作日" if days <= workdays.STATUTORY_DAYS else "超过20个工作日")
        buckets[key] += 1
    pending = db.session.execute(
        sa.select(Application.accepted_on, Application.confirmed_at)
        .where(mine, Application.status == ApplicationStatus.PENDING_APPROVAL)).all()
    overdue = sum(1 for accepted, confirmed in pending
                  if (accepted or (confirmed.date() if confirmed else None))
                  and workdays.is_overdue(accepted or confirmed.date(), today))
    return {
        "by_category": [(c.label, by_cat.get(c, 0)) for c in PhysicianCategory],
        "by_level": [(lv.label, by_level.get(lv, 0)) for lv in PhysicianLevel],
        "by_scope": [(name, n) for name, n in by_scope],
        "by_region": by_region,
        "apps_by_type": [(t.label, apps_type[t]) for t in ApplicationType if apps_type.get(t)],
        "apps_by_status": [(s.label, apps_status[s]) for s in ApplicationStatus
                           if apps_status.get(s)],
        "approval_times": [(k, v) for k, v in buckets.items()] if decided else [],
        "avg_days": round(total_days / len(decided), 1) if decided else None,
        "pending": len(pending),
        "overdue": overdue,
        "calendar_note": "审批用时按工作日计算（周末及法定节假日除外，调休上班日计入），"
                         "自受理之日（无受理日期时为机构同意之日）起算；统计最近2000件已办结业务。",
    }
