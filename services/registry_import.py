"""C3 import of qualification records from csv / xlsx, validated row by row.

The file is read as a stream of rows and processed in chunks: each chunk is validated
(身份证号 checksum, birth date and area via python-stdnum; 姓名; enums by Chinese label;
duplicates in the file and in the database), inserted in bulk, and ImportJob.processed_rows
is committed so a progress page can follow. Bad rows are skipped and listed in the job's
error report (行号, 字段, 错误说明); good rows are imported."""
import codecs
import contextlib
import csv
import datetime as dt
import functools
import gc
import io
import multiprocessing
import operator
import os
import queue
import re
import threading
import time

import sqlalchemy as sa
from flask import current_app
from stdnum.cn import ric

from models import db
from models.audit import ImportJob
from models.enums import Gender, PhysicianCategory, PhysicianLevel, QualificationKind
from models.identity import _keys, blind_index_of, id_area_known
from models.institution import utcnow
from models.reference import ReferenceItem
from models.registry import Person, Qualification, QualificationRegion, add_record_regions

from . import Actor, DomainError, audit, xlsx_rows
from .registry import NAME_RE

COLUMNS = ["姓名", "身份证号", "性别", "出生日期", "资格证书编码", "级别", "类别", "获得年度",
           "毕业院校", "所学专业", "学历", "发证机关", "取得方式"]
REQUIRED = ["姓名", "身份证号", "性别", "出生日期", "资格证书编码", "级别", "类别", "获得年度",
            "取得方式"]
CHUNK_ROWS = 5000  # one bulk insert and one commit per chunk; progress is shown per chunk
MAX_STORED_ERRORS = 20000
MAX_ROWS = 1_000_000
# SQLite: the pages a chunk dirties are written back from the WAL into the database file once
# per this many imported rows (and at the end), not at every chunk's commit
WRITE_BACK_ROWS = 50_000

GENDERS = {g.label: g for g in Gender}
LEVELS = {m.label: m for m in PhysicianLevel}
CATEGORIES = {m.label: m for m in PhysicianCategory}
CATEGORIES["公卫"] = PhysicianCategory.PUBLIC_HEALTH
KINDS = {m.label: m for m in QualificationKind}
CODE_RE = re.compile(r"^[0-9A-Za-z]{6,32}$")
DATE_RE = re.compile(r"^(\d{4})[-/.年]?(\d{1,2})[-/.月]?(\d{1,2})日?$")


# ---- field checks ------------------------------------------------------------------------

def check_id_number(value: str, today: dt.date | None = None) -> str | None:
    """None if valid, else the Chinese message (same checks as stdnum.cn.ric.validate)."""
    return _id_number_birth(value, today)[0]


def _id_number_birth(value: str, today: dt.date | None = None):
    """(None, the birth date it carries) if valid, else (the Chinese message, None)."""
    if len(value) != 18:
        return "身份证号应为18位。", None
    if not value[:17].isdigit() or not (value[17].isdigit() or value[17] == "X"):
        return "身份证号格式不正确。", None
    if ric.calc_check_digit(value) != value[17]:
        return "身份证号校验位不正确。", None
    try:
        birth = dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return "身份证号中的出生日期不正确。", None
    if birth > (today or dt.date.today()) or birth.year < 1900:
        return "身份证号中的出生日期不正确。", None
    if not id_area_known(value[:6], birth.year):
        return "身份证号中的地区码不存在。", None
    return None, birth


def _parse_date(value) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    if len(text) == 10 and text[4] == "-" and text[7] == "-":
        try:  # YYYY-MM-DD, the template's format: the C parser
            return dt.date.fromisoformat(text)
        except ValueError:
            pass  # full-width digits, 1985-02-30 …: the pattern decides
    m = DATE_RE.match(text)
    if not m:
        return None
    try:
        return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


def _text(value) -> str:
    if type(value) is str:
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


# ---- readers -----------------------------------------------------------------------------

def _csv_encoding(path: str) -> str:
    """utf-8 (with or without BOM) or gb18030, judged on the first 64 KB."""
    with open(path, "rb") as fh:
        sample = fh.read(65536)
    for enc in ("utf-8-sig", "gb18030"):
        try:
            # incremental: a multi-byte character cut at the sample's end is not an error
            codecs.getincrementaldecoder(enc)().decode(sample, final=False)
            return enc
        except UnicodeDecodeError:
            continue
    raise DomainError("无法识别文件编码，请使用UTF-8编码的CSV文件。", field="file")


def _csv_rows(path: str):
    """The csv file as a stream of rows (never read whole into memory)."""
    enc = _csv_encoding(path)
    with open(path, encoding=enc, newline="") as fh:
        try:
            yield from csv.reader(fh)
        except UnicodeDecodeError as exc:
            raise DomainError("文件中有无法识别的字符，请将整个文件保存为UTF-8编码后重新导入。",
                              field="file") from exc
        except csv.Error as exc:
            raise DomainError("CSV文件格式不正确（引号或分隔符不匹配）。", field="file") from exc


XLSX_UNREADABLE = "无法读取该Excel文件，请确认文件为.xlsx格式。"


def _xlsx_rows(path: str):
    """(row number, values) of the workbook's first sheet, a stream (services.xlsx_rows)."""
    try:
        yield from xlsx_rows.iter_sheet_rows(path)
    except xlsx_rows.XlsxError as exc:
        raise DomainError(XLSX_UNREADABLE, field="file") from exc


