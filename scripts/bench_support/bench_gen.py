"""The load scripts/bench posts: unique signed JSON webhooks for seeded leads,
in the event mix of a follow-up campaign; legacy urlencoded `delivered`
bodies that leadhook and the original Flask app (../shared/peers/flask-seed)
both take; and the same per-event write as a pgbench script (its ceiling).
Used through bench.py."""
import base64
import hashlib
import hmac
import json
import os
import random
import socket
import sys
import time
import urllib.parse

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


# The original app's leads (its schema.sql seeds leadN@example.com); leadhook
# finds its own lead N by the Message-Id, so one body fits both.
PEER_RECIPIENT = "lead{}@example.com"


def signature(key, now, token):
    """Mailgun's signature: hex HMAC-SHA256(key, timestamp + token)."""
    return hmac.new(key, f"{now}{token}".encode(), hashlib.sha256).hexdigest()


def form_delivered(key, lead, now, token):
    """A legacy `delivered` post (application/x-www-form-urlencoded) as Mailgun
    sent one: its fields, message-headers as a JSON string, then timestamp,
    token and signature last, signed HMAC-SHA256(key, timestamp + token)."""
    rcpt = PEER_RECIPIENT.format(lead)
    mid = f"<{message_id(lead)}>"
    sid = base64.b64encode(f'["{lead}", "{rcpt}", "b3n"]'.encode()).decode()
    headers = [["Sender", "sales@leadhook.test"], ["X-Mailgun-Sid", sid], ["Message-Id", mid],
               ["To", rcpt], ["From", "Leadhook Sales <sales@leadhook.test>"],
               ["Subject", "Following up on your enquiry"], ["Mime-Version", "1.0"]]
    sig = signature(key, now, token)
    fields = [("event", "delivered"), ("recipient", rcpt), ("domain", "leadhook.test"),
              ("message-headers", json.dumps(headers)), ("X-Mailgun-Sid", sid), ("Message-Id", mid),
              ("body-plain", ""), ("timestamp", str(now)), ("token", token), ("signature", sig)]
    return urllib.parse.urlencode(fields)


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
    if a.form_delivered:
        kinds = ["delivered"]
    for i in range(a.count):
        kind = kinds[rnd.randrange(len(kinds))]
        counts[kind] = counts.get(kind, 0) + 1
        lead = rnd.randrange(1, a.leads + 1)
        token = os.urandom(25).hex()
        if a.form_delivered:
            files[i % a.threads].write(form_delivered(key, lead, now, token) + "\n")
            continue
        event_id = base64.urlsafe_b64encode(os.urandom(16)).decode().rstrip("=")
        # events in the last hour (microsecond precision), signed now
        ts = round(now - rnd.random() * 3600, 6)
        sig = signature(key, now, token)
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
  ON CONFLICT (mailgun_event_id, event_time, event_type) WHERE mailgun_event_id IS NOT NULL
    DO NOTHING
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
