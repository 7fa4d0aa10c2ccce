"""N+1 guard for every console list page: each Flask-Admin ModelView list of /org/ and /gov/
(found in the app at collection time, so new lists are covered automatically) is rendered with
5 and with 25 units of data, and must not run more SQL statements for more rows
(≤ the 5-row count + 1)."""
import datetime as dt
import re
import tempfile

import pytest
import sqlalchemy as sa

from tests.helpers import list_rows_text, text_of

# endpoint → reason, for lists that are N+1 today (strict: the xfail turns red once fixed)
KNOWN_N_PLUS_ONE: dict[str, str] = {}


def _list_endpoints() -> list[str]:
    """Endpoints of every ModelView in the two consoles, from a throwaway app."""
    from flask_admin.model import BaseModelView

    from app import create_app
    app = create_app({"INSTANCE_PATH": tempfile.mkdtemp(prefix="regsys-qc-"),
                      "SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "x",
                      "DATA_KEY": bytes(32), "TESTING": True})
    out = []
    for admin in app.extensions.get("admin", []):
        if admin.endpoint not in ("org", "gov"):
            continue
        out += [v.endpoint for v in admin._views if isinstance(v, BaseModelView)]
    return sorted(out)


def pytest_generate_tests(metafunc):
    if "list_endpoint" in metafunc.fixturenames:
        params = []
        for ep in _list_endpoints():
            marks = ([pytest.mark.xfail(strict=True, reason=KNOWN_N_PLUS_ONE[ep])]
                     if ep in KNOWN_N_PLUS_ONE else [])
            params.append(pytest.param(ep, marks=marks, id=ep))
        metafunc.parametrize("list_endpoint", params)


