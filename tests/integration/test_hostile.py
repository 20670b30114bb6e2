#!/usr/bin/env python3
"""Integration: the hostile input catalogue (issue 7).

One table, CASES, of hostile requests: truncated and oversized bodies, a
Content-Length that lies, invalid percent-encoding, invalid UTF-8, multipart
without a closing boundary, thousands of parts, deeply nested JSON, huge
numbers, NUL bytes, duplicate and conflicting fields, an empty body with each
content type, garbage FastCGI records and slow clients. Each case is sent
through nginx (raw HTTP on a socket, so that headers and lengths can lie),
straight to leadhook's FastCGI socket, or both, and expects for each way a
status (None: no answer, the connection is closed), the layer that answers
(leadhook's JSON `error`, or nginx's own error page) and a fragment of the
answer. Bodies that must reach the parser are signed with the stack's test key
where that matters (the parser runs before the signature check, but the
normaliser and the store only after it).

After every case: nothing was stored unless the case expects it, and a valid
signed webhook is answered 200 (leadhook keeps serving). At the end: the whole
catalogue again several times, and leadhook's VmRSS has not grown beyond
max(+10%, +4 MiB) of what it was after the first pass; its log has no crash
line; it exits 0 on SIGTERM.
"""
import dataclasses
import json
import os
import random
import re
import socket
import struct
import subprocess
import sys
import time
import unittest
from typing import Callable, Optional

sys.path.insert(0, os.path.dirname(__file__))
from stack import (Stack, form_webhook, json_webhook, multipart_body,  # noqa: E402
                   signature_block)
from test_keepalive import (BEGIN_REQUEST, END_REQUEST, PARAMS, STDIN, STDOUT,  # noqa: E402
                            ConnectionClosed, FastCgiClient, fcgi_name_value, fcgi_record,
                            fcgi_stream)

EVENTS = "/api/v1/wh/mg/events"
THREADS = 4
MAX_BODY = 512 * 1024  # leadhook's max_body_bytes here; nginx allows 25m
ENV = {"LEADHOOK_MAX_BODY_BYTES": str(MAX_BODY)}
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
BOUNDARY = "LeadhookTestBoundary"
MULTIPART = "multipart/form-data; boundary=" + BOUNDARY
REPEAT_PASSES = 5  # the catalogue again, after the first pass, for the memory check
GET_VALUES, GET_VALUES_RESULT, UNKNOWN_TYPE = 9, 10, 11
CANT_MPX_CONN = 1
CRASH_WORDS = re.compile(r"level=(error|fatal)|abort|terminate called|segmentation|core dumped"
                         r"|stack overflow|bad_alloc|AddressSanitizer", re.IGNORECASE)

LEADHOOK, NGINX = "leadhook", "nginx"


@dataclasses.dataclass
class Expect:
    status: Optional[int]  # None: no answer at all, the connection is closed
    fragment: str  # in leadhook's "error" (or "status" for 200), or in nginx's page
    layer: str = LEADHOOK  # who answers
    stored: int = 0  # events this case stores (first pass)
    recipient: Optional[str] = None  # the stored event's recipient, when checked


@dataclasses.dataclass
class Case:
    name: str
    item: str  # the item of issue 7 it covers
    nginx: Optional[Expect]  # None: not sent through nginx
    fcgi: Optional[Expect]  # None: not sent to the FastCGI socket
    body: Callable[[], bytes] = lambda: b""  # built once per case and way
    content_type: Optional[str] = JSON  # None: no Content-Type at all
    path: str = EVENTS
    # Custom senders for what a well-formed request cannot express:
    # f(test, body) -> (status or None, text).
    send_nginx: Optional[Callable] = None
    send_fcgi: Optional[Callable] = None


def both(expect):
    return {"nginx": expect, "fcgi": expect}


# --- bodies -------------------------------------------------------------------

def event_data(recipient="hostile@example.com", **extra):
    data = {"event": "delivered", "timestamp": time.time(), "recipient": recipient,
            "id": os.urandom(8).hex()}
    data.update(extra)
    return data


def signed_json(**extra):
    return json_webhook(event_data(**extra))


def signed_json_text(event_text):
    """A JSON webhook whose event-data is the given raw text, freshly signed."""
    return (b'{"signature": ' + json.dumps(signature_block()).encode() + b', "event-data": '
            + event_text + b'}')


def delivered_text(extra=b""):
    """event-data text of a delivered event, with raw `extra` members."""
    return (b'{"event": "delivered", "timestamp": %.3f, "recipient": "hostile@example.com"'
            % time.time()) + extra + b'}'


def signed_form(*raw_pairs, fields=(("event", "delivered"), ("recipient", "hostile@example.com"))):
    """A signed legacy urlencoded body, with raw (already encoded) pairs in front."""
    signed = form_webhook(list(fields))
    return b"&".join(list(raw_pairs) + [signed])


def signed_multipart(fields=(("event", "delivered"), ("recipient", "hostile@example.com")),
                     raw_parts=b""):
    """A signed legacy multipart body (BOUNDARY), with raw parts in front."""
    sig = signature_block()
    body, _ = multipart_body(list(fields) + [(n, sig[n]) for n in ("timestamp", "token",
                                                                    "signature")], BOUNDARY)
    return raw_parts + body


def part(name, value):
    return (b'--' + BOUNDARY.encode() + b'\r\nContent-Disposition: form-data; name="' + name
            + b'"\r\n\r\n' + value + b'\r\n')


