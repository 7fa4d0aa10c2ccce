"""services.workdays: the 20 working days of 医师法 第十三条 on the holiday calendar."""
import datetime as dt

from services import workdays


def test_weekends_are_skipped(app_ctx):
    # Friday 2025-03-07 + 1 working day = Monday 2025-03-10
    assert workdays.add_working_days(dt.date(2025, 3, 7), 1) == dt.date(2025, 3, 10)
    assert workdays.working_days_between(dt.date(2025, 3, 7), dt.date(2025, 3, 10)) == 1


def test_holidays_and_make_up_days(app_ctx):
    # 2025-01-26 (Sunday) is a 调休 working day; 2025-01-28..02-04 is the Spring Festival
    assert workdays.is_working_day(dt.date(2025, 1, 26))
    assert not workdays.is_working_day(dt.date(2025, 1, 28))
    # Friday 2025-01-24 → next working day is Sunday 2025-01-26 (调休)
    assert workdays.add_working_days(dt.date(2025, 1, 24), 1) == dt.date(2025, 1, 26)


def test_deadline_days_left_and_overdue(app_ctx):
    accepted = dt.date(2025, 3, 3)  # a Monday in a month without holidays
    assert workdays.deadline(accepted) == dt.date(2025, 3, 31)
    assert workdays.days_left(accepted, today=accepted) == 20
    assert workdays.days_left(accepted, today=dt.date(2025, 3, 31)) == 0
    assert not workdays.is_overdue(accepted, today=dt.date(2025, 3, 31))
    assert workdays.days_left(accepted, today=dt.date(2025, 4, 1)) == -1
    assert workdays.is_overdue(accepted, today=dt.date(2025, 4, 1))
