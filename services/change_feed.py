"""Daily change feed for an institution (医师变动信息): which of its physicians changed
registration status, 执业地点 / 主要执业机构, or got a 定期考核 result, in a date window.

Sources, all on indexed columns:
- registrations at this institution, or of persons who hold a valid registration here, with
  `approved_on` (a new registration — created that day — or one changed in place, B5 inside
  the province) or `status_changed_on` (注销 / 注册备案 / 变更出 / 失效) in the window. Not
  `created_at` alone: a registration is only ever created by its approval, so a row created
  on another day than its 批准日期 was loaded (the register migrated in), not changed;
- registration moves (registration_move) away from this institution in the window (a
  physician whose registration moved to another institution in place — the registration no
  longer points here);
- assessments with `assessed_on` in the window of the persons above.
"""
import datetime as dt
import functools
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field

import sqlalchemy as sa
import sqlalchemy.orm  # noqa: F401  (sa.orm.aliased)
from sqlalchemy.dialects.postgresql import aggregate_order_by

from .batching import id_in_parameter, id_list_value

from models import db
from models.enums import RegistrationStatus
from models.institution import Institution
from models.loading import kept_reading
from models.reference import PracticeScope, Region
from models.registry import (Assessment, Person, Registration, RegistrationMove,
                             registration_scope)

MAX_ITEMS = 5000

KIND_NEW = "新增执业注册"
KIND_CHANGED = "执业注册变更"
KIND_STATUS = "注册状态变更"
KIND_LEFT = "调离本院"
KIND_ASSESSMENT = "定期考核"


@dataclass
class ChangeItem:
    day: dt.date
    person_id: int
    name: str
    id_number_masked: str
    kind: str
    detail: str = ""
    # a registration's item: its 执业地点, 主要执业机构 and 执业范围 are read by with_details()
    # for the items shown only (a busy window is hundreds of items, a page fifty), and
    # `describe` then writes the detail from them
    registration_id: int | None = field(default=None, compare=False)
    describe: Callable | None = field(default=None, compare=False, repr=False)


def _param(name: str, kind):
    """A request's value (window bound, institution id) written into the SQL at execution
    rather than sent as a parameter. PostgreSQL keeps one plan for a prepared statement and,
    not knowing the window, assumed it wide (the day's audit rows were once read from the
    time index, all 30,000 of a busy day, 11.6 ms, instead of 0.7 ms). The values are dates
    parsed from the form and the signed-in user's institution id, rendered by SQLAlchemy's
    Date and Integer literal processors. Named, so that the statements are built once
    (_statements) and only executed per request."""
    return sa.bindparam(name, type_=kind, literal_execute=True)


def _in(column):
    return sa.and_(column >= _param("start", sa.Date), column <= _param("end", sa.Date))


# more registrations (or assessments) changed nationally in a window than this is a bulk
# day: the institution's own rows are then read first
BUSY_WINDOW_ROWS = 20_000


@dataclass(frozen=True)
class WindowLoad:
    """Whether the window is a bulk day for registrations and for 定期考核 results."""
    registrations: bool
    assessments: bool


@functools.lru_cache(maxsize=None)
def _busy_window_statement(limit: int):
    def capped(column):
        rows = sa.select(column).where(_in(column)).limit(limit).subquery()
        return sa.select(sa.func.count()).select_from(rows).scalar_subquery()
    return sa.select(capped(Registration.approved_on) + capped(Registration.status_changed_on),
                     capped(Assessment.assessed_on))


# the counts of a window per database, with the time counted, by (start, end, bound)
_window_counts: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
WINDOW_COUNTS_MAX_AGE = 60.0  # seconds


def _busy_window(start: dt.date, end: dt.date) -> WindowLoad:
    """Whether the window holds a bulk day (a mass 注销, a province's 定期考核 results entered
    on one date): each date index range is counted only up to the bound (short index scans in
    one statement), never in full. The database's own estimate is not enough: SQLite keeps
    no statistics of a date's rows.

    The answer is the same for every institution and only chooses how the changes are read
    (both readings find the same items), so it is kept for a minute per window: one round
    trip less for each institution opening its feed, and a bulk day starting now is read the
    date-first way for at most that minute."""
    limit = BUSY_WINDOW_ROWS
    registrations, assessments = kept_reading(
        _window_counts, db.session, (start, end, limit), WINDOW_COUNTS_MAX_AGE,
        lambda: tuple(db.session.execute(_busy_window_statement(limit),
                                         {"start": start, "end": end}).one()))
    return WindowLoad(registrations >= limit, assessments >= limit)


