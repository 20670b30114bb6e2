#!/usr/bin/env python3
"""Integration: the SQL scripts/bench runs besides leadhook still fits the
schema `leadhook migrate` makes. Its pgbench ceiling ("the same write" as
leadhook's) once named a unique index that a migration had replaced, and
every full bench run died at that step; here it runs a few transactions on
a test stack's database, with leads seeded as scripts/bench seeds them.
"""
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from replay_support import StackTestCase  # noqa: E402
from stack import REPO  # noqa: E402

BENCH_PY = os.path.join(REPO, "scripts", "bench_support", "bench.py")
LEADS = 3
TRANSACTIONS = 5


class BenchSqlTest(StackTestCase):
    def test_pgbench_write_runs_on_the_migrated_schema(self):
        stack = self.stack
        # As scripts/bench seeds them: message id bench.N@leadhook.bench, ids 1..N.
        stack.sql("TRUNCATE leads RESTART IDENTITY CASCADE")
        stack.sql("INSERT INTO leads (email_addr, followup_email_receipt_id,"
                  " followup_email_sent_date) SELECT 'lead' || i || '@bench.test',"
                  " 'bench.' || i || '@leadhook.bench', now() - interval '1 day'"
                  " FROM generate_series(1, %d) i" % LEADS)
        script = subprocess.run([sys.executable, BENCH_PY, "pgbench-script", "--leads",
                                 str(LEADS)], check=True, capture_output=True, text=True).stdout
        path = os.path.join(stack.dir, "write.sql")
        with open(path, "w") as f:
            f.write(script)
        before = int(stack.scalar("SELECT count(*) FROM lead_email_events"))
        done = subprocess.run(["pgbench", "-n", "-M", "prepared", "-c", "1", "-t",
                               str(TRANSACTIONS), "-f", path, stack.db_url],
                              capture_output=True, text=True, timeout=60)
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        added = int(stack.scalar("SELECT count(*) FROM lead_email_events")) - before
        self.assertEqual(added, TRANSACTIONS)
        self.assertEqual(stack.scalar(
            "SELECT count(*) FROM lead_email_events e JOIN lead_email_event_payloads p"
            " ON p.event_id = e.id WHERE e.signing_key_label = 'pgbench'"), str(TRANSACTIONS))
        self.assertEqual(stack.scalar("SELECT sum(followup_email_opens) FROM leads"),
                         str(TRANSACTIONS))


if __name__ == "__main__":
    unittest.main()
