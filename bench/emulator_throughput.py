"""Throughput of the Dintero emulator: authenticated GET /v1/transactions/{id}.

Starts an emulator in this process, gets a token, creates and pays a session, then
times GET /v1/transactions/{id} over kept-alive connections: first from one client
(one ``requests.Session``), then from several client threads. Prints requests/second
and p50/p99 latency. Figures only: nothing is asserted.

    .venv/bin/python bench/emulator_throughput.py [--requests 3000] [--threads 4]

Client and server share this process (and its GIL). To measure an emulator running
as its own process, start ``python -m dintero_django.emulator --quiet`` and pass
``--url http://127.0.0.1:8765``. On a busy 2-core machine both figures vary a lot
between runs; run it twice.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from collections.abc import Sequence
from typing import Any

import requests

from dintero_django.emulator import Emulator

ORDER: dict[str, Any] = {
    "amount": 39800,
    "currency": "NOK",
    "merchant_reference": "bench-1",
    "items": [{"id": "chair", "line_id": "1", "quantity": 2, "amount": 39800, "vat": 25}],
}


def _session() -> requests.Session:
    http = requests.Session()
    http.trust_env = False
    return http


def prepare(url: str, account_id: str, client_id: str, client_secret: str) -> tuple[str, str]:
    """Token, session, payment: return (access token, transaction id)."""
    http = _session()
    token = http.post(
        f"{url}/v1/accounts/{account_id}/auth/token",
        auth=(client_id, client_secret),
        json={
            "grant_type": "client_credentials",
            "audience": f"https://api.dintero.com/v1/accounts/{account_id}",
        },
        timeout=10,
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    session = http.post(
        f"{url}/v1/sessions-profile",
        json={"profile_id": "default", "url": {"return_url": "https://shop.example/r"}, "order": ORDER},
        headers=headers,
        timeout=10,
    ).json()
    paid = http.post(
        f"{url}/_emulator/sessions/{session['id']}/pay", json={"outcome": "AUTHORIZED"}, timeout=10
    )
    http.close()
    return str(token), str(paid.json()["transaction_id"])


def run_client(url: str, path: str, token: str, count: int, latencies: list[float]) -> None:
    http = _session()
    http.headers["Authorization"] = f"Bearer {token}"
    target = url + path
    for _ in range(count):
        started = time.perf_counter()
        response = http.get(target, timeout=10)
        latencies.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise RuntimeError(f"unexpected {response.status_code}: {response.text[:200]}")
    http.close()


def measure(url: str, path: str, token: str, total: int, threads: int) -> dict[str, float]:
    per_thread = total // threads
    latencies: list[list[float]] = [[] for _ in range(threads)]
    workers = [
        threading.Thread(target=run_client, args=(url, path, token, per_thread, latencies[i]))
        for i in range(threads)
    ]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    merged = sorted(value for chunk in latencies for value in chunk)
    return {
        "requests": len(merged),
        "seconds": elapsed,
        "rps": len(merged) / elapsed,
        "p50_ms": statistics.median(merged) * 1000,
        "p99_ms": merged[min(len(merged) - 1, int(len(merged) * 0.99))] * 1000,
    }


def report(label: str, figures: dict[str, float]) -> None:
    print(
        f"{label:<22} {figures['requests']:>6.0f} requests in {figures['seconds']:6.2f} s  "
        f"{figures['rps']:8.1f} req/s  p50 {figures['p50_ms']:6.2f} ms  p99 {figures['p99_ms']:6.2f} ms"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000, help="requests per run")
    parser.add_argument("--threads", type=int, default=4, help="client threads of the second run")
    parser.add_argument("--url", help="benchmark an already running emulator instead")
    parser.add_argument("--account-id", default="T12345678")
    parser.add_argument("--client-id", default="emulator-client")
    parser.add_argument("--client-secret", default="emulator-secret")
    args = parser.parse_args(argv)

    emulator = None
    url = args.url
    if url is None:
        # Quiet: no per-request line on stdout, which would dominate the timings.
        emulator = Emulator(quiet=True, request_log_limit=1000).start()
        url = emulator.url
    try:
        token, transaction_id = prepare(url, args.account_id, args.client_id, args.client_secret)
        path = f"/v1/transactions/{transaction_id}"
        measure(url, path, token, 200, 1)  # warm-up: imports, connections, caches
        print(f"emulator {url}, GET {path}")
        report("1 client", measure(url, path, token, args.requests, 1))
        report(f"{args.threads} client threads", measure(url, path, token, args.requests, args.threads))
    finally:
        if emulator is not None:
            emulator.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
