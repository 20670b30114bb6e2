#!/usr/bin/env python3
"""Integration: `leadhook report` against a seeded database. Leads and some
events are inserted by SQL (as an older database, or purged events, leave
them), the rest arrive as signed webhooks through nginx. Each report (leads,
daily, suppress) is checked in each format (table, CSV, JSON) against exact
expected output, with its filters; the HTML page is rendered in headless
Chromium; the suppress list survives `leadhook purge`; exit codes.
"""
import calendar
import html.parser
import json
import os
import re
import shlex
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from replay_support import EVENTS, StackTestCase, webhook  # noqa: E402
from stack import REPO, STACK, TEST_KEY  # noqa: E402

DAY = 86400

# Leads by SQL with explicit ids. 101-103 then get their events as webhooks;
# 104 has only an 'accepted' event; 105-107 carry flags whose events are gone
# (the original app's data, or a purged month): 107 has no time at all.
SEED_LEADS = """
INSERT INTO leads (id, email_addr, followup_email_receipt_id, followup_email_sent_date) VALUES
  (101, 'ann@alpha.example', '<m101@leadhook.test>', '2025-03-01 10:00Z'),
  (102, 'bob@beta.example', '<m102@leadhook.test>', '2025-03-01 11:00Z'),
  (103, 'Cat@Alpha.example', '<m103@leadhook.test>', '2025-03-02 08:00Z'),
  (104, 'dan@beta.example', '<m104@leadhook.test>', '2025-03-03 09:00Z');
INSERT INTO leads (id, email_addr, followup_email_status, followup_email_unsub, is_optout,
                   webhook_last_updated)
  VALUES (105, 'eve@gamma.example', 'unsubscribed', true, true, '2025-02-10 12:00Z');
INSERT INTO leads (id, email_addr, followup_email_sent_date, followup_email_status,
                   followup_email_dropped, dropped_reason, dropped_code, dropped_description,
                   followup_email_dropped_at, webhook_last_updated)
  VALUES (106, 'fay@gamma.example', '2025-03-02 07:00Z', 'dropped', true, 'suppress-bounce',
          '605', 'Not delivering to previously bounced address', '2025-03-02 07:01Z',
          '2025-03-02 07:02Z');
INSERT INTO leads (id, email_addr, followup_email_sent_date, is_optout)
  VALUES (107, 'gus@alpha.example', '2025-03-04 09:00Z', true);
"""

# Events by SQL: fay's drop, dan's 'accepted', and eleven deliveries to
# addresses with no lead (a bulk send) on 2025-03-02.
SEED_EVENTS = """
SELECT leadhook_ensure_month_partition('lead_email_events', '2025-03-01Z');
INSERT INTO lead_email_events (lead_id, event_type, mailgun_event, severity, reason, recipient,
    message_id, event_time, received_at, code, description, token, signature, body_format, route)
VALUES
  (106, 'dropped', 'failed', 'permanent', 'suppress-bounce', 'fay@gamma.example',
   'm106@leadhook.test', '2025-03-02 07:01Z', '2025-03-02 07:01Z', '605',
   'Not delivering to previously bounced address', 'sql-1', 'sql', 'json', '/sql'),
  (104, 'accepted', 'accepted', NULL, NULL, 'dan@beta.example', 'm104@leadhook.test',
   '2025-03-03 09:00Z', '2025-03-03 09:00Z', NULL, NULL, 'sql-2', 'sql', 'json', '/sql');
INSERT INTO lead_email_events (event_type, mailgun_event, recipient, event_time, received_at,
    token, signature, body_format, route)
SELECT 'delivered', 'delivered', 'list' || n || '@omega.example',
       '2025-03-02 12:00Z'::timestamptz + n * interval '1 minute', now(), 'sql-bulk-' || n,
       'sql', 'json', '/sql'
FROM generate_series(1, 11) n;
"""


def epoch(text):
    return calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ"))


def event(kind, when, recipient, message_id, **extra):
    data = {"event": kind, "id": "ev-%s-%s" % (kind, when), "timestamp": epoch(when),
            "recipient": recipient, "message": {"headers": {"message-id": message_id}}}
    data.update(extra)
    return data


def failure(severity, reason, code, message, when, recipient, message_id):
    return event("failed", when, recipient, message_id, severity=severity, reason=reason,
                 **{"delivery-status": {"code": code, "message": message}})


