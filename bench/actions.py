"""Actions of QUALITY.md's table: login, approval of one application, activation codes for
1,000 physicians, import of qualification records. Each runs only if its service exists."""
import csv
import datetime as dt
import importlib
import re
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from ops.tuning import collect_between_requests

from .measure import machine_probe_ms, pct, steady_summary, summary


def _service(name):
    try:
        return importlib.import_module(f"services.{name}")
    except Exception as exc:  # not written yet, or broken: report, do not fail the run
        return exc


def run_all(app, info, args, log, measured: dict | None = None) -> list[dict]:
    """Every action's result; `measured` holds those already measured (by name)."""
    out = []
    for fn in (login, approval, activation, import_rate, import_xlsx_rate, stats_refresh):
        log(f"· action {fn.__name__}")
        try:
            res = (measured or {}).get(fn.__name__) or fn(app, info, args, log)
        except Exception as exc:  # one broken action must not lose the other results
            import traceback
            traceback.print_exc()
            res = {"action": fn.__name__, "error": f"{type(exc).__name__}: {exc}"[:300]}
        log(f"   {res}")
        out.append(res)
    return out


# ---- statistics refresh (the cron job behind 统计信息) ------------------------------------

def remove_imported_rows(code_prefix: str, last_person_before: int) -> None:
    """Take the bench import's rows out again, so that every run measures the register as
    `flask seed scale` built it (a provincial reviewer's list would otherwise walk past the
    rows of every earlier run, all from one Beijing district)."""
    from models import db
    from models.registry import Person, Qualification, QualificationRegion
    imported = sa.select(Qualification.id).where(
        Qualification.code >= code_prefix, Qualification.code < code_prefix + "~")
    db.session.execute(sa.delete(QualificationRegion).where(
        QualificationRegion.qualification_id.in_(imported)))
    db.session.execute(sa.delete(Qualification).where(Qualification.id.in_(imported)))
    db.session.execute(sa.delete(Person).where(
        Person.id > last_person_before,
        ~sa.exists().where(Qualification.person_id == Person.id)))
    db.session.commit()


def stats_refresh(app, info, args, log) -> dict:
    from models import db
    from services.gov_statistics import refresh_tallies
    with app.app_context():
        t0 = time.perf_counter()
        rows = refresh_tallies()
        elapsed = time.perf_counter() - t0
        db.session.remove()
    return {"action": "statistics refresh of every jurisdiction (flask stats refresh, cron)",
            "seconds": round(elapsed, 2), "tally_rows": rows,
            "registrations": info.get("rows_registration")}


# ---- login ------------------------------------------------------------------------------

