#!/usr/bin/env python3
"""Integration: kept-alive FastCGI connections (nginx's fastcgi_keep_conn).

leadhook runs with 2 worker threads. Its dispatcher thread holds idle
connections, so:
- through nginx (upstream keepalive), many sequential and concurrent signed
  webhooks are answered 200 over a few reused connections;
- straight on the FastCGI socket, more idle kept-alive connections than
  workers leave a new connection, and each old one, answered at once;
- connections closed by the client, left without a request, sent garbage or
  sent a body over the limit leak no descriptor and log no error;
- SIGTERM with idle connections open exits at once, with status 0.
"""
import os
import signal
import socket
import struct
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from stack import Stack, Waiting, json_webhook, parse_metrics, process_running  # noqa: E402

EVENTS = "/api/v1/wh/mg/events"
THREADS = 2
MAX_BODY = 4096
ENV = {"LEADHOOK_MAX_BODY_BYTES": str(MAX_BODY)}

# FastCGI 1.0 (the spec's names): record types, the responder role, the flag.
BEGIN_REQUEST, END_REQUEST, PARAMS, STDIN, STDOUT, STDERR = 1, 3, 4, 5, 6, 7
RESPONDER, KEEP_CONN = 1, 1


class ConnectionClosed(Exception):
    pass


def fcgi_record(kind, content=b"", request_id=1):
    padding = -len(content) % 8
    return (struct.pack(">BBHHBx", 1, kind, request_id, len(content), padding) + content
            + b"\0" * padding)


def fcgi_name_value(name, value):
    def length(n):
        return struct.pack(">B", n) if n < 128 else struct.pack(">I", n | 0x80000000)
    return length(len(name)) + length(len(value)) + name + value


def fcgi_stream(kind, data):
    """A stream's records (at most 65535 bytes each), then its empty end record."""
    return b"".join(fcgi_record(kind, data[i:i + 65535])
                    for i in range(0, len(data), 65535)) + fcgi_record(kind)


class FastCgiClient:
    """One connection to leadhook's FastCGI socket, one request at a time,
    as nginx uses it: FCGI_KEEP_CONN set unless keep=False."""

    def __init__(self, path, timeout=5):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.pending = b""
        self.other_records = []

    @staticmethod
    def request_head(method, path, content_type="", keep=True, content_length=0, params=None):
        """FCGI_BEGIN_REQUEST and the whole PARAMS stream, as nginx sends them;
        `params` adds or replaces parameters (str or bytes names and values)."""
        merged = {"REQUEST_METHOD": method, "DOCUMENT_URI": path, "REQUEST_URI": path,
                  "SCRIPT_NAME": "", "PATH_INFO": path, "SERVER_PROTOCOL": "HTTP/1.1",
                  "REMOTE_ADDR": "127.0.0.1", "CONTENT_TYPE": content_type,
                  "CONTENT_LENGTH": str(content_length)}
        merged.update(params or {})

        def raw(text):
            return text if isinstance(text, bytes) else text.encode()
        begin = struct.pack(">HB5x", RESPONDER, KEEP_CONN if keep else 0)
        encoded = b"".join(fcgi_name_value(raw(k), raw(v)) for k, v in merged.items())
        return fcgi_record(BEGIN_REQUEST, begin) + fcgi_stream(PARAMS, encoded)

    def send_request(self, method, path, body=b"", content_type="", keep=True,
                     content_length=None, params=None):
        length = len(body) if content_length is None else content_length
        self.sock.sendall(self.request_head(method, path, content_type, keep, length, params)
                          + fcgi_stream(STDIN, body))

    def read_response(self, request_id=1):
        """(status, body bytes) once FCGI_END_REQUEST for `request_id` arrives.
        Records of other kinds or requests are kept in self.other_records as
        (kind, request_id, content)."""
        stdout = b""
        while True:
            kind, content, rid = self._record()
            if kind == STDOUT and rid == request_id:
                stdout += content
            elif kind == END_REQUEST and rid == request_id:
                break
            elif kind != STDERR:
                self.other_records.append((kind, rid, content))
        head, _, body = stdout.partition(b"\r\n\r\n")
        status = head.split(b"\r\n")[0]
        if not status.startswith(b"Status: "):
            raise AssertionError("no Status line: %r" % stdout[:200])
        return int(status.split()[1]), body

    def request(self, method, path, **kwargs):
        self.send_request(method, path, **kwargs)
        return self.read_response()

    def closed_by_peer(self, timeout=5):
        """Whether leadhook closes (EOF) within `timeout`, sending nothing more."""
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(1) == b""
        except socket.timeout:
            return False

    def close(self):
        self.sock.close()

    def _exact(self, n):
        while len(self.pending) < n:
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionClosed("leadhook closed the connection")
            self.pending += data
        out, self.pending = self.pending[:n], self.pending[n:]
        return out

    def _record(self):
        _, kind, request_id, length, padding = struct.unpack(">BBHHBx", self._exact(8))
        content = self._exact(length)
        self._exact(padding)
        return kind, content, request_id


