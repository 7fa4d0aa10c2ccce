"""The institution console /org/: access per role, tenant scoping of every view, and the
I2–I9, I15–I19 screens."""
import csv
import io
import re
from urllib.parse import unquote

import pytest
import sqlalchemy as sa

from models import db
from models.account import ActivationCode, PhysicianAccount
from models.audit import AuditLog
from models.application import Application
from models.enums import (AccountState, ApplicationStatus, ApplicationType, AuthorityLevel,
                          FaqAudience, PhysicianCategory, RegistrationStatus, ReviewStatus,
                          UserKind)
from models.institution import Department, InstitutionAuthority
from models.messaging import FaqEntry
from models.registry import Filing, LegacySite, Registration
from tests import factories_org as fo
from tests.helpers import csrf_token, list_rows_text, text_of

LIST_PAGES = ["/org/", "/org/main-physicians/", "/org/filed-out/", "/org/filed-in/",
              "/org/legacy-sites/", "/org/filed-physicians/", "/org/activation/",
              "/org/revoke/", "/org/accounts/", "/org/manuals/", "/org/info-review/",
              "/org/verify-qualification/", "/org/verify-registration/",
              "/org/verify-credit/", "/org/profile/", "/org/departments/",
              "/org/physician-departments/", "/org/authorities/", "/org/security/",
              "/org/statistics/", "/org/other-provinces/", "/org/support/",
              "/org/main-physicians/export/csv/", "/org/accounts/export/xlsx/"]


def _page(client, url):
    r = client.get(url)
    assert r.status_code == 200, (url, r.status_code)
    return text_of(r)


def _post(client, page_url, url, data):
    token = csrf_token(_page(client, page_url))
    return client.post(url, data={"csrf_token": token, **data})


@pytest.fixture()
def two(make):
    """This institution (with admin) and another one, each with physicians."""
    mine = make.institution(name="本院人民医院")
    other = make.institution(name="外院中心医院")
    admin = make.institution_admin(mine)
    return mine, other, admin


# ---------------------------------------------------------------- access per role

@pytest.mark.parametrize("url", LIST_PAGES)
def test_anonymous_is_sent_to_login(client, app, url):
    r = client.get(url)
    assert r.status_code == 302
    assert "/org/login" in r.headers["Location"]


@pytest.mark.parametrize("url", LIST_PAGES)
def test_physician_and_commission_accounts_are_refused(client, app, make, login_as, url):
    inst = make.institution()
    p, _ = make.registered_physician(inst)
    login_as(make.physician_account(p, institution_obj=inst))
    assert client.get(url).status_code == 403
    other = app.test_client()
    login_as(make.reviewer(), other)
    assert other.get(url).status_code == 403


@pytest.mark.parametrize("url", ["/org/activation/generate", "/org/revoke/revoke",
                                 "/org/info-review/decide", "/org/departments/delete",
                                 "/org/physician-departments/set", "/org/authorities/",
                                 "/org/security/", "/org/support/"])
def test_posts_are_refused_to_other_roles(client, app, make, login_as, url):
    assert client.post(url, data={}).status_code in (302, 400)  # anonymous: login or CSRF
    login_as(make.reviewer())
    assert client.post(url, data={}).status_code in (400, 403)


@pytest.mark.parametrize("url", [u for u in LIST_PAGES if "export" not in u])
def test_every_page_renders_for_the_institution(client, two, login_as, url):
    login_as(two[2])
    _page(client, url)


# ---------------------------------------------------------------- I7 lists

def test_lists_show_only_this_institutions_rows(client, make, two, login_as):
    mine, other, admin = two
    own = [fo.activated_physician(mine) for _ in range(3)]
    foreign = [fo.activated_physician(other) for _ in range(2)]
    # filings: one of mine filed at the other institution, one of theirs filed here
    make_filing = lambda reg, inst: db.session.add(Filing(  # noqa: E731
        registration_id=reg.id, institution_id=inst.id, authority_id=inst.licensing_authority_id,
        filed_on=reg.approved_on))
    make_filing(own[0][1], other)
    make_filing(foreign[0][1], mine)
    db.session.add(LegacySite(registration_id=foreign[1][1].id, institution_id=mine.id,
                              authority_id=mine.licensing_authority_id,
                              added_on=foreign[1][1].approved_on))
    filed_p, _ = make.registered_physician(mine, status=RegistrationStatus.FILED)
    make.registered_physician(other, status=RegistrationStatus.FILED)
    db.session.commit()
    login_as(admin)
    page = _page(client, "/org/main-physicians/")
    assert "本次查询共查到3条数据" in page
    assert all(p.name in page for p, _, _ in own)
    assert not any(p.name in page for p, _, _ in foreign)
    for label in ["是否修改过信息", "审核日期", "医师账户状态", "所在科室", "查看详细信息"]:
        assert label in page
    page = _page(client, "/org/filed-out/")
    assert "本次查询共查到1条数据" in page and own[0][0].name in page and other.name in page
    page = _page(client, "/org/filed-in/")
    assert "本次查询共查到1条数据" in page and foreign[0][0].name in page
    page = _page(client, "/org/legacy-sites/")
    assert "本次查询共查到1条数据" in page and foreign[1][0].name in page
    page = _page(client, "/org/filed-physicians/")
    assert "本次查询共查到1条数据" in page and filed_p.name in page
    page = _page(client, "/org/accounts/")
    assert "本次查询共查到3条数据" in page
    assert own[0][2].phone not in page and own[0][2].phone[-4:] in page  # masked


