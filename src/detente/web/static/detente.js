// detente web UI: runs as background jobs, polling, and Plotly.js charts.
"use strict";
const detente = (() => {
  async function postJSON(url, body) {
    const r = await fetch(url, {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)});
    const data = await r.json().catch(() => ({}));
    if (!r.ok) throw data;
    return data;
  }

  function problemsText(err) {
    if (err && err.problems) return err.problems.map(p => p.message + (p.value != null ? " (" + p.value + ")" : "")).join("; ");
    if (err && err.message) return err.message;
    return JSON.stringify(err);
  }

  function forecastChart(el, result) {
    const ids = Object.keys(result.issues);
    const ys = ids.map(i => result.issues[i].forecast);
    Plotly.newPlot(el, [{type: "bar", x: ids, y: ys, name: result.model}],
      {title: "Forecast per issue (" + result.model + ")", margin: {t: 40}}, {displayModeBar: false});
  }

  function trajectoryCharts(container, result) {
    container.innerHTML = "";
    for (const [iid, ir] of Object.entries(result.issues)) {
      if (!ir.rounds || !ir.rounds.length) continue;
      const div = document.createElement("div");
      div.className = "trajectory"; div.style.height = "360px"; div.dataset.issue = iid;
      container.appendChild(div);
      const actors = Object.keys(ir.rounds[0].positions);
      const traces = actors.map(a => ({type: "scatter", mode: "lines+markers", name: a,
        x: ir.rounds.map((_, k) => k), y: ir.rounds.map(r => r.positions[a])}));
      if (ir.rounds[0].mean != null) traces.push({type: "scatter", mode: "lines", name: "mean",
        line: {dash: "dash", color: "black"}, x: ir.rounds.map((_, k) => k), y: ir.rounds.map(r => r.mean)});
      Plotly.newPlot(div, traces, {title: "Positions by round — " + iid, xaxis: {title: "round"}, margin: {t: 40}},
        {displayModeBar: false});
    }
  }

  function showResult(result) {
    forecastChart(document.getElementById("chart-forecast"), result);
    trajectoryCharts(document.getElementById("chart-trajectories"), result);
  }

  function compareChart(results) {
    const traces = Object.entries(results).map(([rid, r]) => ({type: "bar", name: r.model + (r.variant ? " (" + r.variant + ")" : ""),
      x: Object.keys(r.issues), y: Object.values(r.issues).map(i => i.forecast)}));
    Plotly.newPlot("chart-compare", traces, {barmode: "group", title: "Forecasts side by side", margin: {t: 40}}, {displayModeBar: false});
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
      try {
        const r = await postJSON("/api/scenarios/" + encodeURIComponent(name) + "/cells", {cells});
        status.textContent = "saved as " + r.saved;
        if (r.saved !== name) window.location = "/scenario/library/" + encodeURIComponent(r.saved);
      } catch (e) { status.textContent = "not saved: " + problemsText(e); }
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
      while (job.status === "queued" || job.status === "running") {
        await new Promise(r => setTimeout(r, 150));
        job = await (await fetch("/api/jobs/" + job.id)).json();
        bar.value = job.progress; status.textContent = job.status + " " + (job.message || "");
      }
      if (job.status !== "done") { status.textContent = "failed: " + problemsText(job.error); return; }
      bar.value = 1; status.textContent = "done";
      const result = await (await fetch("/api/runs/" + job.result_id)).json();
      document.getElementById("run-links").innerHTML =
        '<a id="result-link" href="/runs/' + job.result_id + '">run ' + job.result_id.slice(0, 12) + '</a> · ' +
        '<a id="download-csv" href="/api/runs/' + job.result_id + '/download?format=csv">CSV</a> · ' +
        '<a id="download-json" href="/api/runs/' + job.result_id + '/download?format=json">JSON</a>';
      showResult(result);
    });
  }

  return {scenarioPage, showResult, compareChart, compareSubmit, postJSON};
})();