WEBHOOKS = [
    event("delivered", "2025-03-01T10:05:00Z", "ann@alpha.example", "<m101@leadhook.test>"),
    event("opened", "2025-03-01T12:00:00Z", "ann@alpha.example", "<m101@leadhook.test>"),
    event("opened", "2025-03-02T09:00:00Z", "ann@alpha.example", "<m101@leadhook.test>"),
    event("clicked", "2025-03-02T09:01:00Z", "ann@alpha.example", "<m101@leadhook.test>"),
    failure("permanent", "bounce", 550, "5.1.1 The email account does not exist",
            "2025-03-01T11:01:00Z", "bob@beta.example", "<m102@leadhook.test>"),
    event("delivered", "2025-03-02T08:01:00Z", "cat@alpha.example", "<m103@leadhook.test>"),
    event("complained", "2025-03-03T10:00:00Z", "cat@alpha.example", "<m103@leadhook.test>"),
    # No lead: another system's mail to the same addresses.
    event("unsubscribed", "2025-03-03T15:00:00Z", "stranger@delta.example", "<x1@elsewhere>"),
    failure("permanent", "bounce", 550, "mailbox unavailable", "2025-03-04T08:00:00Z",
            "STRANGER@delta.example", "<x2@elsewhere>"),
    failure("temporary", "generic", 421, "try again later", "2025-03-03T16:00:00Z",
            "hal@delta.example", "<x3@elsewhere>"),
]

# webhook_last_updated is the arrival time: pinned so the output is exact.
PIN_LAST_UPDATE = """
UPDATE leads SET webhook_last_updated = v.at::timestamptz
FROM (VALUES (101, '2025-03-02 09:02Z'), (102, '2025-03-01 11:02Z'), (103, '2025-03-03 10:01Z'))
  AS v(id, at) WHERE leads.id = v.id;
"""


def seed(stack):
    """The data set above, through SQL and nginx."""
    stack.sql(SEED_LEADS)
    stack.sql(SEED_EVENTS)
    for data in WEBHOOKS:
        status, _, reply = stack.post(EVENTS, webhook(data, TEST_KEY))
        if status != 200:
            raise AssertionError("webhook %s answered %d: %r" % (data["id"], status, reply))
    stack.sql(PIN_LAST_UPDATE)


LEADS_TABLE = """\
 id  email              status        sent_at           delivered  opens  clicks  bounced  dropped  complained  unsubscribed  opted_out  last_update
---  -----------------  ------------  ----------------  ---------  -----  ------  -------  -------  ----------  ------------  ---------  ----------------
107  gus@alpha.example  none          2025-03-04 09:00  no             0       0  no       no       no          no            yes
104  dan@beta.example   none          2025-03-03 09:00  no             0       0  no       no       no          no            no
103  Cat@Alpha.example  complained    2025-03-02 08:00  yes            0       0  no       no       yes         no            yes        2025-03-03 10:01
106  fay@gamma.example  dropped       2025-03-02 07:00  no             0       0  no       yes      no          no            no         2025-03-02 07:02
102  bob@beta.example   bounced       2025-03-01 11:00  no             0       0  yes      no       no          no            no         2025-03-01 11:02
101  ann@alpha.example  clicked       2025-03-01 10:00  yes            2       1  no       no       no          no            no         2025-03-02 09:02
105  eve@gamma.example  unsubscribed                    no             0       0  no       no       no          yes           yes        2025-02-10 12:00
(7 rows)
"""  # noqa: E501

LEAD_COLUMNS = ["id", "email", "status", "sent_at", "delivered", "opens", "clicks", "bounced",
                "dropped", "complained", "unsubscribed", "opted_out", "last_update"]
LEAD_ROWS = [  # the JSON values, in LEAD_COLUMNS order
    [107, "gus@alpha.example", "none", "2025-03-04T09:00:00Z", False, 0, 0, False, False, False,
     False, True, None],
    [104, "dan@beta.example", "none", "2025-03-03T09:00:00Z", False, 0, 0, False, False, False,
     False, False, None],
    [103, "Cat@Alpha.example", "complained", "2025-03-02T08:00:00Z", True, 0, 0, False, False,
     True, False, True, "2025-03-03T10:01:00Z"],
    [106, "fay@gamma.example", "dropped", "2025-03-02T07:00:00Z", False, 0, 0, False, True, False,
     False, False, "2025-03-02T07:02:00Z"],
    [102, "bob@beta.example", "bounced", "2025-03-01T11:00:00Z", False, 0, 0, True, False, False,
     False, False, "2025-03-01T11:02:00Z"],
    [101, "ann@alpha.example", "clicked", "2025-03-01T10:00:00Z", True, 2, 1, False, False, False,
     False, False, "2025-03-02T09:02:00Z"],
    [105, "eve@gamma.example", "unsubscribed", None, False, 0, 0, False, False, False, True, True,
     "2025-02-10T12:00:00Z"],
]

