"""The ``svitlo serve`` application (FastAPI): a local dashboard over the pipeline and the run store.

Routes (the OpenAPI schema is at ``/openapi.json``; every body is validated against it):

=======================================  ==========================================================
``GET  /``                               the dashboard (HTML, JS and CSS ship in the package)
``GET  /api/info``                       version, bundled cases, grid and scenario files of the data folder
``GET  /api/scenario-file?name=``        a scenario file of the data folder, as JSON to edit
``POST /api/map``                        the intact grid drawn by the report's map renderer
``POST /api/assess``                     one strike assessed (metrics, destroyed assets, islands, map codes)
``POST /api/simulate``                   the hourly timeline; its offline report at ``/reports/{id}``
``POST /api/compare``                    two scenarios or plans side by side (page at ``/reports/{id}``)
``GET  /api/runs``, ``/api/runs/{run}``  stored sweep runs and their tables
``POST /api/runs/{run}/scenarios/{k}``   scenario ``k`` of a run simulated as a timeline
``POST /api/sweeps``                     launch a sweep into the store folder (a background job)
``GET/DELETE /api/jobs/{id}``            a job's progress; cancel it
=======================================  ==========================================================

Security: the CLI binds 127.0.0.1 unless told otherwise, and any other address needs a token
(``Authorization: Bearer``, or ``/?token=`` once, which sets a same-site cookie). The ``Host`` header must name
the bound address (no DNS rebinding). Request bodies are capped (``max_body_bytes``); files named in requests must
lie inside the data folder; sweeps write only inside the store folder; computing requests run on a bounded
worker pool (429 when full). Errors are JSON ``{"detail": message}`` with a 4xx status; svitlo's input errors
(400) name the field and value.

Examples
--------
>>> app = create_app(ServerConfig(data_dir=None, store_dir=None))
>>> sorted(r.path for r in app.routes if r.path.startswith("/api/j"))
['/api/jobs', '/api/jobs/{job_id}', '/api/jobs/{job_id}']
"""

from __future__ import annotations

import hmac
import math
import re
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from fastapi import Body, FastAPI, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.middleware.trustedhost import TrustedHostMiddleware

from svitlo._version import __version__
from svitlo.errors import InputError, StoreError, SvitloError
from svitlo.web.jobs import Busy, Conflict, SweepJobs, WorkerPool
from svitlo.web.paths import GRID_SUFFIXES, SCENARIO_SUFFIXES, list_data_files
from svitlo.web.service import MAX_HORIZON_H, Workspace

__all__ = ["create_app", "ServerConfig", "ScenarioRequest", "CompareRequest", "SweepRequest"]

_RUN_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
_COOKIE = "svitlo_token"
_DASHBOARD_CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
                  "frame-src 'self'; frame-ancestors 'self'; base-uri 'none'; form-action 'none'")
_REPORT_CSP = ("default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:; "
               "frame-ancestors 'self'; base-uri 'none'; form-action 'none'")


@dataclass(frozen=True)
class ServerConfig:
    """How the server was started.

    Attributes
    ----------
    data_dir
        Folder of grid, facility and scenario files requests may open (read only); ``None``: bundled cases only.
    store_dir
        Folder of sweep runs (listed, and written by sweeps launched here); ``None``: no runs.
    token
        Required on every request when set (always set when bound to a non-loopback address).
    allowed_hosts
        ``Host`` header values accepted (``["*"]``: any).
    max_body_bytes
        Largest request body accepted (bytes); larger ones get 413.
    workers, queue
        Computing requests at once, and waiting beyond them, before 429.
    max_sweep_n
        Most scenarios a sweep launched from the dashboard may have.
    max_horizon_h
        Longest timeline a request may simulate (h).
    demo
        The data folder is the bundled demo; its scenario opens first.
    """

    data_dir: str | Path | None
    store_dir: str | Path | None
    token: str | None = None
    allowed_hosts: list[str] = field(default_factory=lambda: ["127.0.0.1", "localhost", "testserver"])
    max_body_bytes: int = 1_000_000
    workers: int = 2
    queue: int = 64
    max_sweep_n: int = 100_000
    max_horizon_h: int = MAX_HORIZON_H
    demo: bool = False
    first_scenario: str | None = None


