"""Demo country for `flask seed demo` and the first start of `python app.py`.

`load_demo()` builds a believable register on top of the reference data: a national
commission and TCM administration, two provinces that run electronic registration (山西省,
北京市) with their municipal and county commissions, one province that does not (新疆),
nine institutions with departments and 审批机关设置, a few hundred physicians with
qualifications, registrations in every status, filings, legacy multi-site records,
assessments and credit records, physician accounts in every state, and console accounts for
every role.

The data come from one deterministic recipe (`random.Random(SEED)`): `_plan()` is pure Python
and produces the same people on every run; `_write()` stores them only when the demo is not
there yet (marker: 山西大学医院's licence number), so a second call adds nothing and returns
the same description. The description (demo.json) is rebuilt from the recipe and checked
against the database (account states, persons who still have no account).
"""
from __future__ import annotations

import datetime as dt
import random

import sqlalchemy as sa
from stdnum.cn import ric

from models import db
from models.account import ActivationCode, ChangeRequest, ConsoleUser, PhysicianAccount
from models.enums import (AccountState, ActivationMethod, AssessmentResult, AuthorityLevel,
                          ConsoleRole, CreditKind, FilingStatus, Gender, PhysicianCategory,
                          PhysicianLevel, QualificationKind, RegionLevel, RegistrationStatus,
                          ReviewStatus, VerificationOutcome)
from models.identity import id_blind_index
from models.institution import Authority, Department, Institution, InstitutionAuthority, utcnow
from models.reference import PracticeScope, Region, TreatmentSubject
from models.registry import Assessment, CreditRecord, Filing, LegacySite, Person, Qualification, \
    Registration

SEED = 20261126
PHYSICIAN_PASSWORD = "Demo2026"
CONSOLE_PASSWORD = "Admin2026x"
BULK_PERSONS = 300  # on top of the featured ones
AS_OF = dt.date(2025, 11, 1)  # "today" of the historical rows (keeps the recipe stable)

CLIN, DENT, PH, TCM = (PhysicianCategory.CLINICAL, PhysicianCategory.DENTAL,
                       PhysicianCategory.PUBLIC_HEALTH, PhysicianCategory.TCM)
DOCTOR, ASSISTANT = PhysicianLevel.PHYSICIAN, PhysicianLevel.ASSISTANT
L = AuthorityLevel

# key, name, level, region, is_tcm, parent key
AUTHORITIES = [
    ("nhc", "国家卫生健康委员会", L.NATIONAL, "110000", False, None),
    ("natcm", "国家中医药管理局", L.NATIONAL, "110000", True, "nhc"),
    ("sx", "山西省卫生健康委员会", L.PROVINCIAL, "140000", False, "nhc"),
    ("sx_tcm", "山西省中医药管理局", L.PROVINCIAL, "140000", True, "natcm"),
    ("ty", "太原市卫生健康委员会", L.MUNICIPAL, "140100", False, "sx"),
    ("dt", "大同市卫生健康委员会", L.MUNICIPAL, "140200", False, "sx"),
    ("xd", "太原市小店区卫生健康局", L.COUNTY, "140105", False, "ty"),
    ("yz", "太原市迎泽区卫生健康局", L.COUNTY, "140106", False, "ty"),
    ("pc", "大同市平城区卫生健康局", L.COUNTY, "140213", False, "dt"),
    ("bj", "北京市卫生健康委员会", L.PROVINCIAL, "110000", False, "nhc"),
    ("bj_tcm", "北京市中医管理局", L.PROVINCIAL, "110000", True, "natcm"),
    ("cy", "北京市朝阳区卫生健康委员会", L.COUNTY, "110105", False, "bj"),
    ("hd", "北京市海淀区卫生健康委员会", L.COUNTY, "110108", False, "bj"),
    ("xj", "新疆维吾尔自治区卫生健康委员会", L.PROVINCIAL, "650000", False, "nhc"),
    ("xj_tcm", "新疆维吾尔自治区中医药管理局", L.PROVINCIAL, "650000", True, "natcm"),
    ("wlmq", "乌鲁木齐市卫生健康委员会", L.MUNICIPAL, "650100", False, "xj"),
]
PROVINCE_TCM = {"140000": "sx_tcm", "110000": "bj_tcm", "650000": "xj_tcm"}

# key (= console user name), name, county, licensing authority, address, 负责人, profile,
# 审批机关设置 present, weight among the electronic-province institutions
INSTITUTIONS = [
    ("sxdxyy", "山西大学医院", "140105", "ty", "山西省太原市小店区坞城路166号", "王建平",
     "general", True, 6),
    ("tyszxyy", "太原市中心医院", "140106", "ty", "山西省太原市迎泽区解放南路21号", "李志刚",
     "general", True, 5),
    ("xdqrmyy", "太原市小店区人民医院", "140105", "xd", "山西省太原市小店区平阳路128号",
     "赵国华", "county", True, 4),
    ("yzqzyyy", "太原市迎泽区中医医院", "140106", "yz", "山西省太原市迎泽区双塔西街36号",
     "郭文彬", "tcm", True, 3),
    ("dtsdyyy", "大同市第一人民医院", "140213", "dt", "山西省大同市平城区永泰南路16号",
     "孙晓东", "general", True, 4),
    ("pcxysq", "大同市平城区向阳社区卫生服务中心", "140213", "pc",
     "山西省大同市平城区向阳西街18号", "马丽", "community", False, 2),
    ("bjcyhk", "北京朝阳和康医院", "110105", "cy", "北京市朝阳区工体南路8号", "陈立新",
     "general", True, 4),
    ("hdzzysq", "北京市海淀区紫竹院社区卫生服务中心", "110108", "hd",
     "北京市海淀区紫竹院路33号", "刘红梅", "community", True, 2),
    ("wlmqtsq", "乌鲁木齐市天山区人民医院", "650102", "wlmq",
     "新疆维吾尔自治区乌鲁木齐市天山区解放北路66号", "艾尔肯·吐尔逊", "county", True, 0),
]
INST = {row[0]: row for row in INSTITUTIONS}
MARKER_INSTITUTION = "sxdxyy"
XJ_INST = "wlmqtsq"

