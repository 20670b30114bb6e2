#!/usr/bin/env python3
"""scripts/bench_support/bench_report.py and bench_targets.py: the report
scripts/bench writes, from the JSON lines its runs leave, judged against
issue 6's targets. Synthetic runs, so each verdict is known beforehand."""
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
    def test_a_fast_run_meets_the_throughput_targets_and_a_slow_one_does_not(self):
        fast = [load_run("leadhook", 64, rps, 8) for rps in (16000, 15500)]
        hmac = [load_run("hmac", 64, 30000, 3) for _ in range(2)]
        text = report(fast + hmac)
        self.assertEqual(verdict(text, "at least 15,000 webhooks/s"), "**met**")
        self.assertEqual(verdict(text, "at least 45 % of the HMAC-only"), "**met**")
        self.assertIn("15,750 / 30,000 req/s = 52.5 %", text)
        self.assertEqual(verdict(text, "p99 at most 10 ms"), "**met**")
        slow = [load_run("leadhook", 64, 5000, 27) for _ in range(2)]
        text = report(slow + hmac)
        self.assertEqual(verdict(text, "at least 15,000 webhooks/s"), "**not met**")
        self.assertEqual(verdict(text, "at least 45 % of the HMAC-only"), "**not met**")
        self.assertEqual(verdict(text, "p99 at most 10 ms"), "**not met**")

    def test_targets_are_judged_at_64_connections_only(self):
        text = report([load_run("leadhook", 32, 20000, 5), load_run("leadhook", 128, 20000, 5)])
        self.assertIn("not measured: 64 is not among the connection counts (32 128)", text)

    def test_idle_is_judged_on_the_median_and_reports_a_high_p99(self):
        idle = {"kind": "idle", "connections": 1, "p50_us": 1500, "p99_us": 3000, "seconds": 5,
                "requests": 3000, "non2xx": 0}
        text = report([load_run("leadhook", 64, 5000, 27), idle])
        self.assertEqual(verdict(text, "idle single-request latency"), "**met**; p99 over 2 ms")

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
