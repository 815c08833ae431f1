"""Load the product list API of a running FlowMart and report throughput, latency and queries per request.

    .venv/bin/python bench/catalog_bench.py [URL] [--clients 8] [--seconds 10] [--vary]

URL defaults to http://127.0.0.1:8000 and must be a loopback address (this is a local benchmark).
Start the server with DEBUG=1 to see queries per request: the product list then answers with an
``X-DB-Queries`` header (0 when served from the Redis cache). ``--vary`` spreads requests over
pages, page sizes, filters and searches so many of them miss the cache and hit PostgreSQL.
For realistic numbers raise the anonymous rate limit, e.g. ``THROTTLE_ANON=1000000/min``; the
report counts 429 answers separately.

Standard library only.
"""

from __future__ import annotations

import argparse
import http.client
import random
import statistics
import sys
import threading
import time
from collections import Counter
from urllib.parse import urlencode, urlsplit

from loopback import loopback_only  # bench/ is sys.path[0] when a benchmark runs as a script

SEARCHES = ["hoodie", "mug", "linen", "jacket", "charger", "hodie", "backpak", "cotton tee"]
CATEGORIES = ["clothing", "hoodies", "mugs", "audio", "camping", "home-and-kitchen"]
MAX_REQUESTS_PER_CLIENT = 1_000_000


def request_path(base: str, rng: random.Random, vary: bool) -> str:
    if not vary:
        return base
    params: dict[str, object] = {"page": rng.randint(1, 3), "page_size": rng.choice([10, 20, 50])}
    roll = rng.random()
    if roll < 0.3:
        params["q"] = rng.choice(SEARCHES)
    elif roll < 0.6:
        params["category"] = rng.choice(CATEGORIES)
    if rng.random() < 0.3:
        params["in_stock"] = "true"
    if rng.random() < 0.3:
        params["ordering"] = rng.choice(["price", "-price", "name", "newest"])
    if "q" in params or "category" in params:
        params["page"] = 1  # a narrow result set may have a single page: later ones are 404s, not load
    return f"{base}?{urlencode(params)}"


def client(host, port, path, deadline, vary, seed, out, lock):
    rng = random.Random(seed)
    latencies, statuses, queries = [], Counter(), []
    conn = http.client.HTTPConnection(host, port, timeout=10)
    try:
        for _ in range(MAX_REQUESTS_PER_CLIENT):
            if time.perf_counter() >= deadline:
                break
            started = time.perf_counter()
            try:
                conn.request("GET", request_path(path, rng, vary), headers={"Accept": "application/json"})
                response = conn.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                statuses["error"] += 1
                conn.close()
                conn = http.client.HTTPConnection(host, port, timeout=10)
                continue
            latencies.append(time.perf_counter() - started)
            statuses[response.status] += 1
            header = response.getheader("X-DB-Queries")
            if header is not None:
                queries.append(int(header))
    finally:
        conn.close()
    with lock:
        out["latencies"].extend(latencies)
        out["statuses"].update(statuses)
        out["queries"].extend(queries)


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", nargs="?", default="http://127.0.0.1:8000")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--path", default="/api/v1/products/")
    parser.add_argument("--vary", action="store_true", help="vary pages, filters and searches (cache misses)")
    args = parser.parse_args(argv)
    if not 1 <= args.clients <= 256 or not 0 < args.seconds <= 600:
        parser.error("use 1-256 clients for at most 600 seconds")

    url = urlsplit(args.url)
    if url.scheme != "http" or not url.hostname:
        parser.error("URL must look like http://127.0.0.1:8000")
    loopback_only(url.hostname)
    port = url.port or 80

    out = {"latencies": [], "statuses": Counter(), "queries": []}
    lock = threading.Lock()
    deadline = time.perf_counter() + args.seconds
    started = time.perf_counter()
    threads = [
        threading.Thread(
            target=client, args=(url.hostname, port, args.path, deadline, args.vary, i, out, lock), daemon=True
        )
        for i in range(args.clients)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=args.seconds + 30)
    elapsed = time.perf_counter() - started

    latencies = out["latencies"]
    print(f"target        {args.url}{args.path}  ({'varied queries' if args.vary else 'one URL'})")
    print(f"clients       {args.clients} for {args.seconds:.0f}s")
    if not latencies:
        print("no responses: is the server running?")
        return 1
    ok = sum(n for s, n in out["statuses"].items() if isinstance(s, int) and 200 <= s < 300)
    print(f"requests      {len(latencies)}  ({ok} OK)  statuses {dict(out['statuses'])}")
    print(f"throughput    {len(latencies) / elapsed:.1f} requests/s  ({ok / elapsed:.1f} OK/s)")
    print(
        f"latency       p50 {percentile(latencies, 50) * 1000:.1f} ms   p99 {percentile(latencies, 99) * 1000:.1f} ms   "
        f"max {max(latencies) * 1000:.1f} ms"
    )
    queries = out["queries"]
    if queries:
        misses = [q for q in queries if q > 0]
        print(
            f"db queries    {statistics.mean(queries):.2f} per request on average; "
            f"{len(misses)} cache misses at {statistics.mean(misses) if misses else 0:.1f} queries each "
            f"(min {min(misses) if misses else 0}, max {max(misses) if misses else 0}); "
            f"{len(queries) - len(misses)} served from cache with 0"
        )
    else:
        print("db queries    not reported: start the server with DEBUG=1 to get the X-DB-Queries header")
    if out["statuses"].get(429):
        print("note          429 = rate limited; raise THROTTLE_ANON for the server under test")
    return 0


if __name__ == "__main__":
    sys.exit(main())