DEPARTMENTS = {
    "sxdxyy": [("内科", ["03", "03.01", "03.04"]), ("外科", ["04", "04.01", "04.03"]),
               ("妇产科", ["05", "05.01", "05.02"]), ("口腔科", ["12"])],
    "tyszxyy": [("内科", ["03", "03.02"]), ("儿科", ["07", "07.01"]),
                ("急诊医学科", ["20"]), ("医学影像科", ["32"])],
    "xdqrmyy": [("内科", ["03"]), ("外科", ["04"]), ("预防保健科", ["01"])],
    "yzqzyyy": [("中医内科", ["50", "50.01"]), ("针灸推拿科", ["50.13", "50.14"]),
                ("中西医结合科", ["52"])],
    "dtsdyyy": [("心血管内科", ["03", "03.04"]), ("骨科", ["04", "04.03"]), ("口腔科", ["12"])],
    "pcxysq": [("全科医疗科", ["02"]), ("预防保健科", ["01"])],
    "bjcyhk": [("内科", ["03"]), ("口腔科", ["12"]), ("中医科", ["50"])],
    "hdzzysq": [("全科医疗科", ["02"]), ("预防保健科", ["01"]), ("中医科", ["50"])],
    "wlmqtsq": [("内科", ["03"]), ("维吾尔医科", ["51", "51.01"]), ("预防保健科", ["01"])],
}

COMMISSION_USERS = [  # user name, authority key
    ("gjwjw", "nhc"), ("gjzyj", "natcm"), ("sxwjw", "sx"), ("sxzyj", "sx_tcm"),
    ("tywjw", "ty"), ("dtwjw", "dt"), ("xdqwjj", "xd"), ("yzqwjj", "yz"), ("pcqwjj", "pc"),
    ("bjwjw", "bj"), ("bjzyj", "bj_tcm"), ("cyqwjw", "cy"), ("hdqwjw", "hd"),
    ("xjwjw", "xj"), ("xjzyj", "xj_tcm"), ("wlmqwjw", "wlmq"),
]
STAFF_USERS = [("sysadmin", ConsoleRole.SYSADMIN, "系统管理员"),
               ("auditor", ConsoleRole.AUDITOR, "安全审计员")]

SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
            "于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江"
            "尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严武戴孔汤温乔樊牛")
MALE_GIVEN = "伟强磊军勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆旭宁龙林欣建国志文晓东海峰亮晨阳博睿"
FEMALE_GIVEN = "芳娜敏静丽艳娟霞燕玲桂英秀兰萍红琳婷雪慧倩颖晶洁佳梅莉琴云瑶璐楠晓丹"
UYGHUR_NAMES = [("买买提·艾力", True), ("阿依古丽·吐尔逊", False), ("艾尔肯·热合曼", True),
                ("古丽娜尔·买合木提", False), ("阿不都热合曼·吾斯曼", True)]

SCHOOLS = {
    CLIN: ["山西医科大学", "首都医科大学", "北京大学医学部", "山西医科大学汾阳学院", "长治医学院",
           "河北医科大学", "新疆医科大学", "中国医科大学"],
    DENT: ["山西医科大学", "首都医科大学", "北京大学口腔医学院", "四川大学华西口腔医学院"],
    PH: ["山西医科大学", "首都医科大学", "北京大学医学部", "华中科技大学同济医学院"],
    TCM: ["山西中医药大学", "北京中医药大学", "新疆医科大学", "河南中医药大学"],
}
ASSISTANT_SCHOOLS = ["山西职工医学院", "太原市卫生学校", "大同市卫生学校", "北京卫生职业学院",
                     "山西医科大学汾阳学院", "新疆维吾尔医学专科学校"]
MAJORS = {CLIN: ["临床医学", "临床医学", "临床医学", "医学影像学", "麻醉学", "儿科学"],
          DENT: ["口腔医学"], PH: ["预防医学", "公共卫生"],
          TCM: ["中医学", "中医学", "中西医临床医学", "针灸推拿学"]}
SCOPES = {CLIN: ["11", "11", "11", "12", "12", "13", "14", "15", "19", "21", "22", "1901"],
          DENT: ["31", "31", "31", "2901"], PH: ["41"], TCM: ["51", "51", "51", "52"]}
CATEGORY_WEIGHTS = {
    "general": ({CLIN: 62, DENT: 12, PH: 8, TCM: 18}, 0.12),
    "county": ({CLIN: 60, DENT: 8, PH: 14, TCM: 18}, 0.40),
    "community": ({CLIN: 55, DENT: 5, PH: 25, TCM: 15}, 0.45),
    "tcm": ({CLIN: 25, TCM: 75}, 0.20),
}
PHONE_PREFIXES = ["130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151",
                  "152", "155", "156", "158", "159", "180", "181", "186", "187", "188", "189",
                  "199"]
ASSESSMENT_CYCLES = [(dt.date(2017, 7, 1), dt.date(2019, 6, 30)),
                     (dt.date(2019, 7, 1), dt.date(2021, 6, 30)),
                     (dt.date(2021, 7, 1), dt.date(2024, 6, 30))]
ACTIVATION_ALPHABET = "34679ACDEFGHJKMNPQRTUVWXY"  # services.security.CODE_ALPHABET

STATE_OF_OUTCOME = {"in_register": VerificationOutcome.IN_REGISTER,
                    "self_activate": VerificationOutcome.SELF_ACTIVATE,
                    "not_found": VerificationOutcome.NOT_FOUND,
                    "non_electronic_province": VerificationOutcome.NON_ELECTRONIC}


def _issuer(year: int) -> str:
    if year < 2013:
        return "中华人民共和国卫生部"
    if year < 2018:
        return "国家卫生和计划生育委员会"
    return "中华人民共和国国家卫生健康委员会"


def _province(code: str) -> str:
    return code[:2] + "0000"


def _dept_category(name: str) -> PhysicianCategory:
    if "口腔" in name:
        return DENT
    if "预防保健" in name:
        return PH
    if any(w in name for w in ("中医", "针灸", "中西医", "维吾尔医")):
        return TCM
    return CLIN


def _inst_authority_key(inst_key: str, cat: PhysicianCategory) -> str:
    """The 审批机关 a registration at this institution goes to (its I2 setting, or for the
    institution without settings the authority that licensed it)."""
    row = INST[inst_key]
    if cat == TCM:
        return PROVINCE_TCM[_province(row[2])]
    return row[3]


# --------------------------------------------------------------------------- the recipe

