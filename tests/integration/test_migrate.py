#!/usr/bin/env python3
"""Integration: `leadhook migrate`, the schema version behind /api/v1/ready,
and reconnect backoff, against the real stack (scripts/stack applies the
schema with `leadhook migrate` itself).
"""
import glob
import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from stack import REPO, Stack, json_webhook  # noqa: E402

EVENTS = "/api/v1/wh/mg/events"
BIN = os.environ.get("LEADHOOK_BIN", os.path.join(REPO, "build", "src", "leadhook"))
SQL_FILES = sorted(glob.glob(os.path.join(REPO, "sql", "*.sql")))
NEWEST = max(int(os.path.basename(f).split("_")[0]) for f in SQL_FILES)
CONNECT_TIMEOUT = 5  # leadhook's libpq connect_timeout


def sha256_hex(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class MigrateTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # One group-commit writer, so that the backoff test below sees one
        # connection's schedule rather than two interleaved.
        cls.stack = Stack({"LEADHOOK_WRITERS": "1"})

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def migrate(self, database_url=None, **env_extra):
        """`leadhook migrate` with nothing but a database URL: no keys needed."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("LEADHOOK_")}
        env["LEADHOOK_DATABASE_URL"] = database_url or self.stack.db_url
        env.update(env_extra)
        return subprocess.run([BIN, "migrate"], env=env, capture_output=True, text=True,
                              timeout=60)

    def recorded(self):
        return {int(v): (name, checksum) for v, name, checksum in self.stack.sql(
            "SELECT version, name, checksum FROM leadhook_migrations ORDER BY version")}

    def ready(self):
        status, _, body = self.stack.request("GET", "/api/v1/ready")
        return status, json.loads(body)

    def assert_current(self):
        result = self.migrate()
        self.assertEqual((result.returncode, result.stdout),
                         (0, "schema is current (version %d)\n" % NEWEST), result.stderr)

    def private_cluster(self):
        if self.stack.env.get("LEADHOOK_DATABASE_EXTERNAL") == "1":
            self.skipTest("needs the stack's private PostgreSQL")

    def test_stack_start_recorded_every_file_with_its_checksum(self):
        with open(os.path.join(self.stack.dir, "schema.log")) as f:
            log = f.read()
        expected = {int(os.path.basename(f).split("_")[0]): (os.path.basename(f), sha256_hex(f))
                    for f in SQL_FILES}
        self.assertEqual(self.recorded(), expected)
        if self.stack.env.get("LEADHOOK_DATABASE_EXTERNAL") != "1":
            self.assertEqual(log.count("applied "), len(SQL_FILES), log)
        self.assert_current()

    def test_two_migrations_at_once_on_a_fresh_database(self):
        self.private_cluster()
        # Empty the stack's own database, so that the running leadhook then
        # proves the schema the two processes built works.
        self.stack.sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
        env = {k: v for k, v in os.environ.items() if not k.startswith("LEADHOOK_")}
        env["LEADHOOK_DATABASE_URL"] = self.stack.db_url
        procs = [subprocess.Popen([BIN, "migrate"], env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(2)]
        outputs = [p.communicate(timeout=60) for p in procs]
        for p, (out, err) in zip(procs, outputs):
            self.assertEqual(p.returncode, 0, out + err)
        stdout = "".join(out for out, _ in outputs)
        for f in SQL_FILES:  # each applied by exactly one of them
            self.assertEqual(stdout.count("applied %s " % os.path.basename(f)), 1, stdout)
        self.assertIn("schema is current (version %d)" % NEWEST, stdout)
        self.assertEqual(sorted(self.recorded()), list(range(1, NEWEST + 1)))
        lead = int(self.stack.scalar(
            "INSERT INTO leads (email_addr, followup_email_sent_date)"
            " VALUES ('fresh@example.com', now()) RETURNING id"))
        status, _, reply = self.stack.post(EVENTS, json_webhook(
            {"event": "delivered", "timestamp": 1700000000.0, "recipient": "fresh@example.com"}))
        self.assertEqual((status, reply["l_id"], reply["status"]), (200, lead, "success"), reply)
        self.assertEqual(self.stack.scalar(
            "SELECT followup_email_delivered FROM leads WHERE id = %d" % lead), "t")

    def test_an_edited_migration_is_refused_by_name(self):
        real = self.recorded()[1][1]
        self.stack.sql("UPDATE leadhook_migrations SET checksum = 'x' WHERE version = 1")
        try:
            result = self.migrate()
            self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
            self.assertIn("migration 1 (001_leads.sql) was changed after it was applied",
                          result.stderr)
            self.assertEqual(result.stdout, "")
        finally:
            self.stack.sql("UPDATE leadhook_migrations SET checksum = :'p0' WHERE version = 1",
                           real)
        self.assert_current()

    def test_exit_status_tells_configuration_from_database(self):
        bad = self.migrate("nonsense_option=1")
        self.assertEqual(bad.returncode, 2, bad.stderr)
        self.assertIn("invalid configuration", bad.stderr)
        gone = self.migrate("host=/nonexistent-leadhook-dir dbname=leadhook")
        self.assertEqual(gone.returncode, 1, gone.stderr)
        self.assertIn("cannot connect", gone.stderr)

    def test_ready_follows_the_schema_version(self):
        self.assertEqual(self.ready(), (200, {"status": "ready"}))
        self.stack.sql("DELETE FROM leadhook_migrations WHERE version = :'p0'", NEWEST)
        try:
            self.assertEqual(self.ready(), (503, {
                "status": "not ready",
                "reason": "schema behind: at version %d, this build needs %d (run leadhook "
                          "migrate)" % (NEWEST - 1, NEWEST)}))
            self.stack.sql("ALTER TABLE leadhook_migrations RENAME TO leadhook_migrations_away")
            try:
                self.assertEqual(self.ready(), (503, {
                    "status": "not ready", "reason": "no migrations table (run leadhook migrate)"}))
            finally:
                self.stack.sql("ALTER TABLE leadhook_migrations_away RENAME TO leadhook_migrations")
            # A newer build's migration: old instances keep serving.
            self.stack.sql("INSERT INTO leadhook_migrations VALUES (9999, '9999_future.sql', 'f')")
            self.assertEqual(self.ready(), (200, {"status": "ready"}))
            self.stack.sql("DELETE FROM leadhook_migrations WHERE version = 9999")
        finally:
            result = self.migrate()  # records the deleted version again
        self.assertEqual(result.stdout, "applied %s (version %d)\n" % (
            os.path.basename(SQL_FILES[-1]), NEWEST), result.stderr)
        self.assertEqual(self.ready(), (200, {"status": "ready"}))

    def postmaster_pid(self):
        with open(os.path.join(self.stack.env["PG_DATA"], "postmaster.pid")) as f:
            return int(f.readline())

    def post_timed(self, body):
        started = time.monotonic()
        status, headers, reply = self.stack.post(EVENTS, body)
        return status, headers, reply, time.monotonic() - started

    def concurrently(self, n, body):
        results = [None] * n

        def run(i):
            results[i] = self.post_timed(body)
        threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return results

    def test_server_notices_are_log_lines_with_a_level(self):
        self.private_cluster()
        self.stack.scalar("INSERT INTO leads (email_addr, followup_email_sent_date)"
                          " VALUES ('notice@example.com', now()) RETURNING id")
        body = json_webhook({"event": "delivered", "timestamp": 1700000200.0,
                             "recipient": "notice@example.com"})
        self.assertEqual(self.stack.post(EVENTS, body)[0], 200)  # the writer is connected
        before = len(self.stack.leadhook_log())
        # An immediate shutdown warns every connection (57P01); leadhook reads
        # it when it next uses one.
        env = self.stack.env
        as_owner = ["runuser", "-u", env["PG_OS_USER"], "--"] if os.geteuid() == 0 else []
        subprocess.run(as_owner + [os.path.join(env["PG_BIN"], "pg_ctl"), "-D", env["PG_DATA"],
                                   "-m", "immediate", "-w", "stop"],
                       check=True, capture_output=True, timeout=60)
        try:
            self.assertEqual(self.stack.post(EVENTS, body)[0], 503)
        finally:
            self.stack.pg_start()
        log = self.stack.leadhook_log()[before:]
        self.assertIn('level=warn msg="PostgreSQL: terminating connection due to immediate'
                      ' shutdown command" severity=WARNING sqlstate=57P01', log)
        self.assertNotIn("WARNING:  terminating", log)  # libpq's own line
        deadline = time.time() + 40  # Mailgun's retry, once the writer's backoff allows
        while self.stack.post(EVENTS, body)[0] != 200:
            self.assertLess(time.time(), deadline, "not stored after PostgreSQL came back")
            time.sleep(0.5)

    def test_unreachable_database_is_not_retried_on_every_request(self):
        self.private_cluster()
        self.stack.scalar(
            "INSERT INTO leads (email_addr, followup_email_sent_date)"
            " VALUES ('backoff@example.com', now()) RETURNING id")
        body = json_webhook({"event": "delivered", "timestamp": 1700000100.0,
                             "recipient": "backoff@example.com"})
        # Cut every leadhook connection, then freeze the postmaster: a new
        # connection now hangs until connect_timeout instead of failing fast,
        # which is what makes retrying on every request expensive.
        self.stack.sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                       " WHERE application_name = 'leadhook'")
        postmaster = self.postmaster_pid()
        os.kill(postmaster, signal.SIGSTOP)
        try:
            # Events go to the writer's connection. Its first failed connect
            # is retried at once (a restart looks like that); the second
            # starts the wait. So two requests wait for connect_timeout...
            slow = 0
            while True:
                status, headers, _, took = self.post_timed(body)
                self.assertEqual(status, 503)
                self.assertIn("retry-after", headers)
                if took < 1.0:
                    break
                self.assertGreater(took, CONNECT_TIMEOUT - 1)
                slow += 1
                self.assertLessEqual(slow, 2, "a connect was tried for every request")
            self.assertEqual(slow, 2)
            # ...and the rest, inside the wait, are answered without trying,
            # concurrent ones included.
            for _ in range(3):
                for status, _, _, took in self.concurrently(4, body):
                    self.assertEqual(status, 503)
                    self.assertLess(took, 1.0)
        finally:
            os.kill(postmaster, signal.SIGCONT)
        started = time.monotonic()
        while True:
            status, _, reply, _ = self.post_timed(body)
            if status == 200:
                break
            self.assertEqual(status, 503, reply)
            self.assertLess(time.monotonic() - started, 31, "no recovery within the backoff cap")
            time.sleep(0.2)
        self.assertEqual(reply["status"], "success", reply)


if __name__ == "__main__":
    unittest.main(verbosity=2)
