"""Invariants the database itself enforces, and the identity-number helpers."""
import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from models import db
from models.account import PhysicianAccount
from models.enums import (AccountState, ApplicationStatus, ApplicationType, PhysicianLevel,
                          RegistrationStatus, UserKind)
from models.application import Application
from models.identity import id_blind_index, mask_id_number, mask_phone
from models.registry import Person


def test_id_number_is_encrypted_indexed_and_masked(make):
    p = make.person(id_no="14010519850317003X")
    raw = db.session.execute(sa.text("SELECT id_number_enc, id_number_hash, id_number_masked "
                                     "FROM person WHERE id = :i"), {"i": p.id}).one()
    assert b"14010519850317003X" not in bytes(raw[0])
    assert raw[2] == "140105********003X"
    assert raw[1] == id_blind_index("14010519850317003x")  # normalised before indexing
    db.session.expire_all()
    assert db.session.get(Person, p.id).id_number == "14010519850317003X"
    found = db.session.scalar(sa.select(Person).where(
        Person.id_number_hash == id_blind_index("14010519850317003X")))
    assert found.id == p.id


def test_blind_index_starts_with_the_area_then_a_keyed_hash(app_ctx):
    """The area code first (what the masked copy shows), so one province's persons are
    neighbours in the index; then 128 bits of the keyed HMAC, which differ between numbers
    of one area and under another key."""
    import hashlib
    import hmac

    from models.identity import _keys
    one, other = id_blind_index("14010519850317003X"), id_blind_index("140105198503170046")
    assert one.startswith("140105") and other.startswith("140105") and one != other
    assert len(one) == 6 + 32 and one == id_blind_index(" 14010519850317003x ")
    _, idx_key = _keys()
    assert one[6:] == hmac.new(idx_key, b"14010519850317003X", hashlib.sha256).hexdigest()[:32]
    assert one[6:] != hashlib.sha256(b"14010519850317003X").hexdigest()[:32]
    # a value too short to be masked shows no area, and the index shows none either
    assert id_blind_index("E1234567")[:6] != "E12345" and len(id_blind_index("E1234567")) == 32


def test_area_codes_are_judged_as_python_stdnum_judges_them():
    """id_area_known answers what stdnum.cn.ric's birth-place check answers, for every area
    code of three provinces in years around their changes, and False where stdnum raises
    KeyError (a province's code that never named a county)."""
    from stdnum import exceptions
    from stdnum.cn import ric

    from models.identity import id_area_known

    def stdnum_says(area, year):
        try:
            ric.get_birth_place(f"{area}{year}01010000")
            return True
        except (exceptions.ValidationError, KeyError):
            return False
    areas = [f"{p}{c:04d}" for p in (11, 14, 51) for c in range(0, 3500, 7)] + ["140105",
                                                                             "999999"]
    pairs = [(a, y) for a in areas for y in (1950, 1983, 1990, 1997, 2010)]
    assert [id_area_known(a, y) for a, y in pairs] == [stdnum_says(a, y) for a, y in pairs]
    assert id_area_known("140105", 2000) and not id_area_known("140105", 1990)
    assert not id_area_known("110001", 1985)


def test_masks():
    assert mask_id_number("110101199003071234") == "110101********1234"
    assert mask_phone("15175070658") == "151****0658"


def test_one_person_per_id_number(make):
    make.person(id_no="14010519850317003X")
    with pytest.raises(IntegrityError):
        make.person(id_no="14010519850317003X")
    db.session.rollback()


def test_certificate_number_is_unique_for_life(make):
    make.person(certificate_no="110140000000001")
    with pytest.raises(IntegrityError):
        make.person(certificate_no="110140000000001")
    db.session.rollback()


