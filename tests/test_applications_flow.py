"""Every application type end to end through the HTTP surfaces: the physician's form on
/physician/, the institution's 同意 on /org/, the commission's 批准 on /gov/, then the register."""
import pytest
import sqlalchemy as sa

from models import db
from models.application import Application
from models.enums import (ApplicationStatus as S, FilingStatus, PhysicianLevel,
                          RegistrationStatus as R)
from models.registry import CertificateReissue, Filing, Registration
from tests import factories_applications as fa
from tests.helpers import csrf_token, text_of


def _post(client, get_url, post_url, data):
    token = csrf_token(text_of(client.get(get_url)))
    return client.post(post_url, data={**data, "csrf_token": token})


def _physician_submits(client, code, data):
    url = f"/physician/applications/new/{code}"
    r = _post(client, url, url, {**data, "submit_app": "1"})
    assert r.status_code == 302, text_of(r)
    return db.session.scalar(sa.select(Application).order_by(Application.id.desc()))


def _org_confirms(app, client, login_as, make, inst):
    login_as(make.institution_admin(inst), client)
    page = text_of(client.get("/org/applications/"))
    assert "办理业务" in page and "本次查询共查到1条数据" in page
    detail = text_of(client.get(f"/org/applications/{app.id}"))
    assert "医师的执业信息" in detail and "业务申请内容" in detail
    r = _post(client, f"/org/applications/{app.id}", f"/org/applications/{app.id}/decide",
              {"action": "agree", "opinion": "同意"})
    assert r.status_code == 302


def _gov_approves(app, client, login_as, make, authority):
    login_as(make.reviewer(authority), client)
    page = text_of(client.get("/gov/pending/"))
    assert "剩余工作日" in page and app.type.label in page
    r = _post(client, f"/gov/pending/{app.id}", f"/gov/pending/{app.id}/decide",
              {"action": "approve", "opinion": "准予"})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(Application, app.id).status == S.APPROVED


def _run(app_, w, client, login_as, make, code, data, confirm_inst, authority):
    login_as(w.account, client)
    a = _physician_submits(client, code, data)
    assert a.status == S.SUBMITTED
    _org_confirms(a, app_.test_client(), login_as, make, confirm_inst)
    _gov_approves(a, app_.test_client(), login_as, make, authority)
    db.session.expire_all()
    return a


def test_b1_registration(app, client, login_as, make):
    p, q, acct = fa.unregistered_physician()
    w = fa.world()
    w.account = acct
    _run(app, w, client, login_as, make, "B1",
         {"institution_id": w.old_inst.id, "qualification_id": q.id, "scope_codes": "11"},
         w.old_inst, w.shanxi)
    reg = db.session.scalar(sa.select(Registration).where(Registration.person_id == p.id))
    assert reg.status == R.VALID and reg.institution_id == w.old_inst.id


def test_b2_upgrade(app, client, login_as, make):
    w = fa.world(level=PhysicianLevel.ASSISTANT)
    q = make.qualification(w.person, level=PhysicianLevel.PHYSICIAN, year=2013)
    a = _run(app, w, client, login_as, make, "B2",
             {"registration_id": w.reg.id, "qualification_id": q.id}, w.old_inst, w.shanxi)
    assert db.session.get(Registration, w.reg.id).status == R.INVALID
    assert db.session.get(Registration, a.registration_id).level == PhysicianLevel.PHYSICIAN


def test_b3_military_in(app, client, login_as, make):
    p, q, acct = fa.unregistered_physician()
    p.is_military = True
    db.session.commit()
    w = fa.world()
    w.account = acct
    _run(app, w, client, login_as, make, "B3",
         {"institution_id": w.other_prov_inst.id, "qualification_id": q.id, "scope_codes": "11"},
         w.other_prov_inst, w.beijing)
    reg = db.session.scalar(sa.select(Registration).where(Registration.person_id == p.id))
    assert reg.status == R.VALID and reg.location_code == "110000"


def test_b4_to_military(app, client, login_as, make):
    w = fa.world()
    _run(app, w, client, login_as, make, "B4", {"registration_id": w.reg.id}, w.old_inst,
         w.shanxi)
    assert db.session.get(Registration, w.reg.id).status == R.INVALID


def test_b5_change_scope(app, client, login_as, make):
    w = fa.world()
    a = _run(app, w, client, login_as, make, "B5",
             {"registration_id": w.reg.id, "scope_codes": "12", "reason": "变更执业范围"},
             w.old_inst, w.shanxi)
    assert [s.code for s in db.session.get(Registration, w.reg.id).scopes] == ["12"]
    assert ("执业范围请求变更为", "外科专业") in [tuple(x) for x in a.payload["_summary"]]


def test_b6_cancellation(app, client, login_as, make):
    w = fa.world()
    _run(app, w, client, login_as, make, "B6",
         {"registration_id": w.reg.id, "reason_code": "C10"}, w.old_inst, w.shanxi)
    assert db.session.get(Registration, w.reg.id).status == R.CANCELLED


def test_b7_b8_filing_and_cancel(app, client, login_as, make):
    w = fa.world()
    _run(app, w, client, login_as, make, "B7",
         {"registration_id": w.reg.id, "institution_id": w.same_prov_inst.id},
         w.same_prov_inst, w.shanxi)
    f = db.session.scalar(sa.select(Filing))
    assert f.status == FilingStatus.VALID
    _run(app, w, app.test_client(), login_as, make, "B8", {"filing_id": f.id},
         w.same_prov_inst, w.shanxi)
    assert db.session.get(Filing, f.id).status == FilingStatus.CANCELLED