class _Recipe:
    """Pure, deterministic description of the demo people (no database writes)."""

    def __init__(self, birth_areas: dict[str, list[tuple[str, int]]]):
        self.rng = random.Random(SEED)
        self.birth_areas = birth_areas
        self.ids: set[str] = set()
        self.phones: set[str] = set()
        self.qual_seq = 0
        self.cert_seq = 0
        self.people: list[dict] = []
        self.not_found: list[dict] = []  # valid name + 身份证号 that match nobody
        self.phantom_accounts: list[dict] = []  # accounts whose data match nobody
        self.change_requests: list[dict] = []

    # ---- small generators
    def choice_w(self, weights: dict):
        keys = list(weights)
        return self.rng.choices(keys, weights=[weights[k] for k in keys])[0]

    def date_between(self, a: dt.date, b: dt.date) -> dt.date:
        return a + dt.timedelta(days=self.rng.randrange(max(1, (b - a).days)))

    def phone(self) -> str:
        while True:
            p = self.rng.choice(PHONE_PREFIXES) + f"{self.rng.randrange(10 ** 8):08d}"
            if p not in self.phones:
                self.phones.add(p)
                return p

    def name(self, male: bool) -> str:
        given = MALE_GIVEN if male else FEMALE_GIVEN
        n = 2 if self.rng.random() < 0.7 else 1
        return self.rng.choice(SURNAMES) + "".join(self.rng.choice(given) for _ in range(n))

    def id_number(self, birth: dt.date, male: bool, province: str | None = None) -> str:
        if province is None:
            province = self.choice_w({"14": 60, "11": 18, "65": 4, "13": 6, "41": 5, "37": 4,
                                      "61": 3})
        areas = [c for c, start in self.birth_areas[province] if start <= birth.year] or \
            [c for prov in sorted(self.birth_areas) for c, start in self.birth_areas[prov]
             if start <= birth.year]
        while True:
            # sequence numbers 000-499 are the demo's; `seed.scale` uses 500-999
            seq = self.rng.randrange(250) * 2 + (1 if male else 0)
            body = f"{self.rng.choice(areas)}{birth:%Y%m%d}{seq:03d}"
            full = body + ric.calc_check_digit(body + "0")
            if full not in self.ids and ric.is_valid(full):
                self.ids.add(full)
                return full

    def qual_code(self, year: int, level, cat, province: str) -> str:
        self.qual_seq += 1
        return f"{year}{level.value}{cat.value}{province}{self.qual_seq:08d}"

    def certificate_no(self, level, cat, location: str) -> str:
        self.cert_seq += 1
        return f"{level.value}{cat.value}{location}{self.cert_seq:07d}"

    # ---- people
    def person(self, *, tag="bulk", male=None, born=(1962, 1998), name=None, province=None,
               ethnicity="01") -> dict:
        male = self.rng.random() < 0.52 if male is None else male
        birth = self.date_between(dt.date(born[0], 1, 1), dt.date(born[1], 12, 31))
        p = {"tag": tag, "name": name or self.name(male), "gender": Gender.MALE if male
             else Gender.FEMALE, "birth": birth, "ethnicity": ethnicity,
             "id_number": self.id_number(birth, male, province), "certificate_no": None,
             "quals": [], "regs": [], "assessments": [], "credits": [], "account": None,
             "unregistered": None}
        self.people.append(p)
        return p

    def qualification(self, p: dict, level, cat, *, year=None, inst_key="sxdxyy") -> int:
        if year is None:
            year = p["birth"].year + (self.rng.randint(24, 29) if level == DOCTOR
                                      else self.rng.randint(21, 24))
        year = min(year, 2024)
        if level == DOCTOR:
            school = self.rng.choice(SCHOOLS[cat])
            edu = self.choice_w({"21": 55, "14": 20, "11": 5, "31": 20})
        else:
            school = self.rng.choice(ASSISTANT_SCHOOLS)
            edu = self.choice_w({"31": 60, "41": 40})
        p["quals"].append({
            "code": self.qual_code(year, level, cat, _province(INST[inst_key][2])),
            "level": level, "category": cat, "year": year, "school": school,
            "major": self.rng.choice(MAJORS[cat]), "education_code": edu,
            "issuing_authority": _issuer(year),
            "kind": QualificationKind.OLD_RULES if year < 1999 else QualificationKind.NATIONAL_EXAM,
            "issued_on": dt.date(year, self.rng.randint(9, 12), self.rng.randint(1, 28)),
        })
        return len(p["quals"]) - 1

    def registration(self, p: dict, q: int, inst_key: str, *, status=RegistrationStatus.VALID,
                     approved=None, changed=None, reason=None, dept=True) -> dict:
        qual = p["quals"][q]
        level, cat = qual["level"], qual["category"]
        county = INST[inst_key][2]
        location = _province(county) if level == DOCTOR else county
        if approved is None:
            start = max(qual["issued_on"] + dt.timedelta(days=60), dt.date(1999, 6, 1))
            end = min(start + dt.timedelta(days=3 * 365), AS_OF - dt.timedelta(days=60))
            approved = self.date_between(start, max(start + dt.timedelta(days=30), end))
        if p["certificate_no"] is None:
            p["certificate_no"] = self.certificate_no(level, cat, location)
        scopes = [self.rng.choice(SCOPES[cat])]
        if cat == CLIN and INST[inst_key][6] in ("county", "community") and self.rng.random() < 0.3:
            scopes.append("21")  # 全科医学专业 added after GP training
        if cat == TCM and inst_key == XJ_INST and self.rng.random() < 0.5:
            scopes = ["55"]  # 维医专业
        depts = [d for d, _ in DEPARTMENTS[inst_key] if _dept_category(d) == cat]
        r = {"q": q, "level": level, "category": cat, "location": location, "inst": inst_key,
             "approved_on": approved, "status": status, "changed_on": changed, "reason": reason,
             "scopes": sorted(set(scopes)),
             "dept": (self.rng.choice(depts) if dept and depts and self.rng.random() < 0.65
                      else None),
             "title": None, "education_code": None, "school": None, "major": None,
             "filings": [], "legacy": []}
        if status == RegistrationStatus.VALID and self.rng.random() < 0.35:
            r["title"] = "235" if level == ASSISTANT else self.choice_w(
                {"234": 40, "233": 35, "232": 15, "231": 10})
        if status == RegistrationStatus.VALID and self.rng.random() < 0.1:
            r["education_code"] = "14" if level == DOCTOR else "21"
            r["school"] = "山西医科大学" if location.startswith("14") else "首都医科大学"
        if status != RegistrationStatus.VALID and changed is None:
            r["changed_on"] = self.date_between(approved + dt.timedelta(days=200),
                                                max(approved + dt.timedelta(days=400),
                                                    AS_OF - dt.timedelta(days=30)))
        p["regs"].append(r)
        return r

    def assessments(self, p: dict, body: str, *, force=None):
        first = p["regs"][0]["approved_on"] if p["regs"] else AS_OF
        for start, end in ASSESSMENT_CYCLES:
            if end < first:
                continue
            result = force or self.choice_w({AssessmentResult.PASSED: 84,
                                             AssessmentResult.BASIC_PASS: 7,
                                             AssessmentResult.FAILED: 3,
                                             AssessmentResult.ABSENT: 6})
            p["assessments"].append({"start": start, "end": end, "result": result,
                                     "body": body,
                                     "on": end + dt.timedelta(days=self.rng.randint(20, 90))})

    def filing(self, r: dict, inst_key: str, valid=True):
        filed = self.date_between(max(r["approved_on"], dt.date(2017, 4, 1)),
                                  AS_OF - dt.timedelta(days=20))
        r["filings"].append({"inst": inst_key, "status": FilingStatus.VALID if valid
                             else FilingStatus.CANCELLED, "filed_on": filed,
                             "cancelled_on": None if valid else
                             self.date_between(filed + dt.timedelta(days=30), AS_OF)})

    def legacy(self, r: dict, inst_key: str, valid=True):
        added = self.date_between(dt.date(2011, 1, 1), dt.date(2016, 12, 31))
        r["legacy"].append({"inst": inst_key, "status": FilingStatus.VALID if valid
                            else FilingStatus.CANCELLED, "added_on": added,
                            "cancelled_on": None if valid else
                            self.date_between(dt.date(2017, 4, 1), AS_OF)})

    def account(self, p: dict, username: str, state: AccountState, outcome, *,
                inst_key=None, method=None, code=None, featured=False,
                name=None, id_number=None):
        reg_at = dt.datetime.combine(self.date_between(dt.date(2023, 3, 1), dt.date(2025, 9, 30)),
                                     dt.time(self.rng.randint(8, 21), self.rng.randint(0, 59)))
        a = {"username": username, "state": state, "outcome": outcome, "inst": inst_key,
             "method": method, "featured": featured, "phone": self.phone(),
             "email": f"{username}@example.com", "registered_at": reg_at,
             "name": name or p["name"], "id_number": id_number or p["id_number"],
             "code": code}
        if state != AccountState.REGISTERED:
            a["verified_at"] = reg_at + dt.timedelta(minutes=self.rng.randint(2, 30))
        if state in (AccountState.ACTIVATED, AccountState.DISABLED):
            a["activated_at"] = a["verified_at"] + dt.timedelta(days=self.rng.randint(0, 9),
                                                                hours=self.rng.randint(1, 8))
            if method is None:
                a["method"] = (ActivationMethod.INSTITUTION_CODE
                               if outcome == VerificationOutcome.IN_REGISTER
                               else ActivationMethod.QUALIFICATION_CODE)
            if a["method"] == ActivationMethod.INSTITUTION_CODE and code is None:
                a["code"] = self.activation_code()
        if state == AccountState.REVOKED:
            a["revoked_at"] = a["verified_at"] + dt.timedelta(days=self.rng.randint(3, 40))
        a["phone_verified"] = state not in (AccountState.REGISTERED, AccountState.REVOKED)
        a["email_verified"] = a["phone_verified"] and self.rng.random() < 0.4
        if p is not None:
            p["account"] = a
        return a

    def activation_code(self) -> str:
        return "".join(self.rng.choice(ACTIVATION_ALPHABET) for _ in range(8))


