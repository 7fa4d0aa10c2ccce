"""C3 import of qualification records: row-level validation, duplicates, error report."""
import csv
import datetime as dt
import io
import zipfile
from xml.sax.saxutils import escape

import sqlalchemy as sa
from stdnum.cn import ric

from models import db
from models.enums import UserKind
from models.registry import Person, Qualification
from services import Actor
from services.registry_import import COLUMNS, error_report_csv, import_file
from tests import factories as F
from tests.xlsx_files import make_xlsx

HEADER = ",".join(COLUMNS)


def qual_rows(n, start=0, area="140100"):
    rows = []
    for i in range(start, start + n):
        birth = dt.date(1985, 1, 1) + dt.timedelta(days=i // 499 * 37)
        male = i % 2 == 0
        idn = F.id_number(area=area, birth=birth, seq=i % 499, male=male)
        rows.append([F.chinese_name(i), idn, "男" if male else "女", birth.isoformat(),
                     f"Q{2010 + i % 10}{i:010d}", "执业医师", "临床", str(2010 + i % 10),
                     "山西医科大学", "临床医学", "本科", "山西省卫生健康委员会", "新人新办法"])
    return rows


def write_csv(tmp_path, rows, name="quals.csv"):
    path = tmp_path / name
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(COLUMNS)
    w.writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


def _actor(app_ctx):
    auth = F.authority(name="山西省卫生健康委员会", region_code="140000")
    user = F.reviewer(auth)
    return Actor(UserKind.CONSOLE, user.id, "审批员", authority_id=auth.id)


def test_good_rows_are_imported_and_bad_rows_reported(app_ctx, tmp_path):
    actor = _actor(app_ctx)
    rows = qual_rows(20)
    rows[3][1] = rows[3][1][:-1] + ("0" if rows[3][1][-1] != "0" else "1")  # bad check digit
    rows[7][0] = "Zhang San"  # letters in the name
    rows[11][3] = "1960-01-01"  # birth date not the one in the ID
    rows[15][4] = rows[14][4]  # duplicate code in the file
    rows[16][5] = "主任医师"  # not a level
    # 北京市 is known, county 110001 never was (python-stdnum raises KeyError for it)
    base = f"110001{dt.date.fromisoformat(rows[19][3]):%Y%m%d}00{7 if rows[19][2] == '男' else 6}"
    rows[19][1] = base + ric.calc_check_digit(base + "0")
    job = import_file(actor, str(write_csv(tmp_path, rows)), "quals.csv")
    assert job.status == "done"
    assert (job.total_rows, job.imported_rows, job.failed_rows) == (20, 14, 6)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Qualification)) == 14
    report = error_report_csv(job)
    lines = list(csv.reader(io.StringIO(report.lstrip("\ufeff"))))
    assert lines[0] == ["行号", "字段", "错误说明"]
    by_line = {int(r[0]): (r[1], r[2]) for r in lines[1:]}
    assert by_line[5] == ("身份证号", "身份证号校验位不正确。")  # data row 4 = line 5
    assert by_line[9][0] == "姓名"
    assert by_line[13] == ("出生日期", "出生日期与身份证号不一致。")
    assert by_line[17] == ("资格证书编码", "资格证书编码在文件中重复。")
    assert by_line[18][0] == "级别"
    assert by_line[21] == ("身份证号", "身份证号中的地区码不存在。")
    # the person's identity is stored encrypted and searchable by the blind index
    p = db.session.scalar(sa.select(Person).where(Person.name == rows[0][0]))
    assert p.id_number == rows[0][1] and p.id_number_masked.startswith("140100")
    from models.identity import id_blind_index
    assert p.id_number_hash == id_blind_index(rows[0][1])


