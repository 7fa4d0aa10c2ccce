"""Profile one page of the bench data set: `python -m bench.profile /org/main-physicians/
[--user bench_org] [--scale small] [-n 20]` prints the top functions by cumulative time and
every SQL statement of one request with its time."""
import argparse
import cProfile
import pstats
from pathlib import Path

from .appsetup import ROOT, create_bench_app, signed_in_client, stock_models_for
from .measure import SqlRecorder


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.profile")
    p.add_argument("url")
    p.add_argument("--user", default="bench_org",
                   help="bench_org | bench_gov | bench_gov_prov | bench_sysadmin | "
                        "bench_auditor | physician | anonymous")
    p.add_argument("--scale", default="small")
    p.add_argument("--database-url")
    p.add_argument("-n", type=int, default=20)
    p.add_argument("--top", type=int, default=35)
    args = p.parse_args(argv)
    instance = (ROOT / "instance" / "bench").resolve()
    url = args.database_url or f"sqlite:///{instance / f'bench_{args.scale}.sqlite3'}"
    app = create_bench_app(url, instance, stock_models_for)
    from models import db

    from .loader import big_institution_id, ensure_users
    with app.app_context():
        users = ensure_users(big_institution_id())
        engine = db.engine
    kind = "physician" if args.user == "physician" else "console"
    client = (app.test_client() if args.user == "anonymous"
              else signed_in_client(app, kind, users[args.user]))
    for _ in range(3):
        client.get(args.url)
    rec = SqlRecorder(engine)
    rec.start()
    resp = client.get(args.url)
    stmts = rec.stop()
    print(f"HTTP {resp.status_code}, {len(resp.get_data())} bytes, {len(stmts)} statements:")
    for s, _, t in stmts:
        print(f"  {t * 1000:8.3f} ms  {' '.join(s.split())[:400]}")
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(args.n):
        client.get(args.url)
    prof.disable()
    stats = pstats.Stats(prof)
    stats.sort_stats("cumulative").print_stats(args.top)
    stats.sort_stats("tottime").print_stats(args.top)
    rec.close()


if __name__ == "__main__":
    main()