DAILY_TABLE = """\
day         event_type    count
----------  ------------  -----
2025-03-01  delivered         1
2025-03-01  opened            1
2025-03-01  bounced           1
2025-03-02  delivered        12
2025-03-02  opened            1
2025-03-02  clicked           1
2025-03-02  dropped           1
2025-03-03  unsubscribed      1
2025-03-03  complained        1
2025-03-03  deferred          1
2025-03-03  accepted          1
2025-03-04  bounced           1
(12 rows)
"""

SUPPRESS_TABLE = """\
email                   reason        detail                                                            since             reasons
----------------------  ------------  ----------------------------------------------------------------  ----------------  --------------------
bob@beta.example        bounced       550 5.1.1 The email account does not exist                        2025-03-01 11:01  bounced
cat@alpha.example       complained                                                                      2025-03-03 10:00  complained
eve@gamma.example       unsubscribed                                                                    2025-02-10 12:00  unsubscribed
fay@gamma.example       dropped       suppress-bounce 605 Not delivering to previously bounced address  2025-03-02 07:01  dropped
gus@alpha.example       opted out                                                                                         opted out
stranger@delta.example  unsubscribed                                                                    2025-03-03 15:00  bounced,unsubscribed
(6 rows)
"""  # noqa: E501

SUPPRESS_CSV = (
    b"email,reason,detail,since,reasons\r\n"
    b"bob@beta.example,bounced,550 5.1.1 The email account does not exist,2025-03-01T11:01:00Z,"
    b"bounced\r\n"
    b"cat@alpha.example,complained,,2025-03-03T10:00:00Z,complained\r\n"
    b"eve@gamma.example,unsubscribed,,2025-02-10T12:00:00Z,unsubscribed\r\n"
    b"fay@gamma.example,dropped,suppress-bounce 605 Not delivering to previously bounced address,"
    b"2025-03-02T07:01:00Z,dropped\r\n"
    b"gus@alpha.example,opted out,,,opted out\r\n"
    b"stranger@delta.example,unsubscribed,,2025-03-03T15:00:00Z,\"bounced,unsubscribed\"\r\n")


def csv_line(values):
    def field(v):
        text = "" if v is None else ("true" if v is True else "false" if v is False else str(v))
        return '"%s"' % text.replace('"', '""') if re.search(r'[,"\r\n]', text) else text
    return (",".join(field(v) for v in values) + "\r\n").encode()


