#!/usr/bin/env python3
"""Integration: real nginx -> leadhook -> PostgreSQL, driven over HTTP.

Every corpus sample is posted with its own content type; statuses, event
rows and lead rows are checked in the database itself.
"""
import glob
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from stack import CORPUS, Stack, Waiting, json_webhook, resign, signature_of  # noqa: E402

EVENTS = "/api/v1/wh/mg/events"
MULTIPART = "multipart/form-data; boundary=BoUnDaRyStRiNg"
FORM = "application/x-www-form-urlencoded"

# Expected normalised type of each signed corpus sample.
CORPUS_TYPES = {
    "anymail__accepted-null-delivery-status.json": "accepted",
    "anymail__clicked.json": "clicked",
    "anymail__complained.json": "complained",
    "anymail__delivered-signed-with-api-key.json": "delivered",
    "anymail__delivered.json": "delivered",
    "anymail__failed-permanent-bounce.json": "bounced",
    "anymail__failed-temporary-generic.json": "deferred",
    "anymail__failed-temporary-greylisted.json": "deferred",
    "anymail__opened.json": "opened",
    "anymail__rejected.json": "rejected",
    "anymail__unsubscribed.json": "unsubscribed",
    "symfony__accepted.json": "accepted",
    "symfony__clicked.json": "clicked",
    "symfony__complained.json": "complained",
    "symfony__delivered.json": "delivered",
    "symfony__failed-permanent-bounce.json": "bounced",
    "symfony__failed-permanent-no-description.json": "bounced",
    "symfony__failed-permanent-suppress-bounce.json": "dropped",
    "symfony__failed-temporary.json": "deferred",
    "symfony__opened.json": "opened",
    "symfony__unsubscribed.json": "unsubscribed",
    "anymail-legacy__clicked-custom-vars.form": "clicked",
    "anymail-legacy__clicked-user-var-name-collisions.form": "clicked",
    "anymail-legacy__delivered-x-mailgun-tag.form": "delivered",
    "anymail-legacy__delivered-x-mailgun-variables.form": "delivered",
    "anymail-legacy__delivered.form": "delivered",
    "anymail-legacy__opened-tags.form": "opened",
    "anymail-legacy__bounced-550.multipart": "bounced",
    "anymail-legacy__bounced-code-5.1.1.multipart": "bounced",
    "anymail-legacy__dropped-499-old.multipart": "dropped",
    "anymail-legacy__dropped-605-hardfail.multipart": "dropped",
    "anymail-legacy__dropped-607-spam.multipart": "dropped",
}
LEGACY_ROUTE = {"delivered": "delivered", "opened": "open", "clicked": "click",
                "bounced": "bounced", "dropped": "dropped"}


def content_type_of(name):
    if name.endswith(".form"):
        return FORM
    if name.endswith(".multipart"):
        return MULTIPART
    return "application/json"


def read(name):
    with open(os.path.join(CORPUS, name), "rb") as f:
        return f.read()


def json_event_key(body, content_type):
    """A JSON event's (Mailgun event id, timestamp, event): leadhook stores
    each once. None for forms and for events without an id."""
    if not content_type.startswith("application/json"):
        return None
    data = json.loads(body).get("event-data") or {}
    if not data.get("id") or data.get("timestamp") is None:
        return None
    return data["id"], float(data["timestamp"]), data.get("event")


def as_new_event(body, content_type):
    """The sample as an event of its own: a fresh token (signed with the test
    key) and, for JSON, a distinct Mailgun event id."""
    if content_type.startswith("application/json"):
        data = json.loads(body)
        if data.get("event-data", {}).get("id"):
            data["event-data"]["id"] += "-" + secrets.token_hex(4)
        body = json.dumps(data).encode()
    return resign(body, content_type)


