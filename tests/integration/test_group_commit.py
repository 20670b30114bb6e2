#!/usr/bin/env python3
"""Integration: group commit, through nginx -> leadhook -> PostgreSQL.

leadhook runs one group-commit writer. A psql session holds a "gate" lead's
row lock and one webhook for that lead makes the writer wait on it; a burst
of concurrent webhooks then queues behind it and, once the lock is released,
is written in one transaction. Within that batch:
- every new event is stored once and counted once on its lead;
- the same request twice is one event and one duplicate;
- a Mailgun event redelivered under a new token is one event and one duplicate;
- a token reused with another body is one event and one forgery (406);
- Mailgun events are appended in one order, so a batch and another
  transaction appending the same events cannot deadlock;
- an event the database refuses (a test trigger) fails alone with 500, and
  the rest of its batch is stored; so does one whose lead UPDATE it refuses,
  and nothing of that event is committed.
"""
import json
import os
import sys
import threading
import time
import unittest
import uuid

sys.path.insert(0, os.path.dirname(__file__))
from stack import Stack, Waiting, json_webhook  # noqa: E402

EVENTS = "/api/v1/wh/mg/events"
LEADS = 5


def event_data(kind, lead, event_id=None, timestamp=None):
    data = {"event": kind, "id": event_id or uuid.uuid4().hex[:22],
            "timestamp": timestamp or time.time(),
            "recipient": "gc%d@example.com" % lead,
            "message": {"headers": {"message-id": "gc.%d@leadhook.test" % lead}}}
    if kind in ("opened", "clicked"):
        data["ip"] = "192.0.2.%d" % (lead + 1)
    if kind == "clicked":
        data["url"] = "https://example.com/%d" % lead
    return data