def iter_rows(path: str, filename: str):
    """Yield (line number, dict of column → raw value) from a csv or xlsx file: the csv
    line or the sheet's row number, as the error report shows it."""
    ext = os.path.splitext(filename.lower())[1]
    if ext == ".csv":
        rows = enumerate(_csv_rows(path), start=1)
    elif ext == ".xlsx":
        rows = _xlsx_rows(path)
    else:
        raise DomainError("只支持CSV（.csv）或Excel（.xlsx）文件。", field="file")
    header = None
    data_rows = 0
    for line_no, raw in rows:
        if header is None:
            header = [_text(c) for c in raw]
            missing = [c for c in REQUIRED if c not in header]
            if missing:
                raise DomainError("文件缺少以下列：" + "、".join(missing) + "。", field="file")
            width = len(header)
            # optional columns missing from the header read a padding cell (None)
            pick = operator.itemgetter(*[header.index(c) if c in header else width
                                         for c in COLUMNS])
            continue
        if not raw or not any(raw):
            continue
        data_rows += 1
        if data_rows > MAX_ROWS:  # a workbook whose declared size (count_rows) was false
            raise DomainError(f"单个文件最多{MAX_ROWS}行。", field="file")
        raw = list(raw)
        if len(raw) <= width:
            raw.extend([None] * (width + 1 - len(raw)))
        else:
            raw[width] = None
        yield line_no, pick(raw)
    if header is None:
        raise DomainError("文件为空。", field="file")


def count_rows(path: str, filename: str) -> int:
    """Rows to process, for the progress display (xlsx: the sheet's declared dimension)."""
    if filename.lower().endswith(".xlsx"):
        try:
            declared = xlsx_rows.declared_row_count(path)
        except xlsx_rows.XlsxError as exc:
            raise DomainError(XLSX_UNREADABLE, field="file") from exc
        if declared is None or declared <= 1:  # none, or a writer's placeholder "A1"
            declared = sum(1 for _ in _xlsx_rows(path))
        return max(declared - 1, 0)
    # csv: the line count in 1 MB blocks (no parse, nothing kept); run_job sets the exact
    # number at the end
    _csv_encoding(path)
    lines, last = 0, b"\n"
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            lines += block.count(b"\n")
            last = block[-1:]
    if last not in (b"\n", b""):
        lines += 1  # no newline after the last row
    return max(lines - 1, 0)


# ---- chunk processing --------------------------------------------------------------------

def _education_codes() -> dict:
    education = {}
    for item in db.session.scalars(sa.select(ReferenceItem).where(
            ReferenceItem.kind == "education")):
        education.setdefault(item.name, item.code)
        if item.label:
            education.setdefault(item.label, item.code)
        education.setdefault(item.code, item.code)
    return education


class _Validator:
    """Row checks, blind index and encryption of a chunk: no database."""

    def __init__(self, education: dict, keys: tuple, today: dt.date):
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        enc_key, idx_key = keys
        aes = AESGCM(enc_key)
        # the same formats as encrypt_id_number / id_blind_index, without re-deriving the
        # keys per row
        self.encrypt = lambda v: (lambda n: n + aes.encrypt(n, v.encode(), b"id_number"))(
            os.urandom(12))
        self.blind = functools.partial(blind_index_of, idx_key)
        self.today = today
        self.education = education
        # stdnum's area table is read on first use (~60 ms): read here, once per process, so
        # that a forked checking child (SQLite) inherits it instead of reading it per file
        id_area_known("110101", 2000)
        self.codes_seen: set[str] = set()
        self.errors: list = []

    def _err(self, line, field, message):
        self.errors.append([line, field, message])

    def prepare(self, chunk) -> tuple[list, list, int]:
        """(good rows with hash and ciphertext, errors, number of bad rows) of a chunk."""
        self.errors = []
        rows, bad = [], 0
        validate, blind, encrypt = self.validate, self.blind, self.encrypt
        for line, raw in chunk:
            row = validate(line, raw)
            if row is None:
                bad += 1
            else:
                idn = row["id"]  # checked: 18 characters, upper case
                row["hash"] = blind(idn)
                row["enc"] = encrypt(idn)
                row["masked"] = idn[:6] + "********" + idn[14:]  # as mask_id_number
                rows.append(row)
        return rows, self.errors, bad

    def validate(self, line, raw):
        """Return the cleaned row or None (errors recorded). The checks of a good row run
        once per row of every import, so they read local names and enum values from tables
        built once (measured: a third of the checking time went to enum attribute access,
        dict building and repeated parsing)."""
        try:  # csv: text in every cell
            texts = list(map(str.strip, raw))
        except TypeError:  # xlsx numbers and dates, padding for a missing optional column
            texts = [x.strip() if type(x) is str else _text(x) for x in raw]
        (name, idn, sex, birth_text, code, level_text, category_text, year_text, school,
         major, edu_text, issuer, kind_text) = texts
        errs = []
        if not (name and idn and sex and code and level_text and category_text and year_text
                and kind_text):
            for column, text in (("姓名", name), ("身份证号", idn), ("性别", sex),
                                 ("资格证书编码", code), ("级别", level_text),
                                 ("类别", category_text), ("获得年度", year_text),
                                 ("取得方式", kind_text)):
                if not text:
                    errs.append((column, f"{column}不能为空。"))
        if name and not NAME_RE.match(name):
            errs.append(("姓名", "姓名只能由汉字和“·”组成，2至30个字。"))
        idn = idn.upper()
        birth_from_id = None
        if idn:
            msg, birth_from_id = _id_number_birth(idn, self.today)
            if msg:
                errs.append(("身份证号", msg))
        gender = _GENDER_VALUES.get(sex)
        if sex and gender is None:
            errs.append(("性别", "性别应为“男”或“女”。"))
        elif gender and birth_from_id and gender != (_MALE if int(idn[16]) % 2 else _FEMALE):
            errs.append(("性别", "性别与身份证号不一致。"))
        birth = None
        if not birth_text:  # 出生日期: a date cell in xlsx, text in csv
            errs.append(("出生日期", "出生日期不能为空。"))
        else:
            birth = _parse_date(raw[3] if type(raw[3]) is not str else birth_text)
            if birth is None:
                errs.append(("出生日期", "出生日期格式不正确，应为YYYY-MM-DD。"))
            elif birth_from_id and birth != birth_from_id:
                errs.append(("出生日期", "出生日期与身份证号不一致。"))
        if code:
            if not CODE_RE.match(code):
                errs.append(("资格证书编码", "资格证书编码应为6至32位字母或数字。"))
            elif code in self.codes_seen:
                errs.append(("资格证书编码", "资格证书编码在文件中重复。"))
        level = _LEVEL_VALUES.get(level_text)
        if level_text and level is None:
            errs.append(("级别", "级别应为“执业医师”或“执业助理医师”。"))
        category = _CATEGORY_VALUES.get(category_text)
        if category_text and category is None:
            errs.append(("类别", "类别应为临床、口腔、公共卫生或中医。"))
        kind = _KIND_VALUES.get(kind_text)
        if kind_text and kind is None:
            errs.append(("取得方式", "取得方式应为老人老办法、新人新办法或军队。"))
        year = None
        if year_text:
            if not year_text.isdigit() or not (1950 <= int(year_text) <= self.today.year):
                errs.append(("获得年度", "获得年度应为1950年至今年之间的四位年份。"))
            else:
                year = int(year_text)
                if kind == _OLD_RULES and year >= 1999:
                    errs.append(("获得年度", "老人老办法资格的获得年度应在1999年之前。"))
                elif kind == _NATIONAL_EXAM and year < 1999:
                    errs.append(("获得年度", "新人新办法资格的获得年度应在1999年及以后。"))
                elif birth and year < birth.year + 16:
                    errs.append(("获得年度", "获得年度与出生日期不符。"))
        edu = None
        if edu_text:
            edu = self.education.get(edu_text)
            if edu is None:
                errs.append(("学历", "学历不在学历代码表中。"))
        if len(school) > 128 or len(major) > 64 or len(issuer) > 128:
            for column, text, max_len in (("毕业院校", school, 128), ("所学专业", major, 64),
                                          ("发证机关", issuer, 128)):
                if len(text) > max_len:
                    errs.append((column, f"{column}不能超过{max_len}个字。"))
        if errs:
            for field, message in errs:
                self._err(line, field, message)
            return None
        self.codes_seen.add(code)
        # the enums as their stored values: what the inserts need, and far cheaper to send
        # from the checking child process than enum members
        return {"line": line, "name": name, "id": idn, "gender": gender, "birth": birth,
                "code": code, "level": level, "category": category, "year": year,
                "school": school, "major": major, "edu": edu, "issuer": issuer, "kind": kind}


