"""The benchmark run: build or reuse the data set, discover the pages, measure each against
its raw SQL and the stock Flask-Admin peer, then throughput, login, activation and import."""
import datetime as dt
import json
import platform
import time
from pathlib import Path

import sqlalchemy as sa

from .appsetup import ROOT, create_bench_app, signed_in_client, stock_models_for
from .measure import (SqlRecorder, machine_summary, measure_get, merge_rounds, replay_raw,
                      row_statements, steady_summary)

SCALES = {
    "tiny": (6000, 300),
    "small": (50000, 5000),
    "medium": (500000, 100000),
    "national": (4800000, 1000000),
}
# QUALITY.md targets (p95 ms server time at national scale)
TARGET_ORG_LIST = 30
TARGET_GOV_LIST = 50
TARGET_PHYSICIAN = 20


def log(*a):
    print(*a, flush=True)


# ---- data set ---------------------------------------------------------------------------

def ensure_data(app, physicians, institutions, loader_choice="auto", rebuild=False) -> dict:
    from models import db
    from seed.reference import load_reference

    from . import loader
    info = {"physicians_requested": physicians, "institutions_requested": institutions}
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            # a national build inserts into indexes with random keys (blind index, names):
            # give the loading connections 1 GB of page cache instead of SQLite's 2 MB
            sa.event.listen(db.engine, "connect", _big_sqlite_cache)
            db.engine.dispose()
        if rebuild:
            log("dropping bench tables …")
            db.drop_all()
        db.create_all()
        have = db.session.scalar(sa.text("SELECT COUNT(*) FROM person"))
        if have and have >= physicians:
            log(f"reusing data set ({have:,} persons)")
            info["loader"] = "reused"
            db.session.remove()
            added = bring_schema_up_to_models(db)
            if added is None:
                log("data set older than the columns it would need filled: rebuilding")
                db.drop_all()
                db.create_all()
                have = 0
            elif added:
                log(f"data set brought up to the models: {', '.join(added)}")
        if not (have and have >= physicians):
            if have:
                log("partial data set: rebuilding")
                db.session.remove()
                db.drop_all()
                db.create_all()
            load_reference()
            db.session.commit()
            use_seed = loader_choice == "seed" or (loader_choice == "auto" and _seed_scale_ready())
            t0 = time.perf_counter()
            if use_seed:
                from seed.scale import build_scale
                log(f"building with seed.scale.build_scale({physicians:,}, {institutions:,}) …")
                build_scale(physicians=physicians, institutions=institutions, batch=20000,
                            echo=log)
                db.session.commit()
                info["loader"] = "seed.scale"
            else:
                log(f"building with bench.loader ({physicians:,} physicians, "
                    f"{institutions:,} institutions) …")
                loader.build(physicians, institutions, echo=log)
                info["loader"] = "bench.loader"
            info["build_seconds"] = round(time.perf_counter() - t0, 1)
            log(f"data set built in {info['build_seconds']} s")
        # ~5,000 valid registrations in one institution (the loader puts 5,000 there, 6 %
        # of them not valid); a data set from `flask seed scale` is topped up to that
        big = loader.top_up_big_institution(4500 if physicians >= 10000 else physicians // 3,
                                            echo=log)
        info["big_institution_id"] = big
        info["enriched"] = loader.enrich(big, echo=log)
        from models.registry import index_bulk_load
        t0 = time.perf_counter()
        with db.engine.begin() as conn:  # rows the loaders wrote directly
            index_bulk_load(conn)
        log(f"record regions (资格, 考核, 信用) and persons in several provinces indexed in "
            f"{time.perf_counter() - t0:.1f} s")
        info["users"] = loader.ensure_users(big)
        from models.statistics import JurisdictionTally
        if db.session.scalar(sa.select(JurisdictionTally.id).limit(1)) is None:
            from services.gov_statistics import refresh_tallies
            t0 = time.perf_counter()
            refresh_tallies()
            info["stats_refresh_seconds"] = round(time.perf_counter() - t0, 1)
            log(f"statistics tallies counted in {info['stats_refresh_seconds']} s")
        for t in ("person", "registration", "institution", "qualification",
                  "physician_account", "application", "assessment", "credit_record", "filing",
                  "legacy_site"):
            info[f"rows_{t}"] = db.session.scalar(sa.text(f"SELECT COUNT(*) FROM {t}"))
        info["big_institution_valid"] = db.session.scalar(sa.text(
            "SELECT COUNT(*) FROM registration WHERE institution_id = :i AND status = 'valid'"),
            {"i": big})
        info["search_name"] = db.session.scalar(sa.text(
            "SELECT p.name FROM person p JOIN registration r ON r.person_id = p.id "
            "WHERE r.institution_id = :i ORDER BY p.id LIMIT 1"), {"i": big})
        db.session.remove()
        if db.engine.dialect.name == "postgresql":
            info["maintenance_seconds"] = maintain_postgresql(db.engine)
            log(f"PostgreSQL maintenance (autovacuum thresholds, VACUUM (ANALYZE)) in "
                f"{info['maintenance_seconds']} s")
        if sa.event.contains(db.engine, "connect", _big_sqlite_cache):
            # measure with SQLite's default cache, as the app is served
            sa.event.remove(db.engine, "connect", _big_sqlite_cache)
            db.engine.dispose()
    return info


