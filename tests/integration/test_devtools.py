#!/usr/bin/env python3
"""Integration: the developer tools. `leadhook sign` for every event type in
every format, posted through nginx (200, the lead row changes as that event
should) and as the printed --curl command run with bash and sh; where its key
comes from; scripts/replay of the capture fixtures (tests/data/captures) over
HTTP and over the FastCGI socket, twice (the second pass changes nothing),
--resign against a stack that knows only the test key, --expect, --dry-run
and --rate; scripts/stack leadhook-restart --bin, and options a command does
not take.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from replay_support import FORM, StackTestCase, check_no_secrets  # noqa: E402
from stack import REPO, TEST_KEY  # noqa: E402

BIN = os.environ.get("LEADHOOK_BIN", os.path.join(REPO, "build", "src", "leadhook"))
REPLAY = os.path.join(REPO, "scripts", "replay")
CAPTURES = os.path.join(REPO, "tests", "data", "captures")
REFUSED = os.path.join(CAPTURES, "refused")
EVENTS = "/api/v1/wh/mg/events"
LEGACY_ROUTES = {
    "delivered": "/api/v1/wh/mg/lead/email/delivered",
    "opened": "/api/v1/wh/mg/lead/email/open",
    "clicked": "/api/v1/wh/mg/lead/email/click",
    "unsubscribed": "/api/v1/wh/mg/lead/email/unsubscribe",
    "complained": "/api/v1/wh/mg/lead/email/spam/complaint",
    "bounced": "/api/v1/wh/mg/lead/email/bounced",
    "dropped": "/api/v1/wh/mg/lead/email/dropped",
}
JSON_ONLY = {"failed": "bounced", "permanent_fail": "bounced", "temporary_fail": "deferred",
             "deferred": "deferred", "accepted": "accepted", "rejected": "rejected"}
IP = "203.0.113.9"

# The lead columns an event may change, and what each event type sets
# (domain/lead_state.cpp); anything not listed keeps its default.
LEAD_COLUMNS = ("followup_email_status", "followup_email_delivered", "followup_email_bounced",
                "followup_email_opens", "followup_email_clicks", "followup_email_spam",
                "followup_email_unsub", "followup_email_dropped", "is_optout",
                "followup_email_open_ip", "followup_email_click_ip", "bounce_code", "dropped_code")
DEFAULTS = dict(zip(LEAD_COLUMNS, ["", "false", "false", "0", "0", "false", "false", "false",
                                   "false", "", "", "", ""]))
EFFECTS = {
    "delivered": {"followup_email_delivered": "true"},
    "opened": {"followup_email_delivered": "true", "followup_email_opens": "1",
               "followup_email_open_ip": IP},
    "clicked": {"followup_email_delivered": "true", "followup_email_clicks": "1",
                "followup_email_click_ip": IP},
    "unsubscribed": {"followup_email_unsub": "true", "is_optout": "true"},
    "complained": {"followup_email_spam": "true", "is_optout": "true"},
    "bounced": {"followup_email_bounced": "true", "bounce_code": "550"},
    "dropped": {"followup_email_dropped": "true", "dropped_code": "605"},
    "deferred": {},
    "accepted": {},
    "rejected": {"followup_email_dropped": "true"},
}
NO_STATUS = {"accepted"}  # logged, but says nothing about the follow-up email


def sign(*args, env=None, key=TEST_KEY):
    """Runs `leadhook sign ARGS --key KEY` (no --key when key is None)."""
    argv = [BIN, "sign"] + list(args) + (["--key", key] if key else [])
    return subprocess.run(argv, capture_output=True, env=env, timeout=30)


def replay(*args):
    """scripts/replay ARGS: (exit status, stdout lines, stderr, seconds taken)."""
    started = time.monotonic()
    result = subprocess.run([sys.executable, REPLAY] + list(args), capture_output=True,
                            text=True, timeout=120)
    return (result.returncode, result.stdout.splitlines(), result.stderr,
            time.monotonic() - started)


def captures():
    return sorted(os.path.join(CAPTURES, n) for n in os.listdir(CAPTURES) if n.endswith(".http"))


def request_lines(lines):
    """{capture file name: 'STATUS OUTCOME'} from replay's per-request lines."""
    out = {}
    for line in lines:
        if line.startswith("replay: "):
            continue
        path, status, outcome = line.split(" ", 2)
        out[os.path.basename(path)] = "%s %s" % (status, outcome.split(" (")[0])
    return out


