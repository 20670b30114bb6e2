"""The report scripts/bench writes (build-bench/report.md): results, ceilings,
CPU per request, a side-by-side comparison, the original Flask app side by
side, the targets and the soak, from the JSON lines the runs left. Used
through bench.py."""
import json
import statistics
import sys

from bench_format import fmt_ms, rng
from bench_peer import peer_pairs, peer_section
from bench_targets import (TARGET_CONNECTIONS, TARGET_LEADHOOK_CPU_US, TARGET_PG_CPU_US, soak_section,
                           targets_section)
from cpu_budget import cpu_section, median_cost


def compare_section(w, meta, rows):
    """--compare-rev: this tree and another revision, alternating on one stack."""
    old = [r for r in rows if r["kind"] == "compare"]
    new = [r for r in rows if r["kind"] == "current"]
    if not old or not new:
        return
    w("## Side by side with another revision\n")
    w(f"leadhook built from {meta['compare']} and this tree, restarted in turn on the same stack and "
      f"database, {len(new)} alternating pair(s) of {new[0]['seconds']} s at 64 connections, fresh bodies "
      "each run. Median, min–max in parentheses.\n")
    w("| binary | requests/s | p50 ms | p99 ms | non-2xx | socket errors | peak RSS MiB "
      "| leadhook CPU µs/request | PostgreSQL CPU µs/request |")
    w("|---|---|---|---|---|---|---|---|---|")
    sides = (("revision " + meta["compare"].split(" ")[0], old), ("this tree", new))
    for label, rs in sides:
        cost = median_cost(rs)
        cpu = f"{cost['server']:.0f} | {cost['postgres']:.0f}" if cost else "– | –"
        w(f"| {label} | {rng([r['rps'] for r in rs], lambda v: f'{v:.0f}')} "
          f"| {rng([r['p50_us'] for r in rs], fmt_ms)} | {rng([r['p99_us'] for r in rs], fmt_ms)} "
          f"| {sum(r['non2xx'] for r in rs)} | {sum(r['socket_errors'] for r in rs)} "
          f"| {max(r['peak_rss_kib'] for r in rs) / 1024:.1f} | {cpu} |")
    ratios = [n["rps"] / o["rps"] for o, n in zip(old, new) if o["rps"] > 0]
    med = lambda k, rs: statistics.median([r[k] for r in rs])
    w("")
    # An error answer is cheap: ratios against a binary that failed (an older
    # one on a newer schema, say) compare errors with stored webhooks.
    errors = [(label, sum(r["non2xx"] for r in rs)) for label, rs in sides]
    failing = [f"{label} answered {n} non-2xx" for label, n in errors if n > 0]
    if failing:
        w(f"**Not comparable**: {'; '.join(failing)}, so the ratios below weigh error answers "
          "against stored webhooks. See leadhook's log; an older revision may not fit the schema "
          "this tree migrated.\n")
    w(f"This tree / revision: requests/s {statistics.median(ratios):.2f}× (pairs: "
      f"{', '.join(f'{x:.2f}' for x in ratios)}); p50 {med('p50_us', new) / med('p50_us', old):.2f}×, "
      f"p99 {med('p99_us', new) / med('p99_us', old):.2f}× (lower is better).\n")
    old_cost, new_cost = median_cost(old), median_cost(new)
    if old_cost and new_cost and old_cost["server"] > 0 and old_cost["postgres"] > 0:
        w(f"CPU per request (user + system, median of the runs; see CPU per request): leadhook "
          f"{new_cost['server'] / old_cost['server']:.2f}×, PostgreSQL "
          f"{new_cost['postgres'] / old_cost['postgres']:.2f}× (lower is better); usually steadier than "
          "requests/s when the machine is shared.\n")


