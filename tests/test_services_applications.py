"""services.applications: every type's effects and every rule's refusal (Chinese message)."""
import collections
import datetime as dt
import re

import pytest
import sqlalchemy as sa

from models import db
from models.application import Application, ApplicationEvent
from models.audit import AuditLog
from models.enums import (AccountState, ActivationMethod, ApplicationStatus as S,
                          ApplicationType as T, FilingStatus, PhysicianCategory,
                          PhysicianLevel, RegistrationStatus as R, VerificationOutcome,
                          CreditKind)
from models.institution import Institution, InstitutionAuthority
from models.registry import (CertificateReissue, CreditRecord, Filing, Registration,
                             RegistrationMove)
from services import DomainError
from services import applications as svc
from services import change_feed
from tests import factories_applications as fa


def _sms(to):
    from models.messaging import OutboxMessage
    return db.session.scalars(sa.select(OutboxMessage.body).where(OutboxMessage.to == to)).all()


def _through(app, confirm_inst, authority):
    if app.status == S.SUBMITTED:
        svc.confirm_application(fa.org_actor(confirm_inst), app.id, True, "同意")
    return svc.approve_application(fa.gov_actor(authority), app.id, "准予")


def test_change_main_institution_to_another_province(make, outbox):
    w = fa.world()
    cert = w.person.certificate_no
    app = svc.submit_application(fa.physician_actor(w.account), w.account, T.CHANGE,
                                 {"registration_id": w.reg.id,
                                  "institution_id": w.other_prov_inst.id,
                                  "scope_codes": ["12"], "reason": "工作调动"})
    assert app.status == S.SUBMITTED
    assert app.confirming_institution_id == w.other_prov_inst.id
    assert app.authority_id == w.beijing.id
    svc.confirm_application(fa.org_actor(w.other_prov_inst), app.id, True)
    db.session.expire_all()
    assert app.status == S.PENDING_APPROVAL and app.accepted_on == dt.date.today()
    svc.approve_application(fa.gov_actor(w.beijing), app.id)
    db.session.expire_all()
    regs = db.session.scalars(sa.select(Registration).where(
        Registration.person_id == w.person.id).order_by(Registration.id)).all()
    assert [r.status for r in regs] == [R.TRANSFERRED_OUT, R.VALID]
    assert regs[1].institution_id == w.other_prov_inst.id and regs[1].location_code == "110000"
    assert [s.code for s in regs[1].scopes] == ["12"]
    assert w.person.certificate_no == cert
    events = db.session.scalars(sa.select(ApplicationEvent).where(
        ApplicationEvent.application_id == app.id).order_by(ApplicationEvent.id)).all()
    assert [e.to_status for e in events] == [S.SUBMITTED, S.PENDING_APPROVAL, S.APPROVED]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditLog).where(
        AuditLog.action.like("application_%"))) == 3
    assert any("已批准" in m for m in _sms(w.account.phone))


def test_change_within_province_updates_in_place(make):
    w = fa.world()
    left = w.reg.institution_id
    app = svc.submit_application(fa.physician_actor(w.account), w.account, T.CHANGE,
                                 {"registration_id": w.reg.id,
                                  "institution_id": w.same_prov_inst.id, "scope_codes": ["11"]})
    _through(app, w.same_prov_inst, w.shanxi)
    db.session.expire_all()
    assert w.reg.status == R.VALID and w.reg.institution_id == w.same_prov_inst.id
    # the move is kept for the old institution's 医师变动信息 (调离本院)
    moves = db.session.scalars(sa.select(RegistrationMove)).all()
    assert [(m.registration_id, m.from_institution_id, m.to_institution_id, m.moved_on,
             m.application_id) for m in moves] == [
        (w.reg.id, left, w.same_prov_inst.id, dt.date.today(), app.id)]
    items = change_feed.changes_for_institution(left, dt.date.today())
    assert [(i.name, i.kind) for i in items] == [(w.person.name, "调离本院")]
    assert w.same_prov_inst.name in items[0].detail


