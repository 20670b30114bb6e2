#!/usr/bin/env python3
"""Integration: fault injection under load, through nginx -> leadhook -> PostgreSQL.

A load client of THREADS threads posts a steady stream of unique signed
webhooks (opened, clicked, delivered, permanent and temporary failures; JSON
and some legacy urlencoded posts) for seeded leads, matched by message id or
by address, plus some that match no lead. Like Mailgun, it retries anything
that is not 200 (502, 503, connection errors, ...) with the same body and
token, after a short backoff, until it gets a 200 (each event gives up after
RETRY_CAP seconds). During the load, one fault per test class:

- PostgreSQL restarted (scripts/stack pg-stop, pg-start);
- leadhook stopped with SIGTERM and started again (scripts/stack leadhook-restart);
- leadhook killed with SIGKILL and started again;
- nginx reloaded (SIGHUP to its master), several times.

Each fault has its own leads and its own events. After the fault, once the
client's retries have drained, every class checks: every event acknowledged
with 200 is in lead_email_events exactly once (by token and by Mailgun event
id); the rows equal the events sent, each once, on the expected lead (nothing
lost, nothing doubled, nothing else); every lead's open and click counters
equal its stored opened and clicked events and its delivered and bounced
flags match them; every answer was 200 or one Mailgun retries without harm
(502, 503, a dropped connection), and every 200 names the expected lead.
A short summary per fault goes to stderr.
"""
import collections
import heapq
import http.client
import json
import os
import random
import secrets
import sys
import threading
import time
import traceback
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from stack import Stack, form_webhook, json_webhook  # noqa: E402

EVENTS = "/api/v1/wh/mg/events"
LEGACY_ROUTES = {"opened": "/api/v1/wh/mg/lead/email/open",
                 "clicked": "/api/v1/wh/mg/lead/email/click",
                 "delivered": "/api/v1/wh/mg/lead/email/delivered"}
FORM = "application/x-www-form-urlencoded"
DOMAIN = "faults.test"

THREADS = 8              # load client threads
LEADS_PER_FAULT = 80     # each fault has its own leads (4 faults: 320 leads)
NEW_EVENT_INTERVAL = 0.01  # a thread starts at most one new event per this many s
WARM_SECONDS = 1.5       # load before the fault
AFTER_SECONDS = 2.0      # load after the fault has been dealt with
RETRY_CAP = 45.0         # an event is given up this long after its first attempt
DRAIN_TIMEOUT = 60.0     # retries left after the load stops must settle within this
REQUEST_TIMEOUT = 20.0   # one HTTP attempt

# Event types as sent -> (event_type stored, share in percent).
JSON_MIX = [("opened", 35), ("clicked", 30), ("delivered", 15),
            ("failed-permanent", 10), ("failed-temporary", 10)]
STORED_TYPE = {"opened": "opened", "clicked": "clicked", "delivered": "delivered",
               "failed-permanent": "bounced", "failed-temporary": "deferred"}
FORM_SHARE = 0.12        # legacy urlencoded posts (opened, clicked, delivered only)
UNMATCHED_SHARE = 0.08   # recipients that are no lead
BY_ADDRESS_SHARE = 0.25  # of the matched ones: no message id, matched by address

# A status a retry cures: leadhook away or restarting (502), PostgreSQL away
# (503), or a connection nginx closed (reload) or dropped.
RETRYABLE = {"502", "503"}

STACK = None
LEADS = {}          # fault name -> [lead ids], index i is lead i of that fault
ALL_TOKENS = set()  # every token any fault's client has sent


def setUpModule():
    global STACK
    STACK = Stack(threads=8)
    try:
        for name in FAULT_NAMES:
            rows = STACK.sql(
                "WITH added AS (INSERT INTO leads (email_addr, followup_email_receipt_id,"
                " followup_email_sent_date)"
                " SELECT :'p0' || '-' || i || '@' || :'p1',"
                " '<' || :'p0' || '.' || i || '@leadhook.test>', now() - interval '1 day'"
                " FROM generate_series(0, %d) i RETURNING id, email_addr)"
                " SELECT id, email_addr FROM added" % (LEADS_PER_FAULT - 1),
                name, DOMAIN)
            ids = {email: int(lead) for lead, email in rows}
            LEADS[name] = [ids[lead_address(name, i)] for i in range(LEADS_PER_FAULT)]
    except BaseException:
        STACK.stop()
        raise


