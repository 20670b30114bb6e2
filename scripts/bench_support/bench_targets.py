"""Issue 22's targets judged from one run (the report's "Targets" section),
and the soak's RSS series (its "Soak" section)."""
import statistics

from bench_format import fmt_ms
from bench_peer import peer_target_line
from cpu_budget import median_cost

# Issue 22's targets (ratios and CPU on this machine class).
TARGET_DB_SHARE = 0.80         # of the database alone doing leadhook's write, same writers and batch
TARGET_LEADHOOK_CPU_US = 60    # leadhook's own CPU per webhook, JSON bodies
TARGET_HMAC_CPU_US = 25        # the HMAC-only responder's own CPU per request
TARGET_PG_CPU_US = 110         # PostgreSQL's CPU per webhook, JSON bodies
FIRST_SECOND_SLACK = 0.10      # the first second on empty tables, and the first ten's mean, within 10 %
FIRST_WINDOW = 10              # of the steady state: those first seconds
STEADY_FROM = 20               # the same run's seconds after this are its steady state
TARGET_P99_MS = 12.0           # at 64 connections
TARGET_IDLE_MS = 2.0           # p99 of one request at a time
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


def first_seconds(series, seconds):
    """Events committed in each whole second of the first-seconds run, from
    the (clock seconds, events committed so far) samples: time 0 is the last
    sample before the count rises, and each second's count is interpolated."""
    pts = sorted((t, n) for t, n in series)
    rising = next((k for k in range(1, len(pts)) if pts[k][1] > pts[0][1]), None)
    if rising is None:
        return []
    t0 = pts[rising - 1][0]
    pts = [(t - t0, n) for t, n in pts[rising - 1:]]

    def at(x):
        for (t0, n0), (t1, n1) in zip(pts, pts[1:]):
            if t0 <= x <= t1:
                return n0 + (n1 - n0) * (x - t0) / (t1 - t0) if t1 > t0 else n1
        return None

    out = []
    for k in range(1, seconds + 1):
        a, b = at(k - 1), at(k)
        if a is None or b is None:
            break
        out.append(b - a)
    return out


def cpu_line(w, label, cost, part, limit):
    if cost is None:
        w(f"| {label} at most {limit} µs per request at {TARGET_CONNECTIONS} connections | not measured "
          "| not judged |")
        return
    w(f"| {label} at most {limit} µs per request at {TARGET_CONNECTIONS} connections | "
      f"{cost[part]:.0f} µs | {met(cost[part] <= limit)} |")


def first_seconds_line(w, series, first_runs, rps, c):
    """The first seconds on empty tables against the steady state: the same
    run's later seconds when it is long enough, else the load runs' median.
    Judged on the first second and on the mean of the first ten."""
    run = [r for r in first_runs if r["connections"] == c]
    rates = first_seconds(series or [], run[0]["seconds"]) if run else []
    what = (f"| from the first second on empty event tables, within {100 * FIRST_SECOND_SLACK:.0f} % of "
            "the steady state")
    if len(rates) > STEADY_FROM:
        steady = statistics.median(rates[STEADY_FROM:])
        basis = f"the median second of the same run's seconds {STEADY_FROM + 1}–{len(rates)}"
    elif rates and rps:
        steady, basis = rps, f"the {c}-connection median"
    else:
        w(f"{what} | not measured | not judged |")
        return
    head = rates[:FIRST_WINDOW]
    first, mean = head[0], statistics.mean(head)
    ok = min(first, mean) >= (1 - FIRST_SECOND_SLACK) * steady
    w(f"{what} | events committed in each of the first {len(head)} s: "
      f"{', '.join(f'{r:,.0f}' for r in head)}; the first {100 * first / steady:.0f} % and their mean "
      f"{100 * mean / steady:.0f} % of {basis} ({steady:,.0f}/s) | {met(ok)} |")