def test_change_of_scope_at_the_same_institution_is_no_move(make):
    w = fa.world()
    w.reg.created_at = dt.datetime(2020, 1, 1, 8, 0)  # registered years ago
    app = svc.submit_application(fa.physician_actor(w.account), w.account, T.CHANGE,
                                 {"registration_id": w.reg.id,
                                  "institution_id": w.reg.institution_id, "scope_codes": ["12"]})
    _through(app, db.session.get(Institution, w.reg.institution_id), w.shanxi)
    db.session.expire_all()
    assert [s.code for s in w.reg.scopes] == ["12"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RegistrationMove)) == 0
    items = change_feed.changes_for_institution(w.reg.institution_id, dt.date.today())
    assert [(i.name, i.kind) for i in items] == [(w.person.name, "执业注册变更")]


def test_approval_reads_each_row_once(make):
    """The approval loads the application with its account and its authority in one
    statement (the locked row's; held for the whole transaction, not read again for the
    rules or the notice)."""
    w = fa.world()
    app = svc.submit_application(fa.physician_actor(w.account), w.account, T.CHANGE,
                                 {"registration_id": w.reg.id,
                                  "institution_id": w.same_prov_inst.id, "scope_codes": ["12"]})
    svc.confirm_application(fa.org_actor(w.same_prov_inst), app.id, True)
    app_id, actor = app.id, fa.gov_actor(w.shanxi)
    db.session.remove()  # a fresh request: nothing loaded yet
    selects = []

    def record(conn, cursor, statement, params, context, executemany):
        if statement.lstrip().upper().startswith("SELECT"):
            table = re.search(r"\bFROM\s+(\w+)", statement).group(1)
            selects.append((table, repr(params), statement))

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        svc.approve_application(actor, app_id, "准予")
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    assert db.session.get(Application, app_id).status == S.APPROVED
    tables = collections.Counter(x[0] for x in selects)
    assert tables["application"] == 1, selects
    assert tables["physician_account"] == tables["authority"] == 0, selects
    locked = next(x[2] for x in selects if x[0] == "application")
    assert "JOIN physician_account" in locked and "JOIN authority" in locked, locked
    # and no statement is run twice with the same parameters
    assert not [k for k, n in collections.Counter(selects).items() if n > 1], selects


def test_registration_assigns_a_certificate_number_once(make):
    p, q, acct = fa.unregistered_physician()
    w = fa.world()
    app = svc.submit_application(fa.physician_actor(acct), acct, T.REGISTRATION,
                                 {"institution_id": w.old_inst.id, "scope_codes": ["11", "21"]})
    _through(app, w.old_inst, w.shanxi)
    db.session.expire_all()
    assert p.certificate_no and len(p.certificate_no) == 15 and p.certificate_no.isdigit()
    reg = db.session.scalar(sa.select(Registration).where(Registration.person_id == p.id))
    assert reg.status == R.VALID and reg.location_code == "140000"
    assert reg.authority_id == w.shanxi.id


def test_assistant_registration_location_is_the_county(make):
    p, q, acct = fa.unregistered_physician(level=PhysicianLevel.ASSISTANT)
    w = fa.world()
    app = svc.submit_application(fa.physician_actor(acct), acct, T.REGISTRATION,
                                 {"institution_id": w.old_inst.id, "scope_codes": ["11"]})
    _through(app, w.old_inst, w.shanxi)
    reg = db.session.scalar(sa.select(Registration).where(Registration.person_id == p.id))
    assert reg.location_code == "140105" and reg.level == PhysicianLevel.ASSISTANT


def test_assistant_upgrade(make):
    w = fa.world(level=PhysicianLevel.ASSISTANT)
    make.qualification(w.person, level=PhysicianLevel.PHYSICIAN, year=2012)
    app = svc.submit_application(fa.physician_actor(w.account), w.account, T.ASSISTANT_UPGRADE,
                                 {"registration_id": w.reg.id})
    assert app.confirming_institution_id == w.old_inst.id
    _through(app, w.old_inst, w.shanxi)
    db.session.expire_all()
    assert w.reg.status == R.INVALID
    new = db.session.get(Registration, app.registration_id)
    assert new.level == PhysicianLevel.PHYSICIAN and new.status == R.VALID
    assert new.institution_id == w.old_inst.id and new.location_code == "140000"


