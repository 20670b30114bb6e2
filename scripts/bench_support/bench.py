#!/usr/bin/env python3
"""Helpers for scripts/bench (stdlib only).

  bench.py free-port                      print a free TCP port on 127.0.0.1 below 32768
  bench.py gen --key K --leads N --count C --threads T --out DIR --seq S
                                          write C unique signed JSON bodies, one a line,
                                          split into DIR/bodies.1 .. DIR/bodies.T
  bench.py pgbench-script --leads N --out FILE
                                          the per-event write as a pgbench script
  bench.py report --results FILE --out MD  median/min-max table to MD and stdout
"""
import argparse
import base64
import hashlib
import hmac
import json
import os
import random
import socket
import statistics
import sys
import time

# Share of each event type (percent): mostly opens and clicks.
MIX = [
    ("opened", 45),
    ("clicked", 35),
    ("delivered", 8),
    ("unsubscribed", 3),
    ("complained", 2),
    ("failed-permanent", 4),
    ("failed-temporary", 3),
]
CLIENT = {
    "client-type": "browser",
    "client-os": "Linux",
    "device-type": "desktop",
    "client-name": "Firefox",
    "user-agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
}
GEO = {"country": "US", "region": "CA", "city": "San Francisco"}


def message_id(lead):
    return f"bench.{lead}@leadhook.bench"


def recipient(lead):
    return f"lead{lead}@bench.test"


def event_data(kind, lead, event_id, ts, rnd):
    rcpt = recipient(lead)
    base = {"id": event_id, "timestamp": ts, "log-level": "info"}
    if kind in ("opened", "clicked", "unsubscribed", "complained", "delivered"):
        base["event"] = kind
    base["recipient"] = rcpt
    base["recipient-domain"] = "bench.test"
    if kind in ("opened", "clicked", "unsubscribed"):
        base["ip"] = f"198.51.100.{rnd.randrange(1, 255)}"
        base["geolocation"] = GEO
        base["client-info"] = CLIENT
        if kind == "clicked":
            base["url"] = f"https://example.com/pricing?v={rnd.randrange(1000)}"
        base["message"] = {"headers": {"message-id": message_id(lead)}}
    elif kind == "complained":
        base["log-level"] = "warn"
        base["message"] = {"headers": {"message-id": message_id(lead)}}
    elif kind == "delivered":
        base["envelope"] = {"transport": "smtp", "sender": "sales@leadhook.test",
                            "sending-ip": "192.0.2.25", "targets": rcpt}
        base["delivery-status"] = {"tls": True, "mx-host": "mx.bench.test", "code": 250,
                                   "description": "", "session-seconds": 0.31,
                                   "message": "OK", "attempt-no": 1}
        base["message"] = {"headers": {"to": rcpt, "message-id": message_id(lead),
                                       "from": "Leadhook Sales <sales@leadhook.test>",
                                       "subject": "Following up on your enquiry"},
                           "attachments": [], "size": 2048}
    else:  # failed permanent / temporary
        permanent = kind == "failed-permanent"
        base["log-level"] = "error" if permanent else "warn"
        base["event"] = "failed"
        base["severity"] = "permanent" if permanent else "temporary"
        base["reason"] = "bounce" if permanent else "generic"
        base["envelope"] = {"transport": "smtp", "sender": "sales@leadhook.test",
                            "sending-ip": "192.0.2.25", "targets": rcpt}
        base["delivery-status"] = {
            "tls": True, "mx-host": "mx.bench.test", "code": 550 if permanent else 452,
            "description": "", "session-seconds": 0.31, "attempt-no": 1,
            "message": "5.1.1 The email account that you tried to reach does not exist."
            if permanent else "4.2.2 Mailbox full, try again later."}
        base["message"] = {"headers": {"to": rcpt, "message-id": message_id(lead),
                                       "from": "Leadhook Sales <sales@leadhook.test>",
                                       "subject": "Following up on your enquiry"},
                           "attachments": [], "size": 2048}
    base["tags"] = []
    base["campaigns"] = []
    base["user-variables"] = {}
    return base


def cmd_free_port(_):
    for _ in range(200):
        port = random.randrange(20000, 32000)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            print(port)
            return 0
    print("no free port", file=sys.stderr)
    return 1


