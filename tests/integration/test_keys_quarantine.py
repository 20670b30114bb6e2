#!/usr/bin/env python3
"""Integration: signing keys and the quarantine over real nginx -> leadhook
-> PostgreSQL: key rotation with end dates, SIGHUP reload (also under
load), `leadhook reverify`, and the hourly quarantine caps. One stack per
test class.
"""
import json
import os
import re
import secrets
import shutil
import signal
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from replay_support import (Stack, StackTestCase, check_no_secrets, event_data, new_key,  # noqa: E402
    rfc3339, webhook)


class KeyFileTests(StackTestCase):
    """Keys from a key file: labels and end dates, SIGHUP reloads (also a
    failed one, and under load), and `leadhook reverify`."""
    BASE = new_key("base")

    @classmethod
    def make_stack(cls):
        cls.key_dir = tempfile.mkdtemp(prefix="leadhook-it-keys-")
        cls.key_file = os.path.join(cls.key_dir, "signing-keys")
        cls.write_keys()
        return Stack({"LEADHOOK_SIGNING_KEY_FILE": cls.key_file})

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            shutil.rmtree(cls.key_dir, ignore_errors=True)

    @classmethod
    def write_keys(cls, *entries):
        """The key file: a comment, the base key, then the entries (one a line)."""
        tmp = cls.key_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("# leadhook integration test keys\n%s label=base\n" % cls.BASE)
            for entry in entries:
                f.write(entry + "\n")
        os.chmod(tmp, 0o600)  # leadhook refuses a key file others can read
        os.replace(tmp, cls.key_file)

    def tearDown(self):
        # Every test leaves the base key file, loaded.
        self.write_keys()
        self.stack.reload()

    def post_signed(self, key, message_id, email, kind="delivered", **kw):
        return self.post(webhook(event_data(kind, message_id, email), key, **kw))

    def test_key_rotation_with_end_dates(self):
        lead, email, message_id = self.add_lead("rotation")
        new, old = new_key("new"), new_key("old")
        self.write_keys("%s label=new" % new, "%s label=old not_after=%s"
                        % (old, rfc3339(time.time() + 3600)))
        self.stack.reload()
        for key, label in ((new, "new"), (old, "old")):
            status, reply = self.post_signed(key, message_id, email)
            self.assertEqual((status, reply["status"]), (200, "success"), reply)
            self.assertEqual(self.events_for(message_id)[-1][3], label)
        # The old key's end date has passed: it verifies nothing any more.
        self.write_keys("%s label=new" % new, "%s label=old not_after=%s"
                        % (old, rfc3339(time.time() - 3600)))
        self.stack.reload()
        body = webhook(event_data("delivered", message_id, email), old)
        self.assert_refused(body, 409, "bad_signature")
        status, reply = self.post_signed(new, message_id, email)
        self.assertEqual(status, 200, reply)
        self.assertEqual(len(self.events_for(message_id)), 3)

    def test_sighup_loads_a_new_key_and_keeps_the_old_ones_if_the_file_is_bad(self):
        _, email, message_id = self.add_lead("sighup")
        k2 = new_key("k2")
        reply, _ = self.assert_refused(webhook(event_data("delivered", message_id, email), k2),
                                       409, "bad_signature")
        self.write_keys("%s label=k2" % k2)
        self.stack.reload()
        status, reply = self.post_signed(k2, message_id, email)
        self.assertEqual((status, reply["status"]), (200, "success"), reply)
        self.assertEqual(self.events_for(message_id)[-1][3], "k2")
        # A broken key file: the reload fails, leadhook keeps serving with what it had.
        log_sizes = [len(log) for log in self.stack.leadhook_logs()]
        self.write_keys("%s label=k2" % k2, "%s bogus=1" % new_key("k3"))
        self.stack.reload()
        status, reply = self.post_signed(k2, message_id, email)
        self.assertEqual((status, reply["status"]), (200, "success"), reply)
        self.assertEqual(self.post_signed(self.BASE, message_id, email)[0], 200)
        new_lines = [line for size, log in zip(log_sizes, self.stack.leadhook_logs())
                     for line in log[size:].splitlines()]
        failed = [line for line in new_lines if "reload" in line.lower()
                  and re.search(r"level=(warn|error)|fail", line, re.IGNORECASE)]
        self.assertTrue(failed, "a log line about the failed reload:\n" + "\n".join(new_lines))

    def test_requests_in_flight_during_reloads_all_succeed(self):
        lead, email, message_id = self.add_lead("inflight")
        k2 = new_key("inflight")
        self.write_keys("%s label=inflight" % k2)
        self.stack.reload()
        bodies = [webhook(event_data("opened", message_id, email), k2 if i % 2 else self.BASE)
                  for i in range(50)]
        ok, failed = ('leadhook_config_reloads_total{result="%s"}' % r for r in ("ok", "failed"))
        before = self.stack.metrics()
        pid = int(self.stack.env["LEADHOOK_PID"])
        burst_done = threading.Event()
        signals = []

        def keep_reloading():  # SIGHUP every few ms for as long as the burst lasts (at least 3)
            while not burst_done.is_set() or len(signals) < 3:
                os.kill(pid, signal.SIGHUP)
                signals.append(time.monotonic())
                time.sleep(0.005)

        reloader = threading.Thread(target=keep_reloading)
        reloader.start()
        try:
            results = self.post_all(bodies, workers=8)
        finally:
            burst_done.set()
            reloader.join(timeout=30)
        self.stack.reload()  # and one more, waited for: every signal has been handled
        self.assertEqual([s for s, _ in results], [200] * 50, [r for s, r in results if s != 200])
        self.assertEqual(self.counters(lead)["opens"], 50)
        # Signals may coalesce, but several reloads must have happened during the burst.
        after = self.stack.metrics()
        self.assertGreaterEqual(after[ok] - before[ok], 3, "%d SIGHUPs sent" % len(signals))
        self.assertEqual(after.get(failed, 0), before.get(failed, 0))

    def test_reverify_imports_what_the_current_keys_verify(self):
        lead, email, message_id = self.add_lead("reverify")
        late = new_key("late")  # Mailgun signs with it before leadhook has it
        body = webhook(event_data("opened", message_id, email), late)
        _, row = self.assert_refused(body, 409, "bad_signature")
        # Two days old when it arrived: reverify finds it stale, whatever the keys.
        stale = webhook(event_data("opened", message_id, email), late,
                        timestamp=int(time.time()) - 2 * 86400)
        _, stale_row = self.assert_refused(stale, 409, "bad_signature")
        # Arrived two hours ago (moved back in the table), signed just before,
        # with a key that ended an hour ago: current then, so it is imported.
        retired = new_key("retired")
        lead2, email2, message_id2 = self.add_lead("reverify-retired")
        old = webhook(event_data("clicked", message_id2, email2), retired,
                      timestamp=int(time.time()) - 2 * 3600 - 10)
        _, old_row = self.assert_refused(old, 409, "bad_signature")
        self.stack.sql("UPDATE webhook_quarantine SET received_at = received_at"
                       " - interval '2 hours' WHERE id = :'p0'", old_row["id"])
        self.write_keys("%s label=late" % late, "%s label=retired not_after=%s"
                        % (retired, rfc3339(time.time() - 3600)))
        # No reload: reverify reads the configuration itself.
        result = self.stack.leadhook("reverify")
        self.assertEqual(result.returncode, 0, result.stderr)
        lines = result.stdout.splitlines()

        def verdict(quarantine_row):
            found = [line for line in lines if re.search(r"#%s\b" % quarantine_row["id"], line)]
            self.assertEqual(len(found), 1, result.stdout)
            return found[0]

        self.assertTrue(verdict(row).startswith("imported"), result.stdout)
        self.assertTrue(verdict(old_row).startswith("imported"), result.stdout)
        self.assertTrue(verdict(stale_row).startswith("skipped"), result.stdout)
        self.assertIn("stale", verdict(stale_row))
        summary = re.search(r"reverify: (\d+) imported, (\d+) duplicate, (\d+) skipped",
                            result.stdout)
        self.assertIsNotNone(summary, result.stdout)
        self.assertEqual([int(n) for n in summary.groups()],
                         [sum(line.startswith(v) for line in lines)
                          for v in ("imported", "duplicate", "skipped")], result.stdout)
        self.assertEqual([tuple(e[1:]) for e in self.events_for(message_id)],
                         [("opened", str(lead), "late")])
        self.assertEqual(self.counters(lead)["opens"], 1)
        self.assertEqual([tuple(e[1:]) for e in self.events_for(message_id2)],
                         [("clicked", str(lead2), "retired")])
        self.assertEqual(self.counters(lead2)["clicks"], 1)
        self.assertIsNone(self.quarantined(body), "an imported row leaves the quarantine")
        self.assertIsNone(self.quarantined(old), "an imported row leaves the quarantine")
        self.assertIsNotNone(self.quarantined(stale), "a skipped row stays")
        again = self.stack.leadhook("reverify")
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertRegex(again.stdout, r"reverify: 0 imported")
        self.assertEqual(len(self.events_for(message_id)), 1)
        # Mailgun's retry of the original request now meets the ledger.
        self.stack.reload()
        status, reply = self.post(body)
        self.assertEqual((status, reply["status"], reply["l_id"]), (200, "duplicate", lead), reply)
        # The retired key verifies nothing live.
        self.assert_refused(webhook(event_data("clicked", message_id2, email2), retired),
                            409, "bad_signature")