def deep_variables_multipart(depth):
    """A signed multipart event whose message-headers carry X-Mailgun-Variables
    nested `depth` levels deep."""
    variables = '{"a": ' + "[" * depth + "]" * depth + "}"
    headers = json.dumps([["X-Mailgun-Variables", variables]])
    return signed_multipart(fields=(("event", "delivered"), ("recipient", "deep@example.com"),
                                    ("message-headers", headers)))


def nested_user_variables(total_depth):
    """A signed JSON webhook nested `total_depth` levels deep in all: the body
    object, event-data, user-variables and arrays inside it."""
    arrays = total_depth - 3
    text = delivered_text(b', "user-variables": {"v": ' + b"[" * arrays + b"]" * arrays + b'}')
    return signed_json_text(text)


# --- raw senders -----------------------------------------------------------------

def parse_http(data):
    """(status or None, body bytes) of the first HTTP response in `data`."""
    if not data:
        return None, b""
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def recv_all(sock, timeout=10):
    """One HTTP response: until its Content-Length is complete, or the close.
    (Not always the close: after a 413, nginx lingers for the unsent body.)"""
    sock.settimeout(timeout)
    data = b""
    while True:
        head, found, body = data.partition(b"\r\n\r\n")
        length = re.search(rb"(?im)^content-length:\s*(\d+)\s*$", head) if found else None
        if length and len(body) >= int(length.group(1)):
            return data
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return data
        if not chunk:
            return data
        data += chunk


def http_head(content_type, length, path=EVENTS, extra=b""):
    head = b"POST " + path.encode() + b" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
    if content_type is not None:
        head += b"Content-Type: " + (content_type if isinstance(content_type, bytes)
                                     else content_type.encode()) + b"\r\n"
    if length is not None:
        head += b"Content-Length: " + str(length).encode() + b"\r\n"
    return head + extra + b"\r\n"


class HostileTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = Stack(ENV, threads=THREADS)
        cls.pid = int(cls.stack.env["LEADHOOK_PID"])
        cls.socket_path = cls.stack.env["LEADHOOK_SOCKET"]
        cls.bodies = {}  # (case, way) -> body, the same in every pass
        cls.started = time.time()
        # One psql for the checks after every case (a process per query is slow).
        cls.psql = subprocess.Popen(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1",
                                     cls.stack.db_url], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, text=True, encoding="utf-8")

    @classmethod
    def tearDownClass(cls):
        cls.psql.stdin.close()
        cls.psql.wait(timeout=10)
        log = cls.stack.leadhook_log()
        try:
            cls.stack.stop()  # raises unless leadhook exited 0 on SIGTERM
        finally:
            sys.stderr.write("hostile catalogue: %.1f s; leadhook log, last lines:\n%s\n" % (
                time.time() - cls.started, "\n".join(log.splitlines()[-3:])))

    # --- plumbing ---------------------------------------------------------------

    def nginx_socket(self):
        """A connection to nginx, closed when the case's send() returns."""
        sock = socket.create_connection(("127.0.0.1", self.stack.port), timeout=10)
        self.opened.append(sock)
        return sock

    def fcgi_client(self, timeout=10):
        """A connection to leadhook's socket, closed when send() returns."""
        client = FastCgiClient(self.socket_path, timeout=timeout)
        self.opened.append(client)
        return client

    def send_nginx(self, case, body):
        sock = self.nginx_socket()
        sock.sendall(http_head(case.content_type, len(body), case.path) + body)
        return parse_http(recv_all(sock))

    def send_fcgi(self, case, body):
        client = self.fcgi_client()
        try:
            return client.request("POST", case.path, body=body,
                                  content_type=case.content_type or "")
        except (ConnectionClosed, ConnectionResetError, BrokenPipeError):
            return None, b""

    def send(self, case, way):
        key = (case.name, way)
        if key not in self.bodies:
            self.bodies[key] = case.body()
        body = self.bodies[key]
        custom = case.send_nginx if way == "nginx" else case.send_fcgi
        self.opened = []
        try:
            if custom:
                return custom(self, body)
            return (self.send_nginx if way == "nginx" else self.send_fcgi)(case, body)
        finally:
            for connection in self.opened:
                connection.close()

    @staticmethod
    def answer_text(expect, status, data):
        """What to look for the fragment in: leadhook's error (or status), or
        nginx's page."""
        if expect.layer == NGINX or not data:
            return data.decode("latin-1")
        try:
            reply = json.loads(data)
        except ValueError:
            return data.decode("latin-1")
        return reply["error"] if "error" in reply else json.dumps(reply)

    def served_meanwhile(self):
        """Other requests are answered at once, through nginx and on a fresh
        FastCGI connection (stores nothing, unlike probe())."""
        started = time.time()
        self.assertEqual(self.stack.request("GET", "/api/v1/health")[0], 200)
        client = FastCgiClient(self.socket_path, timeout=5)
        try:
            self.assertEqual(client.request("GET", "/api/v1/health", keep=False)[0], 200)
        finally:
            client.close()
        self.assertLess(time.time() - started, 2, "a slow client held up other requests")

    def query(self, sql):
        """The first column of the first row of `sql` (no parameters), or None."""
        self.psql.stdin.write(sql + ";\n\\echo --end--\n")
        self.psql.stdin.flush()
        lines = []
        while True:
            line = self.psql.stdout.readline()
            self.assertTrue(line, "psql exited")
            if line.rstrip("\n") == "--end--":
                return lines[0] if lines else None
            lines.append(line.rstrip("\n"))

    def event_count(self):
        return int(self.query("SELECT count(*) FROM lead_email_events"))

    def probe(self):
        """leadhook keeps serving: a valid signed webhook is stored."""
        status, _, reply = self.stack.post(EVENTS, signed_json(recipient="probe@example.com"))
        self.assertEqual(status, 200, "a valid webhook after the case: %r" % (reply,))

    def run_case(self, case, way):
        expect = getattr(case, way)
        before = self.event_count()
        status, data = self.send(case, way)
        after = self.event_count()
        last_recipient = expect.recipient and self.query(
            "SELECT recipient FROM lead_email_events ORDER BY id DESC LIMIT 1")
        self.probe()
        text = self.answer_text(expect, status, data)
        self.assertEqual(status, expect.status, "%s via %s answered %r" % (case.name, way, text))
        self.assertIn(expect.fragment.lower(), text.lower(), "%s via %s" % (case.name, way))
        if status is not None and expect.layer == NGINX:
            self.assertNotIn(b'"error"', data, "nginx itself answers, not leadhook")
        self.assertEqual(after - before, expect.stored,
                         "events stored by %s via %s (refused: none)" % (case.name, way))
        if expect.recipient is not None:
            self.assertEqual(last_recipient, expect.recipient)

    def rss_kib(self):
        with open("/proc/%d/status" % self.pid) as f:
            return int(re.search(r"^VmRSS:\s+(\d+) kB", f.read(), re.M).group(1))

    # --- the memory check and the log, after every case ---------------------------

    def test_zy_memory_does_not_grow_over_repeated_passes(self):
        if "ASAN_OPTIONS" in os.environ:  # -DLEADHOOK_SANITIZE=ON
            self.skipTest("under AddressSanitizer freed memory waits in its quarantine: "
                          "RSS says nothing about leaks there (LeakSanitizer does)")
        # The case tests above were the first pass (when run alone, this runs it).
        if len(self.bodies) < sum((c.nginx is not None) + (c.fcgi is not None) for c in CASES):
            self.run_pass()
        first = self.rss_kib()
        started = time.time()
        for _ in range(REPEAT_PASSES):
            self.run_pass()
        self.probe()
        last = self.rss_kib()
        sys.stderr.write("\nleadhook VmRSS after the first pass %d KiB, after %d more passes "
                         "%d KiB (%+d KiB; %.1f s)\n" % (first, REPEAT_PASSES, last, last - first,
                                                        time.time() - started))
        self.assertLessEqual(last, first + max(first // 10, 4096),
                             "leadhook's memory grew over the repeated passes")

    def run_pass(self):
        """Every case again, the same bodies; statuses checked."""
        for case in CASES:
            for way in ("nginx", "fcgi"):
                expect = getattr(case, way)
                if expect is None:
                    continue
                status, data = self.send(case, way)
                self.assertEqual(status, expect.status, "%s via %s, a later pass: %r"
                                 % (case.name, way, data[:200]))

    def test_zz_log_has_no_crash_and_the_process_is_the_same(self):
        self.probe()
        with open("/proc/%d/stat" % self.pid) as f:  # the leadhook the stack started
            self.assertNotEqual(f.read().rsplit(") ", 1)[1][0], "Z", "leadhook died")
        bad = [line for line in self.stack.leadhook_log().splitlines() if CRASH_WORDS.search(line)]
        self.assertEqual(bad, [], "crash or error lines in leadhook's log")


# --- custom senders ------------------------------------------------------------------

def nginx_body_cut_short(test, body):
    """Content-Length promises more than is sent, then the client stops
    writing: nginx never passes the request on."""
    sock = test.nginx_socket()
    sock.sendall(http_head(JSON, len(body) + 100) + body)
    sock.shutdown(socket.SHUT_WR)
    return parse_http(recv_all(sock))


def nginx_length_too_short(test, body):
    """Content-Length covers half the body: nginx passes that half on (the rest
    would be the next request, but the connection closes after the answer)."""
    sock = test.nginx_socket()
    sock.sendall(http_head(JSON, len(body) // 2) + body)
    return parse_http(recv_all(sock))


def nginx_over_its_limit(test, body):
    """Announces 30 MiB (nginx allows 25m) and sends none of it."""
    sock = test.nginx_socket()
    sock.sendall(http_head(JSON, 30 << 20))
    return parse_http(recv_all(sock))


def nginx_header(content_type):
    def send(test, body):
        sock = test.nginx_socket()
        sock.sendall(http_head(content_type, len(body)) + body)
        return parse_http(recv_all(sock))
    return send


def nginx_path(raw_path):
    def send(test, body):
        sock = test.nginx_socket()
        sock.sendall(http_head(JSON, len(body), raw_path) + body)
        return parse_http(recv_all(sock))
    return send


def nginx_slow_body(test, body):
    """The body in 6 pieces 0.1 s apart; meanwhile another webhook is served."""
    sock = test.nginx_socket()
    sock.sendall(http_head(JSON, len(body)))
    pieces = [body[i:i + len(body) // 6 + 1] for i in range(0, len(body), len(body) // 6 + 1)]
    for i, piece in enumerate(pieces):
        sock.sendall(piece)
        if i == 1:
            test.served_meanwhile()
        time.sleep(0.1)
    return parse_http(recv_all(sock))


def nginx_stalled_clients(test, body):
    """More stalled uploads than leadhook has threads: nginx holds them, and
    leadhook serves others at once. The stalled ones are then abandoned."""
    socks = []
    for _ in range(THREADS + 4):
        sock = test.nginx_socket()
        sock.sendall(http_head(JSON, len(body)) + body[:len(body) // 2])
        socks.append(sock)
    test.served_meanwhile()
    for sock in socks:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()  # a reset: the clients are gone, nothing was answered
    return None, b""


def fcgi_length(declared):
    """The whole body on FCGI_STDIN, CONTENT_LENGTH says `declared(len)`."""
    def send(test, body):
        client = test.fcgi_client()
        try:
            return client.request("POST", EVENTS, body=body, content_type=JSON,
                                  content_length=declared(len(body)))
        except (ConnectionClosed, ConnectionResetError, BrokenPipeError):
            return None, b""
    return send


def fcgi_stdin_unterminated(test, body):
    """The whole body, but FCGI_STDIN never ends: the web server went away
    (EOF) before the empty STDIN record."""
    client = test.fcgi_client()
    client.sock.sendall(FastCgiClient.request_head("POST", EVENTS, JSON,
                                                   content_length=len(body) + 64)
                        + fcgi_record(STDIN, body))
    client.sock.shutdown(socket.SHUT_WR)
    try:
        return client.read_response()
    except (ConnectionClosed, ConnectionResetError):
        return None, b""


def fcgi_param(name, value, content_type=JSON):
    def send(test, body):
        client = test.fcgi_client()
        try:
            return client.request("POST", EVENTS, body=body, content_type=content_type,
                                  params={name: value})
        except (ConnectionClosed, ConnectionResetError, BrokenPipeError):
            return None, b""
    return send


def fcgi_raw(data, then_request=False, half_close=False):
    """Sends raw bytes on a fresh FastCGI connection (then stops writing, with
    half_close). Without then_request: (None, b"") if leadhook hangs up
    without a word, else its answer (a hang fails on the client's timeout).
    With it: a valid request follows on the same connection, and its answer
    is returned."""
    def send(test, body):
        client = test.fcgi_client()
        if not then_request:
            client.sock.sendall(data)
            if half_close:
                client.sock.shutdown(socket.SHUT_WR)
            try:
                answer = client.read_response()
            except (ConnectionClosed, ConnectionResetError):
                return None, b""
            test.assertTrue(client.closed_by_peer(), "a connection that sent garbage is closed")
            return answer
        client.sock.sendall(data)
        try:
            status, reply = client.request("POST", EVENTS, body=body, content_type=JSON)
        except (ConnectionClosed, ConnectionResetError, BrokenPipeError):
            return None, b""
        test.last_other_records = list(client.other_records)
        return status, reply
    return send


def fcgi_management_then_request(test, body):
    """FCGI_GET_VALUES and a record of an unknown type (request id 0), then a
    request: leadhook answers both management records and serves the request."""
    get_values = fcgi_name_value(b"FCGI_MAX_CONNS", b"") + fcgi_name_value(b"FCGI_BOGUS", b"")
    status, reply = fcgi_raw(fcgi_record(GET_VALUES, get_values, request_id=0)
                             + fcgi_record(99, request_id=0), then_request=True)(test, body)
    kinds = [kind for kind, _, _ in test.last_other_records]
    test.assertEqual(kinds, [GET_VALUES_RESULT, UNKNOWN_TYPE], "the management answers")
    return status, reply


def fcgi_multiplexed(test, body):
    """A second FCGI_BEGIN_REQUEST (id 2) in the middle of request 1: refused
    with FCGI_CANT_MPX_CONN, and request 1 is served."""
    client = test.fcgi_client()
    begin2 = fcgi_record(BEGIN_REQUEST, struct.pack(">HB5x", 1, 1), request_id=2)
    client.sock.sendall(FastCgiClient.request_head("POST", EVENTS, JSON, content_length=len(body))
                        + begin2 + fcgi_stream(STDIN, body))
    status, reply = client.read_response(request_id=1)
    ends = [(rid, content[4]) for kind, rid, content in client.other_records
            if kind == END_REQUEST]
    test.assertEqual(ends, [(2, CANT_MPX_CONN)])
    return status, reply


def fcgi_slow_body(test, body):
    """FCGI_STDIN in 6 records 0.1 s apart; meanwhile another webhook is served."""
    client = test.fcgi_client()
    client.sock.sendall(FastCgiClient.request_head("POST", EVENTS, JSON,
                                                   content_length=len(body)))
    step = len(body) // 6 + 1
    for i, start in enumerate(range(0, len(body), step)):
        client.sock.sendall(fcgi_record(STDIN, body[start:start + step]))
        if i == 1:
            test.served_meanwhile()
        time.sleep(0.1)
    client.sock.sendall(fcgi_record(STDIN))
    return client.read_response()


def fcgi_many_params(test, body):
    """5,000 extra FastCGI parameters (nginx sends about 20)."""
    extra = {"HTTP_X_HOSTILE_%d" % i: "v" * 20 for i in range(5000)}
    client = test.fcgi_client()
    return client.request("POST", EVENTS, body=body, content_type=JSON, params=extra)


def begin(role=1, flags=1, length=8, request_id=1):
    return fcgi_record(BEGIN_REQUEST, struct.pack(">HB5x", role, flags)[:length].ljust(length,
                                                                                       b"\0"),
                       request_id)


def bad_params(encoded):
    return begin() + fcgi_stream(PARAMS, encoded)


RNG = random.Random(7)
RANDOM_BYTES = b"\xfe" + bytes(RNG.randrange(256) for _ in range(4095))

def stored(recipient=None):
    """Stored (no lead matches these addresses): answered 200 "unmatched"."""
    return Expect(200, '"event": "delivered"', stored=1, recipient=recipient)


def refused(status, fragment, layer=LEADHOOK):
    return Expect(status, fragment, layer)


CLOSED = Expect(None, "", LEADHOOK)  # leadhook hangs up without an answer
# CONTENT_LENGTH and the body disagree, or the body stream breaks off: the
# FastCGI spec (6.2) says a responder must not handle it as whole.
LENGTH_MISMATCH = Expect(400, "CONTENT_LENGTH")

CASES = [
    # --- truncated bodies -----------------------------------------------------------
    Case("truncated_json", "truncated body",
         **both(refused(406, "body is not valid JSON")),
         body=lambda: signed_json()[:-40]),
    Case("truncated_urlencoded", "truncated body",
         **both(refused(406, "truncated percent-escape at byte offset")),
         content_type=FORM,  # cut in the middle of the recipient's %40
         body=lambda: (lambda b: b[:b.index(b"%40") + 2])(signed_form())),
    Case("truncated_multipart_headers", "truncated body",
         **both(refused(406, "ended before the closing boundary")),
         content_type=MULTIPART,
         body=lambda: signed_multipart()[:60]),
    Case("nginx_body_shorter_than_content_length", "truncated body / lying Content-Length",
         nginx=Expect(None, "", NGINX), fcgi=None,
         body=signed_json, send_nginx=nginx_body_cut_short),
    Case("fcgi_stdin_ends_in_eof", "truncated body",
         nginx=None, fcgi=LENGTH_MISMATCH, body=signed_json, send_fcgi=fcgi_stdin_unterminated),
    # --- oversized bodies -------------------------------------------------------------
    Case("over_max_body_bytes", "oversized body",
         **both(refused(413, "too large")),
         body=lambda: signed_json(pad="x" * MAX_BODY)),
    Case("over_nginx_client_max_body_size", "oversized body",
         nginx=refused(413, "413 Request Entity Too Large", NGINX), fcgi=None,
         send_nginx=nginx_over_its_limit),
    Case("fcgi_oversized_body_under_a_small_content_length", "oversized body / lying length",
         # Read no further than CONTENT_LENGTH allows (the bytes in flight
         # were admitted by it): longer is a body not as declared.
         nginx=None, fcgi=LENGTH_MISMATCH,
         body=lambda: signed_json(pad="x" * MAX_BODY), send_fcgi=fcgi_length(lambda n: 100)),
    # --- a Content-Length that lies --------------------------------------------------
    Case("nginx_content_length_half_the_body", "lying Content-Length",
         nginx=refused(406, "body is not valid JSON"), fcgi=None,
         body=signed_json, send_nginx=nginx_length_too_short),
    Case("fcgi_content_length_longer_than_body", "lying Content-Length",
         nginx=None, fcgi=LENGTH_MISMATCH, body=signed_json,
         send_fcgi=fcgi_length(lambda n: n + 100)),
    Case("fcgi_content_length_shorter_than_body", "lying Content-Length",
         nginx=None, fcgi=LENGTH_MISMATCH, body=signed_json,
         send_fcgi=fcgi_length(lambda n: n // 2)),
    Case("fcgi_content_length_not_a_number", "lying Content-Length",
         nginx=None, fcgi=LENGTH_MISMATCH, body=signed_json,
         send_fcgi=fcgi_length(lambda n: "12x")),
    # --- invalid percent-encoding ----------------------------------------------------
    Case("percent_not_hex", "invalid percent-encoding",
         **both(refused(406, "percent-escape not followed by two hex digits at byte offset 11")),
         content_type=FORM, body=lambda: signed_form(b"recipient=a%zz@example.com")),
    Case("percent_at_the_end", "invalid percent-encoding",
         **both(refused(406, "truncated percent-escape")),
         content_type=FORM, body=lambda: signed_form() + b"&note=%"),
    Case("percent_bad_in_a_name", "invalid percent-encoding",
         **both(refused(406, "percent-escape not followed by two hex digits at byte offset 0")),
         content_type=FORM, body=lambda: signed_form(b"%G1=x")),
    # --- invalid UTF-8 ---------------------------------------------------------------
    Case("json_invalid_utf8", "invalid UTF-8",
         **both(refused(406, "body is not valid JSON")),
         body=lambda: signed_json_text(delivered_text(b', "city": "Z\xfcrich"'))),
    Case("json_lone_surrogate_escape", "invalid UTF-8",
         **both(refused(406, "body is not valid JSON")),
         body=lambda: signed_json_text(delivered_text(b', "city": "\\ud800"'))),
    Case("form_invalid_utf8_is_stored_replaced", "invalid UTF-8",
         **both(stored("\ufffd\ufffdx@example.com")),
         content_type=FORM,
         body=lambda: signed_form(b"recipient=%FF%FEx%40example.com",
                                  fields=(("event", "delivered"),))),
    Case("multipart_invalid_utf8_is_stored_replaced", "invalid UTF-8",
         **both(stored("\ufffd(y@example.com")),
         content_type=MULTIPART,
         body=lambda: signed_multipart(fields=(("event", "delivered"),),
                                       raw_parts=part(b"recipient", b"\xc3(y@example.com"))),
    Case("content_type_invalid_utf8", "invalid UTF-8",
         **both(refused(406, "media type contains a character not allowed in a token")),
         body=signed_json, send_nginx=nginx_header(b"application/j\xffson"),
         send_fcgi=fcgi_param("CONTENT_TYPE", b"application/j\xffson")),
    Case("path_invalid_utf8", "invalid UTF-8",
         **both(refused(404, "no such route")),
         body=signed_json, send_nginx=nginx_path("/api/v1/wh/mg/%FF"),
         send_fcgi=fcgi_param("DOCUMENT_URI", b"/api/v1/wh/mg/\xff")),
    # --- multipart without a closing boundary ------------------------------------------
    Case("multipart_without_closing_boundary", "multipart without closing boundary",
         **both(refused(406, "multipart body ended before the closing boundary")),
         content_type=MULTIPART,
         body=lambda: signed_multipart().replace(b"--" + BOUNDARY.encode() + b"--\r\n", b"")),
    Case("multipart_without_any_delimiter", "multipart without closing boundary",
         **both(refused(406, "multipart body contains no boundary delimiter line")),
         content_type=MULTIPART, body=lambda: b"event=delivered\r\n" * 10),
    Case("multipart_type_without_boundary", "multipart without closing boundary",
         **both(refused(406, "multipart/form-data without a boundary")),
         content_type="multipart/form-data", body=signed_multipart),
    # --- thousands of parts -----------------------------------------------------------
    Case("multipart_2000_parts", "thousands of parts",
         **both(refused(406, "more than 200 multipart parts")),
         content_type=MULTIPART,
         body=lambda: signed_multipart(raw_parts=b"".join(part(b"p%d" % i, b"v")
                                                          for i in range(2000)))),
    Case("urlencoded_5000_fields", "thousands of parts",
         **both(refused(406, "more than 1000 form fields")),
         content_type=FORM,
         body=lambda: signed_form(*[b"f%d=v" % i for i in range(5000)])),
    Case("multipart_part_with_5000_parameters", "thousands of parts",
         **both(refused(406, "more than 32 parameters")),
         content_type=MULTIPART,
         body=lambda: signed_multipart(raw_parts=(
             b"--" + BOUNDARY.encode() + b'\r\nContent-Disposition: form-data; name="x"'
             + b"".join(b"; p%d=v" % i for i in range(5000)) + b"\r\n\r\nv\r\n"))),
    # --- deeply nested JSON -----------------------------------------------------------
    Case("json_100000_brackets", "deeply nested JSON",
         **both(refused(406, "JSON nested deeper than 64 levels")),
         body=lambda: b"[" * 100000),
    Case("json_signed_depth_65", "deeply nested JSON",
         **both(refused(406, "JSON nested deeper than 64 levels")),
         body=lambda: nested_user_variables(65)),
    Case("json_signed_depth_64_is_accepted", "deeply nested JSON",
         **both(stored("hostile@example.com")),
         body=lambda: nested_user_variables(64)),
    Case("json_brackets_inside_strings_do_not_count", "deeply nested JSON",
         **both(stored("hostile@example.com")),
         body=lambda: signed_json(note="[" * 100000)),
    Case("multipart_mailgun_variables_nested_150000_deep", "deeply nested JSON",
         # Before the fix, copying these variables recursed once per level
         # and overflowed the worker's stack: leadhook died (SIGSEGV).
         **both(stored("deep@example.com")),
         content_type=MULTIPART, body=lambda: deep_variables_multipart(150000)),
    # --- huge numbers ------------------------------------------------------------------
    Case("json_event_timestamp_1e400", "huge numbers",
         # Was "body is not valid JSON": the JSON is valid, the number is not a double.
         **both(refused(406, "JSON number out of range")),
         body=lambda: signed_json_text(
             b'{"event": "delivered", "timestamp": 1e400, "recipient": "hostile@example.com"}')),
    Case("json_number_of_100000_digits", "huge numbers",
         **both(refused(406, "JSON number out of range")),
         body=lambda: signed_json_text(delivered_text(
             b', "delivery-status": {"code": 1' + b"0" * 100000 + b'}'))),
    Case("json_integer_beyond_64_bits", "huge numbers",
         **both(stored("hostile@example.com")),
         body=lambda: signed_json_text(delivered_text(
             b', "delivery-status": {"code": 123456789012345678901234567890}'))),
    Case("json_signature_timestamp_20_digits", "huge numbers",
         **both(refused(409, "signature timestamp is not whole Unix seconds")),
         body=lambda: json_webhook(event_data(), timestamp="99999999999999999999")),
    Case("form_signature_timestamp_1e999", "huge numbers",
         **both(refused(409, "signature timestamp is not whole Unix seconds")),
         content_type=FORM,
         body=lambda: form_webhook([("event", "delivered"), ("recipient", "hostile@example.com")],
                                   timestamp="1e999")),
    # --- values longer than Mailgun sends ----------------------------------------------------
    Case("json_signed_token_of_3000_bytes", "values longer than Mailgun sends",
         # Was 500 on every retry: PostgreSQL refused the ledger's index row (54000).
         **both(refused(406, "token is 3000 bytes, longer than Mailgun sends")),
         body=lambda: json_webhook(event_data(), token=os.urandom(1500).hex())),
    Case("form_signed_token_of_3000_bytes", "values longer than Mailgun sends",
         **both(refused(406, "token is 3000 bytes, longer than Mailgun sends")),
         content_type=FORM,
         body=lambda: form_webhook([("event", "delivered"), ("recipient", "hostile@example.com")],
                                   token=os.urandom(1500).hex())),
    Case("json_message_id_of_3000_bytes", "values longer than Mailgun sends",
         **both(refused(406, "Message-Id is 3000 bytes, longer than Mailgun sends")),
         body=lambda: signed_json(message={"headers": {"message-id": "m" * 3000}})),
    Case("json_event_id_of_1000_bytes", "values longer than Mailgun sends",
         **both(refused(406, "event id is 1000 bytes, longer than Mailgun sends")),
         body=lambda: json_webhook(event_data(id="e" * 1000))),
    Case("multipart_error_of_70000_bytes", "values longer than Mailgun sends",
         **both(refused(406, "error is 70000 bytes, longer than Mailgun sends")),
         content_type=MULTIPART, body=lambda: signed_multipart(
             fields=(("event", "bounced"), ("recipient", "hostile@example.com"),
                     ("error", "x" * 70000)))),
    # --- NUL bytes ----------------------------------------------------------------------
    Case("form_nul_in_a_value_is_stored_replaced", "NUL bytes",
         **both(stored("a\ufffdb@example.com")),
         content_type=FORM,
         body=lambda: form_webhook([("event", "delivered"), ("recipient", "a\0b@example.com")])),
    Case("json_escaped_nul_is_stored_replaced", "NUL bytes",
         **both(stored("c\ufffdd@example.com")),
         body=lambda: signed_json(recipient="c\0d@example.com")),
    Case("json_raw_nul_in_a_string", "NUL bytes",
         **both(refused(406, "body is not valid JSON")),
         body=lambda: signed_json_text(delivered_text(b', "city": "a\0b"'))),
    Case("multipart_nul_in_a_field_name", "NUL bytes",
         **both(refused(406, "control character in quoted string")),
         content_type=MULTIPART,
         body=lambda: signed_multipart(raw_parts=part(b"a\0b", b"v"))),
    Case("multipart_nul_in_a_value_is_stored_replaced", "NUL bytes",
         **both(stored("e\ufffdf@example.com")),
         content_type=MULTIPART,
         body=lambda: signed_multipart(fields=(("event", "delivered"),),
                                       raw_parts=part(b"recipient", b"e\0f@example.com"))),
    Case("nul_in_the_content_type_header", "NUL bytes",
         nginx=refused(400, "400 Bad Request", NGINX), fcgi=None,
         body=signed_json, send_nginx=nginx_header(b"application/json\0x")),
    # --- duplicate and conflicting fields --------------------------------------------------
    Case("json_repeated_key", "duplicate fields",
         **both(refused(406, 'JSON object repeats the key "event"')),
         body=lambda: signed_json_text(delivered_text(b', "event": "complained"'))),
    Case("json_repeated_signature_object", "duplicate fields",
         **both(refused(406, 'JSON object repeats the key "signature"')),
         body=lambda: signed_json()[:-1] + b', "signature": '
         + json.dumps(signature_block()).encode() + b'}'),
    Case("form_repeated_event_first_wins", "duplicate fields",
         # Mailgun sends its own value first (README): delivered, not complained.
         **both(stored("first@example.com")),
         content_type=FORM,
         body=lambda: form_webhook([("event", "delivered"), ("recipient", "first@example.com"),
                                    ("event", "complained"), ("recipient", "x@example.com")])),
    Case("form_repeated_signature_last_wins", "duplicate fields",
         **both(stored("hostile@example.com")),
         content_type=FORM,
         body=lambda: signed_form(b"timestamp=1&token=forged&signature=00")),
    Case("form_signature_spoiled_by_a_later_copy", "duplicate fields",
         **both(refused(409, "signature does not verify with any current key")),
         content_type=FORM,
         body=lambda: signed_form() + b"&signature=" + b"0" * 64),
    Case("multipart_repeated_content_disposition", "duplicate fields",
         **both(refused(406, "repeated Content-Disposition header")),
         content_type=MULTIPART,
         body=lambda: signed_multipart(raw_parts=(
             b"--" + BOUNDARY.encode() + b'\r\nContent-Disposition: form-data; name="a"\r\n'
             b'Content-Disposition: form-data; name="event"\r\n\r\ncomplained\r\n'))),
    Case("multipart_repeated_name_parameter", "duplicate fields",
         **both(refused(406, "repeated parameter 'name'")),
         content_type=MULTIPART,
         body=lambda: signed_multipart(raw_parts=(
             b"--" + BOUNDARY.encode() + b'\r\nContent-Disposition: form-data; name="a"; '
             b'name="event"\r\n\r\ncomplained\r\n'))),
    Case("content_type_repeated_boundary", "conflicting fields",
         **both(refused(406, "repeated parameter 'boundary'")),
         content_type=MULTIPART + "; boundary=other", body=signed_multipart),
    Case("json_body_labelled_urlencoded", "conflicting fields",
         **both(refused(406, "field name longer than 256 bytes")),
         content_type=FORM, body=signed_json),
    Case("form_body_labelled_json", "conflicting fields",
         **both(refused(406, "body is not valid JSON")),
         body=lambda: form_webhook([("event", "delivered")])),
    Case("json_event_data_not_an_object", "conflicting fields",
         **both(refused(406, "JSON body has no event-data object")),
         body=lambda: signed_json_text(b'"delivered"')),
    # --- an empty body with each content type --------------------------------------------
    Case("empty_json", "empty body",
         **both(refused(406, "request body is empty")), content_type=JSON),
    Case("empty_urlencoded", "empty body",
         **both(refused(406, "request body is empty")), content_type=FORM),
    Case("empty_multipart", "empty body",
         **both(refused(406, "request body is empty")), content_type=MULTIPART),
    Case("empty_multipart_without_boundary", "empty body",
         **both(refused(406, "request body is empty")), content_type="multipart/form-data"),
    Case("empty_text_plain", "empty body",
         **both(refused(406, "unsupported Content-Type text/plain")), content_type="text/plain"),
    Case("empty_without_content_type", "empty body",
         **both(refused(406, "missing Content-Type")), content_type=None),
    # --- garbage FastCGI records -----------------------------------------------------
    Case("fcgi_http_request_instead", "garbage FastCGI records",
         nginx=None, fcgi=CLOSED,
         send_fcgi=fcgi_raw(b"POST /api/v1/wh/mg/events HTTP/1.1\r\nHost: x\r\n\r\n")),
    Case("fcgi_random_bytes", "garbage FastCGI records",
         nginx=None, fcgi=CLOSED, send_fcgi=fcgi_raw(RANDOM_BYTES)),
    Case("fcgi_version_2_record", "garbage FastCGI records",
         nginx=None, fcgi=CLOSED,
         send_fcgi=fcgi_raw(b"\x02" + begin()[1:] + fcgi_stream(PARAMS, b""))),
    Case("fcgi_begin_request_of_wrong_length", "garbage FastCGI records",
         nginx=None, fcgi=CLOSED, send_fcgi=fcgi_raw(begin(length=5))),
    Case("fcgi_unknown_role", "garbage FastCGI records",
         nginx=None, fcgi=CLOSED,
         send_fcgi=fcgi_raw(begin(role=77) + fcgi_stream(PARAMS, b""))),
    Case("fcgi_params_longer_than_their_stream", "garbage FastCGI records",
         nginx=None, fcgi=CLOSED,
         send_fcgi=fcgi_raw(bad_params(b"\x7f\x05REQUEST"))),
    Case("fcgi_params_lengths_of_2_gib", "garbage FastCGI records",
         # CVE-2025-23016 (fixed in Debian's libfcgi 2.4.2-2+deb12u1).
         nginx=None, fcgi=CLOSED,
         send_fcgi=fcgi_raw(bad_params(b"\xff\xff\xff\xff\xff\xff\xff\xff" + b"x" * 64))),
    Case("fcgi_stdout_record_inside_params", "garbage FastCGI records",
         # A web server never sends FCGI_STDOUT: not a stream to answer.
         nginx=None, fcgi=CLOSED,
         send_fcgi=fcgi_raw(begin() + fcgi_record(STDOUT, b"x" * 8))),
    Case("fcgi_eof_inside_a_record_header", "garbage FastCGI records",
         nginx=None, fcgi=CLOSED, send_fcgi=fcgi_raw(b"\x01\x01\x00", half_close=True)),
    Case("fcgi_stray_stdin_record_then_a_request", "garbage FastCGI records",
         # A stream record for a request never begun is skipped.
         nginx=None, fcgi=stored("hostile@example.com"), body=signed_json,
         send_fcgi=fcgi_raw(fcgi_record(STDIN, b"{}", request_id=9), then_request=True)),
    Case("fcgi_management_records_then_a_request", "garbage FastCGI records",
         nginx=None, fcgi=stored("hostile@example.com"), body=signed_json,
         send_fcgi=fcgi_management_then_request),
    Case("fcgi_second_begin_request_multiplexed", "garbage FastCGI records",
         nginx=None, fcgi=stored("hostile@example.com"), body=signed_json,
         send_fcgi=fcgi_multiplexed),
    Case("fcgi_5000_params", "garbage FastCGI records",
         nginx=None, fcgi=stored("hostile@example.com"), body=signed_json,
         send_fcgi=fcgi_many_params),
    # --- slow clients ---------------------------------------------------------------------
    Case("slow_body", "slow client",
         **both(stored("hostile@example.com")), body=lambda: signed_json(pad="s" * 20000),
         send_nginx=nginx_slow_body, send_fcgi=fcgi_slow_body),
    Case("stalled_clients_through_nginx", "slow client",
         nginx=Expect(None, "", NGINX), fcgi=None, body=signed_json,
         send_nginx=nginx_stalled_clients),
]


def make_test(case, way):
    def test(self):
        self.run_case(case, way)
    expect = getattr(case, way)
    test.__doc__ = "%s (%s) via %s: %s from %s" % (case.name, case.item, way,
                                                 expect.status or "no answer", expect.layer)
    return test


for index, case in enumerate(CASES):
    for way in ("nginx", "fcgi"):
        if getattr(case, way) is not None:
            setattr(HostileTests, "test_%02d_%s_via_%s" % (index, case.name, way),
                    make_test(case, way))


if __name__ == "__main__":
    unittest.main(verbosity=2)