class World:
    """One institution (太原, under the Shanxi commission) and everything its lists and the
    commission's lists show, added `units` at a time."""

    def __init__(self, make):
        from models.enums import AuthorityLevel
        self.make = make
        self.shanxi = make.authority(name="山西省卫生健康委员会（计数）", region_code="140000")
        self.beijing = make.authority(name="北京市卫生健康委员会（计数）", region_code="110000",
                                      level=AuthorityLevel.PROVINCIAL)
        self.inst = make.institution(name="太原计数医院", region_code="140105",
                                     authority_obj=self.shanxi)
        self.other = make.institution(name="太原另一医院", region_code="140106",
                                      authority_obj=self.shanxi)
        self.bj = make.institution(name="北京计数医院", region_code="110105",
                                   authority_obj=self.beijing)
        self.dept = None
        self.units = 0

    def add(self, units: int):
        from models import db
        from models.account import ActivationCode, ChangeRequest, Photo
        from models.application import Application
        from models.audit import AuditLog
        from models.enums import (ApplicationStatus, ApplicationType, AssessmentResult,
                                  CreditKind, RegistrationStatus, UserKind)
        from models.institution import Department
        from models.enums import AuthorityLevel, DirectBusinessKind, FaqAudience
        from models.messaging import FaqEntry, Question
        from models.reference import Region
        from models.registry import Assessment, CreditRecord, DirectBusiness, Filing, LegacySite
        make = self.make
        if not hasattr(self, "_counties"):
            self._counties = list(db.session.scalars(sa.select(Region.code).where(
                Region.code.like("14%"), ~Region.code.like("%00")).order_by(Region.code)))
        if self.dept is None:
            self.dept = Department(institution_id=self.inst.id, name="内科")
            db.session.add(self.dept)
            db.session.commit()
        for _ in range(units):
            self.units += 1
            k = self.units
            p, reg = make.registered_physician(self.inst)
            reg.department_id = self.dept.id
            acct = make.physician_account(p, institution_obj=self.inst)
            # filed out to another institution, and a registration in another province
            db.session.add(Filing(registration_id=reg.id, institution_id=self.other.id,
                                  authority_id=self.shanxi.id, filed_on=dt.date(2020, 1, 1)))
            make.registration(p, self.bj, location_code="110000")
            # somebody else's registration filed in / multi-site at this institution
            q, qreg = make.registered_physician(self.other)
            db.session.add(Filing(registration_id=qreg.id, institution_id=self.inst.id,
                                  authority_id=self.shanxi.id, filed_on=dt.date(2020, 1, 1)))
            db.session.add(LegacySite(registration_id=qreg.id, institution_id=self.inst.id,
                                      authority_id=self.shanxi.id, added_on=dt.date(2016, 1, 1)))
            # a 注册备案 registration at this institution
            make.registered_physician(self.inst, status=RegistrationStatus.FILED)
            # the commission's lists: institutions, applications, assessments, credit, audit
            make.institution(name=f"太原计数分院{k}", region_code="140105",
                             authority_obj=self.shanxi)
            db.session.add(Application(
                type=ApplicationType.CHANGE, status=ApplicationStatus.PENDING_APPROVAL,
                subject_key=f"p:{p.id}", account_id=acct.id, person_id=p.id,
                applicant_kind=UserKind.PHYSICIAN, confirming_institution_id=self.inst.id,
                authority_id=self.shanxi.id, registration_id=reg.id,
                payload={"registration_id": reg.id, "institution_id": self.inst.id,
                         "scope_codes": ["12"]}, reason="计数"))
            db.session.add(ChangeRequest(account_id=acct.id, registration_id=reg.id,
                                         institution_id=self.inst.id, school="北京大学医学部",
                                         original={"school": "山西医科大学"}))
            db.session.add(Photo(account_id=acct.id, institution_id=self.inst.id, data=b"x",
                                 content_type="image/jpeg", width=354, height=472, size=1))
            db.session.add(ActivationCode(account_id=acct.id, institution_id=self.inst.id,
                                          code=f"CODE{k:04d}"))
            db.session.add(Assessment(person_id=p.id, period_start=dt.date(2019, 1, 1),
                                      period_end=dt.date(2020, 12, 31),
                                      result=AssessmentResult.PASSED, assessing_body="考核机构"))
            db.session.add(CreditRecord(person_id=p.id, kind=CreditKind.COMMENDATION,
                                        description="表彰", decided_on=dt.date(2021, 5, 1),
                                        authority_id=self.shanxi.id))
            # commission-side lists: a county commission with a reviewer, a question, an
            # FAQ entry, a directly handled business
            county = self._counties[(k - 1) % len(self._counties)]
            county_auth = make.authority(name=f"计数县卫生健康局{k}", region_code=county,
                                         level=AuthorityLevel.COUNTY, parent=self.shanxi)
            make.reviewer(county_auth)
            db.session.add(Question(asker_kind=UserKind.PHYSICIAN, asker_id=acct.id,
                                    asker_name=acct.name, authority_id=self.shanxi.id,
                                    title=f"问题{k}", body="如何办理变更注册？"))
            db.session.add(FaqEntry(audience=FaqAudience.PHYSICIAN, title=f"热点问题{k}",
                                    answer="请登录医师个人端办理。", sort=k))
            biz = DirectBusiness(kind=DirectBusinessKind.HMT_SHORT_TERM, name=f"陈计数{k}",
                                 nationality="中国香港", document_type="港澳居民来往内地通行证",
                                 institution_id=self.inst.id, scope="内科",
                                 valid_from=dt.date(2025, 1, 1), valid_to=dt.date(2026, 12, 31),
                                 authority_id=self.shanxi.id)
            biz.id_number = make.id_number()
            db.session.add(biz)
            db.session.add(AuditLog(action="login", actor_kind=UserKind.CONSOLE,
                                    actor_name="计数", institution_id=self.inst.id,
                                    authority_id=self.shanxi.id, object_type="person",
                                    object_id=str(p.id)))
            db.session.commit()


def _user_for(view, world, make):
    from models.enums import ConsoleRole
    roles = tuple(getattr(view, "allowed_roles", ()) or ())
    if ConsoleRole.INSTITUTION_ADMIN in roles:
        return make.institution_admin(world.inst)
    role = next((r for r in (ConsoleRole.REVIEWER, ConsoleRole.SYSADMIN, ConsoleRole.AUDITOR)
                 if r in roles), ConsoleRole.REVIEWER)
    return make.console_user(role, authority_obj=world.shanxi)


def _view(app, endpoint):
    for admin in app.extensions.get("admin", []):
        for v in admin._views:
            if v.endpoint == endpoint:
                return v
    raise LookupError(endpoint)


def _rows(html: str) -> int:
    """Data rows of the list table (Flask-Admin's model-list; header and the empty-list row
    excluded)."""
    if "model-list" not in html:
        return 0
    table = html.split("model-list", 1)[1].split("</table>", 1)[0]
    body = table.split("</thead>", 1)[-1]
    return body.count("<tr") - body.count('colspan="999"')


def _render(app, client, url):
    from models import db
    statements = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        resp = client.get(url)
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    assert resp.status_code == 200, f"{url}: HTTP {resp.status_code}"
    return statements, text_of(resp)


def _before_and_after(app, client, url, add, first, then):
    """((statements, html) of `url` after add(first), then after add(then)): the data grows
    between the two; a warm-up rendering comes first, so caches filled once are not counted."""
    add(first)
    _render(app, client, url)
    before = _render(app, client, url)
    add(then)
    return before, _render(app, client, url)


