"""A throwaway nginx -> leadhook -> PostgreSQL stack for integration tests.

Wraps scripts/stack (the same tool ./scripts/run uses), so the tests exercise
exactly what a developer runs. Standard library only.
"""
import hashlib
import hmac
import http.client
import json
import os
import random
import secrets
import shutil
import socket
import subprocess
import tempfile
import time

REPO = os.environ.get("LEADHOOK_REPO") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
CORPUS = os.path.join(REPO, "tests", "data", "mailgun")
STACK = os.path.join(REPO, "scripts", "stack")

# The keys the corpus samples were signed with (see tests/data/mailgun/INDEX.md),
# plus one of our own for payloads the tests build.
CORPUS_KEYS = ["TEST_WEBHOOK_SIGNING_KEY", "TEST_API_KEY", "key-0p6mqbf74lb20gzq9f4dhpn9rg3zyk26"]
TEST_KEY = "leadhook-integration-test-key"


def free_port():
    """A free loopback port below the ephemeral range (32768+)."""
    for _ in range(200):
        port = random.randint(20000, 29999)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    raise RuntimeError("no free port in 20000-29999")


def sign(key, timestamp, token):
    return hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()


def json_webhook(event_data, key=TEST_KEY, timestamp=None):
    """A current-format webhook body, freshly signed."""
    timestamp = timestamp or str(int(time.time()))
    token = secrets.token_hex(25)
    return json.dumps({"signature": {"timestamp": timestamp, "token": token,
                                     "signature": sign(key, timestamp, token)},
                       "event-data": event_data}).encode()


class Stack:
    def __init__(self, extra_env=None):
        self.dir = tempfile.mkdtemp(prefix="leadhook-it-")
        self.port = free_port()
        env = dict(os.environ, **(extra_env or {}))
        binary = os.environ.get("LEADHOOK_BIN", os.path.join(REPO, "build", "src", "leadhook"))
        self._run(["start", "--dir", self.dir, "--http-port", str(self.port),
                   "--keys", ",".join(CORPUS_KEYS + [TEST_KEY]), "--bin", binary,
                   "--threads", "4"], env)
        self.env = self._read_env()
        self.db_url = self.env["LEADHOOK_DATABASE_URL"]

    def _run(self, args, env=None):
        result = subprocess.run([STACK] + args, env=env, capture_output=True, text=True,
                                timeout=120)
        if result.returncode != 0:
            raise RuntimeError("scripts/stack %s failed (%d):\n%s\n%s" % (
                args[0], result.returncode, result.stdout, result.stderr))
        return result

    def _read_env(self):
        values = {}
        with open(os.path.join(self.dir, "stack.env")) as f:
            for line in f:
                line = line.strip()
                if line and not line.startswith("#") and "=" in line:
                    key, value = line.split("=", 1)
                    values[key] = value.strip("'\"")
        return values

    def stop(self):
        """Stops everything; fails if leadhook did not exit 0 on SIGTERM. The
        state directory (logs) is removed unless LEADHOOK_KEEP_TEST_DIRS is set."""
        result = self._run(["stop", "--dir", self.dir])
        if not os.environ.get("LEADHOOK_KEEP_TEST_DIRS"):
            shutil.rmtree(self.dir, ignore_errors=True)
        return result

    def restart_leadhook(self):
        """SIGTERMs leadhook (if still running) and starts it again; raises if
        its exit status was not 0."""
        self._run(["leadhook-restart", "--dir", self.dir])
        self.env = self._read_env()

    def pg_stop(self):
        self._run(["pg-stop", "--dir", self.dir])

    def pg_start(self):
        self._run(["pg-start", "--dir", self.dir])

    def leadhook_log(self):
        path = self.env.get("LEADHOOK_LOG")
        with open(path, errors="replace") as f:
            return f.read()

    def request(self, method, path, body=b"", content_type=None, headers=None):
        """Returns (status, headers dict lower-cased, body bytes)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        hdrs = dict(headers or {})
        if content_type:
            hdrs["Content-Type"] = content_type
        conn.request(method, path, body=body, headers=hdrs)
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data

    def post(self, path, body, content_type="application/json"):
        status, headers, data = self.request("POST", path, body, content_type)
        try:
            payload = json.loads(data) if data else None
        except ValueError:
            payload = None
        return status, headers, payload

    def sql(self, query, *params):
        """Rows of tab-separated text. Parameters are passed as psql variables,
        quoted by psql itself, never pasted into the SQL."""
        args = ["psql", "-X", "-At", "-F", "\t", "-v", "ON_ERROR_STOP=1", self.db_url]
        for i, p in enumerate(params):
            args += ["-v", "p%d=%s" % (i, p)]
        result = subprocess.run(args, input=query, capture_output=True, text=True, timeout=60)
        if result.returncode != 0:
            raise RuntimeError("psql failed: %s" % result.stderr)
        return [line.split("\t") for line in result.stdout.splitlines() if line]

    def scalar(self, query, *params):
        rows = self.sql(query, *params)
        return rows[0][0] if rows else None
