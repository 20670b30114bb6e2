#!/usr/bin/env python3
"""A local stand-in for Mailgun's read APIs, for `leadhook backfill`'s tests
and the README's quick path. Mailgun's API cannot be reached from the tests,
so this serves the shapes Mailgun publishes (docs/backfill.md lists the
sources), strictly: a request that does not match them is answered 400 with
Mailgun's {"message": ...}, so a client that drifts from the published shape
fails here too.

  POST /v1/analytics/logs           Logs API: JSON body, RFC 2822 start/end,
                                    filter {"AND": [{"attribute": "domain",
                                    "comparator": "=", "values": [{"label",
                                    "value"}]}]}, pagination {sort, limit <= 100,
                                    token}; items with "@timestamp" (RFC 3339,
                                    ms) and user-variables as a JSON string; the
                                    last page has "pagination": {}.
  GET  /v3/DOMAIN/events            Events API: begin, end (epoch seconds or
                                    RFC 2822), ascending=yes, limit <= 300;
                                    items are webhook event-data; paging.next
                                    is a URL; a page without items ends it.
  GET  /v3/DOMAIN/{bounces,complaints,unsubscribes}
                                    limit <= 1000; paging first/next/previous/
                                    last URLs; next == last on the last page.
Every request needs HTTP basic auth api:KEY; otherwise 401 "Forbidden"
(text/plain, as Mailgun answers).

The events are the corpus's JSON webhooks' event-data (tests/data/mailgun;
each keeps its file name in FakeEvent.source), each given a distinct id when
its sample has none, spread one minute apart from `start` (keeping each
sample's fraction of a second) and sent from `domain`. Faults for the tests:
`fail_next(status, retry_after=None, body=None, times=1)` answers the next
requests so; `delay_page(n, seconds)` holds page n (1-based, any API) before
answering.

Standard library only. Run standalone (the README's quick path); with
--pid-file it serves in the background once it listens, and --stop stops
that one and waits until it has gone:
    python3 tests/integration/fake_mailgun.py --port 8025 --key-file KEYFILE \
        --start 2026-12-01T09:00:00Z --pid-file var/fake-mailgun.pid
    python3 tests/integration/fake_mailgun.py --stop var/fake-mailgun.pid
"""
import argparse
import base64
import copy
import email.utils
import glob
import json
import os
import signal
import sys
import threading
import time
import urllib.parse
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "..", "data", "mailgun")
LOGS_MAX = 100
EVENTS_MAX = 300
SUPPRESSION_MAX = 1000


class FakeEvent:
    """One event Mailgun holds: its event-data (webhook / Events API shape)
    and the corpus file it came from."""

    def __init__(self, data, source):
        self.data = data
        self.source = source

    @property
    def timestamp(self):
        return self.data["timestamp"]


def corpus_events(domain, start, step=60.0):
    """The corpus's usable JSON event-data, one `step` apart from `start`
    (Unix seconds), each with an id and this domain."""
    events = []
    for path in sorted(glob.glob(os.path.join(CORPUS, "*.json"))):
        name = os.path.basename(path)
        if "NEG-" in name or name == "vectors.json":
            continue
        with open(path) as f:
            data = copy.deepcopy(json.load(f).get("event-data"))
        if not isinstance(data, dict) or not data.get("event"):
            continue
        fraction = float(data.get("timestamp") or 0) % 1
        data["timestamp"] = round(start + len(events) * step + fraction, 6)
        data["id"] = "%s-%02d" % (data.get("id") or "fake", len(events))
        data["domain"] = {"name": domain}
        if not isinstance(data.get("envelope"), dict):
            data["envelope"] = {}
        data["envelope"]["sender"] = "followup@" + domain
        events.append(FakeEvent(data, name))
    return events


def rfc2822_seconds(text):
    """Mailgun's RFC 2822 dates (also with UTC/GMT), as Unix seconds, or None."""
    try:
        parsed = email.utils.parsedate_to_datetime(text.replace(" UTC", " +0000"))
    except (TypeError, ValueError):
        return None
    if parsed is None or parsed.tzinfo is None:
        return None
    return parsed.timestamp()


