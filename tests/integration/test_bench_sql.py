#!/usr/bin/env python3
"""Integration: the SQL scripts/bench runs besides leadhook still fits the
schema `leadhook migrate` makes. Its pgbench ceiling ("the same write" as
leadhook's) once named a unique index that a migration had replaced, and
every full bench run died at that step; here it runs a few transactions on
a test stack's database, with leads seeded as scripts/bench seeds them.

Also the legacy form `delivered` bodies scripts/bench posts to leadhook and
to the original Flask app side by side (bench.py gen --form-delivered): a
few are posted to the test stack's leadhook, which must store each for the
lead its Message-Id names; and each must pass the original app's own
signature check (its verify(), taken from ../shared/peers/flask-seed/app.py
without Flask) with the fields it reads and a recipient its schema seeds.
"""
import ast
import glob
import hashlib
import hmac
import os
import re
import subprocess
import sys
import tempfile
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
from replay_support import StackTestCase  # noqa: E402
from stack import REPO, TEST_KEY  # noqa: E402

BENCH_PY = os.path.join(REPO, "scripts", "bench_support", "bench.py")
LEADS = 3
TRANSACTIONS = 5
DELIVERED = "/api/v1/wh/mg/lead/email/delivered"
PEER_DIR = os.environ.get("LEADHOOK_BENCH_PEER_DIR") or os.path.join(
    os.path.dirname(REPO), "shared", "peers", "flask-seed")


def form_delivered_bodies(count, leads, key=TEST_KEY):
    """Bodies as scripts/bench generates them for the side-by-side runs."""
    with tempfile.TemporaryDirectory() as out:
        subprocess.run([sys.executable, BENCH_PY, "gen", "--key", key, "--leads", str(leads),
                        "--count", str(count), "--threads", "2", "--out", out, "--seq", "1",
                        "--form-delivered"], check=True, capture_output=True, text=True)
        bodies = []
        for path in sorted(glob.glob(os.path.join(out, "bodies.*"))):
            with open(path) as f:
                bodies += [line.rstrip("\n") for line in f if line.strip()]
    return bodies


def seed_bench_leads(stack):
    """As scripts/bench seeds them: message id bench.N@leadhook.bench, ids 1..N;
    on tables as empty as a new stack's (no event or payload of another test)."""
    stack.sql("TRUNCATE leads, lead_email_events, lead_email_event_payloads, webhook_tokens"
              " RESTART IDENTITY CASCADE")
    stack.sql("INSERT INTO leads (email_addr, followup_email_receipt_id,"
              " followup_email_sent_date) SELECT 'lead' || i || '@bench.test',"
              " 'bench.' || i || '@leadhook.bench', now() - interval '1 day'"
              " FROM generate_series(1, %d) i" % LEADS)


class BenchSqlTest(StackTestCase):
    def test_pgbench_write_runs_on_the_migrated_schema(self):
        stack = self.stack
        seed_bench_leads(stack)
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

    def test_form_delivered_bodies_are_stored_by_leadhook(self):
        stack = self.stack
        seed_bench_leads(stack)
        bodies = form_delivered_bodies(6, LEADS)
        self.assertEqual(len(bodies), 6)
        for body in bodies:
            lead = int(re.search(r"Message-Id=%3Cbench\.(\d+)%40", body).group(1))
            status, reply = self.post(body.encode(), "application/x-www-form-urlencoded", DELIVERED)
            self.assertEqual(status, 200, reply)
            self.assertEqual((reply.get("status"), reply.get("l_id")), ("success", lead), reply)
        self.assertEqual(stack.scalar(
            "SELECT count(*) FROM lead_email_events WHERE event_type = 'delivered'"
            " AND lead_id IS NOT NULL"), "6")

    def test_form_delivered_bodies_fit_the_original_app(self):
        app = os.path.join(PEER_DIR, "app.py")
        if not os.path.isfile(app):
            self.skipTest("the original app is not in %s" % PEER_DIR)
        with open(app) as f:
            tree = ast.parse(f.read())
        # Its signature check, as written there (it needs only hmac and hashlib).
        verify_def = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "verify")
        scope = {"hmac": hmac, "hashlib": hashlib}
        exec(compile(ast.Module(body=[verify_def], type_ignores=[]), app, "exec"), scope)
        # The form fields it reads: request.form.get("NAME", ...).
        read = {n.args[0].value for n in ast.walk(tree)
                if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
                and n.func.attr == "get" and ast.unparse(n.func.value) == "request.form"
                and n.args and isinstance(n.args[0], ast.Constant)}
        self.assertLessEqual({"recipient", "token", "timestamp", "signature", "Message-Id"}, read)
        for body in form_delivered_bodies(6, LEADS):
            fields = urllib.parse.parse_qs(body, keep_blank_values=True)
            first = {k: v[0] for k, v in fields.items()}
            self.assertLessEqual({"recipient", "token", "timestamp", "signature", "Message-Id",
                                  "event"}, set(first))
            self.assertEqual(first["event"], "delivered")
            self.assertTrue(scope["verify"](TEST_KEY, first["token"], first["timestamp"],
                                            first["signature"]), body)
            self.assertFalse(scope["verify"]("another key", first["token"], first["timestamp"],
                                             first["signature"]))
            # schema.sql seeds lead1@example.com .. leadN@example.com.
            m = re.fullmatch(r"lead(\d+)@example\.com", first["recipient"])
            self.assertTrue(m and 1 <= int(m.group(1)) <= LEADS, first["recipient"])
            self.assertEqual(first["Message-Id"], "<bench.%s@leadhook.bench>" % m.group(1))


if __name__ == "__main__":
    unittest.main()
