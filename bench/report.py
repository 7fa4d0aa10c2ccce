"""Markdown rendering of a benchmark run."""


def _f(v, digits=1):
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:,.{digits}f}"
    return f"{v:,}" if isinstance(v, int) else str(v)


def _steady(o: dict) -> str:
    steady = o.get("steady") or {}
    return f"{_f(steady.get('p95'), 2)} ({steady['n']})" if steady.get("n") else "–"


def _machine_lines(m: dict | None) -> list[str]:
    if not m or not m.get("n"):
        return []
    return [f"*Machine*: a fixed piece of Python work ({m['probe_loop']:,} additions) was "
            f"timed just before and just after each measured request and approval: p50 "
            f"{_f(m['p50'], 2)} ms, p95 {_f(m['p95'], 2)} ms (p95 ÷ p50 = "
            f"{_f(m['p95_over_p50'], 2)}), min {_f(m['min'], 2)} ms over {m['n']:,} of them; "
            f"for {m['slow_share']:.0%} of them the slower of the two took over "
            f"{m['steady_within']}× the median. "
            "*steady p95 (n)* = the p95 of the page's requests whose probes stayed within "
            "that bound (how many): what the page costs at the machine's usual speed. It is a "
            "diagnostic; the verdict (*meets*) uses the plain p95 of every request.", ""]


def markdown(r: dict) -> str:
    m = r["meta"]
    lines = [f"# Benchmark results — scale `{m['scale']}` on {m['database']}", "",
             f"Run {m['started']} → {m.get('finished', '')}, Python {m['python']}, "
             f"{m['machine']}. Data: {_f(m.get('rows_person'))} persons, "
             f"{_f(m.get('rows_registration'))} registrations, "
             f"{_f(m.get('rows_institution'))} institutions, "
             f"{_f(m.get('rows_physician_account'))} physician accounts, "
             f"{_f(m.get('rows_application'))} applications; the big institution has "
             f"{_f(m.get('big_institution_valid'))} valid registrations "
             f"(loader: {m.get('loader')}). Load average at start/end: "
             f"{m.get('loadavg_start')} / {m.get('loadavg_end')} (other processes share the "
             f"CPUs: compare ratios measured in the same run, not absolute times across runs).",
             "",
             "Server time = time inside the WSGI app (Flask test client in-process, "
             f"warm-up first; {m.get('repeat')} requests per page, taken in "
             f"{m.get('rounds', 1)} round(s) over all pages, so that one page's requests are "
             "spread over the run). *raw* = the page's own row query (its SELECT … LIMIT, or all "
             "its SELECTs when it has none) replayed through the DB-API cursor. *stock* = a "
             "stock Flask-Admin ModelView over the same table (/stock/, exact count, "
             "contains-search on the name). Times in ms.", "",
             "*CPU* = this process's CPU time for the request (robust against other load; on "
             "SQLite it includes the database work, on PostgreSQL it does not).", "",
             *_machine_lines(r.get("machine")),
             "| page | p50 | p95 | CPU p50 | CPU p95 | steady p95 (n) | target p95 | SQL stmts | "
             "DB ms (p50) | raw p50 | ×raw | stock p50 | stock p95 | stock ÷ ours | meets |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|:-:|"]
    for e in r["pages"]:
        o = e["ours"]
        s = e.get("stock") or {}
        raw = e.get("raw_sql") or {}
        status = "" if o["status"] == 200 else f" (HTTP {o['status']})"
        # a route that only redirects (e.g. /security/ → its first tab) is not a page
        redirect = isinstance(o["status"], int) and 300 <= o["status"] < 400
        verdict = "yes" if e.get("meets_target") else ("– (redirect)" if redirect else "NO")
        lines.append(
            f"| {e['page']}{status} | {_f(o['p50'], 2)} | {_f(o['p95'], 2)} | "
            f"{_f(o.get('cpu_p50'), 2)} | {_f(o.get('cpu_p95'), 2)} | {_steady(o)} | "
            f"{e['target_p95']} | {_f(o['statements'])} | {_f(o.get('db_p50'), 2)} | "
            f"{_f(raw.get('p50'), 3)} | {_f(e.get('ratio_raw_p50'))} | {_f(s.get('p50'))} | "
            f"{_f(s.get('p95'))} | {_f(e.get('stock_over_ours_p50'))} | "
            f"{verdict} |")
    lines += ["", "## Throughput (gunicorn, 2 sync workers, loopback)", "",
              "The load client (Python threads) runs on the same 2 CPUs as the server; "
              "*client CPU* is what it spends per request.", "",
              "| what | client | req/s | requests | codes | client p50 | client p95 | "
              "client CPU ms/req | worker RSS MB (target < 300) |",
              "|---|---|---:|---:|---|---:|---:|---:|---:|"]
    for t in r.get("throughput", []):
        for run in (t,):
            lines.append(f"| {t['label']} | {run.get('client', 'python threads')} | "
                         f"{_f(run['req_per_s'])} | {run['requests']} | {run['codes']} | "
                         f"{_f(run['client_p50'])} | {_f(run['client_p95'])} | "
                         f"{_f(run.get('client_cpu_ms_per_request'), 2)} | "
                         f"{_f(t.get('worker_rss_mb'))} |")
    lines += ["", "## Actions", ""]
    for a in r.get("actions", []):
        lines.append("- " + ", ".join(f"{k}: {_f(v, 3) if isinstance(v, float) else v}"
                                      for k, v in a.items()))
    lines += ["", "## Slowest statement per page", ""]
    for e in r["pages"]:
        s = e["ours"].get("slowest_sql")
        if s:
            lines.append(f"- {e['page']}: {s['ms']} ms — `{s['sql'][:220]}`")
    return "\n".join(lines) + "\n"
