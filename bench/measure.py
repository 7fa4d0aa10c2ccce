"""In-process measurement: server time of one request (Flask test client, perf_counter around
client.get, after warm-up), the SQL statements it ran (SQLAlchemy cursor events), and the
raw-SQL baseline (the page's own row query replayed through the DB-API cursor). Between
requests the collector runs as the server runs it after sending a response."""
import statistics
import time

import sqlalchemy as sa

from ops.tuning import collect_between_requests


def pct(values, p):
    if not values:
        return None
    s = sorted(values)
    k = (len(s) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def summary(ms: list[float]) -> dict:
    return {"n": len(ms), "p50": pct(ms, 50), "p95": pct(ms, 95),
            "mean": statistics.fmean(ms) if ms else None}


class SqlRecorder:
    """Records (statement, parameters, seconds) of every cursor execution while active."""

    def __init__(self, engine):
        self.engine = engine
        self.active = False
        self.statements = []
        self._start = None
        sa.event.listen(engine, "before_cursor_execute", self._before)
        sa.event.listen(engine, "after_cursor_execute", self._after)

    def close(self):
        sa.event.remove(self.engine, "before_cursor_execute", self._before)
        sa.event.remove(self.engine, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        if self.active:
            self._start = time.perf_counter()

    def _after(self, conn, cursor, statement, parameters, context, executemany):
        if self.active and self._start is not None:
            self.statements.append((statement, parameters, time.perf_counter() - self._start))
            self._start = None

    def start(self):
        self.statements = []
        self.active = True

    def stop(self):
        self.active = False
        return list(self.statements)


def _is_select(stmt: str) -> bool:
    return stmt.lstrip().upper().startswith(("SELECT", "WITH"))


def row_statements(statements) -> list:
    """The page's row queries: the SELECTs with LIMIT (no count), else every SELECT."""
    sel = [(s, p) for s, p, _ in statements if _is_select(s)]
    limited = [(s, p) for s, p in sel if " LIMIT " in s.upper().replace("\n", " ")
               and "COUNT(" not in s.upper()]
    return limited or sel


def replay_raw(engine, statements, repeat=30, warmup=3) -> dict:
    """Execute the statements through the DB-API cursor (no ORM, no rendering), fetch all
    rows; time per replay of the whole set."""
    raw = engine.raw_connection()
    try:
        times = []
        for i in range(warmup + repeat):
            t0 = time.perf_counter()
            for stmt, params in statements:
                cur = raw.cursor()
                cur.execute(stmt, params or ())
                cur.fetchall()
                cur.close()
            dt = (time.perf_counter() - t0) * 1000
            if i >= warmup:
                times.append(dt)
        raw.rollback()
    finally:
        raw.close()
    return summary(times)


def measure_get(app, client, recorder, url, repeat=30, warmup=3, budget_s=60.0) -> dict:
    """Server time of GET url: p50/p95 in ms, statements per request, DB time share."""
    from models import db
    times, db_ms, n_stmt, cpu = [], [], [], []
    status = None
    last = []
    deadline = time.perf_counter() + budget_s
    for i in range(warmup + repeat):
        recorder.start()
        c0 = time.process_time()
        t0 = time.perf_counter()
        resp = client.get(url)
        dt = (time.perf_counter() - t0) * 1000
        dc = (time.process_time() - c0) * 1000
        stmts = recorder.stop()
        status = resp.status_code
        # as the server does once a response is sent (gunicorn.conf.py post_request)
        collect_between_requests()
        if i >= warmup:
            times.append(dt)
            cpu.append(dc)
            db_ms.append(sum(s[2] for s in stmts) * 1000)
            n_stmt.append(len(stmts))
            last = stmts
        if status != 200:
            times, n_stmt = [], []
            break
        if time.perf_counter() > deadline and len(times) >= 5:
            break
    out = _summarised({"status": status, "times": times, "cpu": cpu, "db": db_ms,
                       "n_stmt": n_stmt, "last": last, "bytes": len(resp.get_data())})
    with app.app_context():
        db.session.remove()
    return out


def merge_rounds(rounds: list[dict]) -> dict:
    """One page's result from its rounds (measure_get results): every round's samples
    together; a round that did not answer 200 stands for the page."""
    failed = next((r for r in rounds if r["status"] != 200), None)
    parts = [failed] if failed else rounds
    return _summarised({
        "status": parts[-1]["status"],
        "times": [t for r in parts for t in r["_samples"]["times"]],
        "cpu": [t for r in parts for t in r["_samples"]["cpu"]],
        "db": [t for r in parts for t in r["_samples"]["db"]],
        "n_stmt": [n for r in parts for n in r["_samples"]["n_stmt"]],
        "last": parts[-1]["_statements"], "bytes": parts[-1]["bytes"]})


def _summarised(samples: dict) -> dict:
    out = summary(samples["times"])
    n_stmt = samples["n_stmt"]
    out.update({"status": samples["status"], "statements": max(n_stmt) if n_stmt else None,
                "cpu_p50": pct(samples["cpu"], 50), "cpu_p95": pct(samples["cpu"], 95),
                "db_p50": pct(samples["db"], 50),
                "slowest_sql": _slowest(samples["last"]), "bytes": samples["bytes"]})
    out["_statements"] = samples["last"]
    out["_samples"] = {k: samples[k] for k in ("times", "cpu", "db", "n_stmt")}
    return out


def _slowest(stmts):
    if not stmts:
        return None
    s, _, t = max(stmts, key=lambda x: x[2])
    return {"ms": round(t * 1000, 3), "sql": " ".join(s.split())[:300]}
