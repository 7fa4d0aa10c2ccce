"""I15 统计信息 of one institution (services.statistics): counts of its valid registrations,
and who among its physicians holds a live account — here or at another institution."""
import datetime as dt

from models.enums import AccountState, Gender, PhysicianCategory, PhysicianLevel, RegistrationStatus
from services.statistics import institution_statistics


def _chart(stats, title):
    return dict(next(rows for t, rows in stats["charts"] if t == title))


def test_counts_and_account_states_of_the_institution(app_ctx, make):
    mine = make.institution(name="统计本院")
    elsewhere = make.institution(name="统计外院")
    # activated here
    p1, _ = make.registered_physician(mine)
    make.physician_account(p1, institution_obj=mine)
    # a physician of ours whose account was activated by the other institution (multi-site)
    p2, _ = make.registered_physician(mine)
    make.registration(p2, elsewhere, location_code="110105")
    make.physician_account(p2, institution_obj=elsewhere)
    # revoked account: counts as without one
    p3, _ = make.registered_physician(mine, level=PhysicianLevel.ASSISTANT)
    make.physician_account(p3, institution_obj=mine, state=AccountState.REVOKED)
    # no account at all
    make.registered_physician(mine, category=PhysicianCategory.TCM)
    # not ours any more (cancelled), and a physician of the other institution only
    p5, _ = make.registered_physician(mine, status=RegistrationStatus.CANCELLED)
    make.physician_account(p5, institution_obj=mine)
    make.registered_physician(elsewhere)

    stats = institution_statistics(mine.id, today=dt.date(2026, 11, 26))
    assert stats["total"] == 4
    accounts = _chart(stats, "按医师账户状态")
    assert accounts["尚未注册账户"] == 2  # p3 (revoked) and the TCM physician
    # the account-state bars count this institution's accounts by state
    assert accounts[AccountState.ACTIVATED.label] == 2  # p1 and p5 (cancelled here since)
    assert accounts[AccountState.REVOKED.label] == 1
    assert _chart(stats, "按医师级别")[PhysicianLevel.ASSISTANT.label] == 1
    assert _chart(stats, "按医师类别")[PhysicianCategory.TCM.label] == 1
    genders = _chart(stats, "按性别")
    assert sum(genders.values()) == 4 and set(genders) == {g.label for g in Gender}
    assert sum(_chart(stats, "按年龄段").values()) == 4
