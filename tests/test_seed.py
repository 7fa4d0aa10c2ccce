"""Demo data (`seed.demo.load_demo`, the demo.json contract) and the scale generator."""
import collections
import re

import pytest
import sqlalchemy as sa
from stdnum.cn import ric

from models import db
from models.account import ActivationCode, ChangeRequest, ConsoleUser, PhysicianAccount
from models.enums import (AccountState, ActivationMethod, AssessmentResult, ConsoleRole,
                          FilingStatus, Gender, PhysicianCategory, PhysicianLevel, RegionLevel,
                          RegistrationStatus, VerificationOutcome)
from models.identity import id_blind_index
from models.institution import Authority, Department, Institution, InstitutionAuthority
from models.reference import Region
from models.registry import (Assessment, CreditRecord, Filing, LegacySite, Person, Qualification,
                             Registration, registration_scope)

CHINESE_NAME = re.compile(r"^[\u4e00-\u9fff·]{2,}$")
COUNTED = [Authority, Institution, InstitutionAuthority, Department, Person, Qualification,
           Registration, Filing, LegacySite, Assessment, CreditRecord, PhysicianAccount,
           ConsoleUser, ActivationCode, ChangeRequest]
LOGIN_URLS = {"physician": "/physician/login", "institution": "/org/login",
              "commission": "/gov/login", "sysadmin": "/gov/login", "auditor": "/gov/login"}


def counts() -> dict:
    out = {m.__name__: db.session.scalar(sa.select(sa.func.count()).select_from(m))
           for m in COUNTED}
    out["registration_scope"] = db.session.scalar(
        sa.select(sa.func.count()).select_from(registration_scope))
    return out


@pytest.fixture()
def demo(db_session):
    from seed.demo import load_demo
    return load_demo()


def test_demo_is_idempotent(demo):
    from seed.demo import load_demo
    before = counts()
    assert before["Person"] >= 300
    again = load_demo()
    assert counts() == before
    assert again == demo


def test_demo_json_contract(demo):
    from services.security import verify_password
    assert set(demo) == {"accounts", "unregistered"}
    roles = collections.Counter(a["role"] for a in demo["accounts"])
    assert set(roles) == set(LOGIN_URLS)
    usernames = [a["username"] for a in demo["accounts"]]
    assert len(usernames) == len(set(usernames))
    for a in demo["accounts"]:
        assert set(a) <= {"role", "username", "password", "login_url", "institution",
                          "authority", "state"}, a
        assert a["login_url"] == LOGIN_URLS[a["role"]]
        if a["role"] == "physician":
            acc = db.session.scalar(sa.select(PhysicianAccount).filter_by(username=a["username"]))
            assert acc is not None, a
            assert a["state"] == acc.state.label
            assert re.fullmatch(r"[A-Za-z][A-Za-z0-9]{5,11}", a["username"])
            assert re.fullmatch(r"(?=.*[A-Za-z])(?=.*\d)[A-Za-z0-9]{6,16}", a["password"])
            if "institution" in a:
                assert acc.institution.name == a["institution"]
        else:
            acc = db.session.scalar(sa.select(ConsoleUser).filter_by(username=a["username"]))
            assert acc is not None, a
            assert acc.active
            assert re.fullmatch(r"(?=.*[A-Za-z])(?=.*\d)[A-Za-z0-9]{8,16}", a["password"])
            role = {"institution": ConsoleRole.INSTITUTION_ADMIN,
                    "commission": ConsoleRole.REVIEWER, "sysadmin": ConsoleRole.SYSADMIN,
                    "auditor": ConsoleRole.AUDITOR}[a["role"]]
            assert acc.role == role
            if a["role"] == "institution":
                assert acc.institution.name == a["institution"]
                assert acc.phone == acc.institution.reserved_phone
            else:
                assert acc.authority.name == a["authority"]
        assert verify_password(acc.password_hash, a["password"]), a["username"]
        assert not verify_password(acc.password_hash, a["password"] + "x")

    states = {a["state"] for a in demo["accounts"] if a["role"] == "physician"}
    assert states == {s.label for s in AccountState}
    by_name = {a["username"]: a for a in demo["accounts"]}
    for username in ("yisheng01", "yisheng02", "sxdxyy", "sxwjw", "tywjw", "xdqwjj", "bjwjw",
                     "gjwjw", "sysadmin", "auditor"):
        assert username in by_name
    assert by_name["yisheng01"]["state"] == AccountState.ACTIVATED.label
    assert by_name["yisheng01"]["institution"] == "山西大学医院"
    assert by_name["sxdxyy"]["institution"] == "山西大学医院"

    outcomes = collections.Counter(u["outcome"] for u in demo["unregistered"])
    for outcome in ("in_register", "self_activate", "not_found", "non_electronic_province"):
        assert outcomes[outcome] >= 2, outcomes


