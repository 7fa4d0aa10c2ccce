"""services.xlsx_rows: the import's streaming reader of an .xlsx workbook's first sheet —
the same values openpyxl reads, the parts Excel and WPS write that openpyxl's writer does
not (shared strings, rich and phonetic runs, prefixed names, zh-CN built-in date formats),
and files that are not workbooks refused with XlsxError."""
import datetime as dt
import zipfile

import openpyxl
import pytest

from services.xlsx_rows import XlsxError, declared_row_count, iter_sheet_rows
from tests.xlsx_files import MAIN, make_xlsx


def test_values_are_those_openpyxl_reads(tmp_path):
    """A workbook written by openpyxl (inline strings, a date style, gaps, a second sheet):
    every row as openpyxl's read-only reader gives it, with the sheet's row numbers."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["姓名", "身份证号", "出生日期", "获得年度", "分数", "在职"])
    ws.append(["张三", "11010119800101001X", dt.datetime(1980, 1, 1), 2010, 92.5, True])
    ws.append(["李四", None, dt.datetime(1975, 12, 31), 1999, -3, False])
    ws["C5"] = "第五行"  # row 4 blank, A5–B5 empty
    ws["H6"] = 1e-05
    ws["B7"] = "a & b < c"
    wb.create_sheet("其他")["A1"] = "不读"
    path = tmp_path / "book.xlsx"
    wb.save(path)

    ours = list(iter_sheet_rows(path))
    ref = openpyxl.load_workbook(path, read_only=True, data_only=True).worksheets[0]
    expected = []
    for number, row in enumerate(ref.iter_rows(values_only=True), start=1):
        values = list(row)
        while values and values[-1] is None:
            values.pop()
        if values:
            expected.append((number, values))
    assert ours == expected
    assert [n for n, _ in ours] == [1, 2, 3, 5, 6, 7]
    assert ours[1][1][2] == dt.datetime(1980, 1, 1) and ours[1][1][5] is True
    assert ours[4][1] == [None] * 7 + [1e-05]


def test_shared_strings_rich_and_phonetic_runs_and_entities(tmp_path):
    shared = ('<si><t>姓名</t></si>'
              '<si><r><rPr><b/></rPr><t>王</t></r><r><t xml:space="preserve">小明 </t></r>'
              '<rPh sb="0" eb="1"><t>ワン</t></rPh></si>'
              '<si><t>A &amp; B &lt;C&gt; &#x4E2D;</t></si>')
    rows = ('<row r="1"><c r="A1" t="s"><v>0</v></c></row>\n'
            '<row r="2">\n  <c r="A2" t="s"><v>1</v></c>\n  <c r="C2" t="s"><v>2</v></c>\n'
            '  <c r="D2" t="inlineStr"><is><r><t>内</t></r><r><t>联</t></r>'
            '<rPh><t>ない</t></rPh></is></c>\n'
            '  <c r="E2" t="str"><f>CONCAT("x","y")</f><v>xy</v></c>'
            '<c r="F2" t="e"><v>#N/A</v></c><c r="G2" t="b"><v>1</v></c>'
            '<c r="H2"><f>1+1</f></c><c r="I2" s="0"><v>  7 </v></c></row>\n')
    path = make_xlsx(tmp_path / "excel.xlsx", rows, shared=shared)
    assert list(iter_sheet_rows(path)) == [
        (1, ["姓名"]),
        (2, ["王小明 ", None, "A & B <C> 中", "内联", "xy", "#N/A", True, None, 7]),
    ]


def test_dates_by_builtin_custom_and_zh_cn_formats_and_the_1904_calendar(tmp_path):
    """出生日期 as Chinese Excel saves it: id 31 (yyyy年m月d日) has no numFmt entry."""
    styles = ('<numFmts count="1"><numFmt numFmtId="176" formatCode="yyyy/mm/dd"/></numFmts>'
              '<cellStyleXfs count="1"><xf numFmtId="0"/></cellStyleXfs>'
              '<cellXfs count="5"><xf numFmtId="0"/><xf numFmtId="14"/><xf numFmtId="176"/>'
              '<xf numFmtId="31"/><xf numFmtId="4"/></cellXfs>')
    row = ('<row r="1"><c r="A1" s="1"><v>29221</v></c><c r="B1" s="2"><v>29222</v></c>'
           '<c r="C1" s="3"><v>29223</v></c><c r="D1" s="4"><v>29224</v></c>'
           '<c r="E1" t="d"><v>1980-01-05T00:00:00</v></c></row>')
    path = make_xlsx(tmp_path / "dates.xlsx", row, styles=styles)
    assert list(iter_sheet_rows(path)) == [(1, [
        dt.datetime(1980, 1, 1), dt.datetime(1980, 1, 2), dt.datetime(1980, 1, 3), 29224,
        dt.datetime(1980, 1, 5)])]
    path = make_xlsx(tmp_path / "mac.xlsx", row, styles=styles,
                     workbook_pr='<workbookPr date1904="1"/>')
    assert list(iter_sheet_rows(path))[0][1][0] == dt.datetime(1984, 1, 2)


def test_prefixed_names_cells_and_rows_without_references(tmp_path):
    rows = ('<x:row><x:c t="inlineStr"><x:is><x:t>甲</x:t></x:is></x:c><x:c><x:v>1</x:v></x:c>'
            '</x:row><x:row><x:c r="C2"><x:v>3</x:v></x:c><x:c><x:v>4.5</x:v></x:c></x:row>')
    path = make_xlsx(tmp_path / "prefixed.xlsx", rows, prefix="x", dimension="A1:D2",
                     sheets_before='<x:sheet name="图" sheetId="9" r:id="rId9"/>')
    assert list(iter_sheet_rows(path)) == [(1, ["甲", 1]), (2, [None, None, 3, 4.5])]
    assert declared_row_count(path) == 2


def test_declared_row_count_is_read_without_the_cells(tmp_path):
    path = make_xlsx(tmp_path / "dim.xlsx", '<row r="1"><c r="A1"><v>1</v></c></row>',
                     dimension="A1:M20001")
    assert declared_row_count(path) == 20001  # as declared, though one row is there
    assert declared_row_count(make_xlsx(tmp_path / "nodim.xlsx", "")) is None


@pytest.mark.parametrize("content", [
    b"not a workbook",
    b"PK\x03\x04 truncated",
])
def test_a_file_that_is_not_a_workbook_is_refused(tmp_path, content):
    path = tmp_path / "bad.xlsx"
    path.write_bytes(content)
    with pytest.raises(XlsxError):
        list(iter_sheet_rows(path))
    with pytest.raises(XlsxError):
        declared_row_count(path)


def test_malformed_parts_are_refused(tmp_path):
    no_book = tmp_path / "nobook.xlsx"
    with zipfile.ZipFile(no_book, "w") as z:
        z.writestr("hello.txt", "hi")
    bomb = ('<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
            f'<sst xmlns="{MAIN}"><si><t>&b;</t></si></sst>')
    cases = {
        "nobook": no_book,
        "unclosed": make_xlsx(tmp_path / "unclosed.xlsx", '<row r="1"><c r="A1"><v>1</v>'),
        "bad index": make_xlsx(tmp_path / "index.xlsx", '<row><c t="s"><v>5</v></c></row>',
                               shared="<si><t>only</t></si>"),
        "bad number": make_xlsx(tmp_path / "number.xlsx", '<row><c><v>1,5</v></c></row>'),
        "bad reference": make_xlsx(tmp_path / "ref.xlsx", '<row><c r="1A"><v>1</v></c></row>'),
        "beyond XFD": make_xlsx(tmp_path / "wide.xlsx", '<row><c r="XFE1"><v>1</v></c></row>'),
    }
    cases["entity"] = make_xlsx(tmp_path / "entity.xlsx", '<row><c t="s"><v>0</v></c></row>',
                                shared="", replace={"xl/sharedStrings.xml": bomb})
    for name, path in cases.items():
        with pytest.raises(XlsxError):
            list(iter_sheet_rows(path))