# a row's labels straight to the values the columns store
_GENDER_VALUES = {label: member.value for label, member in GENDERS.items()}
_LEVEL_VALUES = {label: member.value for label, member in LEVELS.items()}
_CATEGORY_VALUES = {label: member.value for label, member in CATEGORIES.items()}
_KIND_VALUES = {label: member.value for label, member in KINDS.items()}
_MALE, _FEMALE = Gender.MALE.value, Gender.FEMALE.value
_OLD_RULES = QualificationKind.OLD_RULES.value
_NATIONAL_EXAM = QualificationKind.NATIONAL_EXAM.value


# (the job's processed_rows in the lookup's snapshot, (codes taken, persons by blind index,
# their (级别, 类别) pairs))
LookedUp = tuple


def look_up_register(select_in, rows: list):
    """What the register already holds for a chunk's rows: the 资格证书编码 taken, the
    persons by blind index (id, 姓名) and the (person, 级别, 类别) of their qualifications.
    `select_in(sql_prefix, values, pg_type)` runs `<sql_prefix> IN (values)`."""
    codes = [r["code"] for r in rows]
    existing_codes = {c for (c,) in select_in(
        "SELECT code FROM qualification WHERE code", codes)}
    hashes = list({r["hash"] for r in rows})
    persons = {h: (pid, name) for pid, h, name in select_in(
        "SELECT id, id_number_hash, name FROM person WHERE id_number_hash", hashes)}
    existing_pairs = set()
    if persons:
        existing_pairs = {(pid, lv, cat) for pid, lv, cat in select_in(
            "SELECT person_id, level, category FROM qualification WHERE person_id",
            [p for p, _ in persons.values()], pg_type="int")}
    return existing_codes, persons, existing_pairs