def test_featured_physicians(demo):
    acc = db.session.scalar(sa.select(PhysicianAccount).filter_by(username="yisheng01"))
    assert acc.state == AccountState.ACTIVATED
    assert acc.activation_method == ActivationMethod.INSTITUTION_CODE
    assert acc.phone_verified_at is not None
    code = db.session.scalar(sa.select(ActivationCode).filter_by(account_id=acc.id))
    assert code is not None and code.used_at is not None
    assert code.institution_id == acc.institution_id
    reg = db.session.scalar(sa.select(Registration).filter_by(
        person_id=acc.person_id, status=RegistrationStatus.VALID))
    assert reg.level == PhysicianLevel.PHYSICIAN and reg.category == PhysicianCategory.CLINICAL
    assert reg.institution.name == "山西大学医院" and reg.location_code == "140000"
    assert reg.filings and reg.filings[0].status == FilingStatus.VALID
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Assessment).filter_by(
        person_id=acc.person_id)) >= 1
    assert acc.name == acc.person.name and acc.id_number == acc.person.id_number

    acc2 = db.session.scalar(sa.select(PhysicianAccount).filter_by(username="yisheng02"))
    reg2 = db.session.scalar(sa.select(Registration).filter_by(
        person_id=acc2.person_id, status=RegistrationStatus.VALID))
    assert acc2.state == AccountState.ACTIVATED and reg2.level == PhysicianLevel.ASSISTANT

    two = db.session.scalar(sa.select(PhysicianAccount).filter_by(username="yisheng09"))
    locations = db.session.scalars(sa.select(Registration.location_code).filter_by(
        person_id=two.person_id, status=RegistrationStatus.VALID)).all()
    assert sorted(locations) == ["110000", "140000"]


