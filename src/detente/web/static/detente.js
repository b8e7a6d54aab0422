// detente web UI: runs as background jobs, polling, and drawing the plotly figures the server builds.
"use strict";
const detente = (() => {
  async function postJSON(url, body) {
    const r = await fetch(url, {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)});
    const data = await r.json().catch(() => ({}));
    if (!r.ok) throw Object.assign({status: r.status}, data);
    return data;
  }

  function problemsText(err) {
    if (err && err.problems) return err.problems.map(p => p.message + (p.value != null ? " (" + p.value + ")" : "")).join("; ");
    if (err && err.message) return err.message;
    if (err && typeof err.error === "string") return err.error;
    return JSON.stringify(err);
  }

  // cancel a queued or running job (POST /api/jobs/{id}/cancel); a running job's work stops at once
  async function cancelJob(id, btn) {
    if (btn) btn.disabled = true;
    try {
      const j = await postJSON("/api/jobs/" + encodeURIComponent(id) + "/cancel", {});
      const li = btn && btn.closest("li");
      const st = li && li.querySelector(".job-status");
      if (st) st.textContent = j.status === "running" ? "cancelling" : j.status;
      if (btn && li) btn.remove();
      return j;
    } catch (e) {
      if (btn) { btn.disabled = false; btn.title = problemsText(e); }
      return null;
    }
  }

  // poll a job until it ends, with a Cancel button beside the status while it runs
  async function pollJob(job, bar, status, interval) {
    const btn = document.createElement("button");
    btn.type = "button"; btn.textContent = "Cancel"; btn.className = "cancel-job";
    btn.addEventListener("click", () => cancelJob(job.id, null).then(() => { btn.disabled = true; }));
    status.after(btn);
    try {
      while (job.status === "queued" || job.status === "running") {
        await new Promise(r => setTimeout(r, interval));
        job = await (await fetch("/api/jobs/" + job.id)).json();
        bar.value = job.progress; status.textContent = job.status + " " + (job.message || "");
      }
    } finally { btn.remove(); }
    return job;
  }

  // a refused request's problem as one line of a form's problem list
  const problemLine = p => p.message + (p.column ? " [" + p.column + "]" : "") + (p.value != null ? " (value " + p.value + ")" : "");

  // POST a background job from a form and poll it to its end, showing its progress in `status`
  // and `bar`; a refused request lists its problems in `probs` (one `line(p)` each). The finished
  // job, or null when it was refused, cancelled or failed (the status then says which).
  async function submitJob(url, body, status, bar, probs, line = problemLine) {
    let job;
    status.textContent = "starting…"; bar.value = 0;
    try { job = await postJSON(url, body); }
    catch (e) {
      status.textContent = "failed: invalid input";
      for (const p of (e.problems || [{message: problemsText(e)}])) el("li", probs, {textContent: line(p)});
      return null;
    }
    job = await pollJob(job, bar, status, 300);
    if (job.status === "cancelled") { status.textContent = "cancelled"; return null; }
    if (job.status !== "done") { status.textContent = job.status + ": " + problemsText(job.error); return null; }
    bar.value = 1; status.textContent = "done";
    return job;
  }

  // ------------------------------------------------------------------ figures built in Python
  // Every chart arrives as plotly JSON (detente.report.figures via /api/runs/{id}/charts or the
  // page itself); this file only places and draws it. An entry: {id, figure | variants + select,
  // caption, heading, note, note_id, filter, height}.
  const CFG = {displayModeBar: false, responsive: true};

  function el(tag, parent, props) {
    const e = document.createElement(tag); Object.assign(e, props || {}); if (parent) parent.appendChild(e); return e;
  }

  // the points of a figure whose customdata[0] is `who` (every point when who is "")
  function filtered(fig, who) {
    if (!who) return fig;
    const data = fig.data.map(t => {
      if (!t.customdata) return t;
      const ks = t.customdata.map((c, k) => (c && c[0] === who) ? k : -1).filter(k => k >= 0);
      const pick = a => Array.isArray(a) ? ks.map(k => a[k]) : a;
      return Object.assign({}, t, {x: pick(t.x), y: pick(t.y), customdata: pick(t.customdata), text: pick(t.text)});
    });
    return {data: data, layout: fig.layout};
  }

  function showFigures(container, entries) {
    const selects = {};
    for (const e of entries || []) {
      if (e.heading) el("h2", container, {textContent: e.heading});
      if (e.note) { const p = el("p", container, {className: "muted", textContent: e.note}); if (e.note_id) p.id = e.note_id; }
      // a chart place the page already has (e.g. #chart-forecast under the forecast table) is used
      // where it stands, in a wrapper of its own; any other chart goes at the end of the container
      let div = document.getElementById(e.id), wrap;
      if (div) {
        wrap = div.parentNode.classList.contains("figure") ? div.parentNode : el("div", null, {className: "figure"});
        if (wrap !== div.parentNode) { div.before(wrap); wrap.appendChild(div); }
        for (const c of Array.from(wrap.children)) if (c !== div) c.remove();
      } else {
        wrap = el("div", container, {className: "figure"});
        div = el("div", wrap, {id: e.id, className: "chart"});
      }
      div.style.minHeight = (e.height || 360) + "px";
      const draw = fig => Plotly.react(div, fig.data, fig.layout, CFG);
      if (e.variants) {
        let sel = selects[e.select.id];
        if (!sel) {
          const lab = el("label", wrap, {textContent: e.select.label || ""});
          wrap.insertBefore(lab, wrap.firstChild);
          sel = el("select", lab, {id: e.select.id});
          for (const [v, t] of e.select.options) el("option", sel, {value: v, textContent: t});
          selects[e.select.id] = sel;
        }
        const redraw = () => { const f = e.variants[sel.value]; if (f) { div.style.display = ""; draw(f); } else { div.style.display = "none"; } };
        sel.addEventListener("change", redraw); redraw();
      } else if (e.filter) {
        const lab = el("label", wrap, {textContent: e.filter.label || ""});
        wrap.insertBefore(lab, wrap.firstChild);
        const sel = el("select", lab, {className: e.filter.class});
        el("option", sel, {value: "", textContent: e.filter.all || "(all)"});
        for (const v of e.filter.options) el("option", sel, {value: v, textContent: v});
        sel.addEventListener("change", () => draw(filtered(e.figure, sel.value)));
        draw(e.figure);
      } else {
        draw(e.figure);
      }
      if (e.caption) el("p", wrap, {className: "caption muted", textContent: e.caption});
    }
  }

  function compareSubmit(form) {
    const ids = Array.from(document.querySelectorAll("input.cmp:checked")).map(x => x.value);
    if (ids.length < 1) return false;
    document.getElementById("compare-ids").value = ids.join(",");
    return true;
  }

  function scenarioPage(source, name) {
    const modelSel = document.getElementById("model");
    const varSel = document.getElementById("variant");
    function fillVariants() {
      const opt = modelSel.selectedOptions[0];
      varSel.innerHTML = '<option value="">(default)</option>';
      for (const v of (opt.dataset.variants || "").split(",").filter(Boolean)) {
        const o = document.createElement("option"); o.value = v; o.textContent = v; varSel.appendChild(o);
      }
    }
    modelSel.addEventListener("change", fillVariants); fillVariants();

    const save = document.getElementById("save-cells");
    if (save) save.addEventListener("click", async () => {
      const cells = [];
      document.querySelectorAll("#stance-table input.pos").forEach(i => cells.push({actor: i.dataset.actor, issue: i.dataset.issue, field: "position", value: i.value}));
      document.querySelectorAll("#stance-table input.sal").forEach(i => cells.push({actor: i.dataset.actor, issue: i.dataset.issue, field: "salience", value: i.value}));
      document.querySelectorAll("#stance-table input.cap").forEach(i => cells.push({actor: i.dataset.actor, field: "capability", value: i.value}));
      const status = document.getElementById("save-status");
      const url = "/api/scenarios/" + encodeURIComponent(name) + "/cells";
      // the edit goes to the edited file; when that file cannot hold it (409), offer a new
      // YAML name, and replace an existing file only after the user confirms
      let body = {cells};
      for (;;) {
        try {
          const r = await postJSON(url, body);
          status.textContent = r.changed && r.changed.length ? "saved to " + r.changed.join(", ") : "nothing changed";
          if (r.saved !== name) window.location = "/scenario/library/" + encodeURIComponent(r.saved);
          return;
        } catch (e) {
          status.textContent = "not saved: " + problemsText(e);
          if (!(e && e.status === 409)) return;
          if (body.save_as && !body.overwrite) {
            if (window.confirm(body.save_as + " already exists. Replace it?")) { body = {...body, overwrite: true}; continue; }
          }
          const alt = window.prompt(problemsText(e) + "\n\nSave the edited scenario as a new file (name ending in .yaml):",
                                    name.replace(/\.[^.]+$/, "") + "-edited.yaml");
          if (!alt) return;
          body = {cells, save_as: alt};
        }
      }
    });

    document.getElementById("run-button").addEventListener("click", async () => {
      const status = document.getElementById("run-status");
      const bar = document.getElementById("run-progress");
      const body = {source, name, model: modelSel.value, variant: varSel.value || null,
        rounds: document.getElementById("rounds").value ? parseInt(document.getElementById("rounds").value, 10) : null,
        seed: document.getElementById("seed").value ? parseInt(document.getElementById("seed").value, 10) : null};
      status.textContent = "starting…"; bar.value = 0;
      let job;
      try { job = await postJSON("/api/jobs", body); } catch (e) { status.textContent = "failed: " + problemsText(e); return; }
      job = await pollJob(job, bar, status, 150);
      if (job.status === "cancelled") { status.textContent = "cancelled"; return; }
      if (job.status !== "done") { status.textContent = job.status + ": " + problemsText(job.error); return; }
      bar.value = 1; status.textContent = "done";
      document.getElementById("run-links").innerHTML =
        '<a id="result-link" href="/runs/' + job.result_id + '">run ' + job.result_id.slice(0, 12) + '</a> · ' +
        '<a id="download-csv" href="/api/runs/' + job.result_id + '/download?format=csv">CSV</a> · ' +
        '<a id="download-json" href="/api/runs/' + job.result_id + '/download?format=json">JSON</a> · ' +
        '<a id="download-report" href="/api/runs/' + job.result_id + '/report">HTML report</a>';
      const extra = document.getElementById("chart-extra");
      const fc = document.getElementById("chart-forecast");
      if (fc) { fc.innerHTML = ""; fc.removeAttribute("data-plotly"); }
      if (extra) runCharts(job.result_id, extra);
    });
  }


  function showCharts(container, ch) {
    container.innerHTML = "";
    // a crisis sensitivity run's own page lists the warnings above its tables already (#sens-warnings)
    const listed = ch.kind === "crisis_sensitivity" && document.getElementById("sens-warnings");
    if ((ch.kind === "sweep" || (ch.kind === "crisis_sensitivity" && !listed)) && ch.sensitivity && ch.sensitivity.warnings && ch.sensitivity.warnings.length) {
      const ul = el("ul", container, {className: "problems", id: "sensitivity-warnings"});
      for (const w of ch.sensitivity.warnings) el("li", ul, {textContent: "warning (sample of " + ch.sensitivity.sample_size + " too small): " + w});
    }
    showFigures(container, ch.figures);
    container.dataset.ready = "1";
  }

  async function runCharts(runId, container) {
    try {
      const r = await fetch("/api/runs/" + encodeURIComponent(runId) + "/charts");
      const ch = await r.json();
      if (!r.ok) { container.textContent = "no charts: " + problemsText(ch); return; }
      showCharts(container, ch);
      container.dataset.ready = "1";
    } catch (e) { container.textContent = "charts failed: " + e; }
  }

  // the crisis form: hypotheses, mechanisms to map, --set overrides (changed numbers of the
  // assumption table and free PATH=VALUE lines), runs and seed
  function crisisForm(source, name) {
    const btn = document.getElementById("crisis-button");
    if (!btn) return;
    const search = document.getElementById("assumption-search"), count = document.getElementById("assumption-count");
    const rows = Array.from(document.querySelectorAll("#assumptions tr.assumption"));
    const filter = () => {
      const q = (search.value || "").toLowerCase().trim();
      let shown = 0;
      for (const r of rows) { const ok = !q || r.textContent.toLowerCase().includes(q) || r.dataset.path.toLowerCase().includes(q);
        r.style.display = ok ? "" : "none"; if (ok) shown++; }
      count.textContent = shown + " of " + rows.length + " shown";
    };
    if (search) { search.addEventListener("input", filter); filter(); }
    document.querySelectorAll("#assumptions input.set-value").forEach(inp => inp.addEventListener("input", () =>
      inp.closest("tr").classList.toggle("changed", inp.value.trim() !== inp.dataset.default)));
    btn.addEventListener("click", async () => {
      const status = document.getElementById("crisis-status"), bar = document.getElementById("crisis-progress");
      const probs = document.getElementById("crisis-problems");
      probs.innerHTML = "";
      const runs = parseInt(document.getElementById("crisis-runs").value || "500", 10);
      const seedv = document.getElementById("crisis-seed").value;
      const hypotheses = Array.from(document.querySelectorAll("input.crisis-hyp:checked")).map(x => x.value);
      const mechanisms = Array.from(document.querySelectorAll("input.crisis-mech:checked")).map(x => x.value);
      const pdv = document.getElementById("crisis-param-draws").value;
      const job = await submitJob("/api/crisis-jobs", {source, name, runs, seed: seedv ? parseInt(seedv, 10) : null,
                                  hypotheses, mechanisms, sets: crisisSets(), draw_assumptions: document.getElementById("crisis-draw").checked,
                                  param_draws: pdv ? parseInt(pdv, 10) : null}, status, bar, probs);
      if (!job) return;
      document.getElementById("crisis-links").innerHTML = '<a id="crisis-result-link" href="/runs/' + job.result_id + '">crisis run ' +
        job.result_id.slice(0, 12) + '</a> (claims, back-test and mechanism tables) · <a href="/api/runs/' + job.result_id + '/report">HTML report</a>';
      runCharts(job.result_id, document.getElementById("crisis-charts"));
    });
  }

  // the --set items of the crisis form: changed numbers of the assumption table and free PATH=VALUE lines
  function crisisSets() {
    const sets = [];
    document.querySelectorAll("#assumptions input.set-value").forEach(inp => {
      if (inp.value.trim() !== inp.dataset.default) sets.push(inp.dataset.path + "=" + inp.value.trim()); });
    const extra = document.getElementById("crisis-extra-sets");
    for (const line of ((extra && extra.value) || "").split("\n")) if (line.trim()) sets.push(line.trim());
    return sets;
  }

  // Sobol/Morris sensitivity of crisis outputs over the numbers ticked "vary" (POST /api/crisis-sensitivity-jobs)
  function crisisSensitivityForm(source, name) {
    const btn = document.getElementById("sens-button");
    if (!btn) return;
    const count = document.getElementById("sens-count");
    const boxes = () => Array.from(document.querySelectorAll("input.sens-vary:checked")).map(x => x.value);
    const show = () => { const k = boxes().length;
      count.textContent = k ? k + " number" + (k > 1 ? "s" : "") + " to vary" : "no number ticked: every assumption with a range varies"; };
    document.querySelectorAll("input.sens-vary").forEach(b => b.addEventListener("change", show));
    show();
    btn.addEventListener("click", async () => {
      const status = document.getElementById("sens-status"), bar = document.getElementById("sens-progress");
      const probs = document.getElementById("sens-problems");
      probs.innerHTML = "";
      const num = (id, d) => { const v = document.getElementById(id).value; return v ? parseInt(v, 10) : d; };
      const body = {source, name, method: document.getElementById("sens-method").value, n: num("sens-n", 64),
                    factors: boxes(), outputs: Array.from(document.querySelectorAll("input.sens-output:checked")).map(x => x.value),
                    hypothesis: document.getElementById("sens-hypothesis").value || null,
                    runs_per_point: num("sens-runs", 32), tornado_runs: num("sens-tornado-runs", 1000),
                    seed: num("sens-seed", null), sets: crisisSets()};
      const job = await submitJob("/api/crisis-sensitivity-jobs", body, status, bar, probs);
      if (!job) return;
      document.getElementById("sens-links").innerHTML = '<a id="sens-result-link" href="/runs/' + job.result_id +
        '">sensitivity run ' + job.result_id.slice(0, 12) + '</a> (indices with their intervals and the tornado table) · <a href="/api/runs/' +
        job.result_id + '/report">HTML report</a>';
      runCharts(job.result_id, document.getElementById("sens-charts"));
    });
  }

  // Monte Carlo sweeps and Sobol/Morris sensitivity of a model (POST /api/sweep-jobs)
  function sweepForm(source, name) {
    const btn = document.getElementById("sweep-button");
    if (!btn) return;
    const design = document.getElementById("sweep-design");
    design.addEventListener("change", () => { btn.textContent = design.value === "montecarlo" ? "Run sweep" : "Run sensitivity"; });
    btn.addEventListener("click", async () => {
      const status = document.getElementById("sweep-status"), bar = document.getElementById("sweep-progress");
      const probs = document.getElementById("sweep-problems");
      probs.innerHTML = "";
      const vary = (document.getElementById("sweep-vary").value || "").split("\n").map(x => x.trim()).filter(Boolean);
      const nv = document.getElementById("sweep-n").value, sv = document.getElementById("sweep-seed").value;
      const body = {source, name, model: document.getElementById("sweep-model").value, design: design.value, vary,
                    runs: parseInt(document.getElementById("sweep-runs").value || "200", 10),
                    n: nv ? parseInt(nv, 10) : null, seed: sv ? parseInt(sv, 10) : 0};
      const job = await submitJob("/api/sweep-jobs", body, status, bar, probs, p => p.message);
      if (!job) return;
      document.getElementById("sweep-links").innerHTML = '<a id="sweep-result-link" href="/runs/' + job.result_id + '">sweep run ' +
        job.result_id.slice(0, 12) + '</a> · <a href="/api/runs/' + job.result_id + '/report">HTML report</a>';
      runCharts(job.result_id, document.getElementById("sweep-charts"));
    });
  }

  return {sweepForm, crisisSensitivityForm, scenarioPage, compareSubmit, postJSON, runCharts, showCharts, showFigures, crisisForm, cancelJob};
})();