def test_one_valid_registration_per_location(make):
    inst_a = make.institution(region_code="140105")
    inst_b = make.institution(region_code="140106")
    p, reg = make.registered_physician(inst_a)
    # a second valid registration in the same province = a second 主要执业机构: refused
    with pytest.raises(IntegrityError):
        make.registration(p, inst_b, qual=reg.qualification)
    db.session.rollback()
    # once the first is no longer valid, the same location may be registered again
    reg = db.session.get(type(reg), reg.id)
    reg.status = RegistrationStatus.TRANSFERRED_OUT
    db.session.commit()
    again = make.registration(db.session.get(Person, p.id), inst_b,
                              qual=reg.qualification)
    assert again.status == RegistrationStatus.VALID


def test_physician_may_hold_several_provinces(make):
    shanxi = make.institution(region_code="140105")
    beijing = make.institution(region_code="110105")
    p, reg = make.registered_physician(shanxi)
    second = make.registration(p, beijing, qual=reg.qualification)
    assert {reg.location_code, second.location_code} == {"140000", "110000"}


def test_assistant_holds_one_location_only(make):
    a = make.institution(region_code="140105")
    b = make.institution(region_code="110105")
    p, reg = make.registered_physician(a, level=PhysicianLevel.ASSISTANT)
    assert reg.location_code == "140105"  # a county
    with pytest.raises(IntegrityError):
        make.registration(p, b, qual=reg.qualification, level=PhysicianLevel.ASSISTANT)
    db.session.rollback()


def test_one_live_account_per_person_but_revoked_may_register_again(make):
    p = make.person()
    first = make.physician_account(p)
    with pytest.raises(IntegrityError):
        make.physician_account(p)
    db.session.rollback()
    first = db.session.get(PhysicianAccount, first.id)
    first.state = AccountState.REVOKED
    db.session.commit()
    again = make.physician_account(db.session.get(Person, p.id))
    assert again.state == AccountState.ACTIVATED


def test_one_open_application_per_physician_and_type(make):
    p = make.person()

    def app_row(status=ApplicationStatus.SUBMITTED):
        return Application(type=ApplicationType.CHANGE, status=status, subject_key=f"p:{p.id}",
                           person_id=p.id, applicant_kind=UserKind.PHYSICIAN)
    db.session.add(app_row())
    db.session.commit()
    db.session.add(app_row())
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    # closed applications do not count
    db.session.add(app_row(ApplicationStatus.WITHDRAWN))
    db.session.commit()


def test_jurisdiction_columns_follow_the_institution(make):
    """An institution's province / city prefixes and its registrations' province / city /
    county codes are kept from its region code, also when it moves to another county."""
    from models.registry import Registration
    inst = make.institution(region_code="140105")
    assert (inst.province_prefix, inst.city_prefix) == ("14", "1401")
    _, reg = make.registered_physician(inst)
    assert (reg.province_code, reg.city_code, reg.county_code) == ("14", "1401", "140105")
    inst.region_code = "140213"
    db.session.commit()
    assert (inst.province_prefix, inst.city_prefix) == ("14", "1402")
    db.session.expire_all()
    reg = db.session.get(Registration, reg.id)
    assert (reg.province_code, reg.city_code, reg.county_code) == ("14", "1402", "140213")
    # a registration moved to another institution takes that one's codes
    beijing = make.institution(region_code="110105")
    reg.institution_id = beijing.id
    db.session.commit()
    assert (reg.province_code, reg.city_code, reg.county_code) == ("11", "1101", "110105")