def ceilings_section(w, meta, runs, nginx, pgb, hmac_runs, db_runs, conns):
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
    for c in conns:
        hs = [r for r in hmac_runs if r["connections"] == c]
        if not hs:
            continue
        med = statistics.median([r["rps"] for r in runs if r["connections"] == c])
        hmed = statistics.median([r["rps"] for r in hs])
        w(f"| minimal FastCGI responder checking only the HMAC (`bench/hmac_responder.cpp`, leadhook's "
          f"FastCGI edge, no database), behind nginx | {c} | {rng([r['rps'] for r in hs], lambda v: f'{v:.0f}')} "
          f"| {rng([r['p50_us'] for r in hs], fmt_ms)} | {rng([r['p99_us'] for r in hs], fmt_ms)} "
          f"| {100 * med / hmed:.1f} % |")
    # leadhook's own batching first, in the order scripts/bench ran them.
    configs = list(dict.fromkeys((r["writers"], r["batch"], r.get("as_leadhook", 0)) for r in db_runs))
    c = TARGET_CONNECTIONS
    lh = [r["rps"] for r in runs if r["connections"] == c]
    for writers, batch, as_leadhook in configs:
        ds = [r["events_per_s"] for r in db_runs if (r["writers"], r["batch"]) == (writers, batch)]
        share = f"{c} conn: {100 * statistics.median(lh) / statistics.median(ds):.1f} %" if lh else "–"
        whose = f"as leadhook batched at {c} connections" if as_leadhook else "larger batches"
        w(f"| database alone: leadhook's batch write from memory (`bench/db_ceiling.cpp`), "
          f"{batch} events per transaction ({whose}) | {writers} writers "
          f"| {rng(ds, lambda v: f'{v:.0f}')} events/s | – | – | {share} |")
    w("")
    if db_runs:
        w(f"Database ceiling: median of {len(db_runs) // max(len(configs), 1)} run(s) per configuration, "
          f"min–max in parentheses; {sum(r['stored'] for r in db_runs)} of {sum(r['events'] for r in db_runs)} "
          "events stored. leadhook's own batching is its writers and its mean batch in the "
          f"{c}-connection runs; nginx, wrk and leadhook's request threads are idle meanwhile, so "
          "PostgreSQL has the machine to itself.\n")
    if hmac_runs:
        verified = sum(r.get("other200", 0) for r in hmac_runs)
        w(f"HMAC-only responder: median of {meta['runs']} run(s) per connection count, min–max in parentheses; "
          f"{verified} requests answered 200 after a verified signature, "
          f"{sum(r['non2xx'] for r in hmac_runs)} non-2xx, "
          f"{sum(r['socket_errors'] for r in hmac_runs)} socket errors, "
          f"{sum(r['exhausted'] for r in hmac_runs)} pool exhausted; its peak VmRSS "
          f"{max(r['peak_rss_kib'] for r in hmac_runs) / 1024:.1f} MiB.\n")


def cmd_report(a):
    rows = [json.loads(line) for line in open(a.results) if line.strip()]
    meta = json.load(open(a.meta))
    runs = [r for r in rows if r["kind"] == "leadhook"]
    nginx = {r["connections"]: r for r in rows if r["kind"] == "nginx"}
    pgb = [r for r in rows if r["kind"] == "pgbench"]
    hmac_runs = [r for r in rows if r["kind"] == "hmac"]
    db_runs = [r for r in rows if r["kind"] == "db"]
    idle = [r for r in rows if r["kind"] == "idle"]
    soak = [r for r in rows if r["kind"] == "soak"]
    conns = sorted({r["connections"] for r in runs})
    out = []
    w = out.append
    w("# leadhook soak\n" if meta.get("soak_only") else "# leadhook benchmarks\n")
    w(f"Generated by `scripts/bench {meta['args']}` on {meta['date']}.\n")
    w("## Machine\n")
    for k in ("cpu", "nproc", "memory", "kernel", "postgresql", "nginx", "wrk", "commit", "load"):
        w(f"- {k}: {meta[k]}")
    w("")
    w("## Method\n")
    w(meta["method"] + "\n")
    if meta.get("pairs_only"):
        w("Only the side-by-side pairs ran (`--pairs-only`): no runs of this tree alone, no idle run, "
          "no ceilings, no targets.\n")
    else:
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
    if nginx or pgb or hmac_runs or db_runs:
        ceilings_section(w, meta, runs, nginx, pgb, hmac_runs, db_runs, conns)
    if runs or hmac_runs:
        cpu_section(w, meta, runs, hmac_runs, conns, TARGET_CONNECTIONS,
                    {"server": TARGET_LEADHOOK_CPU_US, "postgres": TARGET_PG_CPU_US})
    compare_section(w, meta, rows)
    pairs = peer_pairs(rows)
    peer_section(w, meta, pairs)
    if not meta.get("soak_only") and not meta.get("pairs_only"):
        targets_section(w, meta, runs, hmac_runs, idle, soak, db_runs, conns, pairs,
                        meta.get("first_series"), [r for r in rows if r["kind"] == "first"])
    if soak:
        soak_section(w, soak)
    w("## Correctness under load\n")
    w(meta["correctness"] + "\n")
    text = "\n".join(out) + "\n"
    with open(a.out, "w") as f:
        f.write(text)
    sys.stdout.write(text)
    return 0