def test_every_field_is_stored_as_written(app_ctx, tmp_path):
    """Free text with the characters COPY's text format escapes (backslash, tab, line
    breaks, a literal \\N), a blank 学历 and both 性别 come back from the register exactly
    (PostgreSQL writes the rows with COPY, SQLite with executemany)."""
    from models.enums import Gender, PhysicianCategory, PhysicianLevel, QualificationKind
    from models.registry import QualificationRegion
    rows = qual_rows(4)
    rows[0][8:12] = ["北京\t医学\\院", "临床\n医学", "", "卫生\r\n委员会 \\N"]
    rows[1][6:8] = ["口腔", "2015"]
    rows[2][5] = "执业助理医师"
    rows[3][12] = "军队"
    job = import_file(_actor(app_ctx), str(write_csv(tmp_path, rows)), "q.csv")
    assert (job.status, job.imported_rows, job.failed_rows) == ("done", 4, 0), job.errors
    db.session.expire_all()
    stored = {q.code: q for q in db.session.scalars(sa.select(Qualification))}
    first = stored[rows[0][4]]
    assert (first.school, first.major, first.education_code, first.issuing_authority) == (
        "北京\t医学\\院", "临床\n医学", None, "卫生\r\n委员会 \\N")
    assert (first.level, first.category, first.kind, first.year) == (
        PhysicianLevel.PHYSICIAN, PhysicianCategory.CLINICAL, QualificationKind.NATIONAL_EXAM,
        2010)
    assert first.created_at is not None
    assert (stored[rows[1][4]].category, stored[rows[1][4]].year) == (
        PhysicianCategory.DENTAL, 2015)
    assert stored[rows[1][4]].education_code == stored[rows[2][4]].education_code is not None
    assert stored[rows[2][4]].level == PhysicianLevel.ASSISTANT
    assert stored[rows[3][4]].kind == QualificationKind.MILITARY
    for row in rows:
        person = stored[row[4]].person
        assert (person.name, person.id_number, person.birth_date.isoformat()) == (
            row[0], row[1], row[3])
        assert person.gender == (Gender.MALE if row[2] == "男" else Gender.FEMALE)
        assert person.is_military is False and person.created_at is not None
        assert sorted(db.session.scalars(sa.select(QualificationRegion.region_code).where(
            QualificationRegion.qualification_id == stored[row[4]].id))) == ["14", "1401"]


def test_birth_dates_in_every_accepted_form_and_impossible_ones(app_ctx, tmp_path):
    """出生日期 as 1985-01-02, 1985/1/2, 1985.1.2, 1985年1月2日 or in full-width digits reads
    as the same date; an impossible or malformed one is reported at the field. A file
    without the optional columns (学历, 毕业院校 …) imports too."""
    rows = qual_rows(7)
    birth = dt.date.fromisoformat(rows[0][3])
    forms = [f"{birth.year}/{birth.month}/{birth.day}", f"{birth.year}.{birth.month}.{birth.day}",
             f"{birth.year}年{birth.month}月{birth.day}日",
             rows[0][3].translate(str.maketrans("0123456789", "０１２３４５６７８９"))]
    for row, form in zip(rows[1:5], forms):
        assert dt.date.fromisoformat(row[3]) == birth  # same birth date, other persons
        row[3] = form
    rows[5][3] = f"{birth.year}-02-30"
    rows[6][3] = "1985-1"
    keep = [COLUMNS.index(c) for c in COLUMNS if c not in ("学历", "毕业院校", "所学专业")]
    path = tmp_path / "q.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow([COLUMNS[k] for k in keep])
        out.writerows([[row[k] for k in keep] for row in rows])
    job = import_file(_actor(app_ctx), str(path), "q.csv")
    assert (job.status, job.imported_rows, job.failed_rows) == ("done", 5, 2)
    assert sorted(job.errors) == [[7, "出生日期", "出生日期格式不正确，应为YYYY-MM-DD。"],
                                  [8, "出生日期", "出生日期格式不正确，应为YYYY-MM-DD。"]]
    stored = db.session.scalars(sa.select(Person.birth_date)).all()
    assert sorted(stored) == [birth] * 5


def test_reimport_reports_duplicates_against_the_register(app_ctx, tmp_path):
    actor = _actor(app_ctx)
    rows = qual_rows(5)
    import_file(actor, str(write_csv(tmp_path, rows)), "quals.csv")
    again = qual_rows(5) + qual_rows(2, start=100)
    again[5][0] = again[5][0]
    job = import_file(actor, str(write_csv(tmp_path, again, "again.csv")), "again.csv")
    assert (job.imported_rows, job.failed_rows) == (2, 5)
    assert all(e[2] == "资格证书编码已存在于注册库。" for e in job.errors)


def test_second_qualification_of_the_same_person_joins_the_person(app_ctx, tmp_path):
    actor = _actor(app_ctx)
    rows = qual_rows(1)
    second = list(rows[0])
    second[4] = "Q2099000000001"
    second[5] = "执业助理医师"
    wrong_name = list(rows[0])
    wrong_name[4] = "Q2099000000002"
    wrong_name[0] = "李四"
    job = import_file(actor, str(write_csv(tmp_path, [rows[0], second, wrong_name])),
                      "quals.csv")
    assert (job.imported_rows, job.failed_rows) == (2, 1)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Person)) == 1
    assert job.errors[0][1] == "姓名"


