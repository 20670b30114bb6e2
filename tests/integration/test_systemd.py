#!/usr/bin/env python3
"""Integration: leadhook under systemd's protocols, without systemd as PID 1.

- socket activation through systemd-socket-activate (the systemd package's
  stand-in for a .socket unit), answered over FastCGI with cgi-fcgi;
- sd_notify (READY, STATUS, RELOADING, STOPPING, WATCHDOG) to a datagram
  socket of our own given as NOTIFY_SOCKET;
- syslog priority prefixes when $JOURNAL_STREAM names leadhook's stderr;
- and that a listening socket's receive timeout (which systemd's socket may
  still carry from an older leadhook) is not inherited by TCP connections.

No database: the routes used here never touch it, and leadhook starts
without one (it only warns).
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

REPO = os.environ.get("LEADHOOK_REPO") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("LEADHOOK_BIN", os.path.join(REPO, "build", "src", "leadhook"))
KEY = "leadhook-systemd-test-key"


def tool(name):
    path = shutil.which(name, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")
    if not path:
        raise RuntimeError("%s not found (scripts/lib/deps.sh installs it)" % name)
    return path


def base_env(**extra):
    """A clean environment for leadhook: no systemd variables of the caller's."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
           "LEADHOOK_SIGNING_KEYS": KEY,
           # Never reachable, and fails at once: no database is needed here.
           "LEADHOOK_DATABASE_URL": "host=/nonexistent/leadhook-test dbname=none",
           "LEADHOOK_THREADS": "2"}
    env.update(extra)
    return env


