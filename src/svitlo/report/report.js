/* svitlo report: hour slider, map recolouring, zoom. Reads the embedded JSON; no network. */
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("svitlo-data").textContent);
  var STATE = { g: "grid", b: "backup", d: "dark", x: "damaged" };
  var svg = document.getElementById("map");
  var zoomG = document.getElementById("zoom");
  var buses = svg.querySelectorAll("circle.bus");
  var branches = svg.querySelectorAll("line.br");
  var facs = svg.querySelectorAll("g.fac");
  var slider = document.getElementById("hour");
  var label = document.getElementById("hourlabel");
  var nowList = document.getElementById("now");
  var nowEvents = document.getElementById("nowevents");
  var nowBackup = document.getElementById("nowbackup");
  var cursors = document.querySelectorAll("svg.chart rect.cursor");
  var hourRows = document.querySelectorAll("#t-hourly tbody tr");
  var eventRows = document.querySelectorAll("#t-events tbody tr");
  var facCells = document.querySelectorAll("#t-facilities td.now");

  function baseClass(el) { return (el.getAttribute("class") || "").replace(/\s*\bc\d+\b/g, ""); }
  var busBase = Array.prototype.map.call(buses, baseClass);
  var brBase = Array.prototype.map.call(branches, baseClass);

  function paint(els, bases, frame) {
    for (var i = 0; i < els.length && i < frame.length; i++) {
      var cls = bases[i] + " c" + frame[i];
      if (els[i].getAttribute("class") !== cls) { els[i].setAttribute("class", cls); }
    }
  }

  function fmt(v, digits) {
    if (v === null || v === undefined) { return "–"; }
    return Number(v).toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
  }

  function row(dl, k, v, cls) {
    var dt = document.createElement("dt"); dt.textContent = k;
    var dd = document.createElement("dd"); dd.textContent = v;
    if (cls) { dt.className = cls; dd.className = cls; }
    dl.appendChild(dt); dl.appendChild(dd);
  }

  function setHour(h) {
    h = Math.max(0, Math.min(D.horizon_h - 1, h | 0));
    paint(buses, busBase, D.bus_frames[D.bus_at[h]]);
    paint(branches, brBase, D.branch_frames[D.branch_at[h]]);
    var counts = { g: 0, b: 0, d: 0, x: 0 }, byKind = {};
    for (var i = 0; i < facs.length; i++) {
      var s = (D.fac_states[i] || "").charAt(h) || "g";
      counts[s] += 1;
      var kind = (D.facilities[i] || {}).kind || "?";
      if (!byKind[kind]) { byKind[kind] = { g: 0, b: 0, d: 0, x: 0 }; }
      byKind[kind][s] += 1;
      facs[i].setAttribute("class", "fac st-" + s);
      facs[i].setAttribute("data-state", STATE[s]);
      if (facCells[i]) { facCells[i].className = "now st-" + s; facCells[i].textContent = STATE[s]; }
    }
    cursors.forEach(function (c) {
      var chart = c.ownerSVGElement;
      var x0 = parseFloat(chart.getAttribute("data-x0")), dx = parseFloat(chart.getAttribute("data-dx"));
      c.setAttribute("x", (x0 + h * dx).toFixed(2));
    });
    label.textContent = "hour " + h;
    var H = D.hourly;
    nowList.textContent = "";
    function val(c) { return H[c] ? H[c][h] : null; }
    row(nowList, "load served", fmt(val("served_mw"), 2) + " of " + fmt(val("load_mw"), 2) + " MW");
    function pct(c) { return val(c) === null || val(c) === undefined ? "–" : fmt(100 * val(c), 0) + " %"; }
    if (val("critical_load_mw")) {
      if (H.critical_grid_mw) {
        row(nowList, "tier-1 load served by the grid", fmt(val("critical_grid_mw"), 2) + " of " + fmt(val("critical_load_mw"), 2) + " MW (" + fmt(100 * val("critical_grid_mw") / val("critical_load_mw"), 0) + " %)");
      }
      row(nowList, "tier-1 load supplied, grid or backup", fmt(val("critical_served_mw"), 2) + " of " + fmt(val("critical_load_mw"), 2) + " MW");
    }
    row(nowList, "people without power", fmt(val("people_without_power"), 0));
    if (H.water_coverage) { row(nowList, "water coverage", pct("water_coverage")); }
    row(nowList, "telecom coverage", pct("telecom_coverage"));
    row(nowList, "islands (energised)", fmt(val("islands"), 0) + " (" + fmt(val("energised_islands"), 0) + ")");
    if (facs.length) {
      row(nowList, "facilities grid / backup / dark", counts.g + " / " + counts.b + " / " + counts.d + (counts.x ? " (" + counts.x + " damaged)" : ""));
      Object.keys(byKind).forEach(function (k) {
        var c = byKind[k];
        row(nowList, k, c.g + " / " + c.b + " / " + c.d + (c.x ? " (" + c.x + " damaged)" : ""), "kind k-" + k);
      });
    }
    nowBackup.textContent = "";
    D.facilities.forEach(function (f, i) {
      if ((D.fac_states[i] || "").charAt(h) !== "b") { return; }
      var left = (D.fac_backup_h[i] || [])[h];
      var li = document.createElement("li");
      li.textContent = f.name + " (" + f.kind + "): " + (left === null || left === undefined ? "?" : fmt(left, 1)) + " h left";
      nowBackup.appendChild(li);
    });
    if (!nowBackup.firstChild) { var nb = document.createElement("li"); nb.textContent = "none"; nowBackup.appendChild(nb); }
    nowEvents.textContent = "";
    D.events.forEach(function (e) {
      if (e[0] === h) { var li = document.createElement("li"); li.textContent = e[3] || (e[1] + " " + e[2]); nowEvents.appendChild(li); }
    });
    if (!nowEvents.firstChild) { var li = document.createElement("li"); li.textContent = "none"; nowEvents.appendChild(li); }
    hourRows.forEach(function (r) { r.classList.toggle("now", +r.getAttribute("data-h") === h); });
    eventRows.forEach(function (r) { r.classList.toggle("now", +r.getAttribute("data-h") === h); });
    if (+slider.value !== h) { slider.value = String(h); }
  }

  slider.addEventListener("input", function () { setHour(+slider.value); });
  var timer = null;
  var play = document.getElementById("play");
  play.addEventListener("click", function () {
    if (timer) { clearInterval(timer); timer = null; play.innerHTML = "&#9654;"; return; }
    if (+slider.value >= D.horizon_h - 1) { setHour(0); }
    play.innerHTML = "&#10074;&#10074;";
    timer = setInterval(function () {
      var h = +slider.value + 1;
      if (h >= D.horizon_h) { clearInterval(timer); timer = null; play.innerHTML = "&#9654;"; return; }
      setHour(h);
    }, 350);
  });

  /* zoom and pan: markers and buses keep their on-screen size */
  var view = { k: 1, x: 0, y: 0 };
  var facPos = Array.prototype.map.call(facs, function (f) {
    var m = /translate\(([-\d.]+),([-\d.]+)\)/.exec(f.getAttribute("transform"));
    return m ? [parseFloat(m[1]), parseFloat(m[2])] : [0, 0];
  });
  function applyView() {
    zoomG.setAttribute("transform", "translate(" + view.x + "," + view.y + ") scale(" + view.k + ")");
    var s = 1 / Math.sqrt(view.k);
    for (var i = 0; i < facs.length; i++) {
      facs[i].setAttribute("transform", "translate(" + facPos[i][0] + "," + facPos[i][1] + ") scale(" + s + ")");
    }
    buses.forEach(function (b) { b.setAttribute("r", (3 * s).toFixed(2)); });
    var bar = svg.querySelector("g.scale");
    if (bar) {  /* the bar keeps its length on screen; its label follows the zoom */
      var km = parseFloat(bar.getAttribute("data-km")) / view.k;
      bar.querySelector("text").textContent = (km >= 1 ? km.toFixed(km >= 10 ? 0 : 1) : Math.round(km * 1000) + " m").toString() + (km >= 1 ? " km" : "");
    }
  }
  function svgPoint(evt) {
    var p = svg.createSVGPoint(); p.x = evt.clientX; p.y = evt.clientY;
    return p.matrixTransform(svg.getScreenCTM().inverse());
  }
  function zoomAt(px, py, f) {
    var k = Math.max(1, Math.min(40, view.k * f));
    view.x = px - (px - view.x) * (k / view.k);
    view.y = py - (py - view.y) * (k / view.k);
    view.k = k;
    if (k === 1) { view.x = 0; view.y = 0; }
    applyView();
  }
  var vb = svg.viewBox.baseVal;
  svg.addEventListener("wheel", function (e) {
    e.preventDefault(); var p = svgPoint(e); zoomAt(p.x, p.y, e.deltaY < 0 ? 1.25 : 0.8);
  }, { passive: false });
  var drag = null;
  svg.addEventListener("pointerdown", function (e) { drag = { p: svgPoint(e), x: view.x, y: view.y }; });
  svg.addEventListener("pointermove", function (e) {
    if (!drag) { return; }
    var p = svgPoint(e); view.x = drag.x + p.x - drag.p.x; view.y = drag.y + p.y - drag.p.y; applyView();
  });
  window.addEventListener("pointerup", function () { drag = null; });
  document.getElementById("zin").addEventListener("click", function () { zoomAt(vb.width / 2, vb.height / 2, 1.5); });
  document.getElementById("zout").addEventListener("click", function () { zoomAt(vb.width / 2, vb.height / 2, 1 / 1.5); });
  document.getElementById("zreset").addEventListener("click", function () { view = { k: 1, x: 0, y: 0 }; applyView(); });
  var focus = (svg.getAttribute("data-focus") || "").split(" ").map(parseFloat);
  var zf = document.getElementById("zfocus");
  function toFocus() {
    var k = Math.max(1, Math.min(40, Math.min(vb.width / (focus[2] - focus[0]), vb.height / (focus[3] - focus[1]))));
    view = { k: k, x: vb.width / 2 - k * (focus[0] + focus[2]) / 2, y: vb.height / 2 - k * (focus[1] + focus[3]) / 2 };
    applyView();
  }
  if (focus.length === 4 && focus.every(isFinite)) {
    zf.addEventListener("click", toFocus);
    toFocus();   /* the map opens on the strike area; the round arrow shows the whole grid */
  } else { zf.hidden = true; }

  setHour(0);
})();
