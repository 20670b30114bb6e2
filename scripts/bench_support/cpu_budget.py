"""Where each request's CPU time goes: scripts/bench reads the CPU time
(user + system, clock ticks from /proc) of the server process, PostgreSQL
(the postmaster, its backends, and backends that exited), nginx (master and
workers), wrk, and the whole machine just before and just after each wrk run.
Divided by the requests answered, that is the CPU each request cost each
part, whatever the machine's other load (which shows as "other")."""
import statistics

PARTS = ("server", "postgres", "nginx", "wrk")


def per_request_us(run):
    """{part: µs of CPU per request} for one run, with "other" (the rest of the
    machine's busy time), "idle" and "total" (what the cores offered); None
    when the run carries no samples."""
    before, after = run.get("cpu_before"), run.get("cpu_after")
    if not before or not after or run.get("requests", 0) <= 0:
        return None
    delta = [end - start for start, end in zip(before, after)]

    def us(ticks):
        return ticks * 1e6 / run["clock_ticks"] / run["requests"]

    cost = {part: us(delta[i]) for i, part in enumerate(PARTS)}
    busy, idle = delta[4], delta[5]
    cost["other"] = max(0.0, us(busy) - sum(cost[p] for p in PARTS))
    cost["idle"] = us(idle)
    cost["total"] = us(busy + idle)
    return cost


def median_cost(runs):
    costs = [c for c in (per_request_us(r) for r in runs) if c]
    if not costs:
        return None
    return {k: statistics.median(c[k] for c in costs) for k in costs[0]}


def capacity_rps(nproc, us_per_request):
    """Requests/s the cores could answer at `us_per_request` of CPU each."""
    return nproc * 1e6 / us_per_request


def cpu_section(w, meta, runs, hmac_runs, conns, target_connections, budgets):
    """The table, then what the cores could answer at the target's
    connection count: with this run's parts, and with the issue's budgets
    (`budgets`: µs per request for "server" and "postgres") in their place."""
    rows = []
    for label, group in (("leadhook", runs), ("HMAC-only responder", hmac_runs)):
        for c in conns:
            cost = median_cost([r for r in group if r["connections"] == c])
            if cost:
                rps = statistics.median(r["rps"] for r in group if r["connections"] == c)
                rows.append((label, c, rps, cost))
    if not rows:
        return
    w("## CPU per request\n")
    w("CPU time (user + system) each part of the machine spent per request answered, in µs: "
      "median of the runs at each connection count. The server is leadhook or the HMAC-only "
      "responder; PostgreSQL counts the postmaster, every backend and the background processes; "
      "other is the rest of the machine's busy time (kernel threads, interrupts, this script); "
      "idle is the time no core had work; total is what the cores offered per request "
      f"({meta['nproc']} cores / requests per second).\n")
    w("| server | connections | requests/s | server | PostgreSQL | nginx | wrk | other | idle | total |")
    w("|---|---|---|---|---|---|---|---|---|---|")
    for label, c, rps, cost in rows:
        w(f"| {label} | {c} | {rps:.0f} | " + " | ".join(
            f"{cost[k]:.0f}" for k in ("server", "postgres", "nginx", "wrk", "other", "idle", "total"))
          + " |")
    w("")
    at_target = [cost for label, c, _, cost in rows
                 if label == "leadhook" and c == target_connections]
    if at_target:
        cost = at_target[0]
        cores = int(meta["nproc"])
        edge = cost["nginx"] + cost["wrk"]
        parts = cost["server"] + cost["postgres"] + edge
        budgeted = budgets["server"] + budgets["postgres"] + edge
        w(f"In leadhook's runs at {target_connections} connections leadhook used {cost['server']:.0f} µs "
          f"per request, PostgreSQL {cost['postgres']:.0f}, nginx {cost['nginx']:.0f} and wrk "
          f"{cost['wrk']:.0f}: {parts:.0f} µs, so these {cores} cores could answer at most "
          f"{capacity_rps(cores, parts):,.0f} requests/s with nothing else running. With issue 22's "
          f"budgets in their place (leadhook {budgets['server']} µs, PostgreSQL {budgets['postgres']} µs) "
          f"and the same nginx and wrk, {budgeted:.0f} µs: at most {capacity_rps(cores, budgeted):,.0f}.\n")
