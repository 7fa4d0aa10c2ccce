"""Public register lookups (X6, 医师法 第二十一条): registered and cancelled physicians and
institutions, limited to the fields the law makes public, plus the per-IP rate limit of the
public page and the FHIR API.

Every name search runs on an index: exact 姓名 or a 姓名 prefix as a range over
ix_person_name (`name >= p AND name < p || U+10FFFF`, which SQLite and PostgreSQL (C
collation) both answer from the b-tree), joined to the person's registrations. Pages hold
`per_page` rows; one extra row is read to know whether a next page exists (no count)."""
import datetime as dt
import secrets
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from models import db
from models.account import LoginAttempt
from models.enums import RegistrationStatus
from models.institution import Institution, utcnow
from models.reference import Region
from models.registry import Person, Registration

# 准予注册和注销注册的人员名单 (第二十一条): the statuses the public may see
PUBLIC_STATUSES = (RegistrationStatus.VALID, RegistrationStatus.CANCELLED)
PER_PAGE = 20
MAX_PAGE = 50  # deep pages are for scrapers, not for people looking someone up
_TOP = "\U0010ffff"


def mask_certificate_no(value: str | None) -> str:
    """110140000012345 → 1101********345 (first 4, eight stars, last 3)."""
    v = (value or "").strip()
    if not v:
        return ""
    if len(v) <= 7:
        return "*" * len(v)
    return v[:4] + "********" + v[-3:]


def prefix_clause(column, prefix: str):
    """`column LIKE 'prefix%'` written as an index range (no LIKE, no escaping needed)."""
    return sa.and_(column >= prefix, column < prefix + _TOP)


def region_clause(column, region_code: str):
    """Codes inside a region (a province 140000 → 14xxxx), written as a function of the
    column on purpose: it is a filter on rows found through the name index, never a range
    scan of the millions of registrations of a province."""
    if region_code.endswith("0000"):
        return sa.func.substr(column, 1, 2) == region_code[:2]
    if region_code.endswith("00"):
        return sa.func.substr(column, 1, 4) == region_code[:4]
    return column == region_code


def provinces() -> list[Region]:
    return list(db.session.scalars(
        sa.select(Region).where(Region.parent_code.is_(None), Region.code.like("%0000"))
        .order_by(Region.code)))


def is_province(code: str) -> bool:
    if not code or len(code) != 6 or not code.endswith("0000"):
        return False
    return db.session.get(Region, code) is not None


@dataclass
class Page:
    items: list
    page: int
    has_next: bool
    extra: dict = field(default_factory=dict)


def _page_bounds(page: int, per_page: int) -> tuple[int, int]:
    page = max(1, min(int(page or 1), MAX_PAGE))
    return page, (page - 1) * per_page


def _registration_options(q):
    return q.options(selectinload(Registration.person), selectinload(Registration.scopes),
                     selectinload(Registration.location),
                     selectinload(Registration.institution))


def search_registrations(name: str, province_code: str, institution_name: str | None = None,
                         page: int = 1, per_page: int = PER_PAGE, prefix: bool = False) -> Page:
    """Registrations (有效 / 注销) of persons named `name` (or starting with it) whose
    执业地点 lies in the province; optionally at institutions whose name starts with
    `institution_name`."""
    page, offset = _page_bounds(page, per_page)
    name_cond = prefix_clause(Person.name, name) if prefix else Person.name == name
    q = (sa.select(Registration).join(Registration.person)
         .where(name_cond, Registration.status.in_(PUBLIC_STATUSES),
                region_clause(Registration.location_code, province_code)))
    if institution_name:
        q = q.join(Registration.institution).where(
            prefix_clause(Institution.name, institution_name))
    q = _registration_options(q.order_by(Person.name, Registration.id)
                              .limit(per_page + 1).offset(offset))
    rows = list(db.session.scalars(q))
    return Page(rows[:per_page], page, len(rows) > per_page)


def registrations_by_certificate(certificate_no: str) -> list[Registration]:
    """A full 执业证书编码 (unique per person, for life) → that person's public registrations."""
    value = (certificate_no or "").strip()
    if not value:
        return []
    q = (sa.select(Registration).join(Registration.person)
         .where(Person.certificate_no == value, Registration.status.in_(PUBLIC_STATUSES))
         .order_by(Registration.id))
    return list(db.session.scalars(_registration_options(q)))


def search_institutions(name: str, province_code: str | None = None, page: int = 1,
                        per_page: int = PER_PAGE) -> Page:
    """Institutions whose standard name starts with `name`, in the province; each with its
    number of registered (有效) physicians, counted for this page's rows only."""
    page, offset = _page_bounds(page, per_page)
    q = sa.select(Institution).where(prefix_clause(Institution.name, name),
                                     Institution.active.is_(True))
    if province_code:
        q = q.where(region_clause(Institution.region_code, province_code))
    q = (q.options(selectinload(Institution.region))
         .order_by(Institution.name, Institution.id).limit(per_page + 1).offset(offset))
    rows = list(db.session.scalars(q))[:per_page + 1]
    items = rows[:per_page]
    counts = physician_counts([i.id for i in items])
    return Page(items, page, len(rows) > per_page, {"counts": counts})