def bring_schema_up_to_models(db) -> list[str]:
    """A reused data set was built with create_all by an older version: add the columns and
    indexes the models have gained since (what the migrations do for a real database), fill
    the derived columns, then build the indexes (and drop those the models replaced). Returns
    what was added ("-name" for a dropped index), or None (nothing
    changed) when a missing column is one this function cannot fill: rebuild then."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from alembic.operations import Operations

    from models.registry import (PERSON_COPIES, fill_filing_registration_institutions,
                                 fill_registration_person_copies, fill_registration_scope_codes)
    fillers = {f"registration.{copy}": fill_registration_person_copies
               for copy in PERSON_COPIES.values()}
    fillers["registration.scope_codes"] = fill_registration_scope_codes
    fillers["filing.registration_institution_id"] = fill_filing_registration_institutions
    added = []
    with db.engine.begin() as conn:
        ctx = MigrationContext.configure(conn)
        diffs = [d for d in compare_metadata(ctx, db.metadata) if isinstance(d, tuple)]
        missing = {f"{d[2]}.{d[3].name}" for d in diffs if d[0] == "add_column"}
        if missing - set(fillers):
            return None
        op = Operations(ctx)
        new_tables = set()
        for kind, *rest in diffs:
            if kind == "add_table":  # the models' own table, with its indexes
                db.metadata.tables[rest[0].name].create(conn)
                new_tables.add(rest[0].name)
                added.append(rest[0].name)
        for kind, *rest in diffs:
            if kind == "add_column":
                _schema, table, column = rest
                op.add_column(table, column._copy())
                added.append(f"{table}.{column.name}")
        for fill in {fillers[column] for column in added if column in fillers}:
            fill(conn)
        for kind, *rest in diffs:
            if kind == "add_index" and rest[0].table.name not in new_tables:
                index = rest[0]
                index.create(conn)
                added.append(index.name)
        for kind, *rest in diffs:
            if kind == "remove_index" and rest[0].table.name in db.metadata.tables:
                # one the models replaced (by a wider one just built)
                op.drop_index(rest[0].name, table_name=rest[0].table.name)
                added.append(f"-{rest[0].name}")
        for kind, *rest in diffs:
            if kind == "remove_fk" and rest[0].table.name in db.metadata.tables:
                # a key the models no longer have (SQLite rebuilds the table for it)
                table = db.metadata.tables[rest[0].table.name]
                with op.batch_alter_table(table.name, table_kwargs=dict(
                        table.dialect_kwargs)) as batch_op:
                    batch_op.drop_constraint(rest[0].name, type_="foreignkey")
                added.append(f"-{rest[0].name}")
        # a value the models' code now writes differently (migration 5e2b7c9d1a30); the
        # conversion rewrites every row in one statement, so the first person tells (a filter
        # on length() would read the whole table at every start)
        if conn.exec_driver_sql("SELECT length(id_number_hash) FROM person ORDER BY id LIMIT 1"
                                ).scalar() == 64:
            from models.identity import area_first_blind_indexes
            area_first_blind_indexes(conn)
            added.append("blind indexes: area first")
    if "blind indexes: area first" in added and db.engine.dialect.name == "postgresql":
        # every row was rewritten: the table and its indexes as a fresh build has them
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM FULL person, physician_account")
    return added


def maintain_postgresql(engine) -> float:
    """Measure a maintained database: the big tables get the autovacuum thresholds the
    migrations give them (a data set built earlier may lack them) and one VACUUM (ANALYZE)
    does what autovacuum would have done with the rows earlier bench runs changed (their
    pages otherwise stay without the all-visible bit that index-only scans need)."""
    from models.maintenance import BIG_TABLES, autovacuum_sql
    t0 = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in BIG_TABLES:
            conn.exec_driver_sql(autovacuum_sql(table))
        conn.exec_driver_sql("VACUUM (ANALYZE)")
    return round(time.perf_counter() - t0, 1)


def _big_sqlite_cache(dbapi_conn, _record):
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA cache_size=-1000000")
    cur.close()


def _seed_scale_ready() -> bool:
    import inspect

    import seed.scale
    src = inspect.getsource(seed.scale)
    return "raise NotImplementedError" not in src.split("def build_scale", 1)[-1][:400]


# ---- page discovery ---------------------------------------------------------------------

def console_views(app):
    """(admin, view) for every view of the /org/ and /gov/ consoles."""
    for admin in app.extensions.get("admin", []):
        if admin.endpoint not in ("org", "gov"):
            continue
        for view in admin._views:
            yield admin, view


def user_for_view(view, users):
    from models.enums import ConsoleRole
    roles = tuple(getattr(view, "allowed_roles", ()) or ())
    for role, key in [(ConsoleRole.INSTITUTION_ADMIN, "bench_org"),
                      (ConsoleRole.REVIEWER, "bench_gov"),
                      (ConsoleRole.SYSADMIN, "bench_sysadmin"),
                      (ConsoleRole.AUDITOR, "bench_auditor")]:
        if role in roles:
            return key
    return "bench_org" if view.endpoint.startswith("org") else "bench_gov"


def discover_pages(app, info):
    """Every list and index page of the consoles, plus the physician pages."""
    from flask_admin.model import BaseModelView

    pages = []
    for admin, view in console_views(app):
        who = user_for_view(view, info["users"])
        area = admin.endpoint
        url = view.url.rstrip("/") + "/"
        target = TARGET_ORG_LIST if area == "org" else TARGET_GOV_LIST
        if not isinstance(view, BaseModelView):
            if who == "bench_gov":
                # approvals and other per-authority pages: the big hospital's commission
                who = "bench_gov_city"
            pages.append({"name": f"{view.endpoint} (index)", "url": url, "user": who,
                          "target": target, "endpoint": view.endpoint})
            continue
        table = view.model.__tablename__
        rows = (info["big_institution_valid"] if area == "org"
                else info.get(f"rows_{table}") or _count(app, table))
        page_size = view.page_size or 20
        deep = max(1, rows // page_size - 2)
        stock = f"/stock/{table}/"
        stock_args = {}
        if area == "org" and table == "registration":
            stock_args["filter_institution"] = info["big_institution_id"]
        base = {"user": who, "target": target, "endpoint": view.endpoint, "table": table,
                "stock": stock, "stock_args": stock_args}
        pages.append(dict(base, name=f"{view.endpoint} page 1", url=url))
        keyset = (area == "gov" and getattr(view, "keyset_pager", False)
                  and view.column_default_sort == ("id", True))
        if keyset:
            # the pager's 下一页 link carries the id of the previous page's last row: the
            # deep page a user reaches by paging (the stock peer pays the OFFSET)
            after = _id_at(app, table, deep * page_size - 1)
            pages.append(dict(base, name=f"{view.endpoint} deep page {deep} (key)",
                              url=f"{url}?page={deep}&after={after}", stock_page=deep))
            limit = view.max_offset_page
            if deep > limit:
                pages.append(dict(base, name=f"{view.endpoint} page {limit + 1} by number",
                                  url=f"{url}?page={limit}", stock_page=limit))
        else:
            pages.append(dict(base, name=f"{view.endpoint} deep page {deep}",
                              url=f"{url}?page={deep}", stock_page=deep))
        if view.column_sortable_list:
            pages.append(dict(base, name=f"{view.endpoint} sorted (col 0)", url=f"{url}?sort=0",
                              stock=None))
        if view.column_searchable_list:
            pages.append(dict(base, name=f"{view.endpoint} search name",
                              url=f"{url}?search={info['search_name']}",
                              stock_search=info["search_name"]))
        # a provincial commission's view of the same list (prefix scope on region codes)
        if area == "gov" and who == "bench_gov":
            pages.append(dict(base, name=f"{view.endpoint} page 1 (provincial reviewer)",
                              url=url, user="bench_gov_prov", stock=None))
    # physician pages: every argument-free GET route of the physician site
    skip = ("login", "logout", "register", "recover", "captcha", "static", "activate", "verify",
            "forgot", "reset")
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("portal.") or rule.arguments or "GET" not in rule.methods:
            continue
        if any(s in rule.endpoint for s in skip):
            continue
        pages.append({"name": f"{rule.endpoint}", "url": rule.rule, "user": "physician",
                      "target": TARGET_PHYSICIAN, "endpoint": rule.endpoint})
    return pages


def _id_at(app, table, offset):
    from models import db
    with app.app_context():
        t = sa.table(table, sa.column("id"))
        value = db.session.scalar(sa.select(t.c.id).order_by(t.c.id.desc()).limit(1)
                                  .offset(max(0, offset)))
        db.session.remove()
        return value or 0


def _count(app, table):
    from models import db
    with app.app_context():
        n = db.session.scalar(sa.text(f"SELECT COUNT(*) FROM {table}"))
        db.session.remove()
        return n


def stock_url(app, page, info):
    from .stock import filter_arg
    if not page.get("stock"):
        return None
    args = []
    if page.get("stock_args", {}).get("filter_institution"):
        view = _stock_view(app, page["table"])
        arg = filter_arg(view, "institution_id") if view else None
        if arg:
            args.append(f"{arg}={page['stock_args']['filter_institution']}")
    if page.get("stock_page"):
        args.append(f"page={page['stock_page']}")
    if page.get("stock_search"):
        args.append(f"search={page['stock_search']}")
    return page["stock"] + ("?" + "&".join(args) if args else "")


def _stock_view(app, table):
    for admin in app.extensions.get("admin", []):
        if admin.endpoint == "stock":
            for v in admin._views:
                if getattr(v, "model", None) is not None and v.model.__tablename__ == table:
                    return v
    return None


# ---- the run ----------------------------------------------------------------------------

def _data_set(args):
    physicians, institutions = SCALES[args.scale]
    if args.physicians:
        physicians = args.physicians
    if args.institutions:
        institutions = args.institutions
    instance = Path(args.instance or ROOT / "instance" / "bench").resolve()
    instance.mkdir(parents=True, exist_ok=True)
    url = args.database_url or f"sqlite:///{instance / f'bench_{args.scale}.sqlite3'}"
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    if url.startswith("postgresql"):
        _create_pg_database(url)
    app = create_bench_app(url, instance, stock_models_for)
    return app, physicians, institutions, instance, url


def build_only(args) -> dict:
    app, physicians, institutions, _instance, _url = _data_set(args)
    info = ensure_data(app, physicians, institutions, args.loader, args.rebuild)
    info.pop("users", None)
    return info


def run(args) -> dict:
    app, physicians, institutions, instance, url = _data_set(args)
    started = dt.datetime.now(dt.timezone.utc)
    info = ensure_data(app, physicians, institutions, args.loader, args.rebuild)
    from models import db
    with app.app_context():
        engine = db.engine
        dialect = engine.dialect.name
    recorder = SqlRecorder(engine)
    clients = {}

    def client_for(who):
        if who not in clients:
            uid = info["users"].get(who)
            kind = "physician" if who == "physician" else "console"
            clients[who] = signed_in_client(app, kind, uid)
        return clients[who]

    results = {"meta": {"started": started.isoformat(timespec="seconds"), "scale": args.scale,
                        "database": dialect, "python": platform.python_version(),
                        "machine": f"{platform.machine()} {_cpus()} CPUs",
                        "repeat": args.repeat, "rounds": max(1, min(args.rounds, args.repeat)),
                        "loadavg_start": _loadavg(),
                        **{k: v for k, v in info.items()
                                                  if k != "users"}},
               "pages": [], "throughput": [], "actions": []}
    pages = discover_pages(app, info)
    # measure in-process as gunicorn serves (gunicorn.conf.py tunes each worker the same way)
    from ops.tuning import tune_gc_for_serving
    tune_gc_for_serving()
    stock_client = app.test_client()
    pages = [p for p in pages if not args.only or args.only in p["name"]]
    # each page's requests are taken in rounds, every page once per round, so that the
    # requests of one page are spread over the whole run as a server's are: measured back to
    # back, a few seconds in which the machine ran slow (its speed varies by 2x from minute
    # to minute) fell on one page's samples and decided its p95
    rounds = max(1, min(args.rounds, args.repeat))
    per_round = [args.repeat // rounds + (1 if r < args.repeat % rounds else 0)
                 for r in range(rounds)]
    measured = {page["name"]: [] for page in pages}
    from . import actions
    # the approvals too: one (or more) after each round, each timed on its own
    approvals = actions.Approvals(app, info, actions.approval_count(args))
    approvals_per_round = -(-len(approvals.prepared) // rounds)
    for r, repeat in enumerate(per_round):
        log(f"· round {r + 1} of {rounds}: {repeat} requests per page")
        for page in pages:
            done = measured[page["name"]]
            if done and done[-1]["status"] != 200:
                continue
            done.append(measure_get(app, client_for(page["user"]), recorder, page["url"],
                                    repeat=repeat, warmup=3 if r == 0 else 0,
                                    budget_s=args.page_budget / rounds, probe=True))
        for _ in range(approvals_per_round):
            approvals.approve_next()
    results["machine"] = machine = machine_summary(
        [p for rounds_done in measured.values() for r in rounds_done
         for p in r["_samples"]["probe"]] + approvals.probes)
    for page in pages:
        log(f"· {page['name']}: {page['url']}")
        res = merge_rounds(measured[page["name"]])
        stmts = res.pop("_statements")
        samples = res.pop("_samples")
        res["steady"] = steady_summary(samples["times"], samples["probe"], machine["p50"])
        # in the order taken, round after round (a slow phase shows as a run of them)
        res["samples_ms"] = [round(t, 2) for t in samples["times"]]
        res["probe_ms"] = [round(p, 2) for p in samples["probe"]]
        res["rounds"] = len(measured[page["name"]])
        entry = {"page": page["name"], "url": page["url"], "target_p95": page["target"],
                 "ours": res}
        if res["status"] == 200 and stmts:
            entry["raw_sql"] = replay_raw(engine, row_statements(stmts), repeat=args.repeat)
        s_url = stock_url(app, page, info)
        if s_url and res["status"] == 200:
            sres = measure_get(app, stock_client, recorder, s_url,
                               repeat=max(5, args.repeat // 3), warmup=1,
                               budget_s=args.page_budget)
            sres.pop("_statements")
            sres.pop("_samples")
            sres["url"] = s_url
            entry["stock"] = sres
        _ratios(entry)
        results["pages"].append(entry)
        log("   " + _line(entry))
    recorder.close()

    results["actions"] = actions.run_all(app, info, args, log,
                                         measured={"approval": approvals.result(
                                             machine["p50"])})
    if not args.no_throughput:
        from .throughput import run_throughput
        results["throughput"] = run_throughput(app, url, instance, info, args, log)
    results["meta"]["loadavg_end"] = _loadavg()
    results["meta"]["finished"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    return results


def _create_pg_database(url):
    """Create the bench database on the server if it does not exist yet."""
    u = sa.make_url(url)
    admin = sa.create_engine(u.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"),
                            {"n": u.database}).scalar():
            conn.exec_driver_sql(f'CREATE DATABASE "{u.database}"')
    admin.dispose()


def _loadavg():
    import os
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def _cpus():
    import os
    return os.cpu_count()


def _ratios(entry):
    ours = entry["ours"]
    if entry.get("raw_sql") and entry["raw_sql"]["p50"]:
        entry["ratio_raw_p50"] = ours["p50"] / entry["raw_sql"]["p50"]
    if entry.get("stock") and entry["stock"].get("p50"):
        entry["stock_over_ours_p50"] = entry["stock"]["p50"] / ours["p50"]
    entry["meets_target"] = (ours["status"] == 200 and ours["p95"] is not None
                             and ours["p95"] <= entry["target_p95"])


def _line(e):
    o = e["ours"]
    s = e.get("stock")
    r = e.get("raw_sql")
    if o["p50"] is None:
        return f"HTTP {o['status']}: not measured"
    txt = f"{o['status']} p50 {o['p50']:.2f} ms p95 {o['p95']:.2f} ms, {o['statements']} SQL"
    if r:
        txt += f" | raw {r['p50']:.3f} ms"
    if s and s.get("p50") is not None:
        txt += f" | stock p50 {s['p50']:.1f} ms ({s['status']})"
    elif s:
        txt += f" | stock HTTP {s['status']}"
    return txt


def write_results(results, out_dir: Path):
    from .report import markdown
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "latest.json").write_text(json.dumps(results, ensure_ascii=False, indent=2,
                                                    default=str), encoding="utf-8")
    (out_dir / "latest.md").write_text(markdown(results), encoding="utf-8")
    tag = f"{results['meta']['scale']}_{results['meta']['database']}"
    (out_dir / f"{tag}.json").write_text(json.dumps(results, ensure_ascii=False, indent=2,
                                                    default=str), encoding="utf-8")
    (out_dir / f"{tag}.md").write_text(markdown(results), encoding="utf-8")
