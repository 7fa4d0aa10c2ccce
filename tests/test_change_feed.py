"""医师变动信息 (/org/change-feed/): the daily change feed of an institution's physicians,
scoped to the institution, with a csv download (UTF-8 BOM, masked 身份证号)."""
import csv
import datetime as dt
import io
import re

import pytest

from models import db
from models.enums import AssessmentResult, RegistrationStatus
from models.registry import Assessment, RegistrationMove
from services import change_feed
from tests.helpers import text_of

TODAY = dt.date.today()
YESTERDAY = TODAY - dt.timedelta(days=1)
LONG_AGO = dt.datetime(2020, 1, 1, 8, 0)


@pytest.fixture()
def feed_app(app):
    assert "org_change_feed.index" in app.view_functions
    return app


@pytest.fixture()
def feed_client(feed_app, app):
    return feed_app.test_client()


def _old(reg):
    reg.created_at = LONG_AGO
    db.session.commit()
    return reg


@pytest.fixture()
def scene(make):
    mine = make.institution(name="本院医院")
    other = make.institution(name="外院医院")
    # a physician of ours, unchanged
    quiet = make.person(name="平静")
    _old(make.registration(quiet, mine))
    # ours, cancelled yesterday
    leaver = make.person(name="离职")
    r = _old(make.registration(leaver, mine))
    r.status, r.status_changed_on = RegistrationStatus.CANCELLED, YESTERDAY
    # a new registration here yesterday
    newcomer = make.person(name="新来")
    r = make.registration(newcomer, mine, approved_on=YESTERDAY)
    r.created_at = dt.datetime.combine(YESTERDAY, dt.time(10, 0))
    # ours, assessed yesterday
    db.session.add(Assessment(person_id=quiet.id, period_start=dt.date(2023, 1, 1),
                              period_end=dt.date(2025, 12, 31), result=AssessmentResult.FAILED,
                              assessing_body="太原市医师协会", assessed_on=YESTERDAY))
    # moved to another institution in place yesterday (B5 inside the province)
    mover = make.person(name="调走")
    r = _old(make.registration(mover, other, approved_on=YESTERDAY))
    db.session.add(RegistrationMove(registration_id=r.id, from_institution_id=mine.id,
                                    to_institution_id=other.id, moved_on=YESTERDAY))
    # another institution's physician, cancelled yesterday: not ours
    stranger = make.person(name="外人")
    r = _old(make.registration(stranger, other))
    r.status, r.status_changed_on = RegistrationStatus.CANCELLED, YESTERDAY
    db.session.add(Assessment(person_id=stranger.id, period_start=dt.date(2023, 1, 1),
                              period_end=dt.date(2025, 12, 31), result=AssessmentResult.PASSED,
                              assessing_body="外地协会", assessed_on=YESTERDAY))
    # ours, loaded yesterday with the register (批准日期 years ago): not a change
    migrated = make.person(name="迁入")
    r = make.registration(migrated, mine, approved_on=dt.date(2015, 6, 1))
    r.created_at = dt.datetime.combine(YESTERDAY, dt.time(3, 0))
    r.status_changed_on = dt.date(2015, 6, 1)
    # ours, cancelled long ago
    old = make.person(name="旧事")
    r = _old(make.registration(old, mine))
    r.status, r.status_changed_on = RegistrationStatus.CANCELLED, dt.date(2021, 5, 1)
    db.session.commit()
    return {"mine": mine, "other": other, "quiet": quiet, "leaver": leaver,
            "newcomer": newcomer, "mover": mover, "stranger": stranger}


def test_service_lists_yesterdays_changes_of_own_physicians(app_ctx, scene):
    items = change_feed.changes_for_institution(scene["mine"].id, YESTERDAY)
    got = {(i.name, i.kind) for i in items}
    assert got == {("离职", "注册状态变更"), ("新来", "新增执业注册"), ("平静", "定期考核"),
                   ("调走", "调离本院")}
    detail = {i.name: i.detail for i in items}
    assert "注销" in detail["离职"] and "不合格" in detail["平静"]
    assert "外院医院" in detail["调走"]
    assert change_feed.changes_for_institution(scene["mine"].id, TODAY) == []
    # the other institution sees its own changes (the mover arrived there by a change)
    other = {(i.name, i.kind) for i in
             change_feed.changes_for_institution(scene["other"].id, YESTERDAY)}
    assert ("外人", "注册状态变更") in other and ("外人", "定期考核") in other
    assert ("调走", "执业注册变更") in other and "离职" not in {n for n, _ in other}
    # the detail names the registration's 执业范围, 执业地点 and 主要执业机构 as the record does
    from models.registry import Registration
    moved = db.session.scalars(db.select(Registration).where(
        Registration.person_id == scene["mover"].id)).one()
    assert moved.scope_names
    detail = {(i.name, i.kind): i.detail for i in
              change_feed.changes_for_institution(scene["other"].id, YESTERDAY)}
    assert detail[("调走", "执业注册变更")] == \
        f"执业范围：{moved.scope_names}，执业地点：{moved.location}，主要执业机构：外院医院"