def physician_counts(institution_ids: list[int]) -> dict[int, int]:
    if not institution_ids:
        return {}
    return dict(db.session.execute(
        sa.select(Registration.institution_id, sa.func.count())
        .where(Registration.institution_id.in_(institution_ids),
               Registration.status == RegistrationStatus.VALID)
        .group_by(Registration.institution_id)).all())


# GB/T 2260 groupings that are not places (北京市 → 市辖区 → 东城区)
PLACEHOLDER_CITY_NAMES = {"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划",
                          "省直辖县级行政单位", "自治区直辖县级行政单位"}


def region_names(code: str) -> dict:
    """{'county': …, 'city': …, 'province': …} names for a county/city/province code."""
    out = {}
    region = db.session.get(Region, code)
    while region is not None:
        if region.name not in PLACEHOLDER_CITY_NAMES:
            out[region.level.value] = region.name
        region = region.parent
    return out


# ---- the published person (FHIR Practitioner) -------------------------------------------

def public_person(person_id: int) -> Person | None:
    """A person is public once they hold a registration the public may see."""
    person = db.session.get(Person, person_id)
    if person is None:
        return None
    return person if public_registrations(person) else None


def public_registrations(person: Person) -> list[Registration]:
    return [r for r in person.registrations if r.status in PUBLIC_STATUSES]


def persons_by_name(prefix: str, page: int = 1, per_page: int = PER_PAGE) -> Page:
    """Persons whose name starts with `prefix` and who hold a public registration."""
    page, offset = _page_bounds(page, per_page)
    has_public = sa.exists().where(Registration.person_id == Person.id,
                                   Registration.status.in_(PUBLIC_STATUSES))
    q = (sa.select(Person).where(prefix_clause(Person.name, prefix), has_public)
         .options(selectinload(Person.registrations).selectinload(Registration.authority))
         .order_by(Person.name, Person.id).limit(per_page + 1).offset(offset))
    rows = list(db.session.scalars(q))
    return Page(rows[:per_page], page, len(rows) > per_page)


def person_by_certificate(certificate_no: str) -> Person | None:
    value = (certificate_no or "").strip()
    if not value:
        return None
    person = db.session.scalar(sa.select(Person).where(Person.certificate_no == value))
    return person if person is not None and public_registrations(person) else None


def public_registration(registration_id: int) -> Registration | None:
    reg = db.session.get(Registration, registration_id)
    return reg if reg is not None and reg.status in PUBLIC_STATUSES else None


def registrations_of(*, institution_id: int | None = None, person_id: int | None = None,
                     page: int = 1, per_page: int = PER_PAGE) -> Page:
    page, offset = _page_bounds(page, per_page)
    q = sa.select(Registration).where(Registration.status.in_(PUBLIC_STATUSES))
    if institution_id is not None:
        q = q.where(Registration.institution_id == institution_id)
    if person_id is not None:
        q = q.where(Registration.person_id == person_id)
    q = _registration_options(q.order_by(Registration.id).limit(per_page + 1).offset(offset))
    rows = list(db.session.scalars(q))
    return Page(rows[:per_page], page, len(rows) > per_page)


def public_institution(institution_id: int) -> Institution | None:
    inst = db.session.get(Institution, institution_id)
    return inst if inst is not None and inst.active else None


def institution_by_license(license_no: str) -> Institution | None:
    value = (license_no or "").strip()
    if not value:
        return None
    return db.session.scalar(sa.select(Institution).where(Institution.license_no == value,
                                                          Institution.active.is_(True)))


# ---- rate limit -------------------------------------------------------------------------

def take_rate_token(scope: str, ip: str, limit: int, window_minutes: int) -> bool:
    """Count one request of `ip` in `scope`; False when it is over `limit` requests in the
    last `window_minutes` (the refused request is not counted). Counters live in the
    database (login_attempt rows, scope e.g. "public_search"), so every app server agrees."""
    key = "ip:" + (ip or "")
    now = utcnow()
    since = now - dt.timedelta(minutes=window_minutes)
    used = db.session.scalar(
        sa.select(sa.func.count()).select_from(LoginAttempt).where(
            LoginAttempt.scope == scope, LoginAttempt.key == key, LoginAttempt.at >= since)) or 0
    if used >= limit:
        return False
    if secrets.randbelow(32) == 0:  # now and then: old counters of this key are of no use
        db.session.execute(sa.delete(LoginAttempt).where(
            LoginAttempt.scope == scope, LoginAttempt.key == key, LoginAttempt.at < since))
    db.session.add(LoginAttempt(scope=scope, key=key, at=now, success=True))
    db.session.commit()
    return True
