#!/usr/bin/env python3
"""scripts/bench_support/bench_report.py and bench_targets.py: the report
scripts/bench writes, from the JSON lines its runs leave, judged against
issue 22's targets. Synthetic runs, so each verdict is known beforehand."""
import json
import os
import subprocess
import sys
import tempfile
import unittest

SUPPORT = os.path.join(os.path.dirname(__file__), "..", "..", "scripts", "bench_support")
sys.path.insert(0, SUPPORT)
from bench_targets import rss_verdict, soak_summary  # noqa: E402

META = {"args": "--quick", "date": "2026-11-29 00:00 UTC", "cpu": "test", "nproc": "2",
        "memory": "1 GiB", "kernel": "test", "postgresql": "15", "nginx": "1.22", "wrk": "4.1",
        "commit": "abc1234", "load": "0 0 0", "method": "Synthetic runs.", "runs": 2,
        "duration": 10, "correctness": "**OK**: synthetic."}


def load_run(kind, connections, rps, p99_ms, rss_mib=20.0, **extra):
    row = {"kind": kind, "connections": connections, "rps": rps, "p50_us": 5000,
           "p99_us": p99_ms * 1000, "non2xx": 0, "socket_errors": 0, "events_per_request": 1.0,
           "rows_per_request": 3.0, "peak_rss_kib": rss_mib * 1024, "exhausted": 0,
           "requests": rps * 10, "seconds": 10}
    row.update(extra)
    return row


def report(rows, meta=None):
    with tempfile.TemporaryDirectory() as d:
        results, meta_file, out = (os.path.join(d, n) for n in ("r.jsonl", "meta.json", "out.md"))
        with open(results, "w") as f:
            f.writelines(json.dumps(r) + "\n" for r in rows)
        with open(meta_file, "w") as f:
            json.dump(meta or META, f)
        subprocess.run([sys.executable, os.path.join(SUPPORT, "bench.py"), "report", "--results",
                        results, "--meta", meta_file, "--out", out], check=True,
                       stdout=subprocess.DEVNULL)
        with open(out) as f:
            return f.read()


def verdict(text, target_start):
    lines = [line for line in text.splitlines() if line.startswith("| " + target_start)]
    if len(lines) != 1:
        raise AssertionError(f"{len(lines)} target lines start with {target_start!r}")
    return lines[0].rsplit("|", 2)[1].strip()


