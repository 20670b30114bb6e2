#!/usr/bin/env python3
"""Integration: leadhook with a primary and a streaming standby.

Real PostgreSQL processes: the stack's private cluster as the primary, and a
physical standby made from it with pg_basebackup (its own data directory and
unix socket, run by the cluster's owner). leadhook gets a multi-host
connection string that names the standby first, with
target_session_attrs=read-write, as docs/ha.md says to. Checked:

- writes go to the primary and reach the standby;
- `leadhook migrate` and `leadhook purge` refuse a standby, by name;
- with the primary gone and the standby not yet promoted, a webhook gets 503
  with Retry-After, /api/v1/ready says there is no writable primary, and
  leadhook_database_available is 0;
- once the standby is promoted, leadhook writes there by itself (no restart):
  the retried webhook gets 200, once, and the metrics count the reconnect
  and the time without a primary;
- a COMMIT whose wait for the synchronous standby is cancelled (PostgreSQL
  then answers it with a WARNING, committed on that server only) is not
  acknowledged: 503, and the retry is answered from the ledger.

pg_auto_failover, a monitor and SIGKILLed nodes are scripts/ha-test's.
"""
import os
import secrets
import shutil
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from stack import TEST_KEY, Stack, Waiting, json_webhook, psql  # noqa: E402

EVENTS = "/api/v1/wh/mg/events"
BIN = os.environ.get("LEADHOOK_BIN")


def event_data(kind="delivered"):
    return {"event": kind, "id": secrets.token_hex(8), "timestamp": time.time(),
            "recipient": "standby-%s@standby.test" % secrets.token_hex(4),
            "message": {"headers": {"message-id": "%s@standby.test" % secrets.token_hex(6)}}}


def without_leadhook_env():
    return {k: v for k, v in os.environ.items() if not k.startswith("LEADHOOK_")}


def private_stack():
    """A Stack with its own PostgreSQL, whose server the tests reconfigure."""
    stack = Stack()
    if stack.env.get("LEADHOOK_DATABASE_EXTERNAL") == "1":
        stack.stop()
        raise unittest.SkipTest("needs the stack's private PostgreSQL")
    return stack


