#!/usr/bin/env python3
"""Integration: `leadhook backfill` against a local fake of Mailgun's API
(fake_mailgun.py: the published Logs, Events and suppression list shapes,
served from the corpus) through real libcurl, into a real PostgreSQL behind
the dev stack, next to webhooks arriving through nginx.

Checks: paging of both APIs to their last page, one event stored once
whatever the order and however often it arrives (webhook then backfill,
backfill then webhook, backfill twice, the Logs API's millisecond times
against a webhook's microseconds), identical lead state either way, 429 with
Retry-After and a 500 retried, 401 refused with exit 2, an interrupt after a
committed page and --resume, the --dry-run reconciliation (table, CSV, JSON,
nothing written), Mailgun's suppression lists imported, and the suppression
list written with the events outliving them.
"""
import json
import os
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from fake_mailgun import FakeEvent, FakeMailgun, corpus_events  # noqa: E402
from stack import STACK, Stack, form_webhook, free_port, json_webhook  # noqa: E402

DOMAIN = "mg.example.com"
API_KEY = "key-backfill-test-0123456789"
START = 1764579600  # 2025-12-01T09:00:00Z: the first event; one a minute after
RANGE = ["--begin", "2025-12-01T00:00:00Z", "--end", "2025-12-02T00:00:00Z"]
SUMMARY = "backfill: fetched=%d stored=%d duplicate=%d skipped=%d"

RESET = """TRUNCATE lead_email_events, lead_email_event_payloads, webhook_tokens, suppressions,
    backfilled_events,
    backfill_checkpoints, leads RESTART IDENTITY"""
# Leads for the samples' follow-ups: by message id, and one by address only.
SEED = """INSERT INTO leads (id, email_addr, followup_email_receipt_id) VALUES
  (1, 'recipient@example.com', '<20180812213139.1.BC6694A917BB7E6A@example.org>'),
  (2, 'alice@example.com', '<20130503182626.18666.16540@app.symfony.com>'),
  (3, 'invalid@example.com', '<20180812214658.1.0DF563D0B3597700@example.org>'),
  (4, 'alice@example.com', '<20130503192659.13651.20287@app.symfony.com>')"""
# Times as {unit}: the Logs API gives them to the millisecond, so a lead's
# times from a backfilled Logs event are only that precise.
LEAD_STATE = """SELECT id, followup_email_status, followup_email_delivered,
    followup_email_bounced, followup_email_spam, followup_email_unsub, followup_email_dropped,
    is_optout, followup_email_opens, followup_email_clicks,
    date_trunc('{unit}', followup_email_status_at), date_trunc('{unit}', followup_email_open_at),
    date_trunc('{unit}', followup_email_click_at), bounce_code, dropped_reason
  FROM leads ORDER BY id"""
# One row per Mailgun event, whichever way it came (ms: the Logs API's unit).
EVENT_IDENTITY = """SELECT mailgun_event_id, event_type,
    date_trunc('milliseconds', event_time), lead_id, count(*)
  FROM lead_email_events GROUP BY 1, 2, 3, 4 ORDER BY 1, 2"""


class BackfillTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = Stack()
        cls.key_file = os.path.join(cls.stack.dir, "mailgun-api-key")
        with open(cls.key_file, "w") as f:
            f.write("# Mailgun API key (tests)\n%s\n" % API_KEY)
        cls.events = corpus_events(DOMAIN, START)
        cls.api = FakeMailgun(API_KEY, DOMAIN, cls.events, free_port(), page_size=5)
        cls.api.__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.api.__exit__(None, None, None)
        cls.stack.stop()

    def setUp(self):
        self.stack.sql(RESET)
        self.stack.sql(SEED)
        self.api.requests.clear()
        self.api.pages_served = 0
        self.api._delays.clear()

    def backfill(self, *args, key_file=None):
        return self.stack.leadhook("backfill", "--domain", DOMAIN, "--api-key-file",
                                   key_file or self.key_file, "--api-base", self.api.base,
                                   *args)

    def assert_summary(self, result, fetched, stored, duplicate, skipped=0):
        self.assertIn(SUMMARY % (fetched, stored, duplicate, skipped), result.stdout,
                      result.stdout + result.stderr)

    def post_webhooks(self, events):
        for event in events:
            status, _, answer = self.stack.post("/api/v1/wh/mg/events", json_webhook(event.data))
            self.assertEqual(status, 200, (event.source, answer))

    def snapshot(self, unit="microseconds"):
        return (self.stack.sql(LEAD_STATE.format(unit=unit)), self.stack.sql(EVENT_IDENTITY),
                self.stack.sql("SELECT address, reason, date_trunc('%s', first_at) FROM suppressions"
                               " ORDER BY 1, 2" % unit))

    def test_events_api_pages_to_the_empty_page_and_stores_each_event_once(self):
        n = len(self.events)
        first = self.backfill("--api", "events", *RANGE)
        self.assertEqual(first.returncode, 0, first.stderr)
        self.assert_summary(first, n, n, 0)
        self.assertIn("complete, 6 pages", first.stderr)  # 5 of items, then the empty one
        _, path, query = self.api.requests[0]
        self.assertEqual(path, "/v3/%s/events" % DOMAIN)
        self.assertEqual((query["begin"], query["end"], query["ascending"], query["limit"]),
                         (["1764547200"], ["1764633600"], ["yes"], ["300"]))
        self.assertEqual(self.stack.scalar(
            "SELECT count(*) FROM lead_email_events WHERE source = 'api'"), str(n))
        self.assertEqual(self.stack.scalar(
            "SELECT string_agg(DISTINCT route, ',') FROM lead_email_events"), "backfill:events")
        again = self.backfill("--api", "events", *RANGE)
        self.assert_summary(again, n, 0, n)
        self.assertEqual(self.stack.scalar("SELECT count(*) FROM lead_email_events"), str(n))
        # The matched follow-ups' state, from the samples. Leads 1 and 2 were
        # opened and clicked once each; 3 and 4 bounced. The two complaints
        # name message ids no lead has: they go to the newest lead of their
        # address (1; and 4 of alice's two).
        self.assertEqual(self.stack.sql(
            "SELECT id, followup_email_opens, followup_email_clicks, followup_email_bounced,"
            " followup_email_spam FROM leads ORDER BY id"),
            [["1", "1", "1", "f", "t"], ["2", "1", "1", "f", "f"], ["3", "0", "0", "t", "f"],
             ["4", "0", "0", "t", "t"]])

    def test_logs_api_follows_its_tokens_to_the_page_without_next(self):
        n = len(self.events)
        result = self.backfill(*RANGE)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assert_summary(result, n, n, 0)
        bodies = [body for method, _, body in self.api.requests if method == "POST"]
        self.assertEqual(len(bodies), 5)
        self.assertNotIn("token", bodies[0]["pagination"])
        self.assertTrue(all("token" in b["pagination"] for b in bodies[1:]))
        self.assertEqual(bodies[0]["start"], "Mon, 01 Dec 2025 00:00:00 +0000")
        # The Logs API's times are whole milliseconds.
        self.assertEqual(self.stack.scalar(
            "SELECT count(*) FROM lead_email_events WHERE extract(microseconds from event_time)"
            "::bigint % 1000 <> 0"), "0")

    def test_webhooks_and_backfill_in_either_order_leave_the_same_state(self):
        webhooked = self.events[::2]
        for api in ("logs", "events"):
            with self.subTest(api=api):
                self.setUp()
                self.post_webhooks(webhooked)
                result = self.backfill("--api", api, *RANGE)
                self.assert_summary(result, len(self.events),
                                    len(self.events) - len(webhooked), len(webhooked))
                unit = "milliseconds" if api == "logs" else "microseconds"
                webhook_first = self.snapshot(unit)
                self.setUp()
                self.assert_summary(self.backfill("--api", api, *RANGE), len(self.events),
                                    len(self.events), 0)
                self.post_webhooks(webhooked)  # answered 200: duplicates
                self.assertEqual(self.snapshot(unit), webhook_first)
                self.assertTrue(all(row[-1] == "1" for row in webhook_first[1]))
                self.assertEqual(self.stack.scalar(
                    "SELECT count(*) FROM lead_email_events WHERE source = 'webhook'"), "0")

    def test_legacy_webhooks_and_api_events_are_one_event_within_ten_minutes(self):
        # A legacy webhook has no Mailgun id and its time is its signature's
        # (fresh, so now): the API's copy of the same open, 70 s earlier.
        now = time.time()
        opened = FakeEvent({"event": "opened", "id": "legacy-open-1", "timestamp": now - 70,
                            "recipient": "Lee@Legacy.example", "domain": {"name": DOMAIN},
                            "message": {"headers": {"message-id": "legacy-1@mg.example.com"}}},
                           "built here: a legacy form open's JSON twin")
        legacy = form_webhook([("event", "opened"), ("recipient", "lee@legacy.example"),
                               ("domain", DOMAIN), ("Message-Id", "<legacy-1@mg.example.com>")])
        window = ["--begin", str(int(now) - 3600), "--end", str(int(now) + 60)]
        self.api.events.append(opened)
        try:
            for order in ("webhook first", "backfill first"):
                with self.subTest(order=order):
                    self.setUp()
                    self.stack.sql("INSERT INTO leads (id, email_addr, followup_email_receipt_id)"
                                   " VALUES (9, 'lee@legacy.example', '<legacy-1@mg.example.com>')")
                    post = lambda: self.stack.post("/api/v1/wh/mg/lead/email/open", legacy,
                                                   "application/x-www-form-urlencoded")
                    if order == "webhook first":
                        self.assertEqual(post()[0], 200)
                        self.assert_summary(self.backfill(*window), 1, 0, 1)
                    else:
                        self.assert_summary(self.backfill(*window), 1, 1, 0)
                        status, _, answer = post()
                        self.assertEqual((status, answer["status"]), (200, "duplicate"))
                    self.assertEqual(self.stack.sql(
                        "SELECT followup_email_opens FROM leads WHERE id = 9"), [["1"]])
                    self.assertEqual(self.stack.scalar(
                        "SELECT count(*) FROM lead_email_events"), "1")
        finally:
            self.api.events.remove(opened)

    def test_rate_limits_and_server_errors_are_waited_out(self):
        self.api.fail_next(429, retry_after=1, body="Too Many Requests")
        self.api.fail_next(500)
        began = time.monotonic()
        result = self.backfill("--api", "events", *RANGE)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertGreaterEqual(time.monotonic() - began, 2.0)  # 1 s asked, then >= 1.5 s
        self.assertIn("HTTP 429 (rate limited); trying again in 1 s", result.stderr)
        self.assertIn("HTTP 500 (fake fault 500); trying again in", result.stderr)
        self.assert_summary(result, len(self.events), len(self.events), 0)

    def test_a_refused_key_exits_2_and_writes_nothing(self):
        wrong = os.path.join(self.stack.dir, "wrong-key")
        with open(wrong, "w") as f:
            f.write("key-not-this-one\n")
        result = self.backfill(*RANGE, key_file=wrong)
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertIn("HTTP 401 (Forbidden): Mailgun refused the API key", result.stderr)
        self.assertNotIn("key-not-this-one", result.stdout + result.stderr)
        self.assertEqual(self.stack.scalar("SELECT count(*) FROM lead_email_events"), "0")
        missing = self.backfill(*RANGE, key_file=os.path.join(self.stack.dir, "nope"))
        self.assertEqual(missing.returncode, 2)
        self.assertIn("--api-key-file: cannot read", missing.stderr)

    def test_an_interrupt_stops_after_the_page_and_resume_finishes(self):
        self.api.delay_page(2, 3)
        proc = subprocess.Popen(
            [STACK, "leadhook", "--dir", self.stack.dir, "--", "backfill", "--domain", DOMAIN,
             "--api-key-file", self.key_file, "--api-base", self.api.base, *RANGE],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 20
        while self.api.pages_served < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)  # while page 2 is on its way
        out, err = proc.communicate(timeout=30)
        self.assertEqual(proc.returncode, 130, err)
        self.assertIn("stopping after the current page", err)
        self.assertIn(SUMMARY % (10, 10, 0, 0), out)
        self.assertIn("--resume", err)
        self.assertEqual(self.stack.scalar("SELECT count(*) FROM lead_email_events"), "10")
        resumed = self.backfill("--resume", "--begin", "2025-12-01T00:00:00Z")
        self.assertEqual(resumed.returncode, 0, resumed.stderr)
        n = len(self.events)
        self.assert_summary(resumed, n, n, 0)  # the range's totals, both runs
        self.assertEqual(self.stack.scalar("SELECT count(*) FROM lead_email_events"), str(n))
        self.assertEqual(self.stack.scalar(
            "SELECT finished_at IS NOT NULL FROM backfill_checkpoints"), "t")
        done = self.backfill("--resume", *RANGE)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("complete", done.stderr)
        nothing = self.backfill("--resume", "--begin", "2025-11-01T00:00:00Z")
        self.assertEqual(nothing.returncode, 2)
        self.assertIn("no backfill of %s (logs API) from 2025-11-01T00:00:00Z to resume"
                      % DOMAIN, nothing.stderr)

    def test_dry_run_reconciles_per_day_and_type_and_writes_nothing(self):
        self.post_webhooks(self.events[:8])
        # An event Mailgun does not list (another id, same day and type as
        # one it does): leadhook's count grows, what is missing does not,
        # since each of Mailgun's events is looked up by its identity.
        other = FakeEvent(dict(self.events[12].data, id="not-listed-by-mailgun"), "a copy")
        self.post_webhooks([other])
        before = self.snapshot()
        result = self.backfill("--dry-run", "--format", "json", *RANGE)  # Logs: ms times
        self.assertEqual(result.returncode, 0, result.stderr)
        report = json.loads(result.stdout)
        self.assertEqual(report["report"], "reconcile")
        rows = report["rows"]
        self.assertEqual(sum(r["mailgun"] for r in rows), len(self.events))
        self.assertEqual(sum(r["leadhook"] for r in rows), 9)
        self.assertEqual(sum(r["missing"] for r in rows), len(self.events) - 8)
        self.assertTrue(all(r["day"] == "2025-12-01" for r in rows))
        self.assertIn("missing=%d (nothing written)" % (len(self.events) - 8), result.stderr)
        self.assertEqual(self.snapshot(), before)
        self.assertEqual(self.stack.scalar("SELECT count(*) FROM backfill_checkpoints"), "0")
        csv = self.backfill("--dry-run", "--format", "csv", "--api", "events", *RANGE)
        self.assertEqual(csv.stdout.splitlines()[0], "day,event_type,mailgun,leadhook,missing")
        table = self.backfill("--dry-run", *RANGE)
        self.assertRegex(table.stdout, r"2025-12-01\s+delivered\s+\d+\s+\d+\s+\d+")
        # Once backfilled, every event of the range is found again.
        self.assert_summary(self.backfill(*RANGE), len(self.events), len(self.events) - 8, 8)
        after = json.loads(self.backfill("--dry-run", "--format", "json", *RANGE).stdout)
        self.assertEqual(sum(r["missing"] for r in after["rows"]), 0)

    def test_suppressions_come_with_events_and_from_mailgun_lists_and_outlast_the_log(self):
        self.assert_summary(self.backfill(*RANGE), len(self.events), len(self.events), 0)
        from_events = self.stack.sql(
            "SELECT address, reason, source FROM suppressions ORDER BY 1, 2")
        self.assertIn(["invalid@example.com", "bounced", "api"], from_events)
        self.assertIn(["alice@example.com", "complained", "api"], from_events)
        self.api.suppressions = {
            "bounces": [{"address": "b%d@lists.example" % i, "code": "550", "error": "gone",
                         "created_at": "Sun, 26 Jan 2025 07:29:04 UTC"} for i in range(3)],
            "complaints": [{"address": "alice@example.com",
                            "created_at": "Mon, 01 Jan 2024 00:00:00 UTC"}],
            "unsubscribes": [{"address": "u@lists.example", "tags": ["*"],
                              "created_at": "Sun, 26 Jan 2025 07:29:04 UTC"}]}
        self.api.page_size = 2
        try:
            imported = self.backfill("--suppressions")
        finally:
            self.api.page_size = 5
        self.assertEqual(imported.returncode, 0, imported.stderr)
        self.assertIn("suppressions: bounces fetched=3 added=3 known=0 skipped=0",
                      imported.stdout)
        self.assertIn("suppressions: complaints fetched=1 added=0 known=1 skipped=0",
                      imported.stdout)
        # The list's older date widens the complaint known from the event.
        self.assertEqual(self.stack.scalar(
            "SELECT first_at FROM suppressions WHERE address = 'alice@example.com'"
            " AND reason = 'complained'"), "2024-01-01 00:00:00+00")
        # Retention drops the event log; the suppression list stays.
        self.stack.sql("DELETE FROM lead_email_events")
        listed = self.stack.leadhook("report", "suppress", "--format", "csv")
        self.assertEqual(listed.returncode, 0, listed.stderr)
        for address in ("invalid@example.com", "b0@lists.example", "u@lists.example",
                        "recipient@example.org"):
            self.assertIn(address, listed.stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)