def test_list_page_sql_does_not_grow_with_rows(app, client, make, login_as, list_endpoint):
    view = _view(app, list_endpoint)
    url = view.url.rstrip("/") + "/"
    world = World(make)
    login_as(_user_for(view, world, make))
    # 1, 5 and 25 units of data (a unit adds 1–5 rows, depending on the list); compare the
    # smallest rendering that shows rows with the largest one
    # the list as it opens, and sorted by each of its sortable columns (a sort can bring
    # rows whose relations the default order had on the page already)
    urls = [url] + [f"{url}?sort={i}" for i, (column, _label) in enumerate(view._list_columns)
                    if column in view._sortable_columns]
    renders = {u: [] for u in urls}
    for total in (1, 5, 25):
        world.add(total - world.units)
        for u in urls:
            if not renders[u]:
                _render(app, client, u)  # warm caches (filter options, templates) first
            stmts, html = _render(app, client, u)
            renders[u].append((stmts, _rows(html)))
    for u in urls:
        small, rows_small = next(((s, r) for s, r in renders[u] if r > 0), renders[u][0])
        large, rows_large = renders[u][-1]
        if rows_large <= rows_small:
            pytest.skip(f"{list_endpoint}: the generic data shows {rows_small} → {rows_large} "
                        "rows; add data for this list to World")
        assert len(large) <= len(small) + 1, (
            f"{u}: {len(small)} statements for {rows_small} rows but {len(large)} for "
            f"{rows_large} rows (N+1). Statements at 25 units:\n" + "\n".join(
                " ".join(s.split())[:160] for s in large))


BUSINESS_LISTS = [("/org/applications/", "org"), ("/org/applications-open/", "org"),
                  ("/org/applications-done/", "org"), ("/org/filing-cancel-list/", "org"),
                  ("/gov/pending/", "gov"), ("/gov/approved/", "gov"), ("/gov/rejected/", "gov")]


@pytest.mark.parametrize("url,area", BUSINESS_LISTS, ids=[u for u, _ in BUSINESS_LISTS])
def test_business_list_sql_does_not_grow_with_rows(app, client, make, login_as, url, area):
    """The 业务办理 / 业务审批 lists (plain pages, not ModelViews): 2 and then 12 applications
    of every state (each with its own person and institution) cost the same statements."""
    from models import db
    from models.application import Application
    from models.enums import ApplicationStatus as S, ApplicationType as T, UserKind
    shanxi = make.authority(name="山西省卫生健康委员会（业务计数）", region_code="140000")
    inst = make.institution(name="业务计数医院", region_code="140105", authority_obj=shanxi)
    login_as(make.institution_admin(inst) if area == "org" else make.reviewer(shanxi))

    def add(n):
        for _ in range(n):
            other = make.institution(region_code="140105", authority_obj=shanxi)
            for status, kind in [(S.SUBMITTED, T.CHANGE), (S.PENDING_APPROVAL, T.CANCELLATION),
                                 (S.APPROVED, T.CHANGE), (S.REJECTED, T.CHANGE),
                                 (S.INSTITUTION_REJECTED, T.CHANGE)]:
                person = make.person()
                db.session.add(Application(
                    type=kind, status=status, subject_key=f"p:{person.id}", person_id=person.id,
                    applicant_kind=UserKind.PHYSICIAN, confirming_institution_id=inst.id,
                    authority_id=shanxi.id, accepted_on=dt.date(2026, 1, 5)))
            db.session.add(Application(
                type=T.MULTI_FILING_CANCEL, status=S.PENDING_APPROVAL,
                subject_key=f"i:{other.id}", applicant_kind=UserKind.CONSOLE,
                applicant_institution_id=inst.id, confirming_institution_id=other.id,
                authority_id=shanxi.id, accepted_on=dt.date(2026, 1, 5)))
        db.session.commit()

    (small, html_small), (large, html_large) = _before_and_after(app, client, url, add, 2, 10)
    assert html_large.count("<tr") > html_small.count("<tr"), url
    assert len(large) <= len(small), (
        f"{url}: {len(small)} statements for the small list, {len(large)} for the large one:\n"
        + "\n".join(" ".join(s.split())[:160] for s in large))


