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
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.parse

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


def signature_block(key=TEST_KEY, timestamp=None, token=None, parent_key=None):
    """A JSON webhook's `signature` object: a fresh token unless one is given,
    now unless a timestamp is given; `parent-signature` when parent_key is."""
    timestamp = str(timestamp if timestamp is not None else int(time.time()))
    token = token or secrets.token_hex(25)
    block = {"timestamp": timestamp, "token": token, "signature": sign(key, timestamp, token)}
    if parent_key:
        block["parent-signature"] = sign(parent_key, timestamp, token)
    return block


def json_webhook(event_data, key=TEST_KEY, timestamp=None, token=None, signature=None):
    """A current-format webhook body, freshly signed (or with the given
    signature block)."""
    signature = signature or signature_block(key, timestamp, token)
    return json.dumps({"signature": signature, "event-data": event_data}).encode()


def form_webhook(fields, key=TEST_KEY, timestamp=None, token=None):
    """A legacy urlencoded body: the (name, value) pairs, then Mailgun's own
    timestamp, token and signature last, freshly signed."""
    sig = signature_block(key, timestamp, token)
    pairs = list(fields) + [("timestamp", sig["timestamp"]), ("token", sig["token"]),
                            ("signature", sig["signature"])]
    return urllib.parse.urlencode(pairs).encode()


def multipart_body(fields, boundary="LeadhookTestBoundary"):
    """(body, content_type) of multipart/form-data with the (name, value)
    pairs, CRLF line breaks, as Mailgun's legacy bounce posts."""
    out = []
    for name, value in fields:
        out.append(("--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n"
                    % (boundary, name, value)).encode())
    out.append(("--%s--\r\n" % boundary).encode())
    return b"".join(out), "multipart/form-data; boundary=" + boundary


def multipart_webhook(fields, key=TEST_KEY, timestamp=None, token=None):
    """A legacy multipart body: the fields, then timestamp, token and
    signature, freshly signed. Returns (body, content_type)."""
    sig = signature_block(key, timestamp, token)
    return multipart_body(list(fields) + [(n, sig[n]) for n in ("timestamp", "token", "signature")])


def _multipart_fields(body):
    return {m.group(1).decode(): m.group(2).decode("latin-1") for m in re.finditer(
        rb'name="(timestamp|token|signature)"\r\n\r\n([^\r]*)', body)}


def signature_of(body, content_type):
    """(timestamp, token, signature) as leadhook reads them: JSON's
    `signature` object, else the last occurrence of each form field. None
    for what is missing."""
    names = ("timestamp", "token", "signature")
    if content_type.startswith("application/json"):
        sig = json.loads(body).get("signature") or {}
        return tuple(None if sig.get(n) is None else str(sig.get(n)) for n in names)
    if content_type.startswith("multipart/"):
        found = _multipart_fields(body)  # later parts overwrite earlier ones: the last wins
        return tuple(found.get(n) for n in names)
    last = dict(urllib.parse.parse_qsl(body.decode("latin-1"), keep_blank_values=True))
    return tuple(last.get(n) for n in names)


def resign(body, content_type, key=TEST_KEY, timestamp=None, token=None):
    """The same webhook under a fresh token (and signature, and by default
    the same timestamp), signed with `key`: the body a second, independent
    delivery of the same content would have."""
    old_ts = signature_of(body, content_type)[0]
    sig = signature_block(key, timestamp if timestamp is not None else (old_ts or None), token)
    if content_type.startswith("application/json"):
        data = json.loads(body)
        data["signature"] = sig
        return json.dumps(data).encode()
    if content_type.startswith("multipart/"):
        for name in ("timestamp", "token", "signature"):
            pattern = rb'(name="' + name.encode() + rb'"\r\n\r\n)[^\r]*'
            last = list(re.finditer(pattern, body))[-1]
            body = body[:last.start()] + last.group(1) + sig[name].encode() + body[last.end():]
        return body
    # latin-1 both ways: every byte a %XX escape stands for comes back unchanged.
    pairs = urllib.parse.parse_qsl(body.decode("latin-1").strip(), keep_blank_values=True,
                                   encoding="latin-1")
    for name in ("timestamp", "token", "signature"):
        last = max(i for i, (k, _) in enumerate(pairs) if k == name)
        pairs[last] = (name, sig[name])
    return urllib.parse.urlencode(pairs, encoding="latin-1").encode("latin-1")


