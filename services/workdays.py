"""Working-day calendar (医师法 第十三条: decide within 20 working days of acceptance).

Weekends are rest days unless a Holiday row marks them as working days (调休); weekdays are
working days unless a Holiday row marks them as official holidays."""
import bisect
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


class WorkingCalendar:
    """The calendar over [first, last] from one read of the holiday table, for counting many
    applications at once: the working days up to each day are counted once, so a span is a
    subtraction and the n-th working day a bisection. Outside [first, last] it reads the
    table as the functions above do."""

    def __init__(self, first: dt.date, last: dt.date):
        self.first, self.last = first, max(first, last)
        exc = _exceptions(self.first, self.last)
        self._upto = []  # working days in (first, first + i]
        n = 0
        for i in range((self.last - self.first).days + 1):
            day = self.first + dt.timedelta(days=i)
            if i and is_working_day(day, exc):
                n += 1
            self._upto.append(n)

    def _index(self, day: dt.date) -> int | None:
        i = (day - self.first).days
        return i if 0 <= i < len(self._upto) else None

    def between(self, start: dt.date, end: dt.date) -> int:
        """As working_days_between: working days in (start, end], negative when end < start."""
        i, j = self._index(start), self._index(end)
        if i is None or j is None:
            return working_days_between(start, end)
        return self._upto[j] - self._upto[i]

    def add(self, start: dt.date, n: int) -> dt.date:
        """As add_working_days: the n-th working day after start."""
        if n <= 0:
            return start
        i = self._index(start)
        if i is not None:
            j = bisect.bisect_left(self._upto, self._upto[i] + n, lo=i + 1)
            if j < len(self._upto):
                return self.first + dt.timedelta(days=j)
        return add_working_days(start, n)

    def last_overdue_start(self, today: dt.date) -> dt.date | None:
        """The latest day an application can have been accepted and be overdue today
        (is_overdue: more than STATUTORY_DAYS working days in (accepted, today]); every
        earlier day is overdue too. The calendar must begin more than STATUTORY_DAYS
        working days before today (None otherwise)."""
        j = self._index(today)
        if j is None:
            return None
        i = bisect.bisect_left(self._upto, self._upto[j] - STATUTORY_DAYS) - 1
        return self.first + dt.timedelta(days=i) if i >= 0 else None


def days_left_many(accepted: dict, today: dict | None = None) -> dict:
    """{key: accepted_on} → {key: working days left}, with one calendar read for all."""
    today = today or dt.date.today()
    if not accepted:
        return {}
    lo = min(min(accepted.values()), today)
    hi = max(max(accepted.values()), today) + dt.timedelta(days=STATUTORY_DAYS * 2 + 60)
    calendar = WorkingCalendar(lo, hi)
    return {k: calendar.between(today, calendar.add(v, STATUTORY_DAYS))
            for k, v in accepted.items()}