def test_change_feed_sql_does_not_grow_with_changes(app, client, make, login_as):
    """医师变动信息: 2 and then 12 of each change yesterday (new registration, 执业范围 changed,
    注销, 定期考核) cost the same statements."""
    from models import db
    from models.enums import AssessmentResult, RegistrationStatus
    from models.registry import Assessment
    yesterday = dt.date.today() - dt.timedelta(days=1)
    inst = make.institution(name="变动计数医院", region_code="140105")
    login_as(make.institution_admin(inst))

    def add(n):
        for _ in range(n):
            newcomer = make.person()
            r = make.registration(newcomer, inst, approved_on=yesterday)
            r.created_at = dt.datetime.combine(yesterday, dt.time(10))
            changed = make.person()  # 执业范围 changed yesterday: the row names the scopes
            r = make.registration(changed, inst, approved_on=yesterday, scope_codes=("11", "12"))
            r.created_at = dt.datetime(2020, 1, 1)
            leaver = make.person()
            r = make.registration(leaver, inst)
            r.created_at = dt.datetime(2020, 1, 1)
            r.status, r.status_changed_on = RegistrationStatus.CANCELLED, yesterday
            db.session.add(Assessment(person_id=newcomer.id, period_start=dt.date(2023, 1, 1),
                                      period_end=dt.date(2025, 12, 31),
                                      result=AssessmentResult.PASSED, assessing_body="太原市医师协会",
                                      assessed_on=yesterday))
        db.session.commit()
        db.session.expire_all()  # the page loads what it shows, not what the test left

    url = "/org/change-feed/"
    (small, html_small), (large, html_large) = _before_and_after(app, client, url, add, 2, 10)
    assert "共 48 条变动信息" in html_large and "共 8 条变动信息" in html_small
    assert len(large) <= len(small), (
        f"{url}: {len(small)} statements for 8 changes, {len(large)} for 48:\n"
        + "\n".join(" ".join(s.split())[:160] for s in large))


# the institution lists whose rows show relations: statements besides the session, the count
# and the rows themselves — (always, on SQLite only). Many-to-one relations (person, 所在科室,
# 医师账户, 主要执业机构) come in the rows' statement everywhere; the collection 备案机构 too on
# PostgreSQL, where each statement is a round trip, and in one statement on SQLite (see
# models.loading.collection_load). 执业范围 takes none: the names come from the rows'
# scope_codes (Registration.scope_names).
ORG_RELATION_LISTS = {
    "org_main_physicians": (1, 0),  # the 所在科室 filter's options
    "org_filed_out": (0, 1),  # 备案机构
    "org_filed_physicians": (0, 0),
    "org_filed_in": (0, 0),
    "org_legacy_sites": (0, 0),
    "org_other_provinces": (1, 0),  # the ids of the other provinces' registrations
}


@pytest.mark.parametrize("endpoint", sorted(ORG_RELATION_LISTS))
def test_org_list_relations_come_with_the_rows(app, client, make, login_as, endpoint):
    from models import db
    view = _view(app, endpoint)
    url = view.url.rstrip("/") + "/"
    world = World(make)
    login_as(_user_for(view, world, make))
    world.add(25)
    _render(app, client, url)
    statements, html = _render(app, client, url)
    assert _rows(html) > 5, endpoint
    always, sqlite_only = ORG_RELATION_LISTS[endpoint]
    expected = 3 + always + (sqlite_only if db.engine.dialect.name == "sqlite" else 0)
    assert len(statements) == expected, (
        f"{endpoint}: {len(statements)} statements, expected {expected}:\n" + "\n".join(
            " ".join(s.split())[:160] for s in statements))


PLAIN_ORG_LISTS = ["/org/activation/", "/org/revoke/", "/org/info-review/",
                   "/org/physician-departments/"]


@pytest.mark.parametrize("url", PLAIN_ORG_LISTS)
def test_plain_org_list_sql_does_not_grow_with_rows(app, client, make, login_as, url):
    """The institution lists that are plain pages, not ModelViews (医师账户激活, 撤销医师账户,
    本院医师信息审核, 本院医师所在科室信息维护): 2 and then 12 physicians of each kind — verified,
    activated in a 科室 with an activation code, a 信息修改 and a 相片 to review — cost the same
    statements."""
    from models import db
    from models.account import ActivationCode
    from models.institution import Department
    from models.reference import TreatmentSubject
    from tests import factories_org as fo
    inst = make.institution(name="列表计数医院", region_code="140105")
    dept = Department(institution_id=inst.id, name="呼吸科")
    db.session.add(dept)
    db.session.flush()
    dept.subjects.append(db.session.get(TreatmentSubject, "03"))
    db.session.commit()
    login_as(make.institution_admin(inst))

    def add(n):
        for i in range(n):
            fo.verified_physician(inst, scope_codes=("11", "12"))
            p, reg, acct = fo.activated_physician(inst, scope_codes=("13",))
            reg.department_id = dept.id
            db.session.add(ActivationCode(account_id=acct.id, institution_id=inst.id,
                                          code=f"QC{acct.id:06d}", sent_via="sms",
                                          used_at=dt.datetime(2026, 1, 5, 9)))
            db.session.commit()
            fo.change_request(acct, reg)
            fo.photo(acct, inst)
        db.session.expire_all()  # the page loads what it shows, not what the test left

    (small, html_small), (large, html_large) = _before_and_after(app, client, url, add, 2, 10)
    assert html_large.count("<tr") >= html_small.count("<tr") + 10, url
    assert len(large) <= len(small), (
        f"{url}: {len(small)} statements for the small list, {len(large)} for the large one:\n"
        + "\n".join(" ".join(s.split())[:160] for s in large))


