"""The rest of scripts/systemd-test's checks (see real_systemd.py): the
sandbox and the limits as the running service has them, the purge timer,
the watchdog, systemd-analyze security, and no failed unit at the end."""
import os
import re
import subprocess
import time
import uuid

from real_systemd import SERVICE, CheckFailed, expect, parse_seconds, wait_until
from real_systemd_checks import NOTES, REPO, check, current_key
from fake_mailgun import FakeMailgun, corpus_events


def unit_setting(name):
    """NAME=VALUE of deploy/systemd/leadhook.service, as shipped."""
    with open(os.path.join(REPO, "deploy", "systemd", "leadhook.service")) as f:
        found = re.findall(r"^%s=(.*)$" % name, f.read(), re.M)
    if not found:
        raise CheckFailed("leadhook.service sets no %s=" % name)
    return found[-1]


def bytes_of(text):
    number, unit = re.fullmatch(r"(\d+)([KMG]?)", text).groups()
    return int(number) * {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}[unit]


@check("the sandbox holds in the running service")
def sandbox(c, client):
    pid = c.main_pid()
    status = dict(line.split(":", 1) for line in c.out("cat", "/proc/%d/status" % pid).splitlines())
    expect(status["CapEff"].strip() == "0000000000000000", "capabilities: " + status["CapEff"])
    expect(status["NoNewPrivs"].strip() == "1", "NoNewPrivs is off")
    expect(status["Seccomp"].strip() == "2", "no seccomp filter")
    # As the service's own user, in its own namespaces (mounts, users, /tmp).
    uid, gid = c.out("stat", "-c", "%u %g", "/proc/%d" % pid).split()

    def as_service(*argv):
        return c.run("nsenter", "--target", str(pid), "--mount", "--user", "--ipc", "--uts",
                     "--setuid", uid, "--setgid", gid, "--", *argv, check=False)
    for path in ("/etc/leadhook/x", "/usr/local/bin/x", "/var/lib/x", "/run/leadhook/x"):
        r = as_service("sh", "-c", ": > " + path)
        expect(r.returncode != 0 and re.search("Read-only file system|Permission denied", r.stderr),
               "the service could write %s: %s" % (path, r.stderr.strip()))
    r = as_service("ls", "/home", "/root")
    expect(r.returncode != 0 or not r.stdout.strip(), "/home or /root visible: " + r.stdout)
    c.run("sh", "-c", ": > /tmp/leadhook-host-marker")
    r = as_service("ls", "/tmp/leadhook-host-marker")
    expect(r.returncode != 0, "the service sees the host's /tmp (no PrivateTmp)")
    r = as_service("sh", "-c", ": > /tmp/writable")
    expect(r.returncode == 0, "the service's private /tmp is not writable: " + r.stderr.strip())
    return "no capabilities, no_new_privs, seccomp; /etc, /usr, /var, /run read-only; " \
           "/home and /root hidden; /tmp private"


@check("limits: MemoryHigh, MemoryMax, TasksMax, LimitNOFILE in force")
def limits(c, client):
    pid = c.main_pid()
    shown = {p: c.show(SERVICE, p) for p in ("MemoryHigh", "MemoryMax", "TasksMax", "LimitNOFILE")}
    for prop in ("MemoryHigh", "MemoryMax"):
        expect(int(shown[prop]) == bytes_of(unit_setting(prop)), "%s=%s" % (prop, shown[prop]))
    expect(shown["TasksMax"] == unit_setting("TasksMax"), "TasksMax=" + shown["TasksMax"])
    expect(shown["LimitNOFILE"] == unit_setting("LimitNOFILE"), "LimitNOFILE=" + shown["LimitNOFILE"])
    limits_text = c.out("cat", "/proc/%d/limits" % pid)
    nofile = re.search(r"Max open files\s+(\d+)\s+(\d+)", limits_text).groups()
    expect(nofile == (shown["LimitNOFILE"],) * 2, "the process's descriptor limit is %s" % (nofile,))
    cgroup = c.show(SERVICE, "ControlGroup")
    enforced = []
    for controller, knob, prop in (("memory", "memory.limit_in_bytes", "MemoryMax"),
                                   ("pids", "pids.max", "TasksMax")):
        path = "/sys/fs/cgroup/%s%s/%s" % (controller, cgroup, knob)
        unified = "/sys/fs/cgroup%s/%s" % (cgroup, {"memory": "memory.max", "pids": "pids.max"}[controller])
        value = c.run("sh", "-c", "cat %s 2>/dev/null || cat %s" % (path, unified), check=False)
        if value.returncode == 0:
            expect(value.stdout.strip() == shown[prop], "%s: %s" % (knob, value.stdout.strip()))
            enforced.append(prop)
        else:
            NOTES.append("%s is set (systemctl show) but this container's systemd has no %s "
                         "cgroup controller to enforce it: verify on a full machine" % (prop, controller))
    return "systemctl show as shipped; descriptors %s in the process; cgroup: %s" % (
        nofile[0], ", ".join(enforced) or "not delegated here (see notes)")


