"""I15 统计信息 of one institution: counts of its valid registrations by 类别, 级别, 执业范围,
科室, account state, age band and gender."""
import datetime as dt
import functools
from collections import Counter
from concurrent import futures
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa

from models import db
from models.account import PhysicianAccount
from models.enums import AccountState, Gender, PhysicianCategory, PhysicianLevel, RegistrationStatus
from models.institution import Department
from models.loading import written_in
from models.reference import practice_scope_names
from models.registry import Registration

AGE_BANDS = [(0, 29, "30岁以下"), (30, 39, "30–39岁"), (40, 49, "40–49岁"), (50, 59, "50–59岁"),
             (60, 200, "60岁及以上")]


@functools.cache
def _side_pool() -> ThreadPoolExecutor:
    """The threads that run a statistics page's second connection (made on first use)."""
    return ThreadPoolExecutor(max_workers=4, thread_name_prefix="statistics")


def _base(inst_id):
    # the institution written in (models.loading.written_in): planned for it, not for an
    # average institution of 5 physicians
    return (Registration.institution_id == written_in(inst_id),
            Registration.status == RegistrationStatus.VALID)


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _side_connection_results(engine, statements):
    """Runs statements one after another on a pooled connection of its own (for the thread
    beside the request's session); returns their rows."""
    with engine.connect() as conn:
        return [conn.execute(stmt).all() for stmt in statements]


def institution_statistics(inst_id: int, today: dt.date | None = None) -> dict:
    """Grouped in the database, never a row per physician in Python: one grouped query over
    (类别, 级别, 科室, 性别, 年龄段) — 性别 and 出生日期 as kept on the registration, the age band a
    CASE on birth-date cut-offs computed here, so it is portable — one for 执业范围 (over the
    codes kept on the registration: one index range, not a scope lookup per physician), one
    counting the physicians with an account and one for account states. The last two (an
    account lookup per physician without one at this institution) run at the same time on
    a connection of its own: a big hospital's page waits for the longer part, not for the
    sum."""
    today = today or dt.date.today()
    where = _base(inst_id)
    s = db.session
    # a person holds at most one valid registration per institution (one per 执业地点, and an
    # institution lies in one), so rows here are persons; and a person has at most one live
    # account: counting registrations whose person has one counts persons with an account
    live = PhysicianAccount.state != AccountState.REVOKED
    # most physicians' accounts belong to this institution: those are one hashed set built
    # from the institution index, and only the others are looked up one by one
    has_account = sa.or_(
        Registration.person_id.in_(sa.select(PhysicianAccount.person_id).where(
            PhysicianAccount.institution_id == inst_id, live)),
        sa.exists().where(PhysicianAccount.person_id == Registration.person_id, live))
    side = _side_pool().submit(
        _side_connection_results, s.get_bind(),
        [sa.select(sa.func.count()).select_from(Registration).where(*where, has_account),
         sa.select(PhysicianAccount.state, sa.func.count())
         .where(PhysicianAccount.institution_id == inst_id).group_by(PhysicianAccount.state)])
    # born after the cut-off of band i's lower age -> younger than that age
    band = sa.case(*[(Registration.person_birth_date > _years_before(today, lo), i - 1)
                     for i, (lo, _hi, _label) in enumerate(AGE_BANDS) if i > 0],
                   else_=len(AGE_BANDS) - 1)
    try:
        grouped = s.execute(
            sa.select(Registration.category, Registration.level, Registration.department_id,
                      Registration.person_gender, band, sa.func.count())
            .where(*where).group_by(Registration.category, Registration.level,
                                    Registration.department_id, Registration.person_gender,
                                    band)).all()
        dept_names = dict(s.execute(sa.select(Department.id, Department.name)
                                    .where(Department.institution_id == inst_id)).all())
        by_codes = s.execute(sa.select(Registration.scope_codes, sa.func.count())
                             .where(*where, Registration.scope_codes.is_not(None))
                             .group_by(Registration.scope_codes)).all()
        scope_names = practice_scope_names(s)
    finally:
        # the side connection is back in the pool before we go on
        futures.wait([side])
    ((with_account,),), acct_rows = side.result()
    scope_counts = Counter()
    for codes, n in by_codes:
        for code in codes.split(","):
            scope_counts[scope_names.get(code, code)] += n
    by_scope = sorted(scope_counts.items(), key=lambda kv: (-kv[1], kv[0]))
    by_cat, by_level, by_gender, dept_counts = Counter(), Counter(), Counter(), Counter()
    bands = {label: 0 for _, _, label in AGE_BANDS}
    registered_persons = 0
    for category, level, dept_id, gender, band_index, n in grouped:
        by_cat[category] += n
        by_level[level] += n
        by_gender[gender] += n
        dept_counts[dept_names.get(dept_id, "未设置科室")] += n
        bands[AGE_BANDS[band_index][2]] += n
        registered_persons += n
    by_dept = sorted(dept_counts.items(), key=lambda kv: (-kv[1], kv[0]))
    acct = dict(acct_rows)
    accounts = [(st.label, acct.get(st, 0)) for st in AccountState]
    accounts.append(("尚未注册账户", max(registered_persons - with_account, 0)))
    return {
        "total": registered_persons,
        "charts": [
            ("按医师类别", [(c.label, by_cat.get(c, 0)) for c in PhysicianCategory]),
            ("按医师级别", [(lv.label, by_level.get(lv, 0)) for lv in PhysicianLevel]),
            ("按执业范围", [(n, c) for n, c in by_scope]),
            ("按所在科室", [(n, c) for n, c in by_dept]),
            ("按医师账户状态", accounts),
            ("按年龄段", list(bands.items())),
            ("按性别", [(g.label, by_gender.get(g, 0)) for g in Gender]),
        ],
    }


__all__ = ["institution_statistics", "AGE_BANDS"]