def fastcgi_get(sock_path, path):
    """GET `path` over FastCGI on the unix socket: (status line, body text)."""
    env = {"REQUEST_METHOD": "GET", "DOCUMENT_URI": path, "REQUEST_URI": path,
           "SCRIPT_NAME": path, "SERVER_PROTOCOL": "HTTP/1.1", "PATH": os.environ["PATH"]}
    result = subprocess.run([tool("cgi-fcgi"), "-bind", "-connect", sock_path], env=env,
                            capture_output=True, timeout=20)
    head, _, body = result.stdout.decode(errors="replace").partition("\r\n\r\n")
    return head.split("\r\n")[0] if head else "", body


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class NotifySocket:
    """What systemd listens on for sd_notify(): an AF_UNIX datagram socket."""

    def __init__(self, directory):
        self.path = os.path.join(directory, "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.messages = []

    def wait_for(self, key, timeout=15):
        """The first message not yet seen that assigns `key`, as a dict."""
        deadline = time.time() + timeout
        while True:
            for i, message in enumerate(self.messages):
                if key in message:
                    del self.messages[:i + 1]
                    return message
            left = deadline - time.time()
            if left <= 0:
                raise AssertionError("no %s= from leadhook within %ds (got %r)"
                                     % (key, timeout, self.messages))
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(4096).decode()
            except socket.timeout:
                continue
            self.messages.append(dict(line.split("=", 1) for line in data.splitlines()
                                      if "=" in line))

    def close(self):
        self.sock.close()


class SystemdTests(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="leadhook-systemd-")
        self.log_path = os.path.join(self.dir, "leadhook.log")
        self.procs = []

    def tearDown(self):
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
        if not os.environ.get("LEADHOOK_KEEP_TEST_DIRS"):
            shutil.rmtree(self.dir, ignore_errors=True)

    def start(self, argv, env):
        with open(self.log_path, "ab") as log:
            proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL,
                                    stdout=log, stderr=log)
        self.procs.append(proc)
        return proc

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def wait_for_log(self, text, timeout=15):
        deadline = time.time() + timeout
        while text not in self.log():
            if time.time() > deadline:
                self.fail("log never said %r:\n%s" % (text, self.log()))
            time.sleep(0.05)

    def stop(self, proc, expect=0):
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(proc.wait(timeout=20), expect, self.log())

    def socket_activated(self, sockets, **env):
        """leadhook under systemd-socket-activate, listening on `sockets`."""
        argv = [tool("systemd-socket-activate")]
        for path in sockets:
            argv += ["-l", path]
        for name, value in base_env(**env).items():
            argv += ["-E", "%s=%s" % (name, value)]
        proc = self.start(argv + [BIN, "serve"], os.environ.copy())
        deadline = time.time() + 10
        while not all(os.path.exists(p) for p in sockets):
            self.assertIsNone(proc.poll(), self.log())
            self.assertLess(time.time(), deadline, "systemd-socket-activate did not listen")
            time.sleep(0.05)
        return proc

    def test_socket_activation_serves_on_systemds_socket_and_leaves_it_alone(self):
        sock = os.path.join(self.dir, "activated.sock")
        # An address leadhook could not bind: it must not try.
        proc = self.socket_activated([sock], LEADHOOK_LISTEN="unix:/nonexistent-dir/x.sock")
        status, body = fastcgi_get(sock, "/api/v1/health")  # the first connection starts it
        self.assertEqual(status, "Status: 200 OK", self.log())
        self.assertIn('"ok"', body)
        self.assertIn('msg="listening on the socket systemd passed" socket=unix:%s' % sock,
                      self.log())
        self.assertEqual(fastcgi_get(sock, "/api/v1/index")[0], "Status: 200 OK")
        self.stop(proc)
        # systemd owns the socket: leadhook neither unlinks nor shuts it down.
        self.assertTrue(os.path.exists(sock), "leadhook removed systemd's socket")
        self.assertIn("leadhook stopped", self.log())

    def test_more_than_one_passed_socket_is_refused(self):
        socks = [os.path.join(self.dir, "a.sock"), os.path.join(self.dir, "b.sock")]
        proc = self.socket_activated(socks)
        fastcgi_get(socks[0], "/api/v1/health")  # starts leadhook, which refuses
        self.assertEqual(proc.wait(timeout=20), 1, self.log())
        self.assertIn("systemd passed 2 sockets; leadhook serves exactly one", self.log())

    def test_notify_ready_reload_watchdog_and_stopping(self):
        notify = NotifySocket(self.dir)
        self.addCleanup(notify.close)
        sock = os.path.join(self.dir, "leadhook.sock")
        keys = os.path.join(self.dir, "keys")
        with open(keys, "w") as f:
            f.write(KEY + " label=test\n")
        os.chmod(keys, 0o600)
        env = base_env(NOTIFY_SOCKET=notify.path, WATCHDOG_USEC="2000000",
                       LEADHOOK_LISTEN="unix:" + sock, LEADHOOK_SIGNING_KEY_FILE=keys)
        del env["LEADHOOK_SIGNING_KEYS"]
        proc = self.start([BIN, "serve"], env)
        ready = notify.wait_for("READY")
        self.assertEqual(ready["READY"], "1")
        self.assertEqual(ready["STATUS"], "serving on unix:%s, 2 workers, 2 writers" % sock)
        self.assertEqual(fastcgi_get(sock, "/api/v1/health")[0], "Status: 200 OK")
        # WatchdogSec=2s: a ping every second while the workers are alive.
        self.assertEqual(notify.wait_for("WATCHDOG", timeout=5)["WATCHDOG"], "1")
        self.assertEqual(notify.wait_for("WATCHDOG", timeout=5)["WATCHDOG"], "1")

        proc.send_signal(signal.SIGHUP)
        reloading = notify.wait_for("RELOADING")
        self.assertEqual(reloading["RELOADING"], "1")
        self.assertIn("MONOTONIC_USEC", reloading)
        self.assertEqual(notify.wait_for("READY")["STATUS"],
                         "serving on unix:%s, 2 workers, 2 writers; reload 1 applied" % sock)

        with open(keys, "w") as f:
            f.write("# no key left\n")
        proc.send_signal(signal.SIGHUP)
        notify.wait_for("RELOADING")
        failed = notify.wait_for("READY")
        self.assertIn("; reload 2 failed: %s: no signing key in the file" % keys,
                      failed["STATUS"])
        self.assertNotIn(KEY, failed["STATUS"])

        proc.send_signal(signal.SIGTERM)
        stopping = notify.wait_for("STOPPING")
        self.assertEqual(stopping["STOPPING"], "1")
        self.assertIn("stopping", stopping["STATUS"])
        self.assertEqual(proc.wait(timeout=20), 0, self.log())
        self.assertFalse(os.path.exists(sock), "leadhook left its own socket behind")

    def run_with_journal_stream(self, journal_stream):
        """Serves briefly with stderr on the log file; returns the log lines."""
        env = base_env(LEADHOOK_LISTEN="unix:" + os.path.join(self.dir, "j.sock"))
        with open(self.log_path, "ab") as log:
            st = os.fstat(log.fileno())
            env["JOURNAL_STREAM"] = journal_stream(st)
            proc = subprocess.Popen([BIN, "serve"], env=env, stdin=subprocess.DEVNULL,
                                    stdout=log, stderr=log)
        self.procs.append(proc)
        self.wait_for_log("database not reachable yet")  # a warning, once per worker
        self.stop(proc)
        return self.log().splitlines()

    def test_lines_to_journald_carry_syslog_priorities(self):
        lines = self.run_with_journal_stream(lambda st: "%d:%d" % (st.st_dev, st.st_ino))
        self.assertTrue(lines)
        for line in lines:
            level = line.split(" level=", 1)[1].split(" ", 1)[0]
            prefix = {"error": "<3>", "warn": "<4>", "info": "<6>"}[level]
            self.assertTrue(line.startswith(prefix + "ts="), line)
        self.assertTrue(any(line.startswith("<4>ts=") for line in lines), lines)
        self.assertTrue(any(line.startswith("<6>ts=") for line in lines), lines)

    def test_lines_elsewhere_have_no_prefix(self):
        # JOURNAL_STREAM inherited, but stderr was redirected since.
        lines = self.run_with_journal_stream(lambda st: "%d:%d" % (st.st_dev, st.st_ino + 1))
        self.assertTrue(lines)
        for line in lines:
            self.assertTrue(line.startswith("ts="), line)

    def test_a_slow_body_over_tcp_is_read_whole(self):
        # TCP connections inherit a listener's receive timeout unless leadhook
        # clears it; a body arriving in two parts 2 s apart would then be cut
        # short and refused for good (406) instead of 409.
        address = "127.0.0.1:%d" % free_port()
        proc = self.start([BIN, "serve"], base_env(LEADHOOK_LISTEN=address))
        self.wait_for_log("leadhook serving")
        body = (b'{"event-data": {"event": "delivered"}, "signature": '
                b'{"timestamp": "1", "token": "t", "signature": "s"}}')
        env = {"REQUEST_METHOD": "POST", "DOCUMENT_URI": "/api/v1/wh/mg/events",
               "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(body)),
               "PATH": os.environ["PATH"]}
        client = subprocess.Popen([tool("cgi-fcgi"), "-bind", "-connect", address], env=env,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        client.stdin.write(body[:20])
        client.stdin.flush()
        time.sleep(2)
        client.stdin.write(body[20:])
        client.stdin.close()
        out = client.stdout.read().decode(errors="replace")
        client.wait(timeout=10)
        self.assertTrue(out.startswith("Status: 409"), out)
        self.assertIn("signature does not verify", out)
        self.stop(proc)


if __name__ == "__main__":
    if not os.access(BIN, os.X_OK):
        sys.exit("leadhook binary not found: %s (set LEADHOOK_BIN)" % BIN)
    unittest.main(verbosity=2)
