#!/usr/bin/env python3
"""A client that posts webhooks the way Mailgun does, for scripts/ha-test.

Each body (one JSON webhook a line, from scripts/bench_support/bench.py gen)
is posted until it is answered 200; anything else (503, 502, a refused or
dropped connection, a timeout) is retried with the same body after a short
backoff, as Mailgun retries for hours. New events start at a steady pace so
that faults land in the middle of the run. Writes a JSON summary: every
acknowledged token, the answers seen, and the longest stretch with no 200.

Usage: mailgun_client.py --port PORT --bodies FILE --out FILE
         [--threads N] [--rate EVENTS_PER_S] [--give-up SECONDS]
         [--progress FILE]
Standard library only.
"""
import argparse
import collections
import http.client
import json
import os
import threading
import time

PATH = "/api/v1/wh/mg/events"


class Run:
    def __init__(self, bodies, rate):
        self.bodies = bodies
        self.rate = rate
        self.lock = threading.Lock()
        self.next = 0
        self.start = time.monotonic()
        self.acked = {}        # token -> seconds from start to its 200
        self.given_up = []
        self.answers = collections.Counter()
        self.ok_times = []     # seconds from start of each 200

    def take(self):
        """The next body to start, once its turn at the steady pace has come."""
        with self.lock:
            if self.next >= len(self.bodies):
                return None
            i = self.next
            self.next += 1
        due = self.start + i / self.rate
        time.sleep(max(0.0, due - time.monotonic()))
        return self.bodies[i]

    def note(self, answer, token=None):
        now = time.monotonic() - self.start
        with self.lock:
            self.answers[answer] += 1
            if answer == "200":
                self.acked[token] = now
                self.ok_times.append(now)


def post(port, body):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", PATH, body=body, headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        response.read()
        return str(response.status)
    except (OSError, http.client.HTTPException) as error:
        return type(error).__name__
    finally:
        conn.close()


def worker(run, port, give_up):
    while True:
        body = run.take()
        if body is None:
            return
        token = json.loads(body)["signature"]["token"]
        first = time.monotonic()
        backoff = 0.2
        while True:
            answer = post(port, body)
            run.note(answer, token)
            if answer == "200":
                break
            if time.monotonic() - first > give_up:
                with run.lock:
                    run.given_up.append(token)
                break
            time.sleep(backoff)
            backoff = min(backoff * 2, 2.0)


def longest_gap(times, end):
    """The longest stretch with no 200, from the first to the end of the run."""
    gap, last = 0.0, times[0] if times else 0.0
    for t in sorted(times) + [end]:
        gap, last = max(gap, t - last), t
    return gap


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--bodies", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--threads", type=int, default=16)
    p.add_argument("--rate", type=float, default=50.0)
    p.add_argument("--give-up", type=float, default=180.0)
    p.add_argument("--progress")
    a = p.parse_args()
    with open(a.bodies, "rb") as f:
        bodies = [line.rstrip(b"\n") for line in f if line.strip()]
    run = Run(bodies, a.rate)
    threads = [threading.Thread(target=worker, args=(run, a.port, a.give_up), daemon=True)
               for _ in range(a.threads)]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        time.sleep(0.5)
        if a.progress:
            with run.lock, open(a.progress + ".tmp", "w") as f:
                f.write("%d %d\n" % (len(run.acked), run.next))
            os.replace(a.progress + ".tmp", a.progress)
    end = time.monotonic() - run.start
    summary = {"sent": len(bodies), "acked": sorted(run.acked), "given_up": run.given_up,
               "answers": dict(run.answers), "seconds": round(end, 2),
               "longest_without_200_s": round(longest_gap(run.ok_times, end), 2)}
    with open(a.out, "w") as f:
        json.dump(summary, f)
    print("client: sent=%d acked=%d given_up=%d answers=%s longest_without_200_s=%.1f" % (
        len(bodies), len(run.acked), len(run.given_up), json.dumps(dict(run.answers)),
        summary["longest_without_200_s"]))
    return 0 if len(run.acked) == len(bodies) else 1


if __name__ == "__main__":
    raise SystemExit(main())
