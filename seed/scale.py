"""`flask seed scale`: a large synthetic register for load tests, written with bulk
INSERT … RETURNING executemany per table and batch (no ORM objects).

- An authority tree: the national commission, one commission per mainland province and one
  per city (existing authorities with the same names, e.g. the demo's, are reused).
- `institutions` institutions spread over real county codes, each with 审批机关设置 for the
  four categories and two departments.
- `physicians` persons, each with one qualification and one registration (95 % 有效, the rest
  变更出 / 注册备案 / 注销 / 失效) with its 执业范围; about 10 % of the valid ones have an
  activated physician account (password `seed.demo.PHYSICIAN_PASSWORD`).

Every run numbers its rows after the current maximum ids, so runs can be repeated: 身份证号
(valid GB 11643, sequence numbers 500–999 so they never meet the demo's 000–499),
资格证书编码, 执业证书编码, 执业许可证登记号, user names and phones are all derived from
that number and stay unique.
"""
from __future__ import annotations

import datetime as dt
import json
import random
import time

import sqlalchemy as sa
from stdnum.cn import ric

from models import db
from models.account import PhysicianAccount
from models.application import Application
from models.enums import (AccountState, ActivationMethod, ApplicationStatus, ApplicationType,
                          AuthorityLevel, Gender,
                          LabeledEnum, PhysicianCategory, PhysicianLevel, QualificationKind, RegionLevel,
                          RegistrationStatus, UserKind, VerificationOutcome)
from models.identity import encrypt_id_number, id_blind_index, mask_id_number
from models.institution import (Authority, Department, Institution, InstitutionAuthority,
                                department_subject, region_prefixes, utcnow)
from models.reference import Region, TreatmentSubject
from models.registry import (Person, Qualification, Registration, index_bulk_load,
                             jurisdiction_codes, registration_scope)

SEED = 20261126
NATIONAL = "国家卫生健康委员会"
NON_MAINLAND = ("71", "81", "82")  # 台湾, 香港, 澳门: no mainland commission
SKIP_CITY_NAMES = ("市辖区", "县", "省直辖县级行政单位", "自治区直辖县级行政单位",
                   "省直辖县级行政区划", "自治区直辖县级行政区划")
FIRST_DAY = dt.date(1960, 1, 1)
DAYS = (dt.date(1999, 12, 31) - FIRST_DAY).days + 1  # birth dates 1960–1999
DAY_STEP = 7919  # coprime with DAYS: scrambles birth dates, still a bijection

CATS = [PhysicianCategory.CLINICAL] * 62 + [PhysicianCategory.DENTAL] * 10 + \
    [PhysicianCategory.PUBLIC_HEALTH] * 8 + [PhysicianCategory.TCM] * 20
SCOPES = {PhysicianCategory.CLINICAL: ["11", "12", "13", "14", "15", "19", "20", "21", "22"],
          PhysicianCategory.DENTAL: ["31"], PhysicianCategory.PUBLIC_HEALTH: ["41"],
          PhysicianCategory.TCM: ["51", "52"]}
MAJORS = {PhysicianCategory.CLINICAL: "临床医学", PhysicianCategory.DENTAL: "口腔医学",
          PhysicianCategory.PUBLIC_HEALTH: "预防医学", PhysicianCategory.TCM: "中医学"}
SCHOOLS = ["山西医科大学", "首都医科大学", "河北医科大学", "中国医科大学", "复旦大学上海医学院",
           "四川大学华西临床医学院", "中山大学中山医学院", "郑州大学医学院", "北京中医药大学",
           "南京中医药大学", "新疆医科大学", "昆明医科大学"]
INSTITUTION_KINDS = ["人民医院", "中医医院", "妇幼保健院", "社区卫生服务中心", "中心卫生院",
                     "口腔医院", "第二人民医院", "中西医结合医院"]
