"""The local web UI of detente (FastAPI, server-rendered pages, Plotly.js charts).

``create_app()`` builds the application; ``detente serve`` runs it with uvicorn on
127.0.0.1 unless ``--host`` is given. Pages:

* ``/`` — scenario library: bundled examples and the user's files (the library directory);
* ``/upload`` — upload a detente YAML, CSV/XLSX, KTAB or Decide file; validation problems
  are shown at the offending cell of the file's table, which can be fixed in place;
* ``/scenario/{source}/{name}`` — an editable actor × issue table, model runs as
  background jobs with progress, and charts;
* ``/runs`` and ``/runs/{id}`` — run history from the store, charts, downloads;
* ``/compare?ids=a,b`` — models side by side.

JSON API under ``/api/...`` (documented by the OpenAPI schema at ``/openapi.json``).
Plotly.js is served from the installed ``plotly`` package (``/static/plotly.min.js``), never
from a CDN.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import ChoiceLoader, Environment, PackageLoader, select_autoescape
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from detente import examples, seeding
from detente.errors import InputError, Problem
from detente.formats import load as load_scenario
from detente.formats import save as save_scenario
from detente.models.registry import available, check_params
from detente.models.registry import get as get_model
from detente.result import RunResult
from detente.scenario import Scenario
from detente.store.files import atomic_write_bytes
from detente.web.edits import CannotEditInPlace, save_in_place
from detente.web.jobs import JobManager
from detente.web.security import DEFAULT_UPLOAD_LIMIT, SAFE_NAME, BodyLimit, CsrfGuard, safe_join
from detente.web.work import crisis_job, forecast_job, sweep_job

__all__ = ["create_app", "WebConfig", "Error", "ErrorProblem"]

UPLOAD_SUFFIXES = (".yaml", ".yml", ".json", ".csv", ".txt", ".xlsx", ".xml", ".tsv")


@dataclass
class WebConfig:
    """Settings of one app instance."""

    library_dir: Path
    store_root: Path | None = None
    upload_limit: int = DEFAULT_UPLOAD_LIMIT
    workers: int = 2
    #: Finished background jobs (done or failed) kept for ``/api/jobs`` and the runs page:
    #: the most recently finished ones, at most this many. Queued and running jobs are
    #: always kept; the runs the jobs stored stay in the store either way.
    max_finished_jobs: int = 200
    #: When set, finished jobs are also dropped this many seconds after they finished.
    finished_job_ttl: float | None = None
    #: Host header values the app answers (defence against DNS rebinding); ``detente serve
    #: --host H`` adds H. "testserver" is the host of FastAPI's test client.
    allowed_hosts: tuple[str, ...] = ("127.0.0.1", "localhost", "::1", "[::1]", "testserver")


def _default_library() -> Path:
    home = Path(os.environ.get("DETENTE_HOME", Path.home() / ".detente"))
    return home / "library"


class RunRequest(BaseModel):
    """Body of ``POST /api/jobs``: run one model on one scenario of the library."""

    model_config = ConfigDict(extra="forbid")
    source: str = Field(pattern="^(examples|library)$", description="Where the scenario lives.")
    name: str = Field(description="Scenario file name (library) or example name.")
    model: str = Field(description="Registered model name.")
    variant: str | None = None
    rounds: int | None = Field(None, ge=0, le=10_000)
    seed: int | None = Field(None, ge=0)
    params: dict[str, Any] = Field(default_factory=dict)


class CrisisRunRequest(BaseModel):
    """Body of ``POST /api/crisis-jobs``: run a crisis scenario's hypotheses."""

    model_config = ConfigDict(extra="forbid")
    source: str = Field(pattern="^(examples|library)$")
    name: str
    runs: int = Field(500, ge=1, le=20_000, description="Monte-Carlo runs per hypothesis.")
    seed: int | None = Field(None, ge=0)
    hypotheses: list[str] = Field(default_factory=list, max_length=50, description="Names; empty: all.")
    counterfactuals: bool = Field(False, description="Also compute the stalling/seesaw counterfactuals (slower).")
    sets: list[Annotated[str, Field(max_length=2000)]] = Field(
        default_factory=list, max_length=500,
        description="Overrides as `detente run --set` takes them: 'PATH=VALUE' (VALUE read as JSON when it parses, "
                    "else as text), e.g. 'flashpoints[UA].base_hazard_m=0.002'. Checked before the job starts "
                    "(422 with the same problems as the CLI).")
    mechanisms: list[str] = Field(default_factory=list, max_length=100,
                                  description="Mechanisms to map (each hypothesis run again with the mechanism "
                                              "switched off); empty: no mechanism map.")
    mechanism_runs: int | None = Field(None, ge=1, le=20_000, description="Runs of the mechanism map (default: `runs`).")
    draw_assumptions: bool = Field(False, description="Draw every assumption with a range per run and report the "
                                   "parameter-uncertainty interval beside the Monte Carlo one (`uncertainty`), as "
                                   "`detente run --draw-assumptions`.")
    param_draws: int | None = Field(None, ge=2, le=400, description="Parameter sets of the nested design behind the "
                                    "parameter-uncertainty interval (default 40, as the CLI).")


class CrisisSensitivityRequest(BaseModel):
    """Body of ``POST /api/crisis-sensitivity-jobs``: Sobol or Morris indices of crisis outputs
    over assumption numbers, with a tornado (as ``detente sensitivity SCENARIO --store``)."""

    model_config = ConfigDict(extra="forbid")
    source: str = Field(pattern="^(examples|library)$")
    name: str
    method: str = Field("sobol", pattern="^(sobol|morris)$")
    n: int = Field(64, ge=2, le=8192, description="Sobol base samples (a power of two) or Morris trajectories.")
    factors: list[Annotated[str, Field(max_length=300)]] = Field(
        default_factory=list, max_length=300, description="Dotted paths of numbers with an assumption range; "
        "empty: every assumption with a range.")
    outputs: list[str] = Field(default_factory=lambda: ["months_of_peace_focal"], min_length=1, max_length=4,
                               description="p_war_by_end (with a record), months_of_peace_focal, p_war_horizon, "
                                           "p_no_focal_war_horizon.")
    hypothesis: str | None = Field(None, description="Hypothesis to analyse under (default: the base description).")
    runs_per_point: int = Field(32, ge=2, le=10_000, description="Monte-Carlo runs per parameter point.")
    tornado_runs: int = Field(1000, ge=2, le=100_000, description="Runs per point of the one-at-a-time tornado.")
    seed: int | None = Field(None, ge=0)
    sets: list[Annotated[str, Field(max_length=2000)]] = Field(
        default_factory=list, max_length=500, description="`--set PATH=VALUE` overrides the study runs under.")


class SweepRunRequest(BaseModel):
    """Body of ``POST /api/sweep-jobs``: a Monte Carlo sweep or a sensitivity study of a model."""

    model_config = ConfigDict(extra="forbid")
    source: str = Field(pattern="^(examples|library)$")
    name: str
    model: str = Field(description="Registered model name.")
    variant: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    vary: list[Annotated[str, Field(max_length=500)]] = Field(
        min_length=1, max_length=20, description="Factors in the `detente sweep --vary` grammar: "
        "FIELD[ACTORS/ISSUES]=+-X | +-X% | +A..B | *A..B | A..B, e.g. 'salience=+-10', 'position[DE,FR]=+-5%'.")
    design: str = Field("montecarlo", pattern="^(montecarlo|sobol|morris)$",
                        description="montecarlo (a sweep of `runs` runs), sobol or morris (a sensitivity study).")
    runs: int = Field(200, ge=1, le=20_000, description="Runs of a Monte Carlo sweep.")
    n: int | None = Field(None, ge=2, le=4096, description="Sobol base samples / Morris trajectories "
                          "(default 256 / 20); the study runs n·(k+2) (Sobol, first and total order) or n·(k+1) (Morris) model runs for k factors.")
    seed: int = Field(0, ge=0)


