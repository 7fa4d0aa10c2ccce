"""Bulk and row actions with another tenant's ids do nothing to that tenant's rows:
/org/ 医师账户激活 (bulk 生成激活码), Flask-Admin's generic action endpoint of every model view
(there is no @action; `delete` must not run either), and /gov/ 医疗机构 row actions for a
municipal reviewer of 太原 against an institution in 大同."""
import pytest
import sqlalchemy as sa

from models import db
from models.account import ActivationCode, PhysicianAccount
from models.enums import AuthorityLevel, ConsoleRole
from models.institution import Institution
from tests import factories_org as fo
from tests.helpers import csrf_token, text_of


def _token(client, url):
    r = client.get(url)
    assert r.status_code == 200, (url, r.status_code)
    return csrf_token(text_of(r))


def _model_views(app, area):
    admin = next(a for a in app.extensions["admin"] if a.endpoint == area)
    return [v for v in admin._views if hasattr(v, "get_actions_list") and hasattr(v, "model")]


@pytest.fixture()
def org_two(make, login_as):
    mine = make.institution(name="甲医院")
    other = make.institution(name="乙医院")
    _, _, own_acct = fo.verified_physician(mine)
    _, _, foreign = fo.verified_physician(other)
    login_as(make.institution_admin(mine))
    return mine, other, own_acct, foreign


def _codes_for(account_id):
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count()).select_from(ActivationCode)
                             .where(ActivationCode.account_id == account_id))


def test_bulk_activation_codes_for_other_institution_do_nothing(client, org_two, outbox):
    mine, other, own_acct, foreign = org_two
    token = _token(client, "/org/activation/")
    for data in ({"account_id": [foreign.id]}, {"account_id": [own_acct.id, foreign.id]},
                 {"single": foreign.id}, {"account_id": [str(foreign.id), "x", "-1"]}):
        r = client.post("/org/activation/generate", data={"csrf_token": token, **data})
        assert r.status_code == 404, (data, r.status_code)
    assert _codes_for(foreign.id) == 0 and _codes_for(own_acct.id) == 0
    assert outbox.messages("sms", foreign.phone) == []


def test_flask_admin_action_endpoint_with_other_institutions_ids(app, client, org_two):
    mine, other, own_acct, foreign = org_two
    views = _model_views(app, "org")
    assert views
    for view in views:
        assert view.get_actions_list()[0] == [], view.endpoint  # no bulk action is offered
        token = _token(client, f"{view.url}/")
        for action in ("delete", "generate_codes", "nonexistent"):
            r = client.post(f"{view.url}/action/", data={
                "csrf_token": token, "action": action, "rowid": [str(foreign.id), "1"]})
            assert r.status_code in (302, 400, 403, 404), (view.endpoint, action, r.status_code)
    db.session.expire_all()
    assert db.session.get(PhysicianAccount, foreign.id) is not None
    assert db.session.get(Institution, other.id) is not None
    assert _codes_for(foreign.id) == 0


@pytest.fixture()
def cities(make, login_as):
    shanxi = make.authority(name="山西省卫生健康委员会", region_code="140000")
    taiyuan = make.authority(name="太原市卫生健康委员会", level=AuthorityLevel.MUNICIPAL,
                             region_code="140100", parent=shanxi)
    datong = make.authority(name="大同市卫生健康委员会", level=AuthorityLevel.MUNICIPAL,
                            region_code="140200", parent=shanxi)
    ty_inst = make.institution(name="太原小店医院", region_code="140105", authority_obj=taiyuan)
    dt_inst = make.institution(name="大同平城医院", region_code="140213", authority_obj=datong)
    login_as(make.console_user(ConsoleRole.REVIEWER, authority_obj=taiyuan))
    return ty_inst, dt_inst


def _institution_state(inst_id):
    db.session.expire_all()
    inst = db.session.get(Institution, inst_id)
    return inst.active, inst.password_hash if hasattr(inst, "password_hash") else None


def test_gov_row_actions_on_other_jurisdiction_do_nothing(client, cities, outbox):
    ty_inst, dt_inst = cities
    before = _institution_state(dt_inst.id)
    token = _token(client, "/gov/institutions/")
    for url in ("/gov/institutions/toggle/", "/gov/institutions/reset-password/"):
        r = client.post(f"{url}?id={dt_inst.id}", data={"csrf_token": token})
        assert r.status_code == 404, (url, r.status_code)
        r = client.post(url, data={"csrf_token": token, "id": str(dt_inst.id)})
        assert r.status_code == 404, (url, r.status_code)
    assert _institution_state(dt_inst.id) == before
    assert outbox.messages("sms", dt_inst.reserved_phone) == []
    # the same action on the reviewer's own institution works (the test can fail)
    r = client.post(f"/gov/institutions/toggle/?id={ty_inst.id}", data={"csrf_token": token})
    assert r.status_code == 302
    assert _institution_state(ty_inst.id)[0] is False


def test_gov_flask_admin_action_endpoint_with_other_jurisdiction_ids(app, client, cities):
    ty_inst, dt_inst = cities
    for view in _model_views(app, "gov"):
        assert view.get_actions_list()[0] == [], view.endpoint
        page = client.get(f"{view.url}/")
        if page.status_code != 200:  # views of other roles (审计, 系统管理)
            assert page.status_code == 403, (view.endpoint, page.status_code)
            continue
        token = csrf_token(text_of(page))
        r = client.post(f"{view.url}/action/", data={
            "csrf_token": token, "action": "delete", "rowid": [str(dt_inst.id)]})
        assert r.status_code in (302, 400, 403, 404), (view.endpoint, r.status_code)
    db.session.expire_all()
    assert db.session.get(Institution, dt_inst.id).active is True