# Leads for the fixtures' recipients, matched by their message ids
# (tests/data/captures/README.md).
FIXTURE_LEADS = [
    ("recipient@example.com", "20180812211713.1.DF5966851B4BAA99@example.org"),
    ("recipient@example.com", "<20160421175529.19495.89030.B3AE3728@example.com>"),
    ("alice@example.com", "20130503182626.18666.16540@app.symfony.com"),
    ("bounce@example.com", "<20160421180324.70521.79375.96884DDB@example.com>"),
]


class DevtoolsCase(StackTestCase):
    def add_fixture_leads(self):
        for email, receipt in FIXTURE_LEADS:
            self.stack.sql("INSERT INTO leads (email_addr, followup_email_receipt_id,"
                           " followup_email_sent_date) VALUES (:'p0', :'p1', now())",
                           email, receipt)

    def snapshot(self):
        """Every lead column of every lead, and the number of stored events."""
        return (self.stack.sql("SELECT * FROM leads ORDER BY id"),
                self.stack.scalar("SELECT count(*) FROM lead_email_events"))

    def lead_row(self, lead_id):
        row = self.stack.sql("SELECT " + ", ".join(
            "coalesce(%s::text, '')" % c for c in LEAD_COLUMNS) + " FROM leads WHERE id = :'p0'",
            lead_id)[0]
        return dict(zip(LEAD_COLUMNS, row))