def test_to_military_invalidates_every_local_registration(make):
    w = fa.world()
    second = make.registration(w.person, w.other_prov_inst, qual=w.reg.qualification)
    app = svc.submit_application(fa.physician_actor(w.account), w.account, T.TO_MILITARY,
                                 {"registration_id": w.reg.id})
    _through(app, w.old_inst, w.shanxi)
    db.session.expire_all()
    assert w.reg.status == R.INVALID and second.status == R.INVALID
    assert w.person.is_military


def test_military_in(make):
    p, q, acct = fa.unregistered_physician()
    p.is_military = True
    db.session.commit()
    w = fa.world()
    app = svc.submit_application(fa.physician_actor(acct), acct, T.MILITARY_IN,
                                 {"institution_id": w.other_prov_inst.id, "scope_codes": ["11"]})
    _through(app, w.other_prov_inst, w.beijing)
    reg = db.session.scalar(sa.select(Registration).where(Registration.person_id == p.id))
    assert reg.status == R.VALID and reg.location_code == "110000"


def test_cancellation_by_physician_and_by_institution(make):
    w = fa.world()
    app = svc.submit_application(fa.physician_actor(w.account), w.account, T.CANCELLATION,
                                 {"registration_id": w.reg.id, "reason_code": "C10"})
    _through(app, w.old_inst, w.shanxi)
    db.session.expire_all()
    assert w.reg.status == R.CANCELLED and w.reg.status_reason_code == "C10"
    w2 = fa.world()
    app2 = svc.submit_application(fa.org_actor(w2.old_inst), w2.old_inst, T.CANCELLATION,
                                  {"registration_id": w2.reg.id, "reason_code": "C06"})
    assert app2.status == S.PENDING_APPROVAL  # the institution itself confirmed
    svc.approve_application(fa.gov_actor(w2.shanxi), app2.id)
    db.session.expire_all()
    assert w2.reg.status == R.CANCELLED and w2.reg.status_reason_code == "C06"


def test_multi_filing_and_its_cancellation(make):
    w = fa.world()
    app = svc.submit_application(fa.physician_actor(w.account), w.account, T.MULTI_FILING,
                                 {"registration_id": w.reg.id,
                                  "institution_id": w.same_prov_inst.id})
    assert app.confirming_institution_id == w.same_prov_inst.id
    _through(app, w.same_prov_inst, w.shanxi)
    f = db.session.scalar(sa.select(Filing).where(Filing.registration_id == w.reg.id))
    assert f.status == FilingStatus.VALID and f.institution_id == w.same_prov_inst.id
    assert f.registration_institution_id == w.reg.institution_id  # 本院多执业机构备案医师
    app2 = svc.submit_application(fa.physician_actor(w.account), w.account,
                                  T.MULTI_FILING_CANCEL, {"filing_id": f.id})
    assert app2.confirming_institution_id == w.same_prov_inst.id
    _through(app2, w.same_prov_inst, w.shanxi)
    db.session.expire_all()
    assert f.status == FilingStatus.CANCELLED


def test_legacy_site_cancel(make):
    w = fa.world()
    site = fa.legacy_site(w.reg, w.same_prov_inst)
    app = svc.submit_application(fa.physician_actor(w.account), w.account,
                                 T.LEGACY_SITE_CANCEL, {"legacy_site_id": site.id})
    assert app.confirming_institution_id == w.same_prov_inst.id
    _through(app, w.same_prov_inst, w.shanxi)
    db.session.expire_all()
    assert site.status == FilingStatus.CANCELLED


