"""Shared by the replay-defence integration suites (test_replay.py,
test_keys_quarantine.py): signed payload builders, a one-stack-per-class
TestCase with lead, event and quarantine helpers, and the secrets check.
"""
import concurrent.futures
import hashlib
import json
import os
import secrets
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from stack import (CORPUS_KEYS, TEST_KEY, Stack, form_webhook,  # noqa: E402
                   multipart_body, signature_block, signature_of)

EVENTS = "/api/v1/wh/mg/events"
FORM = "application/x-www-form-urlencoded"

# Every key, token and signature the tests use; none may appear in a log.
SECRETS = set()
# Every stack's final logs, checked for SECRETS once all tests have run.
ALL_LOGS = []


def new_key(prefix):
    key = "%s-%s" % (prefix, secrets.token_hex(16))
    SECRETS.add(key)
    return key


def default_label(key):
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()[:8]


def sha256_hex(data):
    return hashlib.sha256(data).hexdigest()


def rfc3339(epoch):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def remember(block):
    for name in ("token", "signature", "parent-signature"):
        if block.get(name):
            SECRETS.add(block[name])
    return block


def signed_block(key, timestamp=None, token=None, parent_key=None):
    return remember(signature_block(key, timestamp, token, parent_key))


def webhook(event_data, key, timestamp=None, signature=None):
    """A JSON webhook body signed with `key` (or under the given signature block)."""
    signature = signature or signed_block(key, timestamp)
    return json.dumps({"signature": remember(signature), "event-data": event_data}).encode()


def event_data(kind, message_id, recipient, **extra):
    """A Mailgun event of its own: a fresh id, the current time."""
    data = {"event": kind, "id": secrets.token_urlsafe(16), "timestamp": round(time.time(), 6),
            "recipient": recipient, "message": {"headers": {"message-id": message_id}}}
    data.update(extra)
    return data


def unique(name):
    return "%s-%s" % (name, secrets.token_hex(6))


class StackTestCase(unittest.TestCase):
    """One stack per class: subclasses set STACK_ENV / INSTANCES, or override
    make_stack."""
    STACK_ENV = {}
    INSTANCES = 1
    stack = None

    @classmethod
    def make_stack(cls):
        return Stack(dict(cls.STACK_ENV), instances=cls.INSTANCES)

    @classmethod
    def setUpClass(cls):
        cls.stack = cls.make_stack()

    @classmethod
    def tearDownClass(cls):
        if cls.stack:
            try:
                cls.stack.stop()  # raises if a leadhook did not exit 0 on SIGTERM
            finally:
                ALL_LOGS.append((cls.__name__, cls.stack.leadhook_logs()))

    # ---- leads and events ----
    def add_lead(self, label):
        """A lead whose follow-up email has its own message id: (id, email, message id)."""
        email = unique(label) + "@example.com"
        message_id = unique(label) + "@leadhook.test"
        lead_id = int(self.stack.scalar(
            "INSERT INTO leads (email_addr, followup_email_receipt_id, followup_email_sent_date)"
            " VALUES (:'p0', :'p1', now()) RETURNING id", email, "<%s>" % message_id))
        return lead_id, email, message_id

    def counters(self, lead_id):
        row = self.stack.sql(
            "SELECT coalesce(followup_email_opens, 0), coalesce(followup_email_clicks, 0),"
            " coalesce(followup_email_unsub, false) FROM leads WHERE id = :'p0'", lead_id)[0]
        return {"opens": int(row[0]), "clicks": int(row[1]), "unsub": row[2] == "t"}

    def events_for(self, message_id):
        """Rows of lead_email_events for a message id: [(id, event_type, lead_id, key label)]."""
        return self.stack.sql(
            "SELECT id, event_type, coalesce(lead_id::text, ''), coalesce(signing_key_label, '')"
            " FROM lead_email_events WHERE message_id = :'p0' ORDER BY id", message_id)

    def quarantined(self, body):
        """The quarantine row of this body, as a dict, or None."""
        cols = ["id", "reason", "attempts", "detail", "path", "content_type", "remote_addr",
                "request_id", "body_bytes", "body_hex", "received_us", "last_seen_us"]
        rows = self.stack.sql(
            "SELECT id, reason, attempts, detail, path, content_type, remote_addr, request_id,"
            " body_bytes, encode(body, 'hex'), (extract(epoch FROM received_at) * 1e6)::bigint,"
            " (extract(epoch FROM last_seen_at) * 1e6)::bigint FROM webhook_quarantine"
            " WHERE body_sha256 = decode(:'p0', 'hex') ORDER BY id", sha256_hex(body))
        self.assertLessEqual(len(rows), 1, "one quarantine row per body and path")
        return dict(zip(cols, rows[0])) if rows else None

    def post(self, body, content_type="application/json", path=EVENTS):
        status, _, reply = self.stack.post(path, body, content_type)
        return status, reply

    def assert_refused(self, body, status, reason, content_type="application/json", path=EVENTS):
        """Answered `status` with an error, stored nothing, quarantined as `reason`."""
        before = self.stack.scalar("SELECT count(*) FROM lead_email_events")
        got, reply = self.post(body, content_type, path)
        self.assertEqual(got, status, reply)
        self.assertIsInstance(reply.get("error"), str, reply)
        self.assertEqual(self.stack.scalar("SELECT count(*) FROM lead_email_events"), before,
                         "a refused request stores no event")
        row = self.quarantined(body)
        self.assertIsNotNone(row, "quarantined")
        self.assertEqual(row["reason"], reason)
        return reply, row

    def log_line(self, request_id):
        """The request's log line (found by nginx's request id)."""
        lines = [line for log in self.stack.leadhook_logs() for line in log.splitlines()
                 if "req=%s " % request_id in line or line.endswith("req=" + request_id)]
        self.assertEqual(len(lines), 1, "one log line for request %s" % request_id)
        return lines[0]

    def metric(self, name):
        return self.stack.metrics().get(name, 0.0)

    def post_all(self, bodies, workers):
        """Posts every body from a thread pool; returns [(status, reply)] in order."""
        with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(self.post, bodies))



def check_no_secrets():
    """No key, token or signature in any leadhook log of any stack (call it
    from tearDownModule, once every stack has stopped)."""
    leaks = ["%s: %s...%s" % (name, secret[:6], secret[-4:])
             for name, logs in ALL_LOGS for secret in sorted(SECRETS)
             if any(secret in log for log in logs)]
    if leaks:
        raise AssertionError("secrets in leadhook logs: " + ", ".join(leaks))


SECRETS.update(CORPUS_KEYS + [TEST_KEY])  # the keys of the stacks started with the defaults
