"""Factories for the business-application tests: a small world of two provinces."""
import datetime as dt
from dataclasses import dataclass

from models import db
from models.enums import (AccountState, PhysicianCategory, PhysicianLevel, UserKind,
                          VerificationOutcome)
from models.registry import Filing, LegacySite
from services import Actor
from tests import factories as f


@dataclass
class World:
    shanxi: object  # 山西省卫生健康委员会
    beijing: object
    old_inst: object  # 太原 hospital (140105)
    same_prov_inst: object  # another Shanxi hospital (140106)
    other_prov_inst: object  # a Beijing hospital (110105)
    person: object
    reg: object
    account: object


def world(level=PhysicianLevel.PHYSICIAN, category=PhysicianCategory.CLINICAL) -> World:
    shanxi = f.authority(name=f"山西省卫生健康委员会{f.n()}", region_code="140000")
    beijing = f.authority(name=f"北京市卫生健康委员会{f.n()}", region_code="110000")
    old = f.institution(name=f"太原市第{f.n()}人民医院", region_code="140105", authority_obj=shanxi)
    same = f.institution(name=f"太原市第{f.n()}中心医院", region_code="140106", authority_obj=shanxi)
    other = f.institution(name=f"北京朝阳第{f.n()}医院", region_code="110105", authority_obj=beijing)
    p, reg = f.registered_physician(old, level=level, category=category)
    acct = f.physician_account(p, institution_obj=old)
    return World(shanxi, beijing, old, same, other, p, reg, acct)


def physician_actor(acct) -> Actor:
    return Actor(UserKind.PHYSICIAN, acct.id, acct.name)


def org_actor(inst, user_id=None) -> Actor:
    return Actor(UserKind.CONSOLE, user_id, "机构管理员", institution_id=inst.id)


def gov_actor(authority, user_id=None) -> Actor:
    return Actor(UserKind.CONSOLE, user_id, "审批人员", authority_id=authority.id)


def filing(reg, inst) -> Filing:
    row = Filing(registration_id=reg.id, institution_id=inst.id,
                 authority_id=inst.licensing_authority_id, filed_on=dt.date(2020, 1, 1))
    db.session.add(row)
    db.session.commit()
    return row


def legacy_site(reg, inst) -> LegacySite:
    row = LegacySite(registration_id=reg.id, institution_id=inst.id,
                     authority_id=inst.licensing_authority_id, added_on=dt.date(2016, 1, 1))
    db.session.add(row)
    db.session.commit()
    return row


def unregistered_physician(level=PhysicianLevel.PHYSICIAN, category=PhysicianCategory.CLINICAL,
                           state=AccountState.ACTIVATED,
                           outcome=VerificationOutcome.SELF_ACTIVATE):
    p = f.person()
    q = f.qualification(p, level=level, category=category)
    acct = f.physician_account(p, state=state, outcome=outcome)
    return p, q, acct
