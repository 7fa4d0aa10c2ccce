"""The first worksheet of an .xlsx workbook as a stream of (row number, cell values).

openpyxl's read-only reader builds a cell object per cell: the import's 20,000-row file of
13 columns took it 1.58–1.66 s as openpyxl writes it and 0.99–1.14 s as Excel writes it
(shared strings), more than the database needs to store the rows, so an xlsx import ran at
half a csv's rate. This reads the same parts with the standard library's expat parser, one
Python call per element start and per text node (the same files: 0.46–0.48 s and
0.43–0.45 s): the worksheet is parsed as it is decompressed (never whole), and openpyxl
supplies the rules for dates (is_date_format, from_excel, from_ISO8601). Values are those
openpyxl's read-only reader gives with data_only=True: str, int, float, bool, datetime; an
empty cell is None."""
import posixpath
import zipfile
import zlib
from xml.parsers import expat

from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format
from openpyxl.utils.cell import column_index_from_string
from openpyxl.utils.datetime import (CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900, from_excel,
                                     from_ISO8601)

__all__ = ["XlsxError", "iter_sheet_rows", "declared_row_count"]

MAX_COLUMNS = 16384  # Excel's last column, XFD
# the parts read whole (shared strings, styles, workbook, relationships): a file of the
# import's size has a few MB of them; past this it is not a file to import
MAX_PART_BYTES = 64 * 1024 * 1024
BLOCK = 1 << 16

# the zh-CN built-in number formats (ECMA-376 Part 1, 18.8.30) that Chinese Excel and WPS
# write by id alone, without a numFmt entry: openpyxl's table has only the locale-free ids,
# so a 出生日期 cell shown as 1980年1月1日 (id 31) would be read as the bare serial number
ZH_CN_FORMATS = {
    27: 'yyyy"年"m"月"', 28: 'm"月"d"日"', 29: 'm"月"d"日"', 30: "m-d-yy",
    31: 'yyyy"年"m"月"d"日"', 32: 'h"时"mm"分"', 33: 'h"时"mm"分"ss"秒"',
    34: '上午/下午h"时"mm"分"', 35: '上午/下午h"时"mm"分"ss"秒"', 36: 'yyyy"年"m"月"',
    50: 'yyyy"年"m"月"', 51: 'm"月"d"日"', 52: 'yyyy"年"m"月"', 53: 'm"月"d"日"',
    54: 'm"月"d"日"', 55: '上午/下午h"时"mm"分"', 56: '上午/下午h"时"mm"分"ss"秒"',
    57: 'yyyy"年"m"月"', 58: 'm"月"d"日"'}


class XlsxError(ValueError):
    """Not a workbook this reader can read (not a zip, a part missing or malformed …)."""


class _Stop(Exception):
    """Raised by a handler to end a parse early."""


def _parser():
    """An expat parser with namespaces as 'uri}local', text delivered in one piece per
    node where it fits the buffer, and no document type (an xlsx part never has one:
    refusing it rules out entity expansion)."""
    p = expat.ParserCreate(namespace_separator="}")
    p.buffer_text = True
    p.buffer_size = BLOCK
    p.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)

    def no_doctype(*_args):
        raise XlsxError("document type declaration in an xlsx part")
    p.StartDoctypeDeclHandler = no_doctype
    return p


def _feed(parser, archive, name, limit=None):
    """Parse the archive's part `name` block by block; at most `limit` bytes of it."""
    read = 0
    try:
        with archive.open(name) as fh:
            for block in iter(lambda: fh.read(BLOCK), b""):
                read += len(block)
                if limit is not None and read > limit:
                    raise XlsxError(f"{name} is larger than {limit} bytes")
                parser.Parse(block, False)
            parser.Parse(b"", True)
    except _Stop:
        pass


def _local(name):
    return name.rpartition("}")[2]


def _elements(archive, name, wanted):
    """[(local name, attributes by local name)] of the part's elements named in `wanted`."""
    found = []

    def start(tag, attrs):
        local = _local(tag)
        if local in wanted:
            found.append((local, {_local(k): v for k, v in attrs.items()}))
    p = _parser()
    p.StartElementHandler = start
    _feed(p, archive, name, MAX_PART_BYTES)
    return found


def _relationships(archive, part):
    """{relationship id: (type's last segment, target path in the archive)} of a part."""
    folder, base = posixpath.split(part)
    rels = posixpath.join(folder, "_rels", base + ".rels")
    if rels not in archive.NameToInfo:
        return {}
    out = {}
    for _, a in _elements(archive, rels, {"Relationship"}):
        target = a.get("Target", "")
        path = target.lstrip("/") if target.startswith("/") else posixpath.normpath(
            posixpath.join(folder, target))
        out[a.get("Id")] = (a.get("Type", "").rpartition("/")[2], path)
    return out