def test_xlsx_and_bad_files(app_ctx, tmp_path):
    import openpyxl
    actor = _actor(app_ctx)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(COLUMNS)
    for r in qual_rows(3):
        r[3] = dt.datetime.fromisoformat(r[3])  # a real Excel date cell
        r[7] = int(r[7])
        ws.append(r)
    path = tmp_path / "q.xlsx"
    wb.save(path)
    job = import_file(actor, str(path), "q.xlsx")
    assert (job.status, job.imported_rows, job.failed_rows) == ("done", 3, 0)
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"not a workbook")
    job = import_file(actor, str(bad), "bad.xlsx")
    assert job.status == "failed" and "Excel" in job.errors[-1][2]
    nohead = tmp_path / "nohead.csv"
    nohead.write_text("a,b\n1,2\n", encoding="utf-8")
    job = import_file(actor, str(nohead), "nohead.csv")
    assert job.status == "failed" and "缺少以下列" in job.errors[-1][2]


def _excel_workbook(tmp_path, rows, blank_after=None, dimension="A1"):
    """The rows as Chinese Excel saves them: text in the shared string table, 出生日期 as a
    date serial in built-in format 31 (yyyy年m月d日, no numFmt entry), 获得年度 a number;
    a blank row after data row `blank_after`; the writer's placeholder dimension "A1"."""
    strings, index = [], {}

    def shared(text):
        if text not in index:
            index[text] = len(strings)
            strings.append(f"<si><t>{escape(text)}</t></si>")
        return index[text]

    def cell(col, value, number):
        ref = f"{'ABCDEFGHIJKLM'[col]}{number}"
        if col == 3 and number > 1:
            serial = (dt.date.fromisoformat(value) - dt.date(1899, 12, 30)).days
            return f'<c r="{ref}" s="1"><v>{serial}</v></c>'
        if col == 7 and number > 1:
            return f'<c r="{ref}"><v>{value}</v></c>'
        return f'<c r="{ref}" t="s"><v>{shared(value)}</v></c>' if value else ""

    def row(values, number):
        return f'<row r="{number}">' + "".join(
            cell(i, v, number) for i, v in enumerate(values)) + "</row>"
    xml, number = [row(COLUMNS, 1)], 1
    for k, values in enumerate(rows):
        number += 1
        xml.append(row(values, number))
        if k == blank_after:
            number += 1  # an empty row: Excel writes nothing for it
    styles = '<cellXfs count="2"><xf numFmtId="0"/><xf numFmtId="31"/></cellXfs>'
    return make_xlsx(tmp_path / "资格.xlsx", "".join(xml), shared="".join(strings),
                     styles=styles, dimension=dimension)


def test_an_xlsx_as_chinese_excel_saves_it_is_imported_row_by_row(app_ctx, tmp_path):
    """Shared strings, 出生日期 shown as 1985年1月1日, a blank row and a bad row: the good
    rows are imported with their dates, the bad one is reported by its row in the sheet,
    and the count is exact though the sheet declares no size."""
    actor = _actor(app_ctx)
    rows = qual_rows(30)
    rows[20][1] = rows[20][1][:-1] + ("0" if rows[20][1][-1] != "0" else "1")  # bad check digit
    path = _excel_workbook(tmp_path, rows, blank_after=9)
    job = import_file(actor, str(path), "资格.xlsx")
    assert (job.status, job.total_rows, job.imported_rows, job.failed_rows) == ("done", 30, 29, 1)
    # data row 21 is sheet row 23: the header, then the blank row after data row 10
    assert job.errors == [[23, "身份证号", "身份证号校验位不正确。"]]
    births = dict(db.session.execute(sa.select(Person.name, Person.birth_date)).all())
    assert births[rows[0][0]] == dt.date.fromisoformat(rows[0][3])
    assert births[rows[29][0]] == dt.date.fromisoformat(rows[29][3])
    years = db.session.scalars(sa.select(Qualification.year).order_by(Qualification.id)).all()
    assert years[:3] == [int(r[7]) for r in rows[:3]]