class Standby:
    """A hot standby of `stack`'s private cluster, streaming from it."""

    def __init__(self, stack):
        env = stack.env
        self.bin = env["PG_BIN"]
        self.owner = env["PG_OS_USER"]
        runtime = env["LEADHOOK_RUNTIME_DIR"]
        self.data = os.path.join(runtime, "standby-data")
        self.socket_dir = os.path.join(runtime, "standby-pg")
        self.log = os.path.join(stack.dir, "standby.log")
        os.mkdir(self.data, 0o700)
        os.mkdir(self.socket_dir, 0o755)
        if os.geteuid() == 0:
            shutil.chown(self.data, self.owner)
            shutil.chown(self.socket_dir, self.owner)
        self.as_owner(os.path.join(self.bin, "pg_basebackup"), "-D", self.data, "-R", "-X",
                      "stream", "-c", "fast", "-d",
                      "host=%s port=5432 user=leadhook" % env["PG_SOCKET_DIR"])
        self.url = "host=%s port=5433 dbname=leadhook user=leadhook" % self.socket_dir
        self.start()

    def as_owner(self, *args):
        command = list(args)
        if os.geteuid() == 0:
            command = ["runuser", "-u", self.owner, "--"] + command
        with open(self.log, "a") as log:
            subprocess.run(command, cwd="/", stdout=log, stderr=subprocess.STDOUT, check=True,
                           timeout=120)

    def start(self):
        self.as_owner(os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-w", "-t", "30", "-o",
                      "-c port=5433 -c unix_socket_directories=%s -c listen_addresses=''"
                      % self.socket_dir, "start")

    def promote(self):
        self.as_owner(os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-w", "promote")

    def stop(self):
        try:
            self.as_owner(os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-m", "immediate",
                          "stop")
        except subprocess.CalledProcessError:
            pass  # not running

    def scalar(self, query, *params):
        rows = psql(self.url, query, *params)
        return rows[0][0] if rows else None


class FollowsThePrimary(Waiting, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.primary = private_stack()
        cls.standby = Standby(cls.primary)
        cls.url = ("host=%s,%s port=5433,5432 dbname=leadhook user=leadhook"
                   " target_session_attrs=read-write"
                   % (cls.standby.socket_dir, cls.primary.env["PG_SOCKET_DIR"]))
        # A second stack whose leadhook uses the multi-host string; the first
        # one's PostgreSQL is the primary.
        cls.stack = Stack(extra_env={"LEADHOOK_DATABASE_URL": cls.url})

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()
        cls.standby.stop()
        cls.primary.stop()

    def stored(self, db, token):
        return db("SELECT count(*) FROM lead_email_events WHERE token = :'p0'", token)

    def command(self, *args, url):
        env = without_leadhook_env()
        env["LEADHOOK_DATABASE_URL"] = url
        env["LEADHOOK_SIGNING_KEYS"] = TEST_KEY
        return subprocess.run([BIN] + list(args), env=env, capture_output=True, text=True,
                              timeout=60)

    def ready(self):
        status, _, body = self.stack.request("GET", "/api/v1/ready")
        return status, body.decode()

    def test_writes_follow_the_primary_through_a_failover(self):
        before = json_webhook(event_data())
        status, _, _ = self.stack.post(EVENTS, before)
        self.assertEqual(status, 200)
        token_before = self.stack.scalar(
            "SELECT token FROM lead_email_events ORDER BY id DESC LIMIT 1")
        self.assertEqual(self.stored(self.primary.scalar, token_before), "1")
        self.wait_for("the event reaches the standby",
                      lambda: self.stored(self.standby.scalar, token_before) == "1")

        for args in (["migrate"], ["purge"]):
            refused = self.command(*args, url=self.standby.url)
            self.assertNotEqual(refused.returncode, 0, refused.stdout)
            self.assertIn("read-only standby", refused.stderr + refused.stdout)

        self.primary.pg_stop()
        during = json_webhook(event_data())
        status, headers, _ = self.stack.post(EVENTS, during)
        self.assertEqual(status, 503)
        self.assertIn("retry-after", headers)
        status, body = self.ready()
        self.assertEqual(status, 503)
        self.assertIn("no writable primary", body)
        self.assertEqual(self.stack.metrics()["leadhook_database_available"], 0)

        self.standby.promote()
        statuses = []

        def retried_until_stored():
            statuses.append(self.stack.post(EVENTS, during)[0])
            return statuses[-1] == 200

        self.wait_for("the retried webhook is stored on the promoted standby",
                      retried_until_stored, seconds=60)
        self.assertTrue(all(s in (200, 503) for s in statuses), statuses)
        self.assertEqual(self.ready()[0], 200)
        token_during = self.standby.scalar(
            "SELECT token FROM lead_email_events ORDER BY id DESC LIMIT 1")
        self.assertNotEqual(token_during, token_before)
        self.assertEqual(self.stored(self.standby.scalar, token_during), "1")
        self.assertEqual(self.standby.scalar("SELECT count(*) FROM lead_email_events"), "2")
        metrics = self.stack.metrics()
        self.assertEqual(metrics["leadhook_database_available"], 1)
        self.assertGreater(metrics["leadhook_database_unavailable_seconds_total"], 0)
        self.assertGreaterEqual(metrics["leadhook_database_reconnects_total"], 1)


class UnconfirmedCommit(Waiting, unittest.TestCase):
    """synchronous_standby_names names a standby that never comes, so a
    COMMIT waits for it; cancelling the wait (pg_cancel_backend, as an
    operator or a tool may) makes PostgreSQL answer the COMMIT with a
    WARNING and keep the transaction, committed on this server only.
    (statement_timeout never ends such a wait: PostgreSQL disables it before
    the commit.)"""

    @classmethod
    def setUpClass(cls):
        cls.stack = private_stack()

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def set_synchronous_standby(self, name):
        self.stack.sql("ALTER SYSTEM SET synchronous_standby_names = :'p0'", name)
        self.stack.sql("SELECT pg_reload_conf()")

    def waiting_for_the_standby(self):
        return self.stack.scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'SyncRep'"
            " AND application_name = 'leadhook'") == "1"

    def test_a_commit_the_standby_did_not_confirm_is_not_acknowledged(self):
        # The month's partitions first: their own commits would wait too.
        self.assertEqual(self.stack.post(EVENTS, json_webhook(event_data()))[0], 200)
        self.assertEqual(self.stack.post(EVENTS, json_webhook(event_data()))[0], 200)
        body = json_webhook(event_data())
        self.set_synchronous_standby("nobody")
        self.addCleanup(self.set_synchronous_standby, "")
        answers = []
        post = threading.Thread(target=lambda: answers.append(self.stack.post(EVENTS, body)))
        post.start()
        self.wait_for("leadhook's COMMIT waits for the synchronous standby",
                      self.waiting_for_the_standby)
        self.stack.sql("SELECT pg_cancel_backend(pid) FROM pg_stat_activity"
                       " WHERE wait_event = 'SyncRep'")
        post.join(timeout=30)
        status, headers, _ = answers[0]
        self.assertEqual(status, 503)
        self.assertIn("retry-after", headers)
        # Committed on the primary all the same: the retry is a duplicate.
        self.assertEqual(self.stack.scalar("SELECT count(*) FROM lead_email_events"), "3")
        self.set_synchronous_standby("")
        status, _, payload = self.stack.post(EVENTS, body)
        self.assertEqual(status, 200)
        self.assertEqual(payload.get("status"), "duplicate", payload)
        self.assertEqual(self.stack.scalar("SELECT count(*) FROM lead_email_events"), "3")


if __name__ == "__main__":
    unittest.main(verbosity=2)
