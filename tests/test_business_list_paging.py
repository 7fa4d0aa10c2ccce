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