def test_a_bulk_day_is_read_from_the_institution_with_the_same_outcome(app_ctx, scene,
                                                                       monkeypatch):
    """A window in which more registrations (or 定期考核 results) changed nationally than
    BUSY_WINDOW_ROWS (a mass 注销, say) is recognised by bounded counts, and the
    institution-first reading finds exactly what the date-first one finds."""
    Load = change_feed.WindowLoad
    change_feed._window_counts.clear()  # counted by an earlier test's data
    usual = {(i.day, i.name, i.kind, i.detail) for i in
             change_feed.changes_for_institution(scene["mine"].id, YESTERDAY)}
    assert change_feed._busy_window(YESTERDAY, YESTERDAY) == Load(False, False)
    # yesterday holds four changed registrations nationally (new, cancelled ×2, moved) and
    # two assessments
    monkeypatch.setattr(change_feed, "BUSY_WINDOW_ROWS", 4)
    assert change_feed._busy_window(YESTERDAY, YESTERDAY) == Load(True, False)
    assert change_feed._busy_window(TODAY, TODAY) == Load(False, False)
    busy = {(i.day, i.name, i.kind, i.detail) for i in
            change_feed.changes_for_institution(scene["mine"].id, YESTERDAY)}
    assert busy == usual and len(busy) == 4
    monkeypatch.setattr(change_feed, "BUSY_WINDOW_ROWS", 2)
    assert change_feed._busy_window(YESTERDAY, YESTERDAY) == Load(True, True)
    busy = {(i.day, i.name, i.kind, i.detail) for i in
            change_feed.changes_for_institution(scene["mine"].id, YESTERDAY)}
    assert busy == usual


def test_the_bulk_day_check_is_kept_for_a_minute(app_ctx, scene, make, monkeypatch):
    """The national bulk-day counts of a window are read once per WINDOW_COUNTS_MAX_AGE: a
    second feed within it runs no count, and a change after it is seen (the counts only pick
    how the feed is read, see the test above)."""
    import sqlalchemy as sa
    change_feed._window_counts.clear()
    monkeypatch.setattr(change_feed, "BUSY_WINDOW_ROWS", 5)  # yesterday holds 4
    counts = []

    def record(conn, cursor, statement, params, context, executemany):
        if statement.lstrip().startswith("SELECT (SELECT count(*)"):  # _busy_window's
            counts.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        assert not change_feed._busy_window(YESTERDAY, YESTERDAY).registrations
        assert len(counts) == 1
        first = {(i.name, i.kind) for i in
                 change_feed.changes_for_institution(scene["mine"].id, YESTERDAY)}
        assert len(counts) == 1  # the feed itself used the kept counts
        late = make.person(name="晚到")
        r = make.registration(late, scene["mine"])
        r.status, r.status_changed_on = RegistrationStatus.CANCELLED, YESTERDAY
        db.session.commit()
        assert not change_feed._busy_window(YESTERDAY, YESTERDAY).registrations  # kept
        assert len(counts) == 1
        monkeypatch.setattr(change_feed, "WINDOW_COUNTS_MAX_AGE", 0.0)
        assert change_feed._busy_window(YESTERDAY, YESTERDAY).registrations  # counted anew
        assert len(counts) == 2
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    now = {(i.name, i.kind) for i in
           change_feed.changes_for_institution(scene["mine"].id, YESTERDAY)}
    assert now == first | {("晚到", change_feed.KIND_STATUS)}


def test_console_page_defaults_to_yesterday_and_is_scoped(feed_client, make, scene):
    from tests.helpers import login_client
    admin = make.institution_admin(scene["mine"])
    login_client(feed_client.application, feed_client, admin)
    resp = feed_client.get("/org/change-feed/")
    assert resp.status_code == 200
    html = text_of(resp)
    assert "医师变动信息" in html and f'value="{YESTERDAY.isoformat()}"' in html
    assert '<label for="start"' in html
    for name in ("离职", "新来", "平静", "调走"):
        assert name in html
    assert "外人" not in html and "旧事" not in html
    leaver = scene["leaver"]
    assert leaver.id_number_masked in html and leaver.id_number not in html
    assert "共 4 条变动信息" in html


