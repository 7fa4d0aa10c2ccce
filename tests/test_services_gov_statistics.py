"""C6 statistics come from tallies computed in one pass (`flask stats refresh`): each
jurisdiction counts exactly its own registrations and applications, at every level, and the
page says when they were counted."""
import datetime as dt

import pytest

from models import db
from models.application import Application
from models.enums import (ApplicationStatus, ApplicationType, AuthorityLevel, PhysicianLevel,
                          UserKind)
from services.gov_statistics import jurisdiction_statistics, refresh_tallies
from tests.helpers import text_of


@pytest.fixture()
def country(make):
    nation = make.authority(name="国家卫生健康委员会", level=AuthorityLevel.NATIONAL,
                            region_code="110000")
    shanxi = make.authority(name="山西省卫生健康委员会", region_code="140000", parent=nation)
    taiyuan = make.authority(name="太原市卫生健康委员会", level=AuthorityLevel.MUNICIPAL,
                             region_code="140100", parent=shanxi)
    xiaodian = make.authority(name="小店区卫生健康局", level=AuthorityLevel.COUNTY,
                              region_code="140105", parent=taiyuan)
    beijing = make.authority(name="北京市卫生健康委员会", region_code="110000", parent=nation)
    hospitals = {
        "xiaodian": make.institution(name="小店医院", region_code="140105", authority_obj=taiyuan),
        "yingze": make.institution(name="迎泽医院", region_code="140106", authority_obj=taiyuan),
        "datong": make.institution(name="大同医院", region_code="140213", authority_obj=shanxi),
        "chaoyang": make.institution(name="朝阳医院", region_code="110105", authority_obj=beijing),
    }
    counts = {"xiaodian": 3, "yingze": 2, "datong": 1, "chaoyang": 4}
    for key, n in counts.items():
        for i in range(n):
            level = PhysicianLevel.ASSISTANT if (key, i) == ("xiaodian", 0) else \
                PhysicianLevel.PHYSICIAN
            make.registered_physician(hospitals[key], level=level,
                                      scope_codes=("11",) if i % 2 else ("11", "12"))
    for auth, status in [(xiaodian, ApplicationStatus.PENDING_APPROVAL),
                         (taiyuan, ApplicationStatus.APPROVED),
                         (nation, ApplicationStatus.REJECTED),
                         (beijing, ApplicationStatus.APPROVED)]:
        person = make.person()
        db.session.add(Application(type=ApplicationType.CHANGE, status=status,
                                   subject_key=f"p:{person.id}", person_id=person.id,
                                   applicant_kind=UserKind.PHYSICIAN, authority_id=auth.id,
                                   accepted_on=dt.date(2026, 1, 5),
                                   decided_at=None if status == ApplicationStatus.PENDING_APPROVAL
                                   else dt.datetime(2026, 1, 9, 10)))
    db.session.commit()
    return {"nation": nation, "shanxi": shanxi, "taiyuan": taiyuan, "xiaodian": xiaodian,
            "beijing": beijing, "hospitals": hospitals}


def _total(stats):
    return sum(n for _, n in stats["by_category"])


def test_every_level_counts_its_own_jurisdiction(country):
    refresh_tallies()
    nation = jurisdiction_statistics(country["nation"])
    assert _total(nation) == 10
    assert dict(nation["by_region"]) == {"山西省": 6, "北京市": 4}
    shanxi = jurisdiction_statistics(country["shanxi"])
    assert _total(shanxi) == 6
    assert dict(shanxi["by_region"]) == {"太原市": 5, "大同市": 1}
    taiyuan = jurisdiction_statistics(country["taiyuan"])
    assert _total(taiyuan) == 5
    assert dict(taiyuan["by_region"]) == {"小店区": 3, "迎泽区": 2}
    assert dict(taiyuan["by_level"]) == {"执业医师": 4, "执业助理医师": 1}
    xiaodian = jurisdiction_statistics(country["xiaodian"])
    assert _total(xiaodian) == 3
    # 执业范围: every registration has 11, every other one 12 as well
    scopes = dict(taiyuan["by_scope"])
    assert sorted(scopes.values()) == [3, 5]
    # applications count for the approving authority and every level above it
    assert dict(nation["apps_by_status"]) == {"待审批": 1, "已批准": 2, "不予批准": 1}
    assert dict(shanxi["apps_by_status"]) == {"待审批": 1, "已批准": 1}
    assert dict(xiaodian["apps_by_status"]) == {"待审批": 1}
    assert dict(jurisdiction_statistics(country["beijing"])["apps_by_status"]) == {"已批准": 1}
    # the pending queue is live
    assert taiyuan["pending"] == 1 and xiaodian["pending"] == 1


