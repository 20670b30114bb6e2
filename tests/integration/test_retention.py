#!/usr/bin/env python3
"""Integration: retention (sql/005). Events go to month partitions by event
time and payloads to their own table by arrival; `leadhook purge` drops and
trims what is past retention, never touching the leads; a month dropped
under a running leadhook is made again; one purge at a time; an existing
unpartitioned event log is converted by `leadhook migrate` with nothing lost.
"""
import os
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from replay_support import EVENTS, StackTestCase, event_data, webhook  # noqa: E402
from stack import REPO, TEST_KEY  # noqa: E402

BIN = os.environ.get("LEADHOOK_BIN", os.path.join(REPO, "build", "src", "leadhook"))
PURGE_LOCK_KEY = 0x6c65616470757267  # storage/pg_maintenance.cpp
DAY = 86400


def month_of(epoch):
    return time.strftime("%Y%m", time.gmtime(epoch))


class RetentionTests(StackTestCase):
    # Old events must be accepted to land in old months.
    STACK_ENV = {"LEADHOOK_MAX_AGE_SECONDS": "0"}

    def post_event(self, kind, lead, at):
        _, email, message_id = lead
        data = event_data(kind, message_id, email)
        data["timestamp"] = at
        status, _, reply = self.stack.post(EVENTS, webhook(data, TEST_KEY))
        self.assertEqual(status, 200, reply)
        return data["id"]

    def where(self, mailgun_event_id):
        """(event partition, payload partition or None) of a stored event."""
        rows = self.stack.sql(
            "SELECT e.tableoid::regclass, p.tableoid::regclass FROM lead_email_events e"
            " LEFT JOIN lead_email_event_payloads p ON p.event_id = e.id"
            " WHERE e.mailgun_event_id = :'p0'", mailgun_event_id)
        self.assertEqual(len(rows), 1, rows)
        return rows[0][0], rows[0][1] or None

    def purge(self, *args, **settings):
        lines = ["%s = %d" % kv for kv in settings.items()]
        with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as f:
            f.write("\n".join(lines) + "\n")
        try:
            result = self.stack.leadhook("purge", "-c", f.name, *args)
        finally:
            os.unlink(f.name)
        self.assertEqual(result.returncode, 0, result.stderr)
        return result.stdout

    def test_events_go_to_their_month_and_payloads_to_the_month_they_arrived(self):
        lead = self.add_lead("months")
        now = time.time()
        old = now - 400 * DAY
        recent_id = self.post_event("delivered", lead, now)
        old_id = self.post_event("opened", lead, old)
        self.assertEqual(self.where(recent_id), ("lead_email_events_" + month_of(now),
                                                 "lead_email_event_payloads_" + month_of(now)))
        # An old event's month is made on arrival; its payload arrived now.
        self.assertEqual(self.where(old_id), ("lead_email_events_" + month_of(old),
                                              "lead_email_event_payloads_" + month_of(now)))
        payload = self.stack.scalar(
            "SELECT p.payload->>'id' FROM lead_email_event_payloads p JOIN lead_email_events e"
            " ON e.id = p.event_id WHERE e.mailgun_event_id = :'p0'", old_id)
        self.assertEqual(payload, old_id)

    def test_purge_drops_old_months_trims_payloads_and_leaves_leads_alone(self):
        lead = self.add_lead("purge")
        now = time.time()
        ancient = now - 800 * DAY  # past a 12-month event retention
        ancient_id = self.post_event("opened", lead, ancient)
        kept_id = self.post_event("clicked", lead, now)
        ancient_month = "lead_email_events_" + month_of(ancient)
        # Payloads that arrived 10 and 40 days ago (in a month partly past the
        # 30 days), and 75 days ago (in a month wholly past).
        old_payload_month = now - 75 * DAY
        self.stack.sql(
            "SELECT leadhook_ensure_month_partition('lead_email_event_payloads',"
            " now() - n * interval '1 day') FROM unnest(ARRAY[10, 40, 75]) n;"
            "INSERT INTO lead_email_event_payloads (event_id, event_time, received_at, payload)"
            " SELECT -n, now(), now() - n * interval '1 day', '{}'"
            " FROM unnest(ARRAY[10, 40, 75]) n")
        counters = self.counters(lead[0])

        dry = self.purge("--dry-run", event_retention_months=12)
        self.assertIn("would remove event-log months wholly before", dry)
        self.assertIn("event-log partition %s" % ancient_month, dry)
        self.assertIn("payload partition lead_email_event_payloads_%s"
                      % month_of(old_payload_month), dry)
        self.assertEqual(self.where(ancient_id)[0], ancient_month)  # nothing changed

        out = self.purge(event_retention_months=12)
        self.assertIn("removed event-log months wholly before", out)
        self.assertIn("event-log partition %s" % ancient_month, out)
        self.assertIsNone(self.stack.scalar("SELECT to_regclass(:'p0')", ancient_month))
        self.assertEqual(self.stack.scalar(
            "SELECT count(*) FROM lead_email_events WHERE mailgun_event_id = :'p0'",
            ancient_id), "0")
        self.assertEqual(self.where(kept_id)[0], "lead_email_events_" + month_of(now))
        self.assertEqual(self.stack.sql(
            "SELECT -event_id FROM lead_email_event_payloads WHERE event_id < 0"), [["10"]])
        self.assertEqual(self.counters(lead[0]), counters)  # leads are never purged
        # Next month's partitions are made ahead of the writers.
        next_month = self.stack.scalar(
            "SELECT to_char(date_trunc('month', now() AT TIME ZONE 'UTC')"
            " + interval '1 month', 'YYYYMM')")
        for table in ("lead_email_events", "lead_email_event_payloads"):
            self.assertIsNotNone(self.stack.scalar(
                "SELECT to_regclass(:'p0')", "%s_%s" % (table, next_month)))

        again = self.purge(event_retention_months=12)
        self.assertIn("removed event-log months wholly before", again)
        self.assertNotIn("partition", again)  # nothing left to drop: idempotent

    def test_default_purge_keeps_the_event_log(self):
        out = self.purge()
        self.assertIn("kept the whole event log (event_retention_months = 0)", out)

    def test_a_month_dropped_under_a_running_leadhook_is_made_again(self):
        lead = self.add_lead("again")
        at = time.time() - 1000 * DAY
        self.post_event("opened", lead, at)  # the worker now knows this month
        month = "lead_email_events_" + month_of(at)
        self.stack.sql("DROP TABLE " + month)  # as purge would
        again_id = self.post_event("clicked", lead, at + 60)
        self.assertEqual(self.where(again_id)[0], month)

    def test_one_purge_at_a_time(self):
        holder = subprocess.Popen(
            ["psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", self.stack.db_url],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            holder.stdin.write("SELECT 'locked' FROM pg_advisory_lock(%d);\n" % PURGE_LOCK_KEY)
            holder.stdin.flush()
            self.assertEqual(holder.stdout.readline().strip(), "locked")
            out = self.purge()
            self.assertIn("purge: skipped: another purge", out)
        finally:
            holder.communicate(timeout=30)  # closing psql's input ends its session
        self.assertIn("removed", self.purge())


class ConversionTest(StackTestCase):
    """A database migrated before sql/005, with events, is converted in place."""

    def migrate(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("LEADHOOK_")}
        env["LEADHOOK_DATABASE_URL"] = self.stack.db_url
        return subprocess.run([BIN, "migrate"], env=env, capture_output=True, text=True,
                              timeout=60)

    def test_unpartitioned_events_are_moved_into_months_with_their_payloads(self):
        self.stack.sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
        for name in sorted(os.listdir(os.path.join(REPO, "sql"))):
            if name.endswith(".sql") and int(name.split("_")[0]) < 5:
                with open(os.path.join(REPO, "sql", name)) as f:
                    self.stack.sql(f.read())
        self.stack.sql(
            "INSERT INTO leads (email_addr) VALUES ('old@example.com');"
            "INSERT INTO lead_email_events (lead_id, event_type, mailgun_event, event_time,"
            " received_at, token, signature, body_format, route, payload, mailgun_event_id)"
            " VALUES (1, 'opened', 'opened', '2024-02-10Z', '2024-02-10Z', 't1', 's', 'json',"
            " '/r', '{\"n\": 1}', 'ev1'), (1, 'clicked', 'clicked', '2025-07-01Z',"
            " '2025-07-02Z', 't2', 's', 'form', '/r', '{\"n\": 2}', NULL)")
        result = self.migrate()
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertEqual(self.stack.sql(
            "SELECT e.id, e.tableoid::regclass, p.tableoid::regclass, p.payload->>'n'"
            " FROM lead_email_events e JOIN lead_email_event_payloads p ON p.event_id = e.id"
            " ORDER BY e.id"),
            [["1", "lead_email_events_202402", "lead_email_event_payloads_202402", "1"],
             ["2", "lead_email_events_202507", "lead_email_event_payloads_202507", "2"]])
        self.assertEqual(self.stack.scalar(
            "SELECT relkind FROM pg_class WHERE relname = 'lead_email_events'"), "p")
        self.assertIsNone(self.stack.scalar(
            "SELECT to_regclass('lead_email_events_unpartitioned')"))
        # Ids go on from where they were, and (event id, time) is still unique.
        self.assertEqual(self.stack.scalar(
            "INSERT INTO lead_email_events (event_type, mailgun_event, event_time, received_at,"
            " token, signature, body_format, route) VALUES ('opened', 'opened', now(), now(),"
            " 't3', 's', 'json', '/r') RETURNING id"), "3")
        with self.assertRaisesRegex(RuntimeError, "duplicate key"):
            self.stack.sql(
                "INSERT INTO lead_email_events (event_type, mailgun_event, event_time,"
                " received_at, token, signature, body_format, route, mailgun_event_id) VALUES"
                " ('opened', 'opened', '2024-02-10Z', now(), 't4', 's', 'json', '/r', 'ev1')")
        status, _, _ = self.stack.request("GET", "/api/v1/ready")
        self.assertEqual(status, 200)


if __name__ == "__main__":
    unittest.main(verbosity=2)