class ReportCase(StackTestCase):
    # The seeded events are old: accept their signed timestamps.
    STACK_ENV = {"LEADHOOK_MAX_AGE_SECONDS": "0"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        seed(cls.stack)

    def run_report(self, *args):
        """`leadhook report ARGS` in the stack's environment: (exit status,
        stdout bytes, stderr text). Bytes, so CSV's CRLF is seen as sent."""
        result = subprocess.run([STACK, "leadhook", "--dir", self.stack.dir, "--", "report"] +
                                list(args), capture_output=True, timeout=120)
        return result.returncode, result.stdout, result.stderr.decode(errors="replace")

    def report(self, *args):
        status, out, err = self.run_report(*args)
        self.assertEqual(status, 0, err)
        return out

    def report_json(self, *args):
        return json.loads(self.report(*args, "--format", "json"))


class ReportTests(ReportCase):
    # ---- leads ----
    def test_leads_as_a_table(self):
        self.assertEqual(self.report("leads").decode(), LEADS_TABLE)
        self.assertEqual(self.report("leads", "--format", "table").decode(), LEADS_TABLE)

    def test_leads_as_csv(self):
        expected = csv_line(LEAD_COLUMNS) + b"".join(csv_line(row) for row in LEAD_ROWS)
        self.assertEqual(self.report("leads", "--format", "csv"), expected)

    def test_leads_as_json(self):
        doc = self.report_json("leads")
        self.assertEqual(list(doc), ["report", "from", "to", "status", "domain", "rows"])
        self.assertEqual({k: v for k, v in doc.items() if k != "rows"},
                         {"report": "leads", "from": None, "to": None, "status": None,
                          "domain": None})
        for row in doc["rows"]:
            self.assertEqual(list(row), LEAD_COLUMNS)
        self.assertEqual([list(row.values()) for row in doc["rows"]], LEAD_ROWS)

    def test_leads_filtered_by_status_domain_and_sent_date(self):
        self.assertEqual(self.report("leads", "--status", "bounced", "--format", "csv"),
                         csv_line(LEAD_COLUMNS) + csv_line(LEAD_ROWS[4]))
        by_domain = self.report_json("leads", "--domain", "ALPHA.example")
        self.assertEqual(by_domain["domain"], "alpha.example")
        self.assertEqual([r["id"] for r in by_domain["rows"]], [107, 103, 101])
        # [from, to): sent on 2025-03-02 or 03-03; eve has no sent date.
        in_range = self.report_json("leads", "--from", "2025-03-02", "--to", "2025-03-04")
        self.assertEqual((in_range["from"], in_range["to"]), ("2025-03-02", "2025-03-04"))
        self.assertEqual([r["id"] for r in in_range["rows"]], [104, 103, 106])
        self.assertEqual([r["id"] for r in self.report_json("leads", "--status", "none")["rows"]],
                         [107, 104])
        table = self.report("leads", "--status", "opened").decode()
        self.assertEqual(table.splitlines()[2:], ["(0 rows)"])
        self.assertEqual(self.report("leads", "--status", "opened", "--format", "csv"),
                         csv_line(LEAD_COLUMNS))

    # ---- daily ----
    def test_daily_as_a_table(self):
        self.assertEqual(self.report("daily", "--from", "2025-03-01", "--to", "2025-03-05")
                         .decode(), DAILY_TABLE)

    def test_daily_as_csv_and_json(self):
        rows = [line.split() for line in DAILY_TABLE.splitlines()[2:-1]]
        csv = self.report("daily", "--from", "2025-03-01", "--to", "2025-03-05", "--format", "csv")
        self.assertEqual(csv, csv_line(["day", "event_type", "count"]) +
                         b"".join(csv_line(row) for row in rows))
        doc = self.report_json("daily", "--from", "2025-03-01", "--to", "2025-03-05")
        self.assertEqual({k: v for k, v in doc.items() if k != "rows"},
                         {"report": "daily", "from": "2025-03-01", "to": "2025-03-05",
                          "status": None, "domain": None})
        self.assertEqual(doc["rows"], [{"day": d, "event_type": t, "count": int(n)}
                                       for d, t, n in rows])

    def test_daily_filtered_by_domain_and_day(self):
        doc = self.report_json("daily", "--from", "2025-03-01", "--to", "2025-03-05",
                               "--domain", "alpha.example")
        self.assertEqual([(r["day"], r["event_type"], r["count"]) for r in doc["rows"]], [
            ("2025-03-01", "delivered", 1), ("2025-03-01", "opened", 1),
            ("2025-03-02", "delivered", 1), ("2025-03-02", "opened", 1),
            ("2025-03-02", "clicked", 1), ("2025-03-03", "complained", 1)])
        one_day = self.report("daily", "--from", "2025-03-04", "--to", "2025-03-05")
        self.assertEqual(one_day.decode(), "day         event_type  count\n"
                                           "----------  ----------  -----\n"
                                           "2025-03-04  bounced         1\n"
                                           "(1 row)\n")

    def test_daily_defaults_to_the_last_30_days(self):
        self.stack.sql(
            "SELECT leadhook_ensure_month_partition('lead_email_events', now() - n * interval"
            " '1 day') FROM unnest(ARRAY[0, 1, 40]) n;"
            "INSERT INTO lead_email_events (event_type, mailgun_event, recipient, event_time,"
            " received_at, token, signature, body_format, route)"
            " SELECT 'delivered', 'delivered', 'x@zeta.example', now() - n * interval '1 day',"
            " now(), 'sql-recent-' || n, 'sql', 'json', '/sql' FROM unnest(ARRAY[0, 1, 40]) n")
        doc = self.report_json("daily", "--domain", "zeta.example")
        today = int(time.time()) // DAY * DAY

        def day(t):
            return time.strftime("%Y-%m-%d", time.gmtime(t))
        self.assertEqual((doc["from"], doc["to"]), (day(today - 29 * DAY), day(today + DAY)))
        self.assertEqual(doc["rows"], [
            {"day": day(today - DAY), "event_type": "delivered", "count": 1},
            {"day": day(today), "event_type": "delivered", "count": 1}])

    # ---- suppress ----
    def test_suppress_in_each_format(self):
        self.assertEqual(self.report("suppress").decode(), SUPPRESS_TABLE)
        self.assertEqual(self.report("suppress", "--format", "csv"), SUPPRESS_CSV)
        doc = self.report_json("suppress")
        self.assertEqual({k: v for k, v in doc.items() if k != "rows"},
                         {"report": "suppress", "from": None, "to": None, "status": None,
                          "domain": None})
        self.assertEqual(doc["rows"][0], {
            "email": "bob@beta.example", "reason": "bounced",
            "detail": "550 5.1.1 The email account does not exist",
            "since": "2025-03-01T11:01:00Z", "reasons": "bounced"})
        self.assertEqual(doc["rows"][4], {"email": "gus@alpha.example", "reason": "opted out",
                                          "detail": None, "since": None, "reasons": "opted out"})
        self.assertEqual([(r["email"], r["reason"], r["since"], r["reasons"])
                          for r in doc["rows"]], [
            ("bob@beta.example", "bounced", "2025-03-01T11:01:00Z", "bounced"),
            ("cat@alpha.example", "complained", "2025-03-03T10:00:00Z", "complained"),
            ("eve@gamma.example", "unsubscribed", "2025-02-10T12:00:00Z", "unsubscribed"),
            ("fay@gamma.example", "dropped", "2025-03-02T07:01:00Z", "dropped"),
            ("gus@alpha.example", "opted out", None, "opted out"),
            ("stranger@delta.example", "unsubscribed", "2025-03-03T15:00:00Z",
             "bounced,unsubscribed")])

    def test_suppress_filtered_by_domain_and_time(self):
        lines = SUPPRESS_CSV.split(b"\r\n")
        self.assertEqual(self.report("suppress", "--domain", "gamma.example", "--format", "csv"),
                         b"\r\n".join([lines[0], lines[3], lines[4], b""]))
        # By the time the address was first suppressed; none without a time.
        self.assertEqual(self.report("suppress", "--from", "2025-03-01", "--to", "2025-03-03",
                                     "--format", "csv"),
                         b"\r\n".join([lines[0], lines[1], lines[4], b""]))

    # ---- HTML ----
    def test_html_page_renders_in_chromium_with_its_chart_and_lead_table(self):
        chromium = shutil.which("chromium") or shutil.which("chromium-browser")
        if not chromium:
            self.skipTest("chromium is not installed (scripts/lib/deps.sh lists it; "
                          "apt-get install chromium)")
        work = tempfile.mkdtemp(prefix="leadhook-report-")
        try:
            page = os.path.join(work, "report.html")
            status, out, err = self.run_report("--html", page, "--from", "2025-03-01",
                                               "--to", "2025-03-05")
            self.assertEqual((status, out), (0, b""), err)
            self.assertIn("wrote %s (6 leads, 23 events from 2025-03-01 to 2025-03-04)" % page,
                          err)
            with open(page, encoding="utf-8") as f:
                text = f.read()
            assert_self_contained(self, text)

            dom = render_dom(self, chromium, page, work)
            self.assertEqual(dom.count("svg", "chart"), 1)
            self.assertEqual(dom.count("g", "bar"), 4)  # one per day
            segments = dom.find_all("rect", "seg")
            self.assertEqual(len(segments), 12)  # one per day and type with events
            self.assertEqual(
                [(s["data-day"], s["data-type"], s["data-count"]) for s in segments][:4],
                [("2025-03-01", "delivered", "1"), ("2025-03-01", "opened", "1"),
                 ("2025-03-01", "bounced", "1"), ("2025-03-02", "delivered", "12")])
            unit = float(segments[0]["height"])
            self.assertAlmostEqual(float(segments[3]["height"]), 12 * unit, places=1)
            self.assertEqual(
                [i["data-type"] for i in dom.find_all("g", "legend-item")],
                ["delivered", "opened", "clicked", "unsubscribed", "complained", "bounced",
                 "dropped", "deferred", "accepted"])
            rows = dom.table_rows("leads")
            self.assertEqual([r[0] for r in rows], ["107", "104", "103", "106", "102", "101"])
            self.assertEqual(rows[5][:3], ["101", "ann@alpha.example", "clicked"])
            self.assertEqual([r[7] for r in rows],  # the flags, as chips
                             ["opted out", "", "complainedopted out", "dropped", "bounced", ""])

            # The page with a domain and a status that no lead has.
            status, _, err = self.run_report("leads", "--html", page, "--from", "2025-03-01",
                                             "--to", "2025-03-05", "--domain", "alpha.example",
                                             "--status", "opened", "--format", "csv")
            self.assertEqual(status, 0, err)
            dom = render_dom(self, chromium, page, work)
            self.assertEqual(len(dom.find_all("rect", "seg")), 6)
            self.assertEqual(dom.table_rows("leads"), [["No leads match."]])

            # The screenshot is the page, drawn: the chart's colours are on it.
            status, _, err = self.run_report("--html", page, "--from", "2025-03-01",
                                             "--to", "2025-03-05")
            shot = os.path.join(work, "report.png")
            run_chromium(self, chromium, work, "--screenshot=" + shot, "--window-size=1100,1300",
                         "file://" + page)
            width, height, pixels = read_png(shot)
            self.assertEqual((width, height), (1100, 1300))
            for colour in ((0x4e, 0x79, 0xa7), (0x59, 0xa1, 0x4f), (0xb0, 0x7a, 0xa1)):
                self.assertGreater(pixels.get(colour, 0), 50, "colour %r drawn" % (colour,))
        finally:
            shutil.rmtree(work, ignore_errors=True)

    # ---- errors ----
    def test_usage_errors_exit_2_and_database_errors_exit_1(self):
        for args, message in [
                ((), "name a report (leads, daily or suppress) or give --html"),
                (("weekly",), "unknown report 'weekly'"),
                (("leads", "--from", "2025-02-30"), "--from: '2025-02-30' is not a date"),
                (("daily", "--from", "2025-03-05", "--to", "2025-03-01"), "is not before --to"),
                (("leads", "--status", "failed"), "--status: unknown status 'failed'"),
                (("leads", "--format", "xml"), "--format: unknown format 'xml'"),
                (("suppress", "--status", "bounced"), "--status filters leads"),
                (("leads", "--domain", "x@y.example"), "--domain: 'x@y.example' is not a domain"),
                (("leads", "--no-such-flag"), "--no-such-flag")]:
            status, out, err = self.run_report(*args)
            self.assertEqual((status, out), (2, b""), args)
            self.assertIn(message, err, args)
        with tempfile.NamedTemporaryFile("w", suffix=".toml") as bad:
            bad.write("database_url = [\n")
            bad.flush()
            status, _, err = self.run_report("leads", "-c", bad.name)
            self.assertEqual(status, 2, err)
            self.assertIn("invalid configuration", err)
        status, out, err = self.run_report("leads", "--database-url",
                                           "postgresql://127.0.0.1:1/nothing")
        self.assertEqual((status, out), (1, b""), err)
        self.assertIn("leadhook report: database:", err)
        status, _, err = self.run_report("--html", "/nonexistent-dir/report.html")
        self.assertEqual(status, 1, err)
        self.assertIn("cannot write /nonexistent-dir/report.html", err)

    def test_needs_no_signing_key(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("LEADHOOK_")}
        env["LEADHOOK_DATABASE_URL"] = self.stack.db_url
        result = subprocess.run([self.stack.env["LEADHOOK_BIN"], "report", "suppress", "--format",
                                 "csv"], env=env, capture_output=True, timeout=60)
        self.assertEqual((result.returncode, result.stdout), (0, SUPPRESS_CSV), result.stderr)


    def test_the_transcripts_in_docs_reports_md_are_this_data_s_output(self):
        transcripts = docs_transcripts()
        self.assertGreaterEqual(len(transcripts), 4, "docs/reports.md lost its examples")
        for command, expected in transcripts:
            with self.subTest(command=command):
                args = shlex.split(command)
                self.assertEqual(args[:2], ["leadhook", "report"])
                self.assertEqual(self.report(*args[2:]).decode().replace("\r\n", "\n"),
                                 expected)


def docs_transcripts():
    """[(command, output)] of every `$ leadhook report ...` in the unlabelled
    code blocks of docs/reports.md, whose output is this seed's."""
    blocks, block = [], None
    with open(os.path.join(REPO, "docs", "reports.md")) as f:
        for line in f:
            if line.startswith("```"):
                if block is None:
                    block = "" if line == "```\n" else False
                else:
                    if block:
                        blocks.append(block)
                    block = None
            elif block is not None and block is not False:
                block += line
    found = []
    for block in blocks:
        for part in re.split(r"^\$ ", block, flags=re.M)[1:]:
            command, _, output = part.partition("\n")
            found.append((command, output.rstrip("\n") + "\n"))
    return found


class SuppressAfterPurgeTests(ReportCase):
    """The suppression list is written with each event that forbids more
    mail and is never purged, so the suppress report is the same after the
    events' month is dropped: addresses seen only in unmatched events stay,
    with the events' own times."""

    def test_suppress_is_unchanged_once_the_events_are_purged(self):
        with tempfile.NamedTemporaryFile("w", suffix=".toml") as config:
            config.write("event_retention_months = 12\n")
            config.flush()
            result = self.stack.leadhook("purge", "-c", config.name)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("event-log partition lead_email_events_202503", result.stdout)
        self.assertEqual(self.stack.scalar(
            "SELECT count(*) FROM lead_email_events WHERE event_time < '2025-04-01Z'"), "0")
        self.assertEqual(self.report("suppress", "--format", "csv"), SUPPRESS_CSV)


# ---- Chromium and what it shows ----
class Dom(html.parser.HTMLParser):
    """Elements (tag, attributes) and the text of table cells, from a DOM dump."""

    def __init__(self, text):
        super().__init__()
        self.elements = []
        self.tables = {}
        self._table = None
        self._row = None
        self._cell = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.elements.append((tag, attrs))
        if tag == "table":
            self._table = self.tables.setdefault(attrs.get("class", ""), [])
        elif tag == "tr" and self._table is not None:
            self._row = []
        elif tag == "td" and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            if self._row:  # header rows have th, not td
                self._table.append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)

    def find_all(self, tag, cls):
        return [a for t, a in self.elements if t == tag and cls in (a.get("class") or "").split()]

    def count(self, tag, cls):
        return len(self.find_all(tag, cls))

    def table_rows(self, cls):
        return self.tables.get(cls, [])