def test_registration_filing_and_rename_by_institution(make):
    w = fa.world()
    app = svc.submit_application(fa.org_actor(w.old_inst), w.old_inst, T.REGISTRATION_FILING,
                                 {"registration_id": w.reg.id, "reason_code": "F02"})
    assert app.status == S.PENDING_APPROVAL
    svc.approve_application(fa.gov_actor(w.shanxi), app.id)
    db.session.expire_all()
    assert w.reg.status == R.FILED and w.reg.status_reason_code == "F02"
    app2 = svc.submit_application(fa.org_actor(w.old_inst), w.old_inst, T.INSTITUTION_RENAME,
                                  {"new_name": "太原市新名称医院"})
    assert app2.authority_id == w.old_inst.licensing_authority_id
    svc.approve_application(fa.gov_actor(w.shanxi), app2.id)
    db.session.expire_all()
    assert w.old_inst.name == "太原市新名称医院"
    row = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "institution_rename"))
    assert row.after == {"name": "太原市新名称医院"} and row.before["name"].startswith("太原市第")


def test_certificate_reissue(make):
    w = fa.world()
    app = svc.submit_application(fa.physician_actor(w.account), w.account,
                                 T.CERTIFICATE_REISSUE,
                                 {"registration_id": w.reg.id, "reissue_reason": "遗失"})
    _through(app, w.old_inst, w.shanxi)
    row = db.session.scalar(sa.select(CertificateReissue))
    assert row.registration_id == w.reg.id and row.reason == "遗失"


def test_p4c_account_is_activated_by_approval(make):
    p, q, acct = fa.unregistered_physician(state=AccountState.VERIFIED,
                                           outcome=VerificationOutcome.NON_ELECTRONIC)
    w = fa.world()
    with pytest.raises(DomainError, match="尚未激活"):
        svc.submit_application(fa.physician_actor(acct), acct, T.MULTI_FILING_CANCEL,
                               {"filing_id": 1})
    app = svc.submit_application(fa.physician_actor(acct), acct, T.REGISTRATION,
                                 {"institution_id": w.old_inst.id, "scope_codes": ["11"]})
    _through(app, w.old_inst, w.shanxi)
    db.session.expire_all()
    assert acct.state == AccountState.ACTIVATED
    assert acct.activation_method == ActivationMethod.APPROVAL


# ---- transitions ------------------------------------------------------------------------

def test_withdraw_only_while_submitted(make):
    w = fa.world()
    app = svc.submit_application(fa.physician_actor(w.account), w.account, T.CERTIFICATE_REISSUE,
                                 {"registration_id": w.reg.id, "reissue_reason": "损毁"})
    svc.withdraw_application(fa.physician_actor(w.account), w.account, app.id)
    db.session.expire_all()
    assert app.status == S.WITHDRAWN
    app2 = svc.submit_application(fa.physician_actor(w.account), w.account,
                                  T.CERTIFICATE_REISSUE,
                                  {"registration_id": w.reg.id, "reissue_reason": "损毁"})
    svc.confirm_application(fa.org_actor(w.old_inst), app2.id, True)
    with pytest.raises(DomainError, match="不能撤回"):
        svc.withdraw_application(fa.physician_actor(w.account), w.account, app2.id)


def test_institution_disagrees_with_opinion_and_can_retract(make):
    w = fa.world()
    app = svc.submit_application(fa.physician_actor(w.account), w.account, T.CERTIFICATE_REISSUE,
                                 {"registration_id": w.reg.id, "reissue_reason": "损毁"})
    with pytest.raises(DomainError, match="请填写意见"):
        svc.confirm_application(fa.org_actor(w.old_inst), app.id, False, "")
    svc.confirm_application(fa.org_actor(w.old_inst), app.id, True)
    svc.retract_confirmation(fa.org_actor(w.old_inst), app.id)
    db.session.expire_all()
    assert app.status == S.SUBMITTED and app.accepted_on is None
    svc.confirm_application(fa.org_actor(w.old_inst), app.id, False, "材料不全")
    db.session.expire_all()
    assert app.status == S.INSTITUTION_REJECTED and app.institution_opinion == "材料不全"
    # another institution cannot confirm
    app2 = svc.submit_application(fa.physician_actor(w.account), w.account,
                                  T.CERTIFICATE_REISSUE,
                                  {"registration_id": w.reg.id, "reissue_reason": "损毁"})
    with pytest.raises(DomainError, match="不存在"):
        svc.confirm_application(fa.org_actor(w.same_prov_inst), app2.id, True)


