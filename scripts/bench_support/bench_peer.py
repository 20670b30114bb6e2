"""The original Flask app side by side with leadhook (scripts/bench --peer):
the report's section on it, and issue 22's target line. Used through
bench_report.py."""
import statistics

from bench_format import fmt_ms, rng
from cpu_budget import median_cost

TARGET_PEER_FACTOR = 12  # issue 22: leadhook at least 12x the original app at 64 connections
PEER_CONNECTIONS = 64


def peer_pairs(rows):
    """[(original app's run, leadhook's run)] in the order they ran: pair i is
    the i-th run of each (scripts/bench alternates which goes first)."""
    peer = [r for r in rows if r["kind"] == "peer"]
    lh = [r for r in rows if r["kind"] == "leadhook-form"]
    return list(zip(peer, lh))


def ratios(pairs):
    return [lh["rps"] / p["rps"] for p, lh in pairs if p["rps"] > 0]


def errors(pairs):
    """"<side> answered N non-2xx" for each side that did."""
    out = []
    for label, i in (("the original app", 0), ("leadhook", 1)):
        n = sum(pair[i]["non2xx"] for pair in pairs)
        if n:
            out.append(f"{label} answered {n} non-2xx")
    return out


def peer_section(w, meta, pairs):
    if not pairs:
        return
    peer = [p for p, _ in pairs]
    lh = [x for _, x in pairs]
    w("## The original Flask app, side by side\n")
    w(f"The app leadhook replaces: {meta.get('peer') or 'the original Flask app'}. It and leadhook (this "
      "tree, on the stack above) were posted the same kind of bodies: legacy "
      "`application/x-www-form-urlencoded` `delivered` posts as Mailgun sent them (message-headers, "
      "Message-Id, then timestamp, token and signature; a unique token each, signed beforehand) for a random "
      "one of the seeded leads (leadN@example.com in the app's database, Message-Id bench.N@leadhook.bench "
      "in leadhook's), at `/api/v1/wh/mg/lead/email/delivered`, the only kind the app takes. "
      f"{len(pairs)} alternating pair(s) of {peer[0]['seconds']} s at {PEER_CONNECTIONS} connections "
      "(the original app first in odd pairs, leadhook first in even ones) after a 3 s warm-up of the app, "
      "fresh bodies each run, before the other load runs: leadhook's tables hold only the events of the "
      "first seconds (in a full run) and of the pairs before, the app's those of its pairs before. Median, min–max in parentheses. The app answers 202 once committed, leadhook 200. "
      "CPU per request is measured as for the CPU per request section; the server is gunicorn's master "
      "and workers, or leadhook, and nginx each one's own.\n")
    w("| server | requests/s | p50 ms | p99 ms | 2xx | non-2xx | socket errors | events/request "
      "| server CPU µs/request | PostgreSQL | nginx | wrk |")
    w("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for label, rs in (("original Flask app (gunicorn, 5 sync workers)", peer), ("leadhook", lh)):
        cost = median_cost(rs)
        cpu = (" | ".join(f"{cost[k]:.0f}" for k in ("server", "postgres", "nginx", "wrk"))
               if cost else "– | – | – | –")
        ok = sum(r["success"] + r["unmatched"] + r["duplicate"] + r["other200"] for r in rs)
        w(f"| {label} | {rng([r['rps'] for r in rs], lambda v: f'{v:.0f}')} "
          f"| {rng([r['p50_us'] for r in rs], fmt_ms)} | {rng([r['p99_us'] for r in rs], fmt_ms)} "
          f"| {ok} | {sum(r['non2xx'] for r in rs)} | {sum(r['socket_errors'] for r in rs)} "
          f"| {rng([r['events_per_request'] for r in rs], lambda v: f'{v:.3f}')} | {cpu} |")
    w("")
    w("| pair | first | original app requests/s | leadhook requests/s | leadhook / original "
      "| original p99 ms | leadhook p99 ms |")
    w("|---|---|---|---|---|---|---|")
    for i, (p, x) in enumerate(pairs, 1):
        first = "original app" if p["seq"] < x["seq"] else "leadhook"
        ratio = f"{x['rps'] / p['rps']:.2f}×" if p["rps"] > 0 else "–"
        w(f"| {i} | {first} | {p['rps']:.0f} | {x['rps']:.0f} | {ratio} | {fmt_ms(p['p99_us'])} "
          f"| {fmt_ms(x['p99_us'])} |")
    w("")
    failing = errors(pairs)
    if failing:
        w(f"**Not comparable**: {'; '.join(failing)}, so the ratios below weigh error answers against "
          "stored webhooks. See the app's gunicorn.log or leadhook's log.\n")
    rs = ratios(pairs)
    med = lambda k, runs: statistics.median([r[k] for r in runs])
    if rs:
        w(f"**leadhook / original app: requests/s {statistics.median(rs):.2f}×** (median of the pairs' "
          f"ratios; pairs: {', '.join(f'{x:.2f}' for x in rs)}; issue 22 asks for at least "
          f"{TARGET_PEER_FACTOR}×); p50 {med('p50_us', lh) / med('p50_us', peer):.2f}×, p99 "
          f"{med('p99_us', lh) / med('p99_us', peer):.2f}× (lower is better).\n")
    pc, lc = median_cost(peer), median_cost(lh)
    if pc and lc and pc["server"] > 0 and pc["postgres"] > 0 and pc["nginx"] > 0:
        w(f"CPU per request, leadhook / original app: server {lc['server']:.0f} / {pc['server']:.0f} µs "
          f"({lc['server'] / pc['server']:.2f}×), PostgreSQL {lc['postgres']:.0f} / {pc['postgres']:.0f} µs "
          f"({lc['postgres'] / pc['postgres']:.2f}×), nginx {lc['nginx']:.0f} / {pc['nginx']:.0f} µs "
          f"({lc['nginx'] / pc['nginx']:.2f}×); lower is better.\n")
    if meta.get("peer_check"):
        w(f"The original app's database afterwards (its `events` rows against its 202 answers, warm-up "
          f"included): {meta['peer_check']}\n")


def peer_target_line(w, pairs, met):
    """Issue 22's line: at least 12x the original app, from the median of the pairs' ratios."""
    what = (f"at least {TARGET_PEER_FACTOR}× the original Flask app at {PEER_CONNECTIONS} connections, "
            "side by side on legacy form `delivered` bodies (issue 22)")
    rs = ratios(pairs)
    if not rs:
        w(f"| {what} | not measured in this run (`scripts/bench --peer`) | not judged |")
        return
    lh = statistics.median([x["rps"] for _, x in pairs])
    peer = statistics.median([p["rps"] for p, _ in pairs])
    ratio = statistics.median(rs)
    failing = errors(pairs)
    verdict = f"not judged: {'; '.join(failing)}" if failing else met(ratio >= TARGET_PEER_FACTOR)
    w(f"| {what} | leadhook {lh:,.0f} req/s, the original app {peer:,.0f} req/s (medians); "
      f"{ratio:.1f}× (median of {len(rs)} pair(s)' ratios) | {verdict} |")