def test_an_xlsx_larger_than_its_declared_size_is_still_capped(app_ctx, tmp_path, monkeypatch):
    """MAX_ROWS holds for the rows read, not only for the size a workbook declares."""
    from services import registry_import
    monkeypatch.setattr(registry_import, "MAX_ROWS", 5)
    actor = _actor(app_ctx)
    path = _excel_workbook(tmp_path, qual_rows(8), dimension="A1:M3")
    job = import_file(actor, str(path), "资格.xlsx")
    assert job.status == "failed" and job.errors[-1][2] == "单个文件最多5行。"
    assert job.total_rows == 2


def test_a_long_xlsx_is_parsed_in_a_reader_process_with_the_same_result(app_ctx, tmp_path):
    """On PostgreSQL an .xlsx of PROCESS_MIN_ROWS rows or more is parsed by a process of its
    own that hands its rows on in batches: they are the rows read in place, and the import
    has the same result on either database, row numbers and dates included."""
    from services import registry_import as ri
    actor = _actor(app_ctx)
    n = ri.PROCESS_MIN_ROWS + 1500
    rows = qual_rows(n)
    rows[n - 2][0] = "Li Lei"  # letters in the name, in the last batch
    path = _excel_workbook(tmp_path, rows, blank_after=4, dimension=f"A1:M{n + 2}")
    with ri._file_reader("资格.xlsx", str(path), n) as received:
        assert received is not None
        sent = list(ri._rows_received(received))
    assert sent == list(ri.iter_rows(str(path), "资格.xlsx"))
    job = import_file(actor, str(path), "资格.xlsx")
    assert (job.status, job.total_rows, job.imported_rows, job.failed_rows) == (
        "done", n, n - 1, 1)
    assert job.errors == [[n + 1, "姓名", "姓名只能由汉字和“·”组成，2至30个字。"]]  # sheet row
    last = db.session.scalar(sa.select(Person).order_by(Person.id.desc()).limit(1))
    assert (last.name, last.birth_date) == (rows[n - 1][0], dt.date.fromisoformat(rows[n - 1][3]))
    with ri._file_reader("资格.csv", str(path), n) as received:
        assert received is None  # a csv parses fast where it is checked


def test_a_workbook_broken_past_its_first_rows_fails_the_job_with_the_readers_message(
        app_ctx, tmp_path):
    """A sheet cut off after its first rows (declaring 20,000: checked in the child process
    on SQLite, in the checking thread on PostgreSQL) fails the job with the reader's
    Chinese message, not a stack trace."""
    actor = _actor(app_ctx)
    path = _excel_workbook(tmp_path, qual_rows(3), dimension="A1:M20001")
    with zipfile.ZipFile(path) as z:
        parts = {name: z.read(name) for name in z.namelist()}
    sheet = parts["xl/worksheets/sheet1.xml"]
    parts["xl/worksheets/sheet1.xml"] = sheet[:sheet.rindex(b"</row>")]  # cut off
    with zipfile.ZipFile(path, "w") as z:
        for name, data in parts.items():
            z.writestr(name, data)
    job = import_file(actor, str(path), "资格.xlsx")
    assert job.status == "failed"
    assert job.errors[-1] == [0, "文件", "无法读取该Excel文件，请确认文件为.xlsx格式。"]


def test_import_rate(app_ctx, tmp_path, capsys):
    """Not a timed assertion: prints the measured rate (the bench owns the target)."""
    import time
    actor = _actor(app_ctx)
    rows = qual_rows(20000)
    path = write_csv(tmp_path, rows)
    t, cpu = time.perf_counter(), time.process_time()
    job = import_file(actor, str(path), "quals.csv")
    elapsed, cpu = time.perf_counter() - t, time.process_time() - cpu
    assert job.imported_rows == 20000
    with capsys.disabled():
        print(f"\nimport rate: {20000 / elapsed:,.0f} rows/s wall ({elapsed:.2f} s), "
              f"{20000 / cpu:,.0f} rows/s of process CPU ({cpu:.2f} s) for 20,000 rows")


def test_gb18030_csv_is_read_as_a_stream_across_chunks(app_ctx, tmp_path, monkeypatch):
    """A GB18030 file (as Excel on Chinese Windows saves CSV) is imported with its Chinese
    intact, over several chunks, with the progress total counted without parsing."""
    import services.registry_import as ri
    monkeypatch.setattr(ri, "CHUNK_ROWS", 7)
    actor = _actor(app_ctx)
    rows = qual_rows(20, start=900)
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(COLUMNS)
    w.writerows(rows)
    path = tmp_path / "gbk.csv"
    path.write_bytes(out.getvalue().encode("gb18030"))
    assert ri.count_rows(str(path), "gbk.csv") == 20
    job = import_file(actor, str(path), "gbk.csv")
    assert (job.status, job.imported_rows, job.failed_rows, job.total_rows) == ("done", 20, 0, 20)
    names = set(db.session.scalars(sa.select(Person.name)))
    assert {r[0] for r in rows} <= names


