"""The benchmark's own bulk loader (fallback when `seed/scale.py` is not usable) and the
fixtures every benchmark run needs on top of any data set (a big institution, console users,
a physician account).

Rows go in through the DB-API directly (executemany on SQLite, COPY on PostgreSQL) with
explicit ids, so millions of rows load without the ORM. Values are converted the way
SQLAlchemy stores them (SQLite dates as ISO text, booleans as 0/1, enums as their value)."""
import datetime as dt
import enum
import os
import time

import sqlalchemy as sa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from stdnum.cn import ric

from models import db
from models.enums import (AccountState, ApplicationStatus, ApplicationType, AssessmentResult,
                          AuthorityLevel, ConsoleRole, CreditKind, FilingStatus, Gender, PhysicianCategory, PhysicianLevel,
                          QualificationKind, RegionLevel, RegistrationStatus, UserKind,
                          VerificationOutcome)
from models.reference import PracticeScope, Region
from models.identity import _keys, blind_index_of
from models.institution import region_prefixes
from models.registry import jurisdiction_codes

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国红玉萍飞鹏辉晓燕丹"
BIG_INSTITUTION_NAME = "基准测试省人民医院"
BIG_REGION = "140105"  # 山西省太原市小店区
BENCH_PASSWORD = "Bench2026x"
EPOCH = dt.date(1950, 1, 1)


