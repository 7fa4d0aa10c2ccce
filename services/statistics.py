"""I15 统计信息 of one institution: counts of its valid registrations by 类别, 级别, 执业范围,
科室, account state, age band and gender (one grouped query each)."""
import datetime as dt

import sqlalchemy as sa

from models import db
from models.account import PhysicianAccount
from models.enums import AccountState, Gender, PhysicianCategory, PhysicianLevel, RegistrationStatus
from models.institution import Department
from models.reference import PracticeScope
from models.registry import Person, Registration, registration_scope

AGE_BANDS = [(0, 29, "30岁以下"), (30, 39, "30–39岁"), (40, 49, "40–49岁"), (50, 59, "50–59岁"),
             (60, 200, "60岁及以上")]


def _base(inst_id):
    return (Registration.institution_id == inst_id, Registration.status == RegistrationStatus.VALID)


def institution_statistics(inst_id: int, today: dt.date | None = None) -> dict:
    today = today or dt.date.today()
    where = _base(inst_id)
    s = db.session
    by_cat = dict(s.execute(sa.select(Registration.category, sa.func.count())
                            .where(*where).group_by(Registration.category)).all())
    by_level = dict(s.execute(sa.select(Registration.level, sa.func.count())
                              .where(*where).group_by(Registration.level)).all())
    by_scope = s.execute(
        sa.select(PracticeScope.name, sa.func.count())
        .select_from(Registration).join(registration_scope,
                                        registration_scope.c.registration_id == Registration.id)
        .join(PracticeScope, PracticeScope.code == registration_scope.c.scope_code)
        .where(*where).group_by(PracticeScope.name).order_by(sa.func.count().desc())).all()
    by_dept = s.execute(
        sa.select(sa.func.coalesce(Department.name, "未设置科室"), sa.func.count())
        .select_from(Registration).outerjoin(Department, Department.id == Registration.department_id)
        .where(*where).group_by(Department.name).order_by(sa.func.count().desc())).all()
    by_gender = dict(s.execute(sa.select(Person.gender, sa.func.count())
                               .select_from(Registration).join(Person)
                               .where(*where).group_by(Person.gender)).all())
    births = s.scalars(sa.select(Person.birth_date).select_from(Registration).join(Person)
                       .where(*where)).all()
    bands = {label: 0 for _, _, label in AGE_BANDS}
    for b in births:
        age = today.year - b.year - ((today.month, today.day) < (b.month, b.day))
        for lo, hi, label in AGE_BANDS:
            if lo <= age <= hi:
                bands[label] += 1
                break
    acct = dict(s.execute(sa.select(PhysicianAccount.state, sa.func.count())
                          .where(PhysicianAccount.institution_id == inst_id)
                          .group_by(PhysicianAccount.state)).all())
    registered_persons = s.scalar(sa.select(sa.func.count(sa.distinct(Registration.person_id)))
                                  .where(*where)) or 0
    with_account = s.scalar(
        sa.select(sa.func.count(sa.distinct(Registration.person_id)))
        .where(*where, Registration.person_id.in_(
            sa.select(PhysicianAccount.person_id).where(
                PhysicianAccount.state != AccountState.REVOKED)))) or 0
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