class EditRequest(BaseModel):
    """Body of ``POST /api/scenarios/{name}/cells``: change numbers of a library scenario."""

    model_config = ConfigDict(extra="forbid")
    cells: list[dict[str, Any]] = Field(
        description="Changes: {'actor': A, 'issue': I, 'field': 'position'|'salience'|'capability', 'value': x} "
        "or {'actor': A, 'field': 'capability', 'value': x} for the actor's default."
    )
    save_as: str | None = Field(
        None, description="Save the edited scenario as a new detente YAML file of the library with this name "
        "(.yaml/.yml) instead of editing the file in place; the edited file is left as it was.")
    overwrite: bool = Field(False, description="Allow `save_as` to replace an existing file.")


class ErrorProblem(BaseModel):
    """One problem of an error response: what is wrong, and where (as ``detente.errors.Problem``)."""

    model_config = ConfigDict(extra="forbid")
    message: str
    file: str | None = None
    line: int | None = None
    column: str | int | None = None
    value: str | int | float | bool | None = None
    expected: str | None = None


class Error(BaseModel):
    """Body of every error response of the JSON API (status 400-499): ``error`` says what went
    wrong; ``problems`` lists invalid input value by value; ``message`` adds detail;
    ``valid`` is ``false`` on ``POST /api/validate``'s answer for an invalid file."""

    model_config = ConfigDict(extra="forbid")
    error: str
    message: str | None = None
    problems: list[ErrorProblem] | None = None
    valid: bool | None = None


