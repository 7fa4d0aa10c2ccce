"""Side-by-side summary of benchmark runs (e.g. SQLite and PostgreSQL at one scale):

    python -m bench.summary sqlite=bench/results/national_sqlite.json \
                            postgresql=bench/results/national_postgresql.json [--pages all]

Later files given for the same database override earlier ones page by page (a rerun of some
pages after a change). Prints Markdown: pages (p50 / p95 ms, ratio to the raw SQL and to stock
Flask-Admin, target met), actions and throughput."""
import argparse
import json

KEY_PAGES = [
    "org_main_physicians page 1", "org_main_physicians deep page", "org_main_physicians sorted",
    "org_filed_out page 1", "org_filed_in page 1", "org_legacy_sites page 1",
    "org_accounts page 1", "org_other_provinces page 1", "org_physician_departments",
    "org_applications_done", "org_statistics", "org_change_feed",
    "gov_registrations page 1", "gov_registrations deep page", "gov_registrations page 101",
    "gov_registrations search name", "gov_registrations page 1 (provincial",
    "gov_qualifications page 1", "gov_qualifications search name",
    "gov_qualifications page 1 (provincial", "gov_assessments page 1",
    "gov_assessments search name", "gov_credit search name", "gov_institutions page 1",
    "gov_institutions deep page", "gov_institutions page 1 (provincial", "gov_statistics",
    "gov_pending", "gov_approved", "portal.home", "portal.practice", "portal.applications",
]


def _load(specs):
    runs = {}
    for spec in specs:
        name, path = spec.split("=", 1)
        data = json.load(open(path))
        run = runs.setdefault(name, {"pages": {}, "actions": {}, "throughput": {},
                                     "meta": data["meta"]})
        for e in data["pages"]:
            run["pages"][e["page"]] = e
        for a in data.get("actions", []):
            run["actions"][a.get("action", "?")] = a
        for t in data.get("throughput", []):
            run["throughput"][t["label"]] = t
    return runs


def _fmt(v, nd=1):
    if v is None:
        return "–"
    return f"{v:,.{nd}f}"


def _page_cell(e):
    if not e or e["ours"].get("status") != 200:
        return "–", "–", "–", ""
    o = e["ours"]
    stock = e.get("stock") or {}
    ratio = e.get("stock_over_ours_p50")
    stock_txt = f"{_fmt(stock.get('p50'))} ({_fmt(ratio)}×)" if stock.get("p50") else "–"
    return (f"{_fmt(o['p50'])} / {_fmt(o['p95'])}", _fmt(e.get("ratio_raw_p50")), stock_txt,
            "yes" if e.get("meets_target") else "**no**")


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.summary")
    p.add_argument("runs", nargs="+", help="name=path.json (name: the database)")
    p.add_argument("--pages", default="key", choices=["key", "all"])
    args = p.parse_args(argv)
    runs = _load(args.runs)
    names = list(runs)
    all_pages = []
    for r in runs.values():
        for page in r["pages"]:
            if page not in all_pages:
                all_pages.append(page)
    if args.pages == "key":
        chosen = [pg for key in KEY_PAGES for pg in all_pages if pg.startswith(key)]
        chosen = list(dict.fromkeys(chosen))
    else:
        chosen = all_pages
    head = "| page | target p95 | " + " | ".join(
        f"{n} p50 / p95 | {n} ×raw | {n} stock p50 (stock ÷ ours) | {n} met" for n in names)
    print(head + " |")
    print("|---|---:|" + "---:|---:|---:|:-:|" * len(names))
    for page in chosen:
        target = next((r["pages"][page]["target_p95"] for r in runs.values()
                       if page in r["pages"]), "")
        cells = []
        for n in names:
            cells += _page_cell(runs[n]["pages"].get(page))
        print(f"| {page} | {target} | " + " | ".join(cells) + " |")
    print()
    print("| action | " + " | ".join(names) + " | target |")
    print("|---|" + "---:|" * len(names) + "---|")
    rows = [("login (p50 / one hash)", "login",
             lambda a: f"{_fmt(a.get('p50'))} / {_fmt(a.get('one_hash_p50'))} ms", "≈ one hash"),
            ("approval of one application p50 / p95", "approval",
             lambda a: f"{_fmt(a.get('p50'))} / {_fmt(a.get('p95'))} ms", "p95 ≤ 30 ms"),
            ("activation codes for 1,000 physicians", "activation codes",
             lambda a: f"{_fmt(a.get('seconds'), 2)} s", "≤ 1 s"),
            ("import of 20,000 qualification rows (csv)", "import",
             lambda a: f"{_fmt(a.get('rows_per_s'), 0)} rows/s", "≥ 20,000 rows/s"),
            ("import of 20,000 qualification rows (xlsx)", "xlsx import",
             lambda a: f"{_fmt(a.get('rows_per_s'), 0)} rows/s", "≥ 20,000 rows/s"),
            ("statistics refresh (cron)", "statistics refresh",
             lambda a: f"{_fmt(a.get('seconds'))} s", "–")]
    for label, key, fmt, target in rows:
        cells = []
        for n in names:
            a = next((v for k, v in runs[n]["actions"].items() if k.startswith(key)), None)
            cells.append(fmt(a) if a and "error" not in a else "–")
        print(f"| {label} | " + " | ".join(cells) + f" | {target} |")
    print()
    print("| throughput, gunicorn 2 workers | " + " | ".join(f"{n} req/s (worker RSS MB)"
                                                            for n in names) + " |")
    print("|---|" + "---:|" * len(names))
    labels = []
    for r in runs.values():
        for label in r["throughput"]:
            if label not in labels:
                labels.append(label)
    for label in labels:
        cells = []
        for n in names:
            t = runs[n]["throughput"].get(label)
            cells.append(f"{_fmt(t['req_per_s'])} ({_fmt(t.get('worker_rss_mb'), 0)})"
                         if t else "–")
        print(f"| {label} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