def test_tallies_are_a_snapshot_until_refreshed(client, make, login_as, country):
    first = jurisdiction_statistics(country["taiyuan"])  # no tallies yet: counted now
    assert _total(first) == 5 and first["computed_at"] is not None
    make.registered_physician(country["hospitals"]["yingze"])
    assert _total(jurisdiction_statistics(country["taiyuan"])) == 5
    refresh_tallies()
    assert _total(jurisdiction_statistics(country["taiyuan"])) == 6
    login_as(make.reviewer(country["taiyuan"]))
    page = text_of(client.get("/gov/statistics/"))
    assert "统计时间" in page and "迎泽区" in page and "大同" not in page


def test_stats_refresh_command(app, country):
    result = app.test_cli_runner().invoke(args=["stats", "refresh"])
    assert result.exit_code == 0, result.output
    assert "统计完成" in result.output
    assert _total(jurisdiction_statistics(country["shanxi"])) == 6


def test_pending_overdue_and_approval_times_follow_the_working_day_calendar(make, country):
    """待审批, 已超过20个工作日 and 审批用时 count each application as the working-day
    functions do (weekends, the 2025 Spring Festival and its 调休 Sunday), started on its
    acceptance day or, not yet accepted, on the institution's confirmation."""
    from services import workdays
    inner_mongolia = make.authority(name="内蒙古自治区卫生健康委员会", region_code="150000",
                                    parent=country["nation"])
    today = dt.date(2025, 3, 3)
    starts = [dt.date(2025, 1, 2) + dt.timedelta(days=3 * i) for i in range(20)]
    expected_overdue = 0
    for i, start in enumerate(starts):
        person = make.person()
        accepted = start if i % 3 else None  # every third only confirmed by its institution
        db.session.add(Application(
            type=ApplicationType.CHANGE, status=ApplicationStatus.PENDING_APPROVAL,
            subject_key=f"p:{person.id}", person_id=person.id,
            applicant_kind=UserKind.PHYSICIAN, authority_id=inner_mongolia.id,
            accepted_on=accepted, confirmed_at=dt.datetime.combine(start, dt.time(16, 30))))
        expected_overdue += workdays.is_overdue(start, today)
    person = make.person()  # neither accepted nor confirmed: pending, never overdue
    db.session.add(Application(type=ApplicationType.CHANGE,
                               status=ApplicationStatus.PENDING_APPROVAL,
                               subject_key=f"p:{person.id}", person_id=person.id,
                               applicant_kind=UserKind.PHYSICIAN,
                               authority_id=inner_mongolia.id))
    expected_days = []
    for start, decided in [(dt.date(2025, 1, 20), dt.date(2025, 1, 27)),   # over 调休 Sunday
                           (dt.date(2025, 1, 24), dt.date(2025, 2, 14)),   # over 春节
                           (dt.date(2025, 3, 3), dt.date(2025, 3, 31)),
                           (dt.date(2025, 3, 3), dt.date(2025, 4, 7)),
                           (dt.date(2025, 3, 5), dt.date(2025, 3, 5))]:
        person = make.person()
        db.session.add(Application(
            type=ApplicationType.CHANGE, status=ApplicationStatus.APPROVED,
            subject_key=f"p:{person.id}", person_id=person.id,
            applicant_kind=UserKind.PHYSICIAN, authority_id=inner_mongolia.id,
            accepted_on=start, decided_at=dt.datetime.combine(decided, dt.time(9))))
        expected_days.append(workdays.working_days_between(start, decided))
    db.session.commit()
    stats = jurisdiction_statistics(inner_mongolia, today=today)
    assert stats["pending"] == 21
    assert 0 < expected_overdue < 20 and stats["overdue"] == expected_overdue
    buckets = dict(stats["approval_times"])
    assert buckets == {
        "5个工作日以内": sum(d <= 5 for d in expected_days),
        "6—10个工作日": sum(5 < d <= 10 for d in expected_days),
        "11—20个工作日": sum(10 < d <= 20 for d in expected_days),
        "超过20个工作日": sum(d > 20 for d in expected_days)}
    assert stats["avg_days"] == round(sum(expected_days) / len(expected_days), 1)
