"""Small factories that build valid registry rows. Each returns a committed object.
Call inside an app context (the `make` fixture provides one)."""
import datetime as dt
import itertools

from stdnum.cn import ric

from models import db
from models.account import ConsoleUser, PhysicianAccount
from models.enums import (AccountState, AuthorityLevel, ConsoleRole, Gender, PhysicianCategory,
                          PhysicianLevel, QualificationKind, RegistrationStatus,
                          VerificationOutcome)
from models.institution import Authority, Institution, InstitutionAuthority
from models.reference import PracticeScope
from models.registry import Person, Qualification, Registration
from services.security import hash_password

_seq = itertools.count(1)
PASSWORD = "Passw0rd1"
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英"


def n() -> int:
    return next(_seq)


def id_number(area="110105", birth=dt.date(1985, 3, 17), seq=None, male=True) -> str:
    s = (seq if seq is not None else n()) % 500
    code = f"{s * 2 + (1 if male else 0):03d}"
    base = f"{area}{birth:%Y%m%d}{code}"
    full = base + ric.calc_check_digit(base + "0")  # it ignores the last character
    assert ric.is_valid(full)
    return full


def chinese_name(i=None) -> str:
    i = n() if i is None else i
    return SURNAMES[i % len(SURNAMES)] + GIVEN[(i // 3) % len(GIVEN)] + GIVEN[(i * 7) % len(GIVEN)]


def authority(name=None, level=AuthorityLevel.PROVINCIAL, region_code="140000", is_tcm=False,
              parent=None) -> Authority:
    a = Authority(name=name or f"测试卫生健康委员会{n()}", level=level, region_code=region_code,
                  is_tcm=is_tcm, parent_id=parent.id if parent else None)
    db.session.add(a)
    db.session.commit()
    return a


def institution(name=None, region_code="140105", authority_obj=None, with_authorities=True,
                phone="13900000000") -> Institution:
    authority_obj = authority_obj or authority(region_code=region_code[:2] + "0000")
    inst = Institution(name=name or f"测试医院{n()}", license_no=f"PDY{n():08d}",
                       region_code=region_code, address="测试路1号",
                       licensing_authority_id=authority_obj.id, responsible_person="张主任",
                       reserved_phone=phone)
    db.session.add(inst)
    db.session.flush()
    if with_authorities:
        for cat in PhysicianCategory:
            db.session.add(InstitutionAuthority(institution_id=inst.id, category=cat,
                                                authority_id=authority_obj.id))
    db.session.commit()
    return inst


def person(name=None, id_no=None, gender=Gender.MALE, birth=dt.date(1985, 3, 17),
           certificate_no=None) -> Person:
    p = Person(name=name or chinese_name(), gender=gender, birth_date=birth,
               ethnicity_code="01", certificate_no=certificate_no)
    p.id_number = id_no or id_number(birth=birth, male=gender == Gender.MALE)
    db.session.add(p)
    db.session.commit()
    return p


def qualification(person_obj, level=PhysicianLevel.PHYSICIAN,
                  category=PhysicianCategory.CLINICAL, year=2008, code=None) -> Qualification:
    q = Qualification(code=code or f"{year}14{n():011d}", person_id=person_obj.id, level=level,
                      category=category, year=year, school="山西医科大学", major="临床医学",
                      education_code="41", issuing_authority="山西省卫生厅",
                      kind=QualificationKind.NATIONAL_EXAM if year >= 1999
                      else QualificationKind.OLD_RULES)
    db.session.add(q)
    db.session.commit()
    return q


def registration(person_obj, inst, qual=None, level=PhysicianLevel.PHYSICIAN,
                 category=PhysicianCategory.CLINICAL, status=RegistrationStatus.VALID,
                 location_code=None, scope_codes=("11",), approved_on=dt.date(2015, 6, 1)):
    qual = qual or qualification(person_obj, level=level, category=category)
    if person_obj.certificate_no is None:
        person_obj.certificate_no = f"1101400{n():08d}"
    if location_code is None:
        location_code = (inst.province_code if level == PhysicianLevel.PHYSICIAN
                         else inst.region_code)
    r = Registration(person_id=person_obj.id, qualification_id=qual.id, level=level,
                     category=category, location_code=location_code, institution_id=inst.id,
                     authority_id=inst.licensing_authority_id, approved_on=approved_on,
                     status=status)
    r.scopes = [db.session.get(PracticeScope, c) for c in scope_codes]
    db.session.add(r)
    db.session.commit()
    return r


def registered_physician(inst, **kw):
    """A person with a qualification and a valid registration at `inst`."""
    p = person()
    reg = registration(p, inst, **kw)
    return p, reg


def physician_account(person_obj=None, *, name=None, id_no=None, username=None,
                      state=AccountState.ACTIVATED, phone=None, phone_verified=True,
                      institution_obj=None, outcome=VerificationOutcome.IN_REGISTER,
                      password=PASSWORD) -> PhysicianAccount:
    i = n()
    a = PhysicianAccount(
        username=username or f"doc{i:06d}", name=name or (person_obj.name if person_obj else
                                                          chinese_name(i)),
        phone=phone or f"139{i:08d}", email=f"doc{i}@example.com",
        password_hash=hash_password(password), state=state,
        verification_outcome=None if state == AccountState.REGISTERED else outcome,
        person_id=person_obj.id if person_obj else None,
        institution_id=institution_obj.id if institution_obj else None)
    a.id_number = id_no or (person_obj.id_number if person_obj else id_number())
    now = dt.datetime.utcnow()
    if phone_verified:
        a.phone_verified_at = now
    if state in (AccountState.VERIFIED, AccountState.ACTIVATED):
        a.verified_at = now
    if state == AccountState.ACTIVATED:
        a.activated_at = now
    db.session.add(a)
    db.session.commit()
    return a


def console_user(role=ConsoleRole.INSTITUTION_ADMIN, *, institution_obj=None,
                 authority_obj=None, username=None, password="Admin2026x",
                 phone="13800000000") -> ConsoleUser:
    u = ConsoleUser(username=username or f"user{n():05d}", display_name="测试管理员",
                    password_hash=hash_password(password), role=role,
                    institution_id=institution_obj.id if institution_obj else None,
                    authority_id=authority_obj.id if authority_obj else None, phone=phone)
    db.session.add(u)
    db.session.commit()
    return u


def institution_admin(inst=None, **kw) -> ConsoleUser:
    inst = inst or institution()
    return console_user(ConsoleRole.INSTITUTION_ADMIN, institution_obj=inst, **kw)


def reviewer(authority_obj=None, **kw) -> ConsoleUser:
    authority_obj = authority_obj or authority()
    return console_user(ConsoleRole.REVIEWER, authority_obj=authority_obj, **kw)