def test_a_file_that_is_neither_utf8_nor_gb18030_fails_with_a_message(app_ctx, tmp_path):
    actor = _actor(app_ctx)
    path = tmp_path / "bin.csv"
    path.write_bytes(HEADER.encode("utf-8") + b"\n" + b"\xff\xfe\x00\x81\x30" * 50)
    job = import_file(actor, str(path), "bin.csv")
    assert job.status == "failed"
    assert "编码" in job.errors[-1][2] or "字符" in job.errors[-1][2]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Qualification)) == 0


def test_duplicates_and_bad_rows_across_chunks_keep_their_line_numbers(app_ctx, tmp_path,
                                                                         monkeypatch):
    """Over several chunks, a certificate code repeated in a later chunk and a bad row are
    reported with their line numbers, and every good row lands."""
    import services.registry_import as ri
    monkeypatch.setattr(ri, "CHUNK_ROWS", 7)
    actor = _actor(app_ctx)
    rows = qual_rows(30, start=2000)
    rows[24][4] = rows[2][4]          # line 26 repeats line 4's certificate code
    rows[10][1] = rows[10][1][:-1] + ("0" if rows[10][1][-1] != "0" else "1")  # line 12
    path = write_csv(tmp_path, rows)
    job = import_file(actor, str(path), "quals.csv")
    assert (job.status, job.imported_rows, job.failed_rows) == ("done", 28, 2)
    errors = {(line, field) for line, field, _ in job.errors}
    assert errors == {(26, "资格证书编码"), (12, "身份证号")}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Qualification)) == 28


def test_every_imported_qualification_belongs_to_the_person_of_its_row(app_ctx, tmp_path,
                                                                        monkeypatch):
    """New persons get their ids before the insert: over several chunks, with a person who
    is already in the register and one who appears twice in the file, each qualification is
    linked to the person whose 身份证号 and 姓名 its row carries."""
    import services.registry_import as ri
    from models.identity import id_blind_index
    monkeypatch.setattr(ri, "CHUNK_ROWS", 4)
    actor = _actor(app_ctx)
    known_id = F.id_number(area="140100", birth=dt.date(1979, 6, 2), seq=321)
    known = F.person(name="王已在", id_no=known_id, birth=dt.date(1979, 6, 2))
    rows = qual_rows(15, start=3000)
    rows[13] = list(rows[1])                              # the same person, second category
    rows[13][4], rows[13][6] = "Q20209999999", "中医"
    rows[6][:4] = ["王已在", known_id, "男", "1979-06-02"]  # a person of the register
    path = write_csv(tmp_path, rows)
    job = import_file(actor, str(path), "quals.csv")
    assert (job.status, job.imported_rows, job.failed_rows) == ("done", 15, 0), job.errors
    linked = {code: (person.id_number_hash, person.name) for code, person in db.session.execute(
        sa.select(Qualification.code, Person).join(Person, Qualification.person))}
    assert linked == {r[4]: (id_blind_index(r[1]), r[0]) for r in rows}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Person)) == 14
    assert linked[rows[6][4]][0] == known.id_number_hash


def test_a_file_that_breaks_in_a_later_chunk_fails_with_a_message(app_ctx, tmp_path,
                                                                     monkeypatch):
    """Bytes that are not text after the first 64 KB: the chunks before them are imported,
    the job fails with a message, and no reading thread is left behind."""
    import threading

    import services.registry_import as ri
    monkeypatch.setattr(ri, "CHUNK_ROWS", 200)
    actor = _actor(app_ctx)
    out = io.StringIO()
    csv.writer(out).writerows([COLUMNS] + qual_rows(1200, start=5000))
    path = tmp_path / "broken.csv"
    path.write_bytes(out.getvalue().encode("utf-8") + b"\xff\xfe\x81" * 20 + b"\r\n")
    job = import_file(actor, str(path), "broken.csv")
    assert job.status == "failed"
    assert "UTF-8" in job.errors[-1][2]
    assert job.imported_rows == job.processed_rows > 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Qualification)) == \
        job.imported_rows
    assert not [t for t in threading.enumerate() if t.name == "import-validate"]


