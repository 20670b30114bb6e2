#!/usr/bin/env python3
"""Integration: SIGTERM under load, through nginx -> leadhook -> PostgreSQL.

A psql session holds a lead's row lock, so the group-commit writer's
transaction waits on it and every worker waits on the writer; more requests
queue behind them. Then SIGTERM:
- released in time, every request leadhook had accepted is answered 200 and
  stored, the queued ones are refused (502, nothing stored: Mailgun retries)
  and leadhook exits 0;
- not released within drain_timeout_seconds, leadhook logs how many requests
  it abandons and exits 1, and none of them is stored.
"""
import os
import signal
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from stack import Stack, Waiting, json_webhook, process_running  # noqa: E402

EVENTS = "/api/v1/wh/mg/events"
WORKERS = 4  # stack.py starts leadhook with --threads 4
QUEUED = 4   # requests beyond the workers, waiting in the socket's queue


class DrainTestCase(Waiting, unittest.TestCase):
    STACK_ENV = {}

    def setUp(self):
        self.stack = Stack(self.STACK_ENV)
        self.stopped = False
        self.addCleanup(self.stop_stack)
        self.pid = int(self.stack.env["LEADHOOK_PID"])

    def stop_stack(self):
        if not self.stopped:
            self.stack.stop()

    def waiting_on_lock(self):
        return int(self.stack.scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'leadhook'"
            " AND wait_event_type = 'Lock'"))

    def wait_for_every_worker_blocked(self):
        """Workers hand their events to the group-commit writers, so it is a
        writer that waits on the row lock, the workers on the writer; once one
        waits, the rest of the concurrent posts settle in shortly."""
        self.wait_for("a writer waits on the row lock", lambda: self.waiting_on_lock() >= 1)
        time.sleep(1.0)

    def event_count(self):
        return int(self.stack.scalar("SELECT count(*) FROM lead_email_events"))

    def hold_lead_lock(self, email):
        """A lead, and a psql session holding its row lock (COMMIT releases it)."""
        lead = int(self.stack.scalar(
            "INSERT INTO leads (email_addr, followup_email_sent_date) VALUES (:'p0', now())"
            " RETURNING id", email))
        return lead, self.hold(self.stack, "SELECT id FROM leads WHERE id = %d FOR UPDATE" % lead,
                               "%FOR UPDATE%")

    def post_in_background(self, email, count):
        """Starts `count` concurrent posts for the lead; returns (threads, replies)."""
        replies = []
        lock = threading.Lock()

        def post(i):
            body = json_webhook({"event": "delivered", "timestamp": 1700000100.0 + i,
                                 "recipient": email})
            status, _, reply = self.stack.post(EVENTS, body)
            with lock:
                replies.append((status, reply))

        threads = [threading.Thread(target=post, args=(i,)) for i in range(count)]
        for t in threads:
            t.start()
        return threads, replies

    def leadhook_exited(self):
        return not process_running(self.pid)


class DrainInTimeTests(DrainTestCase):
    def test_every_accepted_request_is_answered_and_leadhook_exits_0(self):
        email = "drain-all@example.com"
        lead, holder = self.hold_lead_lock(email)
        before = self.event_count()
        threads, replies = self.post_in_background(email, WORKERS + QUEUED)
        try:
            self.wait_for_every_worker_blocked()
            time.sleep(0.3)  # the rest reach nginx and leadhook's socket queue
            os.kill(self.pid, signal.SIGTERM)
            time.sleep(0.5)
            self.assertFalse(self.leadhook_exited(), "leadhook did not wait for its requests")
        finally:
            holder.commit()
        for t in threads:
            t.join(timeout=60)
        statuses = sorted(status for status, _ in replies)
        self.assertEqual(len(statuses), WORKERS + QUEUED)
        # The accepted ones (one per worker) are answered; the queued ones were
        # never accepted, and nginx refuses them so that Mailgun retries.
        self.assertEqual(statuses, [200] * WORKERS + [502] * QUEUED, replies)
        self.assertTrue(all(reply["l_id"] == lead for status, reply in replies if status == 200))
        self.assertEqual(self.event_count() - before, WORKERS)
        self.wait_for("leadhook exits", self.leadhook_exited)
        log = self.stack.leadhook_log()
        self.assertIn("leadhook stopped", log)
        self.assertNotIn("drain timed out", log)
        self.stopped = True
        self.stack.stop()  # raises unless leadhook exited with status 0


class DrainTimeoutTests(DrainTestCase):
    STACK_ENV = {"LEADHOOK_DRAIN_TIMEOUT_SECONDS": "1"}

    def test_requests_still_running_after_the_timeout_are_abandoned_with_status_1(self):
        email = "drain-late@example.com"
        _, holder = self.hold_lead_lock(email)
        before = self.event_count()
        threads, replies = self.post_in_background(email, WORKERS)
        try:
            self.wait_for_every_worker_blocked()
            started = time.time()
            os.kill(self.pid, signal.SIGTERM)
            self.wait_for("leadhook gives up", self.leadhook_exited, seconds=10)
            took = time.time() - started
        finally:
            holder.commit()  # only now: too late for leadhook
        self.assertGreaterEqual(took, 0.9)
        self.assertLess(took, 5)
        for t in threads:
            t.join(timeout=60)
        self.assertEqual(sorted(status for status, _ in replies), [502] * WORKERS, replies)
        self.assertRegex(self.stack.leadhook_log(),
                         r"level=error msg=\"drain timed out; abandoning the requests still in "
                         r"flight\" in_flight=%d workers=%d drain_timeout_seconds=1" % (WORKERS,
                                                                                       WORKERS))
        # Their transactions roll back once PostgreSQL sees the connections gone.
        self.wait_for("the abandoned transactions end", lambda: int(self.stack.scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'leadhook'"
            " AND state <> 'idle'")) == 0)
        self.assertEqual(self.event_count(), before)
        self.stopped = True
        with self.assertRaises(RuntimeError) as stopped:
            self.stack.stop()
        self.assertIn("exit status 1", str(stopped.exception))


if __name__ == "__main__":
    unittest.main(verbosity=2)
