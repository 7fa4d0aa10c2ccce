"""The national register: persons, qualifications (医师资格), practice registrations
(执业注册), multi-institution filings (多执业机构备案), legacy multi-site records (多地点执业),
periodic assessments (定期考核), credit records (信用记录) and direct businesses."""
import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, foreign, mapped_column, object_session, relationship

from . import db
from .enums import (AccountState, AssessmentResult, CreditKind, DirectBusinessKind, FilingStatus, Gender,
                    PhysicianCategory, PhysicianLevel, QualificationKind, RegistrationStatus,
                    enum_column)
from .identity import IdentityNumberMixin
from .institution import Authority, Institution, utcnow
from .reference import practice_scope_names

__all__ = ["Person", "Qualification", "QualificationRegion", "AssessmentRegion",
           "CreditRecordRegion", "RegistrationMove", "Registration", "registration_scope",
           "Filing", "LegacySite", "Assessment", "CreditRecord", "CertificateReissue",
           "DirectBusiness", "MultiProvincePerson"]


class Person(IdentityNumberMixin, db.Model):
    """A natural person in the register, keyed by the blind index of the 身份证号."""
    __tablename__ = "person"
    __table_args__ = (sa.UniqueConstraint("id_number_hash"),
                      sa.Index("ix_person_name", "name"))
    id: Mapped[int] = mapped_column(primary_key=True)
    # the unique constraint above is the lookup index: no second B-tree on the same 64-char
    # keys (the mixin's index=True), which every import and registration would also fill
    id_number_hash: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    name: Mapped[str] = mapped_column(sa.String(32))
    gender: Mapped[Gender] = mapped_column(enum_column(Gender))
    birth_date: Mapped[dt.date] = mapped_column(sa.Date)
    ethnicity_code: Mapped[str | None] = mapped_column(sa.String(4))  # 民族 (GB/T 3304)
    is_military: Mapped[bool] = mapped_column(default=False)
    # 执业证书编码: one number for life, assigned at the first registration (unique)
    certificate_no: Mapped[str | None] = mapped_column(sa.String(32), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    qualifications = relationship("Qualification", back_populates="person",
                                  order_by="Qualification.year")
    registrations = relationship("Registration", back_populates="person",
                                 order_by="Registration.id")
    # the person's 医师个人账户 that is not revoked (one at most): read-only, so that a list
    # can load its 医师账户状态 with its rows
    live_account = relationship("PhysicianAccount", viewonly=True, uselist=False,
                                primaryjoin=lambda: _live_account_join())

    def age(self, today: dt.date | None = None) -> int:
        today = today or dt.date.today()
        b = self.birth_date
        return today.year - b.year - ((today.month, today.day) < (b.month, b.day))

    def __str__(self):
        return self.name


def _live_account_join():
    from .account import PhysicianAccount
    return sa.and_(foreign(PhysicianAccount.person_id) == Person.id,
                   PhysicianAccount.state != AccountState.REVOKED)


class Qualification(db.Model):  # 医师资格: issued once, never edited by the physician
    __tablename__ = "qualification"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)  # 资格证书编码
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id"), index=True)
    level: Mapped[PhysicianLevel] = mapped_column(enum_column(PhysicianLevel))
    category: Mapped[PhysicianCategory] = mapped_column(enum_column(PhysicianCategory))
    year: Mapped[int] = mapped_column()  # 获得年度
    school: Mapped[str] = mapped_column(sa.String(128), default="")  # 毕业院校
    major: Mapped[str] = mapped_column(sa.String(64), default="")  # 所学专业
    education_code: Mapped[str | None] = mapped_column(sa.String(8))  # 学历
    issuing_authority: Mapped[str] = mapped_column(sa.String(128), default="")  # 发证机关
    kind: Mapped[QualificationKind] = mapped_column(enum_column(QualificationKind))
    issued_on: Mapped[dt.date | None] = mapped_column(sa.Date)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    person = relationship("Person", back_populates="qualifications")

    def __str__(self):
        return self.code