def test_a_long_file_is_checked_in_a_child_process_with_the_same_outcome(app_ctx, tmp_path,
                                                                           monkeypatch):
    """SQLite, a file over PROCESS_MIN_ROWS: the rows are checked in a child process; good
    rows imported, bad rows of every chunk reported with their line numbers, duplicate codes
    across chunks caught; a file that breaks later fails with the reader's message after the
    earlier chunks; no child process is left behind."""
    import multiprocessing

    import services.registry_import as ri
    if db.engine.dialect.name != "sqlite":
        import pytest
        pytest.skip("the child process is used for SQLite imports")
    monkeypatch.setattr(ri, "CHUNK_ROWS", 100)
    monkeypatch.setattr(ri, "PROCESS_MIN_ROWS", 300)
    started = []
    real = ri._validated_chunks_in_process
    monkeypatch.setattr(ri, "_validated_chunks_in_process",
                        lambda *a: (started.append(a[0]), real(*a))[1])
    actor = _actor(app_ctx)
    rows = qual_rows(450, start=20000)
    rows[50][0] = "Li Si"                  # chunk 1
    rows[250][1] = rows[250][1][:-1] + ("0" if rows[250][1][-1] != "0" else "1")  # chunk 3
    rows[420][4] = rows[10][4]             # chunk 5 repeats a code of chunk 1
    job = import_file(actor, str(write_csv(tmp_path, rows)), "quals.csv")
    assert started, "the child process was not used"
    assert (job.status, job.total_rows, job.imported_rows, job.failed_rows) == \
        ("done", 450, 447, 3)
    assert sorted((line, field) for line, field, _ in job.errors) == [
        (52, "姓名"), (252, "身份证号"), (422, "资格证书编码")]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Qualification)) == 447
    assert not multiprocessing.active_children()

    out = io.StringIO()
    csv.writer(out).writerows([COLUMNS] + qual_rows(1200, start=30000))
    broken = tmp_path / "broken.csv"
    broken.write_bytes(out.getvalue().encode("utf-8") + b"\xff\xfe\x81" * 20 + b"\r\n")
    job = import_file(actor, str(broken), "broken.csv")
    assert job.status == "failed" and "UTF-8" in job.errors[-1][2]
    assert job.imported_rows == job.processed_rows > 0
    assert not multiprocessing.active_children()


def _chunk_crossing_rows():
    """500 rows (child chunks of at most 100) whose checks depend on earlier chunks of the
    same file, each pair 100 or more rows apart: the same person again with another 类别
    (imported, one person), the same person and 级别/类别 again, a code again and an
    身份证号 again under another 姓名 (errors)."""
    rows = qual_rows(500, start=40000)
    rows[140][1] = rows[30][1]                                # an earlier id, another name
    rows[140][2:4] = rows[30][2:4]
    rows[225][:4] = rows[115][:4]                             # an earlier person,
    rows[225][6] = "中医"                                     # another 类别
    rows[330][:4] = rows[215][:4]                             # an earlier person, same pair
    rows[480][4] = rows[370][4]                               # an earlier code
    return rows


def _expected_crossing_errors():
    return [(142, "姓名"), (332, "级别"), (482, "资格证书编码")]


def _lookups_ahead(monkeypatch):
    """Small chunks, each looked up ahead of the inserts: by the child process (SQLite) or on
    the checking thread's own connection (PostgreSQL). Returns the rows of each lookup made
    by the checking thread (the child's are made in its own memory)."""
    import services.registry_import as ri
    monkeypatch.setattr(ri, "CHUNK_ROWS", 100)
    monkeypatch.setattr(ri, "PROCESS_MIN_ROWS", 300)
    ahead = []
    real = ri._look_up_on_connection
    monkeypatch.setattr(ri, "_look_up_on_connection",
                        lambda *a: (ahead.append(len(a[2])), real(*a))[1])
    return ahead