DEPARTMENTS = [("内科", ["03"]), ("外科", ["04"])]
OTHER_STATUSES = [(RegistrationStatus.TRANSFERRED_OUT, None), (RegistrationStatus.FILED, "F01"),
                  (RegistrationStatus.FILED, "F02"), (RegistrationStatus.CANCELLED, "C10"),
                  (RegistrationStatus.CANCELLED, "C06"), (RegistrationStatus.INVALID, None)]
SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏"
            "魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严")
GIVEN_MALE = "伟强磊军勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆旭宁龙林欣建国志文晓东海峰亮晨阳博睿"
GIVEN_FEMALE = "芳娜敏静丽艳娟霞燕玲桂英秀兰萍红琳婷雪慧倩颖晶洁佳梅莉琴云瑶璐楠晓丹"


def _max_id(model) -> int:
    return db.session.scalar(sa.select(sa.func.max(model.id))) or 0


def _insert(table, rows: list[dict], returning=True) -> list[int]:
    """Insert the rows at once: one executemany INSERT (SQLite and others) or one COPY
    (PostgreSQL). With `returning`, the rows get explicit ids after the table's current
    maximum, which are returned in the rows' order (INSERT … RETURNING would make SQLite
    go row by row); on PostgreSQL the id sequence is moved past them."""
    if not rows:
        return []
    ids: list[int] = []
    if returning:
        start = (db.session.scalar(sa.select(sa.func.max(table.c.id))) or 0) + 1
        ids = list(range(start, start + len(rows)))
        for row, new_id in zip(rows, ids):
            row["id"] = new_id
    postgres = db.session.get_bind().dialect.name == "postgresql"
    if postgres:
        _copy(table, rows)
    else:
        db.session.execute(sa.insert(table), rows)
    if returning and postgres:
        # explicit ids do not advance the serial sequence: move it past them
        db.session.execute(sa.text("SELECT setval(pg_get_serial_sequence(:t, 'id'), :v)"),
                           {"t": table.name, "v": ids[-1]})
    return ids


def _copy(table, rows: list[dict]) -> None:
    """PostgreSQL: COPY … FROM STDIN on the session's own connection (same transaction);
    several times faster than an executemany of INSERTs."""
    columns = list(rows[0])
    dbapi = db.session.connection().connection.dbapi_connection
    cols = ", ".join(f'"{c}"' for c in columns)
    with dbapi.cursor() as cur, cur.copy(f'COPY "{table.name}" ({cols}) FROM STDIN') as cp:
        for row in rows:
            cp.write_row([v.value if isinstance(v, LabeledEnum) else
                          json.dumps(v) if isinstance(v, dict) else v
                          for v in (row[c] for c in columns)])


# --------------------------------------------------------------------------- authorities

def ensure_authorities() -> tuple[dict[str, int], dict[str, int]]:
    """Authority ids by region code (national under "", provinces, cities) and the TCM
    authority per province (its 中医药管理局 if one exists, else the commission)."""
    t = Authority.__table__
    regions = db.session.execute(
        sa.select(Region.code, Region.name, Region.level).where(
            Region.level.in_([RegionLevel.PROVINCE, RegionLevel.CITY])).order_by(Region.code)).all()
    wanted: list[tuple[str, str, AuthorityLevel, str | None]] = [
        ("", NATIONAL, AuthorityLevel.NATIONAL, None)]
    city_names: dict[str, int] = {}
    for code, name, level in regions:
        if level == RegionLevel.CITY and name not in SKIP_CITY_NAMES:
            city_names[name] = city_names.get(name, 0) + 1
    prov_name = {code: name for code, name, level in regions if level == RegionLevel.PROVINCE}
    for code, name, level in regions:
        if code[:2] in NON_MAINLAND:
            continue
        if level == RegionLevel.PROVINCE:
            wanted.append((code, f"{name}卫生健康委员会", AuthorityLevel.PROVINCIAL, ""))
        elif name not in SKIP_CITY_NAMES:
            label = name if city_names[name] == 1 else prov_name[code[:2] + "0000"] + name
            wanted.append((code, f"{label}卫生健康委员会", AuthorityLevel.MUNICIPAL,
                           code[:2] + "0000"))
    existing = dict(db.session.execute(sa.select(Authority.name, Authority.id)).all())
    ids: dict[str, int] = {}
    for stage in (AuthorityLevel.NATIONAL, AuthorityLevel.PROVINCIAL, AuthorityLevel.MUNICIPAL):
        rows, keys = [], []
        for code, name, level, parent in wanted:
            if level != stage:
                continue
            if name in existing:
                ids[code] = existing[name]
                continue
            rows.append({"name": name, "level": level, "region_code": code or "110000",
                         "is_tcm": False, "parent_id": ids.get(parent) if parent is not None
                         else None, "active": True})
            keys.append(code)
        for code, new_id in zip(keys, _insert(t, rows)):
            ids[code] = new_id
    tcm = {prov: ids[prov] for prov in ids if prov.endswith("0000")}
    for prov, aid in db.session.execute(sa.select(Authority.region_code, Authority.id).where(
            Authority.is_tcm.is_(True), Authority.level == AuthorityLevel.PROVINCIAL)
            .order_by(Authority.id)):
        tcm[prov] = aid
    db.session.commit()
    return ids, tcm