def birth_areas(prefixes=None) -> dict[str, list[tuple[str, int]]]:
    """Current county codes per 2-digit province with the first birth year for which
    python-stdnum accepts them (a code is only valid for people born after it existed)."""
    from stdnum import numdb
    loc = numdb.get("cn/loc")
    q = sa.select(Region.code).where(Region.level == RegionLevel.COUNTY).order_by(Region.code)
    if prefixes:
        q = q.where(sa.or_(*[Region.code.like(p + "%") for p in prefixes]))
    out: dict[str, list[tuple[str, int]]] = {}
    for code in db.session.scalars(q):
        info = {k: v for _part, props in loc.info(code) for k, v in props.items()}
        starts = []
        for county in info.get("county", "").split(","):
            if not county:
                continue
            if not county.startswith("["):
                starts.append(0)
                continue
            start, end = county[1:].split("]")[0].split("-")
            if not end:
                starts.append(int(start or 0))
        if starts:
            out.setdefault(code[:2], []).append((code, min(starts)))
    return out


def _plan() -> _Recipe:
    R = _Recipe(birth_areas(("14", "11", "65", "13", "41", "37", "61")))
    rng = R.rng
    electronic = {k: row[8] for k, row in INST.items() if row[8] > 0}
    shanxi = [k for k in electronic if INST[k][2].startswith("14")]
    beijing = [k for k in electronic if INST[k][2].startswith("11")]

    def same_province_other(inst_key: str, n_max=1) -> list[str]:
        prov = INST[inst_key][2][:2]
        others = [k for k in electronic if k != inst_key and INST[k][2][:2] == prov]
        return rng.sample(others, min(n_max, len(others)))

    def pick_level_cat(inst_key: str):
        weights, p_assistant = CATEGORY_WEIGHTS[INST[inst_key][6]]
        cat = R.choice_w(weights)
        level = ASSISTANT if rng.random() < p_assistant else DOCTOR
        return level, cat

    def body_for(inst_key: str) -> str:
        city = {"14": "太原市" if INST[inst_key][2].startswith("1401") else "大同市",
                "11": "北京市", "65": "乌鲁木齐市"}[INST[inst_key][2][:2]]
        return f"{city}医师定期考核委员会"

    # ---------------- featured accounts (fixed user names, see demo.json)
    def featured(username, inst_key, level, cat, state, outcome=VerificationOutcome.IN_REGISTER,
                 **kw):
        p = R.person(tag="featured", born=(1975, 1990))
        q = R.qualification(p, level, cat, inst_key=inst_key)
        r = R.registration(p, q, inst_key)
        R.assessments(p, body_for(inst_key))
        R.account(p, username, state, outcome, inst_key=inst_key, featured=True, **kw)
        return p, r

    p1, r1 = featured("yisheng01", "sxdxyy", DOCTOR, CLIN, AccountState.ACTIVATED)
    r1.update(dept="内科", title="233", scopes=["11"])
    R.filing(r1, "tyszxyy", valid=True)
    R.legacy(r1, "xdqrmyy", valid=True)
    p1["assessments"][-1]["result"] = AssessmentResult.PASSED
    featured("yisheng02", "xdqrmyy", ASSISTANT, CLIN, AccountState.ACTIVATED)
    featured("zhuli03", "xdqrmyy", ASSISTANT, CLIN, AccountState.VERIFIED)
    featured("yisheng04", "sxdxyy", DOCTOR, CLIN, AccountState.VERIFIED,
             code=R.activation_code())  # an unused code waits for the physician
    # yisheng05: qualification and a 注册备案 registration only → may self-activate
    p = R.person(tag="featured")
    q = R.qualification(p, DOCTOR, CLIN, inst_key="tyszxyy")
    R.registration(p, q, "tyszxyy", status=RegistrationStatus.FILED, reason="F01")
    R.account(p, "yisheng05", AccountState.VERIFIED, VerificationOutcome.SELF_ACTIVATE,
              featured=True)
    # yisheng06: registered, but nothing in the register matches (name + 身份证号)
    birth = R.date_between(dt.date(1990, 1, 1), dt.date(1996, 12, 31))
    R.phantom_accounts.append(R.account(None, "yisheng06", AccountState.REGISTERED,
                                        VerificationOutcome.NOT_FOUND,
                                        featured=True, name=R.name(True),
                                        id_number=R.id_number(birth, True)))
    featured("yisheng07", "dtsdyyy", DOCTOR, CLIN, AccountState.REVOKED)
    featured("yisheng08", "tyszxyy", DOCTOR, PH, AccountState.DISABLED)
    p9, r9 = featured("yisheng09", "tyszxyy", DOCTOR, CLIN, AccountState.ACTIVATED)
    R.registration(p9, 0, "bjcyhk")  # a second 执业地点 in 北京市
    featured("yisheng10", "yzqzyyy", DOCTOR, TCM, AccountState.ACTIVATED)
    # yisheng11: a resident in standardised training (qualification, never registered),
    # activated with the 资格证书编码
    p = R.person(tag="featured", born=(1994, 1998))
    R.qualification(p, DOCTOR, CLIN, inst_key="sxdxyy")
    R.account(p, "yisheng11", AccountState.ACTIVATED, VerificationOutcome.SELF_ACTIVATE,
              method=ActivationMethod.QUALIFICATION_CODE, featured=True)
    featured("yisheng12", "bjcyhk", DOCTOR, DENT, AccountState.ACTIVATED)
    featured("yisheng13", "hdzzysq", DOCTOR, PH, AccountState.ACTIVATED)
    featured("yisheng14", "dtsdyyy", DOCTOR, CLIN, AccountState.ACTIVATED)
    # xinjiang01: registered in a province without electronic registration (P4c)
    name, male = UYGHUR_NAMES[0]
    p = R.person(tag="featured", male=male, name=name, province="65", ethnicity="05")
    q = R.qualification(p, DOCTOR, CLIN, inst_key=XJ_INST)
    R.registration(p, q, XJ_INST)
    R.account(p, "xinjiang01", AccountState.VERIFIED, VerificationOutcome.NON_ELECTRONIC,
              inst_key=XJ_INST, featured=True)

    # ---------------- registry persons without an account (demo.json "unregistered")
    for inst_key, level, cat in [("sxdxyy", DOCTOR, CLIN), ("xdqrmyy", ASSISTANT, CLIN),
                                 ("bjcyhk", DOCTOR, TCM), ("yzqzyyy", DOCTOR, TCM)]:
        p = R.person(tag="unregistered")
        q = R.qualification(p, level, cat, inst_key=inst_key)
        R.registration(p, q, inst_key)
        R.assessments(p, body_for(inst_key))
        p["unregistered"] = ("in_register", inst_key)
    # self_activate: a resident in training, a 注册备案, a 注销 on request, a 变更出
    p = R.person(tag="unregistered", born=(1995, 1998))
    R.qualification(p, DOCTOR, CLIN, inst_key="sxdxyy")
    p["unregistered"] = ("self_activate", None)
    p = R.person(tag="unregistered")
    q = R.qualification(p, DOCTOR, DENT, inst_key="dtsdyyy")
    R.registration(p, q, "dtsdyyy", status=RegistrationStatus.FILED, reason="F02")
    p["unregistered"] = ("self_activate", None)
    p = R.person(tag="unregistered")
    q = R.qualification(p, ASSISTANT, CLIN, inst_key="pcxysq")
    R.registration(p, q, "pcxysq", status=RegistrationStatus.CANCELLED, reason="C10")
    p["unregistered"] = ("self_activate", None)
    p = R.person(tag="unregistered")
    q = R.qualification(p, DOCTOR, CLIN, inst_key="bjcyhk")
    R.registration(p, q, "bjcyhk", status=RegistrationStatus.TRANSFERRED_OUT)
    p["unregistered"] = ("self_activate", None)
    # non_electronic_province: valid registration only in 新疆
    for name, male in UYGHUR_NAMES[1:3]:
        p = R.person(tag="unregistered", male=male, name=name, province="65", ethnicity="05")
        q = R.qualification(p, DOCTOR, R.rng.choice([CLIN, TCM]), inst_key=XJ_INST)
        R.registration(p, q, XJ_INST)
        p["unregistered"] = ("non_electronic_province", XJ_INST)
    p = R.person(tag="unregistered", province="65")
    q = R.qualification(p, ASSISTANT, CLIN, inst_key=XJ_INST)
    R.registration(p, q, XJ_INST)
    p["unregistered"] = ("non_electronic_province", XJ_INST)
    # not_found: valid 身份证号 and names that match nobody
    for _ in range(3):
        male = rng.random() < 0.5
        birth = R.date_between(dt.date(1985, 1, 1), dt.date(1999, 12, 31))
        R.not_found.append({"name": R.name(male), "id_number": R.id_number(birth, male)})

    # ---------------- the bulk of the register
    scenarios = {"valid": 60, "upgraded": 7, "transferred": 5, "two_provinces": 4, "filed": 5,
                 "cancelled": 4, "invalid": 2, "qual_only": 6, "xinjiang": 4, "old_rules": 3}
    bulk = []
    for _ in range(BULK_PERSONS):
        scenario = R.choice_w(scenarios)
        inst_key = R.choice_w(electronic)
        level, cat = pick_level_cat(inst_key)
        if scenario == "old_rules":  # 老人老办法: qualified before the 1999 law
            p = R.person(born=(1955, 1968))
            q = R.qualification(p, DOCTOR, cat, year=R.rng.randint(1985, 1998), inst_key=inst_key)
            R.registration(p, q, inst_key, approved=R.date_between(dt.date(1999, 7, 1),
                                                                    dt.date(2002, 12, 31)))
        elif scenario == "upgraded":  # 助理 first, then 执业医师 of the same category
            p = R.person(born=(1970, 1994))
            cat = CLIN if cat == DENT and rng.random() < 0.5 else cat
            qa = R.qualification(p, ASSISTANT, cat, inst_key=inst_key)
            ra = R.registration(p, qa, inst_key if INST[inst_key][6] != "general"
                                else "xdqrmyy", status=RegistrationStatus.INVALID)
            qd = R.qualification(p, DOCTOR, cat, year=p["quals"][qa]["year"]
                                 + rng.randint(3, 6), inst_key=inst_key)
            rd = R.registration(p, qd, inst_key)
            ra["changed_on"] = rd["approved_on"] = max(rd["approved_on"], ra["approved_on"]
                                                       + dt.timedelta(days=400))
            if rd["approved_on"] > AS_OF:
                rd["approved_on"] = ra["changed_on"] = AS_OF - dt.timedelta(days=10)
        elif scenario == "transferred":
            p = R.person()
            old_candidates = [k for k in electronic
                              if (INST[k][2][:2] != INST[inst_key][2][:2] if level == DOCTOR
                                  else INST[k][2] != INST[inst_key][2])]
            old = rng.choice(old_candidates)
            q = R.qualification(p, level, cat, inst_key=old)
            ro = R.registration(p, q, old, status=RegistrationStatus.TRANSFERRED_OUT,
                                dept=False)
            rn = R.registration(p, q, inst_key, approved=R.date_between(
                ro["changed_on"], max(ro["changed_on"] + dt.timedelta(days=2), AS_OF)))
            rn["approved_on"] = max(rn["approved_on"], ro["changed_on"])
        elif scenario == "two_provinces":
            main = rng.choice(shanxi if rng.random() < 0.6 else beijing)
            second = rng.choice(beijing if main in shanxi else shanxi)
            p = R.person()
            cat = rng.choice([CLIN, CLIN, TCM, DENT])
            q = R.qualification(p, DOCTOR, cat, inst_key=main)
            R.registration(p, q, main)
            R.registration(p, q, second)
            inst_key = main
        elif scenario in ("filed", "cancelled", "invalid"):
            p = R.person()
            q = R.qualification(p, level, cat, inst_key=inst_key)
            if scenario == "filed":
                R.registration(p, q, inst_key, status=RegistrationStatus.FILED,
                               reason=rng.choice(["F01", "F01", "F02", "F03", "F04", "F05"]),
                               dept=False)
            elif scenario == "cancelled":
                reason = rng.choice(["C10", "C10", "C06", "C05", "C04", "C07"])
                R.registration(p, q, inst_key, status=RegistrationStatus.CANCELLED,
                               reason=reason, dept=False)
                if reason == "C04":
                    R.assessments(p, body_for(inst_key), force=AssessmentResult.FAILED)
            else:
                R.registration(p, q, inst_key, status=RegistrationStatus.INVALID, dept=False)
        elif scenario == "qual_only":  # residents in standardised training, never registered
            p = R.person(born=(1993, 1999))
            R.qualification(p, DOCTOR, cat, inst_key=inst_key)
        elif scenario == "xinjiang":
            if rng.random() < 0.3:
                name, male = rng.choice(UYGHUR_NAMES)
                p = R.person(male=male, name=name, province="65", ethnicity="05")
            else:
                p = R.person(province="65" if rng.random() < 0.6 else None)
            inst_key = XJ_INST
            level, cat = pick_level_cat(inst_key)
            q = R.qualification(p, level, cat, inst_key=inst_key)
            R.registration(p, q, inst_key)
        else:  # valid
            p = R.person()
            q = R.qualification(p, level, cat, inst_key=inst_key)
            R.registration(p, q, inst_key)
        p["scenario"] = scenario
        valid = [r for r in p["regs"] if r["status"] == RegistrationStatus.VALID]
        if p["regs"] and not p["assessments"]:
            R.assessments(p, body_for(p["regs"][-1]["inst"]))
        for r in valid:
            if r["level"] == DOCTOR and rng.random() < 0.15:
                others = same_province_other(r["inst"])
                if others:
                    R.filing(r, others[0], valid=rng.random() < 0.8)
            if rng.random() < 0.05:
                others = same_province_other(r["inst"])
                if others and (r["level"] == DOCTOR or INST[others[0]][2] == r["location"]):
                    R.legacy(r, others[0], valid=rng.random() < 0.5)
        bulk.append(p)

    # a cancelled person whose certificate was revoked (医师法 第十六条: barred for 2 years)
    p = R.person()
    q = R.qualification(p, DOCTOR, CLIN, inst_key="dtsdyyy")
    r = R.registration(p, q, "dtsdyyy", status=RegistrationStatus.CANCELLED, reason="C03",
                       dept=False)
    p["credits"].append({"kind": CreditKind.PENALTY, "authority": "dt",
                         "description": "出租《医师执业证书》，依据《中华人民共和国医师法》"
                                        "第五十四条吊销医师执业证书",
                         "on": r["changed_on"] - dt.timedelta(days=15), "revokes": True})
    p["scenario"] = "revoked"
    bulk.append(p)

    # credit records on some valid physicians
    texts = [
        (CreditKind.PENALTY, "未按照规定书写病历资料，给予警告"),
        (CreditKind.PENALTY, "违反诊疗规范造成医疗事故，暂停执业活动六个月"),
        (CreditKind.BAD_CONDUCT, "违规开具处方，记不良执业行为积分6分"),
        (CreditKind.BAD_CONDUCT, "未按规定报告传染病疫情，记不良执业行为积分4分"),
        (CreditKind.COMMENDATION, "被评为“优秀医师”"),
        (CreditKind.COMMENDATION, "在突发公共卫生事件应急处置中表现突出，予以通报表扬"),
    ]
    holders = [p for p in bulk if any(r["status"] == RegistrationStatus.VALID
                                      for r in p["regs"])]
    for i, p in enumerate(rng.sample(holders, 10)):
        kind, text = texts[i % len(texts)]
        reg = p["regs"][-1]
        p["credits"].append({"kind": kind, "authority": _inst_authority_key(reg["inst"],
                                                                             reg["category"]),
                             "description": text, "revokes": False,
                             "on": R.date_between(reg["approved_on"], AS_OF)})

    # ---------------- accounts for about 60 % of the registered physicians
    n = 0
    for p in bulk:
        if p.get("scenario") == "revoked":
            continue
        valid = [r for r in p["regs"] if r["status"] == RegistrationStatus.VALID]
        electronic_valid = [r for r in valid if r["location"][:2] != "65"]
        roll = rng.random()
        if electronic_valid:
            if roll > 0.62:
                continue
            state = R.choice_w({AccountState.ACTIVATED: 82, AccountState.VERIFIED: 12,
                                AccountState.REVOKED: 3, AccountState.DISABLED: 3})
            n += 1
            kw = {}
            if state == AccountState.VERIFIED and rng.random() < 0.5:
                kw["code"] = R.activation_code()
            R.account(p, f"doc{n:04d}", state, VerificationOutcome.IN_REGISTER,
                      inst_key=electronic_valid[0]["inst"], **kw)
        elif valid:  # 新疆 only
            if roll > 0.3:
                continue
            n += 1
            R.account(p, f"doc{n:04d}", AccountState.VERIFIED,
                      VerificationOutcome.NON_ELECTRONIC, inst_key=valid[0]["inst"])
        else:
            if roll > 0.4:
                continue
            n += 1
            state = AccountState.ACTIVATED if rng.random() < 0.55 else AccountState.VERIFIED
            R.account(p, f"doc{n:04d}", state, VerificationOutcome.SELF_ACTIVATE)
    # two more who registered with data the register does not know
    for i in range(2):
        male = rng.random() < 0.5
        birth = R.date_between(dt.date(1980, 1, 1), dt.date(1998, 12, 31))
        R.phantom_accounts.append(R.account(None, f"docx{i + 1:03d}", AccountState.REGISTERED,
                                            VerificationOutcome.NOT_FOUND, name=R.name(male),
                                            id_number=R.id_number(birth, male)))

    # 信息维护: pending and past change requests of activated accounts
    activated = [p for p in bulk if p.get("account") and p["account"]["state"]
                 == AccountState.ACTIVATED and p["account"]["inst"]]
    for i, p in enumerate(rng.sample(activated, 6)):
        acc = p["account"]
        reg = next(r for r in p["regs"] if r["status"] == RegistrationStatus.VALID
                   and r["inst"] == acc["inst"])
        status = [ReviewStatus.PENDING] * 4 + [ReviewStatus.APPROVED, ReviewStatus.REJECTED]
        R.change_requests.append({"person": p, "reg": reg, "status": status[i],
                                  "title_code": "232" if reg["level"] == DOCTOR else "234",
                                  "education_code": "14" if i % 2 == 0 else None,
                                  "school": "山西医科大学" if i % 2 == 0 else None})
    return R


