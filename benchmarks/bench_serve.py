"""Load test of ``svitlo serve`` on localhost: concurrent ``assess`` requests on a bundled case.

Starts the server as its own process (``svitlo serve``, loopback, a temporary store), warms the grid cache, then
sends ``--requests`` POST /api/assess requests, ``--concurrency`` at a time, each a different seeded strike of
``--k`` random lines. Prints latency percentiles, throughput and failures, and side by side the same strikes
assessed in-process with ``svitlo.assess`` (the ratio is the cost of HTTP, JSON and the worker pool). Then it
launches a sweep from the API and measures ``GET /api/info`` and ``assess`` latency while the sweep runs: the
server must stay responsive.

    python benchmarks/bench_serve.py --case case118 --requests 50 --concurrency 50
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _strikes(case: str, k: int, n: int, seed: int) -> list[dict]:
    import svitlo

    g = svitlo.load_grid(case)
    lines = [b for b, kind in zip(g.branches.index, g.branches["kind"]) if kind == "line"]
    rng = np.random.default_rng(seed)
    return [{"grid": case, "name": f"load-{i}",
             "strikes": [{"assets": [str(x) for x in rng.choice(lines, k, replace=False)]}]} for i in range(n)]


def _pct(a: list[float]) -> str:
    v = np.asarray(a) * 1000
    return (f"p50 {np.percentile(v, 50):7.1f} ms  p90 {np.percentile(v, 90):7.1f} ms  "
            f"p99 {np.percentile(v, 99):7.1f} ms  max {v.max():7.1f} ms")


async def _load(url: str, bodies: list[dict], concurrency: int) -> tuple[list[float], list[str], float]:
    import httpx

    sem = asyncio.Semaphore(concurrency)
    lat: list[float] = []
    fails: list[str] = []

    async with httpx.AsyncClient(base_url=url, timeout=600) as c:
        async def one(b: dict) -> None:
            async with sem:
                t = time.perf_counter()
                r = await c.post("/api/assess", json={"scenario": b})
                lat.append(time.perf_counter() - t)
                if r.status_code != 200:
                    fails.append(f"{r.status_code}: {r.text[:120]}")

        t0 = time.perf_counter()
        await asyncio.gather(*(one(b) for b in bodies))
        return lat, fails, time.perf_counter() - t0


async def _during_sweep(url: str, case: str, body: dict, *, n_sweep: int, probes: int) -> dict:
    import httpx

    async with httpx.AsyncClient(base_url=url, timeout=600) as c:
        r = await c.post("/api/sweeps", json={"scenario": {"grid": case, "strikes": [{"random": {"k": 3}}]},
                                              "n": n_sweep, "run": "bench"})
        r.raise_for_status()
        job = r.json()["id"]
        while (await c.get(f"/api/jobs/{job}")).json()["state"] == "queued":
            await asyncio.sleep(0.05)
        info, assess, fails = [], [], 0
        for _ in range(probes):
            t = time.perf_counter()
            fails += (await c.get("/api/info")).status_code != 200
            info.append(time.perf_counter() - t)
            t = time.perf_counter()
            fails += (await c.post("/api/assess", json={"scenario": body})).status_code != 200
            assess.append(time.perf_counter() - t)
        j = (await c.get(f"/api/jobs/{job}")).json()
        await c.delete(f"/api/jobs/{job}")
        return {"info": info, "assess": assess, "fails": fails, "job": j}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--case", default="case118")
    ap.add_argument("--requests", type=int, default=50)
    ap.add_argument("--concurrency", type=int, default=50)
    ap.add_argument("--k", type=int, default=3, help="lines struck per request")
    ap.add_argument("--workers", type=int, default=2, help="server worker threads")
    ap.add_argument("--sweep", type=int, default=20000, help="scenarios of the sweep run during the probes")
    ap.add_argument("--probes", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()

    import svitlo
    from svitlo.engine.invariants import check_impact

    load = os.getloadavg()[0]
    print(f"machine: {os.cpu_count()} cores, load {load:.2f}; case {a.case}, {a.requests} requests, "
          f"concurrency {a.concurrency}, k = {a.k}, server workers {a.workers}")
    bodies = _strikes(a.case, a.k, a.requests, a.seed)

    grid = svitlo.load_grid(a.case)
    svitlo.assess(grid, bodies[0])
    t = time.perf_counter()
    for b in bodies:
        check_impact(svitlo.assess(grid, b))
    inproc = (time.perf_counter() - t) / len(bodies)

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    store = tempfile.mkdtemp(prefix="svitlo-bench-serve-")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    proc = subprocess.Popen([sys.executable, "-c", "from svitlo.cli.main import run; run()", "serve", "--port", str(port), "--store",
                             store, "--workers", str(a.workers)], env=env, stdout=subprocess.DEVNULL)
    try:
        import httpx

        t0 = time.perf_counter()
        while True:
            try:
                httpx.get(url + "/api/info", timeout=2).raise_for_status()
                break
            except httpx.HTTPError:
                if proc.poll() is not None or time.perf_counter() - t0 > 180:
                    raise SystemExit("the server did not start") from None
                time.sleep(0.2)
        print(f"server up in {time.perf_counter() - t0:.1f} s")
        t = time.perf_counter()
        httpx.post(url + "/api/assess", json={"scenario": bodies[0]}, timeout=600).raise_for_status()
        print(f"first assess (grid load into the cache): {time.perf_counter() - t:.1f} s")

        lat, fails, wall = asyncio.run(_load(url, bodies, a.concurrency))
        print(f"assess over HTTP: {_pct(lat)}")
        print(f"  {len(bodies) / wall:.1f} requests/s, {len(fails)} failed" + (f": {fails[:3]}" if fails else ""))
        print(f"in-process svitlo.assess: {inproc * 1000:.1f} ms per strike ({1 / inproc:.1f}/s); HTTP throughput / "
              f"in-process = {(len(bodies) / wall) * inproc:.2f}")

        d = asyncio.run(_during_sweep(url, a.case, bodies[0], n_sweep=a.sweep, probes=a.probes))
        print(f"while a {a.sweep}-scenario sweep runs ({d['job']['done']} stored during the probes):")
        print(f"  GET /api/info:     {_pct(d['info'])}")
        print(f"  POST /api/assess:  {_pct(d['assess'])}")
        print(f"  failed probes: {d['fails']}")
        if fails or d["fails"]:
            raise SystemExit(1)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        import shutil

        shutil.rmtree(store, ignore_errors=True)


if __name__ == "__main__":
    main()
