"""``detente report``: a self-contained HTML report of a run.

* ``detente report RUN_ID --format html [--out FILE] [--store PATH] [--json]`` — any stored
  run (forecast, sweep, crisis); see :mod:`detente.report.html` for the contents;
* ``detente report FILE.json --format html`` — the saved output of ``detente run --json``
  (the crisis report) or ``detente forecast --json``.
"""

from __future__ import annotations

from pathlib import Path

import typer

from detente.cli.base import STORE_OPT, app, guarded, open_store, out, print_json
from detente.errors import InputError, Problem


@app.command("report")
def report_cmd(
    ref: str = typer.Argument(..., metavar="RUN", help="Run id (or unique key prefix), or a JSON file written by `detente run/forecast --json`."),
    fmt: str = typer.Option("html", "--format", help="Report format (html)."),
    out_path: Path | None = typer.Option(None, "--out", "-o", help="Output file (default: detente-report-RUN.html)."),
    store: Path | None = STORE_OPT,
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Write a self-contained HTML report of a stored run (forecast, sweep or crisis run)."""
    from detente.report import html as H

    def go():
        if fmt != "html":
            raise InputError(Problem("unknown report format", column="--format", value=fmt, expected="html"))
        p = Path(ref)
        if p.suffix.lower() == ".json" and p.is_file():
            text, kind, rid = H.file_report(p), "file", None
            default = p.with_suffix(".html").name
        else:
            st = open_store(store, as_json=as_json, readonly=True)
            info = st.info(ref)
            text, kind, rid = H.run_report(st, info.run_id), info.kind, info.run_id
            default = f"detente-report-{rid}.html"
        path = H.write_report(text, out_path or Path(default))
        return {"run": rid, "kind": kind, "format": fmt, "path": str(path), "bytes": len(text.encode("utf-8"))}

    obj = guarded(go, as_json=as_json)
    if as_json:
        print_json(obj)
    else:
        out.print(f"{obj['kind']} report written to {obj['path']} ({obj['bytes'] // 1024} KiB)")