class _Importer:
    """The database side: duplicates against the register, bulk inserts, progress."""

    def __init__(self, job: ImportJob):
        self.job = job
        self.errors: list = list(job.errors or [])
        self.sqlite = db.session.get_bind().dialect.name == "sqlite"
        self.rows_since_write_back = 0
        # (processed_rows after the chunk, its codes, persons and pairs) of the chunks a
        # child's lookup may not have seen yet: kept only when a child looks up
        self.track_written = False
        self.written: list = []

    def _with_own_rows(self, looked_up: "LookedUp", rows: list):
        """A child's lookup plus what this job committed after it: the lookup read the
        job's processed_rows in the same snapshot, so exactly the chunks committed later
        are added (and the ones it saw are forgotten)."""
        seen_through, (existing_codes, persons, existing_pairs) = looked_up
        self.written = [w for w in self.written if w[0] > seen_through]
        codes = {r["code"] for r in rows}
        hashes = {r["hash"] for r in rows}
        for _, (w_codes, w_persons, w_pairs) in self.written:
            existing_codes |= codes & w_codes
            persons.update((h, w_persons[h]) for h in hashes & w_persons.keys())
            existing_pairs |= w_pairs
        return existing_codes, persons, existing_pairs

    def _err(self, line, field, message):
        if len(self.errors) < MAX_STORED_ERRORS:
            self.errors.append([line, field, message])

    def store(self, rows: list, errors: list, bad: int, size: int,
              looked_up: "LookedUp | None" = None, reserved_ids: dict | None = None):
        """Insert a chunk's good rows. `looked_up` is what a child process (SQLite) or the
        checking thread's own connection (PostgreSQL) found in the register for them; rows
        this job wrote after that lookup are added from memory. `reserved_ids` are ids drawn
        for the chunk's new persons and qualifications beforehand (PostgreSQL). Should
        another writer have added one of the persons or codes since the lookup, the chunk is
        undone and checked again here."""
        first_error = len(self.errors)
        # COPY (PostgreSQL) runs on the DBAPI cursor: its error comes unwrapped
        clash = (sa.exc.IntegrityError, db.session.get_bind().dialect.dbapi.IntegrityError)
        try:
            self._store(rows, errors, bad, size, looked_up, reserved_ids)
        except clash:
            if looked_up is None:
                raise
            db.session.rollback()
            del self.errors[first_error:]
            self._store(rows, errors, bad, size, None, None)

    def _ids(self, table: str, count: int, reserved_ids: dict | None) -> list[int]:
        """Ids for the chunk's new rows: those drawn with its lookup, or drawn now."""
        reserved = (reserved_ids or {}).get(table, [])
        if len(reserved) >= count:
            return reserved[:count]
        return _new_ids(table, count, self.job.id)

    def _store(self, rows, errors, bad, size, looked_up, reserved_ids):
        for e in errors:
            self._err(*e)
        if self.sqlite:
            _hold_wal_write_back(db.session.connection())
        # duplicates against the database
        if rows:
            if looked_up is None:
                existing_codes, persons, existing_pairs = look_up_register(_select_in, rows)
            else:
                existing_codes, persons, existing_pairs = self._with_own_rows(looked_up, rows)
            good, new_people, file_pairs = [], {}, set()
            for r in rows:
                h, level, category = r["hash"], r["level"], r["category"]
                known = persons.get(h)
                earlier = new_people.get(h)  # the same person in an earlier row of the file
                if r["code"] in existing_codes:
                    field, msg = "资格证书编码", "资格证书编码已存在于注册库。"
                elif known and known[1] != r["name"]:
                    field, msg = "姓名", "姓名与注册库中该身份证号的姓名不一致。"
                elif earlier and earlier["name"] != r["name"]:
                    field, msg = "姓名", "同一身份证号在文件中的姓名不一致。"
                elif (known and (known[0], level, category) in existing_pairs) or \
                        (h, level, category) in file_pairs:
                    field, msg = "级别", "该人员已有相同级别和类别的医师资格。"
                else:
                    file_pairs.add((h, level, category))
                    if not known and not earlier:
                        new_people[h] = r
                    good.append(r)
                    continue
                self._err(r["line"], field, msg)
                bad += 1
            now = utcnow()
            if self.sqlite:
                # the text sqlite3's datetime adapter would write, once instead of per row
                now = now.isoformat(" ")
            person_ids = {h: pid for h, (pid, _) in persons.items()}
            if new_people:
                new_ids = self._ids("person", len(new_people), reserved_ids)
                people_rows = []
                for pid, (h, r) in zip(new_ids, new_people.items()):
                    person_ids[h] = pid
                    people_rows.append((
                        pid, r["name"], r["gender"], r["birth"], r["enc"], h,
                        r["masked"], False, now))
                _bulk_insert(Person.__table__, PERSON_COLS, people_rows)
            if good:
                qual_ids = self._ids("qualification", len(good), reserved_ids)
                _bulk_insert(Qualification.__table__, QUALIFICATION_COLS, [(
                    qid, r["code"], person_ids[r["hash"]], r["level"], r["category"], r["year"],
                    r["school"], r["major"], r["edu"], r["issuer"], r["kind"], now)
                    for qid, r in zip(qual_ids, good)])
                # who sees them (qualification_region): the province and city of each row's
                # 身份证号 area, written here; persons already in the register may also be
                # registered elsewhere, which the database adds for them
                if self.sqlite:
                    _bulk_insert(QualificationRegion.__table__, REGION_COLS,
                                 [(code, qid) for qid, r in zip(qual_ids, good)
                                  for code in (r["id"][:2], r["id"][:4])])
                else:  # digits and ids: COPY's text format as it is, two lines per row
                    _copy_text(QualificationRegion.__table__, REGION_COLS, "".join([
                        f"{r['id'][:2]}\t{qid}\n{r['id'][:4]}\t{qid}\n"
                        for qid, r in zip(qual_ids, good)]))
                known_ids = sorted({pid for pid, _ in persons.values()})
                if known_ids:
                    add_record_regions(db.session.connection(), Qualification, known_ids,
                                       after_id=min(qual_ids) - 1)
            self.job.imported_rows += len(good)
            written = ({r["code"] for r in good},
                       {h: (person_ids[h], r["name"]) for h, r in new_people.items()},
                       {(person_ids[r["hash"]], r["level"], r["category"]) for r in good})
        else:
            written = (set(), {}, set())
        self.job.failed_rows += bad
        self.job.processed_rows += size
        self.job.errors = list(self.errors)
        db.session.commit()
        if self.track_written:
            self.written.append((self.job.processed_rows, written))
        if self.sqlite:
            self.rows_since_write_back += size
            if self.rows_since_write_back >= WRITE_BACK_ROWS:
                self.rows_since_write_back = 0
                write_back_wal()