def test_registration_keeps_its_persons_name_gender_and_birth_date(make):
    """registration.person_name (the lists' 姓名 sort key), person_gender and
    person_birth_date (统计信息) are the person's: on insert, when the person's record is
    corrected, when a registration is moved to another person, and after a bulk load that left
    them empty."""
    from models.enums import Gender
    from models.registry import Registration, fill_registration_person_copies
    inst = make.institution()
    p, reg = make.registered_physician(inst)

    def stored(reg_id):
        name, gender, birth = db.session.execute(sa.text(
            "SELECT person_name, person_gender, person_birth_date FROM registration "
            "WHERE id = :i"), {"i": reg_id}).one()
        return name, gender, str(birth)
    assert stored(reg.id) == (p.name, p.gender.value, str(p.birth_date))
    p.name = "欧阳改名"
    p.gender = Gender.FEMALE if p.gender == Gender.MALE else Gender.MALE
    p.birth_date = dt.date(1971, 3, 4)
    db.session.commit()
    assert stored(reg.id) == ("欧阳改名", p.gender.value, "1971-03-04")
    q, other = make.registered_physician(make.institution(region_code="110105"))
    reg = db.session.get(Registration, reg.id)
    reg.person_id = q.id
    db.session.commit()
    assert stored(reg.id) == (q.name, q.gender.value, str(q.birth_date))
    db.session.execute(sa.text("UPDATE registration SET person_name = NULL"))
    db.session.execute(sa.text("UPDATE registration SET person_birth_date = NULL "
                               "WHERE id = :i"), {"i": other.id})
    assert fill_registration_person_copies(db.session.connection()) == 2
    db.session.commit()
    assert stored(reg.id) == stored(other.id) == (q.name, q.gender.value, str(q.birth_date))


def test_registration_keeps_its_scope_codes(make):
    """registration.scope_codes (统计信息 by 执业范围) are its 执业范围 codes in code order: on
    insert, when the scopes change through a 变更 approval's assignment, when the
    registration has none, and after a load that wrote registration_scope directly."""
    from models.reference import PracticeScope
    from models.registry import Registration, fill_registration_scope_codes
    inst = make.institution()
    _, reg = make.registered_physician(inst, scope_codes=("21", "11"))
    _, other = make.registered_physician(inst, scope_codes=("12",))

    def stored(reg_id):
        return db.session.execute(sa.text("SELECT scope_codes FROM registration WHERE id = :i"),
                                  {"i": reg_id}).scalar()
    assert stored(reg.id) == "11,21" and stored(other.id) == "12"
    reg = db.session.get(Registration, reg.id)
    reg.scopes = [db.session.get(PracticeScope, c) for c in ("13", "12")]
    db.session.commit()
    assert stored(reg.id) == "12,13"
    reg.scopes.append(db.session.get(PracticeScope, "11"))
    db.session.commit()
    assert stored(reg.id) == "11,12,13"
    reg.scopes = []
    db.session.commit()
    assert stored(reg.id) is None
    db.session.execute(sa.text("INSERT INTO registration_scope (registration_id, scope_code) "
                               "VALUES (:i, '21'), (:i, '14')"), {"i": reg.id})
    db.session.execute(sa.text("UPDATE registration SET scope_codes = NULL WHERE id = :i"),
                       {"i": other.id})
    assert fill_registration_scope_codes(db.session.connection()) == 2
    db.session.commit()
    assert stored(reg.id) == "14,21" and stored(other.id) == "12"


def test_scope_names_come_from_the_kept_codes_without_the_scope_rows(make, monkeypatch):
    """A registration's 执业范围 names, as every list shows them, come from its scope_codes and
    the 执业范围 list (read at most every SCOPE_NAMES_MAX_AGE seconds), without loading its
    scope rows; scopes loaded or changed in the session are shown as they are."""
    from models import reference
    from models.reference import PracticeScope
    from models.registry import Registration
    inst = make.institution()
    _, reg = make.registered_physician(inst, scope_codes=("21", "11"))
    names = {c: db.session.get(PracticeScope, c).name for c in ("11", "12", "21")}
    db.session.commit()
    db.session.expire_all()
    reg = db.session.get(Registration, reg.id)
    assert reg.scope_names == f"{names['11']}，{names['21']}"
    assert "scopes" not in reg.__dict__  # no scope rows read
    reg.scopes.append(db.session.get(PracticeScope, "12"))  # before the flush too
    assert reg.scope_names == f"{names['11']}，{names['21']}，{names['12']}"
    db.session.rollback()
    scope = db.session.get(PracticeScope, "11")
    try:
        scope.name = "改名的执业范围"
        db.session.flush()
        db.session.expire(reg)
        assert reg.scope_names.startswith(names["11"])  # the names read above, still fresh
        monkeypatch.setattr(reference, "SCOPE_NAMES_MAX_AGE", 0.0)
        assert reg.scope_names == f"改名的执业范围，{names['21']}"
    finally:
        db.session.rollback()
        reference._scope_names_by_engine.clear()  # the rename was rolled back


