"""The checks scripts/systemd-test runs against leadhook's units under a
real systemd (see real_systemd.py), in this order: each leaves the service
running, except where it says."""
import os
import re
import secrets
import threading
import time
import uuid

from real_systemd import KEY_FILE, SERVICE, Load, expect, wait_until
from stack import json_webhook, signature_block

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PHASES, NOTES = {"first": [], "rebooted": []}, []


def check(name, phase="first"):
    def register(fn):
        PHASES[phase].append((name, fn))
        return fn
    return register


def current_key(c):
    """The newest key of the key file (the one a rotation added last)."""
    return c.out("sh", "-c", "grep -v '^#' %s | tail -1" % KEY_FILE).split()[0]


@check("socket activation: the first webhook starts leadhook and gets 200")
def socket_activation(c, client):
    expect(c.show("leadhook.socket", "ActiveState") == "active", "leadhook.socket is not active")
    expect(c.show(SERVICE, "ActiveState") == "inactive",
           "leadhook.service runs before any request: %s" % c.show(SERVICE, "ActiveState"))
    mode = c.out("stat", "-c", "%U:%G %a", "/run/leadhook/leadhook.sock")
    expect(mode == "root:www-data 660", "socket is %s, not root:www-data 660" % mode)
    status, event_id = client.webhook(current_key(c))
    expect(status == 200, "first webhook answered %d" % status)
    expect(c.show(SERVICE, "ActiveState") == "active", "leadhook.service did not stay active")
    expect(c.sql("SELECT count(*) FROM lead_email_events WHERE mailgun_event_id = '%s'"
                 % event_id) == "1", "the first event is not in the database")
    log = c.journal(SERVICE, time.time() - 600)
    expect('msg="listening on the socket systemd passed"' in log, "leadhook bound a socket itself")
    return "socket root:www-data 0660, service started by the request, event stored"


@check("DynamicUser + LoadCredential: the key is the service's alone")
def credentials(c, client):
    pid = c.main_pid()
    uid = int(c.out("stat", "-c", "%u", "/proc/%d" % pid))
    expect(61184 <= uid <= 65519, "leadhook runs as uid %d, not a dynamic one" % uid)
    expect(c.out("id", "-un", str(uid)) == "leadhook", "uid %d is not named leadhook" % uid)
    cred = "/run/credentials/%s/signing-key" % SERVICE
    expect(c.out("stat", "-c", "%u %a", cred) == "%d 400" % uid, "credential is not 0400 leadhook")
    expect(c.out("stat", "-c", "%u %a", os.path.dirname(cred)) == "%d 500" % uid,
           "credentials directory is not 0500 leadhook")
    expect(c.out("stat", "-c", "%U %a", KEY_FILE) == "root 600", "%s is not 0600 root" % KEY_FILE)
    for user in ("www-data", "postgres", "nobody"):
        r = c.run("runuser", "-u", user, "--", "cat", cred, check=False)
        expect(r.returncode != 0 and "Permission denied" in r.stderr,
               "%s can read the credential: %s" % (user, r.stdout[:20]))
    environ = c.out("cat", "/proc/%d/environ" % pid).replace("\0", "\n")
    expect(current_key(c) not in environ, "the key is in the service's environment")
    # Peer authentication: PostgreSQL looked the dynamic uid up by name.
    c.sql("ALTER SYSTEM SET log_connections = on")
    c.sql("SELECT pg_reload_conf()")
    since = time.time() - 1
    c.run("systemctl", "restart", SERVICE)
    wait_until("leadhook's writers connect", lambda: c.sql(
        "SELECT count(*) FROM pg_stat_activity WHERE usename = 'leadhook'") != "0", 20)
    log = c.journal("postgresql@15-main.service", since) + c.out(
        "sh", "-c", "cat /var/log/postgresql/postgresql-15-main.log 2>/dev/null || true")
    expect(re.search(r'connection authenticated: identity="leadhook" method=peer', log),
           "no peer-authenticated connection of leadhook in PostgreSQL's log")
    addr = c.sql("SELECT DISTINCT coalesce(client_addr::text, 'unix') FROM pg_stat_activity"
                 " WHERE usename = 'leadhook'")
    expect(addr == "unix", "leadhook connects over %s, not the unix socket" % addr)
    return "uid %d (leadhook), credential 0400, unreadable to www-data/postgres/nobody, " \
           "PostgreSQL: peer over the unix socket" % uid


