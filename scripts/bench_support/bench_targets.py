"""Issue 6's targets judged from one run (the report's "Targets" section, with
issue 22's measured ratio to the original app), and the soak's RSS series
(its "Soak" section)."""
import statistics

from bench_format import fmt_ms
from bench_peer import peer_target_line

# Issue 6's targets.
TARGET_RPS = 15000             # webhooks/s at 64 connections
TARGET_HMAC_SHARE = 0.45       # of the HMAC-only FastCGI responder, same run
ORIGINAL_APP_RPS = 950         # the Flask app, as issue 6 gives it (issue 22's is measured: bench_peer)
TARGET_ORIGINAL_FACTOR = 15
TARGET_P99_MS = 10.0           # at 64 connections
TARGET_IDLE_MS = 2.0           # one request at a time
TARGET_RSS_MB = 32             # under that load; flat over 5 minutes
TARGET_CONNECTIONS = 64
SOAK_FLAT = 0.10               # every sample from the start sample on within ±10 % of it
SOAK_ISSUE_SECONDS = 300


def met(ok):
    return "**met**" if ok else "**not met**"


def soak_summary(soak):
    """Start (after the soak's own warm-up), end, max and flatness of the RSS series."""
    series = soak["rss_series"]
    if len(series) < 2:
        return None
    # The first tenth of the run (at most 30 s) lets per-thread buffers
    # reach their working size; the start sample is the first after it.
    warm = min(30, soak["seconds"] / 10)
    after = [(t, kib) for t, kib in series if t >= warm and kib > 0]
    if len(after) < 2:
        return None
    start = after[0][1]
    end = after[-1][1]
    top = max(kib for _, kib in after)
    low = min(kib for _, kib in after)
    flat = top <= start * (1 + SOAK_FLAT) and low >= start * (1 - SOAK_FLAT)
    return {"warm": warm, "start_t": after[0][0], "start": start, "end": end, "max": top,
            "min": low, "flat": flat, "samples": len(after),
            "overall_max": max(kib for _, kib in series)}


def rss_verdict(kib):
    """32 MB read both ways: met for both, only as MiB, or for neither."""
    b = kib * 1024
    mib = f"{kib / 1024:.1f} MiB ({b / 1e6:.1f} MB)"
    if b <= TARGET_RSS_MB * 1e6:
        return mib, met(True)
    if b <= TARGET_RSS_MB * 1024 * 1024:
        return mib, "**met only if MB means MiB**"
    return mib, met(False)