# --------------------------------------------------------------------------- writing

def _get_or_create_authorities() -> dict[str, Authority]:
    existing = {a.name: a for a in db.session.scalars(
        sa.select(Authority).where(Authority.name.in_([row[1] for row in AUTHORITIES])))}
    out: dict[str, Authority] = {}
    for key, name, level, region, is_tcm, parent in AUTHORITIES:
        a = existing.get(name)
        if a is None:
            a = Authority(name=name, level=level, region_code=region, is_tcm=is_tcm,
                          parent=out[parent] if parent else None)
            db.session.add(a)
        elif a.parent_id is None and parent:
            a.parent = out[parent]
        out[key] = a
    db.session.flush()
    return out


def _write(R: _Recipe) -> None:
    from services.security import hash_password

    physician_hash = hash_password(PHYSICIAN_PASSWORD)
    console_hash = hash_password(CONSOLE_PASSWORD)
    now = utcnow()
    auth = _get_or_create_authorities()
    subjects = {s.code: s for s in db.session.scalars(sa.select(TreatmentSubject))}
    scopes = {s.code: s for s in db.session.scalars(sa.select(PracticeScope))}

    phones = iter(_console_phones(R))
    insts: dict[str, Institution] = {}
    depts: dict[tuple[str, str], Department] = {}
    for seq, (key, name, county, lic, address, boss, profile, settings, _w) in \
            enumerate(INSTITUTIONS, start=1):
        inst = Institution(name=name, license_no=_license_no(seq, county), region_code=county,
                           address=address, licensing_authority=auth[lic],
                           responsible_person=boss, reserved_phone=next(phones),
                           created_at=dt.datetime(2023, 1, 9, 9, 0))
        if settings:
            inst.authorities = [InstitutionAuthority(category=c,
                                                     authority=auth[_inst_authority_key(key, c)])
                                for c in PhysicianCategory]
        for dname, codes in DEPARTMENTS[key]:
            d = Department(name=dname, subjects=[subjects[c] for c in codes if c in subjects])
            inst.departments.append(d)
            depts[(key, dname)] = d
        insts[key] = inst
    db.session.add_all(insts.values())

    consoles: dict[str, ConsoleUser] = {}
    for key, inst in insts.items():
        consoles[key] = ConsoleUser(username=key, display_name=f"{inst.name}管理员",
                                    password_hash=console_hash,
                                    role=ConsoleRole.INSTITUTION_ADMIN, institution=inst,
                                    phone=inst.reserved_phone)
    for username, akey in COMMISSION_USERS:
        consoles[username] = ConsoleUser(username=username,
                                         display_name=f"{auth[akey].name}审批人员",
                                         password_hash=console_hash, role=ConsoleRole.REVIEWER,
                                         authority=auth[akey], phone=next(phones))
    for username, role, label in STAFF_USERS:
        consoles[username] = ConsoleUser(username=username, display_name=label,
                                         password_hash=console_hash, role=role,
                                         authority=auth["nhc"], phone=next(phones))
    db.session.add_all(consoles.values())
    db.session.flush()

    accounts: list[tuple[PhysicianAccount, dict]] = []
    regs_by_spec: dict[int, Registration] = {}
    for p in R.people:
        person = Person(name=p["name"], gender=p["gender"], birth_date=p["birth"],
                        ethnicity_code=p["ethnicity"], certificate_no=p["certificate_no"])
        person.id_number = p["id_number"]
        quals = [Qualification(person=person, **q) for q in p["quals"]]
        for r in p["regs"]:
            reg = Registration(
                person=person, qualification=quals[r["q"]], level=r["level"],
                category=r["category"], location_code=r["location"],
                institution=insts[r["inst"]],
                authority=auth[_inst_authority_key(r["inst"], r["category"])],
                approved_on=r["approved_on"], status=r["status"],
                status_changed_on=r["changed_on"], status_reason_code=r["reason"],
                education_code=r["education_code"], school=r["school"],
                title_code=r["title"], major=r["major"],
                department=depts.get((r["inst"], r["dept"])) if r["dept"] else None,
                scopes=[scopes[c] for c in r["scopes"]])
            regs_by_spec[id(r)] = reg
            for f in r["filings"]:
                reg.filings.append(Filing(
                    institution=insts[f["inst"]],
                    authority=auth[_inst_authority_key(f["inst"], r["category"])],
                    status=f["status"], filed_on=f["filed_on"], cancelled_on=f["cancelled_on"]))
            for s in r["legacy"]:
                reg.legacy_sites.append(LegacySite(
                    institution=insts[s["inst"]],
                    authority=auth[_inst_authority_key(s["inst"], r["category"])],
                    status=s["status"], added_on=s["added_on"], cancelled_on=s["cancelled_on"]))
            db.session.add(reg)
        for a in p["assessments"]:
            db.session.add(Assessment(person=person, period_start=a["start"],
                                      period_end=a["end"], result=a["result"],
                                      assessing_body=a["body"], assessed_on=a["on"]))
        for c in p["credits"]:
            db.session.add(CreditRecord(person=person, kind=c["kind"],
                                        description=c["description"], decided_on=c["on"],
                                        authority=auth[c["authority"]],
                                        revokes_certificate=c["revokes"]))
        db.session.add(person)
        db.session.add_all(quals)
        if p["account"]:
            accounts.append((_account(p["account"], physician_hash, insts, person), p["account"]))
    for a in R.phantom_accounts:
        accounts.append((_account(a, physician_hash, insts, None), a))
    db.session.add_all(acc for acc, _ in accounts)
    db.session.flush()

    for acc, spec in accounts:
        if spec["code"] and spec["inst"]:
            used = spec.get("activated_at") if spec["method"] == \
                ActivationMethod.INSTITUTION_CODE else None
            created = (spec["activated_at"] - dt.timedelta(hours=3) if used
                       else now - dt.timedelta(hours=2))
            db.session.add(ActivationCode(account_id=acc.id, institution_id=insts[spec["inst"]].id,
                                          code=spec["code"], created_at=created,
                                          created_by_id=consoles[spec["inst"]].id,
                                          sent_via="sms", used_at=used))
    by_username = {acc.username: acc for acc, _ in accounts}
    for cr in R.change_requests:
        reg = regs_by_spec[id(cr["reg"])]
        acc = by_username[cr["person"]["account"]["username"]]
        requested = {"title_code": cr["title_code"], "education_code": cr["education_code"],
                     "school": cr["school"]}
        original = {"education_code": reg.education_code or reg.qualification.education_code,
                    "school": reg.school or reg.qualification.school,
                    "title_code": reg.title_code, "major": reg.major or reg.qualification.major}
        row = ChangeRequest(account_id=acc.id, registration_id=reg.id,
                            institution_id=reg.institution_id, original=original,
                            status=cr["status"], **requested,
                            created_at=now - dt.timedelta(days=3)
                            if cr["status"] == ReviewStatus.PENDING else
                            dt.datetime(2025, 6, 3, 10, 20))
        if cr["status"] != ReviewStatus.PENDING:
            row.reviewed_at = dt.datetime(2025, 6, 5, 15, 0)
            row.reviewed_by_id = consoles[cr["reg"]["inst"]].id
            if cr["status"] == ReviewStatus.APPROVED:
                for k, v in requested.items():
                    if v is not None:
                        setattr(reg, k, v)
                reg.info_modified_on = row.reviewed_at
            else:
                row.review_reason = "所附学历证明与申请内容不符，请核对后重新提交"
        db.session.add(row)
    db.session.commit()