class TargetsTest(unittest.TestCase):
    @staticmethod
    def runs_at_64(rps, p99_ms, server_us, postgres_us):
        rows = []
        for r in (rps, rps):
            row = load_run("leadhook", 64, r, p99_ms)
            rows.append(with_cpu(row, row["requests"] * server_us // 10000,
                                 row["requests"] * postgres_us // 10000))
        return rows

    def test_a_lean_run_meets_issue_22s_targets_and_a_heavy_one_does_not(self):
        db = [{"kind": "db", "writers": 2, "batch": 17, "as_leadhook": 1, "events": 60000,
               "seconds": 5, "events_per_s": 12000, "stored": 60000}]
        hmac = [with_cpu(load_run("hmac", 64, 30000, 3), 30000 * 10 * 20 // 10000, 0)]
        text = report(self.runs_at_64(10000, 10, 55, 100) + db + hmac)
        self.assertEqual(verdict(text, "at least 80 % of the database alone"), "**met**")
        self.assertIn("10,000 req/s / 12,000 events/s = 83.3 %", text)
        self.assertEqual(verdict(text, "leadhook's own CPU at most 60"), "**met**")
        self.assertEqual(verdict(text, "PostgreSQL's CPU at most 110"), "**met**")
        self.assertEqual(verdict(text, "the HMAC-only responder's own CPU"), "**met**")
        self.assertEqual(verdict(text, "p99 at most 12 ms"), "**met**")
        text = report(self.runs_at_64(6000, 20, 80, 120) + db)
        self.assertEqual(verdict(text, "at least 80 % of the database alone"), "**not met**")
        self.assertEqual(verdict(text, "leadhook's own CPU at most 60"), "**not met**")
        self.assertEqual(verdict(text, "PostgreSQL's CPU at most 110"), "**not met**")
        self.assertEqual(verdict(text, "the HMAC-only responder's own CPU"), "not judged")
        self.assertEqual(verdict(text, "p99 at most 12 ms"), "**not met**")

    def test_targets_are_judged_at_64_connections_only(self):
        text = report([load_run("leadhook", 32, 20000, 5), load_run("leadhook", 128, 20000, 5)])
        self.assertEqual(verdict(text, "at least 80 % of the database-alone ceiling"), "not judged")
        self.assertEqual(verdict(text, "leadhook's own CPU"), "not judged")
        self.assertNotIn("p99 at most 12 ms", text)

    def test_an_idle_request_is_judged_on_its_p99(self):
        idle = {"kind": "idle", "connections": 1, "p50_us": 700, "p99_us": 3000, "seconds": 5,
                "requests": 3000, "non2xx": 0}
        text = report([load_run("leadhook", 64, 5000, 27), idle])
        self.assertEqual(verdict(text, "a single request on an idle server"), "**not met**")
        idle["p99_us"] = 1500
        text = report([load_run("leadhook", 64, 5000, 27), idle])
        self.assertEqual(verdict(text, "a single request on an idle server"), "**met**")

    def test_each_first_second_is_judged_against_the_steady_state(self):
        # Samples every 0.25 s of the events committed, on the clock's seconds;
        # the count starts rising after 100.5 s: that is time 0.
        def series(per_second):
            out, total, t = [[100.0, 0], [100.25, 0], [100.5, 0]], 0, 100.5
            for rate in per_second:
                for _ in range(4):
                    t += 0.25
                    total += rate / 4
                    out.append([t, total])
            return out
        first = load_run("first", 64, 6000, 20, seconds=3)
        steady = [load_run("leadhook", 64, 7000, 20) for _ in range(2)]
        meta = dict(META, first_series=series([6400, 7000, 7100, 7000]))
        text = report(steady + [first], meta)
        self.assertEqual(verdict(text, "from the first second"), "**met**")
        self.assertIn("first 3 s: 6,400, 7,000, 7,100", text)
        meta = dict(META, first_series=series([5000, 7000, 7100, 7000]))
        self.assertEqual(verdict(report(steady + [first], meta), "from the first second"),
                         "**not met**")
        # A 30 s run is its own steady state: seconds 21-30, whatever the load runs did.
        first = load_run("first", 64, 6000, 20, seconds=30)
        slow_start = [5000] * 10 + [6000] * 20
        text = report(steady + [first], dict(META, first_series=series(slow_start + [6000])))
        self.assertEqual(verdict(text, "from the first second"), "**not met**")
        self.assertIn("of the same run's seconds 21–30 (6,000/s)", text)
        text = report(steady + [first], dict(META, first_series=series([5800] * 10 + [6000] * 21)))
        self.assertEqual(verdict(text, "from the first second"), "**met**")

    def test_memory_ceiling_and_flatness_from_the_soak(self):
        series = [[t, 20480 if t < 30 else 25600] for t in range(0, 305, 5)]
        soak = load_run("soak", 64, 4000, 40, rss_mib=25.0, rss_series=series, seconds=300)
        text = report([load_run("leadhook", 64, 5000, 27), soak])
        self.assertEqual(verdict(text, "resident memory at most 32 MB"), "**met**")
        # The warm-up's smaller samples (first 30 s) are not the start.
        self.assertEqual(verdict(text, "resident memory flat"), "**met**")
        growing = [[t, 20480 + t * 40] for t in range(0, 305, 5)]
        soak["rss_series"] = growing
        text = report([load_run("leadhook", 64, 5000, 27), soak])
        self.assertEqual(verdict(text, "resident memory flat"), "**not met**")


def with_cpu(row, server_ticks, postgres_ticks):
    """CPU samples around a run: server and PostgreSQL ticks at 100 per second."""
    before = [1000, 2000, 3000, 4000, 50000, 60000]
    used = [server_ticks, postgres_ticks, 100, 50, server_ticks + postgres_ticks + 150, 0]
    row.update(clock_ticks=100, cpu_before=before, cpu_after=[b + u for b, u in zip(before, used)])
    return row


class CompareTest(unittest.TestCase):
    def test_side_by_side_gives_ratios_of_throughput_and_cpu_per_request(self):
        rows = []
        for old_rps, new_rps in ((4000, 4400), (4200, 4410), (3900, 4485)):
            # 10 s runs: requests = rps * 10; CPU ticks chosen so the old binary
            # spends 150 µs of its own CPU per request and the new one 120.
            old = load_run("compare", 64, old_rps, 30)
            rows.append(with_cpu(old, old["requests"] * 150 // 10000, old["requests"] * 200 // 10000))
            new = load_run("current", 64, new_rps, 25)
            rows.append(with_cpu(new, new["requests"] * 120 // 10000, new["requests"] * 200 // 10000))
        text = report(rows, dict(META, compare="abc1234 (an older revision)"))
        self.assertIn("| revision abc1234 | 4000 (3900–4200) |", text)
        self.assertIn("| 150 | 200 |", text)
        self.assertIn("| 120 | 200 |", text)
        self.assertIn("requests/s 1.10× (pairs: 1.10, 1.05, 1.15)", text)
        self.assertIn("leadhook 0.80×, PostgreSQL 1.00×", text)
        self.assertNotIn("Not comparable", text)

    def test_a_side_with_error_answers_is_not_comparable(self):
        rows = []
        for _ in range(3):
            old = load_run("compare", 64, 4000, 30)
            old["non2xx"] = old["requests"]  # every answer an error
            rows += [old, load_run("current", 64, 6000, 25)]
        text = report(rows, dict(META, compare="abc1234 (an older revision)"))
        self.assertIn("**Not comparable**: revision abc1234 answered 120000 non-2xx", text)


class SoakAndRssTest(unittest.TestCase):
    def test_a_short_soak_cannot_prove_flatness(self):
        series = [[t, 25600] for t in range(0, 65, 5)]
        soak = load_run("soak", 64, 4000, 40, rss_series=series, seconds=60)
        text = report([load_run("leadhook", 64, 5000, 27), soak])
        self.assertEqual(verdict(text, "resident memory flat"), "flat in this shorter run; not judged")

    def test_summary_needs_two_samples_after_the_warm_up(self):
        self.assertIsNone(soak_summary({"rss_series": [[0, 1], [5, 1]], "seconds": 300}))
        sm = soak_summary({"rss_series": [[0, 100], [30, 200], [35, 210], [40, 190]],
                           "seconds": 300})
        self.assertEqual((sm["start"], sm["end"], sm["max"], sm["min"]), (200, 190, 210, 190))
        self.assertTrue(sm["flat"])

    def test_32_mb_is_read_both_ways(self):
        self.assertEqual(rss_verdict(31000)[1], "**met**")  # 31.7 MB
        self.assertEqual(rss_verdict(32000)[1], "**met only if MB means MiB**")  # 32.8 MB
        self.assertEqual(rss_verdict(33000)[1], "**not met**")  # 33.8 MB, 32.2 MiB


if __name__ == "__main__":
    unittest.main()
