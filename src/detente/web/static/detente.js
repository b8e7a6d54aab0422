// detente web UI: runs as background jobs, polling, and Plotly.js charts.
"use strict";
const detente = (() => {
  // Plotly.js 3 only reads {text: ...} titles: accept plain strings in layouts too
  function L(layout) {
    if (typeof layout.title === "string") layout.title = {text: layout.title};
    for (const k of Object.keys(layout))
      if (/^[xy]axis\d*$/.test(k) && layout[k] && typeof layout[k].title === "string") layout[k].title = {text: layout[k].title};
    return layout;
  }
  const plot = (div, data, layout, cfg) => Plotly.newPlot(div, data, L(layout || {}), cfg);
  const react = (div, data, layout, cfg) => Plotly.react(div, data, L(layout || {}), cfg);

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

  function forecastChart(el, result) {
    const ids = Object.keys(result.issues);
    const ys = ids.map(i => result.issues[i].forecast);
    plot(el, [{type: "bar", x: ids, y: ys, name: result.model}],
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
      plot(div, traces, {title: "Positions by round — " + iid, xaxis: {title: "round"}, margin: {t: 40}},
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
    plot("chart-compare", traces, {barmode: "group", title: "Forecasts side by side", margin: {t: 40}}, {displayModeBar: false});
    // models with rounds: their forecast path (weighted mean of positions) by round, per issue
    const box = document.getElementById("chart-compare");
    const issues = [...new Set(Object.values(results).flatMap(r => Object.keys(r.issues)))];
    for (const iid of issues) {
      const tr = Object.values(results).filter(r => r.issues[iid] && r.issues[iid].rounds && r.issues[iid].rounds.length)
        .map(r => ({type: "scatter", mode: "lines+markers", name: r.model + (r.variant ? " (" + r.variant + ")" : ""),
          x: r.issues[iid].rounds.map((_, k) => k), y: r.issues[iid].rounds.map(x => x.mean)}));
      if (!tr.length) continue;
      const div = document.createElement("div"); div.id = "chart-compare-rounds-" + iid.replace(/[^A-Za-z0-9]+/g, "-");
      div.style.height = "320px"; box.parentNode.appendChild(div);
      plot(div, tr, {title: "Weighted mean position by round — " + iid, xaxis: {title: "round"}, margin: {t: 40}}, {displayModeBar: false});
    }
  }

  // two crisis runs: B − A per output with ±2 SE error bars, one panel per hypothesis
  function compareCrisisChart(rows) {
    const hyps = [...new Set(rows.map(r => r.hypothesis))];
    const traces = hyps.map((h, i) => {
      const rs = rows.filter(r => r.hypothesis === h && r.diff != null);
      return {type: "scatter", mode: "markers", name: h, x: rs.map(r => r.diff), y: rs.map(r => r.output),
              error_x: {type: "data", array: rs.map(r => 2 * (r.diff_se || 0))}, marker: {size: 9}};
    });
    plot("chart-compare-crisis", traces, {title: "Difference B − A (±2 SE)", margin: {t: 40, l: 260},
      shapes: [{type: "line", x0: 0, x1: 0, yref: "paper", y0: 0, y1: 1, line: {color: "black", width: 1}}]}, {displayModeBar: false});
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
      const result = await (await fetch("/api/runs/" + job.result_id)).json();
      document.getElementById("run-links").innerHTML =
        '<a id="result-link" href="/runs/' + job.result_id + '">run ' + job.result_id.slice(0, 12) + '</a> · ' +
        '<a id="download-csv" href="/api/runs/' + job.result_id + '/download?format=csv">CSV</a> · ' +
        '<a id="download-json" href="/api/runs/' + job.result_id + '/download?format=json">JSON</a> · ' +
        '<a id="download-report" href="/api/runs/' + job.result_id + '/report">HTML report</a>';
      showResult(result);
      const extra = document.getElementById("chart-extra");
      if (extra) runCharts(job.result_id, extra);
    });
  }


  // ------------------------------------------------------------------ charts of /api/runs/{id}/charts
  const CFG = {displayModeBar: false, responsive: true};
  const QCOLORS = {"conflict": "#cc3311", "compromise": "#0077bb", "capitulation": "#009988",
    "compromise (other yields)": "#33bbee", "capitulation (other yields)": "#66ccaa", "stalemate": "#bbbbbb",
    "boundary": "#ee7733", "origin": "#000000"};

  function el(tag, parent, props) {
    const e = document.createElement(tag); Object.assign(e, props || {}); if (parent) parent.appendChild(e); return e;
  }
  function chartDiv(parent, id, height) {
    const d = el("div", parent, {id: id, className: "chart"}); d.style.height = (height || 360) + "px"; return d;
  }
  function slug(s) { return String(s).replace(/[^A-Za-z0-9]+/g, "-").toLowerCase(); }

  function perceptionCharts(container, perc) {
    el("h2", container, {textContent: "Perceptions (BDM, round 1)"});
    el("p", container, {className: "muted", textContent: "Each point is an ordered pair: x = the actor's expected utility of challenging the other, y = the other's of challenging the actor, as the actor perceives them."});
    for (const [iid, p] of Object.entries(perc)) {
      const wrap = el("div", container);
      const lab = el("label", wrap, {textContent: "perspective of "});
      const sel = el("select", lab, {className: "perception-actor"});
      el("option", sel, {value: "", textContent: "(every actor)"});
      for (const a of [...new Set(p.actor)]) el("option", sel, {value: a, textContent: a});
      const div = chartDiv(wrap, "chart-perception-" + slug(iid), 460);
      const draw = () => {
        const who = sel.value, groups = {};
        p.quadrants.forEach((q, k) => {
          if (who && p.actor[k] !== who) return;
          (groups[q] = groups[q] || []).push(k);
        });
        const big = p.x.length > 2000;
        const traces = Object.entries(groups).map(([q, ks]) => ({type: big ? "scattergl" : "scatter", mode: "markers", name: q + " (" + ks.length + ")",
          x: ks.map(k => p.x[k]), y: ks.map(k => p.y[k]), text: ks.map(k => p.actor[k] + " → " + p.other[k]),
          hovertemplate: "%{text}<br>x %{x:.3g}, y %{y:.3g}<extra>" + q + "</extra>", marker: {color: QCOLORS[q] || "#777", size: 7}}));
        react(div, traces, {title: "Perception quadrants — " + iid, margin: {t: 40},
          xaxis: {title: "E[U] actor challenging other", zeroline: true, zerolinewidth: 2},
          yaxis: {title: "E[U] other challenging actor", zeroline: true, zerolinewidth: 2}}, CFG);
      };
      sel.addEventListener("change", draw); draw();
    }
  }

  function networkChart(container, net) {
    el("h2", container, {textContent: "Exchange network"});
    el("p", container, {className: "muted", textContent: net.realized + " exchanges realized in " + net.rounds + " rounds; line width = number of exchanges between two actors."});
    const div = chartDiv(container, "chart-exchange-network", 480);
    const n = net.nodes.length, xy = {};
    net.nodes.forEach((nd, k) => { const t = 2 * Math.PI * k / Math.max(n, 1) + Math.PI / 2; xy[nd.id] = [Math.cos(t), Math.sin(t)]; });
    const cmax = Math.max(1, ...net.edges.map(e => e.count));
    const traces = net.edges.slice(0, 300).map(e => ({type: "scatter", mode: "lines", showlegend: false, hoverinfo: "text",
      x: [xy[e.source][0], xy[e.target][0]], y: [xy[e.source][1], xy[e.target][1]],
      text: e.source + " ↔ " + e.target + ": " + e.count + " exchanges, gain " + e.gain.toFixed(3) + " (" + e.issues.join(", ") + ")",
      line: {width: 1 + 7 * e.count / cmax, color: "rgba(52,101,164,0.6)"}}));
    const gmax = Math.max(1, ...net.nodes.map(d => d.exchanges));
    traces.push({type: "scatter", mode: "markers+text", name: "actors", x: net.nodes.map(d => xy[d.id][0]), y: net.nodes.map(d => xy[d.id][1]),
      text: net.nodes.map(d => d.id), textposition: "top center", hovertext: net.nodes.map(d => d.id + ": " + d.exchanges + " exchanges"),
      hoverinfo: "text", marker: {size: net.nodes.map(d => 10 + 25 * d.exchanges / gmax), color: "#f57900", line: {color: "#000", width: 1}}});
    plot(div, traces, {title: "Realized exchanges", showlegend: false, margin: {t: 40},
      xaxis: {visible: false, range: [-1.4, 1.4]}, yaxis: {visible: false, range: [-1.4, 1.4], scaleanchor: "x"}}, CFG);
  }

  function distributionCharts(container, dist, runs) {
    el("h2", container, {textContent: "Outcome distribution (" + runs + " runs)"});
    for (const [iid, d] of Object.entries(dist)) {
      const div = chartDiv(container, "chart-distribution-" + slug(iid), 320);
      const mids = d.counts.map((_, k) => (d.edges[k] + d.edges[k + 1]) / 2);
      const s = d.summary, shapes = [];
      for (const [k, dash] of [["q05", "dot"], ["median", "solid"], ["q95", "dot"]])
        if (s[k] != null) shapes.push({type: "line", x0: s[k], x1: s[k], yref: "paper", y0: 0, y1: 1, line: {dash: dash, color: "black", width: 1}});
      plot(div, [{type: "bar", x: mids, y: d.counts, name: "runs", marker: {color: "#3465a4"}}],
        {title: iid + ": median " + (s.median != null ? s.median.toPrecision(4) : "–") + ", 5–95 % [" +
          (s.q05 != null ? s.q05.toPrecision(4) : "–") + ", " + (s.q95 != null ? s.q95.toPrecision(4) : "–") + "]",
         bargap: 0.02, shapes: shapes, xaxis: {title: "forecast"}, yaxis: {title: "runs"}, margin: {t: 40}}, CFG);
    }
  }

  function fanCharts(container, fan) {
    el("h2", container, {textContent: "Fan charts of positions (median, 25–75 %, 5–95 % over runs)"});
    const pal = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
    for (const [iid, byActor] of Object.entries(fan)) {
      const div = chartDiv(container, "chart-fan-" + slug(iid), 400);
      const traces = [];
      Object.entries(byActor).slice(0, 12).forEach(([a, f], k) => {
        const c = pal[k % pal.length], g = "g" + k;
        const band = (lo, hi, op) => { traces.push({x: f.round, y: f[lo], mode: "lines", line: {width: 0}, showlegend: false, legendgroup: g, hoverinfo: "skip"});
          traces.push({x: f.round, y: f[hi], mode: "lines", line: {width: 0}, fill: "tonexty", fillcolor: c + op, showlegend: false, legendgroup: g, hoverinfo: "skip"}); };
        band("q05", "q95", "22"); band("q25", "q75", "55");
        traces.push({x: f.round, y: f.q50, mode: "lines", name: a, line: {color: c}, legendgroup: g});
      });
      plot(div, traces, {title: "Positions by round — " + iid, xaxis: {title: "round"}, margin: {t: 40}}, CFG);
    }
  }

  function sensitivityCharts(container, sens) {
    el("h2", container, {textContent: "Sensitivity"});
    el("p", container, {className: "muted", textContent: "Tornado: " + sens.tornado_kind + "."});
    if (sens.warnings && sens.warnings.length) {
      const ul = el("ul", container, {className: "problems", id: "sensitivity-warnings"});
      for (const w of sens.warnings) el("li", ul, {textContent: "warning (sample of " + sens.sample_size + " too small): " + w});
    }
    for (const [iid, rows] of Object.entries(sens.indices || {})) {
      const div = chartDiv(container, "chart-indices-" + slug(iid), 60 + 32 * Math.max(3, rows.length));
      const f = rows.map(r => r.factor);
      const traces = sens.method === "sobol" ?
        [{type: "bar", orientation: "h", name: "S1", y: f, x: rows.map(r => r.S1), error_x: {type: "data", array: rows.map(r => r.S1_conf)}},
         {type: "bar", orientation: "h", name: "ST", y: f, x: rows.map(r => r.ST), error_x: {type: "data", array: rows.map(r => r.ST_conf)}}] :
        [{type: "bar", orientation: "h", name: "mu*", y: f, x: rows.map(r => r.mu_star), error_x: {type: "data", array: rows.map(r => r.mu_star_conf)}}];
      plot(div, traces, {title: sens.method + " indices — " + iid, barmode: "group", margin: {t: 40, l: 180}}, CFG);
    }
    for (const [iid, rows0] of Object.entries(sens.tornado || {})) {
      const rows = rows0.slice(0, 20).reverse();
      if (!rows.length) continue;
      const div = chartDiv(container, "chart-tornado-" + slug(iid), 60 + 28 * Math.max(3, rows.length));
      const lo = rows.map(r => Math.min(r.output_low, r.output_high)), hi = rows.map(r => Math.max(r.output_low, r.output_high));
      const base = (sens.baseline || {})[iid];
      plot(div, [{type: "bar", orientation: "h", y: rows.map(r => r.factor), base: lo, x: hi.map((h, k) => (h - lo[k]) || 1e-12),
        marker: {color: rows.map(r => r.output_high >= r.output_low ? "#cc3311" : "#0077bb")},
        hovertemplate: "%{y}: %{base:.4g} – %{customdata:.4g}<extra></extra>", customdata: hi}],
        {title: "Tornado — " + iid + " (red: higher factor raises the forecast)", margin: {t: 40, l: 180},
         shapes: base != null ? [{type: "line", x0: base, x1: base, yref: "paper", y0: 0, y1: 1, line: {color: "black"}}] : []}, CFG);
    }
  }

  // a band (lo..hi) under a line: two traces, the upper one filled down to the lower
  function bandTraces(x, lo, hi, color, name, group) {
    return [{x: x, y: lo, mode: "lines", line: {width: 0, color: color}, showlegend: false, legendgroup: group, hoverinfo: "skip"},
            {x: x, y: hi, mode: "lines", line: {width: 0, color: color}, fill: "tonexty", fillcolor: color + "33",
             name: name, legendgroup: group, hoverinfo: "skip", showlegend: !!name}];
  }
  const PAL = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

  function crisisCharts(container, ch) {
    const hyps = Object.keys(ch.p_war_by);
    const z = (ch.bands || {}).z || 2, zt = "±" + z + " SE";
    const events = (ch.events || []).map(e => ({type: "line", x0: e.date, x1: e.date, yref: "paper", y0: 0, y1: 1, line: {dash: "dash", color: "black", width: 1}}));
    el("h2", container, {textContent: "Cumulative probability of war"});
    if (ch.bands) el("p", container, {className: "muted", id: "crisis-bands-note",
      textContent: "Shaded bands: Monte Carlo intervals, estimate " + zt + " at " + ch.bands.runs + " runs per hypothesis (" + ch.bands.method + ")."});
    const pw = chartDiv(container, "chart-p-war", 380), ptr = [];
    hyps.forEach((h, i) => {
      const s = ch.p_war_by[h], c = PAL[i % PAL.length];
      if (s.lo) ptr.push(...bandTraces(s.dates, s.lo, s.hi, c, h + " " + zt, h));
      ptr.push({type: "scatter", mode: "lines", name: h, x: s.dates, y: s.p, line: {color: c}, legendgroup: h,
                customdata: s.se || [], hovertemplate: "%{x}: %{y:.3f}" + (s.se ? " ± %{customdata:.3f} (SE)" : "") + "<extra>" + h + "</extra>"});
    });
    plot(pw, ptr, {title: "P(war by date), any flashpoint", yaxis: {range: [0, 1]}, shapes: events, margin: {t: 40}}, CFG);
    el("h2", container, {textContent: "Hazard curves and strategic triangle"});
    const lab = el("label", container, {textContent: "hypothesis "});
    const sel = el("select", lab, {id: "crisis-hypothesis"});
    for (const h of hyps) el("option", sel, {value: h, textContent: h + " — " + (ch.p_war_by[h].label || "")});
    const hz = chartDiv(container, "chart-hazard", 380), tri = chartDiv(container, "chart-triangle", 360);
    const draw = () => {
      const h = sel.value, traces = [];
      Object.entries(ch.hazard[h] || {}).forEach(([f, s], i) => {
        const c = PAL[i % PAL.length];  // bands and mean line of a flashpoint share a colour
        traces.push({x: s.dates, y: s.q10, mode: "lines", line: {width: 1, dash: "dot", color: c}, name: f + " 10 % / 90 % of runs", legendgroup: f, hoverinfo: "skip"});
        traces.push({x: s.dates, y: s.q90, mode: "lines", line: {width: 1, dash: "dot", color: c}, showlegend: false, legendgroup: f, hoverinfo: "skip"});
        if (s.lo) traces.push(...bandTraces(s.dates, s.lo, s.hi, c, f + " mean " + zt, f));
        traces.push({x: s.dates, y: s.mean, mode: "lines", line: {color: c}, name: f + " mean", legendgroup: f});
      });
      react(hz, traces, {title: "Monthly hazard per flashpoint — " + h, shapes: events, margin: {t: 40}}, CFG);
      const t = ch.triangle[h] || {dates: [], configs: {}}, tt = [];
      Object.entries(t.configs).forEach(([n, v], i) => {
        const c = PAL[i % PAL.length];
        if (t.lo && t.lo[n]) tt.push(...bandTraces(t.dates, t.lo[n], t.hi[n], c, null, n));
        tt.push({x: t.dates, y: v, name: n, mode: "lines", line: {color: c}, legendgroup: n});
      });
      react(tri, tt, {title: "Strategic triangle configuration (share of runs, " + zt + ") — " + h, yaxis: {range: [0, 1]}, margin: {t: 40}}, CFG);
    };
    sel.addEventListener("change", draw); draw();
    if (hyps.some(h => (ch.alignment[h] || {}).dates && ch.alignment[h].dates.length)) {
      const al = chartDiv(container, "chart-alignment", 340), at = [];
      hyps.forEach((h, i) => {
        const s = ch.alignment[h], c = PAL[i % PAL.length];
        if (!s || !s.dates) return;
        if (s.lo) at.push(...bandTraces(s.dates, s.lo, s.hi, c, null, h));
        at.push({type: "scatter", mode: "lines", name: h, x: s.dates, y: s.mean, line: {color: c}, legendgroup: h});
      });
      plot(al, at, {title: "Russia–China tie (mean over runs, " + zt + ")", yaxis: {range: [-1, 1]}, margin: {t: 40}}, CFG);
    }
    container.dataset.ready = "1";
  }

  function showCharts(container, ch) {
    container.innerHTML = "";
    if (ch.kind === "crisis") return crisisCharts(container, ch);
    if (ch.perception) perceptionCharts(container, ch.perception);
    if (ch.exchange_network && ch.exchange_network.edges.length) networkChart(container, ch.exchange_network);
    if (ch.distribution) distributionCharts(container, ch.distribution, ch.runs);
    if (ch.fan) fanCharts(container, ch.fan);
    if (ch.sensitivity) sensitivityCharts(container, ch.sensitivity);
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
      const sets = [];
      document.querySelectorAll("#assumptions input.set-value").forEach(inp => {
        if (inp.value.trim() !== inp.dataset.default) sets.push(inp.dataset.path + "=" + inp.value.trim()); });
      for (const line of (document.getElementById("crisis-extra-sets").value || "").split("\n"))
        if (line.trim()) sets.push(line.trim());
      const pdv = document.getElementById("crisis-param-draws").value;
      let job;
      status.textContent = "starting…"; bar.value = 0;
      try { job = await postJSON("/api/crisis-jobs", {source, name, runs, seed: seedv ? parseInt(seedv, 10) : null,
                                                      hypotheses, mechanisms, sets, draw_assumptions: document.getElementById("crisis-draw").checked,
                                                      param_draws: pdv ? parseInt(pdv, 10) : null}); }
      catch (e) {
        status.textContent = "failed: invalid input";
        for (const p of (e.problems || [{message: problemsText(e)}]))
          el("li", probs, {textContent: p.message + (p.column ? " [" + p.column + "]" : "") + (p.value != null ? " (value " + p.value + ")" : "")});
        return;
      }
      job = await pollJob(job, bar, status, 300);
      if (job.status === "cancelled") { status.textContent = "cancelled"; return; }
      if (job.status !== "done") { status.textContent = job.status + ": " + problemsText(job.error); return; }
      bar.value = 1; status.textContent = "done";
      document.getElementById("crisis-links").innerHTML = '<a id="crisis-result-link" href="/runs/' + job.result_id + '">crisis run ' +
        job.result_id.slice(0, 12) + '</a> (claims, back-test and mechanism tables) · <a href="/api/runs/' + job.result_id + '/report">HTML report</a>';
      runCharts(job.result_id, document.getElementById("crisis-charts"));
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
      let job;
      status.textContent = "starting…"; bar.value = 0;
      try { job = await postJSON("/api/sweep-jobs", body); }
      catch (e) {
        status.textContent = "failed: invalid input";
        for (const p of (e.problems || [{message: problemsText(e)}])) el("li", probs, {textContent: p.message});
        return;
      }
      job = await pollJob(job, bar, status, 300);
      if (job.status === "cancelled") { status.textContent = "cancelled"; return; }
      if (job.status !== "done") { status.textContent = job.status + ": " + problemsText(job.error); return; }
      bar.value = 1; status.textContent = "done";
      document.getElementById("sweep-links").innerHTML = '<a id="sweep-result-link" href="/runs/' + job.result_id + '">sweep run ' +
        job.result_id.slice(0, 12) + '</a> · <a href="/api/runs/' + job.result_id + '/report">HTML report</a>';
      runCharts(job.result_id, document.getElementById("sweep-charts"));
    });
  }

  return {sweepForm, scenarioPage, showResult, compareChart, compareCrisisChart, compareSubmit, postJSON, runCharts, showCharts, crisisForm, cancelJob};
})();