# --------------------------------------------------------------------------- institutions

def build_institutions(count: int, auth: dict[str, int], tcm: dict[str, int], rng,
                       batch: int = 20000, echo=None) -> list[tuple]:
    """Create `count` institutions; returns (id, county, province, authority id, TCM
    authority id) tuples (compact: the national scale has a million of them)."""
    counties = db.session.execute(
        sa.select(Region.code, Region.full_name).where(Region.level == RegionLevel.COUNTY)
        .order_by(Region.code)).all()
    counties = [(c, n) for c, n in counties if c[:2] not in NON_MAINLAND]
    subjects = set(db.session.scalars(sa.select(TreatmentSubject.code)))
    base = _max_id(Institution)
    now = utcnow()
    step = 1 if len(counties) < 2 else next(s for s in (97, 89, 83, 79, 73, 71, 67)
                                              if len(counties) % s)
    out: list[tuple] = []
    t0 = time.perf_counter()
    for first in range(0, count, batch):
        rows, meta = [], []
        for i in range(first, min(count, first + batch)):
            n = base + i + 1
            code, full = counties[(n * step) % len(counties)]
            kind = INSTITUTION_KINDS[(n // len(counties)) % len(INSTITUTION_KINDS)]
            round_ = n // (len(counties) * len(INSTITUTION_KINDS))
            name = f"{full}{kind}" + (f"（{round_ + 1}）" if round_ else "")
            prov = code[:2] + "0000"
            city_auth = auth.get(code[:4] + "00") or auth[prov]
            rows.append({"name": name, "license_no": f"PDY{n:08d}{code}B1001",
                         "region_code": code, "address": f"{full}人民路{n % 300 + 1}号",
                         **dict(zip(("province_prefix", "city_prefix"), region_prefixes(code))),
                         "licensing_authority_id": city_auth,
                         "responsible_person": rng.choice(SURNAMES) + rng.choice(GIVEN_MALE)
                         + rng.choice(GIVEN_FEMALE), "reserved_phone": f"177{n:08d}",
                         "is_military": False, "active": True, "created_at": now})
            meta.append((code, prov, city_auth, tcm.get(prov, auth[prov])))
        ids = _insert(Institution.__table__, rows)
        links, depts = [], []
        for inst_id, (code, prov, city_auth, tcm_auth) in zip(ids, meta):
            out.append((inst_id, code, prov, city_auth, tcm_auth))
            for cat in PhysicianCategory:
                links.append({"institution_id": inst_id, "category": cat,
                              "authority_id": tcm_auth if cat == PhysicianCategory.TCM
                              else city_auth})
            for dname, _codes in DEPARTMENTS:
                depts.append({"institution_id": inst_id, "name": dname})
        _insert(InstitutionAuthority.__table__, links, returning=False)
        dept_ids = _insert(Department.__table__, depts)
        subject_rows = [{"department_id": did, "subject_code": code}
                        for did, (_n, codes) in zip(dept_ids, DEPARTMENTS * len(ids))
                        for code in codes if code in subjects]
        _insert(department_subject, subject_rows, returning=False)
        db.session.commit()
        if echo:
            echo(f"机构 {len(out)}/{count}，{len(out) / (time.perf_counter() - t0):.0f} 家/秒")
    return out


def existing_institutions(limit=5000) -> list[tuple]:
    rows = db.session.execute(
        sa.select(Institution.id, Institution.region_code, Institution.licensing_authority_id)
        .where(Institution.active.is_(True)).order_by(Institution.id).limit(limit)).all()
    ids = [r[0] for r in rows]
    links = {}
    if ids:
        for inst_id, cat, aid in db.session.execute(sa.select(
                InstitutionAuthority.institution_id, InstitutionAuthority.category,
                InstitutionAuthority.authority_id).where(
                InstitutionAuthority.institution_id.in_(ids))):
            links[(inst_id, cat)] = aid
    return [(i, r, r[:2] + "0000", links.get((i, PhysicianCategory.CLINICAL), a),
             links.get((i, PhysicianCategory.TCM), a)) for i, r, a in rows]


# --------------------------------------------------------------------------- physicians

def _all_year_areas() -> list[str]:
    """County codes python-stdnum accepts for every birth year (no start year)."""
    from stdnum import numdb
    loc = numdb.get("cn/loc")
    out = []
    for code in db.session.scalars(sa.select(Region.code).where(
            Region.level == RegionLevel.COUNTY).order_by(Region.code)):
        info = {k: v for _p, props in loc.info(code) for k, v in props.items()}
        if any(c and not c.startswith("[") for c in info.get("county", "").split(",")):
            out.append(code)
    return out


def scale_id_number(n: int, areas: list[str]) -> tuple[str, dt.date, bool]:
    """A distinct valid 身份证号 for every n (mixed radix over area, sex, day, sequence)."""
    a = len(areas)
    area = areas[n % a]
    r = n // a
    male = r % 2 == 1
    r //= 2
    birth = FIRST_DAY + dt.timedelta(days=(r % DAYS) * DAY_STEP % DAYS)
    r //= DAYS
    seq = 500 + (r % 250) * 2 + (1 if male else 0)  # 500–999: the demo uses 000–499
    body = f"{area}{birth:%Y%m%d}{seq:03d}"
    return body + ric.calc_check_digit(body + "0"), birth, male


# one application per APPLICATION_EVERY physicians, cycling through every 业务类型 a physician
# files and every 业务状态, so the approval queues and 业务查询 lists have national volume
APPLICATION_EVERY = 200
SAMPLE_TYPES = [ApplicationType.CHANGE, ApplicationType.CANCELLATION,
                ApplicationType.MULTI_FILING, ApplicationType.REGISTRATION_FILING,
                ApplicationType.CERTIFICATE_REISSUE, ApplicationType.ASSISTANT_UPGRADE]


def reg_regs(regs, reg_ids):
    return [dict(r, id=rid) for r, rid in zip(regs, reg_ids)]


def sample_applications(specs, person_ids, regs, now) -> list[dict]:
    rows = []
    statuses = list(ApplicationStatus)
    for (n, _idn, _name, inst_id, status, _scope), pid, reg in zip(specs, person_ids, regs):
        if n % APPLICATION_EVERY or status != RegistrationStatus.VALID:
            continue
        k = n // APPLICATION_EVERY
        app_status = statuses[k % len(statuses)]
        app_type = SAMPLE_TYPES[(k // len(statuses)) % len(SAMPLE_TYPES)]
        submitted = now - dt.timedelta(days=k % 40, hours=k % 24)
        confirmed = app_status not in (ApplicationStatus.SUBMITTED, ApplicationStatus.WITHDRAWN)
        decided = app_status in (ApplicationStatus.APPROVED, ApplicationStatus.REJECTED,
                                 ApplicationStatus.INSTITUTION_REJECTED)
        rows.append({
            "type": app_type, "status": app_status, "subject_key": f"p:{pid}",
            "account_id": None, "person_id": pid, "applicant_kind": UserKind.PHYSICIAN,
            "applicant_institution_id": None, "confirming_institution_id": inst_id,
            "authority_id": reg["authority_id"], "registration_id": reg["id"],
            "payload": {}, "reason": f"{app_type.label}（规模数据）", "submitted_at": submitted,
            "accepted_on": submitted.date() if confirmed else None,
            "confirmed_at": submitted + dt.timedelta(days=1) if confirmed else None,
            "decided_at": submitted + dt.timedelta(days=3) if decided else None,
            "institution_opinion": "同意" if confirmed else None,
            "authority_opinion": ("同意" if app_status == ApplicationStatus.APPROVED else
                                  "材料不全" if app_status == ApplicationStatus.REJECTED else None),
            "version": 1})
    return rows


def build_scale(physicians, institutions, batch, echo):
    echo = echo or (lambda *_a, **_k: None)
    batch = max(1, int(batch))
    t0 = time.perf_counter()
    from seed.demo import PHYSICIAN_PASSWORD
    from services.security import hash_password

    auth, tcm = ensure_authorities()
    rng = random.Random(SEED + _max_id(Person))
    insts = build_institutions(institutions, auth, tcm, rng, batch, echo) if institutions else []
    if not insts:
        insts = existing_institutions()
    if physicians and not insts:
        raise RuntimeError("没有可用的医疗机构：请先用 --institutions 创建机构。")

    areas = _all_year_areas()
    password_hash = hash_password(PHYSICIAN_PASSWORD)
    person_t, qual_t, reg_t = Person.__table__, Qualification.__table__, Registration.__table__
    account_t = PhysicianAccount.__table__
    base = _max_id(Person)
    today = dt.date.today()
    now = utcnow()
    done = 0
    t1 = time.perf_counter()
    while done < physicians:
        size = min(batch, physicians - done)
        persons, quals, regs, specs = [], [], [], []
        for i in range(size):
            n = base + done + i + 1
            idn, birth, male = scale_id_number(n, areas)
            inst = insts[(n * 7919) % len(insts)]
            cat = CATS[n % 100]
            level = PhysicianLevel.ASSISTANT if n % 5 == 0 else PhysicianLevel.PHYSICIAN
            given = GIVEN_MALE if male else GIVEN_FEMALE
            name = (rng.choice(SURNAMES) + rng.choice(given)
                    + (rng.choice(given) if rng.random() < 0.7 else ""))
            inst_id, county, province, inst_auth, inst_tcm = inst
            location = province if level == PhysicianLevel.PHYSICIAN else county
            year = min(birth.year + (25 if level == PhysicianLevel.PHYSICIAN else 22)
                       + rng.randint(0, 4), today.year - 1)
            roll = rng.random()
            status, reason = (RegistrationStatus.VALID, None) if roll >= 0.05 else \
                OTHER_STATUSES[int(roll * 1000) % len(OTHER_STATUSES)]
            approved = dt.date(min(year + 1 + rng.randint(0, 2), today.year - 1),
                               rng.randint(1, 12), rng.randint(1, 28))
            persons.append({
                "name": name, "gender": Gender.MALE if male else Gender.FEMALE,
                "birth_date": birth, "ethnicity_code": "01", "is_military": False,
                "certificate_no": f"{level.value}{cat.value}{location}{1_000_000 + n:07d}",
                "created_at": now, "id_number_enc": encrypt_id_number(idn),
                "id_number_hash": id_blind_index(idn), "id_number_masked": mask_id_number(idn)})
            quals.append({
                "code": f"{year}{level.value}{cat.value}{province}{10_000_000 + n:08d}",
                "level": level, "category": cat, "year": year, "school": rng.choice(SCHOOLS),
                "major": MAJORS[cat], "education_code": "21" if level == PhysicianLevel.PHYSICIAN
                else "31", "issuing_authority": "中华人民共和国国家卫生健康委员会"
                if year >= 2018 else "中华人民共和国卫生部",
                "kind": QualificationKind.NATIONAL_EXAM if year >= 1999
                else QualificationKind.OLD_RULES,
                "issued_on": dt.date(year, 12, 1), "created_at": now})
            regs.append({
                "level": level, "category": cat, "location_code": location,
                "institution_id": inst_id, "approved_on": approved, "person_name": name,
                "person_gender": Gender.MALE if male else Gender.FEMALE, "person_birth_date": birth,
                "authority_id": inst_tcm if cat == PhysicianCategory.TCM else inst_auth,
                "status": status,
                "status_changed_on": None if status == RegistrationStatus.VALID else
                max(approved, min(approved + dt.timedelta(days=365), today)),
                "status_reason_code": reason,
                **dict(zip(("province_code", "city_code", "county_code"),
                           jurisdiction_codes(county))),
                "scope_codes": SCOPES[cat][n % len(SCOPES[cat])], "created_at": now})
            specs.append((n, idn, name, inst_id, status, SCOPES[cat][n % len(SCOPES[cat])]))
        person_ids = _insert(person_t, persons)
        for q, pid in zip(quals, person_ids):
            q["person_id"] = pid
        qual_ids = _insert(qual_t, quals)
        for r, pid, qid in zip(regs, person_ids, qual_ids):
            r["person_id"], r["qualification_id"] = pid, qid
        reg_ids = _insert(reg_t, regs)
        scope_rows, accounts = [], []
        for (n, idn, name, inst_id, status, scope), pid, rid, p in zip(specs, person_ids,
                                                                        reg_ids, persons):
            scope_rows.append({"registration_id": rid, "scope_code": scope})
            if status == RegistrationStatus.VALID and n % 10 == 3:
                at = now - dt.timedelta(days=n % 700 + 1)
                accounts.append({
                    "username": f"sc{n:08d}", "username_key": f"sc{n:08d}",
                    "name": name, "phone": f"17{n % 10 ** 9:09d}",
                    "phone_verified_at": at, "email": f"sc{n:08d}@example.com",
                    "email_verified_at": None, "password_hash": password_hash,
                    "state": AccountState.ACTIVATED,
                    "verification_outcome": VerificationOutcome.IN_REGISTER,
                    "person_id": pid, "institution_id": inst_id, "registered_at": at,
                    "verified_at": at, "activated_at": at + dt.timedelta(days=1),
                    "activation_method": ActivationMethod.INSTITUTION_CODE, "revoked_at": None,
                    "password_changed_at": at, "id_number_enc": p["id_number_enc"],
                    "id_number_hash": p["id_number_hash"],
                    "id_number_masked": p["id_number_masked"]})
        _insert(registration_scope, scope_rows, returning=False)
        _insert(account_t, accounts, returning=False)
        _insert(Application.__table__, sample_applications(specs, person_ids, reg_regs(
            regs, reg_ids), now), returning=False)
        db.session.commit()
        done += size
        elapsed = time.perf_counter() - t1
        echo(f"医师 {done}/{physicians}（账户 {len(accounts)}），"
             f"{done / elapsed:.0f} 人/秒")
    with db.engine.begin() as conn:
        # who sees each new 医师资格 (provinces and cities), and who is registered in more
        # than one province, in statements after the load
        index_bulk_load(conn)
    total = time.perf_counter() - t0
    rate = physicians / (time.perf_counter() - t1) if physicians else 0.0
    echo(f"完成：机构 {institutions} 家，医师 {physicians} 人，用时 {total:.1f} 秒"
         + (f"（{rate:.0f} 人/秒）" if physicians else ""))
    return {"institutions": len(insts) if institutions else 0, "physicians": physicians,
            "seconds": total, "rate": rate}