def test_each_rows_detail_link_opens_that_physician(client, make, two, login_as):
    """查看详细信息 of every row of 主要执业机构为本机构的医师 (the link built once per page,
    the row's id put in) opens that physician's registration and no other."""
    import re
    mine, other, admin = two
    own = {reg.id: p.name for p, reg in
           (make.registered_physician(mine) for _ in range(3))}
    login_as(admin)
    links = re.findall(r'<a href="(/org/main-physicians/details/\?id=(\d+))">查看详细信息</a>',
                       _page(client, "/org/main-physicians/"))
    assert {int(rid) for _, rid in links} == set(own)
    for url, rid in links:
        details = _page(client, url)
        assert own[int(rid)] in details
        assert all(name not in details for other_id, name in own.items()
                   if other_id != int(rid))


def test_main_physicians_sort_by_name(client, make, two, login_as):
    """医师姓名 column sorts the institution's physicians by name (both ways, equal names in
    registration order), also for a physician whose name was corrected after registering."""
    mine, other, admin = two
    names = ["王五", "李四", "张三", "赵六", "李四"]
    regs = [make.registered_physician(mine)[1] for _ in names]
    for reg, name in zip(regs, names):
        reg.person.name = name
    db.session.commit()
    make.registered_physician(other)  # not in this institution's list
    login_as(admin)

    def order(url):
        html = _page(client, url)
        return [n for n in re.findall(r"[\u4e00-\u9fff]{2,3}", html) if n in names]

    rows = sorted(zip(names, [r.id for r in regs]))
    first_seen = []
    for n in order("/org/main-physicians/?sort=0"):
        if not first_seen or first_seen[-1] != n:
            first_seen.append(n)
    assert first_seen == sorted(set(names), key=[n for n, _ in rows].index)
    desc = []
    for n in order("/org/main-physicians/?sort=0&desc=1"):
        if not desc or desc[-1] != n:
            desc.append(n)
    assert desc == list(reversed(first_seen))


def test_main_physicians_pages_show_each_rows_own_relations(client, make, two, login_as):
    """Every page of 主执业机构在本院医师 — page 2 too (reached by OFFSET), in id and in name
    order — shows each physician with their own 所在科室, 执业范围 and 医师账户状态: a revoked
    account counts as none, another institution's physicians never appear."""
    from models.reference import PracticeScope
    mine, other, admin = two
    depts = [Department(institution_id=mine.id, name=f"第{i}病区") for i in range(5)]
    db.session.add_all(depts)
    db.session.commit()
    scope_names = {c: db.session.get(PracticeScope, c).name for c in ("11", "12")}
    expected = {}
    for i in range(25):
        codes = ("11", "12") if i % 2 else ("11",)
        p, reg = make.registered_physician(mine, scope_codes=codes)
        p.name = f"医{'甲乙丙丁戊'[i // 5]}{'子丑寅卯辰'[i % 5]}"
        reg.department_id = depts[i % 5].id
        if i % 3 == 0:
            make.physician_account(p, state=AccountState.ACTIVATED, institution_obj=mine)
            state = "已激活"
        elif i % 3 == 1:
            make.physician_account(p, state=AccountState.REVOKED, institution_obj=mine)
            state = "尚未注册账户"
        else:
            state = "尚未注册账户"
        db.session.commit()
        expected[p.name] = (depts[i % 5].name, [scope_names[c] for c in codes], state)
    foreign, _ = make.registered_physician(other)
    login_as(admin)
    for order in ("", "sort=0&", "sort=0&desc=1&"):
        seen = []
        for page in (0, 1):
            rows = list_rows_text(_page(client, f"/org/main-physicians/?{order}page={page}"))
            assert len(rows) == (20 if page == 0 else 5), (order, page)
            for row in rows:
                name = next(n for n in expected if n in row)
                dept, scopes, state = expected[name]
                assert dept in row and state in row, (order, page, row)
                assert all(s in row for s in scopes), (order, page, row)
                assert foreign.name not in row
                seen.append(name)
        assert sorted(seen) == sorted(expected), order
        if order:
            assert seen == sorted(expected, reverse="desc" in order), order


def test_list_cells_show_each_columns_value_escaped(client, make, two, login_as):
    """A list row's cells carry their column's class and its formatted value, with markup in
    stored text shown as text (a 科室 name written before names were checked)."""
    mine, _other, admin = two
    dept = Department(institution_id=mine.id, name='内科<b>一</b>&"病区"')
    db.session.add(dept)
    db.session.commit()
    person, reg = make.registered_physician(mine)
    reg.department_id = dept.id
    db.session.commit()
    login_as(admin)
    page = _page(client, "/org/main-physicians/")
    assert '<td class="col-department">内科&lt;b&gt;一&lt;/b&gt;&amp;&#34;病区&#34;</td>' in page
    assert f'<td class="col-person.name">{person.name}</td>' in page
    assert f'<td class="col-category">{reg.category.label}</td>' in page
    assert "<b>一</b>" not in page