class ScenarioRequest(BaseModel):
    """A scenario to compute: the scenario mapping (as in a scenario YAML file) and, optionally, the scenario
    file of the data folder it came from (relative paths inside it start from that file's folder)."""

    model_config = ConfigDict(extra="forbid")
    scenario: dict[str, Any] = Field(description="scenario keys as in a scenario YAML (grid, strikes, ...)",
                                     examples=[{"grid": "case9", "strikes": [{"assets": ["line:3"]}]}])
    scenario_file: Annotated[str, Field(min_length=1, max_length=512)] | None = None


class CompareRequest(BaseModel):
    """Two scenarios (or two plans for one scenario) to simulate and set side by side."""

    model_config = ConfigDict(extra="forbid")
    a: ScenarioRequest
    b: ScenarioRequest


class SweepRequest(ScenarioRequest):
    """A sweep to launch into the store folder: ``n`` scenarios, run folder ``run``."""

    n: Annotated[int, Field(ge=1, le=100_000)]
    run: Annotated[str, Field(pattern=_RUN_NAME)]


def _asset(package: str, name: str) -> str:
    return (resources.files(package) / name).read_text(encoding="utf-8")


class _BodyLimit:
    """ASGI middleware: 413 for a body over ``limit`` bytes (declared length or bytes actually sent)."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for k, v in scope.get("headers", []):
            if k == b"content-length":
                try:
                    too_big = int(v) > self.limit
                except ValueError:
                    too_big = True
                if too_big:
                    await _send_json(send, 413, f"request body over {self.limit} bytes")
                    return
        # no declared length (chunked): read the body here, bounded, then hand it on in one piece
        if not any(k == b"content-length" for k, _ in scope.get("headers", [])):
            chunks: list[bytes] = []
            seen = 0
            while True:
                msg = await receive()
                if msg["type"] != "http.request":
                    break
                seen += len(msg.get("body", b""))
                if seen > self.limit:
                    await _send_json(send, 413, f"request body over {self.limit} bytes")
                    return
                chunks.append(msg.get("body", b""))
                if not msg.get("more_body", False):
                    break
            body, sent = b"".join(chunks), False

            async def replay() -> Any:
                nonlocal sent
                if not sent:
                    sent = True
                    return {"type": "http.request", "body": body, "more_body": False}
                return await receive()

            await self.app(scope, replay, send)
            return
        await self.app(scope, receive, send)


async def _send_json(send: Any, status: int, detail: str) -> None:
    import json

    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def create_app(config: ServerConfig) -> FastAPI:
    """The FastAPI application for ``config`` (run it with uvicorn; see :func:`svitlo.web.serve`)."""
    ws = Workspace(data_dir=config.data_dir, store_dir=config.store_dir, max_horizon_h=config.max_horizon_h)
    pool = WorkerPool(workers=config.workers, queue=config.queue)
    jobs = SweepJobs()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> Any:
        yield
        jobs.close()
        pool.close()

    app = FastAPI(title="svitlo", version=__version__, lifespan=lifespan,
                  description="Local dashboard over svitlo's pipeline and run store.", docs_url=None,
                  redoc_url=None)
    app.state.workspace = ws
    app.state.jobs = jobs
    app.state.config = config

    @app.middleware("http")
    async def guard(request: Request, call_next: Any) -> Response:
        if config.token:
            given = request.headers.get("authorization", "").removeprefix("Bearer ").strip() or \
                request.cookies.get(_COOKIE, "")
            q = request.query_params.get("token")
            if request.url.path == "/" and q and hmac.compare_digest(q.encode(), config.token.encode()):
                resp = RedirectResponse("/", status_code=303)
                resp.set_cookie(_COOKIE, config.token, httponly=True, samesite="strict")
                return resp
            if not hmac.compare_digest(given.encode(), config.token.encode()):
                return JSONResponse({"detail": "a token is required (Authorization: Bearer TOKEN, or open "
                                               "/?token=TOKEN once)"}, status_code=401)
        resp = await call_next(request)
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("Referrer-Policy", "no-referrer")
        resp.headers.setdefault("Content-Security-Policy", _DASHBOARD_CSP)
        resp.headers.setdefault("Cache-Control", "no-store")
        return resp

    app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(config.allowed_hosts))
    app.add_middleware(_BodyLimit, limit=config.max_body_bytes)

    @app.exception_handler(InputError)
    async def _input(_: Request, exc: InputError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=400)

    @app.exception_handler(StoreError)
    async def _store(_: Request, exc: StoreError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=409)

    @app.exception_handler(Busy)
    async def _busy(_: Request, exc: Busy) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=429, headers={"Retry-After": "2"})

    @app.exception_handler(Conflict)
    async def _conflict(_: Request, exc: Conflict) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=409)

    @app.exception_handler(SvitloError)
    async def _svitlo(_: Request, exc: SvitloError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=422)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errs = exc.errors()
        msg = "; ".join(f"{'.'.join(str(x) for x in e.get('loc', ()))}: {e.get('msg', '')}" for e in errs[:5])
        return JSONResponse({"detail": msg or "invalid request", "errors": _plain(errs[:20])}, status_code=422)

    # ------------------------------------------------------------------ pages
    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def index() -> HTMLResponse:
        return HTMLResponse(_asset("svitlo.web", "static/index.html"))

    @app.get("/static/{name}", include_in_schema=False)
    async def static(name: str) -> Response:
        files = {"app.js": ("svitlo.web", "static/app.js", "text/javascript"),
                 "app.css": ("svitlo.web", "static/app.css", "text/css"),
                 "report.css": ("svitlo.report", "report.css", "text/css")}
        if name not in files:
            raise HTTPException(404, "no such file")
        pkg, path, mime = files[name]
        return Response(_asset(pkg, path), media_type=f"{mime}; charset=utf-8")

    @app.get("/reports/{report_id}", response_class=HTMLResponse, include_in_schema=False)
    async def report(report_id: Annotated[str, PathParam(pattern=r"^[0-9a-f]{32}$")]) -> HTMLResponse:
        html = ws.report(report_id)
        if html is None:
            raise HTTPException(404, "no such report (reports are kept for the last 32 simulations)")
        return HTMLResponse(html, headers={"Content-Security-Policy": _REPORT_CSP})

    # ------------------------------------------------------------------ API
    @app.get("/api/info")
    async def info() -> dict[str, Any]:
        """Version, bundled cases, files of the data folder, whether runs can be stored."""
        from svitlo.io.cases import CASES

        return {"version": __version__, "cases": sorted(CASES),
                "grid_files": list_data_files(ws.data_dir, GRID_SUFFIXES),
                "scenario_files": list_data_files(ws.data_dir, SCENARIO_SUFFIXES),
                "store": ws.store_dir is not None, "demo": config.demo,
                "first_scenario": config.first_scenario, "max_horizon_h": ws.max_horizon_h}

    @app.get("/api/scenario-file")
    async def scenario_file(name: Annotated[str, Query(min_length=1, max_length=512)]) -> dict[str, Any]:
        """A scenario file of the data folder, as JSON (to edit and send back with ``scenario_file``)."""
        return {"name": name, "scenario": ws.scenario_file(name)}

    @app.post("/api/map")
    async def grid_map(req: Annotated[ScenarioRequest, Body()]) -> dict[str, Any]:
        """The scenario's grid, intact, drawn by the report's renderer; asset ids in drawing order."""
        sc = ws.scenario(req.scenario, scenario_file=req.scenario_file)
        return await pool.run(ws.map, sc)

    @app.post("/api/assess")
    async def assess(req: Annotated[ScenarioRequest, Body()]) -> dict[str, Any]:
        """Assess the scenario's strike (hour 0): metrics, destroyed assets, islands, overloads, map codes."""
        sc = ws.scenario(req.scenario, scenario_file=req.scenario_file)
        return await pool.run(ws.assess, sc)

    @app.post("/api/simulate")
    async def simulate(req: Annotated[ScenarioRequest, Body()]) -> dict[str, Any]:
        """Simulate the scenario hour by hour; the report opens at ``/reports/{report_id}``."""
        sc = ws.scenario(req.scenario, scenario_file=req.scenario_file)
        return await pool.run(ws.simulate, sc)

    @app.post("/api/compare")
    async def compare(req: Annotated[CompareRequest, Body()]) -> dict[str, Any]:
        """Simulate two scenarios or plans and set them side by side: the planner's measures of each and the
        difference, hourly resilience curves, hours dark per facility; the page opens at ``/reports/{id}``."""
        sa = ws.scenario(req.a.scenario, scenario_file=req.a.scenario_file)
        sb = ws.scenario(req.b.scenario, scenario_file=req.b.scenario_file)
        return await pool.run(ws.compare, sa, sb)

    @app.get("/api/runs")
    async def runs() -> dict[str, Any]:
        """Sweep runs of the store folder, newest first."""
        return {"runs": await pool.run(ws.runs)}

    @app.get("/api/runs/{run}")
    async def run(run: Annotated[str, PathParam(pattern=_RUN_NAME)],
                  top: Annotated[int, Query(ge=1, le=100)] = 10) -> dict[str, Any]:
        """A run's tables: quantiles, risk curves, worst scenarios, assets to protect, facilities."""
        return await pool.run(ws.run, run, top=top)

    @app.post("/api/runs/{run}/scenarios/{scenario}")
    async def run_scenario(run: Annotated[str, PathParam(pattern=_RUN_NAME)],
                           scenario: Annotated[int, PathParam(ge=0, le=10_000_000)]) -> dict[str, Any]:
        """Scenario ``scenario`` of a stored run, simulated hour by hour (its destroyed assets as the strike)."""
        sc = await pool.run(ws.run_scenario, run, scenario)
        return await pool.run(ws.simulate, sc)

    @app.post("/api/sweeps", status_code=202)
    async def launch(req: Annotated[SweepRequest, Body()]) -> dict[str, Any]:
        """Launch a sweep of ``n`` scenarios into run folder ``run`` of the store (resumes a same run)."""
        if ws.store_dir is None:
            raise InputError("the server was started without a store folder (--store DIR)", field="run",
                             value=req.run)
        if req.n > config.max_sweep_n:
            raise InputError(f"this server runs sweeps of at most {config.max_sweep_n} scenarios", field="n",
                             value=req.n)
        sc = ws.scenario(req.scenario, scenario_file=req.scenario_file)
        out = ws.store_dir / req.run
        ws.store_dir.mkdir(parents=True, exist_ok=True)
        return jobs.submit(sc, n=req.n, out=out, run=req.run, grid=lambda: ws.grid(sc)).public()

    @app.get("/api/jobs")
    async def list_jobs() -> dict[str, Any]:
        """Sweep jobs launched since the server started, newest first."""
        return {"jobs": [j.public() for j in jobs.list()]}

    @app.get("/api/jobs/{job_id}")
    async def get_job(job_id: Annotated[str, PathParam(pattern=r"^[0-9a-f]{16}$")]) -> dict[str, Any]:
        """One job's progress."""
        j = jobs.get(job_id)
        if j is None:
            raise HTTPException(404, "no such job")
        return j.public()

    @app.delete("/api/jobs/{job_id}")
    async def cancel_job(job_id: Annotated[str, PathParam(pattern=r"^[0-9a-f]{16}$")]) -> dict[str, Any]:
        """Cancel a job: it stops after its current chunk; stored chunks stay (relaunch to resume)."""
        j = jobs.cancel(job_id)
        if j is None:
            raise HTTPException(404, "no such job")
        return j.public()

    return app


def launch_demo_sweep(app: FastAPI, *, n: int) -> None:
    """Queue a sweep of ``n`` scenarios of the demo scenario into run ``demo-sweep`` (demo mode)."""
    cfg: ServerConfig = app.state.config
    ws: Workspace = app.state.workspace
    if ws.store_dir is None or cfg.first_scenario is None:
        return
    data = ws.scenario_file(cfg.first_scenario)
    sc = ws.scenario(data, scenario_file=cfg.first_scenario)
    app.state.jobs.submit(sc, n=n, out=ws.store_dir / "demo-sweep", run="demo-sweep", grid=lambda: ws.grid(sc))


def _plain(v: Any) -> Any:
    """Validation error details as plain JSON (exception objects in ``ctx`` become text)."""
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    if v is None or isinstance(v, (bool, int, float, str)):
        return v if not isinstance(v, str) else re.sub(r"[\x00-\x1f]", " ", v)[:500]
    return str(v)[:500]