def targets_section(w, meta, runs, hmac, idle, soak, db_runs, conns, peer_pairs=(), first=None,
                    first_runs=()):
    """Issue 22's targets, judged on this run's numbers."""
    c = TARGET_CONNECTIONS
    w("## Targets (issue 22), from this run\n")
    w(f"Each line compares this run's numbers with a target of issue 22; leadhook's figures are the "
      f"medians of its runs at {c} connections on JSON bodies. Everything runs on the same "
      f"{meta['nproc']} cores, so other work on the machine (see the load average above) weighs on "
      "every figure; the ratios are steadier than the absolute numbers.\n")
    w("| target | measured in this run | verdict |")
    w("|---|---|---|")
    lh = [r for r in runs if r["connections"] == c]
    rps = statistics.median([r["rps"] for r in lh]) if lh else None
    as_leadhook = [r["events_per_s"] for r in db_runs if r.get("as_leadhook")]
    if rps and as_leadhook:
        ceiling = statistics.median(as_leadhook)
        share = rps / ceiling
        w(f"| at least {100 * TARGET_DB_SHARE:.0f} % of the database alone doing leadhook's write "
          f"(same writers and batch) at {c} connections | {rps:,.0f} req/s / {ceiling:,.0f} events/s "
          f"= {100 * share:.1f} % | {met(share >= TARGET_DB_SHARE)} |")
    else:
        w(f"| at least {100 * TARGET_DB_SHARE:.0f} % of the database-alone ceiling | not measured "
          "| not judged |")
    cost = median_cost(lh)
    cpu_line(w, "leadhook's own CPU", cost, "server", TARGET_LEADHOOK_CPU_US)
    cpu_line(w, "the HMAC-only responder's own CPU",
             median_cost([r for r in hmac if r["connections"] == c]), "server", TARGET_HMAC_CPU_US)
    cpu_line(w, "PostgreSQL's CPU", cost, "postgres", TARGET_PG_CPU_US)
    first_seconds_line(w, first, first_runs, rps, c)
    if lh:
        p99 = statistics.median([r["p99_us"] for r in lh]) / 1000
        w(f"| p99 at most {TARGET_P99_MS:g} ms at {c} connections | {p99:.2f} ms | "
          f"{met(p99 <= TARGET_P99_MS)} |")
    if idle:
        i = idle[0]
        p50, p99 = i["p50_us"] / 1000, i["p99_us"] / 1000
        w(f"| a single request on an idle server: p99 at most {TARGET_IDLE_MS:g} ms | p99 {p99:.2f} ms, "
          f"median {p50:.2f} ms (1 connection, one request at a time, {i['seconds']} s, "
          f"{i['requests']} requests, non-2xx {i['non2xx']}) | "
          f"{met(p99 <= TARGET_IDLE_MS and i['non2xx'] == 0)} |")
    else:
        w(f"| a single request on an idle server: p99 at most {TARGET_IDLE_MS:g} ms | not measured "
          "| not judged |")
    peer_target_line(w, peer_pairs, met)
    memory_lines(w, runs, soak, c)
    w("")


def memory_lines(w, runs, soak, c):
    loaded = [r for r in runs if r["connections"] == c] + soak
    if loaded:
        peak = max(r["peak_rss_kib"] for r in loaded)
        text, verdict = rss_verdict(peak)
        w(f"| resident memory at most {TARGET_RSS_MB} MB under the {c}-connection load | peak VmRSS "
          f"{text}{', soak included' if soak else ''} | {verdict} |")
    else:
        w(f"| resident memory at most {TARGET_RSS_MB} MB under the {c}-connection load | not measured at "
          f"{c} connections | not judged |")
    if not soak:
        w(f"| resident memory flat over a {SOAK_ISSUE_SECONDS // 60}-minute run | not run "
          f"(`scripts/bench --soak-rss {SOAK_ISSUE_SECONDS}`) | not judged |")
        return
    sm = soak_summary(soak[0])
    secs = soak[0]["seconds"]
    if sm is None:
        w(f"| resident memory flat over a {SOAK_ISSUE_SECONDS // 60}-minute run | soak of {secs} s "
          "too short to judge | not judged |")
        return
    if secs >= SOAK_ISSUE_SECONDS:
        short, verdict = "", met(sm["flat"])
    else:  # a shorter soak can show growth, not prove flatness over 5 minutes
        short = f"; shorter than the issue's {SOAK_ISSUE_SECONDS} s"
        verdict = "flat in this shorter run; not judged" if sm["flat"] else met(False)
    w(f"| resident memory flat over a {SOAK_ISSUE_SECONDS // 60}-minute run (within "
      f"±{100 * SOAK_FLAT:.0f} % of the start) | {secs} s soak: start {sm['start'] / 1024:.1f} MiB, "
      f"end {sm['end'] / 1024:.1f} MiB, max {sm['max'] / 1024:.1f} MiB{short} | {verdict} |")


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