def test_a_list_row_is_its_checkbox_its_row_actions_and_its_cells(app, make, two):
    """ScopedModelView.list_row draws a row as the stock block did: the checkbox of a list
    with bulk actions (none of the consoles has one yet; the stock list shows it for any),
    then the 查看 link to this row's details, then its cells in column order."""
    mine, _other, _admin = two
    person, reg = make.registered_physician(mine)
    db.session.commit()
    view = next(v for admin in app.extensions["admin"] for v in admin._views
                if v.url == "/org/main-physicians")
    template = app.jinja_env.from_string("<tr>{{ admin_view.list_row(row) }}</tr>")
    with app.test_request_context("/org/main-physicians/"):
        context = dict(admin_view=view, row=reg, return_url="/org/main-physicians/",
                       get_url=view.get_url, list_row_actions=view.get_list_row_actions())
        with_actions = template.render(actions=[("notify", "通知")], **context)
        without = template.render(actions=None, **context)
    cells = re.findall(r"<td[^>]*>.*?</td>", with_actions, re.S)
    assert cells[0] == ('<td><input type="checkbox" name="rowid" class="action-checkbox" '
                        f'value="{reg.id}" title="选择记录"></td>')
    assert cells[1].startswith('<td class="list-buttons-column"><a class="icon" href="')
    assert f"details/?id={reg.id}&amp;url=" in cells[1]
    assert [re.match(r'<td class="col-([^"]+)">', c).group(1) for c in cells[2:]] == \
        [c for c, _name in view._list_columns]
    assert f'<td class="col-person.name">{person.name}</td>' in cells
    assert "action-checkbox" not in without
    assert re.findall(r"<td[^>]*>.*?</td>", without, re.S) == cells[1:]


def test_a_page_loaded_with_its_relations_keeps_its_rows_and_order(make, two):
    """page_rows_with_loads on a page ordered by the list's own column and on one ordered by
    a joined table's column (the join then stays in the page's query), each as a later page
    (OFFSET) and as the first: the same rows, in the same order, as the page query alone,
    with the relations loaded."""
    from sqlalchemy.orm import joinedload

    from admin_views.base import page_rows_with_loads
    from models.registry import Person
    mine, other, _ = two
    for name in ["丙", "甲", "丁", "乙", "戊"]:
        p, reg = make.registered_physician(mine)
        p.name = f"医师{name}"
    make.registered_physician(other)
    db.session.commit()
    base = db.session.query(Registration).filter(Registration.institution_id == mine.id)
    pages = [base.order_by(Registration.person_name.desc(), Registration.id),
             base.join(Person).order_by(Person.name, Registration.id)]
    for page in [p.limit(3).offset(1) for p in pages] + [p.limit(3) for p in pages]:
        expected = [r.id for r in page.all()]
        db.session.expunge_all()
        rows = page_rows_with_loads(page, Registration,
                                    [joinedload(Registration.person)]).all()
        assert [r.id for r in rows] == expected and len(expected) == 3
        assert all("person" in r.__dict__ for r in rows)  # loaded, not lazily


def test_list_cells_show_what_flask_admin_would(app_ctx):
    """The console lists' cells (ScopedModelView._cell_value) look a value's type formatter
    up once per type: for every kind of value a list shows (None, text, bool, enum, list,
    date, a bool after an int, a str subclass), each cell reads as Flask-Admin's own
    _get_list_value would render it."""
    import datetime as dt
    import types

    from markupsafe import Markup

    from admin_views.base import ScopedModelView
    from models.enums import AccountState
    view = next(v for admin in app_ctx.extensions["admin"] for v in admin._views
                if isinstance(v, ScopedModelView))
    values = [None, "", "医师", True, False, 3, AccountState.ACTIVATED, ["甲", "乙"], [],
              dt.date(2020, 1, 2), dt.datetime(2020, 1, 2, 3, 4), Markup("<b>a</b>"), 0, True]
    for value in values:
        row = types.SimpleNamespace(shown=value)
        ours = view._cell_value(None, row, "shown", {})
        stock = view._get_list_value(None, row, "shown", {}, view.column_type_formatters)
        assert (type(ours), ours) == (type(stock), stock), value


def test_revoke_list_shows_each_accounts_own_registration(client, make, two, login_as):
    """撤销医师账户 lists this institution's live accounts, each with its own physician's
    执业范围 (one or two), and the statements do not grow with the rows."""
    from models.reference import PracticeScope
    from tests.test_query_counts import _render
    mine, other, admin = two
    names = {c: db.session.get(PracticeScope, c).name for c in ("11", "12", "13")}
    login_as(admin)
    expected, counts = {}, []
    for batch in (2, 8):
        for i in range(batch):
            codes = ("11", "12") if i % 2 else ("13",)
            p, reg, acct = fo.activated_physician(mine, scope_codes=codes)
            expected[acct.name] = [names[c] for c in codes]
        fo.activated_physician(other)
        statements, html = _render(client.application, client, "/org/revoke/")
        counts.append(len(statements))
    rows = re.findall(r"<tr><td>(.*?)</tr>", html, re.S)
    assert len(rows) == len(expected)
    for row in rows:
        name = next(n for n in expected if n in row)
        assert all(s in row for s in expected[name]), row
        assert not any(s in row for c, s in names.items() if s not in expected[name]), row
    assert counts[1] <= counts[0], counts


