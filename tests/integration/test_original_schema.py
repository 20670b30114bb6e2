#!/usr/bin/python3
"""Integration: leadhook on the original app's own PostgreSQL database.

The stack's database is emptied and given the original app's tables exactly
as SQLAlchemy's create_all() makes them from its model (original_app.py:
VARCHAR(20/50/255), TIMESTAMP WITHOUT TIME ZONE, nullable flags and counters,
the company_id foreign key), with rows the app wrote and rows full of NULLs,
in a database whose time zone is not UTC. Then `leadhook migrate` and every
corpus sample, and texts longer than any original column, through nginx.

Run by Debian's python3: original_app.py needs Debian's python3-sqlalchemy.
"""
import calendar
import json
import os
import re
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import original_app  # noqa: E402
from original_texts import LONG, raw_texts  # noqa: E402
from stack import (REPO, Stack, form_webhook, json_webhook, multipart_webhook,  # noqa: E402
                   psql, signature_of)
from test_webhooks import CORPUS_TYPES, as_new_event, content_type_of, read  # noqa: E402

EVENTS = "/api/v1/wh/mg/events"
FORM = "application/x-www-form-urlencoded"
BIN = os.environ.get("LEADHOOK_BIN", os.path.join(REPO, "build", "src", "leadhook"))
ZONE = "America/Chicago"
# The columns leadhook writes, and those of the original it only reads or
# leaves alone.
WRITTEN_TEXT = ["followup_email_status", "followup_email_open_ip", "followup_email_open_device",
                "followup_email_click_ip", "followup_email_click_device", "dropped_reason",
                "dropped_code", "dropped_description", "bounce_error"]
STATE = WRITTEN_TEXT + ["followup_email_delivered", "followup_email_bounced",
                        "followup_email_opens", "followup_email_clicks", "followup_email_spam",
                        "followup_email_unsub", "followup_email_dropped", "is_optout",
                        "bounce_code"]
UNTOUCHED = [c for c, _ in original_app.leads_columns()
             if c not in STATE and c != "webhook_last_updated"]


def event_data(kind, recipient, **extra):
    data = {"event": kind, "id": "orig-%s-%.6f" % (kind, time.time()),
            "timestamp": time.time(), "recipient": recipient}
    data.update(extra)
    return data


class OriginalSchemaTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # The corpus samples were signed years ago: no freshness window.
        cls.stack = Stack({"LEADHOOK_MAX_AGE_SECONDS": "0"})
        try:
            if cls.stack.env.get("LEADHOOK_DATABASE_EXTERNAL") == "1":
                raise unittest.SkipTest("empties the database: needs the stack's private one")
            cls.prepare()
        except BaseException:
            cls.stack.stop()
            raise

    @classmethod
    def prepare(cls):
        s = cls.stack
        s.sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public;"
              "DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET timezone TO %L',"
              " current_database(), '" + ZONE + "'); END $$;")
        s.sql(original_app.ddl("postgresql") + original_app.seed_sql("postgresql") +
              "SELECT setval('leads_id_seq', 100);")
        cls.untouched_before = cls.untouched_rows()
        cls.filenode = s.scalar("SELECT pg_relation_filenode('leads')")
        cls.migrated = s.leadhook("migrate")
        s.restart_leadhook()  # its statements were prepared against the dropped tables

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    @classmethod
    def untouched_rows(cls):
        return cls.stack.sql("SELECT %s FROM leads WHERE id <= 5 ORDER BY id" % ", ".join(
            "%s::text" % c for c in UNTOUCHED))

    def column_types(self):
        return dict(self.stack.sql(
            "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute"
            " WHERE attrelid = 'leads'::regclass AND attnum > 0 AND NOT attisdropped"))

    def add_lead(self, email, sent_at="2026-11-05 09:00:00"):
        row = original_app.app_row("leads", company_id=1, email_addr=email,
                                   followup_email_sent_date=sent_at)
        return int(self.stack.scalar(original_app.insert_sql("leads", [row], "postgresql",
                                                             returning="id")))

    def row(self, columns, table_and_filter, *params):
        """One row's columns as text ("" for NULL; booleans "true"/"false"),
        whole: through JSON, as values may span lines."""
        rows = self.stack.sql("SELECT json_build_array(%s) FROM %s" % (
            ", ".join("%s::text" % c for c in columns), table_and_filter), *params)
        self.assertEqual(len(rows), 1, table_and_filter)
        return {c: v or "" for c, v in zip(columns, json.loads(rows[0][0]))}

    def lead(self, lead_id):
        return self.row(STATE, "leads WHERE id = :'p0'", lead_id)

    def stored_event(self, token):
        return self.row(["event_type", "lead_id", "error", "description", "reason", "code"],
                        "lead_email_events WHERE token = :'p0'", token)

    def post(self, body, content_type="application/json", path=EVENTS):
        status, _, reply = self.stack.post(path, body, content_type)
        self.assertEqual(status, 200, reply)
        return reply

    # ---- the migration ----
    def test_migrate_widens_only_the_columns_leadhook_writes(self):
        self.assertEqual(self.migrated.returncode, 0, self.migrated.stderr)
        self.assertIn("applied 006_original_app_columns.sql (version 6)", self.migrated.stdout)
        types = self.column_types()
        for column in WRITTEN_TEXT:
            self.assertEqual(types[column], "text", column)
        for column, declared in original_app.leads_columns():
            if column not in WRITTEN_TEXT:
                self.assertEqual(types[column], declared, column)
        self.assertEqual(self.stack.scalar("SELECT pg_relation_filenode('leads')"), self.filenode,
                         "varchar(n) -> text must not rewrite the table")
        self.assertEqual(self.stack.scalar(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid = 'leads'::regclass AND contype = 'f'"),
            "FOREIGN KEY (company_id) REFERENCES companies(id)")

    def test_columns_leadhook_does_not_write_are_left_as_they_were(self):
        self.assertEqual(self.untouched_rows(), self.untouched_before)

    # ---- events ----
    def test_every_corpus_sample_on_the_original_schema(self):
        for n, name in enumerate(sorted(CORPUS_TYPES)):
            with self.subTest(sample=name):
                kind = CORPUS_TYPES[name]
                body, content_type = read(name), content_type_of(name)
                texts = raw_texts(body, content_type)
                lead = self.add_lead(texts["recipient"] or "nobody-%d@leadhook.test" % n,
                                     "2026-12-01 00:%02d:00" % n)
                body = as_new_event(body, content_type)
                reply = self.post(body, content_type)
                event = self.stored_event(signature_of(body, content_type)[1])
                self.assertEqual(event["event_type"], kind)
                for field in ("error", "description", "reason", "code"):
                    self.assertEqual(event[field], texts[field], field)
                if reply["status"] == "unmatched":
                    self.assertEqual(texts["recipient"], "")
                    continue
                self.assertEqual((reply["l_id"], reply["status"]), (lead, "success"))
                self.assert_lead_follows(self.lead(lead), kind, texts)

    def assert_lead_follows(self, lead, kind, texts):
        if kind != "accepted":
            self.assertEqual(lead["followup_email_status"], kind)
        if kind == "bounced":
            self.assertEqual((lead["followup_email_bounced"], lead["bounce_error"]),
                             ("true", texts["error"] or texts["description"]))
            self.assertEqual(lead["bounce_code"], texts["code"])
        if kind in ("dropped", "rejected"):
            self.assertEqual(
                [lead[c] for c in ("followup_email_dropped", "dropped_reason", "dropped_code",
                                   "dropped_description")],
                ["true", texts["reason"], texts["code"], texts["description"] or texts["error"]])
        if kind in ("complained", "unsubscribed"):
            self.assertEqual(lead["is_optout"], "true")

    def test_texts_longer_than_the_original_columns(self):
        cases = [
            ("bounce-json", "application/json", lambda r: json_webhook(event_data(
                "failed", r, severity="permanent", reason="bounce",
                **{"delivery-status": {"code": 550, "message": LONG["gmail"],
                                       "description": ""}})),
             {"followup_email_bounced": "true", "bounce_error": LONG["gmail"]}),
            ("drop-json", "application/json", lambda r: json_webhook(event_data(
                "failed", r, severity="permanent", reason=LONG["reason"],
                **{"delivery-status": {"code": LONG["code"], "message": "",
                                       "description": LONG["description"]}})),
             {"followup_email_dropped": "true", "dropped_reason": LONG["reason"],
              "dropped_code": LONG["code"], "dropped_description": LONG["description"]}),
            ("bounce-multipart", None, lambda r: multipart_webhook(
                [("event", "bounced"), ("recipient", r), ("code", "550"),
                 ("error", LONG["unicode"])]),
             {"followup_email_bounced": "true", "bounce_error": LONG["unicode"]}),
            ("drop-multipart", None, lambda r: multipart_webhook(
                [("event", "dropped"), ("recipient", r), ("reason", LONG["reason"]),
                 ("code", LONG["code"]), ("description", LONG["unicode"])]),
             {"followup_email_dropped": "true", "dropped_reason": LONG["reason"],
              "dropped_code": LONG["code"], "dropped_description": LONG["unicode"]}),
            ("open-json", "application/json", lambda r: json_webhook(event_data(
                "opened", r, ip="2001:db8::1",
                **{"client-info": {"client-name": LONG["device"]}})),
             {"followup_email_open_device": LONG["device"], "followup_email_opens": "1"}),
            ("click-form", FORM, lambda r: form_webhook(
                [("event", "clicked"), ("recipient", r), ("device-type", LONG["device"]),
                 ("ip", "203.0.113.9"), ("url", "https://leadhook.test/" + "p" * 300)]),
             {"followup_email_click_device": LONG["device"], "followup_email_clicks": "1"}),
        ]
        for name, content_type, build, expected in cases:
            with self.subTest(case=name):
                lead = self.add_lead("long-%s@leadhook.test" % name)
                body = build("long-%s@leadhook.test" % name)
                if content_type is None:
                    body, content_type = body
                reply = self.post(body, content_type)
                self.assertEqual((reply["l_id"], reply["status"]), (lead, "success"), reply)
                state = self.lead(lead)
                self.assertEqual({k: state[k] for k in expected}, expected)
                self.assertTrue(any(len(v) > 255 for v in expected.values()))

    def test_null_flags_and_counters_count_from_zero(self):
        # NULL reads as false / 0; a lead leadhook writes gets every flag and counter.
        opened = {"event": "opened", "recipient": "dan@gamma.example"}
        for n in range(2):
            self.post(json_webhook(dict(opened, id="dan-open-%d" % n, timestamp=1796400000 + n)))
        self.post(form_webhook([("event", "clicked"), ("recipient", "dan@gamma.example")]), FORM)
        self.post(form_webhook([("recipient", "eve@gamma.example")]), FORM,
                  "/api/v1/wh/mg/lead/email/unsubscribe")
        dan, eve = self.lead(4), self.lead(5)
        self.assertEqual([dan[c] for c in ("followup_email_opens", "followup_email_clicks",
                                           "followup_email_delivered", "followup_email_bounced")],
                         ["2", "1", "true", "false"])
        self.assertEqual([eve[c] for c in ("followup_email_unsub", "is_optout",
                                           "followup_email_status", "followup_email_opens")],
                         ["true", "true", "unsubscribed", "0"])

    def test_events_about_the_message_leave_the_lead_alone(self):
        for kind in ("stored", "list_member_uploaded"):  # the second: a type leadhook does not know
            reply = self.post(json_webhook(event_data(kind, "cat@alpha.example")))
            self.assertEqual((reply["l_id"], reply["status"]), (3, "success"))
        self.assertEqual(self.stack.sql("SELECT followup_email_status, webhook_last_updated IS NULL"
                                        " FROM leads WHERE id = 3"), [["EMAILNOTSENT", "t"]])

    def test_times_are_the_databases_local_time_both_ways(self):
        self.post(json_webhook(event_data("delivered", "ann@alpha.example")))
        # Written as the database's local wall-clock time, as the original wrote
        # its own local time...
        drift = float(self.stack.scalar(
            "SELECT abs(extract(epoch from (webhook_last_updated AT TIME ZONE :'p0') - now()))"
            " FROM leads WHERE id = 1", ZONE))
        self.assertLess(drift, 120)
        # ...and read back as the same instants.
        result = self.stack.leadhook("report", "leads", "--domain", "alpha.example",
                                     "--format", "json")
        self.assertEqual(result.returncode, 0, result.stderr)
        ann = [r for r in json.loads(result.stdout)["rows"] if r["id"] == 1][0]
        self.assertEqual(ann["sent_at"], "2026-11-02T15:16:30Z")  # 09:16:30 CST
        last = calendar.timegm(time.strptime(ann["last_update"][:19], "%Y-%m-%dT%H:%M:%S"))
        self.assertLess(abs(last - time.time()), 120)

    # ---- what migrate refuses, on databases of their own ----
    def original_database(self, name, extra_sql=""):
        """A new database in the stack's cluster holding the original app's
        tables and rows, then `extra_sql`; its URL."""
        self.stack.sql("DROP DATABASE IF EXISTS %s" % name)
        self.stack.sql("CREATE DATABASE %s" % name)
        self.addCleanup(self.stack.sql, "DROP DATABASE IF EXISTS %s" % name)
        url = self.stack.db_url.replace("dbname=leadhook", "dbname=" + name)
        psql(url, original_app.ddl("postgresql") + original_app.seed_sql("postgresql") +
             extra_sql)
        return url

    def migrate(self, url):
        env = {k: v for k, v in os.environ.items() if not k.startswith("LEADHOOK_")}
        env["LEADHOOK_DATABASE_URL"] = url
        return subprocess.run([BIN, "migrate"], env=env, capture_output=True, text=True,
                              timeout=60)

    def test_columns_a_variant_lacks_are_added(self):
        # Another version of the model names a column differently and has one fewer.
        url = self.original_database("orig_variant", "ALTER TABLE leads RENAME COLUMN"
                                     " webhook_last_updated TO webhook_last_update;"
                                     " ALTER TABLE leads DROP COLUMN followup_email_open_device;")
        migrated = self.migrate(url)
        self.assertEqual(migrated.returncode, 0, migrated.stderr)
        self.assertEqual(psql(url, "SELECT attname, format_type(atttypid, atttypmod)"
                                   " FROM pg_attribute WHERE attrelid = 'leads'::regclass"
                                   " AND attname IN ('webhook_last_update', 'webhook_last_updated',"
                                   " 'followup_email_open_device') ORDER BY 1"),
                         [["followup_email_open_device", "text"],
                          ["webhook_last_update", "timestamp without time zone"],
                          ["webhook_last_updated", "timestamp with time zone"]])

    def test_a_view_over_a_widened_column_is_named_and_the_table_left_alone(self):
        url = self.original_database("orig_view", "CREATE VIEW bounced_leads AS"
                                     " SELECT id, email_addr, bounce_error FROM leads"
                                     " WHERE followup_email_bounced;")
        refused = self.migrate(url)
        self.assertEqual(refused.returncode, 1, refused.stdout + refused.stderr)
        self.assertIn("migration 6 (006_original_app_columns.sql) failed: views use leads "
                      "columns that leadhook widens to text: bounced_leads (bounce_error)",
                      refused.stderr)
        self.assertIn("drop them, run leadhook migrate again", refused.stderr)
        self.assertEqual(psql(url, "SELECT max(version), format_type(atttypid, atttypmod)"
                                   " FROM leadhook_migrations, pg_attribute"
                                   " WHERE attrelid = 'leads'::regclass"
                                   " AND attname = 'bounce_error' GROUP BY 2"),
                         [["5", "character varying(255)"]])
        psql(url, "DROP VIEW bounced_leads")
        self.assertTrue(self.migrate(url).stdout.startswith(
            "applied 006_original_app_columns.sql (version 6)\n"))

    def test_a_column_of_another_type_is_refused_with_the_statement_that_fixes_it(self):
        url = self.original_database("orig_type", "ALTER TABLE leads ALTER COLUMN"
                                     " followup_email_spam TYPE smallint USING 0;")
        refused = self.migrate(url)
        self.assertEqual(refused.returncode, 1, refused.stdout + refused.stderr)
        self.assertIn("leads has columns leadhook cannot use: followup_email_spam is smallint"
                      " (leadhook needs boolean)", refused.stderr)
        fix = re.search(r"e\.g\. (ALTER TABLE [^;]*);", refused.stderr).group(1)
        self.assertEqual(fix, "ALTER TABLE leads ALTER COLUMN followup_email_spam TYPE boolean"
                              " USING followup_email_spam <> 0")
        psql(url, fix)
        self.assertEqual(self.migrate(url).returncode, 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