def run_chromium(test, chromium, work, *args):
    result = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         "--user-data-dir=" + os.path.join(work, "chromium-profile")] + list(args),
        capture_output=True, text=True, timeout=180)
    test.assertEqual(result.returncode, 0, result.stderr[-2000:])
    return result.stdout


def render_dom(test, chromium, page, work):
    """The page as Chromium builds it (after parsing, with the SVG in place)."""
    return Dom(run_chromium(test, chromium, work, "--dump-dom", "file://" + page))


def assert_self_contained(test, text):
    """Nothing that would load from elsewhere: no URL, script, link,
    stylesheet import, font or image source."""
    for pattern in (r"https?:", r"<script", r"<link", r"@import", r"@font-face", r"url\(",
                    r"<img", r"<iframe", r"<object", r"\bsrc=", r"\bhref="):
        test.assertIsNone(re.search(pattern, text, re.I), pattern)


def read_png(path):
    """(width, height, {(r, g, b): pixels}) of an 8-bit RGB or RGBA PNG."""
    import zlib
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, [], None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat.append(chunk)
        pos += 12 + length
    width, height, depth, colour_type, _, _, interlace = header
    assert depth == 8 and colour_type in (2, 6) and interlace == 0, header
    bpp = 3 if colour_type == 2 else 4
    raw = zlib.decompress(b"".join(idat))
    stride = width * bpp
    counts, previous = {}, bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, row = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        for i in range(stride):
            a = row[i - bpp] if i >= bpp else 0
            b = previous[i]
            c = previous[i - bpp] if i >= bpp else 0
            if kind == 1:
                row[i] = (row[i] + a) & 0xFF
            elif kind == 2:
                row[i] = (row[i] + b) & 0xFF
            elif kind == 3:
                row[i] = (row[i] + (a + b) // 2) & 0xFF
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                row[i] = (row[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        for x in range(0, stride, bpp):
            key = (row[x], row[x + 1], row[x + 2])
            counts[key] = counts.get(key, 0) + 1
        previous = row
    return width, height, counts


if __name__ == "__main__":
    unittest.main(verbosity=2)