def test_demo_register_invariants(demo):
    persons = db.session.scalars(sa.select(Person)).all()
    assert len(persons) >= 300
    for p in persons:
        idn = p.id_number
        assert ric.is_valid(idn), (p.name, idn)
        assert p.id_number_hash == id_blind_index(idn)
        assert ric.get_birth_date(idn) == p.birth_date
        assert (int(idn[16]) % 2 == 1) == (p.gender == Gender.MALE)
        assert CHINESE_NAME.match(p.name), p.name
        if p.certificate_no is not None:
            assert re.fullmatch(r"\d{15}", p.certificate_no)
    registered = {pid for pid in db.session.scalars(sa.select(Registration.person_id))}
    with_cert = set(db.session.scalars(sa.select(Person.id).where(
        Person.certificate_no.is_not(None))))
    assert registered == with_cert

    regs = db.session.execute(sa.select(Registration, Region.level).join(
        Region, Region.code == Registration.location_code)).all()
    assert {r.status for r, _ in regs} == set(RegistrationStatus)
    assert {r.level for r, _ in regs} == set(PhysicianLevel)
    assert {r.category for r, _ in regs} == set(PhysicianCategory)
    valid_by_person = collections.defaultdict(list)
    for r, level in regs:
        if r.level == PhysicianLevel.ASSISTANT:
            assert level == RegionLevel.COUNTY, r.location_code
            assert r.location_code == r.institution.region_code
        else:
            assert level == RegionLevel.PROVINCE, r.location_code
            assert r.location_code == r.institution.province_code
        assert r.scopes, r.id
        assert all(s.category == r.category for s in r.scopes)
        assert r.qualification.person_id == r.person_id
        assert (r.qualification.level, r.qualification.category) == (r.level, r.category)
        if r.department is not None:
            assert r.department.institution_id == r.institution_id
        if r.status == RegistrationStatus.CANCELLED:
            assert re.fullmatch(r"C\d\d", r.status_reason_code)
        if r.status == RegistrationStatus.FILED:
            assert re.fullmatch(r"F\d\d", r.status_reason_code)
        if r.status == RegistrationStatus.VALID:
            valid_by_person[r.person_id].append(r)
    for rs in valid_by_person.values():
        assert len({r.location_code for r in rs}) == len(rs)
        assert sum(r.level == PhysicianLevel.ASSISTANT for r in rs) <= 1
    assert any(len(rs) >= 2 for rs in valid_by_person.values())
    assert len(valid_by_person) / len(persons) > 0.6
    # persons with two qualifications: 助理 first, then 执业医师 of the same category
    quals = collections.defaultdict(list)
    for q in db.session.scalars(sa.select(Qualification).order_by(Qualification.year)):
        quals[q.person_id].append(q)
    twice = [qs for qs in quals.values() if len(qs) == 2]
    assert twice
    for a, b in twice:
        assert (a.level, b.level) == (PhysicianLevel.ASSISTANT, PhysicianLevel.PHYSICIAN)
        assert a.category == b.category
    assert len(quals) == len(persons)
    assert any(pid not in registered for pid in quals)  # qualified, never registered
    codes = db.session.scalars(sa.select(Qualification.code)).all()
    assert len(codes) == len(set(codes))

    assert {f.status for f in db.session.scalars(sa.select(Filing))} == set(FilingStatus)
    assert {s.status for s in db.session.scalars(sa.select(LegacySite))} == set(FilingStatus)
    assert {a.result for a in db.session.scalars(sa.select(Assessment))} == \
        set(AssessmentResult)
    revoked = db.session.scalars(sa.select(CreditRecord).filter_by(
        revokes_certificate=True)).all()
    assert revoked
    for c in revoked:
        assert any(r.status == RegistrationStatus.CANCELLED and r.status_reason_code == "C03"
                   for r in c.person.registrations)


def test_demo_institutions_and_authorities(demo):
    insts = db.session.scalars(sa.select(Institution)).all()
    assert len(insts) >= 7
    without = [i for i in insts if not i.authorities]
    assert len(without) == 1
    for inst in insts:
        region = db.session.get(Region, inst.region_code)
        assert region.level == RegionLevel.COUNTY
        assert re.fullmatch(r"1[3-9]\d{9}", inst.reserved_phone)
        assert 2 <= len(inst.departments) <= 4
        assert all(d.subjects for d in inst.departments)
        if inst.authorities:
            assert {link.category for link in inst.authorities} == set(PhysicianCategory)
            for link in inst.authorities:
                assert inst.region_code.startswith(link.authority.region_code[:2])
                assert link.authority.is_tcm == (link.category == PhysicianCategory.TCM)
    assert any(i.region_code.startswith("65") for i in insts)
    xj = db.session.get(Region, "650000")
    assert xj.electronic_registration is False
    levels = collections.Counter(a.level for a in db.session.scalars(sa.select(Authority)))
    assert all(levels.values()) and len(levels) == 4
    for a in db.session.scalars(sa.select(Authority).where(Authority.parent_id.is_not(None))):
        assert a.parent.level.value != a.level.value or a.is_tcm != a.parent.is_tcm
    roles = {u.role for u in db.session.scalars(sa.select(ConsoleUser))}
    assert roles == set(ConsoleRole)
    reviewer_levels = {u.authority.level for u in db.session.scalars(
        sa.select(ConsoleUser).filter_by(role=ConsoleRole.REVIEWER))}
    assert len(reviewer_levels) == 4