def test_foreign_ids_in_details_filters_and_exports_find_nothing(client, make, two, login_as):
    mine, other, admin = two
    _, own_reg, _ = fo.activated_physician(mine)
    fp, foreign_reg, foreign_acct = fo.activated_physician(other)
    foreign_dept = Department(institution_id=other.id, name="外院内科")
    db.session.add(foreign_dept)
    db.session.commit()
    foreign_reg.department_id = foreign_dept.id
    db.session.commit()
    login_as(admin)
    for url in [f"/org/main-physicians/details/?id={foreign_reg.id}",
                f"/org/accounts/details/?id={foreign_acct.id}",
                f"/org/other-provinces/details/?id={foreign_reg.id}"]:
        r = client.get(url)
        assert r.status_code in (302, 404)
        if r.status_code == 302:
            assert fp.name not in text_of(client.get(r.headers["Location"]))
    # the 所在科室 filter with another institution's department id
    page = _page(client, f"/org/main-physicians/?flt0_1={foreign_dept.id}")
    assert fp.name not in page and "本次查询共查到0条数据" in page
    assert "外院内科" not in page  # filter options are this institution's departments only
    # exports
    body = client.get("/org/main-physicians/export/csv/").get_data(as_text=True)
    assert fp.name not in body and own_reg.person.name in body
    # ajax lookups: nothing configured, nothing returned
    r = client.get("/org/main-physicians/ajax/lookup/?name=person&query=" + fp.name[:1])
    assert fp.name not in r.get_data(as_text=True)
    # bulk/edit endpoints are off
    assert client.get(f"/org/main-physicians/edit/?id={own_reg.id}").status_code in (302, 403,
                                                                                       404)


def test_main_list_filters_detail_and_export(client, make, two, login_as):
    mine, _, admin = two
    p1, r1, _ = fo.activated_physician(mine)
    p2, r2, _ = fo.activated_physician(mine)
    dept = Department(institution_id=mine.id, name="心内科")
    db.session.add(dept)
    db.session.commit()
    r1.department_id = dept.id
    r1.info_modified_on = r1.created_at
    db.session.commit()
    login_as(admin)
    page = _page(client, f"/org/main-physicians/?flt0_1={dept.id}")
    assert p1.name in page and p2.name not in page
    page = _page(client, "/org/main-physicians/?flt0_2=0")
    assert p2.name in page and p1.name not in page
    page = _page(client, "/org/main-physicians/?flt0_0=" + p2.name)
    assert p2.name in page and "本次查询共查到1条数据" in page
    assert "清空条件" in page
    detail = _page(client, f"/org/main-physicians/details/?id={r1.id}")
    assert "心内科" in detail and r1.person.id_number_masked in detail
    assert r1.person.id_number not in detail
    r = client.get("/org/main-physicians/export/csv/")
    assert r.status_code == 200
    disp = r.headers["Content-Disposition"]
    assert "主执业机构在本院医师" in unquote(disp.split("filename*=UTF-8''")[1])
    rows = list(csv.reader(io.StringIO(r.get_data(as_text=True))))
    assert rows[0][:3] == ["姓名", "性别", "身份证号"]
    assert {rows[1][2], rows[2][2]} == {r1.person.id_number_masked, r2.person.id_number_masked}
    assert r1.person.id_number not in r.get_data(as_text=True)
    x = client.get("/org/main-physicians/export/xlsx/")
    assert x.status_code == 200 and x.data[:2] == b"PK"


# ---------------------------------------------------------------- I5 activation codes

def test_generate_activation_code_once_and_send_it(client, make, two, login_as, outbox):
    mine, other, admin = two
    p, _, acct = fo.verified_physician(mine)
    activated_p, _, _ = fo.activated_physician(mine)
    _, _, foreign = fo.verified_physician(other)
    login_as(admin)
    page = _page(client, "/org/activation/")
    for label in ["姓名", "身份证号", "注册时间", "激活码", "是否激活", "资格验证状态", "操作",
                  "激活码生成时间", "激活时间"]:
        assert label in page
    assert "本次查询共查到2条数据" in page and foreign.name not in page
    assert acct.id_number_masked in page
    r = _post(client, "/org/activation/", "/org/activation/generate", {"single": acct.id})
    assert r.status_code == 302
    page = text_of(client.get(r.headers["Location"]))
    assert "已为" in page and "激活码已发送到手机" in page
    db.session.expire_all()
    code = db.session.scalar(sa.select(ActivationCode).where(ActivationCode.account_id == acct.id))
    assert code and code.institution_id == mine.id and code.sent_via == "sms"
    assert not set(code.code) & set("0O1IL2Z5S8B")
    sms = outbox.messages("sms", acct.phone)
    assert sms and code.code in sms[-1]["body"]
    # never twice
    r = _post(client, "/org/activation/", "/org/activation/generate", {"single": acct.id})
    page = text_of(client.get(r.headers["Location"]))
    assert "激活码已生成，不再重复发放" in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ActivationCode)) == 1
    # another institution's account → 404
    r = _post(client, "/org/activation/", "/org/activation/generate", {"single": foreign.id})
    assert r.status_code == 404
    r = _post(client, "/org/activation/", "/org/activation/generate",
              {"account_id": [acct.id, foreign.id]})
    assert r.status_code == 404
    # name search
    page = _page(client, "/org/activation/?name=" + activated_p.name)
    assert "本次查询共查到1条数据" in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditLog).where(
        AuditLog.action == "activation_code_generated")) == 1


