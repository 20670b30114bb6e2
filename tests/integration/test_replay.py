#!/usr/bin/env python3
"""Integration: the token ledger over real nginx -> leadhook -> PostgreSQL.

Duplicates, forgeries, Mailgun event ids, concurrent deliveries, two
leadhook processes on one database, the freshness window, key labels,
parent-signature, quarantine reasons and attempts, body limits, /metrics,
and no secret in any log. One stack per test class.
"""
import concurrent.futures
import json
import os
import random
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from replay_support import (EVENTS, FORM, TEST_KEY, StackTestCase, check_no_secrets,  # noqa: E402
    default_label, event_data, form_webhook, multipart_body, new_key, remember, sha256_hex,
    signature_of, signed_block, unique, webhook)
from stack import Waiting  # noqa: E402


class ReplayTests(Waiting, StackTestCase):
    """Ledger, freshness, labels, parent-signature, quarantine and limits on
    one leadhook with the default freshness window."""
    KEY = new_key("main")                # no label: sha256:... by default
    LABELLED = new_key("labelled")       # label=primary
    PARENT = new_key("parent")           # label=parent (a parent account's key)
    STACK_ENV = {
        "LEADHOOK_SIGNING_KEYS": "%s,%s label=primary,%s label=parent" % (KEY, LABELLED, PARENT),
        "LEADHOOK_MAX_FIELDS": "100",  # the smallest values leadhook accepts
        "LEADHOOK_MAX_PARTS": "10",
        "LEADHOOK_MAX_JSON_DEPTH": "16",
        "LEADHOOK_MAX_BODY_BYTES": "65536",
    }

    def test_same_token_and_body_again_is_a_duplicate(self):
        lead, email, message_id = self.add_lead("dup")
        body = webhook(event_data("opened", message_id, email), self.KEY)
        status, reply = self.post(body)
        self.assertEqual((status, reply["status"], reply["l_id"]), (200, "success", lead), reply)
        status, reply = self.post(body)  # Mailgun retrying, or someone replaying it
        self.assertEqual(status, 200, reply)
        self.assertEqual(reply, {"l_id": lead, "email": email, "event": "opened",
                                 "status": "duplicate"})
        events = self.events_for(message_id)
        self.assertEqual(len(events), 1)
        self.assertEqual(self.counters(lead)["opens"], 1)
        token = json.loads(body)["signature"]["token"]
        ledger = self.stack.sql(
            "SELECT encode(body_sha256, 'hex'), key_label, coalesce(event_id::text, ''),"
            " coalesce(lead_id::text, ''), signed_at IS NOT NULL, received_at IS NOT NULL"
            " FROM webhook_tokens WHERE token = :'p0'", token)
        self.assertEqual(ledger, [[sha256_hex(body), default_label(self.KEY), events[0][0],
                                   str(lead), "t", "t"]])

    def test_unmatched_duplicate_answers_null_lead(self):
        body = webhook(event_data("delivered", unique("nobody") + "@leadhook.test",
                                  unique("nobody") + "@example.com"), self.KEY)
        self.assertEqual(self.post(body)[1]["status"], "unmatched")
        status, reply = self.post(body)
        self.assertEqual((status, reply["status"], reply["l_id"]), (200, "duplicate", None), reply)

    def test_a_lead_deleted_while_leadhook_waits_for_its_lock_is_stored_unmatched(self):
        # leadhook finds and locks a batch's leads in one statement, before
        # it claims the tokens (so the ledger row is written whole). A
        # DELETE that holds the lead's row first wins: once it commits,
        # FOR UPDATE skips the row, and the event is stored unmatched.
        lead, email, message_id = self.add_lead("vanishing")
        deleting = self.hold(self.stack, "DELETE FROM leads WHERE id = %d" % lead,
                             "DELETE FROM leads%")
        body = webhook(event_data("opened", message_id, email), self.KEY)
        answer = {}
        poster = threading.Thread(target=lambda: answer.update(reply=self.post(body)))
        poster.start()
        self.wait_for("leadhook waits for the lead's lock", lambda: self.stack.scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'leadhook'"
            " AND wait_event_type = 'Lock'") == "1")
        deleting.commit()
        poster.join(timeout=60)
        status, reply = answer["reply"]
        self.assertEqual((status, reply["status"], reply["l_id"]), (200, "unmatched", None), reply)
        self.assertEqual([event[2] for event in self.events_for(message_id)], [""])
        self.assertEqual(self.stack.sql(
            "SELECT coalesce(lead_id::text, 'null'), event_id IS NOT NULL FROM webhook_tokens"
            " WHERE token = :'p0'", json.loads(body)["signature"]["token"]), [["null", "t"]])
        status, reply = self.post(body)
        self.assertEqual((status, reply["status"], reply["l_id"]), (200, "duplicate", None), reply)

    def test_same_token_with_another_body_is_a_forgery(self):
        lead, email, message_id = self.add_lead("forgery")
        signature = signed_block(self.KEY)
        genuine = webhook(event_data("clicked", message_id, email, url="https://example.com/a"),
                          self.KEY, signature=signature)
        self.assertEqual(self.post(genuine)[0], 200)
        forgeries_before = self.metric("leadhook_forgeries_total")
        # A captured signature (timestamp, token, signature) on a body of the attacker's choosing.
        forged = webhook(event_data("unsubscribed", message_id, email), self.KEY,
                         signature=dict(signature))
        reply, row = self.assert_refused(forged, 406, "forgery")
        self.assertEqual(len(self.events_for(message_id)), 1)
        self.assertEqual(self.counters(lead), {"opens": 0, "clicks": 1, "unsub": False})
        self.assertEqual(self.metric("leadhook_forgeries_total"), forgeries_before + 1)
        line = self.log_line(row["request_id"])
        self.assertIn("outcome=forgery", line)
        self.assertIn("level=warn", line)
        self.assertNotIn(signature["token"], line)
        self.assertNotIn(signature["signature"], line)
        # The genuine body is still only a duplicate of itself.
        status, reply = self.post(genuine)
        self.assertEqual((status, reply["status"]), (200, "duplicate"), reply)

    def test_json_event_again_under_a_new_token_is_a_duplicate(self):
        lead, email, message_id = self.add_lead("redelivered")
        data = event_data("clicked", message_id, email)
        status, reply = self.post(webhook(data, self.KEY))
        self.assertEqual((status, reply["status"]), (200, "success"), reply)
        # Mailgun delivering the same event (id, timestamp, type) again, signed afresh.
        again = webhook(data, self.LABELLED)
        status, reply = self.post(again)
        self.assertEqual((status, reply["status"], reply["l_id"]), (200, "duplicate", lead), reply)
        events = self.events_for(message_id)
        self.assertEqual(len(events), 1)
        # The new token drew an event id of its own when claimed; its ledger
        # row must point at the original instead, and answer a retry so.
        self.assertEqual(self.stack.sql(
            "SELECT event_id, lead_id FROM webhook_tokens WHERE token = :'p0'",
            json.loads(again)["signature"]["token"]), [[events[0][0], str(lead)]])
        status, reply = self.post(again)
        self.assertEqual((status, reply["status"], reply["l_id"]), (200, "duplicate", lead), reply)
        self.assertEqual(self.counters(lead)["clicks"], 1)
        # Same id as another type is another event (Mailgun's test webhooks).
        status, reply = self.post(webhook(dict(data, event="opened"), self.KEY))
        self.assertEqual((status, reply["status"]), (200, "success"), reply)
        # Same id at another time is another event (ids are unique only within a day).
        status, reply = self.post(webhook(dict(data, timestamp=data["timestamp"] + 1), self.KEY))
        self.assertEqual((status, reply["status"]), (200, "success"), reply)
        self.assertEqual(self.counters(lead)["clicks"], 2)

    def test_the_verifying_keys_label_is_recorded(self):
        _, email, message_id = self.add_lead("labels")
        for key, label in ((self.KEY, default_label(self.KEY)), (self.LABELLED, "primary")):
            body = webhook(event_data("delivered", message_id, email), key)
            self.assertEqual(self.post(body)[0], 200)
            self.assertEqual(self.events_for(message_id)[-1][3], label)
            self.assertEqual(self.stack.scalar(
                "SELECT key_label FROM webhook_tokens WHERE token = :'p0'",
                json.loads(body)["signature"]["token"]), label)

    def test_parent_signature_verifies_a_subaccount_event(self):
        lead, email, message_id = self.add_lead("subaccount")
        subaccount_key = new_key("subaccount")  # not configured: only the parent's is
        block = signed_block(subaccount_key, parent_key=self.PARENT)
        body = webhook(event_data("delivered", message_id, email), self.KEY, signature=block)
        status, reply = self.post(body)
        self.assertEqual((status, reply["status"], reply["l_id"]), (200, "success", lead), reply)
        self.assertEqual(self.events_for(message_id)[-1][3], "parent")
        # Neither signature verifies: refused.
        block = signed_block(subaccount_key, parent_key=new_key("other-parent"))
        body = webhook(event_data("delivered", message_id, email), self.KEY, signature=block)
        self.assert_refused(body, 409, "bad_signature")

    def test_freshness_window(self):
        lead, email, message_id = self.add_lead("fresh")
        now = int(time.time())
        # Defaults: 86400 s old at most, 300 s in the future at most.
        for offset, reason in ((-86400 - 600, "stale"), (300 + 600, "future")):
            with self.subTest(reason=reason):
                body = webhook(event_data("opened", message_id, email), self.KEY,
                               timestamp=now + offset)
                reply, row = self.assert_refused(body, 409, reason)
        for offset in (-86400 + 600, 120):
            with self.subTest(offset=offset):
                body = webhook(event_data("opened", message_id, email), self.KEY,
                               timestamp=now + offset)
                status, reply = self.post(body)
                self.assertEqual((status, reply["status"]), (200, "success"), reply)
        self.assertEqual(self.counters(lead)["opens"], 2)

    def test_quarantine_keeps_refused_requests_once_and_counts_attempts(self):
        _, email, message_id = self.add_lead("quarantine")
        unsigned = json.dumps({"event-data": event_data("opened", message_id, email)}).encode()
        reply, row = self.assert_refused(unsigned, 409, "bad_signature")
        self.assertIn("signature", reply["error"])
        self.assertEqual(row["attempts"], "1")
        self.assertEqual(row["body_hex"], unsigned.hex())
        self.assertEqual(int(row["body_bytes"]), len(unsigned))
        self.assertEqual((row["path"], row["content_type"], row["remote_addr"]),
                         (EVENTS, "application/json", "127.0.0.1"))
        self.assertTrue(row["request_id"])
        time.sleep(0.01)
        again, _ = self.assert_refused(unsigned, 409, "bad_signature")  # Mailgun retrying
        row2 = self.quarantined(unsigned)
        self.assertEqual((row2["id"], row2["attempts"]), (row["id"], "2"))
        self.assertGreater(int(row2["last_seen_us"]), int(row["last_seen_us"]))
        self.assertEqual(row2["received_us"], row["received_us"])
        # Signed with a key leadhook does not have.
        self.assert_refused(webhook(event_data("opened", message_id, email), new_key("unknown")),
                            409, "bad_signature")
        # Signed and verified, but no event in it.
        self.assert_refused(webhook({"timestamp": time.time(), "recipient": email}, self.KEY),
                            406, "unprocessable")

    def test_limits(self):
        lead, email, message_id = self.add_lead("limits")
        base = [("event", "opened"), ("recipient", email), ("Message-Id", "<%s>" % message_id)]

        def form(extra_fields):
            body = form_webhook(base + [("x-pad-%d" % i, "v") for i in range(extra_fields)],
                                self.KEY)
            remember(dict(zip(("timestamp", "token", "signature"), signature_of(body, FORM))))
            return body

        # Within the limits: a plain legacy form is stored.
        status, reply = self.post(form(10), FORM, "/api/v1/wh/mg/lead/email/open")
        self.assertEqual((status, reply["status"], reply["l_id"]), (200, "success", lead), reply)
        cases = []
        cases.append(("fields", form(110), FORM, "100", r"field"))
        sig = signed_block(self.KEY)
        parts = base + [("x-pad-%d" % i, "v") for i in range(8)] + \
            [(n, sig[n]) for n in ("timestamp", "token", "signature")]
        body, ctype = multipart_body(parts)
        cases.append(("parts", body, ctype, "10", r"part"))
        nested = "leaf"
        for _ in range(20):
            nested = {"n": nested}
        cases.append(("depth", webhook(event_data("opened", message_id, email,
                                                  **{"user-variables": nested}), self.KEY),
                      "application/json", "16", r"deep|depth|nest"))
        for name, body, ctype, limit, words in cases:
            with self.subTest(limit=name):  # the message names the limit and its value
                reply, row = self.assert_refused(body, 406, "unprocessable", ctype)
                self.assertRegex(reply["error"].lower(), words)
                self.assertRegex(reply["error"], r"\b%s\b" % limit)
        # Nesting within the limit is fine.
        shallow = {"n": {"n": {"n": "leaf"}}}
        status, reply = self.post(webhook(event_data("opened", message_id, email,
                                                     **{"user-variables": shallow}), self.KEY))
        self.assertEqual(status, 200, reply)
        # Over LEADHOOK_MAX_BODY_BYTES: 413.
        big = webhook(event_data("opened", message_id, email, pad="x" * 70000), self.KEY)
        self.assertEqual(self.post(big)[0], 413)
        self.assertEqual(self.counters(lead)["opens"], 2)

    def test_the_same_request_from_twenty_clients_at_once_is_stored_once(self):
        lead, email, message_id = self.add_lead("concurrent")
        body = webhook(event_data("opened", message_id, email), self.KEY)
        start = threading.Barrier(20)

        def post_together(_):
            start.wait(timeout=30)
            return self.post(body)

        with concurrent.futures.ThreadPoolExecutor(max_workers=20) as pool:
            results = list(pool.map(post_together, range(20)))
        self.assertEqual([s for s, _ in results], [200] * 20, results)
        statuses = sorted(r["status"] for _, r in results)
        self.assertEqual(statuses, ["duplicate"] * 19 + ["success"], results)
        self.assertEqual({r["l_id"] for _, r in results}, {lead})
        self.assertEqual(len(self.events_for(message_id)), 1)
        self.assertEqual(self.counters(lead)["opens"], 1)

    def test_metrics_endpoint(self):
        status, headers, body = self.stack.request("GET", "/api/v1/metrics")
        self.assertEqual(status, 200)
        self.assertTrue(headers.get("content-type", "").startswith("text/plain"), headers)
        text = body.decode()
        for name in ("leadhook_forgeries_total", "leadhook_quarantine_total"):
            self.assertRegex(text, r"(?m)^# TYPE %s counter$" % name)
        self.assertIn("leadhook_forgeries_total", self.stack.metrics())

    def test_purge_forgets_only_what_the_window_and_retention_allow(self):
        token = unique("purge")
        self.stack.sql(
            "INSERT INTO webhook_tokens (token, body_sha256, signed_at, received_at, key_label)"
            " VALUES (:'p0' || '-old', sha256('a'), now() - interval '26 hours', now(), 'k'),"
            " (:'p0' || '-edge', sha256('b'), now() - interval '24 hours', now(), 'k')", token)
        quarantined = self.stack.scalar(
            "INSERT INTO webhook_quarantine (received_at, last_seen_at, reason, detail, path,"
            " content_type, remote_addr, request_id, body, body_bytes, body_sha256)"
            " VALUES (now() - interval '40 days', now() - interval '31 days', 'stale', 'd',"
            " '/purge-test', 'application/json', '127.0.0.1', 'r', 'x', 1, sha256(:'p0'))"
            " RETURNING id", token)
        result = self.stack.leadhook("purge")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertRegex(result.stdout, r"^purge: removed \d+ ledger tokens signed before .*\npurge: removed \d+ quarantined")
        left = self.stack.sql("SELECT token FROM webhook_tokens WHERE token LIKE :'p0' || '-%'",
                              token)
        # Signed 24 h ago is still inside window + margin: a retry could still arrive.
        self.assertEqual(left, [[token + "-edge"]])
        self.assertEqual(self.stack.scalar(
            "SELECT count(*) FROM webhook_quarantine WHERE id = :'p0'", quarantined), "0")


