#!/usr/bin/env python3
"""The checks of scripts/systemd-test, run by it in the network namespace of
a container whose PID 1 is systemd and where leadhook is installed as
docs/systemd.md says: nginx's public site on 127.0.0.1:443 and its
operations site on 127.0.0.1:9180 are the container's. Commands inside go
through nsenter into all of its namespaces.

Prints one line per check ("ok   NAME: detail" or "FAIL NAME: why") and notes
for what a container cannot show; appends "CHECKS FAILED" to --counts, from
which scripts/systemd-test prints its last line, "systemd: checks=N failed=F".
Phase "first" runs after the install, "rebooted" after a reboot with
leadhook.service enabled.
"""
import argparse
import http.client
import os
import re
import shlex
import ssl
import subprocess
import sys
import threading
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stack import HeldTransaction, json_webhook  # noqa: E402

SERVICE = "leadhook.service"
KEY_FILE = "/etc/leadhook/signing-key"


class CheckFailed(Exception):
    pass


def expect(condition, why):
    if not condition:
        raise CheckFailed(why)


class Container:
    """Runs commands in the container (all of its namespaces)."""

    def __init__(self, init_pid):
        self.init_pid = init_pid

    def command(self, *argv):
        return ["nsenter", "--target", str(self.init_pid), "--all", "--"] + list(argv)

    def run(self, *argv, check=True, input=None, timeout=120):
        done = subprocess.run(self.command(*argv), input=input, capture_output=True, text=True,
                              timeout=timeout)
        if check and done.returncode != 0:
            raise CheckFailed("%s: exit %d: %s" % (shlex.join(argv), done.returncode,
                                                   (done.stderr or done.stdout).strip()[-400:]))
        return done

    def out(self, *argv, **kw):
        return self.run(*argv, **kw).stdout.strip()

    def show(self, unit, prop):
        return self.out("systemctl", "show", "-p", prop, "--value", unit)

    def main_pid(self):
        return int(self.show(SERVICE, "MainPID"))

    def write(self, path, text, mode="0600"):
        """Writes a root-owned file as root does inside (umask, then cat)."""
        self.run("sh", "-c", 'umask 077 && cat > "$1" && chmod %s "$1"' % mode, "sh", path,
                 input=text)

    def sql(self, query):
        """One value (or rows, tab-separated) of leadhook's database, as postgres."""
        return self.out("runuser", "-u", "postgres", "--", "psql", "-X", "-q", "-At", "-F", "\t",
                        "-d", "leadhook", "-v", "ON_ERROR_STOP=1", "-c", query)

    def journal(self, unit, since, *args):
        return self.out("journalctl", "--no-pager", "-o", "cat", "-u", unit, "--since",
                        "@%d" % int(since), *args)

    def psql_holding(self, sql):
        """A psql session inside that ran BEGIN; sql and holds its locks
        until commit()."""
        return HeldTransaction(None, sql, psql=self.command(
            "runuser", "-u", "postgres", "--", "psql", "-X", "-q", "-d", "leadhook",
            "-v", "ON_ERROR_STOP=1"))


class Client:
    """Signed webhooks to the container's nginx (the production site), over
    kept-alive HTTPS connections, one per thread."""

    def __init__(self):
        self.ctx = ssl._create_unverified_context()  # the test's self-signed certificate
        self.local = threading.local()

    def _conn(self, port):
        conns = self.local.__dict__.setdefault("conns", {})
        if port not in conns:
            conns[port] = (http.client.HTTPSConnection("127.0.0.1", port, context=self.ctx,
                                                       timeout=60) if port == 443 else
                           http.client.HTTPConnection("127.0.0.1", port, timeout=60))
        return conns[port]

    def request(self, method, path, body=None, port=443):
        """(status, body); a connection error is status 0."""
        conn = self._conn(port)
        headers = {"Host": "leadhook.test", "Content-Type": "application/json"}
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            return resp.status, resp.read()
        except (OSError, http.client.HTTPException) as e:
            conn.close()
            return 0, str(e).encode()

    def webhook(self, key, event_id=None):
        """(status, event id) of a new delivered event signed with key."""
        event_id = event_id or uuid.uuid4().hex
        body = json_webhook({"event": "delivered", "id": event_id, "timestamp": time.time(),
                             "recipient": "lead-%s@example.com" % event_id[:8],
                             "message": {"headers": {"message-id": event_id + "@leadhook.test"}}},
                            key=key)
        return self.request("POST", "/api/v1/wh/mg/events", body)[0], event_id

    def ready(self):
        return self.request("GET", "/api/v1/ready", port=9180)[0]