class SignTests(DevtoolsCase):
    # Only the test key: what leadhook sign signs with, and --resign re-signs with.
    STACK_ENV = {"LEADHOOK_SIGNING_KEYS": TEST_KEY}

    def sign_for(self, event, fmt, *extra):
        """A lead of its own, and a webhook for it: (lead, body, content type)."""
        lead = self.add_lead("%s-%s" % (event, fmt))
        args = ["--event", event, "--format", fmt, "--recipient", lead[1],
                "--message-id", lead[2]] + list(extra)
        if event in ("opened", "clicked", "unsubscribed"):
            args += ["--ip", IP]
        result = sign(*args)
        self.assertEqual(result.returncode, 0, result.stderr)
        content_type = result.stderr.decode().splitlines()[-1]
        return lead, result.stdout, content_type

    def assert_stored(self, lead, want_type):
        events = self.events_for(lead[2])
        self.assertEqual(len(events), 1, events)
        self.assertEqual(events[0][1], want_type)
        self.assertEqual(events[0][2], str(lead[0]))
        row = self.lead_row(lead[0])
        want = dict(DEFAULTS, **EFFECTS[want_type])
        if want_type not in NO_STATUS:
            want["followup_email_status"] = want_type
        self.assertEqual(row, want)

    def test_every_event_and_format_round_trips_through_nginx(self):
        cases = [(e, f, e) for e in LEGACY_ROUTES for f in ("json", "form", "multipart")]
        cases += [(e, "json", t) for e, t in JSON_ONLY.items()]
        for event, fmt, want_type in cases:
            with self.subTest(event=event, format=fmt):
                lead, body, content_type = self.sign_for(event, fmt)
                route = EVENTS if fmt == "json" else LEGACY_ROUTES[event]
                expected_type = {"json": "application/json", "form": FORM}.get(
                    fmt, "multipart/form-data; boundary=")
                self.assertTrue(content_type.startswith(expected_type), content_type)
                status, reply = self.post(body, content_type, route)
                self.assertEqual(status, 200, reply)
                self.assertEqual((reply["status"], reply["l_id"], reply["event"]),
                                 ("success", lead[0], want_type))
                self.assert_stored(lead, want_type)

    def test_combinations_that_never_existed_are_refused(self):
        for event in JSON_ONLY:
            for fmt in ("form", "multipart"):
                result = sign("--event", event, "--format", fmt, "--recipient", "a@example.com")
                self.assertEqual(result.returncode, 2, (event, fmt))
                self.assertIn(b"--format json", result.stderr)
                self.assertEqual(result.stdout, b"")
        for args in (["--event", "opened"],  # no --recipient
                     ["--event", "opened", "--recipient", "a@example.com", "--url", "x"],
                     ["--event", "opened", "--recipient", "a@example.com", "--format", "xml"],
                     ["--event", "opened", "--recipient", "a@example.com", "--curl", "ftp://x"]):
            result = sign(*args)
            self.assertEqual(result.returncode, 2, args)
            self.assertNotIn(TEST_KEY.encode(), result.stdout + result.stderr)

    def run_curl_command(self, shell, event, fmt):
        lead = self.add_lead("curl-%s-%s" % (event, fmt))
        result = sign("--event", event, "--format", fmt, "--recipient", lead[1],
                      "--message-id", lead[2], "--var", "note=it's 100% \\n", "--curl",
                      self.stack.env["LEADHOOK_HTTP_URL"],
                      *(["--ip", IP] if event in ("opened", "clicked", "unsubscribed") else []))
        self.assertEqual(result.returncode, 0, result.stderr)
        command = result.stdout.decode()
        self.assertEqual(command.count("\n"), 1, "one line")
        self.assertNotIn(TEST_KEY, command)
        run = subprocess.run([shell, "-c", command], capture_output=True, text=True, timeout=60)
        self.assertEqual(run.returncode, 0, run.stderr)
        *answer, last = run.stdout.rstrip("\n").split("\n")
        route = EVENTS if fmt == "json" else LEGACY_ROUTES[event]
        self.assertEqual(last, "HTTP 200 %s%s" % (self.stack.env["LEADHOOK_HTTP_URL"], route))
        self.assertIn('"status":"success"', "\n".join(answer))
        self.assert_stored(lead, event)

    def test_the_curl_command_posts_the_exact_bytes(self):
        # multipart: CRLFs; form: %XX escapes; all: a quote, a %, a backslash in a variable.
        for shell, event, fmt in (("bash", "dropped", "multipart"), ("bash", "clicked", "form"),
                                  ("bash", "bounced", "json"), ("sh", "complained", "multipart")):
            with self.subTest(shell=shell, event=event, format=fmt):
                self.run_curl_command(shell, event, fmt)

    def test_a_full_curl_url_is_used_as_is(self):
        result = sign("--event", "opened", "--format", "form", "--recipient", "a@example.com",
                      "--curl", self.stack.env["LEADHOOK_HTTP_URL"] + EVENTS)
        run = subprocess.run(["bash", "-c", result.stdout.decode()], capture_output=True,
                             text=True, timeout=60)
        self.assertTrue(run.stdout.rstrip().endswith("HTTP 200 %s%s" % (
            self.stack.env["LEADHOOK_HTTP_URL"], EVENTS)), run.stdout)

    def test_where_the_key_comes_from(self):
        with tempfile.TemporaryDirectory() as tmp:
            key_file = os.path.join(tmp, "keys")
            with open(key_file, "w") as f:
                f.write("# rotated out\nold-key label=old not_after=2020-01-01T00:00:00Z\n"
                        "%s label=current\n" % TEST_KEY)
            os.chmod(key_file, 0o600)  # as LEADHOOK_SIGNING_KEY_FILE must be
            config = os.path.join(tmp, "leadhook.toml")
            with open(config, "w") as f:
                f.write('signing_keys = ["%s"]\n' % TEST_KEY)
            env = {k: v for k, v in os.environ.items() if not k.startswith("LEADHOOK_")}
            ways = {"--key-file": (["--key-file", key_file], env),
                    "-c": (["-c", config], env),
                    "LEADHOOK_SIGNING_KEYS": ([], dict(env, LEADHOOK_SIGNING_KEYS=TEST_KEY)),
                    "LEADHOOK_SIGNING_KEY_FILE": ([], dict(env,
                                                           LEADHOOK_SIGNING_KEY_FILE=key_file))}
            for way, (args, environment) in ways.items():
                with self.subTest(way=way):
                    lead = self.add_lead("key")
                    result = sign("--event", "delivered", "--recipient", lead[1], "--message-id",
                                  lead[2], *args, env=environment, key=None)
                    self.assertEqual(result.returncode, 0, result.stderr)
                    self.assertNotIn(TEST_KEY.encode(), result.stderr)
                    status, reply = self.post(result.stdout)
                    self.assertEqual((status, reply["status"]), (200, "success"), reply)
            with open(key_file, "w") as f:
                f.write("old-key not_after=2020-01-01T00:00:00Z\n")
            result = sign("--event", "delivered", "--recipient", "a@example.com", "--key-file",
                          key_file, env=env, key=None)
            self.assertEqual(result.returncode, 2)
            self.assertIn(b"no usable signing key", result.stderr)
            self.assertNotIn(b"old-key", result.stderr)
            result = sign("--event", "delivered", "--recipient", "a@example.com", env=env, key=None)
            self.assertEqual(result.returncode, 2)
            self.assertIn(b"no signing key", result.stderr)

    def test_resign_makes_captures_signed_with_another_key_verify(self):
        self.add_fixture_leads()
        files = [os.path.basename(p) for p in captures()]
        url = self.stack.env["LEADHOOK_HTTP_URL"]
        stored = self.stack.scalar("SELECT count(*) FROM lead_email_events")
        with tempfile.TemporaryDirectory() as tmp:
            key_file = os.path.join(tmp, "dev-key")
            with open(key_file, "w") as f:
                f.write("# the development key\n%s label=dev\n" % TEST_KEY)
            # As captured: signed with the corpus keys, which this stack does not have.
            rc, lines, _, _ = replay("--url", url, "--expect", "409", CAPTURES)
            self.assertEqual(rc, 0, lines)
            # Re-signed but with the captured (years old) timestamps: stale.
            rc, lines, _, _ = replay("--url", url, "--resign", key_file, CAPTURES)
            self.assertEqual(rc, 1, lines)
            self.assertTrue(all(v.startswith("409 error") for v in request_lines(lines).values()))
            self.assertEqual(self.stack.scalar("SELECT count(*) FROM lead_email_events"), stored)
            # Re-signed at a recent time: stored; the same time again: all duplicates.
            stamp = str(int(time.time()) - 60)
            rc, lines, _, _ = replay("--url", url, "--resign", key_file, "--timestamp", stamp,
                                     CAPTURES)
            self.assertEqual(rc, 0, lines)
            self.assertEqual(request_lines(lines), {f: "200 success" for f in files})
            before = self.snapshot()
            rc, lines, _, _ = replay("--fcgi", "unix:" + self.stack.env["LEADHOOK_SOCKET"],
                                     "--resign", key_file, "--timestamp", stamp, CAPTURES)
            self.assertEqual(rc, 0, lines)
            self.assertEqual(request_lines(lines), {f: "200 duplicate" for f in files})
            self.assertEqual(self.snapshot(), before)
            # --fresh-timestamp signs anew: JSON events are still duplicates by
            # their Mailgun event id; legacy ones have none and are stored again
            # (documented in scripts/replay --help).
            rc, lines, _, _ = replay("--url", url, "--resign", key_file, "--fresh-timestamp",
                                     CAPTURES)
            self.assertEqual(rc, 0, lines)
            outcomes = request_lines(lines)
            for name in files:
                legacy = name.endswith(("3a02.http", "3a04.http"))
                self.assertEqual(outcomes[name], "200 success" if legacy else "200 duplicate")