def webhook(recipient):
    return json_webhook({"event": "delivered", "timestamp": time.time(),
                         "recipient": recipient})


class KeepaliveTestCase(Waiting, unittest.TestCase):
    """One stack for the whole class."""

    WAIT_SECONDS = 10

    @classmethod
    def setUpClass(cls):
        cls.stack = Stack(ENV, threads=THREADS)
        cls.stopped = False
        cls.pid = int(cls.stack.env["LEADHOOK_PID"])
        cls.socket_path = cls.stack.env["LEADHOOK_SOCKET"]

    @classmethod
    def tearDownClass(cls):
        cls.stop_stack()

    @classmethod
    def stop_stack(cls):
        if not cls.stopped:
            cls.stopped = True
            cls.stack.stop()  # raises unless leadhook exited with status 0

    def connect(self):
        client = FastCgiClient(self.socket_path)
        self.addCleanup(client.close)
        return client

    def open_fds(self):
        return len(os.listdir("/proc/%d/fd" % self.pid))

    def settled_fds(self):
        """The descriptor count once it held still for half a second (earlier
        tests' connections may still be closing)."""
        counts = []
        deadline = time.time() + 10
        while len(counts) < 10 or len(set(counts[-10:])) > 1:
            self.assertLess(time.time(), deadline, "leadhook's descriptors never settle")
            counts.append(self.open_fds())
            time.sleep(0.05)
        return counts[-1]

    def direct_metrics(self):
        """leadhook's metrics over a fresh FastCGI connection, not through nginx."""
        client = self.connect()
        status, body = client.request("GET", "/api/v1/metrics", keep=False)
        self.assertEqual(status, 200)
        return parse_metrics(body.decode())