def _first_worksheet(archive):
    """(path of the first worksheet in the workbook's order, the workbook's relationships,
    whether its dates count from 1904)."""
    book = next((path for kind, path in _relationships(archive, "").values()
                 if kind == "officeDocument"), "xl/workbook.xml")
    rels = _relationships(archive, book)
    date1904 = False
    for local, a in _elements(archive, book, {"sheet", "workbookPr"}):
        if local == "workbookPr":
            date1904 = a.get("date1904", "false").lower() in ("1", "true")
            continue
        kind, path = rels.get(a.get("id"), (None, None))
        if kind == "worksheet":
            return path, rels, date1904
    raise XlsxError("the workbook has no worksheet")


def _part(rels, kind):
    return next((path for k, path in rels.values() if k == kind), None)


def _shared_strings(archive, path):
    """The shared string table: each <si>'s text, its runs joined, phonetic runs left out."""
    if not path or path not in archive.NameToInfo:
        return []
    strings, pieces = [], []
    taking = in_phonetic = False

    def start(tag, _attrs):
        nonlocal taking, in_phonetic
        local = _local(tag)
        if local == "t":
            taking = not in_phonetic
        elif local == "rPh":
            in_phonetic = True
            taking = False
        else:
            taking = False

    def end(tag):
        nonlocal taking, in_phonetic
        local = _local(tag)
        if local == "si":
            strings.append("".join(pieces))
            pieces.clear()
        elif local == "rPh":
            in_phonetic = False
        taking = False

    def text(data):
        if taking:
            pieces.append(data)
    p = _parser()
    p.StartElementHandler, p.EndElementHandler, p.CharacterDataHandler = start, end, text
    _feed(p, archive, path, MAX_PART_BYTES)
    return strings


def _date_styles(archive, path):
    """Indexes of the cell formats (cellXfs) whose number format shows a date or time."""
    if not path or path not in archive.NameToInfo:
        return frozenset()
    custom, formats, in_cell_xfs = {}, [], False

    def start(tag, attrs):
        nonlocal in_cell_xfs
        local = _local(tag)
        if local == "numFmt":
            custom[attrs.get("numFmtId")] = attrs.get("formatCode", "")
        elif local == "cellXfs":
            in_cell_xfs = True
        elif local == "xf" and in_cell_xfs:
            formats.append(attrs.get("numFmtId", "0"))

    def end(tag):
        nonlocal in_cell_xfs
        if _local(tag) == "cellXfs":
            in_cell_xfs = False
    p = _parser()
    p.StartElementHandler, p.EndElementHandler = start, end
    _feed(p, archive, path, MAX_PART_BYTES)

    def code(fmt_id):
        if fmt_id in custom:
            return custom[fmt_id]
        try:
            number = int(fmt_id)
        except ValueError:
            return ""
        return BUILTIN_FORMATS.get(number) or ZH_CN_FORMATS.get(number, "")
    return frozenset(str(i) for i, fmt_id in enumerate(formats) if is_date_format(code(fmt_id)))


def _open(path):
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise XlsxError(f"not an xlsx file: {exc}") from exc


def _column(ref):
    """0-based column of a cell reference such as 'B12'."""
    letters = ref.rstrip("0123456789")
    try:
        col = column_index_from_string(letters)
    except ValueError as exc:
        raise XlsxError(f"bad cell reference {ref!r}") from exc
    return col - 1


# the worksheet's elements the parse acts on, by local name
_OTHER, _CELL, _VALUE, _ROW, _PHONETIC, _RUN = range(6)
_CODES = {"c": _CELL, "v": _VALUE, "t": _VALUE, "row": _ROW, "rPh": _PHONETIC, "r": _RUN}


def iter_sheet_rows(path):
    """Yield (row number, [value of column A, B, …]) for each row of the first worksheet
    that has a cell, in file order; a missing cell is None. Raises XlsxError."""
    try:
        yield from _sheet_rows(path)
    except (zipfile.BadZipFile, KeyError, expat.ExpatError, ValueError, IndexError,
            OverflowError, zlib.error, EOFError, NotImplementedError, RuntimeError) as exc:
        if isinstance(exc, XlsxError):
            raise
        raise XlsxError(f"{type(exc).__name__}: {exc}") from exc