def logs_item(event):
    """An event as the Logs API lists it: the same fields, but the time as
    "@timestamp" to the millisecond and user-variables as a JSON string."""
    item = copy.deepcopy(event.data)
    ts = item.pop("timestamp")
    millis = int(ts * 1000)  # the Logs API keeps milliseconds: truncated
    item["@timestamp"] = datetime.fromtimestamp(millis / 1000, timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (millis % 1000)
    item["user-variables"] = json.dumps(item.get("user-variables") or {})
    item["account"] = {"id": "fake-account"}
    storage = item.get("storage")
    if isinstance(storage, dict) and isinstance(storage.get("url"), str):
        storage["url"] = [storage["url"]]
    return item


class FakeMailgun:
    """The server, in a thread: `with FakeMailgun(...) as api:` then api.base."""

    def __init__(self, key, domain, events, port, page_size=None, suppressions=None):
        self.key = key
        self.domain = domain
        self.events = sorted(events, key=lambda e: e.timestamp)
        self.page_size = page_size  # fewer than the limit per page, to make pages
        self.suppressions = suppressions or {"bounces": [], "complaints": [], "unsubscribes": []}
        self.requests = []  # (method, path, parsed body or query), in order
        self.pages_served = 0
        self._faults = []
        self._delays = {}
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self.base = "http://127.0.0.1:%d" % port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def fail_next(self, status, retry_after=None, body=None, times=1):
        with self._lock:
            for _ in range(times):
                self._faults.append((status, retry_after, body))

    def delay_page(self, number, seconds):
        self._delays[number] = seconds

    # -- the APIs ---------------------------------------------------------

    def _window(self, begin, end):
        return [e for e in self.events if begin <= e.timestamp < end]

    def logs(self, request):
        problem = self._check_logs_request(request)
        if problem:
            return 400, {"message": problem}
        begin = rfc2822_seconds(request["start"])
        end = rfc2822_seconds(request["end"])
        pagination = request.get("pagination") or {}
        limit = min(int(pagination.get("limit") or LOGS_MAX), self.page_size or LOGS_MAX)
        wanted = request["filter"]["AND"][0]["values"][0]["value"]
        window = self._window(begin, end) if wanted == self.domain else []
        offset = self._decode_token(pagination.get("token"))
        if offset is None:
            return 400, {"message": "invalid pagination token"}
        page = window[offset:offset + limit]
        answer = {"start": request["start"], "end": request["end"],
                  "items": [logs_item(e) for e in page], "aggregates": {}}
        if offset + limit < len(window):
            answer["pagination"] = {"next": self._encode_token(offset + limit),
                                    "first": self._encode_token(0)}
        else:
            answer["pagination"] = {}
        return 200, answer

    def _check_logs_request(self, request):
        if not isinstance(request, dict):
            return "the body must be a JSON object"
        for field in ("start", "end"):
            if rfc2822_seconds(request.get(field) or "") is None:
                return "'%s' must be an RFC 2822 date" % field
        try:
            clause = request["filter"]["AND"][0]
            value = clause["values"][0]
            assert clause["attribute"] == "domain" and clause["comparator"] == "="
            assert value["label"] and value["value"]
        except (KeyError, IndexError, TypeError, AssertionError):
            return "filter must be {\"AND\": [{\"attribute\": \"domain\", \"comparator\": \"=\"," \
                   " \"values\": [{\"label\": ..., \"value\": ...}]}]}"
        pagination = request.get("pagination") or {}
        if int(pagination.get("limit") or 0) > LOGS_MAX:
            return "pagination.limit must be at most %d" % LOGS_MAX
        if pagination.get("sort") not in (None, "timestamp:asc", "timestamp:desc"):
            return "pagination.sort must be timestamp:asc or timestamp:desc"
        return None

    def events_api(self, domain, query, token):
        if token is not None:
            state = self._decode_state(token)
            if state is None:
                return 400, {"message": "invalid page"}
            begin, end, offset, limit = state
        else:
            problem = None
            try:
                begin = self._time_param(query["begin"][0])
                end = self._time_param(query["end"][0])
                limit = int(query.get("limit", ["100"])[0])
            except (KeyError, ValueError):
                problem = "begin and end must be epoch seconds or RFC 2822"
            if not problem and query.get("ascending", [""])[0] != "yes":
                problem = "leadhook always asks ascending=yes"
            if not problem and limit > EVENTS_MAX:
                problem = "limit must be at most %d" % EVENTS_MAX
            if problem:
                return 400, {"message": problem}
            offset = 0
        window = self._window(begin, end) if domain == self.domain else []
        size = min(limit, self.page_size or limit)
        page = window[offset:offset + size]
        url = "%s/v3/%s/events/" % (self.base, domain)
        following = url + self._encode_state(begin, end, offset + len(page), limit)
        return 200, {"items": [copy.deepcopy(e.data) for e in page],
                     "paging": {"next": following,
                                "previous": url + self._encode_state(begin, end, 0, limit),
                                "first": url + self._encode_state(begin, end, 0, limit),
                                "last": url + self._encode_state(begin, end, len(window), limit)}}

    def suppression_list(self, domain, kind, query):
        try:
            limit = int(query.get("limit", ["100"])[0])
        except ValueError:
            return 400, {"message": "limit must be a number"}
        if limit > SUPPRESSION_MAX:
            return 400, {"message": "limit must be at most %d" % SUPPRESSION_MAX}
        entries = sorted(self.suppressions.get(kind, []) if domain == self.domain else [],
                         key=lambda e: e["address"])
        size = min(limit, self.page_size or limit)
        after = query.get("address", [None])[0] if query.get("page") == ["next"] else None
        rest = [e for e in entries if after is None or e["address"] > after]
        page = rest[:size]
        url = "%s/v3/%s/%s" % (self.base, domain, kind)
        last_address = page[-1]["address"] if page else (after or "")
        quoted = urllib.parse.quote(last_address, safe="")
        paging = {"first": "%s?limit=%d&term=" % (url, limit),
                  "last": "%s?page=last&limit=%d&term=" % (url, limit),
                  "previous": "%s?page=previous&address=%s&limit=%d&term=" % (url, quoted, limit)}
        paging["next"] = ("%s?page=next&address=%s&limit=%d&term=" % (url, quoted, limit)
                          if len(rest) > size else paging["last"])
        return 200, {"items": page, "paging": paging}

    # -- plumbing ---------------------------------------------------------

    @staticmethod
    def _time_param(text):
        try:
            return float(text)
        except ValueError:
            seconds = rfc2822_seconds(text)
            if seconds is None:
                raise
            return seconds

    @staticmethod
    def _encode_token(offset):
        return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode()

    @staticmethod
    def _decode_token(token):
        if token is None:
            return 0
        try:
            return int(json.loads(base64.urlsafe_b64decode(token.encode()))["o"])
        except (ValueError, KeyError, TypeError):
            return None

    @staticmethod
    def _encode_state(begin, end, offset, limit):
        raw = json.dumps([begin, end, offset, limit]).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @staticmethod
    def _decode_state(token):
        try:
            padded = token + "=" * (-len(token) % 4)
            begin, end, offset, limit = json.loads(base64.urlsafe_b64decode(padded.encode()))
            return float(begin), float(end), int(offset), int(limit)
        except (ValueError, TypeError):
            return None

    def _authorised(self, header):
        if not header or not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        return user == "api" and password == self.key

    def _route(self, method, path, query, body):
        parts = [p for p in path.split("/") if p]
        if method == "POST" and parts == ["v1", "analytics", "logs"]:
            try:
                request = json.loads(body or b"null")
            except ValueError:
                return 400, {"message": "the body is not JSON"}
            self.requests.append((method, path, request))
            return self.logs(request)
        if method == "GET" and len(parts) >= 3 and parts[0] == "v3":
            domain = urllib.parse.unquote(parts[1])
            self.requests.append((method, path, query))
            if parts[2] == "events" and len(parts) in (3, 4):
                return self.events_api(domain, query, parts[3] if len(parts) == 4 else None)
            if parts[2] in ("bounces", "complaints", "unsubscribes") and len(parts) == 3:
                return self.suppression_list(domain, parts[2], query)
        return 404, {"message": "not found"}

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _answer(self, status, payload, headers=()):
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                kind = "text/plain; charset=utf-8" if isinstance(payload, bytes) else \
                    "application/json; charset=utf-8"
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers:
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def _serve(self, method):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if not fake._authorised(self.headers.get("Authorization")):
                    return self._answer(401, b"Forbidden",
                                        [("Www-Authenticate", 'Basic realm="MG API"')])
                with fake._lock:
                    fault = fake._faults.pop(0) if fake._faults else None
                if fault:
                    status, retry_after, text = fault
                    headers = [("Retry-After", str(retry_after))] if retry_after is not None else []
                    return self._answer(status, text if isinstance(text, bytes) else
                                        {"message": text or "fake fault %d" % status}, headers)
                url = urllib.parse.urlsplit(self.path)
                status, payload = fake._route(method, url.path,
                                              urllib.parse.parse_qs(url.query), body)
                if status == 200:
                    with fake._lock:
                        fake.pages_served += 1
                        number = fake.pages_served
                    time.sleep(fake._delays.get(number, 0))
                self._answer(status, payload)

            def do_GET(self):
                self._serve("GET")

            def do_POST(self):
                self._serve("POST")

        return Handler


def stop(pid_file):
    """SIGTERMs the background fake named in pid_file and waits (5 s at most)
    until it has exited, so that its port is free when this returns."""
    with open(pid_file) as f:
        pid = int(f.read().strip())
    try:
        os.kill(pid, signal.SIGTERM)
        for _ in range(100):
            os.kill(pid, 0)
            time.sleep(0.05)
        sys.exit("fake Mailgun API (pid %d) did not stop within 5 s" % pid)
    except ProcessLookupError:
        os.remove(pid_file)


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--stop":
        return stop(sys.argv[2])
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8025, help="loopback port (below 32768)")
    parser.add_argument("--key-file", required=True, help="the API key the fake accepts")
    parser.add_argument("--domain", default="mg.example.com")
    parser.add_argument("--start", default=None,
                        help="RFC 3339 time of the first event (default: 2 hours ago)")
    parser.add_argument("--page-size", type=int, default=5)
    parser.add_argument("--pid-file", help="serve in the background; write its pid here")
    parser.add_argument("--stop", metavar="PID_FILE",
                        help="stop the fake serving in the background (alone)")
    args = parser.parse_args()
    with open(args.key_file) as f:
        key = f.readline().strip()
    start = (datetime.fromisoformat(args.start.replace("Z", "+00:00")).timestamp()
             if args.start else time.time() - 7200)
    events = corpus_events(args.domain, start)
    fake = FakeMailgun(key, args.domain, events, args.port, page_size=args.page_size)
    print("fake Mailgun API on %s: %d events of %s from %s" % (
        fake.base, len(events), args.domain,
        datetime.fromtimestamp(start, timezone.utc).isoformat()), flush=True)
    if args.pid_file:
        child = os.fork()  # listening already: the caller may use it at once
        if child:
            with open(args.pid_file, "w") as f:
                f.write("%d\n" % child)
            return
        os.setsid()
        with open(os.devnull, "r+") as null:
            for stream in (sys.stdin, sys.stdout, sys.stderr):
                os.dup2(null.fileno(), stream.fileno())
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))  # the kernel closes the socket
    with fake:
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