def test_demo_accounts(demo):
    accounts = db.session.scalars(sa.select(PhysicianAccount)).all()
    assert {a.state for a in accounts} == set(AccountState)
    phones = [a.phone for a in accounts if a.phone_verified_at and a.state != AccountState.REVOKED]
    assert len(phones) == len(set(phones))
    person_hashes = set(db.session.scalars(sa.select(Person.id_number_hash)))
    valid_person_ids = set(db.session.scalars(sa.select(Registration.person_id).filter_by(
        status=RegistrationStatus.VALID)))
    for a in accounts:
        assert re.fullmatch(r"[A-Za-z][A-Za-z0-9]{5,11}", a.username)
        assert re.fullmatch(r"1[3-9]\d{9}", a.phone)
        assert ric.is_valid(a.id_number)
        if a.state == AccountState.REGISTERED:
            assert a.verification_outcome == VerificationOutcome.NOT_FOUND
            assert a.verified_at is None and a.activated_at is None
        if a.verification_outcome == VerificationOutcome.NOT_FOUND:
            assert a.state == AccountState.REGISTERED and a.person_id is None
            assert a.id_number_hash not in person_hashes
            continue
        assert a.person.id_number_hash == a.id_number_hash and a.person.name == a.name
        if a.verification_outcome == VerificationOutcome.IN_REGISTER:
            main = [r.institution_id for r in a.person.registrations
                    if r.status == RegistrationStatus.VALID]
            assert a.institution_id in main
        if a.verification_outcome == VerificationOutcome.SELF_ACTIVATE:
            assert a.person_id not in valid_person_ids
        if a.state == AccountState.ACTIVATED:
            assert a.activated_at and a.phone_verified_at and a.activation_method
            if a.activation_method == ActivationMethod.INSTITUTION_CODE:
                code = db.session.scalar(sa.select(ActivationCode).filter_by(account_id=a.id))
                assert code.used_at is not None
        if a.state == AccountState.REVOKED:
            assert a.revoked_at is not None
    unused = db.session.scalars(sa.select(ActivationCode).where(
        ActivationCode.used_at.is_(None))).all()
    assert unused and all(c.account.state == AccountState.VERIFIED for c in unused)
    registered = len(valid_person_ids)
    with_account = sum(1 for a in accounts if a.person_id in valid_person_ids)
    assert 0.45 < with_account / registered < 0.75


def test_unregistered_persons(demo):
    for u in demo["unregistered"]:
        assert ric.is_valid(u["id_number"]) and CHINESE_NAME.match(u["name"]), u
        h = id_blind_index(u["id_number"])
        assert db.session.scalar(sa.select(PhysicianAccount.id).filter_by(
            id_number_hash=h)) is None, u
        person = db.session.scalar(sa.select(Person).filter_by(id_number_hash=h))
        if u["outcome"] == "not_found":
            assert person is None, u
            assert "qualification_code" not in u and "institution" not in u
            continue
        assert person is not None and person.name == u["name"], u
        valid = [r for r in person.registrations if r.status == RegistrationStatus.VALID]
        if "qualification_code" in u:
            assert u["qualification_code"] in {q.code for q in person.qualifications}
        if u["outcome"] == "in_register":
            assert valid and all(r.location.province_code != "650000" for r in valid)
            assert u["institution"] in {r.institution.name for r in valid}
        elif u["outcome"] == "self_activate":
            assert not valid and person.qualifications and u["qualification_code"]
        elif u["outcome"] == "non_electronic_province":
            assert valid and all(r.location_code.startswith("65") for r in valid)
            assert u["institution"] in {r.institution.name for r in valid}
            assert db.session.get(Region, "650000").electronic_registration is False
        else:  # pragma: no cover
            pytest.fail(f"unknown outcome {u['outcome']}")