class TwoInstanceTests(StackTestCase):
    INSTANCES = 2

    def test_concurrent_deliveries_across_two_instances_store_each_event_once(self):
        leads = [self.add_lead("pair") for _ in range(30)]
        bodies = [webhook(event_data("opened", message_id, email), TEST_KEY)
                  for _, email, message_id in leads]
        posts = [(i, body) for i, body in enumerate(bodies) for _ in range(4)]
        random.shuffle(posts)
        results = self.post_all([body for _, body in posts], workers=12)
        self.assertEqual([s for s, _ in results], [200] * len(posts),
                         [r for s, r in results if s != 200])
        by_event = {}
        for (i, _), (_, reply) in zip(posts, results):
            by_event.setdefault(i, []).append(reply["status"])
        for i, (lead, _, message_id) in enumerate(leads):
            self.assertEqual(sorted(by_event[i]), ["duplicate"] * 3 + ["success"], i)
            self.assertEqual(len(self.events_for(message_id)), 1)
            self.assertEqual(self.counters(lead)["opens"], 1)
        logs = self.stack.leadhook_logs()
        self.assertEqual(len(logs), 2)
        for n, log in enumerate(logs, 1):
            self.assertRegex(log, r"method=POST path=%s status=200" % EVENTS,
                             "instance %d served some of the requests" % n)


def tearDownModule():
    check_no_secrets()


if __name__ == "__main__":
    unittest.main(verbosity=2)