def tearDownModule():
    if STACK is not None:
        STACK.stop()  # raises unless the last leadhook exits 0 on SIGTERM


def lead_address(fault, i):
    return "%s-%d@%s" % (fault, i, DOMAIN)


def lead_message_id(fault, i):
    return "%s.%d@leadhook.test" % (fault, i)


class Event:
    """One webhook as Mailgun would send it, and every attempt to deliver it."""

    def __init__(self, path, body, content_type, token, event_id, sent_as, lead):
        self.path, self.body, self.content_type = path, body, content_type
        self.token, self.event_id = token, event_id  # event_id None for legacy posts
        self.sent_as = sent_as
        self.stored_type = STORED_TYPE[sent_as]
        self.lead = lead                # the lead id it must be stored on, or None
        self.attempts = []              # (seconds since the first attempt, status)
        self.first = None
        self.acked = False              # ever answered 200
        self.reply = None               # the 200's JSON status ("success", "duplicate", ...)
        self.reply_lead = "?"           # the 200's l_id
        self.acked_after = None
        self.gave_up = False


def make_event(fault, rnd):
    """A fresh event for one of `fault`'s leads (or none), with its own token and id."""
    token = secrets.token_hex(25)
    form = rnd.random() < FORM_SHARE
    if form:
        kind = rnd.choice(["opened", "opened", "clicked", "delivered"])
    else:
        kind = rnd.choices([k for k, _ in JSON_MIX], [w for _, w in JSON_MIX])[0]
    if rnd.random() < UNMATCHED_SHARE:
        lead, recipient, message_id = None, "stranger-%s@%s" % (secrets.token_hex(4), DOMAIN), None
    else:
        i = rnd.randrange(LEADS_PER_FAULT)
        lead, recipient = LEADS[fault][i], lead_address(fault, i)
        message_id = None if rnd.random() < BY_ADDRESS_SHARE else lead_message_id(fault, i)
        if message_id is None and rnd.random() < 0.5:
            recipient = recipient.upper()  # matched case-insensitively
    ip = "198.51.100.%d" % rnd.randrange(1, 255)
    url = "https://example.com/pricing?v=%d" % rnd.randrange(1000)
    if form:
        fields = [("event", kind), ("recipient", recipient), ("domain", DOMAIN)]
        if message_id:
            fields.append(("Message-Id", "<%s>" % message_id))
        if kind in ("opened", "clicked"):
            fields += [("ip", ip), ("device-type", "desktop")]
        if kind == "clicked":
            fields.append(("url", url))
        return Event(LEGACY_ROUTES[kind], form_webhook(fields, token=token), FORM, token, None,
                     kind, lead)
    event_id = secrets.token_urlsafe(16)
    data = {"id": event_id, "timestamp": round(time.time() - rnd.random() * 600, 6),
            "recipient": recipient, "log-level": "info"}
    if message_id:
        data["message"] = {"headers": {"message-id": message_id}}
    if kind.startswith("failed-"):
        permanent = kind == "failed-permanent"
        data.update({"event": "failed", "severity": "permanent" if permanent else "temporary",
                     "reason": "bounce" if permanent else "generic", "log-level": "error",
                     "delivery-status": {
                         "code": 550 if permanent else 452,
                         "message": "no such user" if permanent else "mailbox full"}})
    else:
        data["event"] = kind
        if kind in ("opened", "clicked"):
            data["ip"] = ip
            data["client-info"] = {"device-type": "desktop", "client-type": "browser"}
        if kind == "clicked":
            data["url"] = url
    return Event(EVENTS, json_webhook(data, token=token), "application/json", token, event_id,
                 kind, lead)


