"""``detente serve``: the local web UI."""

from __future__ import annotations

from pathlib import Path

import typer

from detente.cli.base import (
    EXIT_FAILED,
    app,
    err,
    out,
)


@app.command("serve")
def serve_cmd(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to bind; loopback unless you say otherwise."),
    port: int = typer.Option(8765, "--port", min=1, max=65535, help="TCP port."),
    library: Path | None = typer.Option(None, "--library", help="Directory of the user's scenario files."),
    store_root: Path | None = typer.Option(None, "--store", help="Run store directory."),
    upload_limit_mb: float = typer.Option(5.0, "--upload-limit-mb", min=0.01, help="Largest accepted upload."),
    max_finished_jobs: int = typer.Option(200, "--max-finished-jobs", min=1,
                                          help="Finished background jobs kept for polling (the most recent)."),
    finished_job_ttl: float | None = typer.Option(None, "--finished-job-ttl", min=1.0,
                                                     help="Also drop finished jobs this many seconds after they finished."),
) -> None:
    """Start the local web UI (FastAPI) on http://HOST:PORT."""
    try:
        import uvicorn

        from detente.web.app import WebConfig, _default_library, create_app
    except ImportError as exc:  # the `web` extra is missing
        err.print(f"[bold red]the web UI needs the `web` extra[/]: pip install 'detente[web]' ({exc})")
        raise typer.Exit(EXIT_FAILED) from None
    cfg = WebConfig(library_dir=library or _default_library(), store_root=store_root,
                    upload_limit=int(upload_limit_mb * 1024 * 1024), max_finished_jobs=max_finished_jobs,
                    finished_job_ttl=finished_job_ttl)
    if host not in cfg.allowed_hosts:
        cfg.allowed_hosts = (*cfg.allowed_hosts, host if ":" not in host or host.startswith("[") else f"[{host}]")
    if host not in ("127.0.0.1", "localhost", "::1"):
        err.print(f"[yellow]warning[/]: serving on {host}; anyone who can reach it can run models and upload files")
    out.print(f"detente UI on http://{host}:{port}/ (library {cfg.library_dir})")
    uvicorn.run(create_app(cfg), host=host, port=port, log_level="warning")