def _account(spec: dict, password_hash: str, insts, person) -> PhysicianAccount:
    acc = PhysicianAccount(
        username=spec["username"], name=spec["name"], phone=spec["phone"], email=spec["email"],
        password_hash=password_hash, state=spec["state"],
        verification_outcome=spec["outcome"], person=person,
        institution=insts[spec["inst"]] if spec["inst"] else None,
        registered_at=spec["registered_at"], verified_at=spec.get("verified_at"),
        activated_at=spec.get("activated_at"), activation_method=spec["method"]
        if spec.get("activated_at") else None,
        revoked_at=spec.get("revoked_at"), password_changed_at=spec["registered_at"],
        phone_verified_at=spec["registered_at"] + dt.timedelta(minutes=1)
        if spec["phone_verified"] else None,
        email_verified_at=spec["registered_at"] + dt.timedelta(minutes=5)
        if spec["email_verified"] else None)
    acc.id_number = spec["id_number"]
    return acc


def _license_no(seq: int, county: str) -> str:
    """执业许可证登记号 in the usual PDY…X<区划>A1<序号> shape."""
    return f"PDY{seq:05d}X{county}A1{seq:03d}"


def _console_phones(R: _Recipe) -> list[str]:
    rng = random.Random(SEED + 1)  # independent of the people (stable if they change)
    out: list[str] = []
    while len(out) < len(INSTITUTIONS) + len(COMMISSION_USERS) + len(STAFF_USERS):
        p = rng.choice(["133", "138", "139", "186", "189"]) + f"{rng.randrange(10 ** 8):08d}"
        if p not in R.phones and p not in out:
            out.append(p)
    return out


