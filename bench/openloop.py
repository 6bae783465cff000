"""A fixed-rate (open-loop) HTTP/1.1 client, for latency percentiles at a given load.

wrk keeps a fixed number of connections busy (closed loop), so a slow answer
delays the requests behind it and hides them from the percentiles. Here request
``i`` is due at ``start + i / rate`` whatever happened before, goes out on its own
connection (``Connection: close``: gunicorn's sync workers close it anyway), and
its latency is measured from the moment it was due (wrk2's correction for
coordinated omission). Standard library only (asyncio).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from bench.support import percentile


def get_request(host: str, port: int, target: str, headers: dict[str, str]) -> bytes:
    lines = [f"GET {target} HTTP/1.1", f"Host: {host}:{port}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


@dataclass
class Result:
    latencies_ms: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0

    def percentiles(self) -> dict[str, float]:
        values = self.latencies_ms
        return {
            "p50": percentile(values, 50),
            "p90": percentile(values, 90),
            "p99": percentile(values, 99),
            "max": max(values) if values else float("nan"),
        }


async def _one(host: str, port: int, raw: bytes, due: float, result: Result) -> None:
    loop = asyncio.get_running_loop()
    wait = due - loop.time()
    if wait > 0:
        await asyncio.sleep(wait)
    try:
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(raw)
        await writer.drain()
        data = await reader.read()  # the server closes after the answer
        writer.close()
        status = int(data[9:12])
    except (OSError, ValueError):
        result.errors += 1
        return
    result.latencies_ms.append((loop.time() - due) * 1000)
    result.statuses[status] = result.statuses.get(status, 0) + 1
    if status >= 400:
        result.errors += 1


async def _run(host: str, port: int, requests: list[bytes], rate: float, count: int) -> Result:
    result = Result()
    start = asyncio.get_running_loop().time() + 0.2
    await asyncio.gather(
        *(_one(host, port, requests[i % len(requests)], start + i / rate, result) for i in range(count))
    )
    return result


def run(host: str, port: int, requests: list[bytes], rate: float, count: int) -> Result:
    """Send ``count`` requests at ``rate`` per second, cycling through ``requests``."""
    return asyncio.run(_run(host, port, requests, rate, count))
