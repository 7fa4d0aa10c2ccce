"""Registry keeping by commissions (C3): jurisdiction tests, exact searches, corrections with
an audit trail, 补录老人资格, and the direct businesses of C4."""
import datetime as dt
import re

import sqlalchemy as sa
import sqlalchemy.orm  # noqa: F401  (sa.orm.aliased)

from models import db
from models.enums import (AuthorityLevel, DirectBusinessKind, Gender, PhysicianCategory,
                          PhysicianLevel, QualificationKind)
from models.identity import id_blind_index, normalize_id_number
from models.institution import Authority, Institution
from models.reference import Region, ReferenceItem, region_prefix
from models.registry import DirectBusiness, Person, Qualification, Registration

from . import Actor, DomainError, audit

NAME_RE = re.compile(r"^[\u3400-\u4dbf\u4e00-\u9fff·]{2,30}$")
PHONE_RE = re.compile(r"^1[3-9]\d{9}$")


# ---- jurisdiction ------------------------------------------------------------------------

def prefix_of(authority: Authority) -> str:
    """Region-code prefix of an authority's jurisdiction ('' = national)."""
    if authority.level == AuthorityLevel.NATIONAL:
        return ""
    return region_prefix(authority.region_code)


def code_in(prefix: str, code: str | None) -> bool:
    return bool(code) and code.startswith(prefix)


def code_range(column, prefix: str):
    """Index-friendly `column LIKE 'prefix%'` for region codes (6-digit strings): the range
    [prefix, prefix with its last digit + 1), e.g. '14' -> code >= '14' AND code < '15'.
    SQLite's LIKE never uses an index and PostgreSQL's only with C collation; a range always
    does. ('19' -> '1:' is right too: ':' follows '9'.)"""
    if not prefix:
        return sa.true()
    upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    return sa.and_(column >= prefix, column < upper)


def in_prefix(column, prefix: str):
    return code_range(column, prefix)


def _at_level(prefix: str, province, city, county):
    """Equality on the stored code of the jurisdiction's level ('14' province, '1401' city,
    '140105' county): one index range in id order, whatever the level."""
    if not prefix:
        return sa.true()
    column = {2: province, 4: city}.get(len(prefix), county)
    return column == prefix


def registration_in_jurisdiction(prefix: str):
    """A registration whose 主要执业机构 lies in the jurisdiction."""
    return _registration_in(Registration, prefix)


def institution_in_jurisdiction(prefix: str):
    """An institution in the jurisdiction (its stored prefixes, or its county code)."""
    return _at_level(prefix, Institution.province_prefix, Institution.city_prefix,
                     Institution.region_code)


def person_in_jurisdiction(prefix: str):
    """Persons with a registration in the jurisdiction, or whose 身份证号 area code lies in
    it (the masked copy keeps the 6-digit area code, so nothing is decrypted)."""
    return person_id_in_jurisdiction(Person.id, prefix)


def person_id_in_jurisdiction(person_id, prefix: str):
    """The same test for a row that carries a person id (资格, 考核, 信用 …).

    A county is small: its persons are collected from two indexes. A province or city holds
    a large share of the register, so a list walks its own id index newest first and probes
    each row's person (two index lookups) until the page is full — never the whole province."""
    if not prefix:
        return sa.true()
    in_registry = registration_in_jurisdiction(prefix)
    if len(prefix) >= 6:
        return sa.or_(
            person_id.in_(sa.select(Registration.person_id).where(in_registry)),
            person_id.in_(sa.select(Person.id).where(code_range(Person.id_number_masked, prefix))))
    someone = sa.orm.aliased(Person)
    registered = sa.orm.aliased(Registration)
    return sa.exists().where(
        someone.id == person_id,
        sa.or_(code_range(someone.id_number_masked, prefix),
               sa.exists().where(registered.person_id == someone.id,
                                 _registration_in(registered, prefix))))


def _registration_in(reg, prefix: str):
    return _at_level(prefix, reg.province_code, reg.city_code, reg.county_code)


def person_visible(prefix: str, person: Person) -> bool:
    if not prefix:
        return True
    if person.id_number_masked.startswith(prefix):
        return True
    return db.session.scalar(sa.select(sa.literal(1)).where(
        Registration.person_id == person.id, registration_in_jurisdiction(prefix)).limit(1)) \
        is not None


