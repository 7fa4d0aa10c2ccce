"""`flask seed reference`: regions (GB/T 2260 from python-stdnum's data), 执业范围, 诊疗科目,
education levels, titles, 民族, 注销/备案 reasons and the holiday calendar. Idempotent."""
import csv
import datetime as dt
import re
from pathlib import Path

import sqlalchemy as sa

from models import db
from models.enums import PhysicianCategory, RegionLevel
from models.reference import Holiday, PracticeScope, ReferenceItem, Region, TreatmentSubject

DATA = Path(__file__).parent / "data"

# Provinces that do not run electronic registration in the demo country (P4c). The real
# list changes over time; commissions edit the flag in the console.
NON_ELECTRONIC_PROVINCES = {"650000"}  # 新疆维吾尔自治区 (demo choice)


def read_csv(name: str):
    with open(DATA / name, encoding="utf-8") as fh:
        lines = [ln for ln in fh if not ln.startswith("#")]
    return list(csv.DictReader(lines))


def _stdnum_regions():
    """Yield (code, name, level, parent) for the current divisions in stdnum's cn/loc.dat."""
    import stdnum.cn
    path = Path(stdnum.cn.__file__).parent / "loc.dat"
    province_code = province_name = None
    pattern = re.compile(r'^(\s*)(\d+) \w+="(.*)"')
    for line in path.read_text(encoding="utf-8").splitlines():
        m = pattern.match(line)
        if not m:
            continue
        indent, digits, name = m.groups()
        years = re.match(r"^\[(\d*)-(\d*)\](.*)$", name)
        if years:
            if years.group(2):  # ended: no longer a current division
                continue
            name = years.group(3)
        if not indent:
            province_code, province_name = digits + "0000", name
            yield province_code, name, RegionLevel.PROVINCE, None
            continue
        code = province_code[:2] + digits
        if code == province_code:
            continue
        if code.endswith("00"):
            yield code, name, RegionLevel.CITY, province_code
        else:
            yield code, name, RegionLevel.COUNTY, code[:4] + "00"


def load_regions() -> int:
    existing = set(db.session.scalars(sa.select(Region.code)))
    rows = list(_stdnum_regions())
    codes = {r[0] for r in rows}
    names = {r[0]: r[1] for r in rows}
    new = []
    for code, name, level, parent in rows:
        if code in existing:
            continue
        if parent and parent not in codes:
            parent = code[:2] + "0000"
        full = name
        if level == RegionLevel.CITY:
            full = names[code[:2] + "0000"] + name
        elif level == RegionLevel.COUNTY:
            city = names.get(code[:4] + "00", "")
            full = names[code[:2] + "0000"] + ("" if city in ("市辖区", "县", "") else city) + name
        new.append({"code": code, "name": name, "full_name": full, "level": level,
                    "parent_code": parent,
                    "electronic_registration": code[:2] + "0000" not in NON_ELECTRONIC_PROVINCES})
    # parents first so the foreign key holds row by row
    order = {RegionLevel.PROVINCE: 0, RegionLevel.CITY: 1, RegionLevel.COUNTY: 2}
    new.sort(key=lambda r: order[r["level"]])
    if new:
        db.session.execute(sa.insert(Region), new)
    return len(new)


def _upsert_all(model, rows: list[dict], keys: tuple) -> int:
    added = 0
    for row in rows:
        obj = db.session.get(model, tuple(row[k] for k in keys) if len(keys) > 1 else row[keys[0]])
        if obj is None:
            db.session.add(model(**row))
            added += 1
        else:
            for k, v in row.items():
                setattr(obj, k, v)
    return added


def load_lists() -> dict:
    counts = {}
    cats = {c.value: c for c in PhysicianCategory}
    scopes, extra = [], {}
    for i, r in enumerate(read_csv("practice_scopes.csv")):
        # rows without an official code get a local one: <category>9<nn>; the catch-all
        # "其他专业" (57) is offered in every category as 57<category>
        targets = [r["category_code"]] if r["category_code"] else list(cats)
        for cat in targets:
            code = r["scope_code"]
            if not r["category_code"]:
                code = f"{code}{cat}"
            elif not code:
                extra[cat] = extra.get(cat, 0) + 1
                code = f"{cat}9{extra[cat]:02d}"
            scopes.append({"code": code, "category": cats[cat], "name": r["scope_name"],
                           "sort": i})
    counts["practice_scope"] = _upsert_all(PracticeScope, scopes, ("code",))
    subjects = [{"code": r["code"], "name": r["name"], "display_name": r["display_name"] or r["name"],
                 "level": int(r["level"]), "parent_code": r["parent_code"] or None}
                for r in read_csv("treatment_subjects.csv")]
    counts["treatment_subject"] = _upsert_all(TreatmentSubject, subjects, ("code",))
    items = []
    for i, r in enumerate(read_csv("education_levels.csv")):
        items.append({"kind": r["kind"], "code": r["code"], "name": r["name"],
                      "label": r.get("seed_label") or r["name"], "sort": i})
    for i, r in enumerate(read_csv("professional_titles.csv")):
        items.append({"kind": "title", "code": r["code"] or "000", "name": r["name"],
                      "label": r["name"], "sort": i})
    for i, r in enumerate(read_csv("ethnic_groups.csv")):
        items.append({"kind": "ethnic", "code": r["code"], "name": r["name"], "label": r["name"],
                      "sort": i})
    for i, r in enumerate(read_csv("status_reasons.csv")):
        items.append({"kind": {"cancel": "cancel_reason", "filing": "filing_reason",
                               "refuse": "refuse_reason"}[r["type"]],
                      "code": r["code"], "name": r["reason"], "label": r["reason"], "sort": i})
    counts["reference_item"] = _upsert_all(ReferenceItem, items, ("kind", "code"))
    days = [{"day": dt.date.fromisoformat(r["day"]), "is_workday": r["is_workday"] == "1",
             "name": r["name"]} for r in read_csv("holidays.csv")]
    counts["holiday"] = _upsert_all(Holiday, days, ("day",))
    return counts


def load_reference() -> dict:
    counts = {"region": load_regions()}
    db.session.flush()
    counts.update(load_lists())
    db.session.commit()
    return counts