@check("leadhook-purge.timer is active and the purge service purges")
def purge(c, client):
    expect(c.show("leadhook-purge.timer", "ActiveState") == "active", "the timer is not active")
    expect(c.show("leadhook-purge.timer", "NextElapseUSecRealtime") not in ("", "0", "n/a"),
           "the timer has no next run")
    c.sql("UPDATE webhook_quarantine SET received_at = now() - interval '40 days',"
          " last_seen_at = now() - interval '40 days'")
    old = int(c.sql("SELECT count(*) FROM webhook_quarantine"))
    expect(old > 0, "nothing quarantined to purge (the reload and journal checks quarantine some)")
    since = time.time() - 1
    c.run("systemctl", "start", "leadhook-purge.service")
    expect(c.show("leadhook-purge.service", "Result") == "success", "purge failed")
    left = int(c.sql("SELECT count(*) FROM webhook_quarantine"))
    expect(left == 0, "%d of %d old quarantined requests left" % (left, old))
    log = c.journal("leadhook-purge.service", since)
    expect("quarantine" in log, "the purge's journal does not say what it removed: " + log[-300:])
    return "%d quarantined requests 40 days old purged; next run %s" % (
        old, c.show("leadhook-purge.timer", "NextElapseUSecRealtime"))


@check("leadhook-backfill.service stores a (fake) Mailgun API's events, key as a credential")
def backfill(c, client):
    # This process is in the container's network namespace: the fake's
    # 127.0.0.1 is the container's. Events from 3 hours ago, inside --since 6h.
    domain, key = "mg.example.com", "key-%s" % uuid.uuid4().hex
    events = corpus_events(domain, time.time() - 3 * 3600)
    expect(c.out("systemctl", "is-enabled", "leadhook-backfill.timer", check=False) != "enabled",
           "the backfill timer is enabled before anyone asked")
    with FakeMailgun(key, domain, events, 8025, page_size=5) as api:
        c.write("/etc/leadhook/mailgun-api-key", key + "\n")
        c.write("/etc/leadhook/backfill.env", "LEADHOOK_BACKFILL_DOMAIN=%s\n"
                "LEADHOOK_MAILGUN_API_BASE=%s\n" % (domain, api.base), mode="0644")
        c.run("sh", "-ec", "cd /usr/src/leadhook && install -m 0644"
              " deploy/systemd/leadhook-backfill.service deploy/systemd/leadhook-backfill.timer"
              " /etc/systemd/system/ && systemctl daemon-reload")
        since = time.time() - 1
        c.run("systemctl", "start", "leadhook-backfill.service", timeout=180)
        result = c.show("leadhook-backfill.service", "Result")
        log = c.journal("leadhook-backfill.service", since)
        expect(result == "success", "backfill: %s: %s" % (result, log[-400:]))
        summary = "backfill: fetched=%d stored=%d duplicate=0 skipped=0" % (len(events),
                                                                          len(events))
        expect(summary in log, "the journal lacks %r: %s" % (summary, log[-400:]))
        expect(key not in log, "the API key is in the journal")
        stored = int(c.sql("SELECT count(*) FROM lead_email_events WHERE source = 'api'"))
        expect(stored == len(events), "%d events stored from the API, not %d" % (
            stored, len(events)))
        c.run("systemctl", "start", "leadhook-backfill.service", timeout=180)
        again = c.journal("leadhook-backfill.service", since)
        expect("stored=0 duplicate=%d" % len(events) in again, "a second run stored again")
    c.run("systemctl", "enable", "--now", "leadhook-backfill.timer")
    expect(c.show("leadhook-backfill.timer", "NextElapseUSecRealtime") not in ("", "0", "n/a"),
           "the enabled timer has no next run")
    c.run("systemctl", "disable", "--now", "leadhook-backfill.timer")
    return "%d events over %d pages as DynamicUser with the credential; again: all duplicates" % (
        len(events), len([r for r in api.requests if r[0] == "POST"]))


@check("without nss-systemd, webhooks get 503 and the journal says what to install")
def without_nss_systemd(c, client):
    since, key = time.time() - 1, current_key(c)
    c.run("cp", "/etc/nsswitch.conf", "/run/nsswitch.conf.saved")
    try:
        c.run("sed", "-i", "s/^passwd:.*/passwd: files/", "/etc/nsswitch.conf")
        c.run("systemctl", "restart", SERVICE)
        status, _ = client.webhook(key)
        log = c.journal(SERVICE, since, "-p", "warning")
    finally:
        c.run("cp", "/run/nsswitch.conf.saved", "/etc/nsswitch.conf")
        c.run("systemctl", "restart", SERVICE)
    expect(status == 503, "without a name for its uid, a webhook answered %d, not 503" % status)
    expect("needs libnss-systemd" in log, "the journal does not name libnss-systemd: " + log[-300:])
    status, _ = client.webhook(key)
    expect(status == 200, "with nss-systemd back, a webhook answered %d" % status)
    return "503 (Mailgun retries), the warning names libnss-systemd; 200 once it is back"