def chinese_name(i: int) -> str:
    g = len(GIVEN)
    return SURNAMES[i % len(SURNAMES)] + GIVEN[(i // 7) % g] + GIVEN[(i // 311) % g]


class Writer:
    """Batched raw inserts into one table, dialect aware."""

    def __init__(self, conn, table: sa.Table, columns: list[str], batch: int, parents=()):
        self.conn, self.table, self.columns, self.batch = conn, table, columns, batch
        self.parents = parents  # writers whose rows this table references: flushed first
        self.dialect = conn.dialect.name
        self.rows: list[tuple] = []
        self.count = 0

    def _value(self, v):
        if isinstance(v, enum.Enum):
            return v.value
        if self.dialect == "sqlite":
            if isinstance(v, dt.datetime):
                return v.strftime("%Y-%m-%d %H:%M:%S.%f")
            if isinstance(v, dt.date):
                return v.isoformat()
            if isinstance(v, bool):
                return int(v)
        return v

    def add(self, *values):
        self.rows.append(tuple(self._value(v) for v in values))
        if len(self.rows) >= self.batch:
            self.flush()

    def flush(self):
        if not self.rows:
            return
        for parent in self.parents:
            parent.flush()
        raw = self.conn.connection.dbapi_connection
        cols = ", ".join(self.columns)
        if self.dialect == "postgresql":
            with raw.cursor() as cur:
                with cur.copy(f"COPY {self.table.name} ({cols}) FROM STDIN") as copy:
                    for row in self.rows:
                        copy.write_row(row)
        else:
            marks = ", ".join("?" for _ in self.columns)
            cur = raw.cursor()
            cur.executemany(f"INSERT INTO {self.table.name} ({cols}) VALUES ({marks})", self.rows)
            cur.close()
        self.count += len(self.rows)
        self.rows = []


class IdentityCrypto:
    """The same AES-GCM + HMAC blind index as models.identity, without per-call app lookups."""

    def __init__(self):
        key, self.idx = _keys()
        self.aes = AESGCM(key)

    def columns(self, value: str):
        nonce = os.urandom(12)
        enc = nonce + self.aes.encrypt(nonce, value.encode(), b"id_number")
        h = blind_index_of(self.idx, value)
        return enc, h, value[:6] + "*" * 8 + value[-4:]


def id_number(i: int, counties: list[str]) -> tuple[str, dt.date, Gender]:
    """A valid, unique 身份证号 for person number i (i < len(counties) * 14600 * 500)."""
    nc = len(counties)
    area = counties[i % nc]
    birth = dt.date(1955, 1, 1) + dt.timedelta(days=(i // nc) % 14600)
    seq = (i // (nc * 14600)) % 500
    male = i % 2 == 0
    base = f"{area}{birth:%Y%m%d}{seq * 2 + (1 if male else 0):03d}"
    return base + ric.calc_check_digit(base + "0"), birth, Gender.MALE if male else Gender.FEMALE


def _area_valid_since_1955(area: str) -> bool:
    base = f"{area}19550101001"
    return ric.is_valid(base + ric.calc_check_digit(base + "0"))


def _max_id(conn, table) -> int:
    return conn.execute(sa.select(sa.func.coalesce(sa.func.max(table.c.id), 0))).scalar() or 0


def _reset_sequences(conn):
    if conn.dialect.name != "postgresql":
        return
    for t in db.metadata.sorted_tables:
        if "id" in t.c and isinstance(t.c.id.type, sa.Integer) and t.c.id.primary_key:
            conn.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence('{t.name}', 'id'), "
                f"COALESCE((SELECT MAX(id) FROM {t.name}), 0) + 1, false)")


def analyze():
    with db.engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")


class Loader:
    def __init__(self, batch=20000, echo=print):
        self.batch = batch
        self.echo = echo
        self.crypto = IdentityCrypto()
        regions = db.session.execute(sa.select(Region.code, Region.level)).all()
        # counties that already existed in 1955, so every birth date gives a valid 身份证号
        self.counties = sorted(c for c, lvl in regions if lvl == RegionLevel.COUNTY
                               and _area_valid_since_1955(c))
        self.cities = {c for c, lvl in regions if lvl == RegionLevel.CITY}
        self.provinces = sorted(c for c, lvl in regions if lvl == RegionLevel.PROVINCE)
        self.scopes = {}
        for code, cat in db.session.execute(sa.select(PracticeScope.code, PracticeScope.category)):
            self.scopes.setdefault(cat, []).append(code)
        from services.security import hash_password
        self.password_hash = hash_password(BENCH_PASSWORD)
        self._other_inst = []  # institutions physicians file at (set by build)

    # ---- authorities and institutions ------------------------------------------------

    def authorities(self, conn) -> dict:
        """National, provincial and municipal commissions; returns region code → id."""
        T = db.metadata.tables["authority"]
        existing = dict(conn.execute(sa.select(T.c.region_code, T.c.id)
                                     .where(T.c.is_tcm.is_(False))).all())
        national = conn.execute(sa.select(T.c.id).where(
            T.c.level == AuthorityLevel.NATIONAL.value)).scalar()
        w = Writer(conn, T, ["id", "name", "level", "region_code", "is_tcm", "parent_id",
                             "active"], self.batch)
        next_id = _max_id(conn, T) + 1
        if national is None:
            national = next_id
            w.add(national, "国家卫生健康委员会（基准）", AuthorityLevel.NATIONAL, "110000", False,
                  None, True)
            next_id += 1
        by_region = {"": national}
        for code in self.provinces:
            if code in existing:
                by_region[code] = existing[code]
                continue
            w.add(next_id, f"{code}省级卫生健康委员会（基准）", AuthorityLevel.PROVINCIAL, code, False,
                  national, True)
            by_region[code] = next_id
            next_id += 1
        for code in sorted(self.cities):
            if code in existing:
                by_region[code] = existing[code]
                continue
            w.add(next_id, f"{code}市级卫生健康委员会（基准）", AuthorityLevel.MUNICIPAL, code, False,
                  by_region.get(code[:2] + "0000", national), True)
            by_region[code] = next_id
            next_id += 1
        w.flush()
        self.authority_by_region = by_region
        self.national_id = national
        return by_region

    def authority_for_county(self, county: str) -> int:
        a = self.authority_by_region
        return a.get(county[:4] + "00") or a.get(county[:2] + "0000") or self.national_id

    def institutions(self, conn, count: int) -> list[tuple[int, str, int]]:
        """`count` institutions; the first one is the big hospital. Returns
        [(id, county, authority id)]."""
        T = db.metadata.tables["institution"]
        IA = db.metadata.tables["institution_authority"]
        wi = Writer(conn, T, ["id", "name", "license_no", "region_code", "address",
                              "licensing_authority_id", "responsible_person", "reserved_phone",
                              "is_military", "active", "created_at", "province_prefix",
                              "city_prefix"], self.batch)
        wa = Writer(conn, IA, ["institution_id", "category", "authority_id"], self.batch,
                    parents=(wi,))
        start = _max_id(conn, T) + 1
        now = dt.datetime(2026, 1, 1)
        out = []
        for k in range(count):
            iid = start + k
            county = BIG_REGION if k == 0 else self.counties[(k * 7919) % len(self.counties)]
            auth = self.authority_for_county(county)
            name = BIG_INSTITUTION_NAME if k == 0 else f"基准{county}第{iid}医院"
            wi.add(iid, name, f"BENCH{iid:010d}", county, f"测试路{iid}号", auth, "张主任",
                   f"139{iid:08d}"[:11], False, True, now, *region_prefixes(county))
            for cat in PhysicianCategory:
                wa.add(iid, cat, auth)
            out.append((iid, county, auth))
        wi.flush()
        wa.flush()
        return out

    def departments(self, conn, institution_id: int, count=30) -> list[int]:
        T = db.metadata.tables["department"]
        w = Writer(conn, T, ["id", "institution_id", "name"], self.batch)
        start = _max_id(conn, T) + 1
        names = ["内科", "外科", "妇产科", "儿科", "眼科", "耳鼻咽喉科", "口腔科", "皮肤科",
                 "精神科", "传染科", "急诊医学科", "康复医学科", "麻醉科", "医学影像科",
                 "医学检验科", "病理科", "中医科", "肿瘤科", "全科医疗科", "预防保健科"]
        ids = []
        for k in range(count):
            w.add(start + k, institution_id, f"{names[k % len(names)]}{k // len(names) or ''}")
            ids.append(start + k)
        w.flush()
        return ids

    # ---- physicians -------------------------------------------------------------------

    def physicians(self, conn, assignments, departments=None, app_every=100):
        """assignments: iterable of (institution id, county, authority id), one per person."""
        md = db.metadata.tables
        # one id serves the person, its qualification and its registration: past the highest
        # of all three (imports and approvals add qualifications and registrations alone)
        start = max(_max_id(conn, md[t]) for t in ("person", "qualification", "registration")) + 1
        wp = Writer(conn, md["person"], ["id", "id_number_enc", "id_number_hash",
                                        "id_number_masked", "name", "gender", "birth_date",
                                        "ethnicity_code", "is_military", "certificate_no",
                                        "created_at"], self.batch)
        wq = Writer(conn, md["qualification"], ["id", "code", "person_id", "level", "category",
                                               "year", "school", "major", "education_code",
                                               "issuing_authority", "kind", "issued_on",
                                               "created_at"], self.batch, parents=(wp,))
        wr = Writer(conn, md["registration"], ["id", "person_id", "qualification_id", "level",
                                              "category", "location_code", "institution_id",
                                              "authority_id", "approved_on", "status",
                                              "department_id", "created_at", "province_code",
                                              "city_code", "county_code", "person_name",
                                              "person_gender", "person_birth_date",
                                              "scope_codes"],
                    self.batch,
                    parents=(wp, wq))
        ws = Writer(conn, md["registration_scope"], ["registration_id", "scope_code"],
                    self.batch, parents=(wr,))
        wacc = Writer(conn, md["physician_account"], [
            "id", "username", "name", "phone", "phone_verified_at", "email", "password_hash",
            "state", "verification_outcome", "person_id", "institution_id", "registered_at",
            "verified_at", "activated_at", "id_number_enc", "id_number_hash",
            "id_number_masked", "password_changed_at", "username_key"], self.batch,
            parents=(wp,))
        wapp = Writer(conn, md["application"], [
            "id", "type", "status", "subject_key", "account_id", "person_id", "applicant_kind",
            "confirming_institution_id", "authority_id", "registration_id", "payload", "reason",
            "submitted_at", "version"], self.batch, parents=(wacc, wr))
        wasm = Writer(conn, md["assessment"], ["id", "person_id", "period_start", "period_end",
                                               "result", "assessing_body", "assessed_on"],
                      self.batch, parents=(wp,))
        wcr = Writer(conn, md["credit_record"], ["id", "person_id", "kind", "description",
                                                 "decided_on", "authority_id",
                                                 "revokes_certificate"], self.batch,
                     parents=(wp,))
        wf = Writer(conn, md["filing"], ["id", "registration_id", "institution_id",
                                         "authority_id", "status", "filed_on"], self.batch,
                    parents=(wr,))
        wl = Writer(conn, md["legacy_site"], ["id", "registration_id", "institution_id",
                                              "authority_id", "status", "added_on"], self.batch,
                    parents=(wr,))
        asm_start = _max_id(conn, md["assessment"]) + 1
        cr_start = _max_id(conn, md["credit_record"]) + 1
        f_start = _max_id(conn, md["filing"]) + 1
        l_start = _max_id(conn, md["legacy_site"]) + 1
        n_asm = n_cr = n_f = n_l = 0
        acc_start = _max_id(conn, md["physician_account"]) + 1
        app_start = _max_id(conn, md["application"]) + 1
        now = dt.datetime(2026, 1, 1, 8, 0, 0)
        cats = [PhysicianCategory.CLINICAL] * 6 + [PhysicianCategory.DENTAL,
                                                   PhysicianCategory.PUBLIC_HEALTH,
                                                   PhysicianCategory.TCM, PhysicianCategory.TCM]
        n_acc = n_app = 0
        t0 = time.perf_counter()
        for k, (iid, county, auth) in enumerate(assignments):
            pid = start + k
            idno, birth, gender = id_number(pid, self.counties)
            enc, h, masked = self.crypto.columns(idno)
            cat = cats[pid % len(cats)]
            level = PhysicianLevel.ASSISTANT if pid % 10 == 0 else PhysicianLevel.PHYSICIAN
            year = 1990 + pid % 35
            name = chinese_name(pid)
            wp.add(pid, enc, h, masked, name, gender, birth, "01", False,
                   f"{county[:2]}{year}{pid:010d}", now)
            wq.add(pid, f"{year}{county[:2]}{pid:011d}", pid, level, cat, year, "某医科大学",
                   "临床医学", "41", "卫生健康委员会",
                   QualificationKind.OLD_RULES if year < 1999 else QualificationKind.NATIONAL_EXAM,
                   dt.date(year, 9, 1), now)
            r = pid % 50
            status = (RegistrationStatus.CANCELLED if r == 1 else RegistrationStatus.INVALID
                      if r == 2 else RegistrationStatus.TRANSFERRED_OUT if r == 3
                      else RegistrationStatus.FILED if r == 4 else RegistrationStatus.VALID)
            location = county[:2] + "0000" if level == PhysicianLevel.PHYSICIAN else county
            dept = departments[pid % len(departments)] if departments else None
            scopes = self.scopes[cat]
            wr.add(pid, pid, pid, level, cat, location, iid, auth,
                   EPOCH + dt.timedelta(days=18000 + pid % 9000), status, dept, now,
                   *jurisdiction_codes(county), name, gender, birth, scopes[pid % len(scopes)])
            ws.add(pid, scopes[pid % len(scopes)])
            if pid % 2 == 0:  # 定期考核 for half the register
                wasm.add(asm_start + n_asm, pid, dt.date(2019, 1, 1), dt.date(2020, 12, 31),
                         AssessmentResult.PASSED if pid % 20 else AssessmentResult.BASIC_PASS,
                         "医师定期考核机构", dt.date(2021, 3, 1))
                n_asm += 1
            if pid % 50 == 7:
                wcr.add(cr_start + n_cr, pid, CreditKind.COMMENDATION if pid % 100 == 7
                        else CreditKind.BAD_CONDUCT, "基准测试信用记录", dt.date(2022, 5, 1), auth,
                        False)
                n_cr += 1
            if status == RegistrationStatus.VALID and pid % 40 == 5 and self._other_inst:
                # 多执业机构备案 at another institution; 多地点执业 (old policy) for a few
                other = self._other_inst[pid % len(self._other_inst)]
                if other[0] != iid:
                    wf.add(f_start + n_f, pid, other[0], other[2], FilingStatus.VALID,
                           dt.date(2020, 1, 1))
                    n_f += 1
                    if pid % 120 == 5:
                        wl.add(l_start + n_l, pid, other[0], other[2], FilingStatus.VALID,
                               dt.date(2016, 1, 1))
                        n_l += 1
            if pid % 3 == 0:  # a third of the register has a self-service account
                aid = acc_start + n_acc
                n_acc += 1
                wacc.add(aid, f"b{pid:09d}", name, f"13{pid:09d}", now, f"d{pid}@example.com",
                         self.password_hash, AccountState.ACTIVATED,
                         VerificationOutcome.IN_REGISTER, pid, iid, now, now, now, enc, h, masked,
                         now, f"b{pid:09d}")
                if pid % app_every == 0 and status == RegistrationStatus.VALID:
                    # 1 % of accounts (the big hospital: 5 %) have an open 变更 application
                    # waiting for the authority
                    wapp.add(app_start + n_app, ApplicationType.CHANGE,
                             ApplicationStatus.PENDING_APPROVAL, f"p:{pid}", aid, pid,
                             UserKind.PHYSICIAN, iid, auth, pid,
                             "{}", "变更执业范围",
                             now, 1)
                    n_app += 1
            if (k + 1) % 100000 == 0:
                self.echo(f"  {k + 1:,} physicians ({(k + 1) / (time.perf_counter() - t0):,.0f}/s)")
        for w in (wp, wq, wr, ws, wacc, wapp, wasm, wcr, wf, wl):
            w.flush()
        return wp.count


def build(physicians: int, institutions: int, batch=20000, echo=print, big=5000) -> dict:
    """Load a synthetic national register: `institutions` institutions, `physicians`
    persons (each with a qualification and a registration), `big` of them in one hospital."""
    t0 = time.perf_counter()
    loader = Loader(batch=batch, echo=echo)
    big = min(big, physicians // 2)
    with db.engine.begin() as conn:
        loader.authorities(conn)
        insts = loader.institutions(conn, institutions)
        echo(f"  {len(insts):,} institutions")
        depts = loader.departments(conn, insts[0][0])
        # filings point at the big hospital (filed in) and at a spread of others
        loader._other_inst = [insts[0]] + insts[1:200]
        loader.physicians(conn, [insts[0]] * big, depts, app_every=20)
        rest = insts[1:] or insts

        def spread():
            for k in range(physicians - big):
                yield rest[(k * 2654435761) % len(rest)]
        loader.physicians(conn, spread())
        _reset_sequences(conn)
    analyze()
    return {"seconds": time.perf_counter() - t0, "loader": "bench"}


def top_up_big_institution(target=5000, echo=print) -> int:
    """With a data set from `flask seed scale`: make sure one institution has `target` valid
    registrations (the console's worst case). Returns the big institution's id."""
    R = db.metadata.tables["registration"]
    row = db.session.execute(
        sa.select(R.c.institution_id, sa.func.count()).where(R.c.status == "valid")
        .group_by(R.c.institution_id).order_by(sa.func.count().desc()).limit(1)).first()
    if row and row[1] >= target:
        return row[0]
    loader = Loader(echo=echo)
    with db.engine.begin() as conn:
        loader.authorities(conn)
        if row is None:
            inst = loader.institutions(conn, 1)[0]
        else:
            I = db.metadata.tables["institution"]
            iid = row[0]
            county, auth = conn.execute(sa.select(I.c.region_code, I.c.licensing_authority_id)
                                        .where(I.c.id == iid)).one()
            inst = (iid, county, auth)
        missing = target - (row[1] if row else 0)
        echo(f"  adding {missing:,} physicians to institution {inst[0]}")
        loader.physicians(conn, [inst] * missing)
        _reset_sequences(conn)
    analyze()
    return inst[0]


def big_institution_id() -> int:
    R = db.metadata.tables["registration"]
    return db.session.execute(
        sa.select(R.c.institution_id).where(R.c.status == "valid")
        .group_by(R.c.institution_id).order_by(sa.func.count().desc()).limit(1)).scalar()


def ensure_users(big_inst: int) -> dict:
    """Console users of every role and one physician account for the benchmark (idempotent)."""
    from models.account import ConsoleUser, PhysicianAccount
    from models.institution import Authority
    users = {}
    national = db.session.scalar(sa.select(Authority).where(
        Authority.level == AuthorityLevel.NATIONAL).order_by(Authority.id).limit(1))
    province = db.session.scalar(sa.select(Authority).where(
        Authority.level == AuthorityLevel.PROVINCIAL, Authority.region_code == "140000")
        .order_by(Authority.id).limit(1)) or national
    # the commission that approves the big hospital's applications (its licensing authority)
    city_id = db.session.scalar(sa.text(
        "SELECT licensing_authority_id FROM institution WHERE id = :i"), {"i": big_inst})
    specs = [("bench_org", ConsoleRole.INSTITUTION_ADMIN, big_inst, None),
             ("bench_gov", ConsoleRole.REVIEWER, None, national.id),
             ("bench_gov_prov", ConsoleRole.REVIEWER, None, province.id),
             ("bench_gov_city", ConsoleRole.REVIEWER, None, city_id or province.id),
             ("bench_sysadmin", ConsoleRole.SYSADMIN, None, national.id),
             ("bench_auditor", ConsoleRole.AUDITOR, None, national.id)]
    from services.security import hash_password
    for username, role, inst, auth in specs:
        u = db.session.scalar(sa.select(ConsoleUser).where(ConsoleUser.username == username))
        if u is None:
            u = ConsoleUser(username=username, display_name="基准测试", role=role,
                            password_hash=hash_password(BENCH_PASSWORD), institution_id=inst,
                            authority_id=auth, phone="13800000000")
            db.session.add(u)
        u.institution_id, u.authority_id = inst, auth
        users[username] = u
    acct = db.session.scalar(sa.select(PhysicianAccount).where(
        PhysicianAccount.institution_id == big_inst,
        PhysicianAccount.state == AccountState.ACTIVATED).order_by(PhysicianAccount.id).limit(1))
    if acct is None:
        acct = db.session.scalar(sa.select(PhysicianAccount).where(
            PhysicianAccount.state == AccountState.ACTIVATED).order_by(PhysicianAccount.id)
            .limit(1))
    db.session.commit()
    users["physician"] = acct
    return {k: (v.id if v is not None else None) for k, v in users.items()}


def enrich(big_inst: int, echo=print) -> dict:
    """Fill the registry tables a data set from `flask seed scale` may leave empty (定期考核,
    信用记录, 备案, 多地点执业, open applications), with INSERT … SELECT over the existing
    register, so every list measures a realistic plan (an empty table makes SQLite's planner
    scan the other side of a join). Tables that already have rows are left alone."""
    added = {}

    def sparse(conn, table):
        """A table far below the register's volume (e.g. only the top-up's rows) is filled
        up: 定期考核 for half the persons, 信用记录 for one in fifty, applications."""
        n = conn.execute(sa.select(sa.func.count()).select_from(sa.table(table))).scalar()
        persons = conn.exec_driver_sql("SELECT MAX(id) FROM person").scalar() or 0
        floor = {"assessment": persons // 10, "credit_record": persons // 200,
                 "application": 1000}.get(table)
        return floor is not None and n < floor

    def empty(conn, table):
        return conn.exec_driver_sql(f"SELECT 1 FROM {table} LIMIT 1").first() is None

    with db.engine.begin() as conn:
        auth = conn.exec_driver_sql(
            f"SELECT licensing_authority_id FROM institution WHERE id = {int(big_inst)}").scalar()
        other = conn.exec_driver_sql(
            f"SELECT MIN(id) FROM institution WHERE id <> {int(big_inst)}").scalar() or big_inst
        sql = {
            "assessment": (
                "INSERT INTO assessment (person_id, period_start, period_end, result, "
                "assessing_body, assessed_on) SELECT id, '2019-01-01', '2020-12-31', 'pass', "
                "'医师定期考核机构', '2021-03-01' FROM person p WHERE id % 2 = 0 AND NOT EXISTS "
                "(SELECT 1 FROM assessment x WHERE x.person_id = p.id)"),
            "credit_record": (
                "INSERT INTO credit_record (person_id, kind, description, decided_on, "
                f"authority_id, revokes_certificate) SELECT id, 'conduct', '基准测试信用记录', "
                f"'2022-05-01', {int(auth)}, {'false' if conn.dialect.name == 'postgresql' else 0} "
                "FROM person p WHERE id % 50 = 7 AND NOT EXISTS "
                "(SELECT 1 FROM credit_record x WHERE x.person_id = p.id)"),
            "filing": (
                # filed out of the big hospital, and filed in to it from elsewhere
                "INSERT INTO filing (registration_id, institution_id, authority_id, status, "
                f"filed_on) SELECT id, {int(other)}, {int(auth)}, 'valid', '2020-01-01' "
                f"FROM registration WHERE institution_id = {int(big_inst)} AND status = 'valid' "
                "AND id % 10 = 3"),
            "legacy_site": (
                "INSERT INTO legacy_site (registration_id, institution_id, authority_id, status, "
                f"added_on) SELECT id, {int(big_inst)}, {int(auth)}, 'valid', '2016-01-01' FROM "
                f"registration WHERE institution_id <> {int(big_inst)} AND status = 'valid' "
                "AND id % 97 = 5 AND id < 200000"),
            "application": (
                # every 业务状态 (by account id), open ones one per person and type
                "INSERT INTO application (type, status, subject_key, account_id, person_id, "
                "applicant_kind, confirming_institution_id, authority_id, registration_id, "
                "payload, reason, submitted_at, version) SELECT 'B5', CASE a.id % 6 "
                "WHEN 0 THEN 'pending' WHEN 1 THEN 'submitted' WHEN 2 THEN 'approved' "
                "WHEN 3 THEN 'rejected' WHEN 4 THEN 'inst_rejected' ELSE 'withdrawn' END, "
                "'p:' || a.person_id, a.id, a.person_id, 'physician', r.institution_id, "
                "r.authority_id, r.id, '{}', '变更执业范围', '2026-01-01 08:00:00', 1 "
                "FROM physician_account a JOIN registration r ON r.id = (SELECT MIN(r2.id) "
                "FROM registration r2 WHERE r2.person_id = a.person_id AND r2.status = 'valid') "
                "WHERE a.person_id % 7 = 0 AND NOT EXISTS (SELECT 1 FROM application x "
                "WHERE x.subject_key = 'p:' || a.person_id)"),
        }
        for table, stmt in sql.items():
            if empty(conn, table) or sparse(conn, table):
                added[table] = conn.execute(sa.text(stmt)).rowcount  # text(): % escaped
        if any(added.values()):
            _reset_sequences(conn)
    if added:
        echo(f"  enriched: {added}")
        analyze()
    return added
