#!/usr/bin/env python3
"""scripts/bench_support/cpu_budget.py: the per-request CPU budget from the
clock ticks scripts/bench samples around each wrk run."""
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "scripts", "bench_support"))
from cpu_budget import capacity_rps, cpu_section, median_cost, per_request_us  # noqa: E402

BUDGETS = {"server": 60, "postgres": 110}  # issue 22's, µs per request


def run(connections, rps, requests, ticks, kind="leadhook"):
    """ticks: (server, postgres, nginx, wrk, busy, idle) used during the run."""
    before = [1000, 2000, 3000, 4000, 50000, 60000]
    return {"kind": kind, "connections": connections, "rps": rps, "requests": requests,
            "clock_ticks": 100, "cpu_before": before,
            "cpu_after": [b + t for b, t in zip(before, ticks)]}


class CpuBudgetTest(unittest.TestCase):
    def test_ticks_become_microseconds_per_request(self):
        # 10 s on 2 cores at 100 ticks/s: 2000 ticks; 50,000 requests.
        cost = per_request_us(run(64, 5000, 50000, (300, 800, 100, 50, 1500, 500)))
        self.assertAlmostEqual(cost["server"], 60.0)  # 300 ticks = 3 s over 50,000 requests
        self.assertAlmostEqual(cost["postgres"], 160.0)
        self.assertAlmostEqual(cost["nginx"], 20.0)
        self.assertAlmostEqual(cost["wrk"], 10.0)
        self.assertAlmostEqual(cost["other"], 50.0)  # busy 300 µs minus the parts
        self.assertAlmostEqual(cost["idle"], 100.0)
        self.assertAlmostEqual(cost["total"], 400.0)  # 2 cores / 5,000 requests/s

    def test_parts_over_the_machine_busy_time_leave_no_negative_other(self):
        cost = per_request_us(run(64, 5000, 1000, (10, 10, 0, 0, 15, 0)))
        self.assertEqual(cost["other"], 0.0)

    def test_runs_without_samples_or_requests_have_no_cost(self):
        self.assertIsNone(per_request_us({"requests": 10}))
        self.assertIsNone(per_request_us(run(64, 0, 0, (1, 1, 1, 1, 4, 0))))
        self.assertIsNone(median_cost([{"requests": 10}]))

    def test_median_per_part(self):
        runs = [run(64, 5000, 1000, (t, 0, 0, 0, t, 0)) for t in (1, 3, 2)]
        self.assertAlmostEqual(median_cost(runs)["server"], 20.0)

    def test_capacity(self):
        self.assertAlmostEqual(capacity_rps(2, 250), 8000)

    def test_section_gives_the_capacity_with_the_parts_and_with_the_budgets(self):
        out = []
        runs = [run(64, 5000, 50000, (300, 800, 100, 50, 1500, 500))]
        hmac = [run(64, 25000, 250000, (900, 0, 300, 300, 1800, 200), kind="hmac")]
        cpu_section(out.append, {"nproc": "2"}, runs, hmac, [64], 64, BUDGETS)
        text = "\n".join(out)
        self.assertIn("| leadhook | 64 | 5000 | 60 | 160 | 20 | 10 | 50 | 100 | 400 |", text)
        self.assertIn("| HMAC-only responder | 64 | 25000 | 36 | 0 | 12 | 12 | 12 | 8 | 80 |", text)
        self.assertIn("leadhook used 60 µs per request, PostgreSQL 160", text)
        self.assertIn("250 µs, so these 2 cores could answer at most 8,000 requests/s", text)
        # 60 + 110 + the same nginx (20) and wrk (10): 200 µs.
        self.assertIn("200 µs: at most 10,000", text)

    def test_budget_sentence_is_about_the_target_connection_count(self):
        # Run at 32 and 128 connections, the target is judged at 64: the
        # sentence must not take the largest count instead.
        runs = [run(c, 5000, 50000, (300, 800, 100, 50, 1500, 500)) for c in (32, 128)]
        out = []
        cpu_section(out.append, {"nproc": "2"}, runs, [], [32, 128], 64, BUDGETS)
        text = "\n".join(out)
        self.assertIn("| leadhook | 128 | 5000 |", text)
        self.assertNotIn("budgets", text)
        runs.append(run(64, 4000, 40000, (400, 800, 100, 50, 1500, 500)))
        out = []
        cpu_section(out.append, {"nproc": "2"}, runs, [], [32, 64, 128], 64, BUDGETS)
        self.assertIn("In leadhook's runs at 64 connections leadhook used 100 µs per request, "
                      "PostgreSQL 200", "\n".join(out))

    def test_no_section_without_samples(self):
        out = []
        cpu_section(out.append, {"nproc": "2"}, [{"connections": 64, "rps": 1, "requests": 1}],
                    [], [64], 64, BUDGETS)
        self.assertEqual(out, [])


if __name__ == "__main__":
    unittest.main()