class ReplayTests(DevtoolsCase):
    # The corpus keys (the captures' own), and old signed timestamps accepted.
    STACK_ENV = {"LEADHOOK_MAX_AGE_SECONDS": "0"}

    def requests_seen(self):
        """Lines in nginx's access log, and request lines in leadhook's log."""
        with open(self.stack.env["NGINX_ACCESS_LOG"]) as f:
            nginx = len(f.readlines())
        return nginx, sum(" method=" in line for line in self.stack.leadhook_log().splitlines())

    def test_http_then_fastcgi_reproduces_the_statuses_and_the_second_pass_changes_nothing(self):
        self.add_fixture_leads()
        files = [os.path.basename(p) for p in captures()]
        rc, lines, err, _ = replay("--url", self.stack.env["LEADHOOK_HTTP_URL"], CAPTURES)
        self.assertEqual(rc, 0, lines + [err])
        self.assertEqual(request_lines(lines), {f: "200 success" for f in files})
        self.assertRegex(lines[-1], r"^replay: 4 requests in [0-9.]+ s: 200 success x4; "
                                    r"0 unexpected$")
        for _, receipt in FIXTURE_LEADS:
            lead = self.stack.scalar("SELECT id FROM leads WHERE followup_email_receipt_id ="
                                     " :'p0'", receipt)
            self.assertEqual(len(self.stack.sql(
                "SELECT 1 FROM lead_email_events WHERE lead_id = :'p0'", lead)), 1, receipt)
        before = self.snapshot()
        rc, lines, err, _ = replay("--fcgi", "unix:" + self.stack.env["LEADHOOK_SOCKET"],
                                   CAPTURES)
        self.assertEqual(rc, 0, lines + [err])
        self.assertEqual(request_lines(lines), {f: "200 duplicate" for f in files})
        self.assertEqual(self.snapshot(), before)
        self.assertIn("req=replay-", self.stack.leadhook_log())  # our REQUEST_ID

    def test_refused_captures_are_refused_over_both_transports(self):
        for target in (["--url", self.stack.env["LEADHOOK_HTTP_URL"]],
                       ["--fcgi", self.stack.env["LEADHOOK_SOCKET"]]):
            with self.subTest(target=target[0]):
                rc, lines, _, _ = replay(*target, "--expect", "409", REFUSED)
                self.assertEqual(rc, 0, lines)
                self.assertEqual(list(request_lines(lines).values()), [
                    "409 error: signature does not verify with any current key"])

    def test_an_unexpected_status_exits_1(self):
        rc, lines, _, _ = replay("--url", self.stack.env["LEADHOOK_HTTP_URL"], REFUSED)
        self.assertEqual(rc, 1)
        self.assertIn("UNEXPECTED (expected 2xx)", lines[0])
        self.assertRegex(lines[-1], r"409 error x1; 1 unexpected$")
        rc, lines, _, _ = replay("--fcgi", self.stack.env["LEADHOOK_SOCKET"], "--expect", "200,4xx",
                                 REFUSED)
        self.assertEqual(rc, 0, lines)
        rc, lines, _, _ = replay("--url", "http://127.0.0.1:1", REFUSED)  # nothing listens
        self.assertEqual(rc, 1)
        self.assertIn(" - failed: curl: ", lines[0])

    def test_dry_run_sends_nothing(self):
        seen = (self.requests_seen(),
                self.stack.scalar("SELECT count(*) FROM webhook_quarantine"))
        with tempfile.TemporaryDirectory() as tmp:
            key_file = os.path.join(tmp, "k")
            with open(key_file, "w") as f:
                f.write(TEST_KEY + "\n")
            for target in (["--url", self.stack.env["LEADHOOK_HTTP_URL"]],
                           ["--fcgi", self.stack.env["LEADHOOK_SOCKET"]], []):
                rc, lines, _, _ = replay("--dry-run", "-v", "--resign", key_file, *target,
                                         os.path.join(CAPTURES, "*.http"), REFUSED)
                self.assertEqual(rc, 0, lines)
                self.assertEqual(sum("[dry run: not sent]" in line for line in lines), 5)
                self.assertIn("(dry run, nothing sent)", lines[-1])
                self.assertIn("Content-Disposition: form-data; name=\"token\"", "\n".join(lines))
        time.sleep(0.5)  # anything sent would be logged by now
        self.assertEqual((self.requests_seen(),
                          self.stack.scalar("SELECT count(*) FROM webhook_quarantine")), seen)

    def test_rate_paces_the_requests(self):
        with tempfile.TemporaryDirectory() as tmp:
            source = os.listdir(REFUSED)[0]
            for i in range(5):
                shutil.copy(os.path.join(REFUSED, source), os.path.join(tmp, "%d.http" % i))
            rc, lines, _, took = replay("--url", self.stack.env["LEADHOOK_HTTP_URL"],
                                        "--rate", "4/s", "--expect", "409", tmp)
            self.assertEqual(rc, 0, lines)
            self.assertEqual(len(request_lines(lines)), 5)
            self.assertGreaterEqual(took, (5 - 1) / 4)
            self.assertLess(took, 15)

    def test_usage_errors_exit_2(self):
        url = self.stack.env["LEADHOOK_HTTP_URL"]
        for args in ([CAPTURES],  # no target
                     ["--url", url, "/nonexistent/capture.http"],
                     ["--url", url, "--rate", "fast", CAPTURES],
                     ["--url", url, "--expect", "ok", CAPTURES],
                     ["--url", url, "--fresh-timestamp", CAPTURES],
                     ["--url", url, "--resign", "/nonexistent/key", CAPTURES],
                     ["--url", url, "--fcgi", "/x.sock", CAPTURES]):
            with self.subTest(args=args):
                rc, lines, err, _ = replay(*args)
                self.assertEqual(rc, 2, lines)
                self.assertIn("scripts/replay: error:", err)

    def test_a_truncated_capture_fails_that_request_only(self):
        with tempfile.TemporaryDirectory() as tmp:
            with open(captures()[0], "rb") as f:
                data = f.read()
            with open(os.path.join(tmp, "a-truncated.http"), "wb") as f:
                f.write(data[:-10])
            shutil.copy(os.path.join(REFUSED, os.listdir(REFUSED)[0]),
                        os.path.join(tmp, "b-refused.http"))
            rc, lines, _, _ = replay("--url", self.stack.env["LEADHOOK_HTTP_URL"], "--expect",
                                     "409", tmp)
            self.assertEqual(rc, 1)
            self.assertIn("failed: truncated: Content-Length", lines[0])
            self.assertEqual(request_lines(lines)["b-refused.http"],
                             "409 error: signature does not verify with any current key")