NEW = object()  # LoadClient.next_event: make a new event


class LoadClient:
    """THREADS threads posting new events (while generating) and retrying
    every event not yet answered 200, Mailgun-like: same body, same token."""

    def __init__(self, port, fault):
        self.port, self.fault = port, fault
        self.events = []
        self.lock = threading.Lock()
        self.retries = []  # heap of (due, seq, event)
        self.seq = 0
        self.in_flight = 0
        self.generating = True
        self.abandon = False
        self.threads = [threading.Thread(target=self.run, args=(n,), daemon=True)
                        for n in range(THREADS)]

    def start(self):
        self.started = time.monotonic()
        for t in self.threads:
            t.start()

    def stop_generating(self):
        with self.lock:
            self.generating = False

    def drain(self, timeout):
        """Waits until every event is answered 200 or given up; True if so
        within `timeout`, else the client is abandoned (False)."""
        deadline = time.monotonic() + timeout
        for t in self.threads:
            t.join(max(0.0, deadline - time.monotonic()))
        if any(t.is_alive() for t in self.threads):
            with self.lock:
                self.abandon = True
            for t in self.threads:
                t.join(REQUEST_TIMEOUT + 5)
            return False
        return True

    def next_event(self, rnd, next_new):
        """(an event to retry, NEW, or None; seconds to sleep; done)."""
        now = time.monotonic()
        with self.lock:
            if self.abandon:
                return None, 0, True
            if self.retries and self.retries[0][0] <= now:
                event = heapq.heappop(self.retries)[2]
                self.in_flight += 1
                return event, 0, False
            if self.generating and now >= next_new[0]:
                self.in_flight += 1
                next_new[0] = now + NEW_EVENT_INTERVAL
                return NEW, 0, False
            if not self.generating and not self.retries and self.in_flight == 0:
                return None, 0, True
            wait = 0.01
            if self.retries:
                wait = min(wait, max(0.0, self.retries[0][0] - now))
            return None, wait, False

    def run(self, n):
        rnd = random.Random(secrets.randbits(64))
        conn = None
        next_new = [0.0]
        while True:
            event, wait, done = self.next_event(rnd, next_new)
            if done:
                break
            if event is None:
                time.sleep(wait)
                continue
            if event is NEW:
                event = make_event(self.fault, rnd)
                with self.lock:
                    ALL_TOKENS.add(event.token)
                    self.events.append(event)
            if event.first is None:
                event.first = time.monotonic()
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port,
                                                      timeout=REQUEST_TIMEOUT)
                conn.request("POST", event.path, body=event.body,
                             headers={"Content-Type": event.content_type})
                response = conn.getresponse()
                data = response.read()
                status = str(response.status)
            except Exception as e:  # noqa: BLE001 -- every failure is retried, like Mailgun
                status = "conn:" + type(e).__name__
                data = b""
                if conn is not None:
                    conn.close()
                conn = None
            elapsed = time.monotonic() - event.first
            reply = None
            if status == "200":
                try:
                    reply = json.loads(data)
                    if not isinstance(reply, dict):
                        reply = {}
                except ValueError:
                    reply = {}
            with self.lock:
                self.in_flight -= 1
                event.attempts.append((elapsed, status))
                if status == "200":
                    event.acked = True
                    event.reply = reply.get("status")
                    event.reply_lead = reply.get("l_id", "?")
                    event.acked_after = elapsed
                elif elapsed > RETRY_CAP:
                    event.gave_up = True
                else:
                    tries = len(event.attempts)
                    backoff = min(1.0, 0.05 * 2 ** (tries - 1)) * (0.5 + rnd.random() / 2)
                    self.seq += 1
                    heapq.heappush(self.retries, (time.monotonic() + backoff, self.seq, event))
        if conn is not None:
            conn.close()


