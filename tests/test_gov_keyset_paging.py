"""The national registry lists page by key: 下一页 / 上一页 carry the id of the row at the page's
edge, the next page is read with `id < key` (no OFFSET), and a page number typed far beyond
what OFFSET may serve gives a Chinese message and no rows."""
import html
import re

import pytest
import sqlalchemy as sa

from models import db
from models.enums import AuthorityLevel
from tests.helpers import text_of


@pytest.fixture()
def register(make):
    national = make.authority(name="国家卫生健康委员会", level=AuthorityLevel.NATIONAL,
                              region_code="110000")
    inst = make.institution(name="翻页测试医院")
    names = []
    for i in range(45):
        person = make.person(name="翻页医师" + "甲乙丙丁戊己庚辛壬癸"[i % 10] + "子丑寅卯辰巳午未申酉戌亥"[i // 10])
        make.registration(person, inst)
        names.append(person.name)
    return national, names[::-1]  # newest first, as the list shows them


def _names(page: str) -> list[str]:
    return re.findall(r"翻页医师..", page)


def _link(page: str, label: str) -> str | None:
    m = re.search(r'<a class="page-link"[^>]*href="([^"]+)"[^>]*>' + label + "</a>", page)
    return html.unescape(m.group(1)) if m else None


def test_next_and_previous_pages_follow_the_key(client, make, login_as, register):
    national, newest_first = register
    login_as(make.reviewer(national))
    first = text_of(client.get("/gov/registrations/"))
    assert _names(first) == newest_first[:20]
    assert "第 1 页" in first and _link(first, "上一页") is None

    statements = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().startswith("SELECT registration.id"):
            statements.append((statement, parameters))

    next_url = _link(first, "下一页")
    assert "after=" in next_url
    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        second = text_of(client.get(next_url))
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    assert _names(second) == newest_first[20:40]
    assert "第 2 页" in second
    # SQLite's dialect always writes `OFFSET ?` and binds 0; PostgreSQL writes none
    assert statements and all(
        "registration.id < " in s and ("OFFSET" not in s or list(p)[-1] == 0)
        for s, p in statements), statements

    third = text_of(client.get(_link(second, "下一页")))
    assert _names(third) == newest_first[40:]
    assert _link(third, "下一页") is None  # the last page

    back = text_of(client.get(_link(third, "上一页")))
    assert _names(back) == newest_first[20:40] and "第 2 页" in back
    home = text_of(client.get(_link(back, "首页")))
    assert _names(home) == newest_first[:20]


def test_a_page_number_beyond_the_offset_limit_asks_for_the_pager(client, make, login_as,
                                                                   register):
    national, newest_first = register
    login_as(make.reviewer(national))
    page = text_of(client.get("/gov/registrations/?page=900"))
    assert "列表只能直接跳转到第 101 页以内" in page
    assert _names(page) == []
    # a bad key is ignored, never a 500
    for bad in ("abc", "-5", "9" * 40):
        r = client.get(f"/gov/registrations/?page=1&after={bad}")
        assert r.status_code == 200


def test_a_page_by_number_joins_its_relations_for_its_own_rows_only(client, make, login_as,
                                                                    register):
    """A page number typed in (served by OFFSET) shows its rows with their 主要执业机构 and
    审批机关, in one statement whose page of ids is chosen first from registration alone:
    person, institution, authority and region are joined to the 20 rows shown, not to the
    rows the OFFSET skips as well (page 101 of the national register joined 2,020). The
    first page, which skips nothing, joins them directly."""
    national, newest_first = register
    login_as(make.reviewer(national))
    statements = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().startswith("SELECT registration.id"):
            statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        page = text_of(client.get("/gov/registrations/?page=1"))  # 第 2 页
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    assert _names(page) == newest_first[20:40] and "第 2 页" in page
    assert page.count("翻页测试医院") >= 20
    assert len(statements) == 1, statements
    inner = re.search(r"\(SELECT registration\.id AS id\s+FROM registration\s(.*?)\) AS anon_1",
                      statements[0], re.S)
    assert inner and "OFFSET" in inner.group(1) and "JOIN" not in inner.group(1), statements
    outer = statements[0].replace(inner.group(0), "")
    for table in ("person", "institution", "authority", "region"):
        assert f"JOIN {table} " in outer, outer
    # the first page skips nothing: its relations are joined directly, with no subquery
    statements.clear()
    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        first = text_of(client.get("/gov/registrations/"))
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    assert _names(first) == newest_first[:20] and first.count("翻页测试医院") >= 20
    assert len(statements) == 1 and "anon_1" not in statements[0], statements