def targets_section(w, meta, runs, hmac, idle, soak, db_runs, conns, peer_pairs=()):
    c = TARGET_CONNECTIONS
    w("## Targets (issue 6; issue 22's ratio to the original app), from this run\n")
    w(f"Each line compares this run's numbers with a target of issue 6 (issue 22's where it says so); "
      f"leadhook's figures are the medians of its runs at {c} connections. These are measurements on this machine, in this run, with the "
      f"load generator and PostgreSQL on the same {meta['nproc']} cores, so a machine that is busy with other "
      "work (see the load average above) understates every throughput here.\n")
    w("| target | measured in this run | verdict |")
    w("|---|---|---|")
    lh = [r for r in runs if r["connections"] == c]
    hm = [r for r in hmac if r["connections"] == c]
    if lh:
        rps = statistics.median([r["rps"] for r in lh])
        p99 = statistics.median([r["p99_us"] for r in lh]) / 1000
        w(f"| at least {TARGET_RPS:,} webhooks/s at {c} connections | {rps:,.0f} req/s "
          f"({100 * rps / TARGET_RPS:.1f} % of the target) | {met(rps >= TARGET_RPS)} |")
        if hm:
            h = statistics.median([r["rps"] for r in hm])
            share = rps / h
            w(f"| at least {100 * TARGET_HMAC_SHARE:.0f} % of the HMAC-only FastCGI responder, same run, "
              f"{c} connections | {rps:,.0f} / {h:,.0f} req/s = {100 * share:.1f} % | "
              f"{met(share >= TARGET_HMAC_SHARE)} |")
        else:
            w(f"| at least {100 * TARGET_HMAC_SHARE:.0f} % of the HMAC-only FastCGI responder | "
              f"responder not measured at {c} connections | not judged |")
        orig = TARGET_ORIGINAL_FACTOR * ORIGINAL_APP_RPS
        w(f"| at least {TARGET_ORIGINAL_FACTOR}× the original app: {TARGET_ORIGINAL_FACTOR} × "
          f"{ORIGINAL_APP_RPS} = {orig:,} webhooks/s (original app figure from the issue, "
          f"not measured here) | {rps:,.0f} req/s = {rps / ORIGINAL_APP_RPS:.1f}× {ORIGINAL_APP_RPS} | "
          f"{met(rps >= orig)} |")
        w(f"| p99 at most {TARGET_P99_MS:g} ms at {c} connections | {p99:.2f} ms | "
          f"{met(p99 <= TARGET_P99_MS)} |")
    else:
        w(f"| throughput, share of the HMAC-only responder, p99 | not measured: {c} is not among the "
          f"connection counts ({' '.join(map(str, conns))}) | not judged |")
    peer_target_line(w, peer_pairs, met)
    if idle:
        i = idle[0]
        p50, p99 = i["p50_us"] / 1000, i["p99_us"] / 1000
        w(f"| idle single-request latency at most {TARGET_IDLE_MS:g} ms (judged on the median) | "
          f"median {p50:.2f} ms, p99 {p99:.2f} ms (1 connection, one request at a time, "
          f"{i['seconds']} s, {i['requests']} requests, non-2xx {i['non2xx']}) | "
          f"{met(p50 <= TARGET_IDLE_MS and i['non2xx'] == 0)}"
          f"{'' if p99 <= TARGET_IDLE_MS else f'; p99 over {TARGET_IDLE_MS:g} ms'} |")
    else:
        w(f"| idle single-request latency at most {TARGET_IDLE_MS:g} ms | not measured | not judged |")
    loaded = [r for r in runs if r["connections"] == c] + soak
    if loaded:
        peak = max(r["peak_rss_kib"] for r in loaded)
        text, verdict = rss_verdict(peak)
        w(f"| resident memory at most {TARGET_RSS_MB} MB under the {c}-connection load | peak VmRSS "
          f"{text}{', soak included' if soak else ''} | {verdict} |")
    else:
        w(f"| resident memory at most {TARGET_RSS_MB} MB under the {c}-connection load | not measured at "
          f"{c} connections | not judged |")
    if soak:
        sm = soak_summary(soak[0])
        secs = soak[0]["seconds"]
        if sm is None:
            w(f"| resident memory flat over a {SOAK_ISSUE_SECONDS // 60}-minute run | soak of {secs} s "
              "too short to judge | not judged |")
        else:
            if secs >= SOAK_ISSUE_SECONDS:
                short, verdict = "", met(sm["flat"])
            else:  # a shorter soak can show growth, not prove flatness over 5 minutes
                short = f"; shorter than the issue's {SOAK_ISSUE_SECONDS} s"
                verdict = "flat in this shorter run; not judged" if sm["flat"] else met(False)
            w(f"| resident memory flat over a {SOAK_ISSUE_SECONDS // 60}-minute run (within "
              f"±{100 * SOAK_FLAT:.0f} % of the start) | {secs} s soak: start {sm['start'] / 1024:.1f} MiB, "
              f"end {sm['end'] / 1024:.1f} MiB, max {sm['max'] / 1024:.1f} MiB{short} | {verdict} |")
    else:
        w(f"| resident memory flat over a {SOAK_ISSUE_SECONDS // 60}-minute run | not run "
          f"(`scripts/bench --soak-rss {SOAK_ISSUE_SECONDS}`) | not judged |")
    w("")
    if db_runs:
        best = max(db_runs, key=lambda r: r["events_per_s"])
        w(f"For scale: PostgreSQL alone, running leadhook's batch write with nothing else busy, took at "
          f"most {best['events_per_s']:,.0f} events/s in this run ({best['writers']} writers, "
          f"{best['batch']} events per transaction; see the ceilings). "
          + (f"The {TARGET_RPS:,} webhooks/s target is more than that, even before nginx, wrk and "
             "leadhook's request handling take their share of the same cores.\n"
             if best["events_per_s"] < TARGET_RPS else
             f"The {TARGET_RPS:,} webhooks/s target is within that; nginx, wrk and leadhook's request "
             "handling share the same cores.\n"))


def soak_section(w, soak):
    s = soak[0]
    sm = soak_summary(s)
    w("## Soak: leadhook's RSS under load\n")
    w(f"One {s['seconds']} s run at {s['connections']} connections: {s['rps']:.0f} req/s, "
      f"p50 {fmt_ms(s['p50_us'])} ms, p99 {fmt_ms(s['p99_us'])} ms, non-2xx {s['non2xx']}, socket errors "
      f"{s['socket_errors']}, pool exhausted {s['exhausted']}, events/request {s['events_per_request']:.3f}.\n")
    if sm is None:
        w("Too few RSS samples to judge.\n")
    else:
        w(f"VmRSS sampled every 5 s. Start (first sample after the first {sm['warm']:g} s): "
          f"{sm['start'] / 1024:.1f} MiB at {sm['start_t']} s; end {sm['end'] / 1024:.1f} MiB; max "
          f"{sm['max'] / 1024:.1f} MiB, min {sm['min'] / 1024:.1f} MiB over {sm['samples']} samples "
          f"(max of the whole run, warm-up included: {sm['overall_max'] / 1024:.1f} MiB). "
          f"Flat within ±{100 * SOAK_FLAT:.0f} % of the start: **{'yes' if sm['flat'] else 'no'}**.\n")
        w("VmRSS MiB at each sample (seconds into the run: MiB): "
          + ", ".join(f"{t}: {kib / 1024:.1f}" for t, kib in s["rss_series"]) + ".\n")