def write_back_wal() -> None:
    """SQLite: copy the WAL's pages into the database file now (a passive checkpoint: it
    never waits for readers) rather than in whichever request commits next."""
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.connection().exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
        db.session.commit()


def _hold_wal_write_back(conn) -> None:
    """SQLite: no automatic WAL checkpoint in this connection's commits. A chunk's random
    blind-index and 姓名 keys dirty about two index pages per row; checkpointing them at
    every chunk's commit writes them twice and fsyncs the database file each time. The
    connection goes back to the default when the pool takes it back (app.py)."""
    conn.exec_driver_sql(f"PRAGMA wal_autocheckpoint={HELD_WAL_PAGES}")
    conn.connection.info["wal_checkpoint_held"] = True


HELD_WAL_PAGES = 1_000_000  # a bound well above WRITE_BACK_ROWS' pages


def _new_ids(table: str, count: int, job_id: int) -> list[int]:
    """Ids for a chunk's new persons or qualifications, known before the insert (so nothing
    is looked up again by blind index or code afterwards): PostgreSQL draws them from the
    table's id sequence in one statement; SQLite appends after the highest id, which holds
    because the chunk's transaction takes the write lock first (nobody else can insert
    before it commits)."""
    conn = db.session.connection()
    if conn.dialect.name == "postgresql":
        return conn.exec_driver_sql(_NEXT_IDS[table], (count,)).scalars().all()
    # touching the job's row takes the write lock before max(id) is read
    conn.exec_driver_sql("UPDATE import_job SET processed_rows = processed_rows WHERE id = ?",
                         (job_id,))
    top = conn.exec_driver_sql(_TOP_ID[table]).scalar()
    return list(range(top + 1, top + 1 + count))


# the sequence named once per statement (an InitPlan): written as nextval(pg_get_serial_sequence(…))
# it is looked up and cast to regclass again for every row — 108 ms against 11 ms for 40,000 ids
_NEXT_IDS = {
    "person": "SELECT nextval((SELECT pg_get_serial_sequence('person', 'id')::regclass)) "
              "FROM generate_series(1, %s)",
    "qualification": "SELECT nextval((SELECT pg_get_serial_sequence('qualification', 'id')"
                     "::regclass)) FROM generate_series(1, %s)"}
_TOP_ID = {"person": "SELECT coalesce(max(id), 0) FROM person",
           "qualification": "SELECT coalesce(max(id), 0) FROM qualification"}


def _select_in(sql_prefix: str, values: list, pg_type: str = "text"):
    """`<sql_prefix> IN (…values)` on the session's connection (see _select_in_on)."""
    return _select_in_on(db.session.connection(), sql_prefix, values, pg_type)


def _select_in_on(conn, sql_prefix: str, values: list, pg_type: str = "text"):
    """`<sql_prefix> IN (…values)` on the DBAPI cursor: a lookup per chunk without building
    thousands of SQL bind parameters. PostgreSQL gets one array literal (`= ANY('{…}')`):
    the values are blind-index hex digests, codes checked against CODE_RE or ids, none of
    which needs quoting, and the literal is far cheaper to send than a dumped list."""
    if not values:
        return []
    if conn.dialect.name == "postgresql":
        literal = "{" + ",".join(map(str, values)) + "}"
        return conn.exec_driver_sql(f"{sql_prefix} = ANY(%s::{pg_type}[])", (literal,)).all()
    return conn.exec_driver_sql(f"{sql_prefix} IN ({','.join('?' * len(values))})",
                                tuple(values)).all()


PERSON_COLS = ("id", "name", "gender", "birth_date", "id_number_enc", "id_number_hash",
               "id_number_masked", "is_military", "created_at")
QUALIFICATION_COLS = ("id", "code", "person_id", "level", "category", "year", "school", "major",
                      "education_code", "issuing_authority", "kind", "created_at")


REGION_COLS = ("region_code", "qualification_id")


def _copy_text(table, cols, text: str) -> None:
    """PostgreSQL: COPY rows already written in COPY's text format, in the session's
    transaction (the driver's per-row formatting costs ~3 µs a row: 0.1 s for an import's
    40,000 region rows, which need no escaping)."""
    raw = db.session.connection().connection.driver_connection
    with raw.cursor() as cur:
        with cur.copy(f'COPY "{table.name}" ({", ".join(cols)}) FROM STDIN') as copy:
            copy.write(text)


@functools.lru_cache(maxsize=None)
def _pg_column_types(table, cols: tuple) -> list[str]:
    """The PostgreSQL type names of a table's columns, as a binary COPY must declare them
    ("varchar", "integer", "timestamp without time zone", …)."""
    from sqlalchemy.dialects import postgresql
    dialect = postgresql.dialect()
    return [table.c[col].type.compile(dialect=dialect).split("(")[0].lower()
            for col in cols]


def _bulk_insert(table, cols, rows: list[tuple]) -> None:
    """executemany straight on the DBAPI cursor (no per-row SQL compilation); enum columns
    get their stored values (as enum_column stores them)."""
    if not rows:
        return
    conn = db.session.connection()
    if conn.dialect.name == "postgresql":
        # COPY in the same transaction: one round trip for the whole chunk; in the binary
        # format, which the server stores without parsing text (measured: 20,000 persons
        # 0.39 s against 0.47 s in the text format)
        raw = conn.connection.driver_connection
        with raw.cursor() as cur:
            with cur.copy(f'COPY "{table.name}" ({", ".join(cols)}) FROM STDIN '
                          "(FORMAT BINARY)") as copy:
                copy.set_types(_pg_column_types(table, cols))
                for row in rows:
                    copy.write_row(row)
        return
    style = conn.dialect.paramstyle
    mark = "?" if style == "qmark" else "%s"
    q = conn.dialect.identifier_preparer.quote
    sql = (f"INSERT INTO {q(table.name)} ({', '.join(q(c) for c in cols)}) "
           f"VALUES ({', '.join([mark] * len(cols))})")
    conn.exec_driver_sql(sql, rows)


