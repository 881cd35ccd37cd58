"""``svitlo serve``: a local web dashboard over the pipeline and the run store (FastAPI + uvicorn).

Install the ``web`` extra (``pip install svitlo[web]``). Nothing here is imported by ``import svitlo``.

* :func:`serve` starts the server (what the CLI command calls);
* :func:`svitlo.web.app.create_app` builds the ASGI application, e.g. for tests or another ASGI server.

The browser part (``static/``) ships in the package: no CDN, it works offline. It draws grids with the report's
own renderer (:mod:`svitlo.report`) and shows each simulated timeline as the offline report itself.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from pathlib import Path
from typing import Any

from svitlo.errors import InputError

__all__ = ["serve", "is_loopback", "web_available"]


def web_available() -> bool:
    """Whether FastAPI and uvicorn are installed."""
    import importlib.util

    return all(importlib.util.find_spec(m) is not None for m in ("fastapi", "uvicorn"))


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (``127.0.0.0/8``, ``::1``).

    >>> is_loopback("127.0.0.1"), is_loopback("localhost"), is_loopback("0.0.0.0"), is_loopback("::1")
    (True, True, False, True)
    """
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(*, data_dir: str | os.PathLike | None = None, store_dir: str | os.PathLike | None = None,
          host: str = "127.0.0.1", port: int = 8765, token: str | None = None, workers: int = 2,
          demo: bool = False, max_body_bytes: int = 1_000_000, log_level: str = "warning",
          demo_sweep_n: int = 200, ready: Any = None) -> None:
    """Run the dashboard until interrupted.

    Parameters
    ----------
    data_dir
        Folder of grid, facility and scenario files the dashboard may open (read only).
    store_dir
        Folder of sweep runs (created if missing; sweeps launched from the dashboard write there).
    host, port
        Address to bind. Any address but loopback needs ``token``.
    token
        Required on every request when set.
    workers
        Computing requests run at once (more wait in a bounded queue).
    demo
        Open the bundled demo (its folder as the data folder).
    max_body_bytes
        Largest request body (bytes).
    demo_sweep_n
        With ``demo``: scenarios of a sweep of the demo launched at start, so stored runs have one to show
        (0: none). Without ``store_dir`` the demo's runs go to a temporary folder removed at exit.
    ready
        Called with the URL once the server listens (the CLI prints it).
    """
    if not web_available():
        raise InputError("the dashboard needs FastAPI and uvicorn; install the 'web' extra "
                         "(pip install 'svitlo[web]')", field="serve")
    import uvicorn

    from svitlo.web.app import ServerConfig, create_app

    loop = is_loopback(host)
    if not loop and not token:
        raise InputError("binding another address than loopback needs a token (--token, or SVITLO_TOKEN)",
                         field="host", value=host)
    first = None
    if demo:
        from svitlo.cli.demo_cmd import demo_scenario_path

        p = demo_scenario_path()
        data_dir, first = p.parent, p.name
    if data_dir is not None and not Path(data_dir).is_dir():
        raise InputError("not a folder", field="data", value=str(data_dir))
    demo_store = demo and store_dir is None
    if demo_store:  # the demo's runs live in a temporary folder, removed at exit
        import tempfile

        store_dir = tempfile.mkdtemp(prefix="svitlo-demo-runs-")
    if store_dir is not None:
        Path(store_dir).mkdir(parents=True, exist_ok=True)
    hosts = ["127.0.0.1", "localhost", "[::1]", "::1"] if loop else ["*"]
    cfg = ServerConfig(data_dir=data_dir, store_dir=store_dir, token=token, allowed_hosts=hosts,
                       max_body_bytes=max_body_bytes, workers=workers, demo=demo, first_scenario=first)
    app = create_app(cfg)
    if demo and demo_sweep_n:
        from svitlo.web.app import launch_demo_sweep

        launch_demo_sweep(app, n=demo_sweep_n)
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level=log_level, access_log=False,
                                           timeout_graceful_shutdown=5))
    if ready is not None:
        ready(f"http://{'127.0.0.1' if host == 'localhost' else host}:{port}/"
              + (f"?token={token}" if token else ""))
    try:
        server.run()
    finally:
        if demo_store:
            import shutil

            shutil.rmtree(store_dir, ignore_errors=True)


def new_token() -> str:
    """A random token for ``--token`` (URL-safe, 32 bytes of entropy)."""
    return secrets.token_urlsafe(32)