class QualificationRegion(db.Model):
    """The provinces and cities ('14', '1401') whose commissions see a 医师资格: those of its
    person's 身份证号 area and of every place the person is registered — the same rule as
    services.registry.person_in_jurisdiction, kept as rows so a provincial or city list walks
    its own key newest first instead of probing every qualification of the country in turn
    (up to 1.5 s for a city). Derived data: kept by the events below, the import and the
    bulk loaders (add_record_regions).

    Like an index, the region tables carry no foreign key: their rows are written in the
    same transaction as the record (or rebuilt by rebuild_record_regions), records are never
    deleted, and every list joins the record, so a row pointing nowhere would show nothing.
    The key's check was a third of what the database spent on the import's region rows
    (40,000 rows per 20,000 qualifications: 0.32–0.38 s with it, 0.12 s without)."""
    __tablename__ = "qualification_region"
    __table_args__ = {"sqlite_with_rowid": False}
    region_code: Mapped[str] = mapped_column(sa.String(6), primary_key=True)
    qualification_id: Mapped[int] = mapped_column(primary_key=True, index=True)


registration_scope = sa.Table(
    "registration_scope", db.metadata,
    sa.Column("registration_id", sa.ForeignKey("registration.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("scope_code", sa.ForeignKey("practice_scope.code"), primary_key=True),
)

_VALID = sa.text("status = 'valid'")


def jurisdiction_codes(region_code: str | None) -> tuple:
    """(province, city, county) code prefixes of a 6-digit region code, e.g. 140105 ->
    ('14', '1401', '140105'); a provincial code gives ('14', None, None)."""
    if not region_code:
        return None, None, None
    province = region_code[:2]
    city = region_code[:4] if region_code[2:4] != "00" else None
    county = region_code if region_code[4:] != "00" else None
    return province, city, county
_VALID_ASSISTANT = sa.text("status = 'valid' AND level = '2'")


class Registration(db.Model):  # 执业注册, one per 执业地点
    __tablename__ = "registration"
    __table_args__ = (
        # one 主要执业机构 per 执业地点: one valid registration per person and location
        sa.Index("uq_registration_valid_location", "person_id", "location_code", unique=True,
                 sqlite_where=_VALID, postgresql_where=_VALID),
        # an 执业助理医师 holds one location only
        sa.Index("uq_registration_valid_assistant", "person_id", unique=True,
                 sqlite_where=_VALID_ASSISTANT, postgresql_where=_VALID_ASSISTANT),
        # a hospital's lists by id (keyset); the trailing columns are what its 统计信息 groups
        # and counts by, so that page reads this index alone, not a table row per physician
        sa.Index("ix_registration_institution_status_stats", "institution_id", "status", "id",
                 "category", "level", "department_id", "person_gender", "person_birth_date",
                 "person_id"),
        # a hospital's lists sorted by 姓名 read this range in order (no per-row person probe)
        sa.Index("ix_registration_institution_status_name", "institution_id", "status",
                 "person_name", "id"),
        # a hospital's 统计信息 by 执业范围 counts this range alone, grouped as it lies
        sa.Index("ix_registration_institution_status_scopes", "institution_id", "status",
                 "scope_codes"),
        sa.Index("ix_registration_authority_status", "authority_id", "status"),
        # a commission's list is one index range in id order at every level
        sa.Index("ix_registration_province_id", "province_code", "id"),
        sa.Index("ix_registration_city_id", "city_code", "id"),
        sa.Index("ix_registration_county_id", "county_code", "id"),
        # the daily change feed (医师变动信息) finds a day's changes that concern one
        # institution on these alone (index-only: the day's other rows are never read)
        sa.Index("ix_registration_approved_feed", "approved_on", "institution_id",
                 "person_id", "id"),
        sa.Index("ix_registration_status_changed_feed", "status_changed_on", "institution_id",
                 "person_id", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id"), index=True)
    qualification_id: Mapped[int] = mapped_column(sa.ForeignKey("qualification.id"), index=True)
    level: Mapped[PhysicianLevel] = mapped_column(enum_column(PhysicianLevel))
    category: Mapped[PhysicianCategory] = mapped_column(enum_column(PhysicianCategory))
    # 执业地点: a province code for 执业医师, a county code for 执业助理医师
    location_code: Mapped[str] = mapped_column(sa.ForeignKey("region.code"), index=True)
    institution_id: Mapped[int] = mapped_column(sa.ForeignKey("institution.id"))  # 主要执业机构
    authority_id: Mapped[int] = mapped_column(sa.ForeignKey("authority.id"))  # 审批机关
    # 辖区: the 主要执业机构's region at each level (kept by jurisdiction_codes below), so a
    # commission's list is an equality on one indexed column instead of an OR over two ranges
    province_code: Mapped[str | None] = mapped_column(sa.String(2))
    city_code: Mapped[str | None] = mapped_column(sa.String(4))
    county_code: Mapped[str | None] = mapped_column(sa.String(6))
    # the person's 姓名, 性别 and 出生日期, kept on the registration (events below): 姓名 is the
    # lists' sort key, 性别 and 出生日期 are what a hospital's 统计信息 groups its physicians by
    # (read with the registrations instead of one person lookup per physician)
    person_name: Mapped[str | None] = mapped_column(sa.String(32))
    person_gender: Mapped[Gender | None] = mapped_column(enum_column(Gender), nullable=True)
    person_birth_date: Mapped[dt.date | None] = mapped_column(sa.Date)
    # the 执业范围 codes, sorted and comma-separated ("11,21"), kept with the scopes (events
    # below): a hospital's 统计信息 counts them from one index range instead of a scope
    # lookup per physician (11 ms for 4,500 on PostgreSQL)
    scope_codes: Mapped[str | None] = mapped_column(sa.String(64))
    approved_on: Mapped[dt.date] = mapped_column(sa.Date)  # 批准日期
    status: Mapped[RegistrationStatus] = mapped_column(enum_column(RegistrationStatus),
                                                      default=RegistrationStatus.VALID)
    status_changed_on: Mapped[dt.date | None] = mapped_column(sa.Date)
    status_reason_code: Mapped[str | None] = mapped_column(sa.String(8))
    # overlay fields the physician changes through institution review (信息维护)
    education_code: Mapped[str | None] = mapped_column(sa.String(8))
    school: Mapped[str | None] = mapped_column(sa.String(128))
    title_code: Mapped[str | None] = mapped_column(sa.String(8))  # 任职资格
    major: Mapped[str | None] = mapped_column(sa.String(64))
    photo_id: Mapped[int | None] = mapped_column(sa.ForeignKey("photo.id"))
    department_id: Mapped[int | None] = mapped_column(sa.ForeignKey("department.id",
                                                                    ondelete="SET NULL"))
    info_modified_on: Mapped[dt.datetime | None] = mapped_column()  # 审核日期 of the last change
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    person = relationship("Person", back_populates="registrations")
    qualification = relationship("Qualification")
    location = relationship("Region")
    institution = relationship("Institution")
    authority = relationship("Authority")
    department = relationship("Department")
    scopes = relationship("PracticeScope", secondary=registration_scope,
                          order_by="PracticeScope.code")
    filings = relationship("Filing", back_populates="registration", order_by="Filing.id")
    legacy_sites = relationship("LegacySite", back_populates="registration",
                                order_by="LegacySite.id")

    def set_jurisdiction(self, region_code: str | None) -> None:
        self.province_code, self.city_code, self.county_code = jurisdiction_codes(region_code)

    @property
    def scope_names(self) -> str:
        """执业范围, in code order. When the scopes are not loaded, from scope_codes and the
        kept code → name list (practice_scope_names): a list of registrations then reads no
        scope rows (a statement, and three objects a row)."""
        if "scopes" not in self.__dict__ and self.scope_codes:
            session = object_session(self)
            if session is not None:
                names = practice_scope_names(session)
                return "，".join(names.get(code, code) for code in self.scope_codes.split(","))
        return "，".join(s.name for s in self.scopes)

    def __str__(self):
        return f"{self.person.name} {self.location} {self.status.label}"


class Filing(db.Model):  # 多执业机构备案
    __tablename__ = "filing"
    __table_args__ = (
        sa.Index("uq_filing_valid", "registration_id", "institution_id", unique=True,
                 sqlite_where=_VALID, postgresql_where=_VALID),
        sa.Index("ix_filing_institution_status", "institution_id", "status"),
        # 本院多执业机构备案医师: the filings of an institution's own registrations, read as one
        # index range instead of a filing probe per registration of the institution
        sa.Index("ix_filing_registration_institution_status", "registration_institution_id",
                 "status", "registration_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(sa.ForeignKey("registration.id"), index=True)
    institution_id: Mapped[int] = mapped_column(sa.ForeignKey("institution.id"))
    # the registration's 主要执业机构, kept with it (events below; index_bulk_load after a bulk
    # load): a copy, like the registration's jurisdiction codes, so it carries no key
    registration_institution_id: Mapped[int | None] = mapped_column()
    authority_id: Mapped[int] = mapped_column(sa.ForeignKey("authority.id"))
    status: Mapped[FilingStatus] = mapped_column(enum_column(FilingStatus),
                                                default=FilingStatus.VALID)
    filed_on: Mapped[dt.date] = mapped_column(sa.Date)
    cancelled_on: Mapped[dt.date | None] = mapped_column(sa.Date)

    registration = relationship("Registration", back_populates="filings")
    institution = relationship("Institution")
    authority = relationship("Authority")


class RegistrationMove(db.Model):  # 主要执业机构变更 in place (B5 inside the province)
    """A registration that moved to another 主要执业机构 and kept its id: the registration no
    longer names the old institution, so this row is what that institution's 医师变动信息
    lists as 调离本院 — one index range per institution and window, whatever the size of
    the register or of the audit log."""
    __tablename__ = "registration_move"
    __table_args__ = (sa.Index("ix_registration_move_from_day", "from_institution_id",
                               "moved_on"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(sa.ForeignKey("registration.id"), index=True)
    from_institution_id: Mapped[int] = mapped_column(sa.ForeignKey("institution.id"))
    to_institution_id: Mapped[int] = mapped_column(sa.ForeignKey("institution.id"))
    moved_on: Mapped[dt.date] = mapped_column(sa.Date)  # the approval's 批准日期
    application_id: Mapped[int | None] = mapped_column(sa.ForeignKey("application.id"))


class LegacySite(db.Model):  # 多地点执业 (old policy: list and cancel, never add)
    __tablename__ = "legacy_site"
    __table_args__ = (sa.Index("ix_legacy_site_institution_status", "institution_id", "status"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(sa.ForeignKey("registration.id"), index=True)
    institution_id: Mapped[int] = mapped_column(sa.ForeignKey("institution.id"))
    authority_id: Mapped[int] = mapped_column(sa.ForeignKey("authority.id"))
    status: Mapped[FilingStatus] = mapped_column(enum_column(FilingStatus),
                                                default=FilingStatus.VALID)
    added_on: Mapped[dt.date] = mapped_column(sa.Date)
    cancelled_on: Mapped[dt.date | None] = mapped_column(sa.Date)

    registration = relationship("Registration", back_populates="legacy_sites")
    institution = relationship("Institution")
    authority = relationship("Authority")


class Assessment(db.Model):  # 定期考核
    __tablename__ = "assessment"
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id"), index=True)
    period_start: Mapped[dt.date] = mapped_column(sa.Date)
    period_end: Mapped[dt.date] = mapped_column(sa.Date)
    result: Mapped[AssessmentResult] = mapped_column(enum_column(AssessmentResult))
    assessing_body: Mapped[str] = mapped_column(sa.String(128))
    assessed_on: Mapped[dt.date | None] = mapped_column(sa.Date, index=True)  # change feed

    person = relationship("Person")

    @property
    def period_label(self) -> str:
        return f"{self.period_start:%Y年%m月}—{self.period_end:%Y年%m月}"


class CreditRecord(db.Model):  # 信用记录
    __tablename__ = "credit_record"
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id"), index=True)
    kind: Mapped[CreditKind] = mapped_column(enum_column(CreditKind))
    description: Mapped[str] = mapped_column(sa.Text)
    decided_on: Mapped[dt.date] = mapped_column(sa.Date)
    authority_id: Mapped[int] = mapped_column(sa.ForeignKey("authority.id"))
    # a revoked certificate bars re-registration for 2 years (医师法 第十六条)
    revokes_certificate: Mapped[bool] = mapped_column(default=False)

    person = relationship("Person")
    authority = relationship("Authority")


class CertificateReissue(db.Model):  # 证书补办 record (B12 effect)
    __tablename__ = "certificate_reissue"
    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(sa.ForeignKey("registration.id"), index=True)
    application_id: Mapped[int | None] = mapped_column(sa.ForeignKey("application.id"))
    reason: Mapped[str] = mapped_column(sa.String(64))
    reissued_on: Mapped[dt.date] = mapped_column(sa.Date)

    registration = relationship("Registration")


class DirectBusiness(IdentityNumberMixin, db.Model):
    """Businesses a commission records directly (C4): 港澳台/外国医师."""
    __tablename__ = "direct_business"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[DirectBusinessKind] = mapped_column(enum_column(DirectBusinessKind))
    name: Mapped[str] = mapped_column(sa.String(64))
    nationality: Mapped[str] = mapped_column(sa.String(64))  # 国籍/地区
    document_type: Mapped[str] = mapped_column(sa.String(32))  # 证件类型
    institution_id: Mapped[int | None] = mapped_column(sa.ForeignKey("institution.id"))
    scope: Mapped[str] = mapped_column(sa.String(128), default="")
    valid_from: Mapped[dt.date] = mapped_column(sa.Date)
    valid_to: Mapped[dt.date] = mapped_column(sa.Date)
    authority_id: Mapped[int] = mapped_column(sa.ForeignKey("authority.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    institution = relationship("Institution")
    authority = relationship("Authority")


def _copy_is_stale(target, source: str, *copies) -> bool:
    """Columns copied from another row are (re)computed on insert, when the key they are copied
    through changes, and while one of them is empty."""
    state = sa.inspect(target)
    return (not state.persistent or state.attrs[source].history.has_changes()
            or any(c is None for c in copies))


# Person column -> its copy on Registration
PERSON_COPIES = {"name": "person_name", "gender": "person_gender",
                 "birth_date": "person_birth_date"}


@sa.event.listens_for(Registration, "before_insert")
@sa.event.listens_for(Registration, "before_update")
def _keep_registration_copies(mapper, connection, target):
    """The jurisdiction columns follow the 主要执业机构, the person_* columns the person,
    scope_codes the 执业范围."""
    state = sa.inspect(target)
    if not state.persistent or state.attrs.scopes.history.has_changes():
        target.scope_codes = scope_codes_of(s.code for s in target.scopes)
    if _copy_is_stale(target, "institution_id", target.province_code):
        region = connection.scalar(sa.select(Institution.region_code).where(
            Institution.id == target.institution_id)) if target.institution_id else None
        target.set_jurisdiction(region)
    if _copy_is_stale(target, "person_id", *(getattr(target, c) for c in PERSON_COPIES.values())):
        person = target.__dict__.get("person")  # without loading it
        if person is not None and person.id == target.person_id:
            values = tuple(getattr(person, c) for c in PERSON_COPIES)
        elif target.person_id:
            values = connection.execute(sa.select(
                *(Person.__table__.c[c] for c in PERSON_COPIES)).where(
                Person.id == target.person_id)).one()
        else:
            return
        for copy, value in zip(PERSON_COPIES.values(), values):
            setattr(target, copy, value)


def scope_codes_of(codes) -> str | None:
    """Registration.scope_codes for these 执业范围 codes."""
    return ",".join(sorted(codes)) or None


# each registration's 执业范围 codes in code order (SQLite's group_concat takes no ORDER BY
# before 3.44: it joins them in the order of the ordered subquery)
_SCOPE_CODES_FROM_SCOPES = {
    "postgresql": "UPDATE registration SET scope_codes = (SELECT string_agg(scope_code, ',' "
                  "ORDER BY scope_code) FROM registration_scope "
                  "WHERE registration_id = registration.id)",
    "sqlite": "UPDATE registration SET scope_codes = (SELECT group_concat(scope_code, ',') "
              "FROM (SELECT scope_code FROM registration_scope "
              "WHERE registration_id = registration.id ORDER BY scope_code))",
}


def fill_registration_scope_codes(connection, only_empty: bool = True) -> int:
    """After a load that wrote registration_scope directly: the registrations' scope_codes
    from it — where empty, unless only_empty is False."""
    sql = _SCOPE_CODES_FROM_SCOPES[connection.dialect.name]
    if only_empty:
        sql += " WHERE scope_codes IS NULL"
    return connection.exec_driver_sql(sql).rowcount


@sa.event.listens_for(Person, "after_update")
def _registrations_follow_a_changed_person(mapper, connection, target):
    state = sa.inspect(target)
    if any(state.attrs[c].history.has_changes() for c in PERSON_COPIES):
        connection.execute(sa.update(Registration.__table__).where(
            Registration.__table__.c.person_id == target.id).values(
            {copy: getattr(target, c) for c, copy in PERSON_COPIES.items()}))


def fill_registration_person_copies(connection) -> int:
    """After a bulk load that wrote registrations directly: their person_* columns, where
    one is empty."""
    reg, person = Registration.__table__, Person.__table__
    return connection.execute(
        sa.update(reg).where(reg.c.person_id == person.c.id,
                             sa.or_(*(reg.c[copy].is_(None) for copy in PERSON_COPIES.values())))
        .values({copy: person.c[c] for c, copy in PERSON_COPIES.items()})).rowcount


@sa.event.listens_for(Institution, "after_update")
def _move_registrations_with_institution(mapper, connection, target):
    """An institution moved to another county takes its registrations' jurisdiction along."""
    if sa.inspect(target).attrs.region_code.history.has_changes():
        province, city, county = jurisdiction_codes(target.region_code)
        reg = Registration.__table__
        connection.execute(sa.update(reg).where(reg.c.institution_id == target.id).values(
            province_code=province, city_code=city, county_code=county))
        rebuild_record_regions(connection, sa.select(reg.c.person_id).where(
            reg.c.institution_id == target.id))


# ---- who sees a person's records: qualification_region, assessment_region, credit_record_region

class AssessmentRegion(db.Model):
    """The provinces and cities whose commissions see a 定期考核 record (as QualificationRegion)."""
    __tablename__ = "assessment_region"
    __table_args__ = {"sqlite_with_rowid": False}
    region_code: Mapped[str] = mapped_column(sa.String(6), primary_key=True)
    assessment_id: Mapped[int] = mapped_column(primary_key=True, index=True)  # no key: as above


class CreditRecordRegion(db.Model):
    """The provinces and cities whose commissions see a 信用记录: the person's (as
    QualificationRegion) and the recording commission's own."""
    __tablename__ = "credit_record_region"
    __table_args__ = {"sqlite_with_rowid": False}
    region_code: Mapped[str] = mapped_column(sa.String(6), primary_key=True)
    credit_record_id: Mapped[int] = mapped_column(primary_key=True, index=True)  # as above


def _region_indexes():
    """(record model, its region model, the region model's record column) of each list that
    belongs to a person's jurisdiction."""
    return ((Qualification, QualificationRegion, QualificationRegion.qualification_id),
            (Assessment, AssessmentRegion, AssessmentRegion.assessment_id),
            (CreditRecord, CreditRecordRegion, CreditRecordRegion.credit_record_id))


def region_index_of(record_model):
    """(region model, record column) for a record model of _region_indexes()."""
    for owner, region, column in _region_indexes():
        if owner is record_model:
            return region, column
    raise KeyError(record_model)


def _region_rows(owner, person_ids, after_id):
    """(region code, record id) rows of the given persons' records (None: everyone), or of
    the records above an id (those a bulk insert just added): the province and city of the
    person's 身份证号 area and of each of the person's registrations — the rule of
    services.registry.person_in_jurisdiction — and, for a 信用记录, of the recording
    commission."""
    q, p, r = owner.__table__, Person.__table__, Registration.__table__

    def only(select):
        if after_id is not None:
            select = select.where(q.c.id > after_id)
        return select if person_ids is None else select.where(q.c.person_id.in_(person_ids))

    def by_area(length):
        return only(sa.select(sa.func.substr(p.c.id_number_masked, 1, length), q.c.id)
                    .select_from(q.join(p, p.c.id == q.c.person_id)))

    def by_registration(column):
        return only(sa.select(column, q.c.id)
                    .select_from(r.join(q, q.c.person_id == r.c.person_id))
                    .where(column.is_not(None)))

    parts = [by_area(2), by_area(4), by_registration(r.c.province_code),
             by_registration(r.c.city_code)]
    if owner is CreditRecord:
        a = Authority.__table__
        for length in (2, 4):
            parts.append(only(sa.select(sa.func.substr(a.c.region_code, 1, length), q.c.id)
                              .select_from(q.join(a, a.c.id == q.c.authority_id))))
    return sa.union(*parts)


def add_record_regions(connection, owner, person_ids=None, *, after_id=None) -> None:
    """Insert the missing region rows of these persons' records of one kind (a list or a
    select of person ids; None: the whole register, as after a bulk load), or of the
    records above an id."""
    region, column = region_index_of(owner)
    rows = _region_rows(owner, person_ids, after_id)
    cols = ["region_code", column.key]
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
        stmt = insert(region.__table__).from_select(cols, rows).on_conflict_do_nothing()
    else:
        stmt = sa.insert(region.__table__).from_select(cols, rows).prefix_with("OR IGNORE")
    connection.execute(stmt)


def index_new_record_regions(connection) -> None:
    """After a bulk load that wrote persons and their records directly: the region rows of
    every record above the highest one already indexed, for each kind (all when empty)."""
    for owner, _region, column in _region_indexes():
        top = connection.scalar(sa.select(sa.func.max(column)))
        add_record_regions(connection, owner, after_id=top)


def rebuild_record_regions(connection, person_ids, owners=None) -> None:
    """Recompute the region rows of these persons' records (a registration moved, an ID area
    corrected)."""
    for owner, region, column in _region_indexes():
        if owners is not None and owner not in owners:
            continue
        q = owner.__table__
        connection.execute(sa.delete(region.__table__).where(column.in_(
            sa.select(q.c.id).where(q.c.person_id.in_(person_ids)))))
        add_record_regions(connection, owner, person_ids)


@sa.event.listens_for(Qualification, "after_insert")
@sa.event.listens_for(Assessment, "after_insert")
@sa.event.listens_for(CreditRecord, "after_insert")
def _regions_of_new_record(mapper, connection, target):
    add_record_regions(connection, mapper.class_, [target.person_id])


@sa.event.listens_for(Registration, "after_insert")
def _regions_of_new_registration(mapper, connection, target):
    for owner, _region, _column in _region_indexes():
        add_record_regions(connection, owner, [target.person_id])


def _persons_of_change(target, keys) -> list[int]:
    """The person (and the former person) of a row whose `keys` changed in this flush; none
    when they did not."""
    state = sa.inspect(target)
    if not any(state.attrs[k].history.has_changes() for k in keys):
        return []
    people = {target.person_id, *state.attrs.person_id.history.deleted}
    return sorted(p for p in people if p)


@sa.event.listens_for(Registration, "after_update")
def _regions_of_moved_registration(mapper, connection, target):
    people = _persons_of_change(target, ("province_code", "city_code", "person_id"))
    if people:
        rebuild_record_regions(connection, people)


@sa.event.listens_for(Person, "after_update")
def _regions_of_corrected_person(mapper, connection, target):
    if sa.inspect(target).attrs.id_number_masked.history.has_changes():
        rebuild_record_regions(connection, [target.id])


@sa.event.listens_for(CreditRecord, "after_update")
def _regions_of_changed_credit_record(mapper, connection, target):
    people = _persons_of_change(target, ("authority_id", "person_id"))
    if people:
        rebuild_record_regions(connection, people, [CreditRecord])


@sa.event.listens_for(Authority, "after_update")
def _regions_of_moved_authority(mapper, connection, target):
    """A commission given another region code takes its 信用记录 along."""
    if sa.inspect(target).attrs.region_code.history.has_changes():
        q = CreditRecord.__table__
        rebuild_record_regions(connection, sa.select(q.c.person_id).where(
            q.c.authority_id == target.id), [CreditRecord])


# ---- persons registered in more than one province: 医师在外省注册情况

class MultiProvincePerson(db.Model):
    """The persons whose valid registrations lie in more than one province (by 执业地点).

    An institution's 医师在外省注册情况 joins its physicians to these rows instead of probing
    the register once per physician for a valid registration elsewhere: 4,500 index probes
    for a big hospital, 13–17 ms on PostgreSQL with 4.8 million registrations, whether or not
    any is found. Such persons are few (since 2017 a second place of practice is a 备案, not
    a registration). Derived data, like the region tables: kept by the events below and
    rebuilt after a bulk load (index_bulk_load)."""
    __tablename__ = "multi_province_person"
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id"), primary_key=True)


def refresh_multi_province_persons(connection, person_ids=None) -> None:
    """Recompute whether these persons (a list or a select of ids; None: everyone, as after
    a bulk load) hold valid registrations in more than one province."""
    table = MultiProvincePerson.__table__
    province = sa.func.substr(Registration.location_code, 1, 2)
    members = (sa.select(Registration.person_id)
               .where(Registration.status == RegistrationStatus.VALID)
               .group_by(Registration.person_id)
               .having(sa.func.count(sa.distinct(province)) > 1))
    remove = sa.delete(table)
    if person_ids is not None:
        members = members.where(Registration.person_id.in_(person_ids))
        remove = remove.where(table.c.person_id.in_(person_ids))
    connection.execute(remove)
    connection.execute(sa.insert(table).from_select(["person_id"], members))


def index_bulk_load(connection) -> None:
    """After a bulk load that wrote persons, records, registrations and filings directly (no
    ORM events): the region rows of the new records, the persons registered in more than
    one province and the new filings' registration institutions."""
    index_new_record_regions(connection)
    refresh_multi_province_persons(connection)
    fill_filing_registration_institutions(connection)


def fill_filing_registration_institutions(connection) -> None:
    """The registration's 主要执业机构 on each filing written without it (bulk loads)."""
    filing, reg = Filing.__table__, Registration.__table__
    connection.execute(sa.update(filing).where(filing.c.registration_institution_id.is_(None))
                       .values(registration_institution_id=sa.select(reg.c.institution_id)
                               .where(reg.c.id == filing.c.registration_id)
                               .scalar_subquery()))


@sa.event.listens_for(Registration, "after_insert")
def _multi_province_of_new_registration(mapper, connection, target):
    if target.status == RegistrationStatus.VALID:
        refresh_multi_province_persons(connection, [target.person_id])


@sa.event.listens_for(Registration, "after_update")
def _multi_province_of_changed_registration(mapper, connection, target):
    """注销, a new 执业地点 or another person: the person's (and the former person's) standing."""
    people = _persons_of_change(target, ("status", "location_code", "person_id"))
    if people:
        refresh_multi_province_persons(connection, people)


@sa.event.listens_for(Registration, "after_delete")
def _multi_province_of_deleted_registration(mapper, connection, target):
    refresh_multi_province_persons(connection, [target.person_id])


# ---- a filing keeps its registration's 主要执业机构 (本院多执业机构备案医师)

@sa.event.listens_for(Filing, "before_insert")
def _filing_knows_its_registration_institution(mapper, connection, target):
    if target.registration_institution_id is None:
        # the registration as the session already holds it (an approval loaded it to check
        # the filing), else one lookup
        reg = target.__dict__.get("registration")
        session = object_session(target)
        if reg is None and session is not None:
            reg = session.identity_map.get(
                sa.inspect(Registration).identity_key_from_primary_key([target.registration_id]))
        inst_id = reg.institution_id if reg is not None else None
        target.registration_institution_id = inst_id if inst_id is not None else \
            connection.scalar(sa.select(Registration.institution_id).where(
                Registration.id == target.registration_id))


@sa.event.listens_for(Registration, "after_update")
def _filings_follow_a_new_main_institution(mapper, connection, target):
    if sa.inspect(target).attrs.institution_id.history.has_changes():
        filing = Filing.__table__
        connection.execute(sa.update(filing).where(filing.c.registration_id == target.id)
                           .values(registration_institution_id=target.institution_id))
