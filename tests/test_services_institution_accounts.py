"""services.institution_accounts: generated credentials, default 审批机关, reset, disable."""
import re

import pytest
import sqlalchemy as sa

from models import db
from models.account import ConsoleUser, UserSession
from models.audit import AuditLog
from models.enums import AuthorityLevel, ConsoleRole, PhysicianCategory, UserKind
from services import Actor, DomainError
from services import institution_accounts as svc
from services.security import verify_password
from services.sessions import start_session

FIELDS = {"name": "测试县人民医院", "license_no": "PDY0001", "region_code": "140105",
          "address": "人民路1号", "responsible_person": "陈立", "reserved_phone": "13600000001"}


def _actor(user):
    return Actor(UserKind.CONSOLE, user.id, "审批员", authority_id=user.authority_id)


def test_generated_passwords_mix_letters_and_digits():
    for _ in range(200):
        pw = svc.generate_password()
        assert len(pw) == 10 and re.search(r"[A-Za-z]", pw) and re.search(r"\d", pw)
        assert not set(pw) & set("0O1lI")


def test_create_institution_in_a_city(make):
    shanxi = make.authority(name="山西省卫生健康委员会", region_code="140000")
    taiyuan = make.authority(name="太原市卫生健康委员会", level=AuthorityLevel.MUNICIPAL,
                             region_code="140100", parent=shanxi)
    tcm = make.authority(name="山西省中医药管理局", region_code="140000", is_tcm=True)
    actor = _actor(make.reviewer(taiyuan))
    inst, user = svc.create_institution(actor, **FIELDS)
    assert inst.licensing_authority_id == taiyuan.id
    assert inst.authority_for(PhysicianCategory.CLINICAL).id == taiyuan.id
    assert inst.authority_for(PhysicianCategory.TCM).id == tcm.id  # the province's TCM bureau
    assert re.fullmatch(r"org\d{6}", user.username) and user.must_change_password
    # outside a request the message waits in the outbox table (delivery comes later)
    from models.messaging import OutboxMessage
    msg = db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.to == "13600000001"))
    pw = re.search(r"初始密码：(\w+)", msg.body).group(1)
    assert verify_password(user.password_hash, pw)
    assert user.username in msg.body
    with pytest.raises(DomainError) as err:
        svc.create_institution(actor, **{**FIELDS, "license_no": "PDY0002", "region_code": "140213"})  # Datong
    assert err.value.field == "region_code"
    with pytest.raises(DomainError) as err:
        svc.create_institution(actor, **{**FIELDS, "name": "另一家"})
    assert err.value.field == "license_no"


def test_reset_and_disable_end_sessions(make):
    shanxi = make.authority(name="山西省卫生健康委员会", region_code="140000")
    actor = _actor(make.reviewer(shanxi))
    inst, user = svc.create_institution(actor, **FIELDS)
    start_session(user)
    db.session.commit()
    old_hash = user.password_hash
    svc.reset_institution_password(actor, inst)
    assert user.password_hash != old_hash
    live = db.session.scalar(sa.select(sa.func.count()).select_from(UserSession).where(
        UserSession.user_id == user.id, UserSession.revoked_at.is_(None)))
    assert live == 0
    svc.set_institution_active(actor, inst, False)
    assert not inst.active and not user.active and not user.is_active
    with pytest.raises(DomainError):
        svc.set_institution_active(actor, inst, False)
    actions = set(db.session.scalars(sa.select(AuditLog.action)))
    assert {"institution_created", "institution_password_reset",
            "institution_disabled"} <= actions


def test_commission_accounts_roles(make):
    shanxi = make.authority(name="山西省卫生健康委员会", region_code="140000")
    hebei = make.authority(name="河北省卫生健康委员会", region_code="130000")
    admin = make.console_user(ConsoleRole.SYSADMIN, authority_obj=shanxi)
    actor = _actor(admin)
    user = svc.create_commission_account(actor, display_name="审计员甲",
                                         role=ConsoleRole.AUDITOR, authority_id=shanxi.id,
                                         phone="13700000002")
    assert user.role == ConsoleRole.AUDITOR and user.username.startswith("gov")
    with pytest.raises(DomainError):
        svc.create_commission_account(actor, display_name="越权", role=ConsoleRole.REVIEWER,
                                      authority_id=hebei.id, phone="13700000003")
    with pytest.raises(DomainError):
        svc.create_commission_account(actor, display_name="机构", role=ConsoleRole.INSTITUTION_ADMIN,
                                      authority_id=shanxi.id, phone="13700000003")
    with pytest.raises(DomainError):
        svc.set_commission_account_active(actor, admin, False)  # not oneself
    svc.set_commission_account_active(actor, user, False)
    assert not db.session.get(ConsoleUser, user.id).active
