"""C6 statistics of a commission's jurisdiction: registrations by 类别 / 级别 / 执业范围 /
region and applications by type and outcome (from the precomputed tallies: a national count
over millions of rows is a batch job, not a page view), approval times against the
20-working-day limit (counted on the working-day calendar of services.workdays) and the
pending queue (live, on indexes)."""
import datetime as dt

import sqlalchemy as sa

from models import db
from models.application import Application
from models.enums import (ApplicationStatus, ApplicationType, AuthorityLevel, PhysicianCategory,
                          PhysicianLevel, RegistrationStatus)
from models.institution import Authority, utcnow
from models.reference import Region, practice_scope_names, region_prefix
from models.registry import Registration, registration_scope

from .registry import in_prefix, prefix_of

TOP_N = 15


def _authorities_in(prefix: str):
    return sa.select(Authority.id).where(in_prefix(Authority.region_code, prefix))


def _prefixes(province, city, county):
    """The jurisdictions a row counts in: national, its province, city and county."""
    out = [""]
    for code in (province, city, county):
        if code:
            out.append(code)
    return out


def _region_key(prefix: str, province, city, county):
    """The region one level below the jurisdiction (the county itself at county level)."""
    if not prefix:
        return province
    if len(prefix) == 2:
        return city or county or province
    return county or city


def refresh_tallies(now: dt.datetime | None = None) -> int:
    """Recount every jurisdiction's statistics in one pass over the register: two grouped
    queries over the valid registrations (by county × 类别 × 级别, by county × 执业范围) and
    one over the applications (by authority × 类型 × 结果), rolled up in Python to the
    county, city, province and national prefixes. Replaces the previous tallies in one
    transaction. Run by `flask stats refresh` (cron); a page without tallies runs it once."""
    from collections import Counter

    from models.statistics import JurisdictionTally
    now = now or utcnow()
    if db.session.get_bind().dialect.name == "postgresql":
        # a batch pass over the whole register: the web sessions' serial setting does not fit
        db.session.execute(sa.text("SET LOCAL max_parallel_workers_per_gather = 2"))
    valid = Registration.status == RegistrationStatus.VALID
    codes = (Registration.province_code, Registration.city_code, Registration.county_code)
    tally: Counter = Counter()
    for province, city, county, category, level, n in db.session.execute(
            sa.select(*codes, Registration.category, Registration.level, sa.func.count())
            .where(valid).group_by(*codes, Registration.category, Registration.level)):
        for prefix in _prefixes(province, city, county):
            tally[(prefix, "category", category.value)] += n
            tally[(prefix, "level", level.value)] += n
            region = _region_key(prefix, province, city, county)
            if region:
                tally[(prefix, "region", region)] += n
    for province, city, county, scope, n in db.session.execute(
            sa.select(*codes, registration_scope.c.scope_code, sa.func.count())
            .select_from(Registration)
            .join(registration_scope, registration_scope.c.registration_id == Registration.id)
            .where(valid).group_by(*codes, registration_scope.c.scope_code)):
        for prefix in _prefixes(province, city, county):
            tally[(prefix, "scope", scope)] += n
    for level, region_code, app_type, status, n in db.session.execute(
            sa.select(Authority.level, Authority.region_code, Application.type,
                      Application.status, sa.func.count())
            .join(Authority, Authority.id == Application.authority_id)
            .group_by(Authority.level, Authority.region_code, Application.type,
                      Application.status)):
        # an application counts for its approving authority and every level above it
        prefix = "" if level == AuthorityLevel.NATIONAL else region_prefix(region_code)
        for p in {prefix[:k] for k in (0, 2, 4, 6) if k <= len(prefix)}:
            tally[(p, "app_type", app_type.value)] += n
            tally[(p, "app_status", status.value)] += n
    table = JurisdictionTally.__table__
    db.session.execute(sa.delete(table))
    rows = [{"prefix": p, "kind": k, "key": key, "count": n, "computed_at": now}
            for (p, k, key), n in tally.items()]
    for i in range(0, len(rows), 5000):
        db.session.execute(sa.insert(table), rows[i:i + 5000])
    db.session.commit()
    return len(rows)


def _tallies(prefix: str) -> tuple[dict, dt.datetime | None]:
    from models.statistics import JurisdictionTally
    query = sa.select(JurisdictionTally.kind, JurisdictionTally.key, JurisdictionTally.count,
                      JurisdictionTally.computed_at).where(JurisdictionTally.prefix == prefix)
    found = db.session.execute(query).all()
    if not found and db.session.scalar(sa.select(JurisdictionTally.id).limit(1)) is None:
        refresh_tallies()  # first use: count now
        found = db.session.execute(query).all()
    out: dict = {}
    computed = None
    for kind, key, n, at in found:
        out.setdefault(kind, {})[key] = n
        computed = at
    return out, computed