def _candidates():
    """The registrations at this institution and the other registrations of persons who hold
    a valid one here: a few thousand ids for the biggest hospital, on the institution and
    person indexes."""
    mine = sa.orm.aliased(Registration)
    institution_id = _param("institution_id", sa.Integer)
    return sa.union(
        sa.select(Registration.id).where(Registration.institution_id == institution_id),
        sa.select(Registration.id).join(mine, mine.person_id == Registration.person_id)
        .where(mine.institution_id == institution_id,
               mine.status == RegistrationStatus.VALID))


def _scope_names(dialect: str):
    """执业范围 of the registration, joined in code order (as Registration.scope_names), as a
    correlated subquery: its scope codes from the primary key's index, each name by code.
    PostgreSQL orders inside string_agg; SQLite (no ORDER BY in an aggregate before 3.44)
    concatenates an ordered subquery."""
    scope = registration_scope.c
    name = (sa.select(PracticeScope.name).where(PracticeScope.code == scope.scope_code)
            .scalar_subquery())
    separator = sa.literal_column("'，'")
    if dialect == "postgresql":
        return (sa.select(sa.func.string_agg(name, aggregate_order_by(separator,
                                                                      scope.scope_code)))
                .where(scope.registration_id == Registration.id).scalar_subquery())
    ordered = (sa.select(name.label("name")).where(scope.registration_id == Registration.id)
               .order_by(scope.scope_code).correlate(Registration).subquery())
    return sa.select(sa.func.group_concat(ordered.c.name, separator)).scalar_subquery()


def _location_name():
    """As str(Region): the full name, or the name where there is none — one index probe per
    row (a join was planned as a hash of every region when the row count was guessed)."""
    return (sa.select(sa.func.coalesce(sa.func.nullif(Region.full_name, sa.literal_column("''")),
                                       Region.name))
            .where(Region.code == Registration.location_code).scalar_subquery())


def _registration_rows(where, dialect: str, via=None, extra: tuple = ()):
    """The registrations matching `where` (and joined to `via`, a list of their ids, when
    given) with what decides an item and its order (姓名, masked 身份证号, dates, status) as
    plain rows, in one statement: a busy hospital's day is hundreds of them, and entities
    with their loaded relations cost ten times more to build than the page. The names an
    item's detail shows come later, for the items shown (_details_statement).

    list_changes() unpacks the rows in this order: a Row's attribute access costs about a
    microsecond, and a busy day's 343 rows cost 3.6 ms by name against 0.65 ms unpacked."""
    query = sa.select(
        Registration.id, Registration.person_id, Person.name,
        Person.id_number_masked, Registration.category, Registration.level,
        Registration.status, Registration.approved_on, Registration.status_changed_on,
        Registration.created_at, *extra)
    if via is not None:
        query = query.select_from(via).join(Registration, Registration.id == via.c.id)
    return (query.join(Person, Person.id == Registration.person_id)
            .where(where).order_by(Registration.id).limit(MAX_ITEMS))


@functools.lru_cache(maxsize=None)
def _details_statement(dialect: str):
    """主要执业机构, 执业地点 and 执业范围 of the listed registrations (the `ids` parameter)."""
    return (sa.select(Registration.id, Institution.name.label("institution_name"),
                      _location_name().label("location_name"),
                      _scope_names(dialect).label("scope_names"))
            .join(Institution, Institution.id == Registration.institution_id)
            .where(id_in_parameter(Registration.id, "ids", dialect)))


def _here_now():
    """The persons who hold a valid registration at this institution."""
    return (sa.select(Registration.person_id)
            .where(Registration.institution_id == _param("institution_id", sa.Integer),
                   Registration.status == RegistrationStatus.VALID))


