"""Working-day calendar (医师法 第十三条: decide within 20 working days of acceptance).

Weekends are rest days unless a Holiday row marks them as working days (调休); weekdays are
working days unless a Holiday row marks them as official holidays."""
import datetime as dt

import sqlalchemy as sa

from models import db
from models.reference import Holiday

STATUTORY_DAYS = 20


def _exceptions(start: dt.date, end: dt.date) -> dict[dt.date, bool]:
    rows = db.session.execute(sa.select(Holiday.day, Holiday.is_workday)
                              .where(Holiday.day >= start, Holiday.day <= end)).all()
    return {d: w for d, w in rows}


def is_working_day(day: dt.date, exceptions: dict | None = None) -> bool:
    exceptions = _exceptions(day, day) if exceptions is None else exceptions
    if day in exceptions:
        return bool(exceptions[day])
    return day.weekday() < 5


def add_working_days(start: dt.date, n: int) -> dt.date:
    """The n-th working day after `start` (start itself not counted)."""
    exc = _exceptions(start, start + dt.timedelta(days=n * 2 + 60))
    day, left = start, n
    while left > 0:
        day += dt.timedelta(days=1)
        if is_working_day(day, exc):
            left -= 1
    return day


def working_days_between(start: dt.date, end: dt.date) -> int:
    """Working days in (start, end]; negative when end is before start."""
    if end == start:
        return 0
    sign = 1
    if end < start:
        start, end, sign = end, start, -1
    exc = _exceptions(start, end)
    count, day = 0, start
    while day < end:
        day += dt.timedelta(days=1)
        if is_working_day(day, exc):
            count += 1
    return sign * count


def deadline(accepted_on: dt.date) -> dt.date:
    return add_working_days(accepted_on, STATUTORY_DAYS)


def days_left(accepted_on: dt.date, today: dt.date | None = None) -> int:
    """Working days left until the deadline (0 on the deadline; negative when overdue)."""
    today = today or dt.date.today()
    return working_days_between(today, deadline(accepted_on))


def is_overdue(accepted_on: dt.date, today: dt.date | None = None) -> bool:
    return days_left(accepted_on, today) < 0


def days_left_many(accepted: dict, today: dict | None = None) -> dict:
    """{key: accepted_on} → {key: working days left}, with one calendar read for all."""
    today = today or dt.date.today()
    if not accepted:
        return {}
    lo = min(min(accepted.values()), today)
    hi = max(max(accepted.values()), today) + dt.timedelta(days=STATUTORY_DAYS * 2 + 60)
    exc = _exceptions(lo, hi)

    def add(start, n):
        day = start
        while n > 0:
            day += dt.timedelta(days=1)
            if is_working_day(day, exc):
                n -= 1
        return day

    def between(a, b):
        sign = 1
        if b < a:
            a, b, sign = b, a, -1
        count, day = 0, a
        while day < b:
            day += dt.timedelta(days=1)
            if is_working_day(day, exc):
                count += 1
        return sign * count

    return {k: between(today, add(v, STATUTORY_DAYS)) for k, v in accepted.items()}