_ERROR_TEXT = {
    400: "Invalid file name, run id or request (e.g. a malformed multipart body), or a Host header the server does not answer",
    403: "Cross-site request refused",
    404: "Not found",
    409: "Conflict: the request cannot be carried out as asked (nothing was changed)",
    413: "Request body or upload larger than the limit",
    422: "Invalid input: every problem found",
}


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` of a route: the error statuses it can answer, all with :class:`Error`."""
    return {c: {"model": Error, "description": _ERROR_TEXT[c]} for c in codes}


def _scalar(v: Any) -> str | int | float | bool | None:
    if v is None or isinstance(v, (bool, int, str)):
        return v if not isinstance(v, str) else v[:500]
    if isinstance(v, float):
        return v if v == v and abs(v) != float("inf") else str(v)
    return str(v)[:500]


def _error_body(detail: Any) -> dict[str, Any]:
    """Any error detail as a valid :class:`Error` body."""
    if not isinstance(detail, dict):
        return {"error": str(detail) if detail is not None else "error"}
    out: dict[str, Any] = {"error": str(detail.get("error") or detail.get("message") or "error")}
    if detail.get("message") is not None and "error" in detail:
        out["message"] = str(detail["message"])
    if isinstance(detail.get("problems"), list):
        probs = []
        for p in detail["problems"]:
            p = p if isinstance(p, dict) else {"message": p}
            q: dict[str, Any] = {"message": str(p.get("message") or "invalid value")}
            for k in ("file", "expected"):
                if p.get(k) is not None:
                    q[k] = str(p[k])
            if isinstance(p.get("line"), int) and not isinstance(p.get("line"), bool):
                q["line"] = p["line"]
            if p.get("column") is not None:
                q["column"] = p["column"] if isinstance(p["column"], (str, int)) and not isinstance(p["column"], bool) else str(p["column"])
            if p.get("value") is not None:
                q["value"] = _scalar(p["value"])
            probs.append(q)
        out["problems"] = probs
    if isinstance(detail.get("valid"), bool):
        out["valid"] = detail["valid"]
    return out


class _JsonApiRefusals:
    """ASGI middleware: a plain-text error answer to an ``/api/`` request from a middleware
    inside it (the Host check answers 400 "Invalid host header" as text) is sent as an
    :class:`Error` JSON body instead, like every other error of the API."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith("/api/"):
            return await self.app(scope, receive, send)
        held: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def rewrite(message: Any) -> None:
            if message["type"] == "http.response.start":
                ctype = dict(message.get("headers") or []).get(b"content-type", b"")
                if message["status"] >= 400 and ctype.startswith(b"text/plain"):
                    held["start"] = message
                    return
            elif message["type"] == "http.response.body" and "start" in held:
                chunks.append(message.get("body", b""))
                if message.get("more_body"):
                    return
                text = b"".join(chunks).decode("utf-8", "replace").strip() or "request refused"
                body = json.dumps({"error": text}).encode()
                headers = [(k, v) for k, v in held["start"].get("headers") or []
                           if k.lower() not in (b"content-type", b"content-length")]
                headers += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
                await send({**held["start"], "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
            await send(message)

        await self.app(scope, receive, rewrite)


def create_app(config: WebConfig | None = None) -> FastAPI:
    """Build the web application.

    Parameters
    ----------
    config
        Library directory, store location and limits; defaults to ``$DETENTE_HOME/library``
        and the default store.
    """
    cfg = config or WebConfig(library_dir=_default_library())
    cfg.library_dir.mkdir(parents=True, exist_ok=True)
    def job_records():
        from detente.store import Store
        from detente.store.jobs import JobRecords

        return JobRecords(Store(cfg.store_root) if cfg.store_root is not None else Store())

    # job states are kept in the store; jobs a previous server left unfinished are marked interrupted
    jobs = JobManager(workers=cfg.workers, max_finished=cfg.max_finished_jobs, finished_ttl=cfg.finished_job_ttl,
                      records=job_records)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        available()  # import the model modules at start-up, not during the first page request
        jobs.warm_up()  # and start the jobs' process server
        yield
        jobs.shutdown()

    app = FastAPI(title="detente", version=_version(), docs_url="/api/docs", redoc_url=None, lifespan=lifespan)
    # a bound on every request body while it streams in (the exact per-upload limit is
    # checked by the handlers); room for form encoding: a corrected table or text posted
    # as an urlencoded form is up to a few times longer than the file it encodes
    app.add_middleware(BodyLimit, limit=8 * cfg.upload_limit + 1024 * 1024)
    if "*" not in cfg.allowed_hosts:
        from starlette.middleware.trustedhost import TrustedHostMiddleware

        app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(cfg.allowed_hosts))
        app.add_middleware(_JsonApiRefusals)  # its plain-text 400 becomes an Error body under /api/
    # the web's templates, and the report's (its stylesheet detente.css is shared by both)
    env = Environment(loader=ChoiceLoader([PackageLoader("detente.web", "templates"),
                                           PackageLoader("detente.report", "templates")]),
                      autoescape=select_autoescape(["html"]))
    from detente.report.html import when

    env.filters["when"] = when
    csrf = CsrfGuard()
    app.state.config, app.state.jobs, app.state.csrf = cfg, jobs, csrf

    def store():
        from detente.store import Store

        return Store(cfg.store_root) if cfg.store_root is not None else Store()

    app.state.store_factory = store

    # ------------------------------------------------------------ helpers
    def render(request: Request, template: str, status: int = 200, **ctx: Any) -> HTMLResponse:
        nonce = request.cookies.get(csrf.cookie_name) or csrf.new_nonce()
        html = env.get_template(template).render(
            request=request, csrf_field=csrf.field_name, csrf_token=csrf.token_for(nonce), **ctx
        )
        resp = HTMLResponse(html, status_code=status)
        resp.set_cookie(csrf.cookie_name, nonce, httponly=True, samesite="strict")
        return resp

    def check_form_csrf(request: Request, token: str | None) -> None:
        if not csrf.check(request.cookies.get(csrf.cookie_name), token):
            raise HTTPException(403, "missing or invalid CSRF token; reload the page and try again")

    def check_origin(request: Request) -> None:
        origin = request.headers.get("origin") or request.headers.get("referer")
        if origin:
            host = request.headers.get("host", "")
            from urllib.parse import urlparse

            # an opaque origin ("null": sandboxed frames, file: pages) is another site too
            if not host or urlparse(origin).netloc != host:
                raise HTTPException(403, "cross-site request refused")

    def scenario_path(source: str, name: str) -> Path:
        if source == "examples":
            # only the bundled names: ``examples.path`` joins the name to the package
            # directory, so an absolute path or ``..`` in a JSON body would escape it
            stem = name.rsplit(".", 1)[0] if name.endswith((".yaml", ".yml")) else name
            if stem not in examples.names():
                raise HTTPException(404, f"no bundled example {name[:200]!r}")
            return examples.path(stem)
        if source == "library":
            p = safe_join(cfg.library_dir, name)
            if p is None:
                raise HTTPException(400, f"invalid file name {name!r}")
            if not p.is_file():
                raise HTTPException(404, f"no library file {name!r}")
            return p
        raise HTTPException(404, f"unknown source {source!r}")

    def scenario_dir(source: str, name: str) -> Path:
        """Folder a scenario's relative files (the record's facts file) are read from."""
        return scenario_path(source, name).parent

    cache: dict[Path, tuple[tuple[int, int], Scenario]] = {}

    def get_scenario(source: str, name: str) -> Scenario:
        """Load (or reuse, while the file is unchanged) a scenario of the library."""
        p = scenario_path(source, name)
        st = p.stat()
        stamp = (st.st_mtime_ns, st.st_size)
        hit = cache.get(p)
        if hit is not None and hit[0] == stamp:
            return hit[1].model_copy(deep=True)
        try:
            scn = load_scenario(p)
        except InputError as exc:
            raise HTTPException(422, exc.to_dict()) from None
        if len(cache) > 64:
            cache.clear()
        cache[p] = (stamp, scn)
        return scn.model_copy(deep=True)

    def library_entries() -> list[dict[str, Any]]:
        out = [{"source": "examples", "name": n, "label": n} for n in examples.names()]
        for p in sorted(cfg.library_dir.iterdir()):
            if p.is_file() and p.suffix.lower() in UPLOAD_SUFFIXES and SAFE_NAME.match(p.name):
                out.append({"source": "library", "name": p.name, "label": p.name})
        return out

    def model_entries() -> list[dict[str, Any]]:
        return [{"name": s.name, "variants": list(s.variants), "dynamics": s.dynamics, "summary": s.summary} for s in available()]

    async def read_upload(upload: UploadFile) -> bytes:
        data = bytearray()
        while True:
            chunk = await upload.read(64 * 1024)
            if not chunk:
                break
            data.extend(chunk)
            if len(data) > cfg.upload_limit:
                raise HTTPException(413, f"upload larger than the limit of {cfg.upload_limit} bytes")
        return bytes(data)

    def validate_bytes(name: str, data: bytes) -> tuple[Scenario | None, InputError | None]:
        suffix = Path(name).suffix.lower()
        # an upload's table references ({file: ...}) are looked up in the library, where the
        # upload will be stored, and may not leave it (no absolute paths, '..' or symlinks out)
        opts: dict[str, Any] = {"ref_dir": cfg.library_dir} if suffix in (".yaml", ".yml", ".json") else {}
        with tempfile.TemporaryDirectory() as td:
            p = Path(td) / f"upload{suffix}"
            p.write_bytes(data)
            try:
                return load_scenario(p, **opts), None
            except InputError as exc:
                probs = [Problem(q.message, _shown_file(q.file, p, name), q.line, q.column, q.value, q.expected)
                         for q in exc.problems]
                return None, InputError(probs)

    def _shown_file(file: str | None, upload: Path, name: str) -> str:
        """The name a problem's file is shown under: the upload's, or a library file's own name."""
        if file and file != str(upload):
            try:
                return Path(file).resolve().relative_to(cfg.library_dir.resolve()).as_posix()
            except (ValueError, OSError):
                pass
        return name

    def _decode(data: bytes) -> str:
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError:
            return data.decode("cp1252", errors="replace")

    def _xlsx_rows(data: bytes) -> list[list[str]] | None:
        try:
            from openpyxl import load_workbook

            from detente.formats.common import check_xlsx_archive

            check_xlsx_archive(io.BytesIO(data))  # no DTD, no damaged or over-large parts
            wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            ws = wb.worksheets[0]
            rows = [["" if v is None else (f"{v:g}" if isinstance(v, float) else str(v)) for v in r]
                    for r in ws.iter_rows(values_only=True)]
            wb.close()
            return rows
        except Exception:  # noqa: BLE001 - a broken workbook: show the problems without a grid
            return None

    def lines_of(name: str, data: bytes, err: InputError) -> dict[str, Any] | None:
        """A text file (YAML, JSON, XML) as numbered lines with the problems on their lines."""
        if Path(name).suffix.lower() not in (".yaml", ".yml", ".json", ".xml"):
            return None
        text = _decode(data)
        lines = text.splitlines()
        by_line: dict[int, list[str]] = {}
        unplaced = []
        for p in err.problems:
            if p.line is not None and 1 <= p.line <= len(lines):
                by_line.setdefault(p.line, []).append(str(p))
            else:
                unplaced.append(str(p))
        return {"lines": [{"n": k + 1, "text": t, "problems": by_line.get(k + 1, [])} for k, t in enumerate(lines)],
                "text": text, "unplaced": unplaced}

    def grid_of(name: str, data: bytes, err: InputError) -> dict[str, Any] | None:
        """The uploaded table (CSV-like text or the first sheet of a workbook) as rows of
        cells with the problems placed on their cells. A workbook is fixed as CSV."""
        suffix = Path(name).suffix.lower()
        if suffix in (".xml", ".yaml", ".yml", ".json"):
            return None
        fix_name = name
        if suffix == ".xlsx":
            rows = _xlsx_rows(data)
            if rows is None:
                return None
            delim, fix_name = ",", f"{Path(name).stem}.csv"
        else:
            text = _decode(data)
            first = text.splitlines()[0] if text.strip() else ""
            delim = "\t" if "\t" in first else (";" if first.count(";") > first.count(",") else ",")
            rows = list(csv.reader(io.StringIO(text), delimiter=delim))
        if not rows:
            return None
        width = max(len(r) for r in rows)
        cells: dict[tuple[int, int], list[str]] = {}
        unplaced: list[str] = []
        header_rows = [[c.strip().lower() for c in r] for r in rows[:2]]
        for p in err.problems:
            placed = False
            if p.line is not None and 1 <= p.line <= len(rows):
                r = p.line - 1
                c = None
                if p.column is not None:
                    col = str(p.column).strip().lower()
                    for hdr in header_rows:
                        if col in hdr:
                            c = hdr.index(col)
                            break
                    if c is None and col.isdigit():
                        c = int(col) - 1
                if c is None and p.value is not None:
                    sv = str(p.value).strip()
                    for j, cell in enumerate(rows[r]):
                        if cell.strip().strip("'\"") == sv or _num_eq(cell, sv):
                            c = j
                            break
                if c is not None and c < width:
                    cells.setdefault((r, c), []).append(str(p))
                    placed = True
            if not placed:
                unplaced.append(str(p))
        table = [
            [{"text": (row[j] if j < len(row) else ""), "problems": cells.get((i, j), []), "row": i, "col": j}
             for j in range(width)]
            for i, row in enumerate(rows)
        ]
        return {"rows": table, "delimiter": delim, "unplaced": unplaced, "width": width, "name": fix_name}

    # ------------------------------------------------------------ static
    @app.get("/static/plotly.min.js", include_in_schema=False)
    def plotly_js() -> FileResponse:
        import plotly

        p = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
        return FileResponse(p, media_type="application/javascript", headers={"Cache-Control": "max-age=86400"})

    @app.get("/static/detente.js", include_in_schema=False)
    def detente_js() -> Response:
        from importlib import resources

        js = resources.files("detente.web").joinpath("static/detente.js").read_text(encoding="utf-8")
        return Response(js, media_type="application/javascript")

    # ------------------------------------------------------------ pages
    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index(request: Request) -> HTMLResponse:
        return render(request, "library.html", entries=library_entries(), title="Scenario library")

    @app.get("/scenario/{source}/{name}", response_class=HTMLResponse, include_in_schema=False)
    def scenario_page(request: Request, source: str, name: str) -> HTMLResponse:
        scn = get_scenario(source, name)
        crisis_form, prefill = None, None
        if scn.dynamics:
            from detente.web.crisis import form_data

            try:
                crisis_form = form_data(scn)
            except InputError as exc:   # the page still shows the table and the model form
                crisis_form = {"error": [str(p) for p in exc.problems], "hypotheses": [], "mechanisms": [], "numbers": []}
            run_from = request.query_params.get("from")
            if run_from:   # the what-if link of a crisis run: the form as that run was asked for
                prefill = _crisis_prefill(store(), run_from)
        return render(request, "scenario.html", scenario=scn, source=source, name=name,
                      table=_stance_table(scn), models=model_entries(), title=scn.name,
                      is_crisis=bool(scn.dynamics), crisis=crisis_form, prefill=prefill)

    @app.get("/upload", response_class=HTMLResponse, include_in_schema=False)
    def upload_page(request: Request) -> HTMLResponse:
        return render(request, "upload.html", title="Upload a scenario", limit=cfg.upload_limit)

    @app.post("/upload", response_class=HTMLResponse, include_in_schema=False)
    async def upload_form(request: Request, file: UploadFile = File(...), csrf_token: str = Form("")) -> Response:
        check_form_csrf(request, csrf_token)
        name = Path(file.filename or "").name
        if not SAFE_NAME.match(name) or Path(name).suffix.lower() not in UPLOAD_SUFFIXES:
            return render(request, "upload.html", status=400, title="Upload a scenario", limit=cfg.upload_limit,
                          message=f"refused file name {name!r}: use letters, digits, '._-' and one of {', '.join(UPLOAD_SUFFIXES)}")
        data = await read_upload(file)
        return await run_in_threadpool(finish_upload, request, name, data)

    @app.post("/upload/fix", response_class=HTMLResponse, include_in_schema=False)
    async def upload_fix(request: Request) -> Response:
        form = await request.form()
        check_form_csrf(request, str(form.get(csrf.field_name, "")))
        name = Path(str(form.get("name", ""))).name
        if not SAFE_NAME.match(name):
            raise HTTPException(400, "invalid file name")
        delim = str(form.get("delimiter", ","))
        if delim not in (",", ";", "\t"):
            raise HTTPException(400, "invalid delimiter")
        try:
            nrows, ncols = int(str(form.get("nrows", "0"))), int(str(form.get("ncols", "0")))
        except ValueError:
            raise HTTPException(400, "invalid table size") from None
        # every cell of the table is a field of the form: no more cells than fields
        if not (0 < nrows <= 100_000 and 0 < ncols <= 1000 and nrows * ncols <= len(form)):
            raise HTTPException(400, "invalid table size")
        buf = io.StringIO()
        w = csv.writer(buf, delimiter=delim, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
        for i in range(nrows):
            row = [str(form.get(f"c_{i}_{j}", "")) for j in range(ncols)]
            while row and row[-1] == "" and len(row) > 1 and delim != ",":
                row.pop()
            w.writerow(row)
        data = buf.getvalue().encode("utf-8")
        if len(data) > cfg.upload_limit:
            raise HTTPException(413, "table larger than the upload limit")
        return await run_in_threadpool(finish_upload, request, name, data)

    @app.post("/upload/fixtext", response_class=HTMLResponse, include_in_schema=False)
    async def upload_fix_text(request: Request) -> Response:
        form = await request.form()
        check_form_csrf(request, str(form.get(csrf.field_name, "")))
        name = Path(str(form.get("name", ""))).name
        if not SAFE_NAME.match(name) or Path(name).suffix.lower() not in (".yaml", ".yml", ".json", ".xml"):
            raise HTTPException(400, "invalid file name")
        data = str(form.get("text", "")).encode("utf-8")
        if len(data) > cfg.upload_limit:
            raise HTTPException(413, "text larger than the upload limit")
        return await run_in_threadpool(finish_upload, request, name, data)

    def finish_upload(request: Request, name: str, data: bytes) -> Response:
        _scn, err = validate_bytes(name, data)
        if err is not None:
            return render(request, "upload.html", status=422, title="Upload a scenario", limit=cfg.upload_limit,
                          name=name, problems=[str(p) for p in err.problems], grid=grid_of(name, data, err),
                          text_view=lines_of(name, data, err))
        dest = safe_join(cfg.library_dir, name)
        assert dest is not None
        fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp_name, dest)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        return RedirectResponse(f"/scenario/library/{name}", status_code=303)

    @app.get("/runs", response_class=HTMLResponse, include_in_schema=False)
    def runs_page(request: Request) -> HTMLResponse:
        return render(request, "runs.html", runs=_list_runs(store()), jobs=[j.to_json_dict() for j in jobs.list()], title="Runs")

    @app.get("/runs/{run_id}", response_class=HTMLResponse, include_in_schema=False)
    def run_page(request: Request, run_id: str) -> HTMLResponse:
        info = _get_info(store(), run_id)
        if info.kind == "crisis":   # tables from the stored object; charts from /api/runs/{id}/charts
            from detente.report.stored import load_crisis

            try:
                obj = load_crisis(store(), info.run_id)
            except _store_errors() as exc:
                raise HTTPException(404, f"run {run_id!r} has no crisis result: {exc}") from None
            return render(request, "run.html", run_id=info.run_id, info=info.to_json_dict(), kind=info.kind,
                          result=None, crisis=_crisis_view(obj), whatif=_whatif_link(info, obj),
                          title=f"Crisis {info.run_id[:10]}")
        if info.kind == "crisis_sensitivity":
            from detente.experiments.crisis_sensitivity import load_crisis_sensitivity
            from detente.web.crisis import sensitivity_view

            try:
                obj = load_crisis_sensitivity(store(), info.run_id)
            except _store_errors() as exc:
                raise HTTPException(404, f"run {run_id!r} has no sensitivity result: {exc}") from None
            return render(request, "run.html", run_id=info.run_id, info=info.to_json_dict(), kind=info.kind,
                          result=None, crisis=None, sens=sensitivity_view(obj),
                          title=f"Sensitivity {info.run_id[:10]}")
        if info.kind == "sweep":  # no single result: charts come from /api/runs/{id}/charts
            return render(request, "run.html", run_id=info.run_id, info=info.to_json_dict(), kind=info.kind,
                          result=None, title=f"{info.kind.capitalize()} {info.run_id[:10]}")
        res = _get_run(store(), info.run_id)
        return render(request, "run.html", run_id=info.run_id, info=info.to_json_dict(), kind=info.kind,
                      result=res.to_json_dict(), title=f"Run {run_id[:10]}")

    @app.get("/compare", response_class=HTMLResponse, include_in_schema=False)
    def compare_page(request: Request, ids: str = Query(..., description="Comma-separated run ids")) -> HTMLResponse:
        idl = [i for i in ids.split(",") if i][:8]
        if not idl:
            raise HTTPException(400, "no run ids to compare")
        st = store()
        infos = [_get_info(st, i) for i in idl]
        studies = [i.run_id for i in infos if i.kind == "crisis_sensitivity"]
        if studies:
            raise HTTPException(400, f"crisis sensitivity studies are not compared ({', '.join(studies)}): open each "
                                     "study's page (/runs/ID) for its indices and tornado")
        from detente.report import figures as RF

        crisis = [i for i in infos if i.kind == "crisis"]
        if crisis:
            if len(crisis) != len(infos) or len(crisis) != 2:
                raise HTTPException(400, "crisis runs are compared two at a time, with no other run: "
                                         f"{len(crisis)} crisis run(s) among {len(infos)} selected")
            from detente.report.stored import load_crisis
            from detente.web.crisis import compare_rows

            a, b = (load_crisis(st, i.run_id) for i in crisis)
            from detente.report.crisis import output_label

            rows = compare_rows(a, b)
            labels = {r["output"]: output_label(r["output"], a.get("focal_actor") or "the focal actor",
                                                a.get("backtest_end") or "the back-test end", a.get("horizon_months"))
                      for r in rows}
            return render(request, "compare_crisis.html", a=_crisis_view(a), b=_crisis_view(b),
                          ids=[i.run_id for i in crisis], rows=rows, title="Compare crisis runs",
                          figures=_figures_json(RF.compare_crisis_figures(rows, labels)) if rows else [])
        results = {i.run_id: _get_run(st, i.run_id).to_json_dict() for i in infos}
        # bounds only when every run has the same scenario (then read from the first run stored with it)
        same = len({i.input_hash for i in infos}) == 1
        scn = next((x for x in (_scenario_or_none(st, i.run_id) for i in infos) if x is not None), None) if same else None
        return render(request, "compare.html", results=results, title="Compare runs",
                      figures=_figures_json(RF.compare_figures(results, scn)))

    # ------------------------------------------------------------ API
    @app.get("/api/scenarios", tags=["scenarios"], responses=_errors(400))
    def api_scenarios() -> dict[str, Any]:
        """The scenario library: bundled examples and the user's files."""
        return {"scenarios": library_entries()}

    @app.get("/api/scenarios/{source}/{name}", tags=["scenarios"], responses=_errors(400, 404, 422))
    def api_scenario(source: str, name: str) -> dict[str, Any]:
        """One scenario as a detente document."""
        scn = get_scenario(source, name)
        return {"source": source, "name": name, "scenario": scn.model_dump(mode="json")}

    @app.post("/api/validate", tags=["scenarios"], responses=_errors(400, 403, 413, 422))
    async def api_validate(request: Request, file: UploadFile = File(...)) -> JSONResponse:
        """Validate an uploaded file without storing it; returns every problem found."""
        check_origin(request)
        name = Path(file.filename or "upload.csv").name
        if Path(name).suffix.lower() not in UPLOAD_SUFFIXES:
            return JSONResponse({"valid": False, "error": "invalid input", "problems": [
                {"message": f"unsupported file type {Path(name).suffix!r}", "file": name,
                 "expected": ", ".join(UPLOAD_SUFFIXES)}]}, status_code=422)
        data = await read_upload(file)
        scn, err = await run_in_threadpool(validate_bytes, name, data)
        if err is not None:
            return JSONResponse(_error_body({"valid": False, **err.to_dict()}), status_code=422)
        assert scn is not None
        return JSONResponse({"valid": True, "actors": len(scn.actors), "issues": len(scn.issues), "stances": len(scn.stances)})

    @app.post("/api/scenarios/{name}/cells", tags=["scenarios"], responses=_errors(400, 403, 404, 409, 413, 422))
    def api_edit(request: Request, name: str, body: EditRequest) -> dict[str, Any]:
        """Edit positions, saliences or capabilities of a library scenario.

        The edit is saved to the edited file in its own format (YAML/JSON text changed only at
        the edited values, keeping comments and ``{file: ...}`` references; tables rewritten
        by their format's writer), or, with ``save_as``, to a new YAML file of the library
        (an existing one only with ``overwrite``). 409 when the file cannot hold the edit in
        place or ``save_as`` names an existing file: nothing is changed then."""
        check_origin(request)
        p = scenario_path("library", name)
        scn = get_scenario("library", name)
        doc = scn.model_dump(mode="python")
        for k, cell in enumerate(body.cells):
            fld, actor, issue = cell.get("field"), cell.get("actor"), cell.get("issue")
            raw: Any = cell.get("value")
            try:   # a missing value (None) is a TypeError: refused as well
                value = float(raw)
            except (TypeError, ValueError):
                raise HTTPException(422, {"error": "invalid input", "problems": [{"message": "not a number", "column": f"cells.{k}.value", "value": str(raw)}]}) from None
            if issue is None and fld == "capability":
                hits = [a for a in doc["actors"] if a["id"] == actor]
                if not hits:
                    raise HTTPException(422, {"error": "invalid input", "problems": [{"message": "unknown actor", "value": actor}]})
                hits[0]["capability"] = value
                continue
            hits = [s for s in doc["stances"] if s["actor"] == actor and s["issue"] == issue]
            if fld not in ("position", "salience", "capability"):
                raise HTTPException(422, {"error": "invalid input", "problems": [{"message": "unknown field", "value": fld}]})
            if hits:
                hits[0][fld] = value
            else:
                raise HTTPException(422, {"error": "invalid input", "problems": [{"message": "no stance of this actor on this issue", "value": f"{actor}/{issue}"}]})
        try:
            new = Scenario.model_validate(doc)
        except Exception as exc:  # noqa: BLE001 - pydantic ValidationError or any cross-check failure: a 422
            raise HTTPException(422, {"error": "invalid input", "problems": [{"message": str(exc)}]}) from None
        if body.save_as is not None:
            target = safe_join(cfg.library_dir, body.save_as)
            if target is None or target.suffix.lower() not in (".yaml", ".yml"):
                raise HTTPException(400, f"invalid file name {body.save_as!r} to save as: a plain name ending in .yaml or .yml")
            if target.exists() and not body.overwrite:
                raise HTTPException(409, f"{body.save_as} already exists; send overwrite: true to replace it, "
                                         "or choose another name")
            with tempfile.TemporaryDirectory() as td:
                save_scenario(new, Path(td) / "edited.yaml")
                atomic_write_bytes(target, (Path(td) / "edited.yaml").read_bytes())
            return {"saved": target.name, "changed": [target.name], "input_hash": new.content_hash()}
        from detente.formats.registry import sniff_format

        try:
            changed = save_in_place(p, scn, new, library=cfg.library_dir, fmt=sniff_format(p))
        except CannotEditInPlace as exc:
            raise HTTPException(409, f"{name} was not changed: {exc}. Save the edited scenario under a new "
                                     "name instead (save_as, a .yaml name)") from None
        return {"saved": name, "changed": changed, "input_hash": new.content_hash()}

    @app.get("/api/models", tags=["models"], responses=_errors(400))
    def api_models() -> dict[str, Any]:
        """Registered models and their capabilities."""
        return {"models": model_entries()}

    @app.post("/api/jobs", tags=["runs"], status_code=202, responses=_errors(400, 403, 404, 413, 422))
    def api_run(request: Request, body: RunRequest) -> dict[str, Any]:
        """Start a model run in the background; poll ``/api/jobs/{id}``."""
        check_origin(request)
        try:
            spec = get_model(body.model)
        except KeyError:
            raise HTTPException(422, {"error": "invalid input", "problems": [{"message": f"unknown model {body.model!r}"}]}) from None
        scn = get_scenario(body.source, body.name)
        # the checks run_model makes, before a job starts: 422 with the problems, not a failed job
        try:
            params = check_params(spec, variant=body.variant or None, params=body.params, rounds=body.rounds)
        except InputError as exc:
            raise HTTPException(422, exc.to_dict()) from None

        # the seed policy, applied in the server (detente.seeding.resolve_seed): the job's
        # request records the seed its process is handed (run_model records it if the run draws)
        seed = seeding.resolve_seed(body.seed, stochastic=spec.stochastic)
        job = jobs.submit("forecast", f"{body.model} on {body.name}", forecast_job, process=True,
                          args=(cfg.store_root, scn, body.model, params, seed, f"{body.source}/{body.name}"),
                          request={**body.model_dump(mode="json"), "seed": seed})
        return job.to_json_dict()

    @app.get("/api/jobs", tags=["runs"], responses=_errors(400))
    def api_jobs() -> dict[str, Any]:
        """Jobs of this server process, newest first: every queued or running job and the
        most recently finished ones (``WebConfig.max_finished_jobs``, default 200)."""
        return {"jobs": [j.to_json_dict() for j in jobs.list()]}

    @app.get("/api/jobs/{job_id}", tags=["runs"], responses=_errors(400, 404, 422))
    def api_job(job_id: str) -> dict[str, Any]:
        """Status and progress of one job (404 for an unknown job, or a finished one no longer kept)."""
        j = jobs.get(job_id)
        if j is None:
            raise HTTPException(404, f"no job {job_id!r} (unknown, or finished and no longer kept; "
                                     "stored runs are listed at /api/runs)")
        return j.to_json_dict()

    @app.post("/api/jobs/{job_id}/cancel", tags=["runs"], responses=_errors(400, 403, 404, 409, 422))
    def api_job_cancel(request: Request, job_id: str) -> dict[str, Any]:
        """Cancel a queued or running job: a queued job never starts, a running one is stopped
        at once (its worker process is terminated) and stores nothing. The answer is the job
        (status ``cancelled``, or ``running`` for the moment it takes to stop); 409 if the job
        had already finished, 404 for an unknown job."""
        check_origin(request)
        accepted = jobs.cancel(job_id)
        j = jobs.get(job_id)
        if accepted is None or j is None:
            raise HTTPException(404, f"no job {job_id!r} (unknown, or finished and no longer kept)")
        if not accepted:
            raise HTTPException(409, f"job {job_id!r} has already finished ({j.status}); nothing to cancel")
        return j.to_json_dict()

    @app.get("/api/runs", tags=["runs"], responses=_errors(400, 422))
    def api_runs(limit: int = Query(100, ge=1, le=10_000)) -> dict[str, Any]:
        """Run history from the store."""
        return {"runs": _list_runs(store())[:limit]}

    @app.get("/api/runs/{run_id}", tags=["runs"], responses=_errors(400, 404, 422))
    def api_run_get(run_id: str) -> dict[str, Any]:
        """One run in the ``--json`` contract form (a crisis run or crisis sensitivity study: its stored
        ``--json`` object)."""
        st = store()
        obj = _study_object(st, _get_info(st, run_id))
        return obj if obj is not None else _get_run(st, run_id).to_json_dict()

    @app.get("/api/runs/{run_id}/download", tags=["runs"], responses={
        200: {"description": "The run as an attachment", "content": {"text/csv": {}, "application/vnd.apache.parquet": {}}},
        **_errors(400, 404, 422)})
    def api_download(run_id: str, format: str = Query("json", pattern="^(json|csv|parquet)$")) -> Response:
        """Download a run: JSON (contract form), CSV or Parquet (long table; of a crisis sensitivity
        study its indices, one row per output and number; a crisis run only as JSON)."""
        st = store()
        info = _get_info(st, run_id)
        fname = f"detente-run-{run_id[:12]}"
        obj = _study_object(st, info)
        if obj is not None and format == "json":
            return Response(json.dumps(obj, indent=2, default=str), media_type="application/json",
                            headers={"Content-Disposition": f'attachment; filename="{fname}.json"'})
        if obj is not None and info.kind == "crisis":
            raise HTTPException(400, f"a crisis run downloads as JSON only (format=json), not {format}: its object "
                                     "has no single table")
        if obj is not None:
            df = _indices_table(obj)
        else:
            res = _get_run(st, run_id)
            if format == "json":
                return Response(res.to_json(indent=2), media_type="application/json",
                                headers={"Content-Disposition": f'attachment; filename="{fname}.json"'})
            df = res.to_df()
        if format == "csv":
            from detente.experiments.export import escape_text_cells  # names never run as formulas

            return Response(escape_text_cells(df).to_csv(index=False), media_type="text/csv",
                            headers={"Content-Disposition": f'attachment; filename="{fname}.csv"'})
        bio = io.BytesIO()
        df.to_parquet(bio, index=False)
        return Response(bio.getvalue(), media_type="application/vnd.apache.parquet",
                        headers={"Content-Disposition": f'attachment; filename="{fname}.parquet"'})

    @app.get("/api/runs/{run_id}/charts", tags=["runs"], responses=_errors(400, 404, 422))
    def api_charts(run_id: str) -> dict[str, Any]:
        """Chart data of a run (see ``detente.report.charts``): forecasts, trajectories, BDM
        perception quadrants and exchange network for model runs; outcome distribution, fan
        charts and sensitivity for sweeps; P(war), hazard bands and triangle for crisis runs."""
        return _charts(store(), run_id)

    @app.get("/api/runs/{run_id}/report", tags=["runs"], responses={
        200: {"description": "The HTML report as an attachment", "content": {"text/html": {}}}, **_errors(400, 404, 422)})
    def api_report(run_id: str) -> Response:
        """The self-contained static HTML report of a run (as ``detente report RUN --format html``)."""
        from detente.report.html import run_report

        info = _get_info(store(), run_id)
        try:
            text = run_report(store(), info.run_id)
        except _store_errors() as exc:
            raise HTTPException(404, f"run {run_id!r} has nothing to report: {exc}") from None
        return Response(text, media_type="text/html; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="detente-report-{info.run_id}.html"'})

    @app.post("/api/crisis-jobs", tags=["runs"], status_code=202, responses=_errors(400, 403, 404, 413, 422))
    def api_crisis_run(request: Request, body: CrisisRunRequest) -> dict[str, Any]:
        """Run the hypotheses of a crisis scenario in the background (stored as a ``crisis`` run)."""
        check_origin(request)
        scn = get_scenario(body.source, body.name)
        if not scn.dynamics:
            raise HTTPException(422, {"error": "invalid input", "problems": [{"message": "the scenario has no crisis dynamics"}]})

        from detente.web.crisis import check_request, parse_sets

        try:   # the checks `detente run` makes, before the job starts: 422 with the problems
            extra = parse_sets(list(body.sets))
            if body.draw_assumptions:
                extra["settings.draw_assumptions"] = True
            check_request(scn, list(body.hypotheses), extra, list(body.mechanisms))
        except InputError as exc:
            raise HTTPException(422, exc.to_dict()) from None
        request_doc = body.model_dump(mode="json")
        job = jobs.submit("crisis", f"crisis on {body.name}", crisis_job, process=True,
                          args=(cfg.store_root, scn, list(body.hypotheses), body.runs, body.seed, body.counterfactuals,
                                f"{body.source}/{body.name}", extra, list(body.mechanisms), body.mechanism_runs,
                                scenario_dir(body.source, body.name), request_doc,
                                body.param_draws if body.draw_assumptions else None, body.draw_assumptions),
                          request=request_doc)
        return job.to_json_dict()

    @app.post("/api/crisis-sensitivity-jobs", tags=["runs"], status_code=202,
              responses=_errors(400, 403, 404, 413, 422))
    def api_crisis_sensitivity(request: Request, body: CrisisSensitivityRequest) -> dict[str, Any]:
        """Run a Sobol or Morris study of a crisis scenario's outputs in the background (stored as a
        ``crisis_sensitivity`` run; its page shows the indices with their intervals and the tornado).
        Checked before the job starts (422 with the problems)."""
        check_origin(request)
        scn = get_scenario(body.source, body.name)
        if not scn.dynamics:
            raise HTTPException(422, {"error": "invalid input", "problems": [{"message": "the scenario has no crisis dynamics"}]})
        from detente.web.crisis import check_sensitivity, parse_sets
        from detente.web.work import crisis_sensitivity_job

        try:
            extra = parse_sets(list(body.sets))
            fac = check_sensitivity(scn, hypothesis=body.hypothesis or None, extra=extra, factors=list(body.factors),
                                    outputs=list(body.outputs), method=body.method, n=body.n,
                                    runs_per_point=body.runs_per_point, tornado_runs=body.tornado_runs)
        except InputError as exc:
            raise HTTPException(422, exc.to_dict()) from None
        label = f"{body.method} sensitivity of {body.name} ({len(fac)} numbers)"
        job = jobs.submit("crisis_sensitivity", label, crisis_sensitivity_job, process=True,
                          args=(cfg.store_root, scn, body.method, body.n, list(body.factors), list(body.outputs),
                                body.hypothesis or None, body.runs_per_point, body.tornado_runs, body.seed, extra, label,
                                body.model_dump(mode="json")),
                          request=body.model_dump(mode="json"))
        return job.to_json_dict()

    @app.post("/api/sweep-jobs", tags=["runs"], status_code=202, responses=_errors(400, 403, 404, 413, 422))
    def api_sweep_run(request: Request, body: SweepRunRequest) -> dict[str, Any]:
        """Run a Monte Carlo sweep or a Sobol/Morris sensitivity study of a model in the background
        (stored as a ``sweep`` run; its page shows the distribution, fan charts, indices and tornado).
        The factors and the model are checked before the job starts (422 with the problems)."""
        check_origin(request)
        from detente.experiments.front import build_spec
        from detente.experiments.sweep import check_sweep

        scn = get_scenario(body.source, body.name)
        ref = str(scenario_path(body.source, body.name)) if body.source == "library" else f"example:{Path(body.name).stem}"
        try:
            spec, _ = build_spec(scn, body.model, vary=list(body.vary), runs=body.runs, seed=body.seed,
                                 params=body.params or None, variant=body.variant or None)
            check_sweep(spec, scn)
        except InputError as exc:
            raise HTTPException(422, exc.to_dict()) from None
        except ValueError as exc:   # the spec's own validation (pydantic), e.g. a malformed variant or params
            raise HTTPException(422, {"error": "invalid input", "problems": [{"message": str(exc).splitlines()[-1].strip()}]}) from None
        what = "sweep" if body.design == "montecarlo" else f"{body.design} sensitivity"
        label = f"{what} of {body.model} on {body.name}"
        job = jobs.submit("sweep", label, sweep_job, process=True,
                          args=(cfg.store_root, ref, body.model, list(body.vary), body.design, body.runs, body.n,
                                body.seed, dict(body.params), body.variant or None, label),
                          request=body.model_dump(mode="json"))
        return job.to_json_dict()

    # every error under /api/ is an ``Error`` body (documented per route with ``responses=``),
    # Starlette's own 404/405 and request validation included; pages get the error page
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse(_error_body(exc.detail), status_code=exc.status_code, headers=exc.headers)
        msg = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail)
        return render(request, "error.html", status=exc.status_code, title=f"Error {exc.status_code}", message=msg)

    @app.exception_handler(RequestValidationError)
    async def request_invalid(request: Request, exc: RequestValidationError) -> Response:
        problems = []
        for e in exc.errors()[:50]:
            loc = [str(x) for x in e.get("loc", ())]
            p: dict[str, Any] = {"message": str(e.get("msg", "invalid value")).removeprefix("Value error, "),
                                 "column": ".".join(loc) or None}
            if ("input" in e and loc and loc[-1] != "body") or e.get("type") == "json_invalid":
                p["value"] = _scalar(e.get("input"))
            problems.append(p)
        body = _error_body({"error": "invalid request", "problems": problems})
        if request.url.path.startswith("/api/"):
            return JSONResponse(body, status_code=422)
        msg = "; ".join(f"{p.get('column') or 'request'}: {p['message']}" for p in body["problems"])
        return render(request, "error.html", status=422, title="Error 422", message=f"invalid request: {msg}")

    return app


# ---------------------------------------------------------------- module helpers


def _version() -> str:
    from detente import __version__

    return __version__


def _num_eq(a: str, b: str) -> bool:
    try:
        return float(a.strip().strip("'\"")) == float(b)
    except ValueError:
        return False


def _stance_table(scn: Scenario) -> dict[str, Any]:
    by = {(s.actor, s.issue): s for s in scn.stances}
    rows = []
    for a in scn.actors:
        cells = []
        for i in scn.issues:
            s = by.get((a.id, i.id))
            cells.append(None if s is None else {"position": s.position, "salience": s.salience})
        rows.append({"actor": a, "cells": cells})
    return {"issues": scn.issues, "rows": rows}



def _list_runs(store) -> list[dict[str, Any]]:
    rows = store.list(limit=500)
    out = []
    for r in rows:
        d = r.to_json_dict() if hasattr(r, "to_json_dict") else dict(r)
        out.append({k: v for k, v in d.items() if isinstance(v, (str, int, float, type(None)))})
    return out


def _store_errors() -> tuple[type[BaseException], ...]:
    from detente.errors import StoreError

    return (StoreError, KeyError, LookupError)


def _study_object(store, info) -> dict[str, Any] | None:
    """The stored ``--json`` object of a crisis run or a crisis sensitivity study (None for other runs)."""
    if info.kind == "crisis":
        from detente.report.stored import load_crisis

        return dict(load_crisis(store, info.run_id))
    if info.kind == "crisis_sensitivity":
        from detente.experiments.crisis_sensitivity import load_crisis_sensitivity

        return dict(load_crisis_sensitivity(store, info.run_id))
    return None


def _indices_table(obj: dict[str, Any]) -> Any:
    """A crisis sensitivity study's indices as a long table: one row per output and number."""
    import pandas as pd

    rows = [{"output": out, **row} for out, table in (obj.get("indices") or {}).items() for row in table]
    return pd.DataFrame(rows)


def _get_info(store, run_id: str):
    if not SAFE_NAME.match(run_id):
        raise HTTPException(400, f"invalid run id {run_id!r}")
    try:
        return store.info(run_id)
    except _store_errors() as exc:
        raise HTTPException(404, f"no run {run_id!r}: {exc}") from None


def _figures_json(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Figure entries of :mod:`detente.report.figures` as JSON for detente.js: ``id`` is
    ``chart-KEY``, each plotly figure its ``fig.to_json()`` read back."""
    from detente.plotting.export import to_json

    out = []
    for e in entries:
        d = {k: v for k, v in e.items() if k not in ("key", "figure", "variants") and v is not None}
        d["id"] = f"chart-{e['key']}"
        if "variants" in e:
            d["variants"] = {k: to_json(f) for k, f in e["variants"].items()}
        else:
            d["figure"] = to_json(e["figure"])
        out.append(d)
    return out


def _scenario_or_none(store, run_id: str) -> Any:
    try:
        return store.scenario(run_id)
    except Exception:  # noqa: BLE001 - a run stored without its scenario: charts without bounds
        return None


def _charts(store, run_id: str) -> dict[str, Any]:
    from detente.report import charts as C
    from detente.report import figures as RF

    info = _get_info(store, run_id)
    try:
        if info.kind == "sweep":
            out = {"kind": "sweep", "run_id": info.run_id, **C.sweep_charts(store, info.run_id)}
            _sensitivity_warnings(out, info)
            out["figures"] = _figures_json(RF.sweep_figures(out, _scenario_or_none(store, info.run_id)))
            return out
        if info.kind == "crisis_sensitivity":
            from detente.experiments.crisis_sensitivity import load_crisis_sensitivity

            obj = load_crisis_sensitivity(store, info.run_id)
            sens = {k: obj.get(k) for k in ("method", "factors", "indices", "tornado", "baseline", "warnings",
                                            "sample_size", "points", "runs_per_point", "confidence_level")}
            sens["tornado_kind"] = ("one at a time: each number at the low and the high end of its assumption range, "
                                    "the others at their values")
            from detente.web.crisis import sensitivity_view

            shown = {**sens, "indices": sensitivity_view(obj)["sorted_indices"]}   # largest index first
            return {"kind": "crisis_sensitivity", "run_id": info.run_id, "sensitivity": sens,
                    "figures": _figures_json(RF.sweep_figures({"sensitivity": shown}, crisis_outputs=True))}
        if info.kind == "crisis":
            from detente.report.stored import load_crisis

            obj = load_crisis(store, info.run_id)
            ch = C.banded_crisis_charts(obj)
            return {"kind": "crisis", "run_id": info.run_id, **ch, "figures": _figures_json(RF.crisis_figures(ch, obj))}
        res = store.get(info.run_id)
    except _store_errors() as exc:
        raise HTTPException(404, f"run {run_id!r} has no chart data: {exc}") from None
    d = res.to_json_dict()
    return {"kind": info.kind, "run_id": info.run_id, **C.result_charts(d),
            "figures": _figures_json(RF.result_figures(d, _scenario_or_none(store, info.run_id)))}


def _sensitivity_warnings(charts: dict[str, Any], info: Any) -> None:
    """Add ``sensitivity.warnings``: why the sample of a Sobol/Morris study is too small for its
    indices and the sample size that would be needed (:func:`detente.experiments.sensitivity.index_warnings`,
    what ``detente sensitivity`` prints), per issue."""
    sens = charts.get("sensitivity")
    if not sens or sens.get("method") not in ("sobol", "morris"):
        return
    from detente.experiments.sensitivity import index_warnings

    design = ((info.meta or {}).get("spec") or {}).get("design") or {}
    n = design.get("n")
    if not n:
        return
    sens["warnings"] = [f"{iss}: {w}" for iss, rows in (sens.get("indices") or {}).items()
                        for w in index_warnings(sens["method"], rows, int(n))]
    sens["sample_size"] = int(n)


def _crisis_view(obj: dict[str, Any]) -> dict[str, Any]:
    """What the crisis run page shows from a stored crisis object: settings, per-hypothesis
    outputs, the likelihood (back-test) table, the claims and the mechanism map."""
    hyps = obj.get("hypotheses") or {}
    mech = {h: b["mechanisms"] for h, b in hyps.items() if b.get("mechanisms")}
    return {"scenario": obj.get("scenario"), "runs": obj.get("runs"), "seed": obj.get("seed"),
            "request": obj.get("request"), "backtest_end": obj.get("backtest_end"),
            "labels": {h: b.get("label", h) for h, b in hyps.items()},
            # hypotheses whose numbers come from frozen fits: "frozen fit on ICB 1918–1989, not chosen knowing 2022"
            "frozen_fit": {h: (b.get("frozen_fit") or {}).get("label") for h, b in hyps.items()
                           if (b.get("frozen_fit") or {}).get("label")},
            "outputs": {h: b.get("outputs") or {} for h, b in hyps.items()},
            "uncertainty": {h: b["uncertainty"] for h, b in hyps.items() if b.get("uncertainty")},
            "likelihood": obj.get("likelihood_table") or [], "backtest": obj.get("backtest_table") or [],
            "verdict_rule": obj.get("verdict_rule"), "claims": obj.get("claims") or [], "mechanisms": mech,
            "mechanism_runs": {h: b.get("mechanism_runs") for h, b in hyps.items() if b.get("mechanisms")}}


def _whatif_link(info: Any, obj: dict[str, Any]) -> str | None:
    """``/scenario/SOURCE/NAME?from=RUN``: the crisis form pre-filled with this run's settings
    (for runs the web stored, or whose label names a library scenario: ``source/name``)."""
    from urllib.parse import quote

    req = obj.get("request") or {}
    src, name = req.get("source"), req.get("name")
    if not (src and name):
        label = str(info.label or "")
        if label.count("/") == 1 and label.split("/")[0] in ("examples", "library"):
            src, name = label.split("/")
        elif obj.get("scenario") in examples.names():
            src, name = "examples", obj["scenario"]
    if src not in ("examples", "library") or not name or not SAFE_NAME.match(str(name)):
        return None
    return f"/scenario/{src}/{quote(str(name))}?from={quote(info.run_id)}"


def _crisis_prefill(store, run_id: str) -> dict[str, Any] | None:
    """The settings of a stored crisis run, for the crisis form: hypotheses run, ``--set``
    items, mapped mechanisms, runs and seed (the seed the run used)."""
    if not SAFE_NAME.match(run_id):
        raise HTTPException(400, f"invalid run id {run_id!r}")
    from detente.report.stored import load_crisis

    try:
        obj = load_crisis(store, run_id)
    except _store_errors() as exc:
        raise HTTPException(404, f"no crisis run {run_id!r}: {exc}") from None
    req = obj.get("request") or {}
    mechs = req.get("mechanisms")
    if mechs is None:
        mechs = sorted({m for b in (obj.get("hypotheses") or {}).values() for m in (b.get("mechanisms") or {})})
    sets = {}
    for item in req.get("sets") or []:
        k, _, v = str(item).partition("=")
        sets[k.strip()] = v
    return {"run_id": run_id, "hypotheses": req.get("hypotheses") or list(obj.get("hypotheses") or {}),
            "draw_assumptions": bool(req.get("draw_assumptions")) or any(
                b.get("uncertainty") for b in (obj.get("hypotheses") or {}).values()),
            "sets": sets, "mechanisms": list(mechs), "runs": obj.get("runs"), "seed": obj.get("seed"),
            "counterfactuals": bool(req.get("counterfactuals"))}


def _get_run(store, run_id: str) -> RunResult:
    from detente.errors import StoreError

    if not SAFE_NAME.match(run_id):
        raise HTTPException(400, f"invalid run id {run_id!r}")
    try:
        return store.get(run_id)
    except (StoreError, KeyError, LookupError) as exc:
        raise HTTPException(404, f"no run {run_id!r}: {exc}") from None