@check("the watchdog restarts a stopped (SIGSTOP) leadhook")
def watchdog(c, client):
    watchdog_s = parse_seconds(c.show(SERVICE, "WatchdogUSec"))
    restart_s = parse_seconds(c.show(SERVICE, "RestartUSec"))
    abort_s = parse_seconds(c.show(SERVICE, "TimeoutAbortUSec"))
    expect(watchdog_s == parse_seconds(unit_setting("WatchdogSec")), "WatchdogUSec differs")
    pid, restarts, since = c.main_pid(), int(c.show(SERVICE, "NRestarts")), time.time()
    c.run("systemctl", "kill", "--kill-who=main", "--signal=SIGSTOP", SERVICE)
    budget = watchdog_s + abort_s + restart_s + 10
    wait_until("systemd restarts leadhook", lambda: c.main_pid() not in (0, pid) and
               c.show(SERVICE, "SubState") == "running", budget)
    took = time.time() - since
    expect(int(c.show(SERVICE, "NRestarts")) == restarts + 1, "NRestarts did not grow by one")
    log = c.out("journalctl", "--no-pager", "-u", SERVICE, "--since", "@%d" % int(since))
    expect("Watchdog timeout" in log, "the journal does not say the watchdog fired")
    status, _ = client.webhook(current_key(c))
    expect(status == 200, "after the restart a webhook answered %d" % status)
    expect(took <= watchdog_s + abort_s + restart_s + 5,
           "restarted after %.1f s (watchdog %g s + abort %g s + restart %g s)"
           % (took, watchdog_s, abort_s, restart_s))
    return "restarted %.1f s after SIGSTOP (WatchdogSec %g s, TimeoutAbortSec %g s, RestartSec %g s)" \
        % (took, watchdog_s, abort_s, restart_s)


@check("systemd-analyze security in the real systemd: at most the offline figure")
def security(c, client):
    def exposure(text):
        found = re.search(r"Overall exposure level for \S+: ([\d.]+)", text)
        if not found:
            raise CheckFailed("no exposure level in: " + text[-200:])
        return float(found.group(1))
    inside = exposure(c.out("systemd-analyze", "security", "--no-pager", SERVICE))
    unit = os.path.join(REPO, "deploy", "systemd", "leadhook.service")
    offline = exposure(subprocess.run(["systemd-analyze", "security", "--offline=yes", "--no-pager",
                                       unit], capture_output=True, text=True).stdout)
    expect(inside <= offline, "exposure %.1f inside, %.1f offline" % (inside, offline))
    return "exposure %.1f (offline %.1f)" % (inside, offline)


@check("no failed unit, and nginx answered no 502")
def nothing_failed(c, client):
    failed = c.out("systemctl", "list-units", "--failed", "--plain", "--no-legend")
    expect(not failed, "failed units: " + failed)
    log = c.out("sh", "-c", "cat /var/log/nginx/*access*.log 2>/dev/null || true")
    lines = log.count("\n") + 1
    bad = [l for l in log.splitlines() if re.search(r'" 502 ', l)]
    expect(not bad, "%d of %d requests got 502: %s" % (len(bad), lines, bad[:2]))
    return "%d requests in nginx's log, none 502" % lines


@check("after a reboot: leadhook up by itself, after PostgreSQL, with its data", phase="rebooted")
def after_reboot(c, client):
    expect(c.show(SERVICE, "UnitFileState") == "enabled", "leadhook.service is not enabled")
    for unit in ("leadhook.socket", SERVICE, "leadhook-purge.timer", "nginx.service"):
        state = c.show(unit, "ActiveState")
        expect(state == "active", "%s is %s after the reboot" % (unit, state))
    # After=postgresql.service: the database was there when leadhook started.
    warnings = c.out("journalctl", "--no-pager", "-o", "cat", "-b", "-u", SERVICE, "-p", "warning")
    expect(not warnings, "leadhook warned at boot: " + warnings[-300:])
    expect(wait_until("/api/v1/ready answers 200", lambda: client.ready() == 200, 30),
           "never ready")
    events = int(c.sql("SELECT count(*) FROM lead_email_events"))
    expect(events > 0, "no events survived the reboot")
    status, event_id = client.webhook(current_key(c))
    expect(status == 200, "a webhook after the reboot answered %d" % status)
    failed = c.out("systemctl", "list-units", "--failed", "--plain", "--no-legend")
    expect(not failed, "failed units: " + failed)
    return "socket, service (pid %d), timer and nginx active; no warning at boot; " \
           "%d events kept; a new one stored" % (c.main_pid(), events)