def _multi_province_persons() -> set:
    from models.registry import MultiProvincePerson
    return set(db.session.scalars(sa.select(MultiProvincePerson.person_id)))


def test_persons_registered_in_several_provinces_follow_their_registrations(make):
    """multi_province_person (医师在外省注册情况) follows registrations, cancellations and moves."""
    shanxi, beijing = make.institution(region_code="140105"), make.institution(region_code="110105")
    p, _ = make.registered_physician(shanxi)
    alone, _ = make.registered_physician(shanxi)
    assert _multi_province_persons() == set()
    in_beijing = make.registration(p, beijing)
    assert _multi_province_persons() == {p.id}
    in_beijing.status = RegistrationStatus.CANCELLED  # 注销
    db.session.commit()
    assert _multi_province_persons() == set()
    # a registration that becomes valid again (as a rejected 注销 is undone in tests)
    other = make.registration(alone, beijing, status=RegistrationStatus.CANCELLED)
    assert _multi_province_persons() == set()
    other.status = RegistrationStatus.VALID
    db.session.commit()
    assert _multi_province_persons() == {alone.id}
    # a change that fails leaves the table as the registrations are
    other.status = RegistrationStatus.CANCELLED
    other.location_code = "999999"  # no such region: the whole flush is refused
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    assert _multi_province_persons() == {alone.id}


def test_bulk_loaded_registrations_are_indexed_after_the_load(make):
    from models.registry import Registration, index_bulk_load
    shanxi, beijing = make.institution(region_code="140105"), make.institution(region_code="110105")
    p, reg = make.registered_physician(shanxi)
    q = make.qualification(p)
    db.session.execute(sa.insert(Registration.__table__).values(  # as the bulk loaders write
        person_id=p.id, qualification_id=q.id, level=reg.level.value,
        category=reg.category.value, location_code="110000", institution_id=beijing.id,
        authority_id=beijing.licensing_authority_id, approved_on=dt.date(2020, 1, 1),
        status=RegistrationStatus.VALID.value, created_at=dt.datetime(2020, 1, 1)))
    db.session.commit()
    assert _multi_province_persons() == set()
    with db.engine.begin() as conn:
        index_bulk_load(conn)
    assert _multi_province_persons() == {p.id}


def test_a_filing_keeps_its_registrations_main_institution(make):
    """filing.registration_institution_id (本院多执业机构备案医师) is set on insert, follows a
    registration moved to another 主要执业机构 and is filled after a bulk load."""
    from models.enums import FilingStatus
    from models.registry import Filing, index_bulk_load
    home, elsewhere, moved_to = (make.institution(region_code="140105") for _ in range(3))
    p, reg = make.registered_physician(home)
    filing = Filing(registration_id=reg.id, institution_id=elsewhere.id,
                    authority_id=elsewhere.licensing_authority_id, filed_on=dt.date(2024, 1, 1))
    db.session.add(filing)
    db.session.commit()
    assert filing.registration_institution_id == home.id
    reg.institution_id = moved_to.id
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Filing, filing.id).registration_institution_id == moved_to.id
    db.session.execute(sa.insert(Filing.__table__).values(  # as the bulk loaders write
        registration_id=reg.id, institution_id=home.id, authority_id=home.licensing_authority_id,
        status=FilingStatus.VALID.value, filed_on=dt.date(2024, 2, 1)))
    db.session.commit()
    with db.engine.begin() as conn:
        index_bulk_load(conn)
    assert set(db.session.scalars(sa.select(Filing.registration_institution_id))) == {moved_to.id}