# --------------------------------------------------------------------------- demo.json

def _info(R: _Recipe) -> dict:
    inst_name = {row[0]: row[1] for row in INSTITUTIONS}
    auth_name = {row[0]: row[1] for row in AUTHORITIES}
    featured = [a for p in R.people if p.get("account") and p["account"]["featured"]
                for a in [p["account"]]] + [a for a in R.phantom_accounts if a["featured"]]
    featured.sort(key=lambda a: (not a["username"].startswith(("yisheng", "zhuli")),
                                 a["username"][-2:], a["username"]))
    db_state = dict(db.session.execute(
        sa.select(PhysicianAccount.username, PhysicianAccount.state)
        .where(PhysicianAccount.username.in_([a["username"] for a in featured]))).all())
    accounts = []
    for a in featured:
        row = {"role": "physician", "username": a["username"], "password": PHYSICIAN_PASSWORD,
               "login_url": "/physician/login",
               "state": AccountState.coerce(db_state.get(a["username"], a["state"])).label}
        if a["inst"]:
            row["institution"] = inst_name[a["inst"]]
        accounts.append(row)
    for key, *_ in INSTITUTIONS:
        accounts.append({"role": "institution", "username": key, "password": CONSOLE_PASSWORD,
                         "login_url": "/org/login", "institution": inst_name[key]})
    for username, akey in COMMISSION_USERS:
        accounts.append({"role": "commission", "username": username,
                         "password": CONSOLE_PASSWORD, "login_url": "/gov/login",
                         "authority": auth_name[akey]})
    for username, role, _label in STAFF_USERS:
        accounts.append({"role": role.value, "username": username, "password": CONSOLE_PASSWORD,
                         "login_url": "/gov/login", "authority": auth_name["nhc"]})

    # persons listed as "unregistered" must still have no account (of any state)
    candidates = [p for p in R.people if p.get("unregistered")]
    hashes = {id_blind_index(x["id_number"]): x for x in candidates + R.not_found}
    taken = set(db.session.scalars(sa.select(PhysicianAccount.id_number_hash).where(
        PhysicianAccount.id_number_hash.in_(list(hashes)))))
    in_register_persons = set(db.session.scalars(sa.select(Person.id_number_hash).where(
        Person.id_number_hash.in_([id_blind_index(x["id_number"]) for x in R.not_found]))))
    unregistered = []
    for p in candidates:
        if id_blind_index(p["id_number"]) in taken:
            continue
        outcome, inst_key = p["unregistered"]
        row = {"name": p["name"], "id_number": p["id_number"]}
        if p["quals"]:
            row["qualification_code"] = p["quals"][-1]["code"]
        row["outcome"] = outcome
        if inst_key:
            row["institution"] = inst_name[inst_key]
        unregistered.append(row)
    for x in R.not_found:
        h = id_blind_index(x["id_number"])
        if h in taken or h in in_register_persons:
            continue
        unregistered.append({"name": x["name"], "id_number": x["id_number"],
                             "outcome": "not_found"})
    order = list(STATE_OF_OUTCOME)
    unregistered.sort(key=lambda r: order.index(r["outcome"]))
    return {"accounts": accounts, "unregistered": unregistered}


def demo_loaded() -> bool:
    return db.session.scalar(sa.select(Institution.id).where(
        Institution.license_no == _license_no(1, INST[MARKER_INSTITUTION][2]))) is not None


def load_demo() -> dict:
    """Create the demo country once (idempotent) and describe its logins (demo.json)."""
    recipe = _plan()
    if not demo_loaded():
        _write(recipe)
    return _info(recipe)


__all__ = ["load_demo", "demo_loaded", "PHYSICIAN_PASSWORD", "CONSOLE_PASSWORD"]