class GroupCommitTest(Waiting, unittest.TestCase):
    WAIT_SECONDS = 30

    @classmethod
    def setUpClass(cls):
        cls.stack = Stack({"LEADHOOK_WRITERS": "1"}, threads=64)
        for lead in range(LEADS):
            cls.stack.scalar(
                "INSERT INTO leads (email_addr, followup_email_receipt_id, followup_email_sent_date)"
                " VALUES (:'p0', :'p1', now()) RETURNING id",
                "gc%d@example.com" % lead, "<gc.%d@leadhook.test>" % lead)
        cls.gate = int(cls.stack.scalar(
            "INSERT INTO leads (email_addr, followup_email_sent_date)"
            " VALUES ('gate@example.com', now()) RETURNING id"))

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def in_flight(self):
        return self.stack.metrics()["leadhook_requests_in_flight"]

    def burst_behind_the_gate(self, bodies):
        """Posts the bodies concurrently while the writer is held at the gate;
        returns their (status, reply) in order once the gate opens."""
        gate, threads, results = self.queue_behind_the_gate(bodies)
        gate.commit()
        return self.answers(threads, results)

    def queue_behind_the_gate(self, bodies, one_at_a_time=False):
        """Posts the bodies while the writer is held at the gate, concurrently
        or (one_at_a_time) each once the one before is queued, so that they
        reach the writer in this order; returns the gate still shut, the
        posting threads and where they put their (status, reply)."""
        gate = self.hold(self.stack, "SELECT id FROM leads WHERE id = %d FOR UPDATE" % self.gate,
                         "%FOR UPDATE%")
        results = [None] * (len(bodies) + 1)

        def post(i, body):
            status, _, reply = self.stack.post(EVENTS, body)
            results[i] = (status, reply)

        gate_body = json_webhook({"event": "delivered", "timestamp": time.time(),
                                  "id": uuid.uuid4().hex[:22], "recipient": "gate@example.com"})
        threads = [threading.Thread(target=post, args=(0, gate_body))]
        threads[0].start()
        self.wait_for("the writer waits at the gate", lambda: self.stack.scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'leadhook'"
            " AND wait_event_type = 'Lock'") == "1")
        for i, body in enumerate(bodies, start=1):
            threads.append(threading.Thread(target=post, args=(i, body)))
            threads[-1].start()
            if one_at_a_time:
                self.wait_for("request %d is queued" % i, lambda n=i: self.in_flight() == n + 2)
        # Every request is in a worker (waiting for the writer), plus this scrape.
        self.wait_for("the burst is queued", lambda: self.in_flight() == len(bodies) + 2)
        return gate, threads, results

    def answers(self, threads, results):
        for t in threads:
            t.join(timeout=60)
        self.assertEqual(results[0][0], 200, results[0])
        return results[1:]

    def counters(self):
        rows = self.stack.sql(
            "SELECT l.followup_email_opens, l.followup_email_clicks,"
            " (SELECT count(*) FROM lead_email_events e WHERE e.lead_id = l.id"
            "  AND e.event_type = 'opened'),"
            " (SELECT count(*) FROM lead_email_events e WHERE e.lead_id = l.id"
            "  AND e.event_type = 'clicked')"
            " FROM leads l WHERE l.email_addr LIKE 'gc%' ORDER BY l.id")
        return [tuple(int(x) for x in row) for row in rows]

    def batches_larger_than(self, n):
        metrics = self.stack.metrics()
        return (metrics["leadhook_database_batch_events_count"]
                - metrics['leadhook_database_batch_events_bucket{le="%d"}' % n])

    def test_a_batch_judges_duplicates_redeliveries_and_forgeries_as_one_at_a_time(self):
        events_before = int(self.stack.scalar("SELECT count(*) FROM lead_email_events"))
        kinds = ["opened", "clicked", "opened", "delivered"]
        unique = [event_data(kinds[i % 4], i % LEADS) for i in range(40)]
        bodies = [json_webhook(data) for data in unique]
        # The same request twice: bodies 0..4 again, byte for byte.
        repeats = bodies[:5]
        # Mailgun delivering events 5..7 again under new tokens.
        redeliveries = [json_webhook(data) for data in unique[5:8]]
        # Tokens 8..9 reused with another body (another event, same lead).
        forgeries = []
        for body in bodies[8:10]:
            sig = json.loads(body)["signature"]
            forgeries.append(json_webhook(event_data("clicked", 0), signature=sig))
        burst = bodies + repeats + redeliveries + forgeries
        results = self.burst_behind_the_gate(burst)
        self.assertGreater(self.batches_larger_than(16), 0, "the burst was not written as a batch")

        by_body = {}
        for body, (status, reply) in zip(burst, results):
            by_body.setdefault(body, []).append((status, reply and reply.get("status")))
        for body in bodies[:5]:  # stored once, then a duplicate
            self.assertEqual(sorted(by_body[body]), [(200, "duplicate"), (200, "success")])
        for body in bodies[5:8] + redeliveries:
            self.assertEqual(len(by_body[body]), 1)
        for original, again in zip(bodies[5:8], redeliveries):
            self.assertEqual(sorted(by_body[original] + by_body[again]),
                             [(200, "duplicate"), (200, "success")])
        for original, forged in zip(bodies[8:10], forgeries):
            statuses = sorted([by_body[original][0][0], by_body[forged][0][0]])
            self.assertEqual(statuses, [200, 406], (by_body[original], by_body[forged]))
        for body in bodies[10:]:
            self.assertEqual(by_body[body], [(200, "success")])

        # One row per Mailgun event, the gate's included; every counter
        # equals the events stored for its lead.
        events = int(self.stack.scalar("SELECT count(*) FROM lead_email_events"))
        self.assertEqual(events - events_before, 40 + 1)
        for opens, clicks, opened, clicked in self.counters():
            self.assertEqual((opens, clicks), (opened, clicked))

    def test_mailgun_events_are_appended_in_one_order_so_batches_cannot_deadlock(self):
        # Two events no lead matches (so no lead lock orders the batches),
        # queued b then a, while another transaction has appended a and
        # then appends b. Appending in queue order, leadhook would hold b
        # while waiting for a: a deadlock, and one side loses (leadhook
        # retries once, so it may not show in the answers; PostgreSQL's log
        # says it). In (Mailgun id, timestamp) order it waits for a holding
        # nothing the other needs: both commit, and leadhook's two requests
        # are duplicates of the other's rows.
        log_start = len(self.stack.postgres_log())
        ts = int(time.time())
        suffix = uuid.uuid4().hex[:21]
        ids = {"a": "a" + suffix, "b": "b" + suffix}
        bodies = [json_webhook({"event": "delivered", "timestamp": ts, "id": ids[k],
                                "recipient": "nobody-%s@example.com" % k}) for k in "ba"]
        append = ("INSERT INTO lead_email_events (event_type, mailgun_event, mailgun_event_id,"
                  " event_time, received_at, token, signature, body_format, route)"
                  " VALUES ('delivered', 'delivered', '{id}', to_timestamp({ts}), now(),"
                  " 'other-{key}-{suffix}', 'unsigned', 'json', '/elsewhere')")
        other = self.hold(self.stack, "SELECT leadhook_ensure_month_partition("
                          "'lead_email_events', to_timestamp(%d)); " % ts
                          + append.format(id=ids["a"], ts=ts, key="a", suffix=suffix),
                          "%other-a-" + suffix + "%")
        gate, threads, results = self.queue_behind_the_gate(bodies, one_at_a_time=True)
        gate.commit()
        self.wait_for("the writer waits for the other transaction", lambda: self.stack.scalar(
            "SELECT count(*) FROM pg_locks w JOIN pg_stat_activity a ON a.pid = w.pid"
            " WHERE a.application_name = 'leadhook' AND NOT w.granted"
            " AND w.locktype = 'transactionid' AND w.transactionid = (SELECT backend_xid"
            " FROM pg_stat_activity WHERE query LIKE :'p0' AND pid <> pg_backend_pid())",
            "%other-a-" + suffix + "%") == "1")
        other.run(append.format(id=ids["b"], ts=ts, key="b", suffix=suffix))
        other.commit()
        results = self.answers(threads, results)
        self.assertEqual([(status, reply and reply.get("status")) for status, reply in results],
                         [(200, "duplicate"), (200, "duplicate")], results)
        self.assertEqual(self.stack.sql(
            "SELECT mailgun_event_id, token FROM lead_email_events WHERE mailgun_event_id"
            " IN (:'p0', :'p1') ORDER BY 1", ids["a"], ids["b"]),
            [[ids["a"], "other-a-" + suffix], [ids["b"], "other-b-" + suffix]])
        # Not even a deadlock leadhook's one retry of a transient error hid.
        self.assertNotIn("deadlock detected", self.stack.postgres_log()[log_start:])

    def test_an_event_the_database_refuses_fails_alone(self):
        self.stack.sql(
            "CREATE FUNCTION test_refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$"
            " BEGIN IF NEW.recipient = 'poison@example.com' THEN"
            " RAISE EXCEPTION 'poisoned' USING ERRCODE = 'P0001'; END IF; RETURN NEW; END $$;"
            " CREATE TRIGGER test_refuse_poison BEFORE INSERT ON lead_email_events"
            " FOR EACH ROW EXECUTE FUNCTION test_refuse_poison()")
        self.addCleanup(lambda: self.stack.sql(
            "DROP TRIGGER test_refuse_poison ON lead_email_events;"
            " DROP FUNCTION test_refuse_poison()"))
        good = [json_webhook(event_data("opened", i % LEADS)) for i in range(10)]
        poison = json_webhook({"event": "delivered", "timestamp": time.time(),
                               "id": uuid.uuid4().hex[:22], "recipient": "poison@example.com"})
        results = self.burst_behind_the_gate(good[:5] + [poison] + good[5:])
        statuses = [status for status, _ in results]
        self.assertEqual(statuses, [200] * 5 + [500] + [200] * 5, results)
        self.assertEqual(int(self.stack.scalar(
            "SELECT count(*) FROM lead_email_events WHERE recipient = 'poison@example.com'")), 0)
        self.assertIn("P0001", self.stack.leadhook_log())
        for opens, clicks, opened, clicked in self.counters():
            self.assertEqual((opens, clicks), (opened, clicked))

    def test_a_lead_update_the_database_refuses_commits_nothing_of_its_event(self):
        # The lead UPDATE travels with COMMIT in one round trip: when the
        # UPDATE fails, the server must skip the COMMIT, so the event row
        # written before it in the same transaction goes too.
        refused = int(self.stack.scalar(
            "INSERT INTO leads (email_addr, followup_email_receipt_id, followup_email_sent_date)"
            " VALUES ('refused@example.com', '<refused@leadhook.test>', now()) RETURNING id"))
        self.stack.sql(
            "CREATE FUNCTION test_refuse_update() RETURNS trigger LANGUAGE plpgsql AS $$"
            " BEGIN RAISE EXCEPTION 'lead refused' USING ERRCODE = 'P0001'; END $$;"
            " CREATE TRIGGER test_refuse_update BEFORE UPDATE ON leads FOR EACH ROW"
            " WHEN (OLD.id = %d) EXECUTE FUNCTION test_refuse_update()" % refused)
        self.addCleanup(lambda: self.stack.sql(
            "DROP TRIGGER test_refuse_update ON leads; DROP FUNCTION test_refuse_update()"))
        good = [json_webhook(event_data("clicked", i % LEADS)) for i in range(10)]
        bad = json_webhook({"event": "opened", "timestamp": time.time(),
                            "id": uuid.uuid4().hex[:22], "recipient": "refused@example.com",
                            "message": {"headers": {"message-id": "refused@leadhook.test"}}})
        results = self.burst_behind_the_gate(good[:5] + [bad] + good[5:])
        self.assertEqual([status for status, _ in results], [200] * 5 + [500] + [200] * 5,
                         results)
        self.assertEqual(self.stack.sql(
            "SELECT count(*) FROM lead_email_events WHERE recipient = 'refused@example.com'"
            " UNION ALL SELECT count(*) FROM webhook_tokens WHERE lead_id = :'p0'"
            " UNION ALL SELECT followup_email_opens FROM leads WHERE id = :'p0'", refused),
            [["0"], ["0"], ["0"]])
        for opens, clicks, opened, clicked in self.counters():
            self.assertEqual((opens, clicks), (opened, clicked))
        status, _, _ = self.stack.post(EVENTS, bad)  # refused again, nothing half-written
        self.assertEqual(status, 500)


if __name__ == "__main__":
    unittest.main(verbosity=2)