def test_bulk_generation(client, make, two, login_as, outbox):
    mine, _, admin = two
    accts = [fo.verified_physician(mine)[2] for _ in range(3)]
    login_as(admin)
    r = _post(client, "/org/activation/", "/org/activation/generate",
              {"account_id": [a.id for a in accts]})
    page = text_of(client.get(r.headers["Location"]))
    assert "已生成3个激活码" in page
    assert len(outbox.messages("sms")) == 3


# ---------------------------------------------------------------- I6 revoke

def test_revoke_account_ends_sessions_and_allows_new_registration(client, app, make, two,
                                                                  login_as):
    mine, other, admin = two
    p, _, acct = fo.activated_physician(mine)
    _, _, foreign = fo.activated_physician(other)
    physician_client = app.test_client()
    login_as(acct, physician_client)
    login_as(admin)
    page = _page(client, "/org/revoke/")
    for label in ["姓名", "性别", "身份证号", "类别", "级别", "执业范围", "是否激活", "操作", "撤销账户"]:
        assert label in page
    assert foreign.name not in page
    assert client.get(f"/org/revoke/confirm?id={foreign.id}").status_code == 404
    confirm = _page(client, f"/org/revoke/confirm?id={acct.id}")
    assert "确认撤销" in confirm
    r = client.post("/org/revoke/revoke", data={"csrf_token": csrf_token(confirm),
                                                "id": foreign.id})
    assert r.status_code == 404
    r = client.post("/org/revoke/revoke", data={"csrf_token": csrf_token(confirm), "id": acct.id})
    assert r.status_code == 302
    db.session.expire_all()
    acct = db.session.get(PhysicianAccount, acct.id)
    assert acct.state == AccountState.REVOKED and acct.revoked_at is not None
    assert physician_client.get("/physician/").status_code in (302, 401, 403, 404)
    # the person can register again (partial unique index)
    again = make.physician_account(acct.person, username="again0001",
                                   state=AccountState.REGISTERED)
    assert again.id != acct.id


# ---------------------------------------------------------------- I2 / I3 / I4

def test_approving_authorities_limited_to_jurisdiction(client, make, login_as):
    nat = make.authority(name="国家卫生健康委员会", level=AuthorityLevel.NATIONAL,
                         region_code="110000")
    sx = make.authority(name="山西省卫生健康委员会", region_code="140000", parent=nat)
    sx_tcm = make.authority(name="山西省中医药管理局", region_code="140000", is_tcm=True)
    ty = make.authority(name="太原市卫生健康委员会", level=AuthorityLevel.MUNICIPAL,
                        region_code="140100", parent=sx)
    xd = make.authority(name="太原市小店区卫生健康局", level=AuthorityLevel.COUNTY,
                        region_code="140105", parent=ty)
    yz = make.authority(name="太原市迎泽区卫生健康局", level=AuthorityLevel.COUNTY,
                        region_code="140106", parent=ty)
    bj = make.authority(name="北京市卫生健康委员会", region_code="110000")
    closed = make.authority(name="太原市小店区卫生局（已撤销）", level=AuthorityLevel.COUNTY,
                            region_code="140105", parent=ty)
    closed.active = False
    inst = make.institution(region_code="140105", authority_obj=xd, with_authorities=False)
    login_as(make.institution_admin(inst))
    page = _page(client, "/org/authorities/")
    assert "临床类别医师审批机关" in page and "公卫类别医师审批机关" in page
    assert "当前设置为：尚未设置" in page and "修改设置：" in page and "请选择..." in page
    # national, province (its TCM bureau after it), city, county: in that order
    positions = [page.index(a.name) for a in (nat, sx, sx_tcm, ty, xd)]
    assert positions == sorted(positions)
    assert yz.name not in page and bj.name not in page and closed.name not in page
    token = csrf_token(page)
    r = client.post("/org/authorities/", data={"csrf_token": token, "cat_1": xd.id,
                                               "cat_4": sx_tcm.id})
    assert r.status_code == 302
    r = client.post("/org/authorities/", data={"csrf_token": token, "cat_2": bj.id})
    assert r.status_code == 200 and "请选择管辖本机构的审批机关" in text_of(r)
    db.session.expire_all()
    links = {link.category: link.authority_id for link in db.session.scalars(
        sa.select(InstitutionAuthority).where(InstitutionAuthority.institution_id == inst.id))}
    assert links == {PhysicianCategory.CLINICAL: xd.id, PhysicianCategory.TCM: sx_tcm.id}
    assert "当前设置为：" + xd.name in _page(client, "/org/authorities/")