def cmd_gen(a):
    key = a.key.encode()
    rnd = random.Random(a.seq * 7919 + os.getpid())
    kinds = [k for k, w in MIX for _ in range(w)]
    now = int(time.time())
    files = [open(os.path.join(a.out, f"bodies.{t + 1}"), "w") for t in range(a.threads)]
    counts = {}
    for i in range(a.count):
        kind = kinds[rnd.randrange(len(kinds))]
        counts[kind] = counts.get(kind, 0) + 1
        lead = rnd.randrange(1, a.leads + 1)
        token = os.urandom(25).hex()
        event_id = base64.urlsafe_b64encode(os.urandom(16)).decode().rstrip("=")
        # events in the last hour (microsecond precision), signed now
        ts = round(now - rnd.random() * 3600, 6)
        sig = hmac.new(key, f"{now}{token}".encode(), hashlib.sha256).hexdigest()
        body = {"signature": {"timestamp": str(now), "token": token, "signature": sig},
                "event-data": event_data(kind, lead, event_id, ts, rnd)}
        files[i % a.threads].write(json.dumps(body, separators=(",", ":")) + "\n")
    for f in files:
        f.close()
    json.dump(counts, sys.stdout)
    print()
    return 0


def cmd_pgbench_script(a):
    payload = json.dumps(event_data("opened", 1, "pgbench", time.time(), random.Random(1)),
                         separators=(",", ":")).replace("'", "''")
    print(f"""\\set lead random(1, {a.leads})
BEGIN;
INSERT INTO webhook_tokens (token, body_sha256, signed_at, received_at, key_label)
  VALUES (md5(random()::text || clock_timestamp()::text) || md5(random()::text),
          sha256(random()::text::bytea), now(), now(), 'pgbench') ON CONFLICT (token) DO NOTHING;
SELECT id, followup_email_opens FROM leads
  WHERE btrim(followup_email_receipt_id, '<> ') = 'bench.' || :lead || '@leadhook.bench'
  ORDER BY followup_email_sent_date DESC NULLS LAST, id DESC LIMIT 1 FOR UPDATE;
WITH event AS (INSERT INTO lead_email_events (lead_id, event_type, mailgun_event, recipient,
    message_id, mailgun_event_id, event_time, received_at, ip, country, region, city,
    device_type, client_type, client_name, client_os, user_agent, tags, user_variables,
    token, signature, body_format, route, signing_key_label)
  VALUES (:lead, 'opened', 'opened', 'lead' || :lead || '@bench.test',
    'bench.' || :lead || '@leadhook.bench', md5(random()::text), now() - random() * interval '1 hour', now(),
    '198.51.100.7', 'US', 'CA', 'San Francisco', 'desktop', 'browser', 'Firefox', 'Linux',
    'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0', '{{}}', '{{}}',
    md5(random()::text), md5(random()::text) || md5(random()::text), 'json', '/api/v1/wh/mg/events',
    'pgbench')
  ON CONFLICT (mailgun_event_id, event_time) WHERE mailgun_event_id IS NOT NULL DO NOTHING
  RETURNING id, event_time, received_at)
INSERT INTO lead_email_event_payloads (event_id, event_time, received_at, payload)
  SELECT id, event_time, received_at, '{payload}'::jsonb FROM event;
UPDATE leads SET followup_email_opens = followup_email_opens + 1,
  followup_email_open_ip = '198.51.100.7', followup_email_open_device = 'desktop',
  followup_email_open_at = now(), followup_email_status = 'opened',
  followup_email_status_at = now(), webhook_last_updated = now()
  WHERE id = :lead;
END;""")
    return 0


def fmt_ms(us):
    return f"{us / 1000:.2f}"


def rng(values, f):
    lo, hi = min(values), max(values)
    mid = statistics.median(values)
    return f"{f(mid)}" if len(values) == 1 else f"{f(mid)} ({f(lo)}–{f(hi)})"