def test_reject_needs_reasons_and_notifies_applicant_and_institution(make, outbox):
    w = fa.world()
    app = svc.submit_application(fa.physician_actor(w.account), w.account, T.CERTIFICATE_REISSUE,
                                 {"registration_id": w.reg.id, "reissue_reason": "损毁"})
    svc.confirm_application(fa.org_actor(w.old_inst), app.id, True)
    with pytest.raises(DomainError, match="书面说明理由"):
        svc.reject_application(fa.gov_actor(w.shanxi), app.id, "  ")
    with pytest.raises(DomainError, match="不存在"):
        svc.reject_application(fa.gov_actor(w.beijing), app.id, "不是我的")
    svc.reject_application(fa.gov_actor(w.shanxi), app.id, "证书未遗失")
    assert any("证书未遗失" in m for m in _sms(w.account.phone))
    assert any("证书未遗失" in m for m in _sms(w.old_inst.reserved_phone))
    with pytest.raises(DomainError, match="该业务已被其他人处理"):
        svc.approve_application(fa.gov_actor(w.shanxi), app.id)


def test_another_authority_cannot_approve_and_nothing_changes(make, outbox):
    w = fa.world()
    app = svc.submit_application(fa.physician_actor(w.account), w.account, T.CERTIFICATE_REISSUE,
                                 {"registration_id": w.reg.id, "reissue_reason": "损毁"})
    svc.confirm_application(fa.org_actor(w.old_inst), app.id, True)
    audits = db.session.scalar(sa.select(sa.func.count()).select_from(AuditLog))
    with pytest.raises(DomainError, match="该业务申请不存在"):
        svc.approve_application(fa.gov_actor(w.beijing), app.id, "同意")
    db.session.expire_all()
    assert app.status == S.PENDING_APPROVAL and app.decided_at is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CertificateReissue)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditLog)) == audits
    # the right authority approves; afterwards another authority still sees 不存在, not 已处理
    svc.approve_application(fa.gov_actor(w.shanxi), app.id, "同意")
    with pytest.raises(DomainError, match="该业务申请不存在"):
        svc.approve_application(fa.gov_actor(w.beijing), app.id)
    with pytest.raises(DomainError, match="该业务申请不存在"):
        svc.approve_application(fa.gov_actor(w.shanxi), 10 ** 9)


# ---- rules --------------------------------------------------------------------------------

def test_one_open_application_per_type(make):
    w = fa.world()
    args = (fa.physician_actor(w.account), w.account, T.CERTIFICATE_REISSUE,
            {"registration_id": w.reg.id, "reissue_reason": "遗失"})
    svc.submit_application(*args)
    with pytest.raises(DomainError, match="请勿重复提交"):
        svc.submit_application(*args)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Application)) == 1


def test_scope_must_belong_to_the_category(make):
    w = fa.world()
    with pytest.raises(DomainError, match="不属于临床类别"):
        svc.submit_application(fa.physician_actor(w.account), w.account, T.CHANGE,
                               {"registration_id": w.reg.id, "scope_codes": ["31"]})
    with pytest.raises(DomainError, match="请选择执业范围"):
        svc.submit_application(fa.physician_actor(w.account), w.account, T.CHANGE,
                               {"registration_id": w.reg.id, "institution_id": w.same_prov_inst.id})


def test_category_change_needs_a_qualification_of_that_category(make):
    w = fa.world()
    with pytest.raises(DomainError, match="没有口腔类别的"):
        svc.submit_application(fa.physician_actor(w.account), w.account, T.CHANGE,
                               {"registration_id": w.reg.id, "category": "2",
                                "scope_codes": ["31"]})


def test_registration_rules(make):
    w = fa.world()
    with pytest.raises(DomainError, match="已有有效注册"):
        svc.submit_application(fa.physician_actor(w.account), w.account, T.REGISTRATION,
                               {"institution_id": w.same_prov_inst.id, "scope_codes": ["11"]})
    p, q, acct = fa.unregistered_physician(level=PhysicianLevel.ASSISTANT)
    make.registration(p, w.old_inst, qual=q, level=PhysicianLevel.ASSISTANT)
    with pytest.raises(DomainError, match="只能注册一个执业地点"):
        svc.submit_application(fa.physician_actor(acct), acct, T.REGISTRATION,
                               {"institution_id": w.other_prov_inst.id, "scope_codes": ["11"]})