def test_b9_legacy_site_cancel(app, client, login_as, make):
    w = fa.world()
    site = fa.legacy_site(w.reg, w.same_prov_inst)
    _run(app, w, client, login_as, make, "B9", {"legacy_site_id": site.id}, w.same_prov_inst,
         w.shanxi)
    db.session.expire_all()
    assert site.status == FilingStatus.CANCELLED


def test_b12_reissue(app, client, login_as, make):
    w = fa.world()
    login_as(w.account, client)
    r = _post(client, "/physician/reissue/", "/physician/reissue/",
              {"registration_id": w.reg.id, "reissue_reason": "遗失", "submit_app": "1"})
    assert r.status_code == 302
    a = db.session.scalar(sa.select(Application))
    _org_confirms(a, app.test_client(), login_as, make, w.old_inst)
    _gov_approves(a, app.test_client(), login_as, make, w.shanxi)
    assert db.session.scalar(sa.select(CertificateReissue)).reason == "遗失"


@pytest.mark.parametrize("kind", ["filing", "cancel"])
def test_b10_b6_by_institution(app, client, login_as, make, kind):
    w = fa.world()
    login_as(make.institution_admin(w.old_inst), client)
    base = "/org/apply-filing/" if kind == "filing" else "/org/apply-cancel/"
    page = text_of(client.get(base))
    assert w.person.name in page and ("注册备案" if kind == "filing" else "申请注销") in page
    r = _post(client, f"{base}{w.reg.id}", f"{base}{w.reg.id}",
              {"reason_code": "F02" if kind == "filing" else "C06"})
    assert r.status_code == 302
    a = db.session.scalar(sa.select(Application))
    assert a.status == S.PENDING_APPROVAL
    assert "待审批" in text_of(client.get("/org/filing-cancel-list/"))
    _gov_approves(a, app.test_client(), login_as, make, w.shanxi)
    assert db.session.get(Registration, w.reg.id).status == (
        R.FILED if kind == "filing" else R.CANCELLED)


def test_b11_rename(app, client, login_as, make):
    w = fa.world()
    login_as(make.institution_admin(w.old_inst), client)
    r = _post(client, "/org/rename/", "/org/rename/", {"new_name": "太原市更名后医院"})
    assert r.status_code == 302
    a = db.session.scalar(sa.select(Application))
    _gov_approves(a, app.test_client(), login_as, make, w.shanxi)
    db.session.expire_all()
    assert w.old_inst.name == "太原市更名后医院"


def test_bad_input_shows_message_and_stores_nothing(app, client, login_as, make):
    w = fa.world()
    login_as(w.account, client)
    url = "/physician/applications/new/B5"
    r = _post(client, url, url, {"registration_id": w.reg.id, "scope_codes": "31",
                                 "submit_app": "1"})
    assert r.status_code == 400 and "不属于临床类别" in text_of(r)
    r = _post(client, url, url, {"registration_id": "abc", "submit_app": "1"})
    assert r.status_code == 400 and "请选择执业注册信息" in text_of(r)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Application)) == 0


def test_physician_withdraws_and_another_tenant_gets_404(app, client, login_as, make):
    w = fa.world()
    login_as(w.account, client)
    a = _physician_submits(client, "B12", {"registration_id": w.reg.id, "reissue_reason": "损毁"})
    page = text_of(client.get("/physician/applications/query"))
    assert "证书补办" in page and "已提交" in page
    r = _post(client, f"/physician/applications/{a.id}",
              f"/physician/applications/{a.id}/withdraw", {})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(Application, a.id).status == S.WITHDRAWN
    other = app.test_client()
    login_as(make.institution_admin(w.same_prov_inst), other)
    assert other.get(f"/org/applications/{a.id}").status_code == 404
    gov = app.test_client()
    login_as(make.reviewer(w.beijing), gov)
    assert gov.get(f"/gov/pending/{a.id}").status_code == 404


def test_guide_page_has_the_deck_texts(app, client, login_as, make):
    w = fa.world()
    login_as(w.account, client)
    page = text_of(client.get("/physician/applications/"))
    for text in ["业务说明", "助师升医师完成后，助理医师注册信息自动失效。", "点击进入", "规范化培训",
                 "进修", "对口支援", "会诊", "义诊", "医联体", "(10)、本人主动申请的"]:
        assert text in page


def test_p4c_physician_applies_before_activation_and_is_activated(app, client, login_as,
                                                                 make):
    from models.account import PhysicianAccount
    from models.enums import AccountState, ActivationMethod, VerificationOutcome
    p, q, acct = fa.unregistered_physician(state=AccountState.VERIFIED,
                                           outcome=VerificationOutcome.NON_ELECTRONIC)
    w = fa.world()
    login_as(acct, client)
    guide = text_of(client.get("/physician/applications/"))
    assert "/physician/applications/new/B1" in guide and "/physician/applications/new/B5" in guide
    assert "/physician/applications/new/B7" not in guide
    assert client.get("/physician/applications/new/B7").status_code == 302
    w.account = acct
    _run(app, w, client, login_as, make, "B1",
         {"institution_id": w.old_inst.id, "qualification_id": q.id, "scope_codes": "11"},
         w.old_inst, w.shanxi)
    acct = db.session.get(PhysicianAccount, acct.id)
    assert acct.state == AccountState.ACTIVATED
    assert acct.activation_method == ActivationMethod.APPROVAL


def test_not_activated_physician_cannot_apply(app, client, login_as, make):
    from models.enums import AccountState
    p, q, acct = fa.unregistered_physician(state=AccountState.VERIFIED)
    login_as(acct, client)
    r = client.get("/physician/applications/new/B1", follow_redirects=True)
    assert "尚未激活" in text_of(r)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Application)) == 0