class FaultRun:
    """One fault under load: what was sent and answered, and the database after."""

    def __init__(self, fault):
        self.fault = fault
        self.client = LoadClient(STACK.port, fault)
        self.fault_error = None
        self.fault_notes = []
        self.settled = False

    def run(self, inject):
        self.wait_until_ready()
        client = self.client
        client.start()
        try:
            time.sleep(WARM_SECONDS)
            began = time.monotonic()
            try:
                inject(self)
            except Exception:
                self.fault_error = traceback.format_exc()
            self.fault_seconds = time.monotonic() - began
            time.sleep(AFTER_SECONDS)
        finally:
            client.stop_generating()
            stopped = time.monotonic()
            self.settled = client.drain(DRAIN_TIMEOUT)
            self.drain_seconds = time.monotonic() - stopped
        self.read_database()
        sys.stderr.write(self.summary() + "\n")
        sys.stderr.flush()

    @staticmethod
    def wait_until_ready(seconds=40):
        deadline = time.time() + seconds
        while True:
            try:
                if STACK.request("GET", "/api/v1/ready")[0] == 200:
                    return
            except OSError:
                pass
            if time.time() > deadline:
                raise RuntimeError("the stack is not ready before the fault")
            time.sleep(0.2)

    def read_database(self):
        tokens = {e.token for e in self.client.events}
        self.rows = []   # (token, mailgun event id or None, lead id or None, event_type)
        self.stray = []  # rows whose token no client sent
        for token, event_id, lead, kind in STACK.sql(
                "SELECT token, coalesce(mailgun_event_id, ''), coalesce(lead_id::text, ''),"
                " event_type FROM lead_email_events"):
            row = (token, event_id or None, int(lead) if lead else None, kind)
            if token in tokens:
                self.rows.append(row)
            elif token not in ALL_TOKENS:
                self.stray.append(row)
        self.leads = {}
        for row in STACK.sql(
                "SELECT l.id, l.followup_email_opens, l.followup_email_clicks,"
                " l.followup_email_delivered, l.followup_email_bounced,"
                " (SELECT count(*) FROM lead_email_events e WHERE e.lead_id = l.id"
                "  AND e.event_type = 'opened'),"
                " (SELECT count(*) FROM lead_email_events e WHERE e.lead_id = l.id"
                "  AND e.event_type = 'clicked'),"
                " EXISTS (SELECT 1 FROM lead_email_events e WHERE e.lead_id = l.id"
                "  AND e.event_type IN ('delivered', 'opened', 'clicked')),"
                " EXISTS (SELECT 1 FROM lead_email_events e WHERE e.lead_id = l.id"
                "  AND e.event_type = 'bounced')"
                " FROM leads l WHERE l.email_addr LIKE :'p0' || '-%'", self.fault):
            lead, opens, clicks, delivered, bounced, s_opens, s_clicks, s_delivered, s_bounced = row
            self.leads[int(lead)] = {
                "counters": (int(opens), int(clicks), delivered == "t", bounced == "t"),
                "stored": (int(s_opens), int(s_clicks), s_delivered == "t", s_bounced == "t")}

    def summary(self):
        events = self.client.events
        statuses = collections.Counter(s for e in events for _, s in e.attempts)
        retried = [e for e in events if len(e.attempts) > 1]
        acked = [e for e in events if e.acked]
        forms = sum(1 for e in events if e.event_id is None)
        slowest = max((e.acked_after for e in acked), default=0.0)
        most = max((len(e.attempts) for e in events), default=0)
        duplicates = sum(1 for e in acked if e.reply == "duplicate")
        return ("faults: %-11s %d events sent (%d JSON, %d legacy form), %d acknowledged, "
                "%d retried (at most %d attempts, slowest 200 after %.1f s), %d gave up; "
                "%d attempts: %s; %d answered \"duplicate\" after a lost answer; "
                "fault took %.1f s%s; drained in %.1f s%s; %d rows%s"
                % (self.fault, len(events), len(events) - forms, forms, len(acked), len(retried),
                   most, slowest, sum(1 for e in events if e.gave_up),
                   sum(statuses.values()),
                   ", ".join("%s x%d" % (s, n) for s, n in sorted(statuses.items())),
                   duplicates, self.fault_seconds,
                   (" (" + "; ".join(self.fault_notes) + ")") if self.fault_notes else "",
                   self.drain_seconds, "" if self.settled else " (NOT settled)", len(self.rows),
                   "" if not self.fault_error else "; FAULT ERROR: " +
                   self.fault_error.strip().splitlines()[-1]))


