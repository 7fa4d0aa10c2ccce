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


# the machine's speed at a moment: a fixed piece of pure-Python work (~1 ms here), timed just
# before and just after each measured request. This 2-CPU machine runs the same work 2-5x
# slower for tens to hundreds of milliseconds now and then (a fixed 10 ms loop: p50 14.9 ms,
# p95 41 ms, min 8.6 ms in one minute), and a page's slow samples fall in those moments.
PROBE_LOOP = 20_000
# a request counts as taken at the machine's usual speed when neither probe around it ran
# slower than this many times the run's median probe
STEADY_WITHIN = 1.3


def machine_probe_ms() -> float:
    """Time of the fixed probe work, in ms."""
    t0 = time.perf_counter()
    total = 0
    for i in range(PROBE_LOOP):
        total += i
    return (time.perf_counter() - t0) * 1000


def steady_summary(times: list[float], probes: list[float], probe_p50: float | None) -> dict:
    """p50/p95 of the requests whose probes (the slower of the two around each) stayed
    within STEADY_WITHIN of the run's median probe: what the page costs at the machine's
    usual speed. A diagnostic next to the plain p95, which alone decides the verdict."""
    if not probe_p50 or len(probes) != len(times):
        return {"n": 0, "p50": None, "p95": None}
    kept = [t for t, p in zip(times, probes) if p <= STEADY_WITHIN * probe_p50]
    return {"n": len(kept), "p50": pct(kept, 50), "p95": pct(kept, 95)}


def machine_summary(probes: list[float]) -> dict:
    """The machine probe over a run: the same work each time, so its spread is the
    machine's, and `slow_share` is the share of requests taken in its slow moments."""
    out = summary(probes)
    out["min"] = min(probes) if probes else None
    out["p95_over_p50"] = out["p95"] / out["p50"] if probes and out["p50"] else None
    out["slow_share"] = (sum(p > STEADY_WITHIN * out["p50"] for p in probes) / len(probes)
                         if probes else None)
    out["probe_loop"], out["steady_within"] = PROBE_LOOP, STEADY_WITHIN
    return out


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


def measure_get(app, client, recorder, url, repeat=30, warmup=3, budget_s=60.0,
                probe=False) -> dict:
    """Server time of GET url: p50/p95 in ms, statements per request, DB time share; with
    `probe`, the machine probe around each request too (outside the timed part)."""
    from models import db
    times, db_ms, n_stmt, cpu, probes = [], [], [], [], []
    status = None
    last = []
    deadline = time.perf_counter() + budget_s
    for i in range(warmup + repeat):
        before = machine_probe_ms() if probe else None
        recorder.start()
        c0 = time.process_time()
        t0 = time.perf_counter()
        resp = client.get(url)
        dt = (time.perf_counter() - t0) * 1000
        dc = (time.process_time() - c0) * 1000
        stmts = recorder.stop()
        after = machine_probe_ms() if probe else None
        status = resp.status_code
        # as the server does once a response is sent (gunicorn.conf.py post_request)
        collect_between_requests()
        if i >= warmup:
            times.append(dt)
            cpu.append(dc)
            db_ms.append(sum(s[2] for s in stmts) * 1000)
            n_stmt.append(len(stmts))
            if probe:
                probes.append(max(before, after))
            last = stmts
        if status != 200:
            times, n_stmt, probes = [], [], []
            break
        if time.perf_counter() > deadline and len(times) >= 5:
            break
    out = _summarised({"status": status, "times": times, "cpu": cpu, "db": db_ms,
                       "n_stmt": n_stmt, "probe": probes, "last": last,
                       "bytes": len(resp.get_data())})
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
        "probe": [p for r in parts for p in r["_samples"]["probe"]],
        "last": parts[-1]["_statements"], "bytes": parts[-1]["bytes"]})


def _summarised(samples: dict) -> dict:
    out = summary(samples["times"])
    n_stmt = samples["n_stmt"]
    out.update({"status": samples["status"], "statements": max(n_stmt) if n_stmt else None,
                "cpu_p50": pct(samples["cpu"], 50), "cpu_p95": pct(samples["cpu"], 95),
                "db_p50": pct(samples["db"], 50),
                "slowest_sql": _slowest(samples["last"]), "bytes": samples["bytes"]})
    out["_statements"] = samples["last"]
    out["_samples"] = {k: samples[k] for k in ("times", "cpu", "db", "n_stmt", "probe")}
    return out


def _slowest(stmts):
    if not stmts:
        return None
    s, _, t = max(stmts, key=lambda x: x[2])
    return {"ms": round(t * 1000, 3), "sql": " ".join(s.split())[:300]}