def test_departments_and_physician_department(client, make, two, login_as):
    mine, other, admin = two
    p, reg, _ = fo.activated_physician(mine)
    p2, reg2, _ = fo.verified_physician(mine)
    _, foreign_reg, _ = fo.activated_physician(other)
    foreign_dept = Department(institution_id=other.id, name="外院科室")
    db.session.add(foreign_dept)
    db.session.commit()
    login_as(admin)
    page = _page(client, "/org/departments/")
    for label in ["第一步：请输入要设置的科室名称", "第二步：请为设置的科室选择诊疗科目",
                  "诊疗科目名称筛选", "03.01", "呼吸内科专业"]:
        assert label in page
    token = csrf_token(page)
    # server-side filter (no JS) keeps what was typed
    r = client.post("/org/departments/", data={"csrf_token": token, "action": "filter",
                                               "subject_filter": "外科", "name": "乳腺外科"})
    body = text_of(r)
    assert "普通外科专业" in body and "呼吸内科专业" not in body and 'value="乳腺外科"' in body
    r = client.post("/org/departments/", data={"csrf_token": token, "action": "add",
                                               "name": "乳腺外科", "subjects": []})
    assert "请为科室至少选择一个诊疗科目" in text_of(r)
    r = client.post("/org/departments/", data={"csrf_token": token, "action": "add",
                                               "name": "乳腺外科", "subjects": ["03", "04.01"]})
    assert r.status_code == 302
    page = _page(client, "/org/departments/")
    assert "乳腺外科" in page and "04.01" in page and "外院科室" not in page
    dept = db.session.scalar(sa.select(Department).where(Department.name == "乳腺外科"))
    assert sorted(s.code for s in dept.subjects) == ["03", "04.01"]
    # I4
    page = _page(client, "/org/physician-departments/")
    assert "只有已激活的医师才能修改其所在科室信息" in page
    token = csrf_token(page)
    assert client.post("/org/physician-departments/set", data={
        "csrf_token": token, "registration_id": foreign_reg.id,
        "department_id": dept.id}).status_code == 404
    client.post("/org/physician-departments/set", data={
        "csrf_token": token, "registration_id": reg.id, "department_id": foreign_dept.id})
    db.session.expire_all()
    assert db.session.get(Registration, reg.id).department_id is None
    client.post("/org/physician-departments/set", data={
        "csrf_token": token, "registration_id": reg2.id, "department_id": dept.id})
    db.session.expire_all()
    assert db.session.get(Registration, reg2.id).department_id is None  # not activated
    client.post("/org/physician-departments/set", data={
        "csrf_token": token, "registration_id": reg.id, "department_id": dept.id})
    db.session.expire_all()
    assert db.session.get(Registration, reg.id).department_id == dept.id
    # delete: foreign → 404; own → gone, physician's department cleared
    assert client.post("/org/departments/delete", data={
        "csrf_token": token, "id": foreign_dept.id}).status_code == 404
    dept_id = dept.id
    client.post("/org/departments/delete", data={"csrf_token": token, "id": dept_id})
    db.session.expire_all()
    assert db.session.get(Department, dept_id) is None
    assert db.session.get(Registration, reg.id).department_id is None


# ---------------------------------------------------------------- I9 review

def test_review_change_and_photo(client, make, two, login_as, outbox):
    mine, other, admin = two
    p, reg, acct = fo.activated_physician(mine)
    cr = fo.change_request(acct, reg)
    ph = fo.photo(acct, mine)
    fp, freg, facct = fo.activated_physician(other)
    fcr = fo.change_request(facct, freg)
    fph = fo.photo(facct, other)
    login_as(admin)
    page = _page(client, "/org/info-review/")
    assert p.name in page and fp.name not in page
    assert "信息有更新" in page and "相片有更新" in page
    assert client.get(f"/org/info-review/review?account_id={facct.id}").status_code == 404
    assert client.get(f"/org/info-review/photo/{fph.id}").status_code == 404
    img = client.get(f"/org/info-review/photo/{ph.id}")
    assert img.status_code == 200 and img.mimetype == "image/png"
    review = _page(client, f"/org/info-review/review?account_id={acct.id}")
    for label in ["个人信息修改对照原始资格信息", "该医师请求变更的内容", "该医师上传的个人相片",
                  "学历请求变更为", "北京大学医学部", "修改医生所在科室"]:
        assert label in review
    token = csrf_token(review)
    assert client.post("/org/info-review/decide", data={
        "csrf_token": token, "account_id": facct.id, "decision": "approve"}).status_code == 404
    r = client.post("/org/info-review/decide", data={"csrf_token": token, "account_id": acct.id,
                                                     "decision": "reject", "reason": ""})
    assert "请填写审核不通过的原因" in text_of(client.get(r.headers["Location"]))
    r = client.post("/org/info-review/decide", data={"csrf_token": token, "account_id": acct.id,
                                                     "decision": "approve"})
    assert r.status_code == 302
    db.session.expire_all()
    reg = db.session.get(Registration, reg.id)
    assert (reg.education_code, reg.school, reg.title_code, reg.photo_id) == \
        ("14", "北京大学医学部", "232", ph.id)
    assert reg.info_modified_on is not None
    assert db.session.get(type(cr), cr.id).status == ReviewStatus.APPROVED
    assert db.session.get(type(fcr), fcr.id).status == ReviewStatus.PENDING
    assert "审核通过" in outbox.messages("sms", acct.phone)[-1]["body"]
    assert p.name not in _page(client, "/org/info-review/")


# ---------------------------------------------------------------- I8 verification