class WebhookTests(Waiting, unittest.TestCase):
    WAIT_SECONDS = 15

    @classmethod
    def setUpClass(cls):
        # The corpus samples were signed years ago: no freshness window here
        # (test_replay.py covers it).
        cls.stack = Stack({"LEADHOOK_MAX_BODY_BYTES": str(1 << 20),
                           "LEADHOOK_MAX_AGE_SECONDS": "0"})

    @classmethod
    def tearDownClass(cls):
        log = cls.stack.leadhook_log()
        result = cls.stack.stop()  # raises if leadhook did not exit 0 on SIGTERM
        sys.stderr.write(result.stdout[-2000:])
        sys.stderr.write("leadhook log, last lines:\n" + "\n".join(log.splitlines()[-5:]) + "\n")

    def event_count(self):
        return int(self.stack.scalar("SELECT count(*) FROM lead_email_events"))

    def add_lead(self, email, receipt_id=None):
        return int(self.stack.scalar(
            "INSERT INTO leads (email_addr, followup_email_receipt_id, followup_email_sent_date)"
            " VALUES (:'p0', nullif(:'p1', ''), now()) RETURNING id", email, receipt_id or ""))

    def lead(self, lead_id):
        cols = ["followup_email_status", "followup_email_delivered", "followup_email_bounced",
                "followup_email_opens", "followup_email_clicks", "followup_email_spam",
                "followup_email_unsub", "followup_email_dropped", "is_optout",
                "followup_email_open_ip", "followup_email_open_device", "bounce_error",
                "bounce_code", "dropped_reason", "dropped_code", "webhook_last_updated"]
        row = self.stack.sql("SELECT %s FROM leads WHERE id = :'p0'" % ", ".join(cols), lead_id)[0]
        return dict(zip(cols, row))

    def test_index(self):
        for path in ("/api", "/api/v1", "/api/v1/index"):
            status, _, body = self.stack.request("GET", path)
            self.assertEqual(status, 200, path)
            routes = json.loads(body)["routes"]
            self.assertEqual(routes["events"], EVENTS)
            self.assertEqual(routes["delivered"], "/api/v1/wh/mg/lead/email/delivered")

    def test_every_corpus_sample(self):
        names = sorted(os.path.basename(p) for p in glob.glob(os.path.join(CORPUS, "*"))
                       if os.path.isfile(p) and "NEG" not in p and not p.endswith((".md", "vectors.json")))
        self.assertEqual(sorted(CORPUS_TYPES), names, "every sample has an expectation")
        recipient = self.add_lead("recipient@example.com",
                                  "<20180812211713.1.DF5966851B4BAA99@example.org>")
        alice = self.add_lead("Alice@Example.com")
        # The samples come from test suites that reuse fixed tokens, signatures
        # and Mailgun event ids, so to leadhook some are replays of others: a
        # token already used with another body is a forgery (406), a JSON event
        # (id, timestamp, type) already stored is a duplicate (200, nothing new).
        # Such a sample is then posted as an event of its own (fresh token,
        # distinct id), which must be stored like any other.
        token_bodies = {}  # token -> the body leadhook accepted it with
        events_seen = set()
        for name, expected in sorted(CORPUS_TYPES.items()):
            with self.subTest(sample=name):
                path = EVENTS
                if not name.endswith(".json"):  # legacy posts went to the per-event routes
                    path = "/api/v1/wh/mg/lead/email/" + LEGACY_ROUTE[expected]
                body, ctype = read(name), content_type_of(name)
                token, event_key = signature_of(body, ctype)[1], json_event_key(body, ctype)
                before = self.event_count()
                status, _, reply = self.stack.post(path, body, ctype)
                if token_bodies.get(token, body) != body:
                    self.assertEqual(status, 406, reply)
                    self.assertIn("token", reply["error"])
                elif event_key and event_key in events_seen:
                    self.assertEqual((status, reply["status"], reply["event"]),
                                     (200, "duplicate", expected), reply)
                    token_bodies[token] = body
                else:
                    self.assert_stored(path, status, reply, expected, before)
                    token_bodies[token] = body
                    if event_key:
                        events_seen.add(event_key)
                    continue
                self.assertEqual(self.event_count(), before, "a replay stores nothing")
                status, _, reply = self.stack.post(path, as_new_event(body, ctype), ctype)
                self.assert_stored(path, status, reply, expected, before)
        r = self.lead(recipient)
        self.assertEqual((r["followup_email_delivered"], r["followup_email_spam"],
                          r["followup_email_unsub"], r["is_optout"]), ("t", "t", "t", "t"))
        self.assertEqual((r["followup_email_opens"], r["followup_email_clicks"]), ("1", "1"))
        a = self.lead(alice)  # matched by address, case-insensitively
        self.assertEqual((a["followup_email_bounced"], a["followup_email_dropped"]), ("t", "t"))
        for lead_id in (recipient, alice):
            newest = self.stack.scalar(
                "SELECT event_type FROM lead_email_events WHERE lead_id = :'p0' AND event_type"
                " NOT IN ('accepted', 'stored', 'unknown') ORDER BY event_time DESC, id DESC"
                " LIMIT 1", lead_id)
            self.assertEqual(self.lead(lead_id)["followup_email_status"], newest)

    def test_mailguns_test_webhooks_are_the_events_they_look_like(self):
        # The dashboard's "test webhook" button posts samples that share one
        # event id and timestamp (symfony's fixtures are such posts): opened,
        # clicked and unsubscribed are three events; each again is a duplicate.
        # A fresh id for the three (the corpus test may have stored the
        # originals), a message id of this lead's, the samples' timestamp.
        message_id = "<test-button-%s@leadhook.test>" % secrets.token_hex(4)
        lead = self.add_lead("alice@example.com", message_id)
        samples = ["symfony__opened.json", "symfony__clicked.json", "symfony__unsubscribed.json"]
        self.assertEqual(len({json_event_key(read(n), "application/json")[:2] for n in samples}), 1)
        shared_id = "button-" + secrets.token_hex(6)

        def test_post(name):
            data = json.loads(read(name))
            data["event-data"]["id"] = shared_id
            data["event-data"]["message"]["headers"]["message-id"] = message_id.strip("<>")
            return resign(json.dumps(data).encode(), "application/json")
        for name in samples:
            status, _, reply = self.stack.post(EVENTS, test_post(name))
            self.assertEqual((status, reply["status"], reply["l_id"]), (200, "success", lead),
                             name)
        for name in samples:
            status, _, reply = self.stack.post(EVENTS, test_post(name))
            self.assertEqual((status, reply["status"]), (200, "duplicate"), name)
        r = self.lead(lead)
        self.assertEqual((r["followup_email_opens"], r["followup_email_clicks"],
                          r["followup_email_unsub"]), ("1", "1", "t"))

    def assert_stored(self, path, status, reply, expected, events_before):
        self.assertEqual(status, 200, reply)
        self.assertEqual(reply["event"], expected)
        self.assertIn(reply["status"], ("success", "unmatched"))
        self.assertEqual(reply["status"] == "success", reply["l_id"] is not None)
        self.assertEqual(self.event_count(), events_before + 1)
        row = self.stack.sql("SELECT event_type, coalesce(lead_id::text, ''), body_format,"
                             " route FROM lead_email_events ORDER BY id DESC LIMIT 1")[0]
        self.assertEqual(row[0], expected)
        self.assertEqual(row[1], str(reply["l_id"]) if reply["l_id"] else "")
        self.assertEqual(row[3], path)

    def test_legacy_event_named_by_route(self):
        lead = self.add_lead("route-named@example.com")
        body = read("anymail-legacy__bounced-550.multipart")
        body = body.replace(b'name="event"\r\n\r\nbounced', b'name="x-note"\r\n\r\nbounced')
        body = body.replace(b"noreply@example.com", b"route-named@example.com")
        # Edited bodies get tokens of their own: the sample's token is bound to
        # the sample's body once another test has posted it.
        status, _, reply = self.stack.post("/api/v1/wh/mg/lead/email/bounced",
                                           resign(body, MULTIPART), MULTIPART)
        self.assertEqual((status, reply["event"], reply["l_id"]), (200, "bounced", lead))
        self.assertEqual(self.lead(lead)["bounce_code"], "550")
        status, _, reply = self.stack.post(EVENTS, resign(body, MULTIPART), MULTIPART)
        self.assertEqual(status, 406)
        self.assertIn("no event", reply["error"])

    def test_bad_and_missing_signature_store_nothing(self):
        before = self.event_count()
        for name in ("anymail__NEG-bad-signature.json", "anymail__NEG-missing-signature.json"):
            status, _, reply = self.stack.post(EVENTS, read(name))
            self.assertEqual(status, 409, name)
            self.assertIn("signature", reply["error"])
        forged = read("anymail__delivered.json").replace(b'"signature": "2a', b'"signature": "3a')
        self.assertEqual(self.stack.post(EVENTS, forged)[0], 409)
        self.assertEqual(self.event_count(), before)

    def test_unprocessable_bodies_give_406_and_store_nothing(self):
        before = self.event_count()
        cases = [
            (b"{not json", "application/json", "JSON"),
            (b"[1, 2]", "application/json", "object"),
            (read("anymail__delivered.json"), "text/plain", "Content-Type"),
            (read("anymail__delivered.json"), None, "Content-Type"),
            (read("anymail-legacy__bounced-550.multipart")[:200], MULTIPART, "boundary"),
            (read("anymail-legacy__delivered.form"), "multipart/form-data", "boundary"),
            (read("anymail-legacy__NEG-inbound-route-payload.form"), FORM, "inbound"),
            (json_webhook({"timestamp": time.time()}), "application/json", "event"),
            (b"[" * 100000, "application/json", "deeper"),
        ]
        for body, ctype, words in cases:
            with self.subTest(content_type=ctype, expect=words):
                status, _, reply = self.stack.post(EVENTS, body, ctype)
                self.assertEqual(status, 406, reply)
                self.assertIn(words.lower(), reply["error"].lower())
        self.assertEqual(self.event_count(), before)

    def test_routing_statuses(self):
        self.assertEqual(self.stack.request("GET", "/api/v1/nope")[0], 404)
        status, headers, _ = self.stack.request("GET", EVENTS)
        self.assertEqual((status, headers.get("allow")), (405, "POST"))
        status, headers, _ = self.stack.request("POST", "/api/v1/index", b"{}", "application/json")
        self.assertEqual((status, headers.get("allow")), (405, "GET, HEAD"))
        status, _, body = self.stack.request("HEAD", "/api/v1/index")
        self.assertEqual((status, body), (200, b""))

    def test_body_over_limit_gives_413(self):
        big = json_webhook({"event": "delivered", "pad": "x" * (2 << 20)})
        status, _, _ = self.stack.request("POST", EVENTS, big, "application/json")
        self.assertEqual(status, 413)

    def test_out_of_order_events(self):
        lead = self.add_lead("late@example.com", "late-1@leadhook.test")
        base = {"recipient": "late@example.com",
                "message": {"headers": {"message-id": "late-1@leadhook.test"}}}
        opened = dict(base, event="opened", timestamp=2000.5, ip="192.0.2.9",
                      **{"client-info": {"device-type": "mobile"}})
        delivered = dict(base, event="delivered", timestamp=1000.25)
        older_open = dict(base, event="opened", timestamp=1500.0, ip="192.0.2.1",
                          **{"client-info": {"device-type": "desktop"}})
        for data in (opened, delivered, older_open):
            status, _, reply = self.stack.post(EVENTS, json_webhook(data))
            self.assertEqual((status, reply["l_id"]), (200, lead))
        state = self.lead(lead)
        self.assertEqual(state["followup_email_status"], "opened")
        self.assertEqual(state["followup_email_delivered"], "t")
        self.assertEqual(state["followup_email_opens"], "2")
        self.assertEqual((state["followup_email_open_ip"], state["followup_email_open_device"]),
                         ("192.0.2.9", "mobile"))
        bounce = dict(base, event="failed", severity="permanent", reason="bounce",
                      timestamp=500.0, **{"delivery-status": {"code": 550, "message": "no such user"}})
        self.assertEqual(self.stack.post(EVENTS, json_webhook(bounce))[0], 200)
        state = self.lead(lead)
        self.assertEqual((state["followup_email_bounced"], state["followup_email_status"]),
                         ("t", "opened"))
        self.assertEqual((state["bounce_code"], state["bounce_error"]), ("550", "no such user"))

    def test_database_down_gives_503_then_recovers(self):
        lead = self.add_lead("outage@example.com")
        body = json_webhook({"event": "delivered", "timestamp": 1700000000.0,
                             "recipient": "outage@example.com"})
        before = self.event_count()
        self.stack.pg_stop()
        try:
            status, headers, reply = self.stack.post(EVENTS, body)
            self.assertEqual(status, 503, reply)
            self.assertIn("retry-after", headers)
        finally:
            self.stack.pg_start()
        self.assertEqual(self.event_count(), before, "nothing half-written")
        status, _, reply = self.stack.post(EVENTS, body)  # the same request, no leadhook restart
        self.assertEqual((status, reply["l_id"]), (200, lead))
        self.assertEqual(self.event_count(), before + 1)
        # Every worker's connection died with the server; each must reconnect.
        for i in range(12):
            status, _, reply = self.stack.post(EVENTS, json_webhook(
                {"event": "opened", "timestamp": 1700000001.0 + i, "recipient": "outage@example.com"}))
            self.assertEqual((status, reply.get("l_id")), (200, lead), reply)
        self.assertGreater(self.stack.metrics().get("leadhook_database_reconnects_total", 0), 0)

    def ready(self):
        status, headers, body = self.stack.request("GET", "/api/v1/ready")
        return status, json.loads(body), headers

    def test_health_and_ready_follow_the_database(self):
        status, _, body = self.stack.request("GET", "/api/v1/health")
        self.assertEqual((status, json.loads(body)), (200, {"status": "ok"}))
        self.assertEqual(self.ready()[:2], (200, {"status": "ready"}))
        self.stack.pg_stop()
        try:
            status, reply, headers = self.ready()
            self.assertEqual(status, 503, reply)
            self.assertEqual(reply["status"], "not ready")
            self.assertIn("database", reply["reason"])
            self.assertIn("retry-after", headers)
            # The process itself is fine: liveness must not flip with the database.
            self.assertEqual(self.stack.request("GET", "/api/v1/health")[0], 200)
        finally:
            self.stack.pg_start()
        deadline = time.time() + 40  # reconnects back off, up to 30 s
        while self.ready()[0] != 200:
            self.assertLess(time.time(), deadline, "ready did not come back")
            time.sleep(0.5)

    def test_sigterm_finishes_the_request_in_flight(self):
        lead = self.add_lead("drain@example.com")
        # Hold the lead's row lock so leadhook's request waits inside its transaction.
        holder = subprocess.Popen(["psql", "-X", "-q", self.stack.db_url], stdin=subprocess.PIPE,
                                  stdout=subprocess.DEVNULL, text=True)
        holder.stdin.write("BEGIN; SELECT id FROM leads WHERE id = %d FOR UPDATE;\n" % lead)
        holder.stdin.flush()
        self.wait_for("the test holds the row lock", lambda: self.stack.scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction'"
            " AND query LIKE '%FOR UPDATE%'") == "1")
        replies = []
        body = json_webhook({"event": "delivered", "timestamp": 1700000100.0,
                             "recipient": "drain@example.com"})
        poster = threading.Thread(target=lambda: replies.append(self.stack.post(EVENTS, body)))
        try:
            poster.start()
            self.wait_for("leadhook waits on the row lock", lambda: self.stack.scalar(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'leadhook'"
                " AND wait_event_type = 'Lock'") == "1")
            pid = int(self.stack.env["LEADHOOK_PID"])
            os.kill(pid, signal.SIGTERM)
            time.sleep(0.5)
            os.kill(pid, 0)  # still alive: draining, not dropped
        finally:
            holder.stdin.write("COMMIT;\n")
            holder.stdin.close()
            holder.wait(timeout=30)
        poster.join(timeout=30)
        status, _, reply = replies[0]
        self.assertEqual((status, reply["l_id"]), (200, lead))
        self.assertEqual(self.lead(lead)["followup_email_delivered"], "t")
        # leadhook-restart fails unless the drained leadhook exited with status 0.
        self.stack.restart_leadhook()
        self.assertEqual(self.stack.request("GET", "/api/v1/index")[0], 200)

    def test_log_has_one_line_per_request_and_no_secrets(self):
        body = read("symfony__delivered.json")
        status, _, _ = self.stack.post(EVENTS, body)
        self.assertEqual(status, 200)
        signature = json.loads(body)["signature"]
        log = self.stack.leadhook_log()
        for secret in (signature["token"], signature["signature"], "key-0p6mqbf74lb20gzq9f4dhpn9rg3zyk26"):
            self.assertNotIn(secret, log)
        self.assertRegex(log, r"req=\w+ method=POST path=/api/v1/wh/mg/events status=200")


if __name__ == "__main__":
    unittest.main(verbosity=2)