# ---- searches ----------------------------------------------------------------------------

def person_ids_by_id_number(value: str) -> list[int]:
    """Exact lookup through the blind index (never decrypts, never LIKE)."""
    value = normalize_id_number(value)
    if not value:
        return []
    return list(db.session.scalars(sa.select(Person.id).where(
        Person.id_number_hash == id_blind_index(value))))


def name_prefix_filter(column, value: str):
    """姓名 prefix search on the name index. PostgreSQL (C collation): `name LIKE '张%'`;
    SQLite's LIKE is case-insensitive and skips a BINARY index, so there the same prefix is
    the code-point range [张, 张+1), which the index serves."""
    value = (value or "").strip()
    if not value:
        return sa.true()
    if db.session.get_bind().dialect.name == "sqlite":
        upper = value[:-1] + chr(ord(value[-1]) + 1)
        # SQLite guesses a range keeps 1/4 of the rows, so on a smaller joined table (e.g.
        # 96k 信用记录 against 4.8M persons) it would scan that table and probe each person
        # (0.3 s); likelihood() tells it a name prefix is rare, and it starts from the index
        rare = sa.literal_column("0.001")
        # (untyped: a Boolean-typed function would be rendered `likelihood(…) = 1`, which
        # hides the range from the planner)
        return sa.and_(sa.func.likelihood(column >= value, rare),
                       sa.func.likelihood(column < upper, rare))
    esc = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.like(esc + "%", escape="\\")


# ---- corrections -------------------------------------------------------------------------

QUALIFICATION_CORRECTABLE = {"school": ("毕业院校", 128), "major": ("所学专业", 64),
                             "issuing_authority": ("发证机关", 128),
                             "education_code": ("学历", 8)}
REGISTRATION_CORRECTABLE = {"approved_on": ("批准日期", None), "school": ("毕业学校", 128),
                            "major": ("所学专业", 64), "education_code": ("学历", 8)}


def _education_ok(code):
    return code in (None, "") or db.session.get(ReferenceItem, ("education", code)) is not None


def _apply_corrections(actor, obj, values: dict, allowed: dict, action: str, reason: str):
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("请填写更正原因。", field="reason")
    if len(reason) > 200:
        raise DomainError("更正原因不能超过200个字。", field="reason")
    before, after = {}, {}
    for key, value in values.items():
        if key not in allowed:
            raise DomainError("该字段不允许更正。", field=key)
        label, max_len = allowed[key]
        if isinstance(value, str):
            value = value.strip()
            if max_len and len(value) > max_len:
                raise DomainError(f"{label}不能超过{max_len}个字。", field=key)
        if key == "education_code" and not _education_ok(value):
            raise DomainError("学历代码不存在。", field=key)
        if key == "approved_on":
            if not isinstance(value, dt.date):
                raise DomainError("请输入正确的批准日期。", field=key)
            if value > dt.date.today():
                raise DomainError("批准日期不能晚于今天。", field=key)
        old = getattr(obj, key)
        if key == "education_code" and value == "":
            value = None
        if old != value:
            before[key] = old.isoformat() if isinstance(old, dt.date) else old
            after[key] = value.isoformat() if isinstance(value, dt.date) else value
            setattr(obj, key, value)
    if not after:
        raise DomainError("没有需要更正的内容。")
    audit.record(actor, action, obj, before=before, after=after, detail=reason)
    db.session.commit()
    return after


def correct_qualification(actor: Actor, qual: Qualification, values: dict, reason: str):
    return _apply_corrections(actor, qual, values, QUALIFICATION_CORRECTABLE,
                              "qualification_corrected", reason)


def correct_registration(actor: Actor, reg: Registration, values: dict, reason: str):
    return _apply_corrections(actor, reg, values, REGISTRATION_CORRECTABLE,
                              "registration_corrected", reason)


# ---- 补录老人资格 ----------------------------------------------------------------------------