def login(app, info, args, log) -> dict:
    """Physician login (form POST, production scrypt cost) against one password hash."""
    from werkzeug.security import check_password_hash

    from models import db
    from models.account import PhysicianAccount

    from .loader import BENCH_PASSWORD
    with app.app_context():
        acct = db.session.get(PhysicianAccount, info["users"]["physician"])
        username, stored = acct.username, acct.password_hash
        db.session.remove()
    hash_ms = []
    for _ in range(5):
        t0 = time.perf_counter()
        check_password_hash(stored, BENCH_PASSWORD)
        hash_ms.append((time.perf_counter() - t0) * 1000)
    times = []
    status = None
    for _ in range(max(5, args.repeat // 6)):
        c = app.test_client()
        html = c.get("/physician/login").get_data(as_text=True)
        m = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or \
            re.search(r'value="([^"]+)"[^>]*name="csrf_token"', html)
        data = {"csrf_token": m.group(1) if m else "", "login_name": username,
                "password": BENCH_PASSWORD, "captcha": "X"}
        t0 = time.perf_counter()
        r = c.post("/physician/login", data=data)
        times.append((time.perf_counter() - t0) * 1000)
        status = r.status_code
    return {"action": "login (physician, form POST)", "status": status, **summary(times),
            "one_hash_p50": summary(hash_ms)["p50"], "target": "≈ one hash"}


# ---- approval ---------------------------------------------------------------------------

class Approvals:
    """Approval of one application, measured one at a time between the page rounds (so the
    approvals, like each page's requests, are spread over the run): `n` 变更 applications of
    the big institution's physicians are submitted and confirmed first, untimed."""

    def __init__(self, app, info, n: int):
        self.app, self.times, self.errors, self.prepared = app, [], [], []
        self.probes = []  # the machine probe around each approval (measure.steady_summary)
        self.svc = _service("applications")
        if isinstance(self.svc, Exception):
            return
        with app.test_request_context():
            self._prepare(info, n)

    def _prepare(self, info, n):
        from models import db
        from models.account import PhysicianAccount
        from models.application import Application
        from models.enums import (OPEN_APPLICATION_STATUSES, AccountState, ApplicationType,
                                  PhysicianCategory, PhysicianLevel, RegistrationStatus,
                                  UserKind)
        from models.registry import Registration
        from services import Actor
        svc = self.svc
        rows = db.session.execute(
            sa.select(PhysicianAccount, Registration)
            .join(Registration, Registration.person_id == PhysicianAccount.person_id)
            .where(PhysicianAccount.state == AccountState.ACTIVATED,
                   Registration.status == RegistrationStatus.VALID,
                   Registration.level == PhysicianLevel.PHYSICIAN,
                   Registration.category == PhysicianCategory.CLINICAL,
                   Registration.institution_id == info["big_institution_id"],
                   PhysicianAccount.person_id % 20 != 0,
                   # one open application per person and type: skip those the register has
                   ~sa.exists().where(Application.person_id == PhysicianAccount.person_id,
                                      Application.status.in_(OPEN_APPLICATION_STATUSES)))
            .order_by(sa.func.random()).limit(n * 2)).all()
        for acct, reg in rows:
            if len(self.prepared) >= n:
                break
            current = {s.code for s in reg.scopes}
            scope = "12" if "12" not in current else "13"
            try:
                a = svc.submit_application(Actor(UserKind.PHYSICIAN, acct.id, acct.name), acct,
                                           ApplicationType.CHANGE,
                                           {"registration_id": reg.id,
                                            "institution_id": reg.institution_id,
                                            "scope_codes": [scope], "reason": "基准测试"})
                svc.confirm_application(Actor(UserKind.CONSOLE, None, "基准机构",
                                              institution_id=reg.institution_id), a.id, True,
                                        "同意")
                self.prepared.append((a.id, a.authority_id))
            except Exception as exc:
                db.session.rollback()
                self.errors.append(str(exc)[:120])
        db.session.remove()

    def approve_next(self) -> None:
        """Approve the next prepared application (timed), if any is left."""
        if not self.prepared:
            return
        from models import db
        from models.enums import UserKind
        from services import Actor
        app_id, authority_id = self.prepared.pop(0)
        with self.app.test_request_context():
            actor = Actor(UserKind.CONSOLE, None, "基准审批", authority_id=authority_id)
            before = machine_probe_ms()
            t0 = time.perf_counter()
            try:
                self.svc.approve_application(actor, app_id, "准予")
            except Exception as exc:
                db.session.rollback()
                self.errors.append(str(exc)[:120])
            else:
                self.times.append((time.perf_counter() - t0) * 1000)
                self.probes.append(max(before, machine_probe_ms()))
            collect_between_requests()  # as the server does after each response
            db.session.remove()

    def result(self, probe_p50: float | None = None) -> dict:
        """The approvals' times; `probe_p50` is the run's median machine probe (see
        measure.steady_summary), else that of the approvals' own probes."""
        if isinstance(self.svc, Exception):
            return {"action": "approval", "skipped": f"services.applications: {self.svc}"}
        while self.prepared:  # any not reached by the rounds
            self.approve_next()
        res = {"action": "approval of one application (变更, all effects)", **summary(self.times),
               "samples_ms": [round(t, 2) for t in self.times], "target_p95": 30,
               "steady": steady_summary(self.times, self.probes,
                                        probe_p50 or pct(self.probes, 50))}
        if self.errors:
            res["errors"] = self.errors[:3]
            res["error_count"] = len(self.errors)
        return res


def approval(app, info, args, log) -> dict:
    """Approvals taken back to back (when the page rounds did not take them)."""
    return Approvals(app, info, approval_count(args)).result()


def approval_count(args) -> int:
    return max(10, args.repeat)


# ---- activation codes -------------------------------------------------------------------

def activation(app, info, args, log) -> dict:
    svc = _service("activation")
    if isinstance(svc, Exception) or not hasattr(svc, "generate_activation_codes"):
        return {"action": "activation codes", "skipped": f"services.activation: {svc}"}
    from models import db
    from models.account import PhysicianAccount
    from models.enums import AccountState, UserKind
    from services import Actor

    from .loader import Loader
    # a fresh institution with 1,000 verified accounts waiting for their codes
    with app.test_request_context():
        loader = Loader()
        with db.engine.begin() as conn:
            loader.authorities(conn)
            inst = loader.institutions(conn, 1)[0]
            loader.physicians(conn, [inst] * 3000)  # every 3rd gets an account → 1,000
            conn.execute(sa.update(PhysicianAccount).where(
                PhysicianAccount.institution_id == inst[0]).values(state=AccountState.VERIFIED,
                                                                   activated_at=None))
            from .loader import _reset_sequences
            _reset_sequences(conn)
        accounts = db.session.scalars(sa.select(PhysicianAccount).where(
            PhysicianAccount.institution_id == inst[0])).all()
        actor = Actor(UserKind.CONSOLE, None, "基准机构", institution_id=inst[0])
        t0 = time.perf_counter()
        issued, skipped = svc.generate_activation_codes(actor, accounts)
        db.session.commit()
        elapsed = time.perf_counter() - t0
        db.session.remove()
    return {"action": f"activation codes for {len(accounts)} physicians", "seconds": elapsed,
            "issued": issued, "skipped": skipped, "target_seconds": 1.0,
            "meets_target": elapsed <= 1.0 and issued == len(accounts)}


# ---- import -----------------------------------------------------------------------------

def import_rate(app, info, args, log, fmt: str = "csv") -> dict:
    """The same file imported `--import-runs` times (each run's rows removed afterwards):
    the first run also reads the register's blind-index pages into the OS cache, so every
    run is reported and the target is judged on the median."""
    svc = _service("registry_import")
    if isinstance(svc, Exception) or not hasattr(svc, "run_job"):
        return {"action": "import", "skipped": f"services.registry_import: {svc}"}
    import statistics

    rows = args.import_rows
    runs = [_import_once(app, info, svc, rows, offset, fmt) for offset in
            range(max(getattr(args, "import_runs", 3), 1))]
    seconds = statistics.median(r["seconds"] for r in runs)
    label = "import" if fmt == "csv" else f"{fmt} import"
    res = {"action": f"{label} of {rows:,} qualification rows ({fmt}), median of {len(runs)} runs",
           "seconds": seconds, "rows_per_s": rows / seconds,
           "seconds_each": [round(r["seconds"], 3) for r in runs],
           "write_back_seconds_after_each": [r["write_back"] for r in runs],
           "imported_each": [r["imported"] for r in runs],
           "failed_each": [r["failed"] for r in runs],
           "status_each": [r["status"] for r in runs],
           "first_errors": next((r["errors"] for r in runs if r["errors"]), []),
           "target_rows_per_s": 20000}
    res["meets_target"] = res["rows_per_s"] >= 20000 and all(
        r["imported"] == rows for r in runs)
    return res


def import_xlsx_rate(app, info, args, log) -> dict:
    """import_rate for the same rows in an .xlsx workbook (QUALITY.md: "from csv/xlsx")."""
    return import_rate(app, info, args, log, fmt="xlsx")


def _file_areas() -> tuple[list[str], list[str]]:
    """Area codes (the 身份证号's first six digits) for the bench file, valid for births in
    1975–1985: the counties of one province (四川), and cities elsewhere."""
    from models.identity import id_area_known

    def valid(area):
        return id_area_known(area, 1975) and id_area_known(area, 1986)
    home = [f"{c}" for c in range(510100, 513500) if valid(f"{c}")]
    elsewhere = [f"{p}{c:02d}" for p in ("1101", "3101", "4401", "4201", "3201", "3301", "3701",
                                         "6101", "1401", "2301", "4101", "2101")
                 for c in range(1, 30) if valid(f"{p}{c:02d}")]
    return home, elsewhere


def _unregistered_id_numbers(count: int, stamp: int) -> list[tuple[str, dt.date]]:
    """(身份证号, 出生日期) of `count` men whom the register does not hold yet, as a provincial
    commission's file has them: nine in ten born in the province's counties, the tenth
    elsewhere. The data set's persons (and those earlier actions added) share areas, birth
    dates and sequence numbers with the generated ones, and a file of persons already
    registered would measure the duplicate checks, not the import."""
    from stdnum.cn import ric

    from models import db
    from models.identity import id_blind_index
    from models.registry import Person

    home, elsewhere = _file_areas()

    def candidate(k, shift):
        birth = dt.date(1975, 1, 1) + dt.timedelta(days=k % 4000)
        area = elsewhere[k // 10 % len(elsewhere)] if k % 10 == 9 else home[k % len(home)]
        seq = (stamp * 7 + k // 4000 + shift) % 500
        base = f"{area}{birth:%Y%m%d}{seq * 2 + 1:03d}"
        return base + ric.calc_check_digit(base + "0"), birth

    chosen = [candidate(k, 0) for k in range(count)]
    shifts = [0] * count
    for _ in range(500):
        hashes = [id_blind_index(idno) for idno, _ in chosen]
        taken = set()
        for i in range(0, count, 1000):
            taken.update(db.session.scalars(sa.select(Person.id_number_hash).where(
                Person.id_number_hash.in_(hashes[i:i + 1000]))))
        seen, clashing = set(), []
        for k, (idno, _) in enumerate(chosen):
            if idno in seen or hashes[k] in taken:
                clashing.append(k)
            seen.add(idno)
        if not clashing:
            return chosen
        for k in clashing:
            shifts[k] += 5  # the next free block of sequence numbers for this birth date
            chosen[k] = candidate(k, shifts[k])
    raise RuntimeError("no free 身份证号 for the bench import")


def _import_once(app, info, svc, rows: int, offset: int, fmt: str = "csv") -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        return _import_file(app, info, svc, rows, offset, Path(tmp) / f"qualifications.{fmt}")


def _write_import_file(path: Path, columns, rows) -> None:
    """The rows as a csv file, or as an .xlsx workbook (openpyxl; 出生日期 a date cell)."""
    if path.suffix == ".xlsx":
        import openpyxl
        wb = openpyxl.Workbook()
        ws = wb.active
        ws.append(columns)
        for row in rows:
            row[3] = dt.datetime.combine(row[3], dt.time())
            ws.append(row)
        wb.save(path)
        return
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(columns)
        for row in rows:
            row[3] = row[3].isoformat()
            w.writerow(row)


def _import_file(app, info, svc, rows: int, offset: int, path: Path) -> dict:
    from models import db
    from models.enums import UserKind
    from models.institution import Authority
    from services import Actor

    from .loader import chinese_name
    stamp = (int(time.time()) + 17 * offset) % 100000
    with app.app_context():
        id_numbers = _unregistered_id_numbers(rows, stamp)
    _write_import_file(path, svc.COLUMNS, (
        [chinese_name(k + 7), idno, "男", birth, f"I{stamp:05d}{k:09d}", "执业医师", "临床", 2010,
         "山西医科大学", "临床医学", "", "山西省卫生厅", "新人新办法"]
        for k, (idno, birth) in enumerate(id_numbers)))
    with app.test_request_context():
        from models.registry import Person
        auth_id = info["users"].get("bench_gov") and db.session.scalar(
            sa.select(Authority.id).order_by(Authority.id).limit(1))
        actor = Actor(UserKind.CONSOLE, info["users"]["bench_gov"], "基准审批",
                      authority_id=auth_id)
        last_person = db.session.scalar(sa.select(sa.func.max(Person.id))) or 0
        db.session.commit()
        # from the upload (job created) to the job shown as finished; SQLite's write-back of
        # the WAL pages the job held runs after that and is reported on its own
        t0 = time.perf_counter()
        job = svc.start_job(actor, path.name)
        job = svc.run_job(actor, job.id, str(path))
        elapsed = time.perf_counter() - t0
        t1 = time.perf_counter()
        svc.write_back_wal()
        write_back = time.perf_counter() - t1
        out = {"seconds": elapsed, "write_back": round(write_back, 3),
               "imported": job.imported_rows, "failed": job.failed_rows,
               "status": job.status, "errors": (job.errors or [])[:3]}
        remove_imported_rows(f"I{stamp:05d}", last_person)
        db.session.remove()
    return out
