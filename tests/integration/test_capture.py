#!/usr/bin/env python3
"""Integration: capture mode. Webhook requests (and unknown paths) are written
to capture_dir exactly as received, in the documented HTTP/1.1 file format,
private to leadhook's user, bounded by capture_max_files; polled routes are
not. scripts/replay of the captures into a second, empty stack reproduces
the statuses the first one answered, and into the first one again changes
nothing.
"""
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from replay_support import EVENTS, FORM, StackTestCase, event_data, webhook  # noqa: E402
from stack import REPO, TEST_KEY, Stack, form_webhook, multipart_webhook  # noqa: E402

REPLAY = os.path.join(REPO, "scripts", "replay")
MAX_FILES = 10


class CaptureTests(StackTestCase):
    CAPTURES = tempfile.mkdtemp(prefix="leadhook-captures-")
    STACK_ENV = {"LEADHOOK_CAPTURE_DIR": os.path.join(CAPTURES, "dir"),
                 "LEADHOOK_CAPTURE_MAX_FILES": str(MAX_FILES)}

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            shutil.rmtree(cls.CAPTURES, ignore_errors=True)

    def captures(self):
        d = self.STACK_ENV["LEADHOOK_CAPTURE_DIR"]
        return sorted(os.path.join(d, n) for n in os.listdir(d) if n.endswith(".http"))

    def read(self, path):
        with open(path, "rb") as f:
            head, _, body = f.read().partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        headers = dict(line.split(": ", 1) for line in lines[1:])
        return lines[0], headers, body

    def send(self, path, body, content_type, user_agent="mailgun/test"):
        status, _, data = self.stack.request("POST", path, body, content_type,
                                             headers={"User-Agent": user_agent})
        return status

    def replay(self, stack, files):
        result = subprocess.run([REPLAY, "--url", "http://127.0.0.1:%d" % stack.port,
                                 "--expect", "200,404"] + files,
                                capture_output=True, text=True, timeout=120)
        return result

    def test_capture_then_replay(self):
        # One capture per request kind, each checked against what was sent.
        lead = self.add_lead("capture")
        _, email, message_id = lead
        multipart, multipart_type = multipart_webhook(
            [("event", "opened"), ("recipient", email), ("Message-Id", "<%s>" % message_id)])
        sent = [
            (EVENTS, webhook(event_data("delivered", message_id, email), TEST_KEY),
             "application/json"),
            ("/api/v1/wh/mg/lead/email/click", form_webhook(
                [("event", "clicked"), ("recipient", email), ("Message-Id", message_id),
                 ("url", "https://example.com/x")]), FORM),
            ("/api/v1/wh/mg/lead/email/open", multipart, multipart_type),
            ("/api/v1/wh/mg/wrong-url", b"{}", "application/json"),
        ]
        before = self.captures()
        statuses = [self.send(path, body, ctype) for path, body, ctype in sent]
        self.assertEqual(statuses, [200, 200, 200, 404])
        for _ in range(3):  # polled routes are never captured
            self.assertEqual(self.stack.request("GET", "/api/v1/health")[0], 200)
        files = [f for f in self.captures() if f not in before]
        self.assertEqual(len(files), len(sent), files)

        for path, (route, body, ctype) in zip(files, sent):
            request_line, headers, captured = self.read(path)
            self.assertEqual(request_line, "POST %s HTTP/1.1" % route)
            self.assertEqual(headers["Content-Type"], ctype)
            self.assertEqual(int(headers["Content-Length"]), len(body))
            self.assertEqual(captured, body)  # byte for byte, CRLFs in multipart included
            self.assertEqual(headers["User-Agent"], "mailgun/test")
            self.assertEqual(headers["X-Leadhook-Remote-Addr"], "127.0.0.1")
            self.assertIn("req=%s " % headers["X-Leadhook-Request-Id"], self.stack.leadhook_log())
            self.assertTrue(os.path.basename(path).endswith(
                "-%s.http" % headers["X-Leadhook-Request-Id"]))
            self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        self.assertEqual(
            stat.S_IMODE(os.stat(self.STACK_ENV["LEADHOOK_CAPTURE_DIR"]).st_mode), 0o700)

        # Into an empty stack (same keys): the same statuses, the lead changed
        # the same way.
        other = Stack()
        try:
            other.sql("INSERT INTO leads (email_addr, followup_email_receipt_id,"
                      " followup_email_sent_date) VALUES (:'p0', :'p1', now())", email,
                      message_id)
            result = self.replay(other, files)
            self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
            replayed = [line.split()[1] for line in result.stdout.splitlines()[:len(files)]]
            self.assertEqual([int(s) for s in replayed], statuses, result.stdout)
            columns = ("followup_email_delivered, followup_email_opens, followup_email_clicks")
            self.assertEqual(
                other.sql("SELECT %s FROM leads WHERE email_addr = :'p0'" % columns, email),
                self.stack.sql("SELECT %s FROM leads WHERE email_addr = :'p0'" % columns, email))
        finally:
            other.stop()

        # Into the first stack again: all duplicates, nothing changes.
        counters = self.counters(lead[0])
        events = self.stack.scalar("SELECT count(*) FROM lead_email_events")
        result = self.replay(self.stack, files)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertEqual(self.counters(lead[0]), counters)
        self.assertEqual(self.stack.scalar("SELECT count(*) FROM lead_email_events"), events)

    def test_the_oldest_captures_go_past_capture_max_files(self):
        for i in range(MAX_FILES + 3):
            self.send("/api/v1/wh/mg/nowhere-%d" % i, b"x", "text/plain")
            time.sleep(0.002)  # distinct arrival times, so names sort by arrival
        files = self.captures()
        self.assertEqual(len(files), MAX_FILES)
        self.assertEqual(self.read(files[-1])[0],
                         "POST /api/v1/wh/mg/nowhere-%d HTTP/1.1" % (MAX_FILES + 2))
        self.assertFalse([n for n in os.listdir(self.STACK_ENV["LEADHOOK_CAPTURE_DIR"])
                          if n.endswith(".tmp")])


if __name__ == "__main__":
    unittest.main(verbosity=2)