def add_old_rules_qualification(actor: Actor, *, name, id_number, gender: Gender,
                                level: PhysicianLevel, category: PhysicianCategory, year: int,
                                code: str, school="", major="", education_code=None,
                                issuing_authority="") -> Qualification:
    """老人老办法资格: recognised by a provincial department before the 1999 law."""
    from .registry_import import check_id_number
    name = (name or "").strip()
    if not NAME_RE.match(name):
        raise DomainError("姓名只能由汉字和“·”组成，2至30个字。", field="name")
    id_number = normalize_id_number(id_number)
    err = check_id_number(id_number)
    if err:
        raise DomainError(err, field="id_number")
    birth = dt.date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
    id_gender = Gender.MALE if int(id_number[16]) % 2 else Gender.FEMALE
    if gender != id_gender:
        raise DomainError("性别与身份证号不一致。", field="gender")
    if not isinstance(year, int) or year >= 1999 or year < 1950:
        raise DomainError("老人老办法资格的获得年度应在1999年之前。", field="year")
    if year < birth.year + 16:
        raise DomainError("获得年度与出生日期不符。", field="year")
    code = (code or "").strip()
    if not re.fullmatch(r"[0-9A-Za-z]{6,32}", code):
        raise DomainError("资格证书编码应为6至32位字母或数字。", field="code")
    if db.session.scalar(sa.select(Qualification.id).where(Qualification.code == code)):
        raise DomainError("该资格证书编码已存在。", field="code")
    if not _education_ok(education_code):
        raise DomainError("学历代码不存在。", field="education_code")
    person = db.session.scalar(sa.select(Person).where(
        Person.id_number_hash == id_blind_index(id_number)))
    if person is None:
        person = Person(name=name, gender=gender, birth_date=birth)
        person.id_number = id_number
        db.session.add(person)
        db.session.flush()
    elif person.name != name:
        raise DomainError("姓名与注册库中该身份证号的姓名不一致。", field="name")
    if db.session.scalar(sa.select(Qualification.id).where(
            Qualification.person_id == person.id, Qualification.level == level,
            Qualification.category == category)):
        raise DomainError("该人员已有相同级别和类别的医师资格。", field="level")
    q = Qualification(code=code, person_id=person.id, level=level, category=category, year=year,
                      school=(school or "").strip()[:128], major=(major or "").strip()[:64],
                      education_code=education_code or None,
                      issuing_authority=(issuing_authority or "").strip()[:128],
                      kind=QualificationKind.OLD_RULES)
    db.session.add(q)
    db.session.flush()
    audit.record(actor, "old_qualification_added", q,
                 after={"code": code, "name": name, "year": year, "level": level.label,
                        "category": category.label})
    db.session.commit()
    return q


# ---- C4 direct businesses ----------------------------------------------------------------

SHORT_TERM = (DirectBusinessKind.HMT_SHORT_TERM, DirectBusinessKind.FOREIGN_SHORT_TERM)


def check_direct_business(kind: DirectBusinessKind, valid_from, valid_to) -> None:
    if valid_from is None:
        raise DomainError("请输入有效期起始日期。", field="valid_from")
    if valid_to is None:
        raise DomainError("请输入有效期截止日期。", field="valid_to")
    if valid_to < valid_from:
        raise DomainError("有效期截止日期不能早于起始日期。", field="valid_to")
    if kind in SHORT_TERM:
        try:
            limit = valid_from.replace(year=valid_from.year + 1)
        except ValueError:  # 29 February
            limit = valid_from.replace(year=valid_from.year + 1, day=28)
        if valid_to > limit:
            raise DomainError("短期行医的有效期最长为1年，请修改有效期截止日期。", field="valid_to")


def save_direct_business(actor: Actor, row: DirectBusiness, *, is_new: bool) -> DirectBusiness:
    check_direct_business(row.kind, row.valid_from, row.valid_to)
    if not (row.name or "").strip():
        raise DomainError("请输入姓名。", field="name")
    if is_new:
        row.authority_id = actor.authority_id
        db.session.add(row)
    db.session.flush()
    audit.record(actor, "direct_business_created" if is_new else "direct_business_updated",
                 row, after={"kind": row.kind.label, "name": row.name,
                             "valid_from": row.valid_from.isoformat(),
                             "valid_to": row.valid_to.isoformat()})
    return row


def county_regions(prefix: str) -> list[Region]:
    from models.enums import RegionLevel
    q = sa.select(Region).where(Region.level == RegionLevel.COUNTY)
    if prefix:
        q = q.where(code_range(Region.code, prefix))
    return list(db.session.scalars(q.order_by(Region.code)))
