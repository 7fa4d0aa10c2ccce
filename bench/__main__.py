"""`python -m bench [--scale tiny|small|medium|national] [--database-url URL]` (`make bench`).

Builds (or reuses) the data set, measures every console list and physician page against its
raw SQL and a stock Flask-Admin peer, then throughput, login, approval, activation codes and
import; writes bench/results/latest.md and latest.json."""
import argparse
import sys
from pathlib import Path

from .run import SCALES, run, write_results


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    p.add_argument("--scale", choices=sorted(SCALES), default="small")
    p.add_argument("--physicians", type=int, help="override the scale's physician count")
    p.add_argument("--institutions", type=int, help="override the scale's institution count")
    p.add_argument("--database-url", help="default: SQLite file in instance/bench/")
    p.add_argument("--instance", help="instance dir (keys, SQLite file); default instance/bench")
    p.add_argument("--loader", choices=["auto", "seed", "bench"], default="auto",
                   help="auto: `flask seed scale` code if implemented, else bench.loader")
    p.add_argument("--rebuild", action="store_true", help="drop and rebuild the data set")
    p.add_argument("--repeat", type=int, default=40, help="measured requests per page")
    p.add_argument("--rounds", type=int, default=30,
                   help="each page's requests are spread over this many rounds of all pages")
    p.add_argument("--page-budget", type=float, default=30.0, help="max seconds per page")
    p.add_argument("--only", help="measure only pages whose name contains this")
    p.add_argument("--no-throughput", action="store_true")
    p.add_argument("--threads", type=int, default=4)
    p.add_argument("--max-requests", type=int, default=1500)
    p.add_argument("--max-seconds", type=float, default=12.0)
    p.add_argument("--import-rows", type=int, default=20000)
    p.add_argument("--import-runs", type=int, default=3,
                   help="imports of the same size; the median is reported")
    p.add_argument("--out", default=str(Path(__file__).parent / "results"))
    p.add_argument("--build-only", action="store_true",
                   help="build (or top up) the data set and stop, measuring nothing")
    args = p.parse_args(argv)
    if args.build_only:
        from .run import build_only
        print(build_only(args))
        return 0
    results = run(args)
    write_results(results, Path(args.out))
    print(f"\nresults: {args.out}/latest.md and latest.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
