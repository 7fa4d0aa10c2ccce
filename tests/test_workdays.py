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


def test_calendar_agrees_with_the_day_by_day_functions(app_ctx):
    """WorkingCalendar (one read for many applications) gives the same spans, deadlines and
    overdue cut-off as the functions that read the calendar per call, across the 2025 Spring
    Festival (holidays and a 调休 Sunday) and ordinary weekends."""
    first, last = dt.date(2024, 12, 1), dt.date(2025, 4, 30)
    calendar = workdays.WorkingCalendar(first, last)
    days = [first + dt.timedelta(days=i) for i in range(0, (last - first).days + 1, 3)]
    for start in days[:30]:
        for n in (0, 1, 5, 20):
            assert calendar.add(start, n) == workdays.add_working_days(start, n), (start, n)
        for end in days[::4]:
            assert calendar.between(start, end) == workdays.working_days_between(start, end), \
                (start, end)
    # outside its range it reads the table as the functions do
    assert calendar.add(last, 20) == workdays.add_working_days(last, 20)
    assert calendar.between(dt.date(2024, 6, 3), dt.date(2025, 1, 27)) == \
        workdays.working_days_between(dt.date(2024, 6, 3), dt.date(2025, 1, 27))
    for today in (dt.date(2025, 2, 10), dt.date(2025, 3, 3), dt.date(2025, 4, 1)):
        cutoff = calendar.last_overdue_start(today)
        assert workdays.is_overdue(cutoff, today)
        assert not workdays.is_overdue(cutoff + dt.timedelta(days=1), today)