def test_lookups_ahead_count_the_jobs_own_earlier_chunks(app_ctx, tmp_path, monkeypatch):
    """A long file: each chunk's codes and persons are looked up in the register (by the
    child process on SQLite, on the checking thread's own connection on PostgreSQL) while
    the previous chunk is inserted; whatever the job committed meanwhile still counts (a
    repeated person, code or pair across chunks)."""
    import services.registry_import as ri
    ahead = _lookups_ahead(monkeypatch)
    drawn_while_inserting = []
    real_new_ids = ri._new_ids
    monkeypatch.setattr(ri, "_new_ids",
                        lambda *a: (drawn_while_inserting.append(a[0]), real_new_ids(*a))[1])
    job = import_file(_actor(app_ctx), str(write_csv(tmp_path, _chunk_crossing_rows())), "q.csv")
    assert (job.status, job.imported_rows, job.failed_rows) == ("done", 497, 3)
    assert sorted((line, field) for line, field, _ in job.errors) == _expected_crossing_errors()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Person)) == 496
    if db.engine.dialect.name == "postgresql":
        # every row the checks passed (all but the code repeated in the file), in chunks
        assert sum(ahead) == 499 and len(ahead) > 3
        # the ids came with the lookups, drawn on the checking thread's connection
        assert drawn_while_inserting == []
    # every qualification belongs to the person of its row (ids drawn ahead or not)
    rows = _chunk_crossing_rows()
    by_code = dict(db.session.execute(
        sa.select(Qualification.code, Person.id_number_masked)
        .join(Person, Person.id == Qualification.person_id)).all())
    for k, row in enumerate(rows):
        if k + 2 not in (142, 332, 482):
            assert by_code[row[4]] == row[1][:6] + "********" + row[1][-4:]


def test_a_stale_lookup_ahead_is_completed_or_redone_by_the_inserting_side(
        app_ctx, tmp_path, monkeypatch):
    """The lookup made ahead (child process on SQLite, checking thread on PostgreSQL) may
    predate the job's latest chunks, or another writer's rows. Made to see nothing at all:
    the job's own chunks are added from memory, and a person already in the register (the
    insert clashes with it) sends the chunk back to be checked where it is inserted. The
    outcome is the one a fresh lookup gives."""
    import services.registry_import as ri
    from models.enums import PhysicianCategory
    _lookups_ahead(monkeypatch)
    if db.engine.dialect.name == "sqlite":
        monkeypatch.setattr(ri, "_look_up_in_file",
                            lambda register, job_id, rows: (0, (set(), {}, set())))
    else:
        monkeypatch.setattr(ri, "_look_up_on_connection",
                            lambda register, job_id, rows: ((0, (set(), {}, set())), {}))
    rows = _chunk_crossing_rows()
    # two persons of one chunk are in the register already: one with the row's 级别/类别
    # (an error), one with another 类别 (the row's qualification joins that person)
    known = {}
    for line in (260, 261):
        known[line] = F.person(name=rows[line][0], id_no=rows[line][1],
                               birth=dt.date.fromisoformat(rows[line][3]))
    F.qualification(known[260], category=PhysicianCategory.CLINICAL)
    F.qualification(known[261], category=PhysicianCategory.TCM)
    parent_lookups = []
    real_lookup = ri.look_up_register
    monkeypatch.setattr(ri, "look_up_register",
                        lambda *a: (parent_lookups.append(1), real_lookup(*a))[1])
    job = import_file(_actor(app_ctx), str(write_csv(tmp_path, rows)), "q.csv")
    assert len(parent_lookups) == 1  # that chunk only: the rest came from memory
    assert (job.status, job.imported_rows, job.failed_rows) == ("done", 496, 4)
    assert sorted((line, field) for line, field, _ in job.errors) == sorted(
        _expected_crossing_errors() + [(262, "级别")])
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Person)) == 496
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Qualification).where(
        Qualification.person_id == known[261].id)) == 2
    assert [e for e in job.errors if e[0] != 0 and e[1] == "文件"] == []


def test_sqlite_pages_held_back_by_an_import_are_written_back(app_ctx, tmp_path):
    """SQLite: the import's commits skip the automatic WAL checkpoint; the pages are copied
    into the database file when the job ends, and pooled connections are back to the
    default checkpoint interval."""
    if db.engine.dialect.name != "sqlite":
        import pytest
        pytest.skip("SQLite's WAL checkpoints")
    actor = _actor(app_ctx)
    job = import_file(actor, str(write_csv(tmp_path, qual_rows(300, start=7000))), "q.csv")
    assert job.imported_rows == 300
    db.session.remove()
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 1000
    # the database file alone (WAL ignored) already holds the imported rows
    import sqlite3
    main_file = sqlite3.connect(f"file:{db.engine.url.database}?immutable=1", uri=True)
    try:
        assert main_file.execute("SELECT count(*) FROM qualification").fetchone()[0] == 300
    finally:
        main_file.close()


