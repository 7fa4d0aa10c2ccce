"""Throughput of a commission list under gunicorn with 2 workers, on loopback, with a
bounded load client (threads; a fixed number of requests and a time limit) whose own CPU per
request is recorded (it shares the 2 CPUs with the server)."""
import http.client
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from .appsetup import ROOT, bench_env, new_session_token, session_cookie_value
from .measure import pct


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(app_spec: str, env: dict, port: int, log_path: Path):
    gunicorn = Path(sys.executable).parent / "gunicorn"
    fh = open(log_path, "w")
    proc = subprocess.Popen([str(gunicorn), "-w", "2", "-b", f"127.0.0.1:{port}",
                             "--timeout", "60", "--log-level", "warning", app_spec],
                            cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT)
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited: see {log_path}")
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.request("GET", "/healthz")
            if c.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.3)
    proc.terminate()
    raise RuntimeError("gunicorn did not come up")


def stop(proc):
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


def load(port: int, path: str, cookie: str | None, threads=4, max_requests=2000,
         max_seconds=15.0) -> dict:
    lock = threading.Lock()
    state = {"left": max_requests}
    lat, codes = [], {}
    stop_at = time.perf_counter() + max_seconds
    headers = {"Cookie": cookie} if cookie else {}

    def worker():
        while True:
            with lock:
                if state["left"] <= 0 or time.perf_counter() > stop_at:
                    return
                state["left"] -= 1
            t0 = time.perf_counter()
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                c.request("GET", path, headers=headers)
                r = c.getresponse()
                r.read()
                code = r.status
                c.close()
            except OSError as exc:
                code = type(exc).__name__
            dt = (time.perf_counter() - t0) * 1000
            with lock:
                lat.append(dt)
                codes[code] = codes.get(code, 0) + 1

    # warm-up: a few requests so both workers have imported everything
    for _ in range(6):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        c.request("GET", path, headers=headers)
        c.getresponse().read()
        c.close()
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    ts = [threading.Thread(target=worker) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    elapsed = time.perf_counter() - t0
    client_cpu = time.process_time() - cpu0
    ok = codes.get(200, 0)
    return {"requests": len(lat), "ok": ok, "codes": {str(k): v for k, v in codes.items()},
            "seconds": elapsed, "req_per_s": ok / elapsed if elapsed else None,
            "client_p50": pct(lat, 50), "client_p95": pct(lat, 95), "threads": threads,
            "client": "python threads",
            "client_cpu_ms_per_request": round(client_cpu * 1000 / max(len(lat), 1), 2)}


def worker_rss_mb(master_pid: int) -> float | None:
    """Largest resident set size (MB) among the gunicorn master's worker processes."""
    sizes = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) != master_pid:  # field 4 of /proc/PID/stat: the parent pid
                continue
            status = (stat.parent / "status").read_text()
        except (OSError, IndexError, ValueError):
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                sizes.append(int(line.split()[1]) / 1024)
    return max(sizes) if sizes else None


def run_throughput(app, url, instance, info, args, log) -> list[dict]:
    env = bench_env(url, instance)
    out = []
    token = new_session_token(app, "console", info["users"]["bench_gov"])
    cookie = f"{app.config.get('SESSION_COOKIE_NAME', 'session')}=" \
             f"{session_cookie_value(app, token)}"
    org_token = new_session_token(app, "console", info["users"]["bench_org"])
    org_cookie = f"{app.config.get('SESSION_COOKIE_NAME', 'session')}=" \
                 f"{session_cookie_value(app, org_token)}"
    runs = [("ours: /gov/institutions/ (commission list, national reviewer)",
             "app:create_app()", "/gov/institutions/", cookie),
            ("ours: /org/main-physicians/ (institution list, 5,000 physicians)",
             "app:create_app()", "/org/main-physicians/", org_cookie)]
    extra = [p for p in ("/gov/registrations/", "/gov/qualifications/")
             if any(r.rule == p for r in app.url_map.iter_rules())]
    for p in extra:
        runs.append((f"ours: {p} (commission registry list)", "app:create_app()", p, cookie))
    runs += [("stock Flask-Admin: /stock/institution/", "bench.wsgi:app", "/stock/institution/",
              None),
             ("stock Flask-Admin: /stock/registration/", "bench.wsgi:app",
              "/stock/registration/", None)]
    for label, spec, path, ck in runs:
        port = free_port()
        log(f"· throughput {label} on 127.0.0.1:{port}")
        server_log = instance / f"gunicorn_{port}.log"
        proc = start_gunicorn(spec, env, port, server_log)
        try:
            res = load(port, path, ck, threads=args.threads, max_requests=args.max_requests,
                       max_seconds=args.max_seconds)
            res["worker_rss_mb"] = worker_rss_mb(proc.pid)  # after the load: the peak we hold
        finally:
            stop(proc)
            if server_log.exists() and not server_log.stat().st_size:
                server_log.unlink()  # keep only logs that say something
        res.update({"label": label, "path": path, "app": spec, "workers": 2})
        if label.startswith("ours: /gov"):
            res["target_req_per_s"] = 150
        log(f"   {res['req_per_s']:.1f} req/s ({res['codes']}), client p50 "
            f"{res['client_p50']:.1f} ms, client CPU {res['client_cpu_ms_per_request']} ms/req, "
            f"worker RSS {res['worker_rss_mb'] or 0:.0f} MB")
        out.append(res)
    return out