def test_a_long_feed_is_shown_page_by_page_and_exported_whole(feed_client, make, scene):
    """55 more changes yesterday: the page shows 50 rows and a pager that keeps the dates; the
    second page the rest; an out-of-range or malformed page number shows a real page; the csv
    holds all 59."""
    from admin_views.org import PAGE_SIZE
    from tests.helpers import login_client
    for k in range(55):
        r = _old(make.registration(make.person(name=f"批量{k:02d}"), scene["mine"]))
        r.status, r.status_changed_on = RegistrationStatus.CANCELLED, YESTERDAY
    db.session.commit()
    login_client(feed_client.application, feed_client, make.institution_admin(scene["mine"]))
    first = text_of(feed_client.get("/org/change-feed/"))
    assert PAGE_SIZE == 50 and "共 59 条变动信息" in first and "第1页 / 共2页" in first
    assert first.count("<tr><td>") == 50
    assert f"page=1&amp;start={YESTERDAY}&amp;end={YESTERDAY}" in first  # dates kept
    second = text_of(feed_client.get(f"/org/change-feed/?page=1&start={YESTERDAY}"))
    assert second.count("<tr><td>") == 9 and "第2页 / 共2页" in second
    shown = {n for page in (first, second) for n in
             [f"批量{k:02d}" for k in range(55)] + ["离职", "新来", "平静", "调走"] if n in page}
    assert len(shown) == 59
    # each page's rows carry their detail (read for the rows shown, not for the window)
    detail = re.compile(r"<td>批量\d\d</td>.*?<td>注册状态变更</td><td>([^<]*)</td>")
    on_pages = [d for page in (first, second) for d in detail.findall(page)]
    assert len(on_pages) == 55 and all(
        d.startswith("注册状态变为「注销」，执业地点：") and
        d.endswith(f"主要执业机构：{scene['mine'].name}") for d in on_pages), on_pages[:3]
    assert text_of(feed_client.get("/org/change-feed/?page=99")).count("<tr><td>") == 9
    assert text_of(feed_client.get("/org/change-feed/?page=x")).count("<tr><td>") == 50
    raw = feed_client.get(f"/org/change-feed/export.csv?start={YESTERDAY}").get_data()
    assert len(list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))) == 1 + 59


def test_console_page_rejects_bad_dates_in_chinese(feed_client, make, scene):
    from tests.helpers import login_client
    login_client(feed_client.application, feed_client, make.institution_admin(scene["mine"]))
    html = text_of(feed_client.get("/org/change-feed/?start=2026-13-45"))
    assert "日期格式应为 YYYY-MM-DD" in html
    html = text_of(feed_client.get(f"/org/change-feed/?start={TODAY}&end={YESTERDAY}"))
    assert "结束日期不能早于开始日期" in html
    html = text_of(feed_client.get("/org/change-feed/?start=2026-01-01&end=2026-03-01"))
    assert "一次最多查询 31 天" in html


def test_csv_download_has_bom_and_masked_id_numbers(feed_client, make, scene):
    from tests.helpers import login_client
    login_client(feed_client.application, feed_client, make.institution_admin(scene["mine"]))
    resp = feed_client.get(f"/org/change-feed/export.csv?start={YESTERDAY}&end={YESTERDAY}")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert "filename*=UTF-8''" in resp.headers["Content-Disposition"]
    raw = resp.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == ["变动日期", "姓名", "身份证号", "变动类型", "变动内容"]
    by_name = {r[1]: r for r in rows[1:]}
    assert set(by_name) == {"离职", "新来", "平静", "调走"}
    leaver = scene["leaver"]
    assert by_name["离职"][2] == leaver.id_number_masked
    assert leaver.id_number not in raw.decode("utf-8-sig")


def test_other_roles_cannot_open_the_feed(feed_client, make, scene):
    from tests.helpers import login_client
    resp = feed_client.get("/org/change-feed/")
    assert resp.status_code == 302 and "/org/login" in resp.headers["Location"]
    login_client(feed_client.application, feed_client, make.reviewer())
    assert feed_client.get("/org/change-feed/").status_code == 403
    assert feed_client.get("/org/change-feed/export.csv").status_code == 403


def test_a_changed_registration_names_its_scopes_in_code_order(app_ctx, make):
    """执业注册变更 lists the registration's 执业范围 as the record does (in code order),
    whatever order they were given in, and only its own."""
    from models.reference import PracticeScope
    inst = make.institution(name="范围医院")
    changed = _old(make.registration(make.person(name="改范围"), inst, approved_on=YESTERDAY,
                                     scope_codes=("12", "11", "13")))
    _old(make.registration(make.person(name="另一位"), inst, approved_on=YESTERDAY,
                           scope_codes=("14",)))
    names = [db.session.get(PracticeScope, c).name for c in ("11", "12", "13")]
    detail = {i.name: i.detail for i in
              change_feed.changes_for_institution(inst.id, YESTERDAY)}
    assert detail["改范围"].startswith(f"执业范围：{'，'.join(names)}，执业地点：")
    assert changed.scope_names == "，".join(names)
    assert detail["另一位"].startswith(
        f"执业范围：{db.session.get(PracticeScope, '14').name}，")


def test_a_registration_moved_twice_is_listed_once_on_its_last_move(app_ctx, make):
    """调离本院: a registration that left and was changed again within the window is one
    item, on the day of its last move."""
    mine = make.institution(name="原单位医院")
    other = make.institution(name="新单位医院")
    moved = _old(make.registration(make.person(name="两次调动"), other,
                                   approved_on=dt.date(2020, 1, 1)))
    before_yesterday = YESTERDAY - dt.timedelta(days=1)
    for day in (before_yesterday, YESTERDAY):
        db.session.add(RegistrationMove(registration_id=moved.id, from_institution_id=mine.id,
                                        to_institution_id=other.id, moved_on=day))
    db.session.commit()
    items = change_feed.changes_for_institution(mine.id, before_yesterday, YESTERDAY)
    assert [(i.day, i.name, i.kind) for i in items] == [(YESTERDAY, "两次调动", "调离本院")]
    assert "新单位医院" in items[0].detail
