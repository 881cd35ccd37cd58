/* svitlo dashboard: compose a strike on the report's map, assess it, simulate it (the report itself shows the
   timeline), browse and launch sweeps, compare timelines. Talks only to its own server; no external resources. */
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var S = { info: null, base: null, fileStrikes: [], picked: [], aims: [], map: null, sims: [], run: null,
            polling: null };

  function setStatus(text, err) { var s = $("status"); s.textContent = text || ""; s.className = "status" + (err ? " err" : ""); }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }
  function fmt(v, d) {
    if (v === null || v === undefined || (typeof v === "number" && !isFinite(v))) { return "–"; }
    if (typeof v !== "number") { return String(v); }
    return v.toLocaleString("en-US", { maximumFractionDigits: d === undefined ? 1 : d, minimumFractionDigits: d === undefined ? 0 : d });
  }
  function api(method, url, body) {
    var opt = { method: method, headers: { "Accept": "application/json" }, credentials: "same-origin" };
    if (body !== undefined) { opt.headers["Content-Type"] = "application/json"; opt.body = JSON.stringify(body); }
    return fetch(url, opt).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) {
        if (!r.ok) { throw new Error(j.detail || ("HTTP " + r.status)); }
        return j;
      });
    });
  }
  function busy(on) {
    ["open", "assess", "simulate"].forEach(function (id) { $(id).disabled = on; });
    $("launch").disabled = on || !(S.info && S.info.store);
  }
  function guard(p, label) {
    busy(true); setStatus(label + " …");
    return p.then(function (x) { busy(false); return x; },
                  function (e) { busy(false); setStatus(e.message, true); throw e; });
  }

  /* ---------------------------------------------------------------- tabs */
  function showTab(name) {
    document.querySelectorAll("nav button").forEach(function (b) { b.setAttribute("aria-selected", String(b.dataset.tab === name)); });
    document.querySelectorAll("section.tab").forEach(function (s) { s.hidden = s.id !== "tab-" + name; });
    if (name === "runs") { loadRuns(); loadJobs(); }
    if (name === "compare") { drawCompare(); }
  }
  document.querySelectorAll("nav button").forEach(function (b) { b.addEventListener("click", function () { showTab(b.dataset.tab); }); });

  /* ---------------------------------------------------------------- open a scenario or a grid */
  function fillSources(info) {
    var sel = $("source"); sel.textContent = "";
    function group(label, items, prefix) {
      if (!items.length) { return; }
      var g = el("optgroup", { label: label });
      items.forEach(function (x) { g.appendChild(el("option", { value: prefix + x }, x)); });
      sel.appendChild(g);
    }
    group("scenario files", info.scenario_files, "file:");
    group("grid files", info.grid_files, "grid:");
    group("bundled cases", info.cases, "case:");
    if (info.first_scenario) { sel.value = "file:" + info.first_scenario; }
    else if (info.cases.indexOf("case118") >= 0 && !info.scenario_files.length) { sel.value = "case:case118"; }
  }

  function openSource() {
    var v = $("source").value, kind = v.split(":")[0], name = v.slice(kind.length + 1);
    var p;
    if (kind === "file") {
      p = api("GET", "/api/scenario-file?name=" + encodeURIComponent(name)).then(function (r) {
        return { scenario: r.scenario, scenario_file: name };
      });
    } else {
      p = Promise.resolve({ scenario: { name: name + " strike", grid: kind === "grid" ? { file: name } : name }, scenario_file: null });
    }
    return guard(p.then(function (base) {
      S.base = base; S.picked = []; S.aims = [];
      S.fileStrikes = base.scenario.strikes || [];
      $("file-strikes").textContent = S.fileStrikes.length ? "(" + S.fileStrikes.length + ")" : "(none)";
      $("horizon").value = base.scenario.horizon_h || 72;
      $("crews").value = "";
      return api("POST", "/api/map", { scenario: base.scenario, scenario_file: base.scenario_file });
    }).then(function (m) {
      S.map = m;
      drawMap(m);
      var w = $("weapon"); w.textContent = "";
      m.weapons.forEach(function (x) { w.appendChild(el("option", { value: x }, x)); });
      $("mode-aim").disabled = !m.projection;
      if (!m.projection) { document.querySelector("input[name=mode][value=assets]").checked = true; }
      $("assess-out").hidden = true;
      renderStrikes();
      setStatus("Opened " + m.grid + ": " + m.buses.length + " buses, " + m.branches.length + " branches, " +
                m.facilities.length + " facilities. Click buses or lines to strike them.");
    }), "Opening");
  }

  /* ---------------------------------------------------------------- the map (the report's renderer) */
  var view = { k: 1, x: 0, y: 0 };
  function drawMap(m) {
    var box = $("compose-map");
    box.innerHTML = m.svg;   /* drawn by svitlo.report.svg.map_svg on the server; every text escaped there */
    view = { k: 1, x: 0, y: 0 };
    var svg = box.querySelector("svg.map");
    svg.addEventListener("click", onMapClick);
    svg.addEventListener("wheel", function (e) {
      e.preventDefault();
      var p = svgPoint(svg, e, svg);
      var k = Math.max(1, Math.min(40, view.k * (e.deltaY < 0 ? 1.25 : 0.8)));
      view.x = p.x - (p.x - view.x) * (k / view.k); view.y = p.y - (p.y - view.y) * (k / view.k); view.k = k;
      if (k === 1) { view.x = 0; view.y = 0; }
      svg.querySelector("#zoom").setAttribute("transform", "translate(" + view.x + "," + view.y + ") scale(" + view.k + ")");
    }, { passive: false });
  }
  function svgPoint(svg, evt, target) {
    var p = svg.createSVGPoint(); p.x = evt.clientX; p.y = evt.clientY;
    return p.matrixTransform(target.getScreenCTM().inverse());
  }
  function onMapClick(e) {
    var svg = e.currentTarget;
    var mode = document.querySelector("input[name=mode]:checked").value;
    if (mode === "aim" && S.map.projection) {
      var pr = S.map.projection, p = svgPoint(svg, e, svg.querySelector("#zoom"));
      var k = Math.cos(pr.lat_mid * Math.PI / 180);
      var lon = pr.lon0 + (p.x - pr.pad) / (k * pr.scale), lat = pr.lat0 - (p.y - pr.pad) / pr.scale;
      S.aims.push({ lat: +lat.toFixed(5), lon: +lon.toFixed(5), weapon: $("weapon").value,
                    n: Math.max(1, Math.min(50, +$("aim-n").value || 1)), x: p.x, y: p.y });
      renderStrikes();
      return;
    }
    var t = e.target.closest("circle.bus, line.br");
    if (!t) { return; }
    var i = +t.getAttribute("data-i");
    var id = t.tagName === "circle" ? S.map.buses[i] : S.map.branches[i];
    var at = S.picked.indexOf(id);
    if (at >= 0) { S.picked.splice(at, 1); } else { S.picked.push(id); }
    renderStrikes();
  }
  function renderStrikes() {
    var svg = document.querySelector("#compose-map svg.map");
    if (svg) {
      svg.querySelectorAll(".picked").forEach(function (x) { x.classList.remove("picked"); });
      S.picked.forEach(function (id) {
        var bi = S.map.buses.indexOf(id), ri = S.map.branches.indexOf(id);
        var node = bi >= 0 ? svg.querySelector("circle.bus[data-i='" + bi + "']") : svg.querySelector("line.br[data-i='" + ri + "']");
        if (node) { node.classList.add("picked"); }
      });
      svg.querySelectorAll("g.aim").forEach(function (x) { x.remove(); });
      var zoomG = svg.querySelector("#zoom");
      S.aims.forEach(function (a) {
        var g = document.createElementNS("http://www.w3.org/2000/svg", "g");
        g.setAttribute("class", "aim"); g.setAttribute("transform", "translate(" + a.x + "," + a.y + ")");
        g.innerHTML = '<circle r="9"/><line x1="-13" y1="0" x2="13" y2="0"/><line x1="0" y1="-13" x2="0" y2="13"/>';
        zoomG.appendChild(g);
      });
    }
    var ul = $("strike-list"); ul.textContent = "";
    function item(text, drop) {
      var li = el("li", {}, null); li.appendChild(el("span", {}, text));
      var b = el("button", { type: "button", title: "remove" }, "×"); b.addEventListener("click", drop);
      li.appendChild(b); ul.appendChild(li);
    }
    S.picked.forEach(function (id, i) { item(id, function () { S.picked.splice(i, 1); renderStrikes(); }); });
    S.aims.forEach(function (a, i) {
      item(a.n + " × " + a.weapon + " at " + a.lat.toFixed(4) + ", " + a.lon.toFixed(4),
           function () { S.aims.splice(i, 1); renderStrikes(); });
    });
    if (!ul.firstChild) { ul.appendChild(el("li", { "class": "muted" }, "no strike composed")); }
  }
  $("clear").addEventListener("click", function () { S.picked = []; S.aims = []; renderStrikes(); });

  function currentScenario() {
    var sc = JSON.parse(JSON.stringify(S.base.scenario));
    var strikes = $("keep-file-strikes").checked ? S.fileStrikes.slice() : [];
    if (S.picked.length) { strikes.push({ assets: S.picked.slice() }); }
    if (S.aims.length) {
      strikes.push({ geographic: { aim: S.aims.map(function (a) { return { lat: a.lat, lon: a.lon, weapon: a.weapon, n: a.n }; }) } });
    }
    sc.strikes = strikes;
    var h = parseInt($("horizon").value, 10);
    if (h > 0) { sc.horizon_h = h; }
    var c = $("crews").value;
    if (c !== "") { sc.repairs = Object.assign({}, sc.repairs || {}, { crews: parseInt(c, 10) }); }
    return { scenario: sc, scenario_file: S.base.scenario_file };
  }

  /* ---------------------------------------------------------------- assess */
  var METRICS = [["destroyed_assets", "assets destroyed", 0], ["islands", "islands", 0],
                 ["energised_islands", "energised islands", 0], ["load_mw", "load (MW)", 1],
                 ["served_mw", "served (MW)", 1], ["shed_mw", "shed (MW)", 1],
                 ["people_without_power", "people without power", 0], ["overloaded_branches", "overloaded branches", 0]];
  function table(rows, cols) {
    var t = el("table"), head = el("tr");
    cols.forEach(function (c) { head.appendChild(el("th", {}, c[1])); });
    var th = el("thead"); th.appendChild(head); t.appendChild(th);
    var tb = el("tbody");
    rows.forEach(function (r) {
      var tr = el("tr");
      cols.forEach(function (c) {
        var v = typeof c[0] === "function" ? c[0](r) : r[c[0]];
        if (v instanceof Node) { var td = el("td"); td.appendChild(v); tr.appendChild(td); }
        else { tr.appendChild(el("td", {}, typeof v === "number" ? fmt(v, c[2]) : (v === true ? "yes" : v === false ? "no" : v))); }
      });
      tb.appendChild(tr);
    });
    t.appendChild(tb);
    var wrap = el("div", { "class": "scroll" }); wrap.appendChild(t);
    return wrap;
  }
  function runAssess() {
    var req = currentScenario();
    return guard(api("POST", "/api/assess", req), "Assessing").then(function (r) {
      var out = $("assess-out"); out.hidden = false; out.textContent = "";
      out.appendChild(el("h3", {}, "Assessed: " + r.scenario + " (" + r.mode + ")"));
      var dl = el("dl", { id: "metrics" });
      METRICS.forEach(function (m) {
        var d = el("div"); d.appendChild(el("dt", {}, m[1])); d.appendChild(el("dd", { "data-k": m[0] }, fmt(r.metrics[m[0]], m[2]))); dl.appendChild(d);
      });
      out.appendChild(dl);
      out.appendChild(el("h3", {}, "Destroyed (" + r.destroyed.length + ")"));
      out.appendChild(el("p", { id: "destroyed" }, r.destroyed.join(", ") || "nothing"));
      out.appendChild(el("h3", {}, "Islands"));
      out.appendChild(table(r.islands, [["id", "island", 0], ["buses", "buses", 0], ["energised", "energised"],
        ["generation_mw", "generation (MW)", 1], ["load_mw", "load (MW)", 1], ["served_mw", "served (MW)", 1],
        ["shed_mw", "shed (MW)", 1], ["people_without_power", "people without power", 0]]));
      if (r.overloaded.length) {
        out.appendChild(el("h3", {}, "Overloaded branches"));
        out.appendChild(table(r.overloaded, [["id", "branch"], ["flow_mw", "flow (MW)", 1], ["rate_mw", "rating (MW)", 1], ["loading_percent", "loading (%)", 0]]));
      }
      paintCodes(r.bus_code, r.branch_code);
      setStatus("Assessed in the server: " + fmt(r.metrics.shed_mw, 1) + " MW shed, " + fmt(r.metrics.people_without_power, 0) + " people without power.");
    });
  }
  function paintCodes(bus, br) {
    var svg = document.querySelector("#compose-map svg.map");
    function paint(nodes, codes) {
      nodes.forEach(function (n, i) {
        var c = (n.getAttribute("class") || "").replace(/\s*\bc\d+\b/g, "");
        n.setAttribute("class", c + " c" + codes[i]);
      });
    }
    paint(svg.querySelectorAll("circle.bus"), bus);
    paint(svg.querySelectorAll("line.br"), br);
  }

  /* ---------------------------------------------------------------- simulate: the report is the timeline view */
  function showReport(r, label) {
    $("report-box").hidden = false;
    $("report-title").textContent = "Timeline: " + label;
    $("report").src = "/reports/" + r.report_id;
    S.sims.push({ label: label + " (" + r.grid + ", " + r.horizon_h + " h)", hourly: r.hourly, horizon_h: r.horizon_h,
                  req: S.lastReq });
  }
  function runSimulate() {
    var req = currentScenario();
    S.lastReq = JSON.parse(JSON.stringify(req));
    return guard(api("POST", "/api/simulate", req), "Simulating").then(function (r) {
      showReport(r, r.scenario);
      setStatus("Simulated " + r.horizon_h + " h. Move the hour slider in the report below.");
      $("report-box").scrollIntoView({ behavior: "smooth", block: "start" });
    });
  }

  /* ---------------------------------------------------------------- stored runs */
  function loadRuns() {
    return api("GET", "/api/runs").then(function (r) {
      var ul = $("run-list"); ul.textContent = "";
      r.runs.forEach(function (x) {
        var li = el("li"), b = el("button", { type: "button", "data-run": x.name },
          x.name + " · " + (x.scenario_name || "?") + " · " + x.n + (x.complete ? "" : " (incomplete)"));
        if (S.run === x.name) { b.className = "sel"; }
        b.addEventListener("click", function () { openRun(x.name); });
        li.appendChild(b); ul.appendChild(li);
      });
      if (!r.runs.length) { ul.appendChild(el("li", { "class": "muted" }, "no runs stored yet")); }
    }, function (e) { setStatus(e.message, true); });
  }
  function curveChart(rows, metric, title, unit) {
    var pts = rows.filter(function (r) { return r.metric === metric; });
    var W = 460, H = 200, ml = 48, mr = 12, mt = 30, mb = 34, pw = W - ml - mr, ph = H - mt - mb;
    var xmax = Math.max.apply(null, pts.map(function (p) { return p.threshold; }).concat([1e-9]));
    var NS = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(NS, "svg");
    svg.setAttribute("class", "chart"); svg.setAttribute("viewBox", "0 0 " + W + " " + H);
    function add(tag, attrs, text) {
      var n = document.createElementNS(NS, tag);
      Object.keys(attrs).forEach(function (k) { n.setAttribute(k, attrs[k]); });
      if (text !== undefined) { n.textContent = text; }
      svg.appendChild(n); return n;
    }
    add("text", { "class": "title", x: ml, y: 16 }, title);
    [0, 0.25, 0.5, 0.75, 1].forEach(function (v) {
      var y = mt + ph - v * ph;
      add("line", { "class": "grid", x1: ml, x2: ml + pw, y1: y, y2: y });
      add("text", { "class": "tick", x: ml - 4, y: y + 3, "text-anchor": "end" }, (v * 100) + " %");
    });
    [0, 0.5, 1].forEach(function (f) {
      add("text", { "class": "tick", x: ml + f * pw, y: mt + ph + 14, "text-anchor": "middle" }, fmt(f * xmax, xmax < 10 ? 1 : 0));
    });
    add("text", { "class": "tick", x: ml + pw, y: H - 2, "text-anchor": "end" }, unit);
    var d = pts.map(function (p) { return (ml + p.threshold / xmax * pw).toFixed(1) + "," + (mt + ph - p.exceedance_probability * ph).toFixed(1); }).join(" ");
    add("polyline", { "class": "line s1", points: d });
    var fig = el("figure", { "class": "card" }); fig.appendChild(svg);
    return fig;
  }
  function openRun(name) {
    S.run = name;
    return guard(api("GET", "/api/runs/" + encodeURIComponent(name)), "Reading run " + name).then(function (r) {
      var out = $("run-out"); out.textContent = "";
      out.appendChild(el("h2", {}, r.name + ": " + (r.scenario_name || "") + " on " + (r.grid || "?")));
      out.appendChild(el("p", { "class": "muted" }, r.rows + " of " + r.n + " scenarios stored" + (r.complete ? "" : " (incomplete)")));
      var t = r.tables || {};
      if (!t.risk_curve) { setStatus("Run " + name + " has no scenario stored yet."); return; }
      var g = el("div", { "class": "grid2" });
      g.appendChild(curveChart(t.risk_curve, "shed_mw", "Risk curve: probability that shed load exceeds", "MW shed"));
      g.appendChild(curveChart(t.risk_curve, "people_without_power", "Probability that people without power exceed", "people"));
      out.appendChild(g);
      out.appendChild(el("h3", {}, "Worst scenarios (open one as a timeline)"));
      out.appendChild(table(t.worst, [[function (w) {
        var b = el("button", { type: "button", "class": "openworst", "data-k": w.scenario }, "open #" + w.scenario);
        b.addEventListener("click", function () { openWorst(name, w.scenario); });
        return b;
      }, "scenario"], ["shed_mw", "shed (MW)", 1], ["people_without_power", "people without power", 0],
        ["islands", "islands", 0], ["destroyed_assets", "destroyed", 0],
        [function (w) { return (w.destroyed || []).join(", "); }, "assets destroyed"]]));
      out.appendChild(el("h3", {}, "Protect first: assets by loss probability and shed when lost"));
      var ac = t.assets.length ? Object.keys(t.assets[0]) : [];
      out.appendChild(table(t.assets, ac.map(function (c) { return [c, c.replace(/_/g, " "), c.indexOf("prob") >= 0 ? 3 : 1]; })));
      if (t.facilities) {
        out.appendChild(el("h3", {}, "Facilities: probability of losing grid supply"));
        var fc = t.facilities.length ? Object.keys(t.facilities[0]) : [];
        out.appendChild(table(t.facilities, fc.map(function (c) { return [c, c.replace(/_/g, " "), c.indexOf("prob") >= 0 ? 3 : 1]; })));
      }
      var box = el("div", { id: "run-report-box", "class": "reportbox", hidden: "" });
      box.appendChild(el("h2", { id: "run-report-title" }, ""));
      box.appendChild(el("iframe", { id: "run-report", title: "scenario timeline" }));
      out.appendChild(box);
      setStatus("Run " + name + ": " + r.rows + " scenarios.");
      loadRuns();
    });
  }
  function openWorst(name, k) {
    return guard(api("POST", "/api/runs/" + encodeURIComponent(name) + "/scenarios/" + k), "Simulating scenario #" + k).then(function (r) {
      var box = $("run-report-box"); box.hidden = false;
      $("run-report-title").textContent = "Scenario #" + k + " of " + name + " as a timeline";
      $("run-report").src = "/reports/" + r.report_id;
      S.sims.push({ label: name + " #" + k + " (" + r.grid + ", " + r.horizon_h + " h)", hourly: r.hourly, horizon_h: r.horizon_h });
      setStatus("Scenario #" + k + " simulated; its timeline is below.");
      box.scrollIntoView({ behavior: "smooth", block: "start" });
    });
  }

  /* ---------------------------------------------------------------- sweeps: launch, progress, cancel */
  function renderJobs(jobs) {
    var ul = $("job-list"); ul.textContent = "";
    jobs.forEach(function (j) {
      var li = el("li", { "data-job": j.id, "data-state": j.state });
      li.appendChild(el("span", {}, j.run + ": " + j.state + (j.error ? " — " + j.error : "")));
      var bar = el("div", { "class": "progress", role: "progressbar", "aria-valuemin": "0", "aria-valuemax": String(j.total), "aria-valuenow": String(j.done) });
      var fill = el("i"); fill.style.width = (j.total ? 100 * j.done / j.total : 0).toFixed(1) + "%"; bar.appendChild(fill);
      li.appendChild(bar);
      li.appendChild(el("span", { "class": "muted" }, j.done + " / " + j.total));
      if (j.state === "running" || j.state === "queued") {
        var b = el("button", { type: "button", "class": "cancel" }, "cancel");
        b.addEventListener("click", function () { api("DELETE", "/api/jobs/" + j.id).then(loadJobs); });
        li.appendChild(b);
      }
      ul.appendChild(li);
    });
    if (!jobs.length) { ul.appendChild(el("li", { "class": "muted" }, "no sweep launched")); }
  }
  function loadJobs() {
    return api("GET", "/api/jobs").then(function (r) {
      renderJobs(r.jobs);
      var active = r.jobs.some(function (j) { return j.state === "running" || j.state === "queued"; });
      if (active && !S.polling) { S.polling = setInterval(loadJobs, 1000); }
      if (!active && S.polling) { clearInterval(S.polling); S.polling = null; loadRuns(); }
    }, function (e) { setStatus(e.message, true); });
  }
  $("launch").addEventListener("click", function () {
    if (!S.base) { setStatus("Open a scenario first (Scenario tab).", true); return; }
    var req = currentScenario();
    req.n = parseInt($("sweep-n").value, 10); req.run = $("sweep-name").value;
    guard(api("POST", "/api/sweeps", req), "Launching").then(function (j) {
      setStatus("Sweep " + j.run + " launched (" + j.n + " scenarios).");
      loadJobs();
    });
  });

  /* ---------------------------------------------------------------- compare two scenarios or plans */
  function compareChoices() {
    var out = [];
    S.sims.forEach(function (x, i) { if (x.req) { out.push({ value: "sim:" + i, label: "simulated: " + x.label }); } });
    ((S.info && S.info.scenario_files) || []).forEach(function (f) { out.push({ value: "file:" + f, label: "file: " + f }); });
    return out;
  }
  function fillCompare() {
    var choices = compareChoices();
    ["cmp-a", "cmp-b"].forEach(function (id, k) {
      var s = $(id), keep = s.value; s.textContent = "";
      choices.forEach(function (c) { s.appendChild(el("option", { value: c.value }, c.label)); });
      var sims = choices.filter(function (c) { return c.value.indexOf("sim:") === 0; });
      var dflt = sims.length >= 2 ? sims[sims.length - 2 + k] : choices[Math.min(k, choices.length - 1)];
      s.value = keep && choices.some(function (c) { return c.value === keep; }) ? keep : (dflt ? dflt.value : "");
    });
    $("cmp-run").disabled = choices.length < 1;
  }
  function compareSide(value) {
    if (value.indexOf("sim:") === 0) { return Promise.resolve(S.sims[+value.slice(4)].req); }
    var name = value.slice(5);
    return api("GET", "/api/scenario-file?name=" + encodeURIComponent(name)).then(function (r) {
      return { scenario: r.scenario, scenario_file: name };
    });
  }
  function hourChart(title, unit, c, key, ref) {
    var va = c.a.hourly[key] || [], vb = c.b.hourly[key] || [], vr = ref ? (c.a.hourly[ref] || []) : [];
    var n = Math.max(va.length, vb.length, 1);
    var all = va.concat(vb, vr).filter(function (v) { return v !== null && isFinite(v); });
    var top = Math.max.apply(null, all.concat([1e-9]));
    var W = 460, H = 200, ml = 48, mr = 12, mt = 30, mb = 30, pw = W - ml - mr, ph = H - mt - mb;
    var NS = "http://www.w3.org/2000/svg", svg = document.createElementNS(NS, "svg");
    svg.setAttribute("class", "chart"); svg.setAttribute("viewBox", "0 0 " + W + " " + H);
    function add(tag, attrs, text) {
      var e = document.createElementNS(NS, tag);
      Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
      if (text !== undefined) { e.textContent = text; } svg.appendChild(e); return e;
    }
    add("text", { "class": "title", x: ml, y: 16 }, title);
    [0, 0.5, 1].forEach(function (v) {
      var y = mt + ph - v * ph;
      add("line", { "class": "grid", x1: ml, x2: ml + pw, y1: y, y2: y });
      add("text", { "class": "tick", x: ml - 4, y: y + 3, "text-anchor": "end" }, fmt(v * top, top < 10 ? 1 : 0));
    });
    add("text", { "class": "tick", x: 4, y: mt - 6 }, unit);
    add("text", { "class": "tick", x: ml + pw, y: H - 2, "text-anchor": "end" }, "hour (0–" + (n - 1) + ")");
    var lines = [[va, "s0", "A"], [vb, "s1", "B"]];
    if (ref) { lines.unshift([vr, "s-ref", "tier-1 load"]); }
    lines.forEach(function (s, k) {
      var pts = [];
      s[0].forEach(function (v, h) {
        if (v === null || !isFinite(v)) { return; }
        var y = (mt + ph - v / top * ph).toFixed(1);
        pts.push((ml + h * pw / n).toFixed(1) + "," + y, (ml + (h + 1) * pw / n).toFixed(1) + "," + y);
      });
      add("polyline", { "class": "line " + s[1], points: pts.join(" ") });
      add("text", { "class": "legend " + s[1], x: ml + 8 + k * 70, y: mt + 10 }, s[2]);
    });
    var fig = el("figure", { "class": "card" }); fig.appendChild(svg); return fig;
  }
  function drawCompare() {
    fillCompare();
    if (!$("cmp-out").firstChild) {
      $("cmp-out").appendChild(el("p", { "class": "muted" }, compareChoices().length ? "Pick A and B, then Compare." :
        "Simulate a timeline first, or start the server on a folder of scenario files."));
    }
  }
  function runCompare() {
    var a = $("cmp-a").value, b = $("cmp-b").value;
    if (!a || !b) { return; }
    $("cmp-run").disabled = true;
    setStatus("Simulating A and B …");
    return Promise.all([compareSide(a), compareSide(b)]).then(function (sides) {
      return api("POST", "/api/compare", { a: sides[0], b: sides[1] });
    }).then(function (c) {
      $("cmp-run").disabled = false;
      var out = $("cmp-out"); out.textContent = "";
      var box = $("cmp-summary"); box.textContent = "";
      box.appendChild(el("h3", {}, "A: " + c.labels[0] + " · B: " + c.labels[1]));
      box.appendChild(table(c.summary, [[function (r) { return r.measure + " (" + r.unit + ")"; }, "measure"],
        ["a", "A"], ["b", "B"], ["diff", "B − A"],
        [function (r) { return r.better === "A" ? "A" : r.better === "B" ? "B" : r.better; }, "better"]]));
      box.querySelector("table").id = "cmp-table";
      out.appendChild(hourChart("Resilience: tier-1 load served by the grid", "MW", c, "critical_grid_mw", "critical_load_mw"));
      out.appendChild(hourChart("Tier-1 load supplied, grid or facility backup", "MW", c, "critical_served_mw", "critical_load_mw"));
      out.appendChild(hourChart("Facilities dark", "count", c, "facilities_dark"));
      out.appendChild(hourChart("People without power", "people", c, "people_without_power"));
      out.appendChild(hourChart("Load shed", "MW", c, "shed_mw"));
      $("cmp-report-box").hidden = false;
      $("cmp-report").src = "/reports/" + c.report_id;
      setStatus("Compared: " + c.labels[0] + " and " + c.labels[1] + ".");
    }, function (e) { $("cmp-run").disabled = false; setStatus(e.message, true); });
  }
  $("cmp-run").addEventListener("click", runCompare);

  /* ---------------------------------------------------------------- start */
  $("open").addEventListener("click", openSource);
  $("assess").addEventListener("click", function () { if (S.base) { runAssess(); } });
  $("simulate").addEventListener("click", function () { if (S.base) { runSimulate(); } });
  api("GET", "/api/info").then(function (info) {
    S.info = info; fillSources(info);
    $("horizon").max = info.max_horizon_h;
    renderStrikes();
    if (!info.store) { $("launch").disabled = true; }
    if (info.first_scenario) { openSource(); }
    return api("GET", "/api/jobs").then(function (r) {
      if (r.jobs.some(function (j) { return j.state === "running" || j.state === "queued"; })) { loadJobs(); }
    });
  }, function (e) { setStatus(e.message, true); });
})();
