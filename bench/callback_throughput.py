"""Callback path throughput and latency, side by side with a minimal Django view.

    .venv/bin/python bench/callback_throughput.py [--runs 3] [--duration 15] [--rate 100] [--ceiling]

One gunicorn (2 sync workers, bench.settings: PostgreSQL with persistent
connections, Redis broker and cache) serves both ``/dintero/callback/`` and
``/bench/minimal/`` (a view that answers 200 through the same middleware, defined
in bench/urls.py only). On loopback:

1. closed loop, ``wrk`` (1 thread, 8 connections, ``--duration`` s per run), runs
   alternating minimal / callback ``--runs`` times: requests per second and
   latency percentiles, and the callback / minimal ratio per pair of runs;
2. open loop at a fixed ``--rate`` (our own client, bench/openloop.py: every
   request is scheduled in advance and its latency counted from that moment, so
   a slow answer cannot hide the requests queued behind it): p50 / p99.

Every callback is validly signed, for a distinct paid payment with its own
``event-delivery`` id, so each one takes the full path: find the payment, claim
the sync, publish the task to Redis and store the delivery (no worker consumes
it here: bench/end_to_end.py runs one). The signatures are made right before each
run, and a run is far shorter than ``SIGNATURE_TOLERANCE`` (300 s). A run that
sends more callbacks than there are paid payments would repeat deliveries (cheap:
nothing to store or queue), so such a run is flagged NOT VALID (raise ``--orders``),
as is a run with any non-2xx answer. Peak RSS of the gunicorn processes is reported at the end.

``--ceiling`` adds ``/bench/ceiling/`` to each closed-loop pair: the fastest durable
callback we could write (bench/ceiling.py, one PostgreSQL statement), which shows
how much of the gap to the minimal view any callback must pay.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import openloop, support

COMMAND = ".venv/bin/python bench/callback_throughput.py"
CEILING_PATH = "/bench/ceiling/"
WRK_SCRIPT = Path(__file__).resolve().parent / "wrk_callbacks.lua"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--duration", type=int, default=15, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--rate", type=float, default=100.0, help="requests/s of the open-loop runs")
    parser.add_argument("--rate-duration", type=int, default=30, help="seconds per open-loop run")
    parser.add_argument("--orders", type=int, default=25_000, help="orders in the database")
    parser.add_argument("--ceiling", action="store_true", help="also run bench/ceiling.py's view")
    parser.add_argument(
        "--threads", type=int, default=1, help="threads per gunicorn worker (> 1: gthread workers)"
    )
    args = parser.parse_args()
    if max(args.duration, args.rate_duration) > 240:
        parser.error("a run must stay well inside the 300 s signature tolerance")

    os.environ.setdefault("BENCH_DB", "dintero_bench_http")
    support.setup_django(BENCH_EAGER="0")
    kind = "sync workers" if args.threads == 1 else f"gthread workers, {args.threads} threads each"
    support.header(f"Callback path vs a minimal view (gunicorn, 2 {kind})", COMMAND)
    from django.conf import settings

    support.recreate_database(os.environ["BENCH_DB"])
    from tests.perf.data import populate

    populate(args.orders)
    broker = str(settings.CELERY_BROKER_URL)
    support.flush_redis(broker)
    logdir = Path(tempfile.mkdtemp(prefix="bench-http-"))
    env = support.bench_env(BENCH_DB=os.environ["BENCH_DB"])
    web, url = support.start_gunicorn(logdir, env, threads=args.threads)
    settings.DINTERO = {**settings.DINTERO, "SITE_URL": url}
    print(f"gunicorn {url} (logs in {logdir}); {args.orders:,} orders in the database")
    print()
    pairs: list[tuple[dict[str, float], dict[str, float]]] = []
    ceilings: list[dict[str, float]] = []
    fixed: list[tuple[str, dict[str, float]]] = []
    with support.stopping(web), support.MemoryWatch(web.pid) as memory:
        for run in range(1, args.runs + 1):
            minimal = wrk(f"{url}/bench/minimal/", args, None)
            show(f"run {run} minimal", minimal)
            callback = wrk(url, args, callback_file(url, logdir, broker))
            show(f"run {run} callback", callback, stored_since=callback["started_at"])
            pairs.append((minimal, callback))
            if args.ceiling:
                ceiling = wrk(url, args, callback_file(url, logdir, broker, CEILING_PATH))
                show(f"run {run} ceiling", ceiling, stored_since=ceiling["started_at"])
                ceilings.append(ceiling)
        print()
        for run in range(1, max(2, args.runs - 1) + 1):
            for name in ("minimal", "callback"):
                figures = fixed_rate(url, name, args, logdir, broker)
                fixed.append((name, figures))
                print(
                    f"open loop {args.rate:.0f}/s run {run} {name:<8} {figures['sent']:.0f} requests: "
                    f"p50 {figures['p50']:.1f} ms  p90 {figures['p90']:.1f} ms  p99 {figures['p99']:.1f} ms  "
                    f"max {figures['max']:.1f} ms  errors {figures['errors']:.0f}  (load {support.load()})"
                )
    summary(pairs, ceilings, fixed, args, memory)
    support.flush_redis(broker)
    return 0


# -- closed loop: wrk -------------------------------------------------------------------


def callback_file(url: str, logdir: Path, broker: str, path: str | None = None) -> Path:
    """Sign one callback per paid payment, in random order, right before the run
    (``path``: another view than the app's callback)."""
    from dintero_django.models import Payment

    Payment.objects.filter(sync_pending=True).update(sync_pending=False)
    support.flush_redis(broker)
    stamp = int(time.time())
    paid = list(Payment.objects.filter(transaction_id__isnull=False).select_related("order").order_by("?"))
    lines = []
    for payment in paid:
        target, signature = support.signed_callback(payment, stamp, path)
        lines.append(f"{target}\t{signature}\t{uuid.uuid4()}")
    path = logdir / "callbacks.tsv"
    path.write_text("\n".join(lines) + "\n")
    return path


def wrk(url: str, args: Any, callbacks: Path | None) -> dict[str, float]:
    command = ["wrk", "-t1", f"-c{args.connections}", f"-d{args.duration}s", "--latency"]
    env = dict(os.environ)
    if callbacks is not None:
        command += ["-s", str(WRK_SCRIPT)]
        env.update(BENCH_CALLBACKS=str(callbacks), BENCH_THREADS="1")
    from django.utils import timezone

    started = timezone.now()
    load = os.getloadavg()[0]
    output = subprocess.run([*command, url], capture_output=True, text=True, env=env, check=True).stdout
    figures = parse_wrk(output)
    figures["load"] = load
    if callbacks is not None:
        wrapped = figures["requests"] > len(callbacks.read_text().splitlines())
        figures["invalid"] = float(wrapped or figures["non2xx"] > 0)
    figures["started_at"] = started.timestamp()
    return figures


UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def parse_wrk(output: str) -> dict[str, float]:
    def latency(pct: str) -> float:
        found = re.search(rf"^\s*{pct}%\s+([\d.]+)(us|ms|s)\s*$", output, re.M)
        return float(found.group(1)) * UNITS[found.group(2)] if found else float("nan")

    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    total = re.search(r"(\d+) requests in", output)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    if rps is None or total is None:
        raise RuntimeError(f"unexpected wrk output:\n{output}")
    return {
        "rps": float(rps.group(1)),
        "requests": float(total.group(1)),
        "p50": latency("50"),
        "p90": latency("90"),
        "p99": latency("99"),
        "non2xx": float(non2xx.group(1)) if non2xx else 0.0,
        "socket_errors": float(sum(int(x) for x in errors.groups())) if errors else 0.0,
    }


def show(label: str, figures: dict[str, float], stored_since: float | None = None) -> None:
    extra = ""
    if stored_since is not None:
        import datetime

        from dintero_django.models import CallbackDelivery

        since = datetime.datetime.fromtimestamp(stored_since, datetime.UTC)
        stored = CallbackDelivery.objects.filter(received_at__gte=since)
        valid = stored.filter(signature_valid=True, outcome="accepted").count()
        extra = f"  stored {stored.count()} (valid+accepted {valid})"
        if figures.get("invalid"):
            extra += "  NOT VALID: non-2xx answers, or more requests than callbacks (raise --orders)"
    print(
        f"{label:<18} {figures['rps']:8.1f} req/s  p50 {figures['p50']:6.1f} ms  "
        f"p90 {figures['p90']:6.1f} ms  p99 {figures['p99']:6.1f} ms  non-2xx {figures['non2xx']:.0f}  "
        f"socket errors {figures['socket_errors']:.0f}  (load {figures['load']:.2f}){extra}"
    )


# -- open loop: a fixed rate ---------------------------------------------------------------


def fixed_rate(url: str, name: str, args: Any, logdir: Path, broker: str) -> dict[str, float]:
    parts = urlsplit(url)
    host, port = str(parts.hostname), int(parts.port or 80)
    count = int(args.rate * args.rate_duration)
    if name == "minimal":
        raw = [openloop.get_request(host, port, "/bench/minimal/", {})]
    else:
        lines = callback_file(url, logdir, broker).read_text().splitlines()
        random.shuffle(lines)
        raw = []
        for line in lines[:count]:
            target, signature, delivery = line.split("\t")
            headers = {"Dintero-Signature": signature, "event-delivery": delivery, "User-Agent": "Dintero"}
            raw.append(openloop.get_request(host, port, target, headers))
    result = openloop.run(host, port, raw, args.rate, count)
    return {"sent": float(count), "errors": float(result.errors), **result.percentiles()}


def summary(
    pairs: list[tuple[dict[str, float], dict[str, float]]],
    ceilings: list[dict[str, float]],
    fixed: list[tuple[str, dict[str, float]]],
    args: Any,
    memory: support.MemoryWatch,
) -> None:
    print()
    ratios = [callback["rps"] / minimal["rps"] for minimal, callback in pairs]
    print("| figure | runs: median (min-max) |")
    print("| --- | --- |")
    minimal_rps = support.spread([m["rps"] for m, _ in pairs])
    print(f"| minimal view, req/s (wrk -t1 -c{args.connections}) | {minimal_rps} |")
    print(f"| callback, req/s | {support.spread([c['rps'] for _, c in pairs])} |")
    print(f"| callback / minimal | {support.spread([r * 100 for r in ratios])} % |")
    if ceilings:
        print(f"| ceiling (bench/ceiling.py), req/s | {support.spread([c['rps'] for c in ceilings])} |")
        best = [c["rps"] / m["rps"] * 100 for (m, _), c in zip(pairs, ceilings, strict=True)]
        print(f"| ceiling / minimal | {support.spread(best)} % |")
        mine = [cb["rps"] / c["rps"] * 100 for (_, cb), c in zip(pairs, ceilings, strict=True)]
        print(f"| callback / ceiling | {support.spread(mine)} % |")
    invalid = sum(1 for _, c in pairs if c.get("invalid")) + sum(1 for c in ceilings if c.get("invalid"))
    if invalid:
        print(f"| runs NOT VALID (non-2xx, or callbacks repeated: raise --orders) | {invalid} |")
    print(f"| minimal p99 under wrk, ms | {support.spread([m['p99'] for m, _ in pairs])} |")
    print(f"| callback p99 under wrk, ms | {support.spread([c['p99'] for _, c in pairs])} |")
    for name in ("minimal", "callback"):
        runs = [figures for label, figures in fixed if label == name]
        print(f"| {name} p50 at {args.rate:.0f}/s, ms | {support.spread([f['p50'] for f in runs])} |")
        print(f"| {name} p99 at {args.rate:.0f}/s, ms | {support.spread([f['p99'] for f in runs])} |")
    print()
    print(f"web (gunicorn master + 2 workers): {memory.describe()}")
    print(f"load at the end: {support.load()}")


if __name__ == "__main__":
    sys.exit(main())