def _sheet_rows(path):
    archive = _open(path)
    with archive:
        sheet, rels, date1904 = _first_worksheet(archive)
        strings = _shared_strings(archive, _part(rels, "sharedStrings"))
        date_styles = _date_styles(archive, _part(rels, "styles"))
        epoch = CALENDAR_MAC_1904 if date1904 else CALENDAR_WINDOWS_1900
        if sheet not in archive.NameToInfo:
            raise XlsxError(f"worksheet {sheet} missing")

        # One Python call per element start and per text node, none per element end: the
        # calls are the parse's cost. A cell is [column, attributes, text]: text is taken
        # from a <v> or <t> start to the next element start (what follows a value's end in
        # a well-formed sheet is whitespace, which the conversion ignores); a row is
        # finished at the next <row> and at the end.
        codes, columns = {}, {}  # element name -> _CELL, _VALUE …; "AB" -> 27
        cells, done = [], []
        cell = None
        taking = in_phonetic = False
        row_number = next_column = 0

        def finish_row():
            # cells come in column order (ECMA-376): the last one's column is the width
            values = [None] * (cells[-1][0] + 1)
            filled = False
            for col, attrs, text in cells:
                if text is None:
                    continue
                kind = attrs.get("t")
                if kind is None or kind == "n":
                    text = text.strip()
                    if not text:
                        continue
                    value = float(text) if ("." in text or "E" in text or "e" in text) \
                        else int(text)
                    if attrs.get("s") in date_styles:
                        try:
                            value = from_excel(value, epoch)
                        except (OverflowError, ValueError):
                            value = "#VALUE!"  # as openpyxl: a date out of range
                elif kind == "s":
                    value = strings[int(text)]
                elif kind == "b":
                    value = text.strip() in ("1", "true")
                elif kind == "d":
                    value = from_ISO8601(text.strip())
                else:  # inlineStr, str (a formula's text), e (an error such as #N/A)
                    value = text
                if col >= len(values):  # a writer that broke the order
                    values.extend([None] * (col + 1 - len(values)))
                values[col] = value
                filled = True
            cells.clear()
            if filled:
                while values[-1] is None:
                    values.pop()
                done.append((row_number, values))

        def start(tag, attrs):
            nonlocal cell, taking, in_phonetic, row_number, next_column
            code = codes.get(tag)
            if code is None:
                code = codes[tag] = _CODES.get(tag[len(main):], _OTHER) \
                    if tag.startswith(main) else _OTHER
            if code == _CELL:
                ref = attrs.get("r")
                if ref:
                    col = columns.get(ref.rstrip("0123456789"))
                    if col is None:
                        col = columns[ref.rstrip("0123456789")] = _column(ref)
                        if col >= MAX_COLUMNS:
                            raise XlsxError(f"cell beyond column {MAX_COLUMNS}")
                else:
                    col = next_column
                next_column = col + 1
                cell = [col, attrs, None]
                cells.append(cell)
                taking = in_phonetic = False
            elif code == _VALUE:
                taking = cell is not None and not in_phonetic
            elif code == _ROW:
                if cells:
                    finish_row()
                number = attrs.get("r")
                row_number = int(number) if number else row_number + 1
                next_column = 0
                cell = None
                taking = False
            else:
                taking = False
                if code == _PHONETIC:
                    in_phonetic = True
                elif code == _RUN:
                    in_phonetic = False

        def text(data):
            if taking:
                before = cell[2]
                cell[2] = data if before is None else before + data

        main = ""

        def root(tag, _attrs):
            nonlocal main
            main = tag.rpartition("}")[0] + "}"  # transitional or strict SpreadsheetML
            p.StartElementHandler = start

        p = _parser()
        p.StartElementHandler, p.CharacterDataHandler = root, text
        with archive.open(sheet) as fh:
            for block in iter(lambda: fh.read(BLOCK), b""):
                p.Parse(block, False)
                if done:
                    yield from done
                    done.clear()
            p.Parse(b"", True)
        if cells:
            finish_row()
        yield from done


def declared_row_count(path):
    """The rows the first worksheet declares in its <dimension> (None if it has none):
    read from the sheet's first bytes, without parsing its cells. Raises XlsxError."""
    found = []

    def start(tag, attrs):
        local = _local(tag)
        if local == "dimension":
            found.append(attrs.get("ref", ""))
            raise _Stop
        if local == "sheetData":
            raise _Stop
    try:
        archive = _open(path)
        with archive:
            sheet, _rels, _ = _first_worksheet(archive)
            p = _parser()
            p.StartElementHandler = start
            _feed(p, archive, sheet)
    except (zipfile.BadZipFile, KeyError, expat.ExpatError, zlib.error, EOFError,
            NotImplementedError, RuntimeError) as exc:
        raise XlsxError(f"{type(exc).__name__}: {exc}") from exc
    if not found:
        return None
    first, _, last = found[0].partition(":")
    try:
        top = int(first.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ$").replace("$", ""))
        bottom = int((last or first).lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ$").replace("$", ""))
    except ValueError:
        return None
    return max(bottom - top + 1, 0)