@functools.lru_cache(maxsize=None)
def _statements(dialect: str, load: WindowLoad):
    """The feed's statements, built once per database kind and window load (building them
    cost a fifth of the page's time): the window and the institution are given at execution
    (_param). Returns (registrations changed in the window, moves away from here,
    assessments)."""
    changed = sa.or_(_in(Registration.approved_on), _in(Registration.status_changed_on))
    institution_id = _param("institution_id", sa.Integer)
    via = None
    if not load.registrations:
        # an ordinary window: the day's changes nationally (a few thousand entries of the
        # date indexes, which carry institution and person) are tested against the
        # institution without reading their rows; only the ones that concern it are fetched.
        # here_now is a subquery, not a CTE: an arm hashes the institution's physicians
        # straight from the index, and only when a row is not the institution's own (a CTE's
        # scan cost twice the index's). On SQLite this replaced reading the big hospital's
        # 4,500 registrations row by row to test their dates: 10 ms → 1 ms
        institution, person = Registration.institution_id, Registration.person_id
        if dialect == "sqlite":  # `+ 0`: the date index, not one probe per physician
            institution, person = institution + 0, person + 0
        ours = sa.or_(institution == institution_id, person.in_(_here_now()))
        # the ids materialised first and joined (given them as a plain subquery, PostgreSQL
        # may plan from the registrations' side)
        via = sa.union(
            sa.select(Registration.id).where(_in(Registration.approved_on), ours),
            sa.select(Registration.id).where(_in(Registration.status_changed_on), ours),
        ).cte("changed").prefix_with("MATERIALIZED")
        where = sa.true()
    elif dialect != "postgresql":
        # a bulk day on SQLite: the institution's registrations and those of its physicians
        # are read first and the dates tested on them
        where = sa.and_(Registration.id.in_(sa.select(_candidates().subquery())), changed)
    else:
        # a bulk day: read from the institution as SQLite does, the ids bound as one list —
        # given the subquery, PostgreSQL walks the whole register in id order for the LIMIT
        # (measured: 1.3 s on a day of 4.8 M changes)
        where = sa.and_(id_in_parameter(Registration.id, "candidate_ids", dialect), changed)
    registrations = _registration_rows(where, dialect, via)

    # physicians whose registration moved to another institution in place (B5): the
    # window's moves away from here, one range of (from_institution_id, moved_on), and their
    # registrations as they are now (still elsewhere), in one statement
    move = RegistrationMove
    moves = (sa.select(move.id.label("move_id"), move.moved_on,
                       move.registration_id.label("id"))
             .where(move.from_institution_id == institution_id, _in(move.moved_on))
             .order_by(move.id).limit(MAX_ITEMS).cte("moves").prefix_with("MATERIALIZED"))
    moved = _registration_rows(Registration.institution_id != institution_id, dialect,
                               via=moves, extra=(moves.c.moved_on, moves.c.move_id))

    person = Assessment.person_id
    if dialect == "sqlite" and not load.assessments:
        # an ordinary day: its few hundred results from the date index, each tested against
        # the persons (`+ 0` keeps SQLite, which has no statistics of the date, from probing
        # the person index once per physician of the institution instead: 4 → 0.1–0.3 ms)
        person = person + 0
    assessments = (
        sa.select(Assessment, Person.name, Person.id_number_masked)
        .join(Person, Person.id == Assessment.person_id)
        .where(_in(Assessment.assessed_on),
               sa.or_(person.in_(_here_now()),
                      id_in_parameter(person, "person_ids", dialect)))
        .order_by(Assessment.id).limit(MAX_ITEMS))
    return registrations, moved, assessments


def changes_for_institution(institution_id: int, start: dt.date,
                            end: dt.date | None = None) -> list[ChangeItem]:
    """Every change of the window, with its detail (the csv)."""
    return with_details(list_changes(institution_id, start, end))


@dataclass(frozen=True)
class _Place:
    institution_name: str = ""
    location_name: str = ""
    scope_names: str | None = None

    @property
    def where(self) -> str:
        return f"执业地点：{self.location_name}，主要执业机构：{self.institution_name}"