def test_re_registration_bars(make):
    w = fa.world()
    p, q, acct = fa.unregistered_physician()
    db.session.add(CreditRecord(person_id=p.id, kind=CreditKind.PENALTY, description="吊销",
                                decided_on=dt.date.today() - dt.timedelta(days=300),
                                authority_id=w.shanxi.id, revokes_certificate=True))
    db.session.commit()
    with pytest.raises(DomainError, match="被吊销医师执业证书，不满二年"):
        svc.submit_application(fa.physician_actor(acct), acct, T.REGISTRATION,
                               {"institution_id": w.old_inst.id, "scope_codes": ["11"]})
    p2, q2, acct2 = fa.unregistered_physician()
    old = make.registration(p2, w.other_prov_inst, qual=q2, status=R.CANCELLED)
    old.status_reason_code, old.status_changed_on = "C04", dt.date.today() - dt.timedelta(days=30)
    db.session.commit()
    with pytest.raises(DomainError, match="考核不合格被注销注册，不满一年"):
        svc.submit_application(fa.physician_actor(acct2), acct2, T.REGISTRATION,
                               {"institution_id": w.old_inst.id, "scope_codes": ["11"]})


def test_institution_without_authority_for_the_category(make):
    w = fa.world()
    db.session.execute(sa.delete(InstitutionAuthority).where(
        InstitutionAuthority.institution_id == w.same_prov_inst.id))
    db.session.commit()
    with pytest.raises(DomainError, match="该机构尚未设置临床类别医师的审批机关"):
        svc.submit_application(fa.physician_actor(w.account), w.account, T.CHANGE,
                               {"registration_id": w.reg.id,
                                "institution_id": w.same_prov_inst.id, "scope_codes": ["11"]})


def test_upgrade_needs_a_physician_qualification_of_the_same_category(make):
    w = fa.world(level=PhysicianLevel.ASSISTANT)
    make.qualification(w.person, level=PhysicianLevel.PHYSICIAN,
                       category=PhysicianCategory.DENTAL)
    with pytest.raises(DomainError, match="没有临床类别的执业医师资格"):
        svc.submit_application(fa.physician_actor(w.account), w.account, T.ASSISTANT_UPGRADE,
                               {"registration_id": w.reg.id})


def test_not_activated_account_cannot_apply(make):
    w = fa.world()
    w.account.state = AccountState.VERIFIED
    db.session.commit()
    with pytest.raises(DomainError, match="尚未激活"):
        svc.submit_application(fa.physician_actor(w.account), w.account, T.CHANGE,
                               {"registration_id": w.reg.id, "scope_codes": ["12"]})


def test_rules_are_checked_again_at_approval(make):
    w = fa.world()
    app = svc.submit_application(fa.physician_actor(w.account), w.account, T.MULTI_FILING,
                                 {"registration_id": w.reg.id,
                                  "institution_id": w.same_prov_inst.id})
    svc.confirm_application(fa.org_actor(w.same_prov_inst), app.id, True)
    w.reg.status = R.CANCELLED  # the world changed meanwhile
    db.session.commit()
    with pytest.raises(DomainError, match="审批时复核未通过"):
        svc.approve_application(fa.gov_actor(w.shanxi), app.id)
    db.session.expire_all()
    assert app.status == S.PENDING_APPROVAL  # nothing applied, still pending
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Filing)) == 0


def test_filing_reason_and_institution_scope(make):
    w = fa.world()
    with pytest.raises(DomainError, match="请选择备案原因"):
        svc.submit_application(fa.org_actor(w.old_inst), w.old_inst, T.REGISTRATION_FILING,
                               {"registration_id": w.reg.id, "reason_code": "C01"})
    with pytest.raises(DomainError, match="不是主执业机构在本院的医师"):
        svc.submit_application(fa.org_actor(w.same_prov_inst), w.same_prov_inst,
                               T.REGISTRATION_FILING,
                               {"registration_id": w.reg.id, "reason_code": "F01"})