def jurisdiction_statistics(authority: Authority, today: dt.date | None = None) -> dict:
    from . import workdays
    today = today or dt.date.today()
    prefix = prefix_of(authority)
    tallies, computed_at = _tallies(prefix)
    by_cat = tallies.get("category", {})
    by_level = tallies.get("level", {})
    scope_names = practice_scope_names(db.session)
    by_scope = sorted(((scope_names.get(code, code), n)
                       for code, n in tallies.get("scope", {}).items()),
                      key=lambda kv: (-kv[1], kv[0]))[:TOP_N]
    regions = sorted(tallies.get("region", {}).items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_N]
    names = {}
    if regions:
        padded = [k + "0" * (6 - len(k)) for k, _ in regions]
        names = dict(db.session.execute(sa.select(Region.code, Region.name)
                                        .where(Region.code.in_(padded))).all())
    by_region = [(names.get(k + "0" * (6 - len(k)), k), n) for k, n in regions]
    apps_type = tallies.get("app_type", {})
    apps_status = tallies.get("app_status", {})

    mine = Application.authority_id.in_(_authorities_in(prefix))
    decided = db.session.execute(
        sa.select(Application.accepted_on, Application.confirmed_at, Application.decided_at)
        .where(mine, Application.status.in_([ApplicationStatus.APPROVED,
                                             ApplicationStatus.REJECTED]),
               Application.decided_at.is_not(None))
        .order_by(Application.id.desc()).limit(2000)).all()
    buckets = {"5个工作日以内": 0, "6—10个工作日": 0, "11—20个工作日": 0, "超过20个工作日": 0}
    spans = [(accepted or (confirmed.date() if confirmed else decided_at.date()),
              decided_at.date()) for accepted, confirmed, decided_at in decided]
    # one read of the holiday table for every application counted here (a read per
    # application was 2,000 statements for a busy commission), reaching back far enough
    # for the overdue cut-off below
    calendar = workdays.WorkingCalendar(
        min([today - dt.timedelta(days=workdays.STATUTORY_DAYS * 2 + 60)]
            + [start for start, _ in spans]),
        max([today] + [end for _, end in spans]))
    total_days = 0
    for start, end in spans:
        days = max(calendar.between(start, end), 0)
        total_days += days
        key = ("5个工作日以内" if days <= 5 else "6—10个工作日" if days <= 10
               else "11—20个工作日" if days <= workdays.STATUTORY_DAYS else "超过20个工作日")
        buckets[key] += 1
    # pending and overdue (workdays.is_overdue) counted in the database: accepted (or, before
    # acceptance, confirmed by the institution) on or before the last overdue day
    cutoff = calendar.last_overdue_start(today)
    started_by_cutoff = sa.or_(
        Application.accepted_on <= cutoff,
        sa.and_(Application.accepted_on.is_(None),
                Application.confirmed_at < dt.datetime.combine(cutoff + dt.timedelta(days=1),
                                                               dt.time())))
    pending, overdue = db.session.execute(
        sa.select(sa.func.count(), sa.func.count().filter(started_by_cutoff))
        .where(mine, Application.status == ApplicationStatus.PENDING_APPROVAL)).one()
    return {
        "by_category": [(c.label, by_cat.get(c.value, 0)) for c in PhysicianCategory],
        "by_level": [(lv.label, by_level.get(lv.value, 0)) for lv in PhysicianLevel],
        "by_scope": [(name, n) for name, n in by_scope],
        "by_region": by_region,
        "apps_by_type": [(t.label, apps_type[t.value]) for t in ApplicationType
                         if apps_type.get(t.value)],
        "apps_by_status": [(s.label, apps_status[s.value]) for s in ApplicationStatus
                           if apps_status.get(s.value)],
        "approval_times": [(k, v) for k, v in buckets.items()] if decided else [],
        "avg_days": round(total_days / len(decided), 1) if decided else None,
        "pending": pending,
        "overdue": overdue,
        "computed_at": computed_at,
        "calendar_note": "审批用时按工作日计算（周末及法定节假日除外，调休上班日计入），"
                         "自受理之日（无受理日期时为机构同意之日）起算；统计最近2000件已办结业务。",
    }