def cmd_report(a):
    rows = [json.loads(line) for line in open(a.results) if line.strip()]
    meta = json.load(open(a.meta))
    runs = [r for r in rows if r["kind"] == "leadhook"]
    nginx = {r["connections"]: r for r in rows if r["kind"] == "nginx"}
    pgb = [r for r in rows if r["kind"] == "pgbench"]
    conns = sorted({r["connections"] for r in runs})
    out = []
    w = out.append
    w("# leadhook benchmarks\n")
    w(f"Generated by `scripts/bench {meta['args']}` on {meta['date']}.\n")
    w("## Machine\n")
    for k in ("cpu", "nproc", "memory", "kernel", "postgresql", "nginx", "wrk", "commit", "load"):
        w(f"- {k}: {meta[k]}")
    w("")
    w("## Method\n")
    w(meta["method"] + "\n")
    w("## Results\n")
    w(f"Median of {meta['runs']} run(s) of {meta['duration']} s each; min–max in parentheses.\n")
    w("| connections | requests/s | p50 ms | p99 ms | non-2xx | socket errors | events/request "
      "| rows/request | peak RSS MiB | pool exhausted |")
    w("|---|---|---|---|---|---|---|---|---|---|")
    table_lines = []
    for c in conns:
        rs = [r for r in runs if r["connections"] == c]
        line = (f"| {c} | {rng([r['rps'] for r in rs], lambda v: f'{v:.0f}')} "
                f"| {rng([r['p50_us'] for r in rs], fmt_ms)} "
                f"| {rng([r['p99_us'] for r in rs], fmt_ms)} "
                f"| {sum(r['non2xx'] for r in rs)} "
                f"| {sum(r['socket_errors'] for r in rs)} "
                f"| {rng([r['events_per_request'] for r in rs], lambda v: f'{v:.3f}')} "
                f"| {rng([r['rows_per_request'] for r in rs], lambda v: f'{v:.2f}')} "
                f"| {max(r['peak_rss_kib'] for r in rs) / 1024:.1f} "
                f"| {sum(r['exhausted'] for r in rs)} |")
        w(line)
        table_lines.append(line)
    w("")
    w("events/request: `lead_email_events` rows added / bodies posted (including the few still in flight "
      "when wrk stopped, so at most 1); rows/request also counts "
      "`lead_email_event_payloads` and `webhook_tokens` rows (the `leads` UPDATE is not counted). "
      "peak RSS: highest VmRSS of the leadhook process sampled every 0.5 s during the runs "
      f"(VmHWM at the end: {meta.get('vmhwm_kib', 0) / 1024:.1f} MiB).\n")
    w("## Ceilings (same run, same machine)\n")
    w("| ceiling | connections/clients | requests or transactions/s | p50 ms | p99 ms | leadhook median as share |")
    w("|---|---|---|---|---|---|")
    for c in conns:
        med = statistics.median([r["rps"] for r in runs if r["connections"] == c])
        if c in nginx:
            n = nginx[c]
            w(f"| nginx static `return 200` (1 worker, keepalive) | {c} | {n['rps']:.0f} "
              f"| {fmt_ms(n['p50_us'])} | {fmt_ms(n['p99_us'])} | {100 * med / n['rps']:.1f} % |")
    for p in pgb:
        meds = ", ".join(
            f"{c} conn: {100 * statistics.median([r['rps'] for r in runs if r['connections'] == c]) / p['tps']:.1f} %"
            for c in conns)
        w(f"| pgbench, the same write (token, lead FOR UPDATE, event, payload, lead UPDATE; one transaction) "
          f"| {p['clients']} | {p['tps']:.0f} | – | {p['latency_ms']:.2f} (mean) | {meds} |")
    w("| minimal FastCGI responder checking only the HMAC, behind nginx | – | not measured yet | | | |")
    w("")
    w("## Correctness under load\n")
    w(meta["correctness"] + "\n")
    text = "\n".join(out) + "\n"
    with open(a.out, "w") as f:
        f.write(text)
    sys.stdout.write(text)
    return 0


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("free-port")
    g = sub.add_parser("gen")
    g.add_argument("--key", required=True)
    g.add_argument("--leads", type=int, required=True)
    g.add_argument("--count", type=int, required=True)
    g.add_argument("--threads", type=int, required=True)
    g.add_argument("--out", required=True)
    g.add_argument("--seq", type=int, default=0)
    s = sub.add_parser("pgbench-script")
    s.add_argument("--leads", type=int, required=True)
    r = sub.add_parser("report")
    r.add_argument("--results", required=True)
    r.add_argument("--meta", required=True)
    r.add_argument("--out", required=True)
    a = p.parse_args()
    return {"free-port": cmd_free_port, "gen": cmd_gen, "pgbench-script": cmd_pgbench_script,
            "report": cmd_report}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