def unsigned_body(size=None):
    """A distinct JSON webhook without a signature (409, quarantined), padded
    to exactly `size` bytes when given."""
    body = json.dumps({"event-data": {"event": "delivered", "nonce": secrets.token_hex(8),
                                      "pad": ""}})
    if size:
        body = body.replace('"pad": ""', '"pad": "%s"' % ("x" * (size - len(body))))
        assert len(body) == size
    return body.encode()


class QuarantineCapTestCase(StackTestCase):
    """A stack of its own: the hourly cap counts every refusal in the database."""

    def setUp(self):
        # The cap is per clock hour: do not straddle one.
        if time.time() % 3600 > 3600 - 5:
            time.sleep(3600 - time.time() % 3600 + 0.5)

    def post_refused(self, bodies):
        """Posts the bodies (each answered 409); returns the change of the
        stored and dropped quarantine counters."""
        before = self.stack.metrics()
        for body in bodies:
            status, reply = self.post(body)
            self.assertEqual(status, 409, reply)
        after = self.stack.metrics()
        return [after.get(name, 0) - before.get(name, 0) for name in (
            'leadhook_quarantine_total{result="%s"}' % r for r in ("stored", "dropped"))]


class QuarantineCapTests(QuarantineCapTestCase):
    STACK_ENV = {"LEADHOOK_QUARANTINE_MAX_PER_HOUR": "3"}

    def test_past_the_hourly_cap_refusals_are_only_counted(self):
        self.assertEqual(self.post_refused([unsigned_body() for _ in range(5)]), [3, 2])
        self.assertEqual(self.stack.scalar("SELECT count(*) FROM webhook_quarantine"), "3")


class QuarantineByteCapTests(QuarantineCapTestCase):
    STACK_ENV = {"LEADHOOK_QUARANTINE_MAX_BYTES_PER_HOUR": "1000"}

    def test_the_hourly_byte_cap_is_never_exceeded(self):
        # 400 + 400 fit, a third 400 would not; a 150-byte body still fits.
        bodies = [unsigned_body(400) for _ in range(4)] + [unsigned_body(150)]
        self.assertEqual(self.post_refused(bodies), [3, 2])
        self.assertEqual(self.stack.sql("SELECT count(*), sum(body_bytes) FROM webhook_quarantine"),
                         [["3", "950"]])


def tearDownModule():
    check_no_secrets()


if __name__ == "__main__":
    unittest.main(verbosity=2)