class FaultChecks:
    """The checks every fault must pass; subclasses name the fault and inject it."""
    FAULT = None
    RUN = None
    EXPECT_DISTURBANCE = True  # the fault must cost some attempts (it hit the load)

    @classmethod
    def inject(cls, run):
        raise NotImplementedError

    @classmethod
    def setUpClass(cls):
        cls.RUN = FaultRun(cls.FAULT)
        cls.RUN.run(cls.inject)

    def describe(self, event):
        return "%s %s token=%s…%s id=%s lead=%s attempts=%s" % (
            event.sent_as, "form" if event.event_id is None else "json", event.token[:8],
            event.token[-4:], event.event_id, event.lead,
            ["%.2fs:%s" % a for a in event.attempts])

    def test_fault_was_injected_and_the_load_settled(self):
        run = self.RUN
        self.assertIsNone(run.fault_error, "the fault did not go as planned")
        self.assertTrue(run.settled, "the client's retries did not settle within %d s"
                        % DRAIN_TIMEOUT)
        never = [self.describe(e) for e in run.client.events if not e.acked]
        self.assertEqual(never, [], "events never answered 200 within %d s" % RETRY_CAP)
        self.assertGreater(len(run.client.events), 0)

    def test_every_acknowledged_event_is_stored_exactly_once(self):
        rows = self.RUN.rows
        by_token = collections.Counter(r[0] for r in rows)
        by_id = collections.Counter(r[1] for r in rows if r[1] is not None)
        bad = []
        for e in self.RUN.client.events:
            if not e.acked:
                continue
            if by_token[e.token] != 1 or (e.event_id is not None and by_id[e.event_id] != 1):
                bad.append("%d rows by token, %d by event id: %s" % (
                    by_token[e.token], by_id[e.event_id] if e.event_id else -1, self.describe(e)))
        self.assertEqual(bad, [], "answered 200 but not stored exactly once")

    def test_the_rows_are_the_events_sent_each_once_on_its_lead(self):
        events = self.RUN.client.events
        rows = {}
        doubled = []
        for row in self.RUN.rows:
            if row[0] in rows:
                doubled.append(row)
            rows[row[0]] = row
        ids = collections.Counter(r[1] for r in self.RUN.rows if r[1] is not None)
        self.assertEqual(doubled, [], "tokens stored more than once")
        self.assertEqual([i for i, n in ids.items() if n > 1], [],
                         "Mailgun event ids stored more than once")
        self.assertEqual(self.RUN.stray, [], "rows for events nobody sent")
        missing = [self.describe(e) for e in events if e.token not in rows]
        self.assertEqual(missing, [], "events sent but not stored")
        wrong = []
        for e in events:
            token, event_id, lead, kind = rows[e.token]
            if (event_id, lead, kind) != (e.event_id, e.lead, e.stored_type):
                wrong.append("stored as %s: %s" % ((event_id, lead, kind), self.describe(e)))
        self.assertEqual(wrong, [], "stored differently from what was sent")
        self.assertEqual(len(self.RUN.rows), len(events))

    def test_lead_counters_and_flags_equal_the_events_stored(self):
        events = self.RUN.client.events
        self.assertEqual(len(self.RUN.leads), LEADS_PER_FAULT)
        sent = {lead: [0, 0, False, False] for lead in self.RUN.leads}
        for e in events:
            if e.lead is None:
                continue
            if e.stored_type == "opened":
                sent[e.lead][0] += 1
            elif e.stored_type == "clicked":
                sent[e.lead][1] += 1
            if e.stored_type in ("delivered", "opened", "clicked"):
                sent[e.lead][2] = True
            if e.stored_type == "bounced":
                sent[e.lead][3] = True
        off = []
        for lead, state in sorted(self.RUN.leads.items()):
            if not (state["counters"] == state["stored"] == tuple(sent[lead])):
                off.append("lead %d: (opens, clicks, delivered, bounced) %s on the lead, %s "
                           "from its stored events, %s from the events sent"
                           % (lead, state["counters"], state["stored"], tuple(sent[lead])))
        self.assertEqual(off, [], "lead counters or flags differ from the events")

    def test_every_answer_was_200_or_retryable_and_every_200_names_its_lead(self):
        events = self.RUN.client.events
        odd = collections.Counter(
            s for e in events for _, s in e.attempts
            if s != "200" and s not in RETRYABLE and not s.startswith("conn:"))
        self.assertEqual(odd, {}, "statuses Mailgun would not retry harmlessly")
        wrong = []
        for e in events:
            if not e.acked:
                continue
            expected = ("duplicate", "success", "unmatched") if len(e.attempts) > 1 else (
                "success" if e.lead is not None else "unmatched",)
            if e.reply not in expected or e.reply_lead != e.lead:
                wrong.append("200 %s l_id=%s: %s" % (e.reply, e.reply_lead, self.describe(e)))
        self.assertEqual(wrong, [], "200 answers that do not match the event")
        disturbed = sum(1 for e in events if len(e.attempts) > 1)
        if self.EXPECT_DISTURBANCE:
            self.assertGreater(disturbed, 0,
                               "the fault caused no failed attempt: did it hit the load?")


