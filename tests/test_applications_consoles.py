"""The consoles' application lists: search, scoping, days left and overdue flag, audits."""
import datetime as dt

import sqlalchemy as sa

from models import db
from models.application import Application
from models.audit import AuditLog
from models.enums import ApplicationStatus as S, ApplicationType as T
from services import applications as svc
from tests import factories_applications as fa
from tests.helpers import text_of


def _reissue(w):
    return svc.submit_application(fa.physician_actor(w.account), w.account, T.CERTIFICATE_REISSUE,
                                  {"registration_id": w.reg.id, "reissue_reason": "遗失"})


def test_org_search_by_name_id_number_and_period(client, login_as, make):
    w = fa.world()
    other, other_reg = make.registered_physician(w.old_inst)
    other_acct = make.physician_account(other)
    a1 = _reissue(w)
    svc.submit_application(fa.physician_actor(other_acct), other_acct, T.CERTIFICATE_REISSUE,
                           {"registration_id": other_reg.id, "reissue_reason": "损毁"})
    login_as(make.institution_admin(w.old_inst))
    page = text_of(client.get("/org/applications/"))
    assert "本次查询共查到2条数据" in page
    for label in ["姓名", "身份证号", "业务类型", "申请日期", "操作", "办理业务"]:
        assert label in page
    assert w.person.id_number not in page and w.person.id_number_masked in page
    page = text_of(client.get("/org/applications/", query_string={"name": w.person.name}))
    assert "本次查询共查到1条数据" in page and other.name not in page
    page = text_of(client.get("/org/applications/",
                              query_string={"id_number": other.id_number}))
    assert "本次查询共查到1条数据" in page and other.name in page
    today = dt.date.today()
    page = text_of(client.get("/org/applications/", query_string={
        "date_from": (today - dt.timedelta(days=1)).isoformat(), "date_to": today.isoformat()}))
    assert "本次查询共查到2条数据" in page
    page = text_of(client.get("/org/applications/", query_string={
        "date_from": "2001-01-01", "date_to": "2001-12-31"}))
    assert "本次查询共查到0条数据" in page
    # detail shows the full number to the confirming institution and audits the view
    detail = text_of(client.get(f"/org/applications/{a1.id}"))
    assert w.person.id_number in detail and "补办原因：证书遗失" in detail
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditLog).where(
        AuditLog.action == "reveal_id_number")) == 1


def test_org_lists_are_scoped(client, login_as, make):
    w = fa.world()
    a = _reissue(w)
    login_as(make.institution_admin(w.same_prov_inst))
    assert "本次查询共查到0条数据" in text_of(client.get("/org/applications/"))
    assert client.get(f"/org/applications/{a.id}").status_code == 404
    token_page = text_of(client.get("/org/applications/"))
    from tests.helpers import csrf_token
    r = client.post(f"/org/applications/{a.id}/decide",
                    data={"action": "agree", "csrf_token": csrf_token(token_page)})
    assert r.status_code == 404
    db.session.expire_all()
    assert db.session.get(Application, a.id).status == S.SUBMITTED


def test_org_retracts_from_the_open_list(client, login_as, make):
    from tests.helpers import csrf_token
    w = fa.world()
    a = _reissue(w)
    svc.confirm_application(fa.org_actor(w.old_inst), a.id, True)
    login_as(make.institution_admin(w.old_inst))
    page = text_of(client.get("/org/applications-open/"))
    assert "撤销办理" in page and w.person.name in page
    r = client.post(f"/org/applications-open/{a.id}/retract",
                    data={"csrf_token": csrf_token(page)})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(Application, a.id).status == S.SUBMITTED


def test_gov_pending_shows_days_left_and_overdue_first(client, login_as, make):
    w = fa.world()
    late = _reissue(w)
    svc.confirm_application(fa.org_actor(w.old_inst), late.id, True)
    fresh_p, fresh_reg = make.registered_physician(w.old_inst)
    fresh_acct = make.physician_account(fresh_p)
    fresh = svc.submit_application(fa.physician_actor(fresh_acct), fresh_acct,
                                   T.CERTIFICATE_REISSUE,
                                   {"registration_id": fresh_reg.id, "reissue_reason": "损毁"})
    svc.confirm_application(fa.org_actor(w.old_inst), fresh.id, True)
    db.session.get(Application, late.id).accepted_on = dt.date.today() - dt.timedelta(days=60)
    db.session.commit()
    login_as(make.reviewer(w.shanxi))
    page = text_of(client.get("/gov/pending/"))
    assert "剩余工作日" in page and "已超期" in page
    assert page.index(w.person.name) < page.index(fresh_p.name)  # overdue first
    assert ">20<" in page.replace(" ", "").replace("\n", "")
    other = client.application.test_client()
    login_as(make.reviewer(w.beijing), other)
    assert w.person.name not in text_of(other.get("/gov/pending/"))


def test_gov_reject_without_reason_is_refused(client, login_as, make):
    from tests.helpers import csrf_token
    w = fa.world()
    a = _reissue(w)
    svc.confirm_application(fa.org_actor(w.old_inst), a.id, True, "同意补办")
    login_as(make.reviewer(w.shanxi))
    page = text_of(client.get(f"/gov/pending/{a.id}"))
    assert "同意补办" in page  # the institution's opinion
    r = client.post(f"/gov/pending/{a.id}/decide",
                    data={"action": "reject", "opinion": "", "csrf_token": csrf_token(page)},
                    follow_redirects=True)
    assert "不予批准须书面说明理由" in text_of(r)
    db.session.expire_all()
    assert db.session.get(Application, a.id).status == S.PENDING_APPROVAL
    r = client.post(f"/gov/pending/{a.id}/decide",
                    data={"action": "reject", "opinion": "材料不实",
                          "csrf_token": csrf_token(page)}, follow_redirects=True)
    assert "不予批准" in text_of(client.get("/gov/rejected/"))
    assert "材料不实" in text_of(client.get("/gov/rejected/"))


def test_roles_of_the_application_consoles(client, login_as, make):
    from models.enums import ConsoleRole
    r = client.get("/org/applications/")
    assert r.status_code == 302 and "/org/login" in r.headers["Location"]
    r = client.get("/gov/pending/")
    assert r.status_code == 302 and "/gov/login" in r.headers["Location"]
    w = fa.world()
    login_as(make.institution_admin(w.old_inst))
    assert client.get("/gov/pending/").status_code == 403
    other = client.application.test_client()
    login_as(make.console_user(ConsoleRole.SYSADMIN, authority_obj=w.shanxi), other)
    assert other.get("/gov/pending/").status_code == 403  # separation of duties
    assert other.get("/org/applications/").status_code == 403
    phys = client.application.test_client()
    login_as(w.account, phys)
    assert phys.get("/org/applications/").status_code in (302, 403)