def test_verification_by_id_number_is_audited(client, make, two, login_as):
    mine, other, admin = two
    fp, freg, _ = fo.activated_physician(other)
    login_as(admin)
    page = _page(client, "/org/verify-registration/")
    r = client.post("/org/verify-registration/", data={"csrf_token": csrf_token(page),
                                                       "id_number": fp.id_number})
    body = text_of(r)
    assert "本次查询共查到1条数据" in body and other.name in body and "业务状态" in body
    assert fp.id_number not in body
    r = client.post("/org/verify-qualification/", data={"csrf_token": csrf_token(page),
                                                        "id_number": fp.id_number})
    body = text_of(r)
    assert freg.qualification.code in body and "获得年度" in body and "发证机关" in body
    r = client.post("/org/verify-credit/", data={"csrf_token": csrf_token(page),
                                                 "id_number": "123"})
    assert "请输入正确的18位身份证号码" in text_of(r)
    # a known province with a county code that never existed: the same message, not a 500
    r = client.post("/org/verify-credit/", data={"csrf_token": csrf_token(page),
                                                 "id_number": "110001198503170011"})
    assert r.status_code == 200 and "请输入正确的18位身份证号码" in text_of(r)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditLog).where(
        AuditLog.action == "physician_lookup")) == 2


# ---------------------------------------------------------------- I15–I19

def test_statistics_profile_and_other_provinces(client, make, two, login_as):
    mine, other, admin = two
    p, reg, _ = fo.activated_physician(mine)
    beijing = make.institution(name="北京某医院", region_code="110105")
    make.registration(p, beijing)  # a second 执业地点 in another province
    fo.activated_physician(other)
    login_as(admin)
    page = _page(client, "/org/statistics/")
    assert "<svg" in page and "按医师类别" in page and "按年龄段" in page and "按性别" in page
    assert re.search(r"有效注册医师共\s*<strong>1</strong>", page)
    page = _page(client, "/org/other-provinces/")
    assert "北京某医院" in page and "本次查询共查到1条数据" in page
    page = _page(client, "/org/profile/")
    for label in ["标准名称", "执业许可证登记号", "地区", "地址", "负责人", "临床类别医师审批机关",
                  "待本院确认的业务申请", "逾期未报的注销/备案"]:
        assert label in page
    assert mine.license_no in page


def test_home_page_counts_only_this_institutions_physicians_and_work(client, make, two, login_as):
    mine, other, admin = two
    for inst, extra in ((mine, 0), (other, 2)):  # the other one has more of everything
        accounts = [fo.activated_physician(inst) for _ in range(2 + extra)]
        p, reg, acct = accounts[0]
        make.registered_physician(inst, status=RegistrationStatus.CANCELLED)
        make.physician_account(make.person(), state=AccountState.VERIFIED, institution_obj=inst)
        fo.change_request(acct, reg)
        fo.photo(acct, inst)
        fo.photo(accounts[1][2], inst).status = ReviewStatus.APPROVED
        for status, (p, reg, acct) in zip(
                (ApplicationStatus.SUBMITTED, ApplicationStatus.PENDING_APPROVAL), accounts):
            db.session.add(Application(
                type=ApplicationType.CHANGE, status=status, subject_key=f"p:{p.id}",
                account_id=acct.id, person_id=p.id, applicant_kind=UserKind.PHYSICIAN,
                confirming_institution_id=inst.id, authority_id=inst.licensing_authority_id,
                registration_id=reg.id, payload={"registration_id": reg.id}, reason="计数"))
    db.session.commit()
    login_as(admin)
    page = _page(client, "/org/")
    rows = dict(re.findall(r"<tr><t[dh][^>]*>([^<]+)</t[dh]><td>(?:<a [^>]*>)?(\d+)", page))
    assert rows["有效"] == "2" and rows["注销"] == "1" and rows["注册备案"] == "0"
    assert rows["已激活"] == "2" and rows["已验证未激活"] == "1" and rows["已撤销"] == "0"
    assert rows["待审核的信息修改"] == "1" and rows["待审核的个人相片"] == "1"
    assert rows["待本院确认的业务申请"] == "1"


def test_support_center(client, make, two, login_as):
    mine, _, admin = two
    f = FaqEntry(audience=FaqAudience.INSTITUTION, title="医师如何完成账户激活", answer="第一条\n第二条")
    hidden = FaqEntry(audience=FaqAudience.PHYSICIAN, title="医师端问题", answer="x")
    db.session.add_all([f, hidden])
    db.session.commit()
    login_as(admin)
    page = _page(client, "/org/support/")
    assert "医师如何完成账户激活" in page and "医师端问题" not in page
    assert "查看解决办法" in page
    assert client.get(f"/org/support/faq/{hidden.id}").status_code == 404
    assert "第二条" in _page(client, f"/org/support/faq/{f.id}")
    r = client.post("/org/support/", data={"csrf_token": csrf_token(page), "title": "",
                                           "body": "描述"})
    assert "请输入问题标题" in text_of(r)
    r = client.post("/org/support/", data={"csrf_token": csrf_token(page), "title": "如何导出",
                                           "body": "导出文件打不开"})
    assert r.status_code == 302
    page = _page(client, "/org/support/")
    assert "如何导出" in page and "总数：1" in page
    other_admin_client = client.application.test_client()
    from tests.helpers import login_client
    login_client(client.application, other_admin_client, make.institution_admin())
    qid = re.search(r"/org/support/question/(\d+)", page).group(1)
    assert other_admin_client.get(f"/org/support/question/{qid}").status_code == 404


