#!/usr/bin/env python3
"""Helpers for scripts/bench (stdlib only).

  bench.py free-port                      print a free TCP port on 127.0.0.1 below 32768
  bench.py gen --key K --leads N --count C --threads T --out DIR --seq S
                                          write C unique signed JSON bodies, one a line,
                                          split into DIR/bodies.1 .. DIR/bodies.T;
                                          --form-delivered: legacy urlencoded delivered
                                          bodies instead, for leadhook and the original app
  bench.py pgbench-script --leads N --out FILE
                                          the per-event write as a pgbench script
  bench.py report --results FILE --meta FILE --out MD
                                          results, ceilings and issue 6's targets
                                          (met / not met) to MD and stdout
"""
import argparse
import sys

from bench_gen import cmd_free_port, cmd_gen, cmd_pgbench_script
from bench_report import cmd_report


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("free-port")
    g = sub.add_parser("gen")
    g.add_argument("--key", required=True)
    g.add_argument("--leads", type=int, required=True)
    g.add_argument("--count", type=int, required=True)
    g.add_argument("--threads", type=int, required=True)
    g.add_argument("--out", required=True)
    g.add_argument("--seq", type=int, default=0)
    g.add_argument("--form-delivered", action="store_true")
    s = sub.add_parser("pgbench-script")
    s.add_argument("--leads", type=int, required=True)
    r = sub.add_parser("report")
    r.add_argument("--results", required=True)
    r.add_argument("--meta", required=True)
    r.add_argument("--out", required=True)
    a = p.parse_args()
    return {"free-port": cmd_free_port, "gen": cmd_gen, "pgbench-script": cmd_pgbench_script,
            "report": cmd_report}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