def start_job(actor: Actor, filename: str, kind: str = "qualification") -> ImportJob:
    filename = os.path.basename(filename or "").strip()
    ext = os.path.splitext(filename.lower())[1]
    if ext not in (".csv", ".xlsx"):
        raise DomainError("只支持CSV（.csv）或Excel（.xlsx）文件。", field="file")
    job = ImportJob(authority_id=actor.authority_id, created_by_id=actor.id, kind=kind,
                    filename=filename[:256], status="running", errors=[])
    db.session.add(job)
    db.session.flush()
    audit.record(actor, "import_started", job, detail=f"导入文件 {filename}"[:512])
    db.session.commit()
    return job


def _chunks(rows, first: int | None = None, total: int | None = None):
    """Lists of CHUNK_ROWS rows. Given `first` (a pipeline: one side prepares chunks, the
    other inserts them), the chunks start that long and grow by half up to CHUNK_ROWS, so
    the inserting side's wait for the first is short; given also the file's row count, they
    shrink by half towards the end, so its work on the last chunk, which nothing overlaps,
    is short too (measured: a last chunk of 4,588 rows kept the parent alone for 0.2 s)."""
    chunk, size, limit, taken = [], first or CHUNK_ROWS, first or CHUNK_ROWS, 0
    for item in rows:
        chunk.append(item)
        if len(chunk) >= limit:
            yield chunk
            taken += len(chunk)
            chunk, size = [], min(CHUNK_ROWS, size + size // 2 + 1)
            limit = size
            if first and total:
                limit = max(first, min(size, (total - taken) // 2))
    if chunk:
        yield chunk


def _prepared_chunks(path: str, filename: str, validator: "_Validator",
                     first: int | None = None, total: int | None = None, rows=None):
    """(prepare()'s result, rows in chunk) of each chunk of the file, in this thread; the
    file's rows are read here, or taken from `rows` (a reader process's, _file_reader)."""
    if rows is None:
        rows = iter_rows(path, filename)
    for chunk in _chunks(rows, first=first, total=total):
        yield validator.prepare(chunk), len(chunk)


def _validated_chunks(path: str, filename: str, validator: "_Validator", engine,
                      job_id: int, total: int | None = None, file_rows=None):
    """PostgreSQL: yield (prepare()'s result + lookup + reserved ids, rows in chunk) while the
    next chunks are read, checked, hashed and encrypted in a second thread: the current
    chunk's inserts run in the server while psycopg waits without the GIL, so the two
    overlap on the second core. The thread also looks each chunk up in the register and
    draws its ids on a connection of its own (see _look_up_on_connection): that database
    work runs in a second server process. An .xlsx file's rows come from a reader process
    (`file_rows`, see _file_reader). A reader error (DomainError) is raised here."""
    ready: queue.Queue = queue.Queue(maxsize=2)
    stop = threading.Event()

    def put(item):
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce():
        register = None
        try:
            register = engine.connect().execution_options(isolation_level="REPEATABLE READ")
            # short first chunks, growing: the inserting thread waits for the first with
            # nothing else to do
            for prepared, size in _prepared_chunks(path, filename, validator,
                                                   first=max(CHUNK_ROWS // 10, 1), total=total,
                                                   rows=_rows_received(file_rows)):
                rows = prepared[0]
                if rows:
                    prepared = prepared + _look_up_on_connection(register, job_id, rows)
                if not put(("chunk", prepared, size)):
                    return
            put(("end", None, 0))
        except BaseException as exc:  # noqa: BLE001 (handed to the consuming thread)
            put(("error", exc, 0))
        finally:
            if register is not None:
                register.close()

    worker = threading.Thread(target=produce, name="import-validate", daemon=True)
    worker.start()
    try:
        while True:
            kind, payload, size = ready.get()
            if kind == "end":
                return
            if kind == "error":
                raise payload
            yield payload, size
    finally:
        stop.set()
        worker.join()


def _messages(receiver):
    """(payload, size) of each message a child process sends until "end". Its error is
    raised here as the DomainError it was; a child that dies or falls silent fails the job."""
    while True:
        if not receiver.poll(CHILD_SILENCE_SECONDS):
            raise DomainError("文件校验超时，请稍后重新导入。", field="file")
        try:
            kind, payload, size = receiver.recv()
        except EOFError:
            raise DomainError("文件处理失败，请检查文件内容后重新导入。", field="file") from None
        if kind == "end":
            return
        if kind == "error":
            message, detail = payload
            if message:
                raise DomainError(message, field=detail)
            raise RuntimeError(f"import child process failed: {detail}")
        yield payload, size


def _error_message(exc: BaseException) -> tuple:
    """What a child process sends for its error: the DomainError's message and field, or
    none and a description for the parent's RuntimeError."""
    if isinstance(exc, DomainError):
        return exc.message, exc.field
    return None, repr(exc)[:300]


# PostgreSQL: an .xlsx sheet of PROCESS_MIN_ROWS rows or more is parsed in a process of its
# own, which sends its rows on in batches to the checking thread. Parsed in that thread, the
# sheet (~0.5 s for 20,000 rows, against ~0.2 s for their checks) held the GIL that the
# inserting thread needs after each round trip (national data set, 20,000 rows: 1.28-1.63 s
# parsed there, 0.89-1.11 s with the reader process). On SQLite the checking child process
# parses it: a third process on the two cores gained nothing there (0.94-1.10 s against
# 0.93-1.01 s).
READ_BATCH_ROWS = 1000


def _read_file_into(sender, path: str, filename: str) -> None:
    """In the reader process: send iter_rows() in batches, then "end" or the error."""
    try:
        batch = []
        for item in iter_rows(path, filename):
            batch.append(item)
            if len(batch) >= READ_BATCH_ROWS:
                sender.send(("rows", batch, len(batch)))
                batch = []
        if batch:
            sender.send(("rows", batch, len(batch)))
        sender.send(("end", None, 0))
    except Exception as exc:  # noqa: BLE001 (reported to the side that checks the rows)
        sender.send(("error", _error_message(exc), 0))
    finally:
        sender.close()


def _rows_received(file_rows):
    """The rows a reader process sends (None without one: the file is read in place)."""
    if file_rows is None:
        return None
    return (row for batch, _size in _messages(file_rows) for row in batch)


@contextlib.contextmanager
def _file_reader(filename: str, path: str, total: int):
    """The receiving end of a reader process's rows for an .xlsx file of PROCESS_MIN_ROWS
    rows or more (the process is stopped on leaving), else None."""
    if not filename.lower().endswith(".xlsx") or total < PROCESS_MIN_ROWS:
        yield None
        return
    ctx = multiprocessing.get_context("fork")
    receiver, sender = ctx.Pipe(duplex=False)
    reader = ctx.Process(target=_read_file_into, name="import-read", daemon=True,
                         args=(sender, path, filename))
    reader.start()
    sender.close()
    try:
        yield receiver
    finally:
        receiver.close()
        if reader.is_alive():
            reader.terminate()
        reader.join()


# SQLite: a file this long is read and checked in a child process (forked: it starts with the
# validator as it is here, nothing is imported or sent) while this one writes the previous
# chunk; below it, starting the process costs more than it saves
PROCESS_MIN_ROWS = 3 * CHUNK_ROWS
CHILD_SILENCE_SECONDS = 300  # no chunk for this long: the child is stuck, the job fails


def _validate_file_into(sender, path, filename, validator, database=None, job_id=None,
                        cache_kib=2000, total=None):
    """In the child: read, check, hash and encrypt every chunk, look its codes and persons up
    in the register (its own read-only connection to the SQLite file), and send it to the
    parent; then "end", or the reader's error. A thread writes each chunk into the pipe,
    which takes it only as the parent reads it, while the next chunk is prepared: so the
    child stays up to two chunks ahead (with one, the parent waited for each chunk that was
    bigger than the last: 0.1–0.2 s per 20,000 rows)."""
    outbox: queue.Queue = queue.Queue(maxsize=1)

    def forward():
        while True:
            item = outbox.get()
            sender.send(item)
            if item[0] != "chunk":
                return

    forwarder = threading.Thread(target=forward, name="import-send", daemon=True)
    forwarder.start()
    register = None
    try:
        if database:
            import sqlite3
            register = sqlite3.connect(database, timeout=30, isolation_level=None)
            register.execute("PRAGMA query_only = 1")
            # the page cache the app's connections have (SQLite's default 2 MB does not hold
            # the blind index's inner pages: each probe would read two pages instead of one)
            register.execute(f"PRAGMA cache_size = -{int(cache_kib)}")
        # short first chunks, growing: the parent waits for the first with nothing else to
        # do (measured: 5,000 rows after 1,000 made the parent wait 0.12–0.23 s)
        for (rows, errors, bad), size in _prepared_chunks(path, filename, validator,
                                                          first=max(CHUNK_ROWS // 10, 1),
                                                          total=total):
            looked_up = _look_up_in_file(register, job_id, rows) if register and rows \
                else None
            outbox.put(("chunk", (rows, errors, bad, looked_up), size))
        outbox.put(("end", None, 0))
    except Exception as exc:  # noqa: BLE001 (reported to the parent, which fails the job)
        outbox.put(("error", _error_message(exc), 0))
    finally:
        forwarder.join()
        if register is not None:
            register.close()
        sender.close()


def _look_up_in_file(register, job_id: int, rows: list) -> LookedUp:
    """look_up_register() on the child's own SQLite connection, in one read transaction
    with the job's processed_rows (which each chunk's commit advances), so the parent knows
    which of its chunks the lookup saw."""
    def select_in(sql_prefix, values, pg_type="text"):
        return register.execute(f"{sql_prefix} IN ({','.join('?' * len(values))})",
                                values).fetchall() if values else []

    register.execute("BEGIN")
    try:
        seen_through = register.execute("SELECT processed_rows FROM import_job WHERE id = ?",
                                        (job_id,)).fetchone()[0]
        return seen_through, look_up_register(select_in, rows)
    finally:
        register.execute("COMMIT")


def _look_up_on_connection(register, job_id: int, rows: list) -> tuple[LookedUp, dict]:
    """PostgreSQL, in the checking thread: look_up_register() on the thread's own connection
    in one snapshot (REPEATABLE READ) with the job's processed_rows, so the inserting thread
    knows which of its chunks the lookup saw; and ids for the chunk's qualifications and the
    persons the lookup did not find (sequences are outside transactions: ids drawn and not
    used are a gap, as any rolled-back insert leaves)."""
    with register.begin():
        seen_through = register.exec_driver_sql(
            "SELECT processed_rows FROM import_job WHERE id = %s", (job_id,)).scalar_one()
        found = look_up_register(functools.partial(_select_in_on, register), rows)
        new_persons = len({r["hash"] for r in rows} - found[1].keys())
        reserved = {"person": [], "qualification": []}
        for person_id, qualification_id in register.exec_driver_sql(
                _NEXT_PAIRED_IDS, (new_persons, len(rows))):
            if person_id is not None:
                reserved["person"].append(person_id)
            reserved["qualification"].append(qualification_id)
    return (seen_through, found), reserved


# ids for n persons and m >= n qualifications in one statement
_NEXT_PAIRED_IDS = (
    "SELECT CASE WHEN k <= %s THEN "
    "nextval((SELECT pg_get_serial_sequence('person', 'id')::regclass)) END, "
    "nextval((SELECT pg_get_serial_sequence('qualification', 'id')::regclass)) "
    "FROM generate_series(1, %s) k")


def _validated_chunks_in_process(path: str, filename: str, validator: "_Validator",
                                 database: str | None = None, job_id: int | None = None,
                                 total: int | None = None):
    """Yield (prepare()'s result, rows in chunk) computed by a child process, so that the
    checks run on the second core while this process inserts (SQLite's executemany holds
    this process's GIL). A reader error is raised here as the DomainError it was; a child
    that dies or falls silent fails the job."""
    ctx = multiprocessing.get_context("fork")
    receiver, sender = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_validate_file_into, name="import-validate", daemon=True,
                        args=(sender, path, filename, validator, database, job_id,
                              current_app.config.get("SQLITE_CACHE_KIB", 2000), total))
    child.start()
    sender.close()
    try:
        yield from _messages(receiver)
    finally:
        receiver.close()
        if child.is_alive():
            child.terminate()
        child.join()


def _sqlite_file() -> str | None:
    """The SQLite database file the child opens (None for an in-memory database)."""
    name = db.engine.url.database
    return name if name and name != ":memory:" and not name.startswith("file:") else None


@contextlib.contextmanager
def _collector_paused():
    """The rows of a chunk are short-lived dicts and tuples freed by reference counting; the
    cyclic collector would otherwise walk the whole process (models, app, caches) every few
    thousand of them — a third of a 20,000-row import's time."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def run_job(actor: Actor, job_id: int, path: str) -> ImportJob:
    """Process the uploaded file of a job (synchronously; may run in a worker thread). On
    SQLite the caller runs write_back_wal() afterwards (the job is finished and visible
    before its pages are copied from the WAL into the database file)."""
    job = db.session.get(ImportJob, job_id)
    started = time.perf_counter()
    importer = None
    try:
        job.total_rows = count_rows(path, job.filename)
        if job.total_rows > MAX_ROWS:
            raise DomainError(f"单个文件最多{MAX_ROWS}行。", field="file")
        db.session.commit()
        importer = _Importer(job)
        validator = _Validator(_education_codes(), _keys(), dt.date.today())
        # PostgreSQL: an .xlsx sheet is parsed in a reader process (see _file_reader)
        reading = contextlib.nullcontext() if importer.sqlite else _file_reader(
            job.filename, path, job.total_rows)
        with _collector_paused(), reading as read:
            if importer.sqlite and job.total_rows >= PROCESS_MIN_ROWS:
                # SQLite runs in this process: its executemany takes the GIL back for every
                # row, so the checks overlap with it only from another process (measured on
                # the national file, 20,000 rows: 1.09–1.25 s against 1.27–1.35 s), which
                # also does the chunk's lookups — random blind-index probes, ~40 % of the
                # database work — while this one inserts the previous chunk
                database = _sqlite_file()
                importer.track_written = database is not None
                prepared_chunks = _validated_chunks_in_process(
                    path, job.filename, validator, database, job.id, job.total_rows)
            elif importer.sqlite:
                prepared_chunks = _prepared_chunks(path, job.filename, validator)
            else:
                # PostgreSQL does the inserts in its own server process while psycopg waits
                # without the GIL: a thread overlaps as well as a child process did (measured),
                # and its lookups run in a second server process
                importer.track_written = True
                prepared_chunks = _validated_chunks(path, job.filename, validator,
                                                    db.engine, job.id, job.total_rows, read)
            for (rows, errors, bad, *looked_up), size in prepared_chunks:
                importer.store(rows, errors, bad, size, *looked_up)
        job.total_rows = job.processed_rows  # exact (blank lines skipped, quoted newlines)
        job.status = "done"
    except DomainError as exc:
        db.session.rollback()
        job = db.session.get(ImportJob, job_id)
        job.status = "failed"
        job.errors = list(job.errors or []) + [[0, "文件", exc.message]]
    except Exception:
        db.session.rollback()
        job = db.session.get(ImportJob, job_id)
        job.status = "failed"
        job.errors = list(job.errors or []) + [[0, "文件", "文件处理失败，请检查文件内容后重新导入。"]]
        raise
    finally:
        job.finished_at = utcnow()
        elapsed = time.perf_counter() - started
        audit.record(actor, "import_finished", job,
                     after={"total": job.total_rows, "imported": job.imported_rows,
                            "failed": job.failed_rows, "seconds": round(elapsed, 3)})
        if importer is not None and importer.sqlite:
            # each chunk's commit handed the connection back to the pool, whose check-in
            # restores the default interval: the commit that shows the job as finished would
            # otherwise also copy every held WAL page into the database file
            _hold_wal_write_back(db.session.connection())
        db.session.commit()
    return job


def import_file(actor: Actor, path: str, filename: str) -> ImportJob:
    """Start, run and finish a job in this thread; the WAL pages it held back are written
    to the database file after the job shows as finished."""
    job = start_job(actor, filename)
    job = run_job(actor, job.id, path)
    write_back_wal()
    return job


def error_report_csv(job: ImportJob) -> str:
    out = io.StringIO()
    out.write("\ufeff")
    w = csv.writer(out)
    w.writerow(["行号", "字段", "错误说明"])
    for line, field, message in sorted(job.errors or [], key=lambda e: e[0]):
        w.writerow([line, field, message])
    return out.getvalue()


def template_csv() -> str:
    return "\ufeff" + ",".join(COLUMNS) + "\r\n"