def _check_scale_rows(n_expected):
    persons = db.session.scalars(sa.select(Person)).all()
    assert len(persons) == n_expected
    hashes = set()
    for p in persons:
        idn = p.id_number
        assert ric.is_valid(idn), idn
        assert p.id_number_masked == idn[:6] + "********" + idn[-4:]
        assert (int(idn[16]) % 2 == 1) == (p.gender == Gender.MALE)
        hashes.add(p.id_number_hash)
    assert len(hashes) == len(persons)
    regs = db.session.scalars(sa.select(Registration)).all()
    assert len(regs) == n_expected
    for r in regs:
        assert r.scopes and r.scopes[0].category == r.category
        assert r.qualification.person_id == r.person_id
        assert r.institution.authority_for(r.category).id == r.authority_id
        expected = RegionLevel.COUNTY if r.level == PhysicianLevel.ASSISTANT \
            else RegionLevel.PROVINCE
        assert r.location.level == expected
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Qualification)) == n_expected


def test_scale_builds_valid_register(db_session):
    from seed.scale import build_scale
    lines = []
    result = build_scale(physicians=200, institutions=6, batch=64, echo=lines.append)
    assert result["physicians"] == 200
    assert any("人/秒" in line for line in lines)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Institution)) == 6
    for inst in db.session.scalars(sa.select(Institution)):
        assert {link.category for link in inst.authorities} == set(PhysicianCategory)
        assert db.session.get(Region, inst.region_code).level == RegionLevel.COUNTY
    _check_scale_rows(200)
    accounts = db.session.scalars(sa.select(PhysicianAccount)).all()
    assert 5 <= len(accounts) <= 40
    for a in accounts:
        assert a.person.id_number_hash == a.id_number_hash
    statuses = {r.status for r in db.session.scalars(sa.select(Registration))}
    assert RegistrationStatus.VALID in statuses and len(statuses) >= 2
    # each registration carries its person's 姓名 (the lists' sort key), 性别 and 出生日期
    assert all((r.person_name, r.person_gender, r.person_birth_date)
               == (r.person.name, r.person.gender, r.person.birth_date)
               for r in db.session.scalars(sa.select(Registration)))
    # a second run adds more rows with fresh codes and reuses the authorities
    authorities = db.session.scalar(sa.select(sa.func.count()).select_from(Authority))
    build_scale(physicians=150, institutions=0, batch=100, echo=None)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Authority)) == authorities
    _check_scale_rows(350)
    # ids generated by the ORM after the bulk insert do not collide (PostgreSQL sequences)
    from tests import factories
    inst = db.session.scalars(sa.select(Institution)).first()
    factories.registered_physician(inst)


def test_scale_after_demo_keeps_demo_stable(demo):
    from seed.demo import load_demo
    from seed.scale import build_scale
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Person))
    authorities = {a.name: a.id for a in db.session.scalars(sa.select(Authority))}
    build_scale(physicians=300, institutions=4, batch=128, echo=None)
    after = {a.name: a.id for a in db.session.scalars(sa.select(Authority))}
    for name, aid in authorities.items():
        assert after[name] == aid  # demo authorities reused, not duplicated
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Person)) == before + 300
    assert load_demo() == demo


def test_scale_has_applications_in_every_state_and_registration_jurisdictions(db_session,
                                                                               monkeypatch):
    import seed.scale as scale
    from models.application import Application
    from models.enums import ApplicationStatus
    monkeypatch.setattr(scale, "APPLICATION_EVERY", 5)
    scale.build_scale(physicians=300, institutions=4, batch=70, echo=None)
    apps = db.session.scalars(sa.select(Application)).all()
    assert {a.status for a in apps} == set(ApplicationStatus)
    assert len({a.type for a in apps}) >= 4
    for a in apps:
        reg = a.registration
        assert reg.person_id == a.person_id and reg.status == RegistrationStatus.VALID
        assert a.confirming_institution_id == reg.institution_id
        assert a.authority_id == reg.authority_id
        assert (a.decided_at is not None) == (a.status in (
            ApplicationStatus.APPROVED, ApplicationStatus.REJECTED,
            ApplicationStatus.INSTITUTION_REJECTED))
    # every bulk-built registration carries its institution's province / city / county
    for reg in db.session.scalars(sa.select(Registration)):
        region = reg.institution.region_code
        assert (reg.province_code, reg.city_code, reg.county_code) == (
            region[:2], region[:4], region)
