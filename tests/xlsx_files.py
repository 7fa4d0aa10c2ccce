"""Workbooks laid out as Excel and WPS save them, for the xlsx reader's and the import's
tests (openpyxl's writer uses inline strings only and no zh-CN formats)."""
import zipfile

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006/relationships"


def make_xlsx(path, sheet_data, *, shared=None, styles=None, workbook_pr="", dimension=None,
              prefix="", sheets_before="", replace=None):
    """A workbook as Excel lays it out, its first sheet's <sheetData> content given as XML
    (with `prefix` on every SpreadsheetML element name, as some writers do)."""
    p = f"{prefix}:" if prefix else ""
    xmlns = f'xmlns:{prefix}="{MAIN}"' if prefix else f'xmlns="{MAIN}"'
    dim = f'<{p}dimension ref="{dimension}"/>' if dimension else ""
    rels = [f'<Relationship Id="rId1" Type="{REL}/worksheet" Target="worksheets/sheet1.xml"/>',
            f'<Relationship Id="rId9" Type="{REL}/chartsheet" Target="chartsheets/c1.xml"/>']
    parts = {
        "_rels/.rels": f'<Relationships xmlns="{PKG}"><Relationship Id="rId1" '
                       f'Type="{REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<{p}workbook {xmlns} xmlns:r="{REL}">{workbook_pr}<{p}sheets>'
                           f'{sheets_before}<{p}sheet name="导入" sheetId="1" r:id="rId1"/>'
                           f'</{p}sheets></{p}workbook>',
        "xl/worksheets/sheet1.xml": f'<?xml version="1.0" encoding="UTF-8"?>\n<{p}worksheet '
                                    f'{xmlns}>{dim}<{p}sheetData>{sheet_data}</{p}sheetData>'
                                    f'<{p}pageMargins left="0.7"/></{p}worksheet>',
    }
    if shared is not None:
        rels.append(f'<Relationship Id="rId2" Type="{REL}/sharedStrings" '
                    f'Target="sharedStrings.xml"/>')
        parts["xl/sharedStrings.xml"] = f'<sst xmlns="{MAIN}">{shared}</sst>'
    if styles is not None:
        rels.append(f'<Relationship Id="rId3" Type="{REL}/styles" Target="/xl/styles.xml"/>')
        parts["xl/styles.xml"] = f'<styleSheet xmlns="{MAIN}">{styles}</styleSheet>'
    parts["xl/_rels/workbook.xml.rels"] = f'<Relationships xmlns="{PKG}">{"".join(rels)}' \
                                          f'</Relationships>'
    parts.update(replace or {})
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in parts.items():
            z.writestr(name, text)
    return path