@check("Type=notify: systemctl start returns once leadhook is ready")
def notify_ready(c, client):
    c.run("systemctl", "stop", SERVICE)
    expect(c.show(SERVICE, "ActiveState") == "inactive", "leadhook did not stop")
    t0 = time.time()
    c.run("systemctl", "start", SERVICE)
    took = time.time() - t0
    expect(c.show(SERVICE, "SubState") == "running", "not running after start returned")
    ready = client.ready()  # at once, no retry: start has returned
    expect(ready == 200, "/api/v1/ready answered %d right after systemctl start" % ready)
    text = c.show(SERVICE, "StatusText")
    expect(text.startswith("serving on unix:/run/leadhook/leadhook.sock (from systemd), 32 workers"),
           "StatusText: %r" % text)
    expect('Status: "serving on' in c.run("systemctl", "status", "--no-pager", SERVICE,
                                          check=False).stdout, "systemctl status shows no Status:")
    return "start took %.2f s, ready at once, status %r" % (took, text)


@check("systemctl restart under load: no request lost, none failed after retries")
def restart_under_load(c, client):
    key = current_key(c)
    before = c.main_pid()
    load = Load(client, lambda: key)
    time.sleep(2)
    c.run("systemctl", "restart", SERVICE)
    time.sleep(2)
    load.stop()
    expect(c.main_pid() != before, "MainPID did not change")
    lost = load.lost(c)
    expect(not load.unacked, "%d events never got 200" % len(load.unacked))
    expect(not lost, "%d acknowledged events missing: %s" % (len(lost), lost[:3]))
    expect(len(load.acked) > 50, "only %d events acknowledged" % len(load.acked))
    return "%d acked, 0 lost, non-200 before a retry: %s" % (len(load.acked), load.transient or 0)


@check("systemctl reload rotates the signing key from the credential")
def reload_rotates_key(c, client):
    old, new = current_key(c), "key-" + secrets.token_hex(16)
    status, _ = client.webhook(new)
    expect(status == 409, "a key not yet installed answered %d, not 409" % status)
    pid = c.main_pid()
    load = Load(client, lambda: old, threads=4, retries=False)
    time.sleep(1)
    lines = c.out("cat", KEY_FILE).splitlines()
    c.write(KEY_FILE, "\n".join(lines + ["%s label=rotated-%d" % (new, int(time.time()))]) + "\n")
    c.run("systemctl", "reload", SERVICE)
    status, _ = client.webhook(new)  # at once: reload returns when leadhook has it
    time.sleep(1)
    load.stop()
    expect(status == 200, "the new key answered %d right after systemctl reload" % status)
    expect(c.main_pid() == pid, "reload restarted leadhook")
    expect(not load.unacked, "requests failed during the reload: %s" % load.transient)
    expect(re.search(r"; reload \d+ applied$", c.show(SERVICE, "StatusText")), "status: no reload")
    return "old key: %d requests during reload, 0 failed; new key 200 at once" % len(load.acked)


@check("a refused reload fails systemctl reload; leadhook keeps serving")
def refused_reload(c, client):
    key, good = current_key(c), c.out("cat", KEY_FILE)
    c.write(KEY_FILE, "# no key left\n")
    try:
        refused = c.run("systemctl", "reload", SERVICE, check=False)
        text = c.show(SERVICE, "StatusText")
        status, _ = client.webhook(key)
    finally:
        c.write(KEY_FILE, good + "\n")
    expect(refused.returncode != 0, "systemctl reload succeeded with no key in the file")
    expect(re.search(r"; reload \d+ failed: .*no signing key", text), "status: %r" % text)
    expect(key not in text, "the status quotes a key")
    expect(status == 200, "with the old keys kept, a webhook answered %d" % status)
    c.run("systemctl", "reload", SERVICE)
    expect(c.show(SERVICE, "StatusText").endswith(" applied"), "the next reload did not apply")
    return "systemctl reload exit %d, %r; webhooks 200 throughout" % (
        refused.returncode, text.split("; ", 1)[1])


