#!/usr/bin/python3
"""Integration: from the original app's MySQL database to leadhook, with real
parts, as docs/migrating.md tells a user: a throwaway MariaDB holds the
original's tables (as SQLAlchemy's create_all makes them on MySQL) and rows;
the doc's steps 3 to 5 run as printed, with its step 1 settings pointing at
that MariaDB and at the stack's (emptied) PostgreSQL database: pgloader with
deploy/pgloader/original-app.load, the time zone, leadhook migrate, the
checks. Then every lead row must have arrived unchanged, signed webhooks for
those leads are stored, and step 7's checks run.

Run by Debian's python3: original_app.py needs Debian's python3-sqlalchemy.
"""
import json
import os
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import original_app  # noqa: E402
from mariadb import MariaDB  # noqa: E402
from original_texts import LONG  # noqa: E402
from stack import (REPO, Stack, form_webhook, json_webhook, multipart_webhook,  # noqa: E402
                   psql)

DOC = os.path.join(REPO, "docs", "migrating.md")
BIN = os.path.abspath(os.environ.get("LEADHOOK_BIN",
                                     os.path.join(REPO, "build", "src", "leadhook")))
ZONE = "America/Chicago"
EVENTS = "/api/v1/wh/mg/events"


def doc_steps():
    """{step number: [its ```sh blocks]} of the doc's "From MySQL, step by step"."""
    with open(DOC) as f:
        section = f.read().split("\n## From MySQL, step by step\n", 1)[1].split("\n## ", 1)[0]
    steps = {}
    for number, body in re.findall(r"\n### (\d+)\.[^\n]*\n(.*?)(?=\n### |\Z)", section, re.S):
        blocks = re.findall(r"```sh\n(.*?)```", body, re.S)
        if blocks:
            steps[int(number)] = blocks
    return steps


def as_mysql_text(value):
    """A PostgreSQL value (text, or None) as the mariadb client prints it."""
    return {None: "NULL", "true": "1", "false": "0"}.get(value, value)


class FromMySQLTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.mariadb = MariaDB()
        cls.stack = None
        try:
            cls.prepare()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def prepare(cls):
        db = cls.mariadb.start()
        db.sql("CREATE DATABASE leadsdb")
        db.sql(original_app.ddl("mysql") + original_app.seed_sql("mysql"), "leadsdb")
        user, password = db.add_loader("leadsdb")
        cls.stack = Stack()
        if cls.stack.env.get("LEADHOOK_DATABASE_EXTERNAL") == "1":
            raise unittest.SkipTest("empties the database: needs the stack's private one")
        cls.stack.sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")  # as a new database
        socket_dir = cls.stack.env["PG_SOCKET_DIR"]
        cls.mysql_url = "mysql://%s:%s@127.0.0.1:%d/leadsdb" % (user, password, db.port)
        cls.env = {k: v for k, v in os.environ.items() if not k.startswith("LEADHOOK_")}
        cls.env.update(  # step 1's settings
            MYSQL_URL=cls.mysql_url, MYSQL_DATABASE="leadsdb",
            PGLOADER_TARGET="postgresql://leadhook@unix:%s:5432/leadhook" % socket_dir,
            LEADHOOK_DATABASE_URL=cls.stack.db_url, ORIGINAL_APP_TIMEZONE=ZONE,
            PATH=os.path.dirname(BIN) + os.pathsep + os.environ.get("PATH", ""))
        cls.steps = doc_steps()
        cls.outputs = {n: [cls.run_block(b) for b in cls.steps[n]] for n in (3, 4, 5)}
        cls.leads_after_move = cls.pg_rows("leads")
        cls.stack.restart_leadhook()  # its statements were prepared against the dropped tables

    @classmethod
    def tearDownClass(cls):
        if cls.stack:
            cls.stack.stop()
        cls.mariadb.stop()

    @classmethod
    def run_block(cls, block):
        return subprocess.run(["bash", "-euo", "pipefail", "-c", block], cwd=REPO, env=cls.env,
                              capture_output=True, text=True, timeout=120)

    @classmethod
    def pg_rows(cls, table, url=None):
        columns = [c for c, _ in original_app.leads_columns()] if table == "leads" else list(
            original_app.app_row("companies", **original_app.COMPANY))
        rows = psql(url or cls.stack.db_url, "SELECT json_build_array(%s) FROM %s ORDER BY id" % (
            ", ".join("%s::text" % c for c in columns), table))
        return [[as_mysql_text(v) for v in json.loads(r[0])] for r in rows]

    def mysql_rows(self, table, columns):
        return self.mariadb.sql("SELECT %s FROM %s ORDER BY id" % (", ".join(columns), table),
                                "leadsdb")

    def test_the_documented_steps_ran(self):
        self.assertEqual(sorted(self.steps), [1, 3, 4, 5, 7])
        for number, results in self.outputs.items():
            for result in results:
                self.assertEqual(result.returncode, 0, "step %d: %s%s" % (
                    number, result.stdout[-3000:], result.stderr[-3000:]))
        self.assertRegex(self.outputs[3][0].stdout + self.outputs[3][0].stderr,
                         r"Total import time\s+✓")
        self.assertIn("applied 006_original_app_columns.sql (version 6)\n",
                      self.outputs[4][0].stdout)
        check = self.outputs[5][0].stdout
        self.assertIn("5 |     3 |   5", check)  # five leads, three with a receipt id

    def test_every_lead_row_arrives_unchanged(self):
        columns = [c for c, _ in original_app.leads_columns()]
        self.assertEqual(self.leads_after_move, self.mysql_rows("leads", columns))
        companies = list(original_app.app_row("companies", **original_app.COMPANY))
        self.assertEqual(self.pg_rows("companies"), self.mysql_rows("companies", companies))
        self.assertIn("Frühling", json.dumps(self.leads_after_move, ensure_ascii=False))
        self.assertEqual(self.stack.scalar(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid = 'leads'::regclass AND contype = 'f'"
            " AND confrelid = 'companies'::regclass"),
            "FOREIGN KEY (company_id) REFERENCES companies(id) ON UPDATE RESTRICT ON DELETE RESTRICT")
        self.assertEqual(self.stack.scalar("SELECT nextval('leads_id_seq')"), "6")

    def test_webhooks_for_the_moved_leads_are_stored(self):
        form, (bounce, multipart) = "application/x-www-form-urlencoded", multipart_webhook(
            [("event", "bounced"), ("recipient", "cat@alpha.example"), ("code", "550"),
             ("error", LONG["gmail"])])
        sent = [
            (1, json_webhook({"event": "delivered", "id": "move-1", "timestamp": 1796400000,
                              "recipient": "ann@alpha.example", "message": {"headers": {
                                  "message-id": "20261102091630.1.A1@mg.leadhook.test"}}}), None),
            (2, form_webhook([("event", "opened"), ("recipient", "bob.obrien@beta.example")]),
             form),
            (3, bounce, multipart),
            (4, json_webhook({"event": "opened", "id": "move-4", "timestamp": 1796400004,
                              "recipient": "dan@gamma.example"}), None),
            (5, form_webhook([("event", "unsubscribed"), ("recipient", "eve@gamma.example")]),
             form),
        ]
        for lead, body, content_type in sent:
            status, _, reply = self.stack.post(EVENTS, body, content_type or "application/json")
            self.assertEqual((status, reply["l_id"], reply["status"]), (200, lead, "success"))
        states = psql(self.stack.db_url,
                      "SELECT id, followup_email_status, followup_email_opens,"
                      " followup_email_bounced, length(bounce_error), is_optout"
                      " FROM leads ORDER BY id")
        self.assertEqual(states, [["1", "delivered", "0", "f", "", "f"],
                                  ["2", "opened", "1", "f", "", "f"],
                                  ["3", "bounced", "0", "t", str(len(LONG["gmail"])), "f"],
                                  ["4", "opened", "1", "f", "", "f"],
                                  ["5", "unsubscribed", "0", "f", "", "t"]])
        self.assertEqual(self.stack.scalar("SELECT count(*) FROM lead_email_events"
                                           " WHERE lead_id IS NOT NULL"), "5")
        after = [self.run_block(b) for b in self.steps[7]]
        for result in after:
            self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        for kind, count in (("bounced", 1), ("delivered", 1), ("opened", 2), ("unsubscribed", 1)):
            self.assertRegex(after[0].stdout, r"\n %s +\| +%d \| +%d\n" % (kind, count, count))

    def test_pgloaders_default_schema_is_refused_before_anything_is_created(self):
        self.stack.sql("DROP DATABASE IF EXISTS plainload")
        self.stack.sql("CREATE DATABASE plainload")
        self.addCleanup(self.stack.sql, "DROP DATABASE IF EXISTS plainload")
        target = self.env["PGLOADER_TARGET"].rsplit("/", 1)[0] + "/plainload"
        loaded = subprocess.run(["pgloader", self.mysql_url, target], env=self.env,
                                capture_output=True, text=True, timeout=120)
        self.assertEqual(loaded.returncode, 0, loaded.stdout + loaded.stderr)
        url = self.stack.db_url.replace("dbname=leadhook", "dbname=plainload")
        migrated = subprocess.run([BIN, "migrate"], env=dict(self.env, LEADHOOK_DATABASE_URL=url),
                                  capture_output=True, text=True, timeout=60)
        self.assertEqual(migrated.returncode, 1, migrated.stdout + migrated.stderr)
        self.assertIn("no leads table in schema public, where leadhook keeps its tables (the "
                      "first on the search_path), but leadsdb.leads exists", migrated.stderr)
        self.assertEqual(psql(url, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"),
                         [["0"]])


if __name__ == "__main__":
    unittest.main(verbosity=2)
