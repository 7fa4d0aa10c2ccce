"""The business lists (业务审批 / 业务办理) tell the true total, show 50 rows newest first and
page to older rows by key; the approval queue shows its first 200 in working order and says
so when there are more."""
import datetime as dt
import html
import re

import pytest

from models import db
from models.application import Application
from models.enums import ApplicationStatus, ApplicationType, AuthorityLevel, UserKind
from tests.helpers import text_of


@pytest.fixture()
def setting(make):
    city = make.authority(name="太原市卫生健康委员会", level=AuthorityLevel.MUNICIPAL,
                          region_code="140100")
    inst = make.institution(name="分页测试医院", authority_obj=city)
    return city, inst


def _applications(make, inst, city, status, count, *, start=0):
    rows = []
    for i in range(start, start + count):
        person = make.person(name="分页医师" + "甲乙丙丁戊己庚辛壬癸"[i % 10]
                             + "子丑寅卯辰巳午未申酉戌亥"[(i // 10) % 12] + "天地玄黄"[i // 120])
        rows.append(Application(
            type=ApplicationType.CHANGE, status=status, subject_key=f"p:{person.id}",
            person_id=person.id, applicant_kind=UserKind.PHYSICIAN,
            confirming_institution_id=inst.id, authority_id=city.id,
            accepted_on=dt.date(2026, 1, 5) + dt.timedelta(days=i % 20),
            submitted_at=dt.datetime(2026, 1, 1) + dt.timedelta(minutes=i),
            decided_at=dt.datetime(2026, 2, 1) if status == ApplicationStatus.APPROVED else None))
    db.session.add_all(rows)
    db.session.commit()
    return [r.id for r in rows]


def _link(page: str, label: str):
    m = re.search(r'<a class="page-link"[^>]*href="([^"]+)"[^>]*>' + label + "</a>", page)
    return html.unescape(m.group(1)) if m else None


def _ids(page: str, endpoint_path: str) -> list[int]:
    return [int(x) for x in re.findall(re.escape(endpoint_path) + r"(\d+)", page)]


def test_approved_list_pages_to_older_rows(client, make, login_as, setting):
    city, inst = setting
    ids = _applications(make, inst, city, ApplicationStatus.APPROVED, 60)
    login_as(make.reviewer(city))
    first = text_of(client.get("/gov/approved/"))
    assert "本次查询共查到60条数据" in first
    shown = _ids(first, "/gov/pending/")
    assert shown == sorted(ids, reverse=True)[:50]
    older = _link(first, "更早的记录")
    assert older and "before=" in older
    second = text_of(client.get(older))
    assert _ids(second, "/gov/pending/") == sorted(ids, reverse=True)[50:]
    assert "本次查询共查到60条数据" in second and _link(second, "更早的记录") is None
    newest = _link(second, "最新记录")
    assert _ids(text_of(client.get(newest)), "/gov/pending/") == shown
    # a bad key is ignored
    assert client.get("/gov/approved/?before=x1").status_code == 200


def test_done_list_of_the_institution_pages_too(client, make, login_as, setting):
    city, inst = setting
    ids = _applications(make, inst, city, ApplicationStatus.APPROVED, 55)
    login_as(make.institution_admin(inst))
    first = text_of(client.get("/org/applications-done/"))
    assert "本次查询共查到55条数据" in first
    older = _link(first, "更早的记录")
    second = text_of(client.get(older))
    assert len(set(_ids(first, "/org/applications/")) | set(_ids(second, "/org/applications/"))
               ) == len(ids)


def test_pending_queue_says_when_it_shows_only_the_first_200(client, make, login_as, setting):
    city, inst = setting
    _applications(make, inst, city, ApplicationStatus.PENDING_APPROVAL, 205)
    login_as(make.reviewer(city))
    page = text_of(client.get("/gov/pending/"))
    assert "本次查询共查到205条数据" in page
    assert "仅显示最早受理的200条" in page
    assert page.count('btn btn-sm btn-primary" href="/gov/pending/') == 200


def test_a_business_list_page_joins_its_own_rows_only(app, client, make, login_as, setting):
    """The page's ids come first, from the application's index alone (the newest 51 of the
    list's history), and only those rows are joined to person, institutions and 审批机关 —
    joining first joined every application of the history before sorting it. The rows and
    their 姓名 are those of the page."""
    import sqlalchemy as sa
    city, inst = setting
    ids = _applications(make, inst, city, ApplicationStatus.APPROVED, 60)
    names = {a.id: a.person.name for a in db.session.scalars(
        sa.select(Application).where(Application.id.in_(ids)))}
    login_as(make.reviewer(city))
    client.get("/gov/approved/")
    statements = []

    def record(conn, cursor, statement, params, context, executemany):
        if "FROM application" in statement and "JOIN person" in statement:
            statements.append(" ".join(statement.split()))

    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        page = text_of(client.get("/gov/approved/"))
    finally:
        with app.app_context():
            sa.event.remove(db.engine, "before_cursor_execute", record)
    newest = sorted(ids, reverse=True)[:50]
    assert _ids(page, "/gov/pending/") == newest
    assert all(names[i] in page for i in newest)
    assert len(statements) == 1, statements
    inner = re.search(r"\(SELECT application\.id AS id FROM application WHERE (.*?) LIMIT",
                      statements[0])
    assert inner and "JOIN" not in inner.group(1), statements[0]


@pytest.mark.parametrize("url,who,index", [
    ("/gov/approved/", "reviewer", "ix_application_authority_status_id"),
    ("/org/applications/", "institution", "ix_application_confirming_status_id"),
    ("/org/filing-cancel-list/", "institution", "ix_application_applicant_id"),
])
def test_a_business_list_page_is_one_index_range_newest_first(app, client, make, login_as,
                                                               setting, url, who, index):
    """A page of a business list reads the newest ids of its own index range, in order:
    no scan of the national application table, no sort of the list's history (SQLite's
    planner, on the schema without statistics)."""
    import sqlalchemy as sa
    if db.engine.dialect.name != "sqlite":
        pytest.skip("plan check written for SQLite's EXPLAIN QUERY PLAN")
    city, inst = setting
    login_as(make.reviewer(city) if who == "reviewer" else make.institution_admin(inst))
    seen = []

    def record(conn, cursor, statement, params, context, executemany):
        if "FROM application" in statement and "JOIN person" in statement:
            seen.append((statement, params))

    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        assert client.get(url).status_code == 200
    finally:
        with app.app_context():
            sa.event.remove(db.engine, "before_cursor_execute", record)
    assert len(seen) == 1, seen
    fresh = sa.create_engine("sqlite://")
    db.metadata.create_all(fresh)
    with fresh.connect() as conn:
        plan = " | ".join(r[-1] for r in conn.exec_driver_sql(
            "EXPLAIN QUERY PLAN " + seen[0][0], seen[0][1]))
    fresh.dispose()
    page_ids = plan.split("SCAN anon_1", 1)[0]
    assert index in page_ids and "TEMP B-TREE" not in page_ids, plan
    assert "SCAN application" not in plan, plan