@check("journal priorities: warnings at warning, requests at info")
def journal_priorities(c, client):
    since, key = time.time() - 1, current_key(c)
    sig = signature_block(key)
    first = json_webhook({"event": "delivered", "id": uuid.uuid4().hex, "timestamp": time.time(),
                          "recipient": "a@example.com"}, signature=sig)
    forged = json_webhook({"event": "complained", "id": uuid.uuid4().hex,
                           "timestamp": time.time(), "recipient": "a@example.com"}, signature=sig)
    path = "/api/v1/wh/mg/events"
    expect(client.request("POST", path, first)[0] == 200, "the first webhook failed")
    expect(client.request("POST", path, forged)[0] == 406, "the forgery was not answered 406")
    time.sleep(1)
    warnings = c.journal(SERVICE, since, "-p", "warning").splitlines()
    expect(any("level=warn" in l and "outcome=forgery" in l for l in warnings),
           "journalctl -p warning lacks the forgery: %s" % warnings[-3:])
    expect(not any("level=info" in l for l in warnings), "info lines at warning priority")
    infos = c.journal(SERVICE, since, "-p", "info")
    expect("status=200" in infos, "journalctl -p info lacks the stored request")
    expect(key not in c.journal(SERVICE, since - 600), "a signing key reached the journal")
    return "forgery at warning, stored request at info only, no key in the journal"


@check("systemctl stop drains: in-flight webhooks are answered, none 502")
def stop_drains(c, client):
    key = current_key(c)
    # Writes wait on this lock, so the webhooks are in flight when stop comes.
    holder = c.psql_holding("LOCK TABLE webhook_tokens IN SHARE ROW EXCLUSIVE MODE")
    results = []
    try:
        wait_until("psql holds the lock", lambda: c.sql(
            "SELECT count(*) FROM pg_locks l JOIN pg_class r ON r.oid = l.relation"
            " WHERE r.relname = 'webhook_tokens' AND l.mode = 'ShareRowExclusiveLock'"
            " AND l.granted") == "1", 10)
        senders = [threading.Thread(target=lambda: results.append(client.webhook(key)))
                   for _ in range(8)]
        for t in senders:
            t.start()
        wait_until("8 webhooks wait in PostgreSQL", lambda: int(c.sql(
            "SELECT count(*) FROM pg_locks WHERE NOT granted")) > 0, 10)
        time.sleep(0.5)
        stopper = threading.Thread(target=lambda: c.run("systemctl", "stop", SERVICE))
        stopper.start()
        wait_until("leadhook is stopping", lambda: c.show(SERVICE, "ActiveState") == "deactivating", 10)
        time.sleep(1)  # stopping, with the webhooks still in flight
    finally:
        holder.commit()
    for t in senders:
        t.join(timeout=60)
    stopper.join(timeout=60)
    statuses = sorted(status for status, _ in results)
    expect(statuses == [200] * 8, "in-flight webhooks answered %s" % statuses)
    expect(c.show(SERVICE, "ActiveState") == "inactive", "leadhook did not stop")
    expect(c.show(SERVICE, "Result") == "success", "stop result: " + c.show(SERVICE, "Result"))
    expect(c.show("leadhook.socket", "ActiveState") == "active", "the socket went with the service")
    status, _ = client.webhook(key)
    expect(status == 200, "after the stop, the socket's next webhook answered %d" % status)
    return "8 in flight at stop: all 200; exit 0; the next request started it again"


import real_systemd_sandbox  # noqa: E402,F401  (registers the rest, in order)