def with_details(items: list[ChangeItem]) -> list[ChangeItem]:
    """Write the detail of these items (a page of list_changes(), or all of it): the names
    their registrations show, in one statement."""
    pending = [i for i in items if i.describe is not None]
    if pending:
        dialect = db.session.get_bind().dialect.name
        places = {r.id: _Place(r.institution_name, r.location_name or "", r.scope_names)
                  for r in db.session.execute(_details_statement(dialect), {
                      "ids": id_list_value({i.registration_id for i in pending}, dialect)})}
        for i in pending:
            i.detail = i.describe(places.get(i.registration_id, _Place()))
            i.describe = None
    return items


def list_changes(institution_id: int, start: dt.date,
                 end: dt.date | None = None) -> list[ChangeItem]:
    """The window's changes in their order (day, 姓名), at most MAX_ITEMS; a registration's
    item gets its detail from with_details()."""
    end = end or start
    dialect = db.session.get_bind().dialect.name
    load = _busy_window(start, end)
    registrations, moved, assessments = _statements(dialect, load)
    values = {"start": start, "end": end, "institution_id": institution_id}
    if load.registrations and dialect == "postgresql":
        values["candidate_ids"] = id_list_value(
            db.session.scalars(_candidates(), values).all(), dialect)
    regs = db.session.execute(registrations, values).all()

    items: list[ChangeItem] = []
    person_ids: set[int] = set()
    item = ChangeItem
    # the rows unpacked in _registration_rows' order (see there)
    for (reg_id, person_id, name, masked, category, level, status, approved_on,
         status_changed_on, created_at) in regs:
        listed = len(items)
        approved_here = start <= approved_on <= end
        # created by that approval (created_at is UTC: up to a day before the local date)
        if approved_here and created_at and abs((created_at.date() - approved_on).days) <= 1:
            grade = f"{category.label}{level.label}"
            items.append(item(approved_on, person_id, name, masked, KIND_NEW,
                              registration_id=reg_id,
                              describe=lambda p, grade=grade: f"{grade}，{p.where}"))
        elif approved_here:
            items.append(item(approved_on, person_id, name, masked, KIND_CHANGED,
                              registration_id=reg_id,
                              describe=lambda p: f"执业范围：{p.scope_names or ''}，{p.where}"))
        if (status_changed_on and start <= status_changed_on <= end
                and status != RegistrationStatus.VALID):
            label = status.label
            items.append(item(status_changed_on, person_id, name, masked, KIND_STATUS,
                              registration_id=reg_id, describe=lambda p, label=label:
                              f"注册状态变为「{label}」，{p.where}"))
        if len(items) > listed:  # their 定期考核 results are read below
            person_ids.add(person_id)

    last_move = {}  # moved more than once in the window: the last move
    for row in db.session.execute(moved, values):
        reg_id, person_id, name, masked, *_, moved_on, move_id = row
        if reg_id not in last_move or move_id > last_move[reg_id][0]:
            last_move[reg_id] = (move_id, moved_on, person_id, name, masked)
    for reg_id, (_, moved_on, person_id, name, masked) in last_move.items():
        person_ids.add(person_id)
        items.append(item(moved_on, person_id, name, masked, KIND_LEFT, registration_id=reg_id,
                          describe=lambda p: f"主要执业机构变更为{p.institution_name}，"
                                             f"执业地点：{p.location_name}"))

    for a in db.session.execute(assessments,
                                {**values, "person_ids": id_list_value(person_ids, dialect)}):
        assessment = a.Assessment
        items.append(ChangeItem(
            assessment.assessed_on, assessment.person_id, a.name, a.id_number_masked,
            KIND_ASSESSMENT,
            f"{assessment.period_label} 考核结果：{assessment.result.label}"
            f"（考核机构：{assessment.assessing_body}）"))

    items.sort(key=lambda i: (i.day, i.name, i.person_id, i.kind))
    return items[:MAX_ITEMS]


CSV_HEADER = ["变动日期", "姓名", "身份证号", "变动类型", "变动内容"]


def csv_rows(items: list[ChangeItem]):
    yield CSV_HEADER
    for i in items:
        yield [i.day.isoformat(), i.name, i.id_number_masked, i.kind, i.detail]


def institution_name(institution_id: int) -> str:
    inst = db.session.get(Institution, institution_id)
    return inst.name if inst else ""