class KeepaliveTests(KeepaliveTestCase):
    def test_nginx_reuses_its_connections_for_many_webhooks(self):
        before = self.stack.metrics()["leadhook_fastcgi_connections_accepted_total"]
        statuses = [self.stack.post(EVENTS, webhook("nginx-%d@example.com" % i))[0]
                    for i in range(100)]
        lock = threading.Lock()

        def post_many(worker):
            for i in range(25):
                recipient = "nginx-%d-%d@example.com" % (worker, i)
                status = self.stack.post(EVENTS, webhook(recipient))[0]
                with lock:
                    statuses.append(status)

        threads = [threading.Thread(target=post_many, args=(w,)) for w in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        self.assertEqual(statuses, [200] * 300)
        metrics = self.stack.metrics()
        accepted = metrics["leadhook_fastcgi_connections_accepted_total"] - before
        # About one connection per concurrent request (8), reused for the rest.
        self.assertLessEqual(accepted, 20, "connections accepted for 300 webhooks + 1 scrape")
        self.assertGreaterEqual(metrics["leadhook_fastcgi_connections_idle"], 1)
        self.assertEqual(int(self.stack.scalar(
            "SELECT count(*) FROM lead_email_events WHERE recipient LIKE 'nginx-%'")), 300)

    def test_idle_connections_do_not_pin_the_workers(self):
        idle = [self.connect() for _ in range(5 * THREADS)]
        for client in idle:
            self.assertEqual(client.request("GET", "/api/v1/health")[0], 200)
        started = time.time()
        fresh = self.connect()
        self.assertEqual(fresh.request("GET", "/api/v1/health")[0], 200)
        self.assertLess(time.time() - started, 2, "a new connection waited for a worker")
        started = time.time()
        for client in idle:  # every old connection is still open and served
            self.assertEqual(client.request("GET", "/api/v1/health")[0], 200)
        self.assertLess(time.time() - started, 2)
        self.assertGreaterEqual(self.direct_metrics()["leadhook_fastcgi_connections_idle"],
                                len(idle) + 1)
        # A webhook's body is read to its end, so the connection carries on.
        self.assertEqual(fresh.request("POST", EVENTS, body=webhook("direct@example.com"),
                                       content_type="application/json")[0], 200)
        self.assertEqual(fresh.request("GET", "/api/v1/index")[0], 200)

    def test_without_keep_conn_leadhook_closes_after_the_answer(self):
        client = self.connect()
        self.assertEqual(client.request("GET", "/api/v1/health", keep=False)[0], 200)
        self.assertTrue(client.closed_by_peer())

    def test_a_body_left_unread_closes_the_connection(self):
        # Over max_body_bytes, leadhook answers 413 without reading the body;
        # the rest of it must not be taken for the next request.
        client = self.connect()
        status, _ = client.request("POST", EVENTS, body=b"x" * (2 * MAX_BODY),
                                   content_type="application/json")
        self.assertEqual(status, 413)
        self.assertTrue(client.closed_by_peer())
        self.assertEqual(self.connect().request("GET", "/api/v1/health")[0], 200)

    def test_closed_silent_and_garbage_connections_leak_nothing(self):
        log_before = len(self.stack.leadhook_log())
        baseline = self.settled_fds()
        for _ in range(30):  # a request, then the client lets go of the kept connection
            client = FastCgiClient(self.socket_path)
            self.assertEqual(client.request("GET", "/api/v1/health")[0], 200)
            client.close()
        for _ in range(10):  # connects, never sends a request
            FastCgiClient(self.socket_path).close()
        for _ in range(5):  # not FastCGI: leadhook hangs up
            client = FastCgiClient(self.socket_path)
            client.sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            self.assertTrue(client.closed_by_peer())
            client.close()
        held = [FastCgiClient(self.socket_path) for _ in range(10)]
        for client in held:
            self.assertEqual(client.request("GET", "/api/v1/health")[0], 200)
        self.assertGreaterEqual(self.open_fds(), baseline + len(held))
        for client in held:
            client.close()
        self.wait_for("leadhook's descriptors are back to %d" % baseline,
                      lambda: self.open_fds() == baseline)
        new_lines = self.stack.leadhook_log()[log_before:]
        self.assertNotIn("level=error", new_lines)


class StopTests(KeepaliveTestCase):
    def leadhook_exited(self):
        return not process_running(self.pid)

    def test_sigterm_with_idle_connections_exits_at_once_with_status_0(self):
        idle = [self.connect() for _ in range(5 * THREADS)]
        for client in idle:
            self.assertEqual(client.request("GET", "/api/v1/health")[0], 200)
        self.assertEqual(self.stack.request("GET", "/api/v1/health")[0], 200)  # nginx's too
        started = time.time()
        os.kill(self.pid, signal.SIGTERM)
        self.wait_for("leadhook exits", self.leadhook_exited, seconds=30)
        took = time.time() - started
        self.assertLess(took, 3, "drain_timeout_seconds is 30; idle connections must not count")
        for client in idle:
            self.assertTrue(client.closed_by_peer(timeout=1))
        log = self.stack.leadhook_log()
        self.assertIn("leadhook stopped", log)
        self.assertNotIn("drain timed out", log)
        self.stop_stack()  # raises unless the exit status was 0


if __name__ == "__main__":
    unittest.main(verbosity=2)