class Load:
    """Threads posting new events until stopped, like Mailgun: each event
    is sent again until it gets 200 (retries=True), or once (False)."""

    def __init__(self, client, key_of, threads=8, retries=True, pause=0.0):
        self.client, self.key_of, self.retries, self.pause = client, key_of, retries, pause
        self.stop_flag = threading.Event()
        self.lock = threading.Lock()
        self.acked, self.unacked, self.transient = [], [], {}
        self.threads = [threading.Thread(target=self._run) for _ in range(threads)]
        for t in self.threads:
            t.start()

    def _run(self):
        while not self.stop_flag.is_set():
            event_id, deadline = uuid.uuid4().hex, time.time() + 60
            while True:
                status, _ = self.client.webhook(self.key_of(), event_id)
                if status == 200:
                    with self.lock:
                        self.acked.append(event_id)
                    break
                with self.lock:
                    self.transient[status] = self.transient.get(status, 0) + 1
                if not self.retries or time.time() > deadline:
                    with self.lock:
                        self.unacked.append(event_id)
                    break
                time.sleep(0.2)
            time.sleep(self.pause)

    def stop(self):
        self.stop_flag.set()
        for t in self.threads:
            t.join()
        return self

    def lost(self, container):
        """Acknowledged events the database lacks."""
        stored = set(container.sql("SELECT mailgun_event_id FROM lead_email_events").split("\n"))
        return [e for e in self.acked if e not in stored]


def wait_until(what, condition, seconds):
    deadline = time.time() + seconds
    while True:
        value = condition()
        if value:
            return value
        if time.time() > deadline:
            raise CheckFailed("timed out after %d s waiting until %s" % (seconds, what))
        time.sleep(0.1)


def parse_seconds(text):
    """systemd's timespan ("30s", "1min 30s", "2s 500ms") in seconds."""
    units = {"min": 60, "s": 1, "ms": 0.001, "us": 0.000001, "h": 3600}
    total = 0.0
    for number, unit in re.findall(r"([\d.]+)\s*(min|ms|us|h|s)", text):
        total += float(number) * units[unit]
    return total


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--init-pid", type=int, required=True)
    parser.add_argument("--phase", choices=("first", "rebooted"), required=True)
    parser.add_argument("--counts", required=True, help="appends 'CHECKS FAILED' to this file")
    parser.add_argument("--setup-seconds", type=int, default=0)
    args = parser.parse_args()
    import real_systemd_checks as checks  # noqa: E402 (it imports this module)
    container, client = Container(args.init_pid), Client()
    started, failed, run = time.time(), 0, 0
    for name, check in checks.PHASES[args.phase]:
        run += 1
        try:
            detail = check(container, client)
            print("ok   %s: %s" % (name, detail), flush=True)
        except (CheckFailed, subprocess.TimeoutExpired, OSError, ValueError) as e:
            failed += 1
            print("FAIL %s: %s" % (name, e), flush=True)
    for note in checks.NOTES:
        print("note %s" % note)
    print("%s: %d checks, %d failed, %d s (since the start: %d s)" % (
        args.phase, run, failed, time.time() - started, args.setup_seconds + time.time() - started))
    with open(args.counts, "a") as f:
        f.write("%d %d\n" % (run, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    # As the module the checks import, so that they share one CheckFailed.
    import real_systemd
    sys.exit(real_systemd.main())
