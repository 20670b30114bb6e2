"""Number formats shared by the report's sections."""
import statistics


def fmt_ms(us):
    return f"{us / 1000:.2f}"


def rng(values, f):
    lo, hi = min(values), max(values)
    mid = statistics.median(values)
    return f"{f(mid)}" if len(values) == 1 else f"{f(mid)} ({f(lo)}–{f(hi)})"