def test_manual_downloads(client, two, login_as):
    login_as(two[2])
    page = _page(client, "/org/manuals/")
    assert "医疗机构端快速入门手册下载" in page
    for key in ("quickstart", "manual"):
        r = client.get(f"/org/manuals/download/{key}")
        assert r.status_code == 200 and "attachment" in r.headers["Content-Disposition"]
        assert "医师账户激活" in r.get_data(as_text=True)
    assert client.get("/org/manuals/download/../../etc").status_code == 404


def test_demo_faq_is_loaded_once(app_ctx, client, two, login_as):
    from seed.demo_org_help import load
    load({})
    load({})
    db.session.commit()
    titles = db.session.scalars(sa.select(FaqEntry.title).where(
        FaqEntry.audience == FaqAudience.INSTITUTION)).all()
    assert titles.count("医师如何完成账户激活") == 1
    assert "医疗机构如何打印业务申请表" in titles and "医师如何找回个人的账户信息" in titles
    login_as(two[2])
    page = _page(client, "/org/support/")
    fid = db.session.scalar(sa.select(FaqEntry.id).where(FaqEntry.title == "医师如何完成账户激活"))
    detail = _page(client, f"/org/support/faq/{fid}")
    assert "医师电子化注册账户信息仅需激活一次" in detail and "医师如何完成账户激活" in page


def test_physician_departments_shows_each_rows_own_relations(client, make, two, login_as):
    """本院医师所在科室信息维护: every row, on page 1 and on page 2 (reached by OFFSET), shows
    its own physician's 执业范围, account state and 所在科室 with that 科室's 诊疗科目; the
    statements do not grow with the rows."""
    from models.reference import PracticeScope, TreatmentSubject
    from tests.test_query_counts import _render
    mine, other, admin = two
    scope_names = {c: db.session.get(PracticeScope, c).name for c in ("11", "12", "13")}
    subject = {c: db.session.get(TreatmentSubject, c).display_name for c in ("03", "04.01")}
    depts = [Department(institution_id=mine.id, name="呼吸科"),
             Department(institution_id=mine.id, name="乳腺外科")]
    db.session.add_all(depts)
    db.session.flush()
    depts[0].subjects.append(db.session.get(TreatmentSubject, "03"))
    depts[1].subjects.append(db.session.get(TreatmentSubject, "04.01"))
    db.session.commit()
    login_as(admin)
    expected, counts = {}, []
    for batch in (2, 51):  # 53 rows in all: 50 on page 1, 3 on page 2
        for i in range(len(expected), len(expected) + batch):
            codes = ("11", "12") if i % 2 else ("13",)
            if i % 4 == 3:  # no account at all
                p, reg = make.registered_physician(mine, scope_codes=codes)
                state = "尚未注册账户"
            elif i % 4 == 2:  # a revoked account counts as none
                p, reg, acct = fo.activated_physician(mine, scope_codes=codes)
                acct.state = AccountState.REVOKED
                state = "尚未注册账户"
            elif i % 4 == 1:
                p, reg, acct = fo.verified_physician(mine, scope_codes=codes)
                state = AccountState.VERIFIED.label
            else:
                p, reg, acct = fo.activated_physician(mine, scope_codes=codes)
                state = AccountState.ACTIVATED.label
            dept = depts[i % 3] if i % 3 < 2 else None
            reg.department_id = dept.id if dept else None
            db.session.commit()
            expected[p.name] = ([scope_names[c] for c in codes], state,
                                dept.name if dept else None,
                                subject["03" if dept is depts[0] else "04.01"] if dept else None,
                                state == AccountState.ACTIVATED.label)
        fo.activated_physician(other)
        statements, html = _render(client.application, client, "/org/physician-departments/")
        counts.append(len(statements))
    assert counts[1] <= counts[0], counts
    seen = []
    for page in (0, 1):
        html = _page(client, f"/org/physician-departments/?page={page}")
        rows = re.findall(r"<tr><td>(.*?)</tr>", html, re.S)
        assert len(rows) == (50 if page == 0 else 3)
        for row in rows:
            cells = re.findall(r"<td>(.*?)</td>", "<td>" + row, re.S)
            name, scope_cell, state_cell, dept_cell = cells[0], cells[5], cells[6], cells[7]
            scopes, state, dept, subj, activated = expected[name]
            seen.append(name)
            assert sorted(scope_cell.split("，")) == sorted(scopes), row
            assert state_cell == state, row
            if activated:  # the 科室 chooser, with this row's 科室 selected and its 诊疗科目
                assert ("selected>" + dept in dept_cell) if dept else "selected>" not in dept_cell
                assert (f"诊疗科目：{subj}<" in dept_cell) if dept else "诊疗科目" not in dept_cell
            else:
                assert "<select" not in dept_cell and dept_cell.strip() == (dept or ""), row
    assert sorted(seen) == sorted(expected)
    # 输入医师姓名过滤: the rows of that name only, still with their own relations
    name = next(iter(expected))
    html = _page(client, f"/org/physician-departments/?name={name}")
    rows = re.findall(r"<tr><td>(.*?)</tr>", html, re.S)
    assert rows and all(row.startswith(f"{name}</td>") for row in rows)
    scope_cell = re.findall(r"<td>(.*?)</td>", "<td>" + rows[0], re.S)[5]
    assert sorted(scope_cell.split("，")) == sorted(expected[name][0])