def process_running(pid):
    """Whether the process exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return not f.read().rsplit(") ", 1)[1].startswith("Z")
    except (FileNotFoundError, ProcessLookupError):
        return False


def _children(pid):
    """The pids of the live processes whose parent is `pid`."""
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                fields = f.read().rsplit(") ", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        if fields[0] != "Z" and int(fields[1]) == pid:
            found.add(int(entry))
    return found


class HeldTransaction:
    """A psql session that ran `BEGIN; <sql>` and keeps the locks it took
    until commit(): what makes leadhook wait at a chosen point."""

    def __init__(self, db_url, sql, psql=None):
        """`psql`: the command to run instead of psql on db_url (psql
        elsewhere, e.g. inside a container)."""
        psql = psql or ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", db_url]
        self.process = subprocess.Popen(psql, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                        text=True)
        self.process.stdin.write("BEGIN; %s;\n" % sql)
        self.process.stdin.flush()

    def run(self, sql):
        """Another statement in the same transaction; returns at once (it may
        wait for locks: psql runs it when it can)."""
        self.process.stdin.write("%s;\n" % sql)
        self.process.stdin.flush()

    def commit(self, timeout=30):
        self.process.stdin.write("COMMIT;\n")
        self.process.stdin.close()
        self.process.wait(timeout=timeout)

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()


class Waiting:
    """Mix-in for unittest.TestCase: poll a condition until it holds, or
    fail naming what never happened after WAIT_SECONDS (or `seconds`)."""
    WAIT_SECONDS = 20

    def wait_for(self, what, condition, seconds=None):
        deadline = time.time() + (seconds or self.WAIT_SECONDS)
        while not condition():
            if time.time() > deadline:
                self.fail("timed out waiting until " + what)
            time.sleep(0.05)

    def hold(self, stack, sql, query_like):
        """A HeldTransaction running `sql`, once PostgreSQL shows it idle in
        its transaction (its last query LIKE `query_like`); killed at cleanup."""
        held = HeldTransaction(stack.db_url, sql)
        self.addCleanup(held.kill)
        self.wait_for("a psql session holds the locks of " + sql, lambda: stack.scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction'"
            " AND query LIKE :'p0'", query_like) == "1")
        return held


def parse_metrics(text):
    """Prometheus text exposition -> {'name{labels}': value}; labels exactly
    as written (e.g. 'leadhook_quarantine_total{result="dropped"}')."""
    values = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if "{" in line:
            end = line.rindex("}") + 1
            name, rest = line[:end], line[end:].split()
        else:
            name, *rest = line.split()
        if rest:
            values[name] = float(rest[0])
    return values


def psql(db_url, query, *params):
    """Runs `query` with psql on `db_url`: rows of tab-separated text (NULL
    as ""). Parameters are passed as psql variables (:'p0', :'p1', ...),
    quoted by psql itself, never pasted into the SQL."""
    args = ["psql", "-X", "-At", "-F", "\t", "-v", "ON_ERROR_STOP=1", db_url]
    for i, p in enumerate(params):
        args += ["-v", "p%d=%s" % (i, p)]
    result = subprocess.run(args, input=query, capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise RuntimeError("psql failed: %s" % result.stderr)
    return [line.split("\t") for line in result.stdout.splitlines() if line]


class Stack:
    """scripts/stack start with the corpus keys and TEST_KEY (unless extra_env
    sets LEADHOOK_SIGNING_KEYS or LEADHOOK_SIGNING_KEY_FILE itself) and
    `instances` leadhook processes of `threads` workers each behind one nginx
    upstream."""

    def __init__(self, extra_env=None, instances=1, threads=4):
        self.dir = tempfile.mkdtemp(prefix="leadhook-it-")
        self.port = free_port()
        self.instances = instances
        self.final_logs = None
        extra_env = dict(extra_env or {})
        key_vars = ("LEADHOOK_SIGNING_KEYS", "LEADHOOK_SIGNING_KEY_FILE")
        # Keys come from the test, never from the caller's environment.
        env = {k: v for k, v in os.environ.items() if k not in key_vars}
        env.update(extra_env)
        binary = os.environ.get("LEADHOOK_BIN", os.path.join(REPO, "build", "src", "leadhook"))
        args = ["start", "--dir", self.dir, "--http-port", str(self.port), "--bin", binary,
                "--threads", str(threads), "--instances", str(instances)]
        if not any(k in extra_env for k in key_vars):
            args += ["--keys", ",".join(CORPUS_KEYS + [TEST_KEY])]
        self._run(args, env)
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
        """Stops everything; fails if a leadhook did not exit 0 on SIGTERM. The
        final logs are kept in self.final_logs (see leadhook_logs); the state
        directory is removed unless LEADHOOK_KEEP_TEST_DIRS is set."""
        try:
            result = self._run(["stop", "--dir", self.dir])
        finally:
            self.final_logs = self._read_logs()
            if not os.environ.get("LEADHOOK_KEEP_TEST_DIRS"):
                shutil.rmtree(self.dir, ignore_errors=True)
        return result

    def reload(self, wait=5):
        """SIGHUPs every leadhook and waits (up to `wait` s) until each has
        logged its reload, done or failed; raises if one did not."""
        self._run(["reload", "--dir", self.dir, "--wait", str(wait)])

    def leadhook(self, *args, timeout=120):
        """Runs `leadhook ARGS` in the stack's environment (its keys, its
        database): a CompletedProcess with text stdout/stderr; never raises
        for a non-zero exit."""
        return subprocess.run([STACK, "leadhook", "--dir", self.dir, "--"] + list(args),
                              capture_output=True, text=True, timeout=timeout)

    def metrics(self):
        """GET /api/v1/metrics, parsed: {'name{labels}': float}. With several
        instances, nginx picks one and the counters are that one's."""
        status, _, body = self.request("GET", "/api/v1/metrics")
        if status != 200:
            raise RuntimeError("GET /api/v1/metrics answered %d: %r" % (status, body[:200]))
        return parse_metrics(body.decode())

    def restart_leadhook(self, killed=False):
        """SIGTERMs leadhook (if still running) and starts it again; raises if
        its exit status was not 0 (with killed=True, after kill_leadhook: unless
        it was 137, SIGKILL's)."""
        args = ["leadhook-restart", "--dir", self.dir]
        if not killed:
            self._run(args)
        else:
            result = subprocess.run([STACK] + args, capture_output=True, text=True, timeout=120)
            # scripts/stack exits 3 when the old process's status was not 0.
            if not (result.returncode == 0 or (result.returncode == 3 and
                                               "exit status 137" in result.stdout)):
                raise RuntimeError("scripts/stack leadhook-restart failed (%d):\n%s\n%s" % (
                    result.returncode, result.stdout, result.stderr))
        self.env = self._read_env()

    def kill_leadhook(self, timeout=10):
        """SIGKILLs leadhook (instance 1) and waits until it has gone; returns
        its pid. Start it again with restart_leadhook(killed=True)."""
        pid = int(self.env["LEADHOOK_PID"])
        os.kill(pid, signal.SIGKILL)
        deadline = time.time() + timeout
        while process_running(pid):
            if time.time() > deadline:
                raise RuntimeError("leadhook (pid %d) still running after SIGKILL" % pid)
            time.sleep(0.02)
        return pid

    def nginx_workers(self):
        """The pids of the nginx master's children (its workers)."""
        return _children(int(self.env["NGINX_PID"]))

    def reload_nginx(self, timeout=10):
        """SIGHUPs the nginx master (re-read the config, new workers, the old
        ones finish their requests and exit) and waits until a new worker runs;
        returns (old workers, new workers)."""
        master = int(self.env["NGINX_PID"])
        before = self.nginx_workers()
        os.kill(master, signal.SIGHUP)
        deadline = time.time() + timeout
        while True:
            now = self.nginx_workers()
            if now - before:
                return before, now - before
            if not process_running(master):
                raise RuntimeError("nginx (pid %d) exited after SIGHUP" % master)
            if time.time() > deadline:
                raise RuntimeError("nginx started no new worker within %d s of SIGHUP" % timeout)
            time.sleep(0.02)

    def pg_stop(self):
        self._run(["pg-stop", "--dir", self.dir])

    def pg_start(self):
        self._run(["pg-start", "--dir", self.dir])

    def log_paths(self):
        """Every instance's log file, instance 1 first."""
        return [self.env["LEADHOOK_LOG"]] + [
            self.env["LEADHOOK_%d_LOG" % i] for i in range(2, self.instances + 1)]

    def _read_logs(self):
        logs = []
        for path in self.log_paths():
            try:
                with open(path, errors="replace") as f:
                    logs.append(f.read())
            except OSError:
                logs.append("")
        return logs

    def leadhook_log(self):
        """Instance 1's log."""
        return self.leadhook_logs()[0]

    def leadhook_logs(self):
        """Every instance's log text, instance 1 first (after stop(): as it
        was when the stack stopped)."""
        if self.final_logs is not None:
            return list(self.final_logs)
        return self._read_logs()

    def postgres_log(self):
        """The private PostgreSQL's server log so far (errors, deadlocks)."""
        with open(self.env["PG_LOG"], errors="replace") as f:
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
        return psql(self.db_url, query, *params)

    def scalar(self, query, *params):
        rows = self.sql(query, *params)
        return rows[0][0] if rows else None