def test_commission_statistics_sql_does_not_grow_with_applications(app, client, make,
                                                                   login_as):
    """统计信息 of a commission: 3 and then 23 pending and decided applications (accepted over
    the Spring Festival and ordinary weeks) cost the same statements, and the page counts
    them all."""
    from models import db
    from models.application import Application
    from models.enums import ApplicationStatus as S, ApplicationType as T, UserKind
    shanxi = make.authority(name="山西省卫生健康委员会（统计计数）", region_code="140000")
    login_as(make.reviewer(shanxi))

    def add(n):
        for i in range(n):
            accepted = dt.date(2025, 1, 6) + dt.timedelta(days=5 * i)
            for status in (S.PENDING_APPROVAL, S.APPROVED):
                person = make.person()
                db.session.add(Application(
                    type=T.CHANGE, status=status, subject_key=f"p:{person.id}",
                    person_id=person.id, applicant_kind=UserKind.PHYSICIAN,
                    authority_id=shanxi.id, accepted_on=accepted,
                    decided_at=(dt.datetime.combine(accepted + dt.timedelta(days=9), dt.time(9))
                                if status == S.APPROVED else None)))
        db.session.commit()

    (small, html_small), (large, html_large) = _before_and_after(
        app, client, "/gov/statistics/", add, 3, 20)
    assert "待审批业务：3 件" in re.sub(r"<[^>]+>", "", html_small)
    shown = re.sub(r"<[^>]+>", "", html_large)
    assert "待审批业务：23 件" in shown and "已超过20个工作日：23 件" in shown
    assert len(large) <= len(small), (
        f"{len(small)} statements for 3 applications, {len(large)} for 23:\n"
        + "\n".join(" ".join(s.split())[:160] for s in large))


def test_authority_list_sorted_by_name_loads_each_rows_parent_with_the_rows(app, client, make,
                                                                            login_as):
    """机关管理 sorted by 机关名称: each row shows its own 上级机关 and 所辖地区, and a page
    whose parents are not on it (12 municipal commissions, each under its own provincial
    one) costs the statements of one whose parents are (3)."""
    from models import db
    from models.enums import AuthorityLevel, ConsoleRole, RegionLevel
    from models.reference import Region
    nation = make.authority(name="国家卫生健康委员会（计数）", level=AuthorityLevel.NATIONAL,
                            region_code="110000")
    login_as(make.console_user(ConsoleRole.SYSADMIN, authority_obj=nation))
    provinces = list(db.session.scalars(sa.select(Region).where(
        Region.level == RegionLevel.PROVINCE).order_by(Region.code).limit(12)))
    cities = {p.code: db.session.scalar(sa.select(Region.code).where(
        Region.parent_code == p.code, Region.level == RegionLevel.CITY).order_by(Region.code)
        .limit(1)) for p in provinces}
    expected = {}

    def add(upto):
        for i, province in enumerate(provinces[:upto]):
            name = f"甲市卫生健康委员会{i:02d}"
            if name in expected:
                continue
            parent = make.authority(name=f"辖区{province.name}卫生健康委员会", parent=nation,
                                    region_code=province.code)
            make.authority(name=name, level=AuthorityLevel.MUNICIPAL, parent=parent,
                           region_code=cities[province.code])
            expected[name] = parent.name

    (small, _), (large, html_large) = _before_and_after(
        app, client, "/gov/authorities/?sort=0", add, 3, 12)
    rows = list_rows_text(html_large)
    shown = {name: row for row in rows for name in expected if name in row}
    assert len(shown) == 12
    assert all(expected[name] in row for name, row in shown.items())
    assert len(large) <= len(small), (
        f"{len(small)} statements with the parents on the page, {len(large)} without:\n"
        + "\n".join(" ".join(s.split())[:160] for s in large))