class Test1PostgresRestart(FaultChecks, unittest.TestCase):
    FAULT = "pg-restart"
    EXPECT_DISTURBANCE = True

    @classmethod
    def inject(cls, run):
        STACK.pg_stop()
        time.sleep(0.5)
        STACK.pg_start()


class Test2LeadhookSigterm(FaultChecks, unittest.TestCase):
    FAULT = "sigterm"
    EXPECT_DISTURBANCE = True

    @classmethod
    def inject(cls, run):
        old = STACK.env["LEADHOOK_PID"]
        STACK.restart_leadhook()  # SIGTERM, drain, exit 0 (else it raises), start again
        run.fault_notes.append("pid %s -> %s" % (old, STACK.env["LEADHOOK_PID"]))
        if STACK.env["LEADHOOK_PID"] == old:
            raise RuntimeError("leadhook-restart left the same pid")


class Test3LeadhookSigkill(FaultChecks, unittest.TestCase):
    FAULT = "sigkill"
    EXPECT_DISTURBANCE = True

    @classmethod
    def inject(cls, run):
        old = STACK.kill_leadhook()
        time.sleep(0.3)
        STACK.restart_leadhook(killed=True)
        run.fault_notes.append("pid %d -> %s" % (old, STACK.env["LEADHOOK_PID"]))


class Test4NginxReload(FaultChecks, unittest.TestCase):
    FAULT = "nginx-reload"
    # A graceful reload may well cost no request at all.
    EXPECT_DISTURBANCE = False
    RELOADS = 3

    @classmethod
    def inject(cls, run):
        retired = set()
        for n in range(cls.RELOADS):
            old, new = STACK.reload_nginx()
            retired |= old
            run.fault_notes.append("workers %s -> %s" % (sorted(old), sorted(new)))
            if n + 1 < cls.RELOADS:
                time.sleep(0.5)
        # The old workers finish their requests and exit.
        deadline = time.time() + 15
        while STACK.nginx_workers() & retired:
            if time.time() > deadline:
                raise RuntimeError("old nginx workers %s still running 15 s after the reload"
                                   % sorted(STACK.nginx_workers() & retired))
            time.sleep(0.05)


FAULT_NAMES = [c.FAULT for c in (Test1PostgresRestart, Test2LeadhookSigterm,
                                 Test3LeadhookSigkill, Test4NginxReload)]

if __name__ == "__main__":
    unittest.main(verbosity=2)