def tearDownModule():
    check_no_secrets()


class StackToolTests(StackTestCase):
    def stack_tool(self, *args):
        result = subprocess.run([os.path.join(REPO, "scripts", "stack")] + list(args),
                                capture_output=True, text=True, timeout=120)
        return result.returncode, result.stdout + result.stderr

    def restart_with(self, binary):
        rc, out = self.stack_tool("leadhook-restart", "--dir", self.stack.dir, "--bin", binary)
        self.assertEqual(rc, 0, out)
        self.stack.env = self.stack._read_env()

    def running_binary(self):
        return os.path.realpath("/proc/%s/exe" % self.stack.env["LEADHOOK_PID"])

    def test_leadhook_restart_bin_switches_the_binary_for_later_restarts(self):
        original = self.stack.env["LEADHOOK_BIN"]
        copy_dir = tempfile.mkdtemp(prefix="leadhook-bin-")
        self.addCleanup(shutil.rmtree, copy_dir)
        copy = os.path.join(copy_dir, "leadhook-other")
        shutil.copy2(original, copy)
        self.addCleanup(self.restart_with, original)
        self.restart_with(copy)
        self.assertEqual(self.stack.env["LEADHOOK_BIN"], copy)
        self.assertEqual(self.running_binary(), copy)
        self.assertEqual(self.stack.request("GET", "/api/v1/index")[0], 200)
        rc, out = self.stack_tool("leadhook-restart", "--dir", self.stack.dir)
        self.assertEqual(rc, 0, out)
        self.stack.env = self.stack._read_env()
        self.assertEqual(self.running_binary(), copy)  # kept for later restarts

    def test_options_a_command_does_not_take_are_refused(self):
        for args in (["leadhook-restart", "--threads", "4"],
                     ["leadhook-restart", "--bin", "/nonexistent/leadhook"],
                     ["status", "--wait", "3"],
                     ["stop", "--http-port", "8081"]):
            with self.subTest(args=args):
                pid = self.stack._read_env()["LEADHOOK_PID"]
                rc, out = self.stack_tool(args[0], "--dir", self.stack.dir, *args[1:])
                self.assertEqual(rc, 1 if "/nonexistent/leadhook" in args else 2, out)
                self.assertIn(args[1], out)
                self.assertEqual(self.stack._read_env()["LEADHOOK_PID"], pid)  # untouched


if __name__ == "__main__":
    unittest.main(verbosity=2)