def test_an_sqlite_job_is_finished_before_its_pages_are_written_back(app_ctx, tmp_path,
                                                                      monkeypatch):
    """SQLite: none of the job's commits — the chunks' nor the one that shows it finished —
    copies WAL pages into the database file (with a pooled connection checkpointing at every
    page, any of them would); write_back_wal() afterwards does, once."""
    if db.engine.dialect.name != "sqlite":
        import pytest
        pytest.skip("SQLite's WAL checkpoints")
    import sqlite3

    import services.registry_import as ri
    monkeypatch.setitem(app_ctx.config, "SQLITE_WAL_AUTOCHECKPOINT", 1)
    monkeypatch.setattr(ri, "CHUNK_ROWS", 100)
    actor = _actor(app_ctx)
    job_id = ri.start_job(actor, "q.csv").id
    ri.write_back_wal()  # the file holds the tables and the job before it runs
    db.session.remove()

    def in_database_file():
        main_file = sqlite3.connect(f"file:{db.engine.url.database}?immutable=1", uri=True)
        try:
            return main_file.execute(
                "SELECT count(*) FROM qualification").fetchone()[0], main_file.execute(
                "SELECT status FROM import_job WHERE id = ?", (job_id,)).fetchone()
        finally:
            main_file.close()

    job = ri.run_job(actor, job_id, str(write_csv(tmp_path, qual_rows(300, start=9000))))
    assert (job.status, job.imported_rows) == ("done", 300)
    assert in_database_file() == (0, ("running",))
    ri.write_back_wal()
    assert in_database_file() == (300, ("done",))


def test_imported_qualifications_are_seen_where_their_persons_are(app_ctx, tmp_path,
                                                                  monkeypatch):
    """qualification_region after an import agrees with the jurisdiction rule: new persons by
    their 身份证号 area, a person of the register also where he is registered."""
    import services.registry_import as ri
    from models.registry import QualificationRegion
    from services.registry import person_id_in_jurisdiction
    monkeypatch.setattr(ri, "CHUNK_ROWS", 5)
    actor = _actor(app_ctx)
    known_id = F.id_number(area="110105", birth=dt.date(1980, 2, 3), seq=11)
    known = F.person(name="京籍晋医", id_no=known_id, birth=dt.date(1980, 2, 3))
    F.registration(known, F.institution(region_code="140105"))
    rows = qual_rows(12, start=8000)                     # area 140100
    rows[7][:4] = ["京籍晋医", known_id, "男", "1980-02-03"]
    rows[7][6] = "中医"
    job = import_file(actor, str(write_csv(tmp_path, rows)), "q.csv")
    assert (job.imported_rows, job.failed_rows) == (12, 0), job.errors
    for prefix in ("14", "1401", "11", "1101", "31"):
        stored = set(db.session.scalars(sa.select(QualificationRegion.qualification_id).where(
            QualificationRegion.region_code == prefix)))
        rule = set(db.session.scalars(sa.select(Qualification.id).where(
            person_id_in_jurisdiction(Qualification.person_id, prefix))))
        assert stored == rule, prefix
    imported_known = db.session.scalar(sa.select(Qualification.id).where(
        Qualification.code == rows[7][4]))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(QualificationRegion).where(
        QualificationRegion.qualification_id == imported_known,
        QualificationRegion.region_code.in_(["14", "1401", "11", "1101"]))) == 4


def test_pipeline_chunks_grow_then_shrink_towards_the_end_of_the_file():
    """Chunks handed from the checking side to the inserting side start short, grow to
    CHUNK_ROWS and, when the file's row count is known, shrink towards its end, so that
    neither side works alone for long; every row is in exactly one chunk, in order."""
    import services.registry_import as ri
    chunks = list(ri._chunks(iter(range(20_000)), first=500, total=20_000))
    sizes = [len(c) for c in chunks]
    assert [x for c in chunks for x in c] == list(range(20_000))
    assert sizes[0] == 500 and max(sizes) <= ri.CHUNK_ROWS
    top = sizes.index(max(sizes))
    assert sizes[:top + 1] == sorted(sizes[:top + 1])            # growing …
    assert sizes[top:] == sorted(sizes[top:], reverse=True)      # … then shrinking
    assert sizes[-1] <= 500
    # without a row count (or a first size) the chunks only grow, or are all CHUNK_ROWS
    n = ri.CHUNK_ROWS
    assert [len(c) for c in ri._chunks(iter(range(2 * n + 7)))] == [n, n, 7]
    assert sum(len(c) for c in ri._chunks(iter(range(7)), first=500, total=7)) == 7
