// The live market: renders each snapshot the server pushes (Server-Sent
// Events on /events) and sends the controls. Hand-written, no library.
"use strict";

const $ = (id) => document.getElementById(id);

// The page's lag behind the market: for each snapshot, its receive time
// minus the time the oldest event in it was observed (both wall clocks of
// this machine). Read by the browser test and the measurements in WEB.md.
const lag = { samples: [] };
window.bazaarLag = lag;

function element(tag, text, className) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (className) e.className = className;
  return e;
}

function seconds(at) {
  return at.toFixed(1) + " s";
}

function ms(value) {
  return value === null || value === undefined ? "–" : value.toFixed(2) + " ms";
}

function renderTrader(s) {
  $("trader").textContent = s.trader
    ? "trader: peer " + s.trader[0] + " · epoch " + s.trader[1]
    : "no trader: an election is on";
  $("partition-state").textContent = s.partition
    ? "split: peers " + s.partition[0].join(", ") + " | peers " + s.partition[1].join(", ")
    : "";
}

function renderPeers(s) {
  const body = $("peers").tBodies[0];
  body.replaceChildren();
  for (const p of s.peers) {
    const row = element("tr");
    row.id = "peer-" + p.id;
    if (p.role === "trader") row.className = "is-trader";
    if (!p.alive) row.className = "dead";
    row.append(
      element("td", String(p.id)),
      element("td", p.role),
      element("td", p.alive ? "alive" : "dead"),
      element("td", p.trader === null ? "–" : "peer " + p.trader),
      element("td", p.epoch === null ? "–" : String(p.epoch)),
      element("td", p.buys_per_s.toFixed(1), "number"),
      element("td", ms(p.p50_ms), "number"),
    );
    const last = element("td");
    if (s.controls && !p.alive) {
      const restart = element("button", "restart peer " + p.id, "restart");
      restart.type = "button";
      restart.dataset.peer = p.id;
      restart.onclick = () => control("/control/restart/" + p.id);
      last.append(restart);
    }
    row.append(last);
    body.append(row);
  }
}

function renderElections(s) {
  const list = $("elections");
  list.replaceChildren();
  for (const e of s.elections) {
    const item = element("li");
    item.append(
      element("span", seconds(e.at_s), "at"),
      element("span", "epoch " + e.epoch + ": peer " + e.trader, "epoch"),
      element("div", e.announcement),
    );
    if (e.reason) item.append(element("div", "because " + e.reason, "why"));
    list.append(item);
  }
}

function renderTicker(s) {
  const list = $("ticker");
  list.replaceChildren();
  for (const line of s.ticker) {
    const item = element("li");
    item.append(element("span", seconds(line.at_s), "at"), element("span", line.text));
    list.append(item);
  }
}

// A small line chart: one polyline per series, the top value written.
function chart(svg, points, series) {
  // Drawn at the size it is shown, so that its text is not stretched.
  const width = svg.clientWidth || 360, height = 90, top = 12;
  svg.setAttribute("viewBox", "0 0 " + width + " " + height);
  const values = series.flatMap((key) => points.map((p) => p[key]).filter((v) => v !== null));
  const max = Math.max(1e-9, ...values);
  const first = points.length ? points[points.length - 1].second - 59 : 0;
  svg.replaceChildren();
  const ns = "http://www.w3.org/2000/svg";
  for (const key of series) {
    const line = document.createElementNS(ns, "polyline");
    line.setAttribute("class", key.replace(/_ms$/, ""));
    line.setAttribute("points", points
      .filter((p) => p[key] !== null)
      .map((p) => {
        const x = ((p.second - first) / 59) * (width - 4) + 2;
        const y = height - 2 - (p[key] / max) * (height - top - 4);
        return x.toFixed(1) + "," + y.toFixed(1);
      })
      .join(" "));
    svg.append(line);
  }
  const label = document.createElementNS(ns, "text");
  label.setAttribute("x", 4);
  label.setAttribute("y", 10);
  const round = (v) => (v === null ? "–" : v < 10 ? v.toFixed(2) : v.toFixed(0));
  const last = points.length ? points[points.length - 1] : null;
  const now = last ? series.map((key) => round(last[key])).join(" / ") : "–";
  label.textContent = "now " + now + " · max " + round(max) + " · last 60 s";
  svg.append(label);
}

function renderControls(s) {
  $("controls").hidden = !s.controls;
  $("partition").hidden = !s.can_partition;
  $("partition").textContent = s.partition ? "heal the split" : "split the market in two";
}

function renderLag() {
  const sorted = [...lag.samples].sort((a, b) => a - b);
  if (!sorted.length) return;
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.round((sorted.length - 1) * q))];
  $("lag").textContent = "this page lags the market by " + at(0.5) + " ms (median), "
    + at(0.99) + " ms (p99), " + sorted[sorted.length - 1] + " ms (max) over "
    + sorted.length + " updates";
}

function render(s) {
  renderTrader(s);
  renderControls(s);
  renderPeers(s);
  renderElections(s);
  renderTicker(s);
  chart($("latency-chart"), s.chart, ["p50_ms", "p99_ms"]);
  chart($("sales-chart"), s.chart, ["sales"]);
  renderLag();
}

async function control(path) {
  $("said").textContent = "…";
  try {
    const answer = await fetch(path, { method: "POST" });
    $("said").textContent = (await answer.text()).trim();
  } catch (e) {
    $("said").textContent = "the market did not answer: " + e;
  }
}

function connect() {
  const source = new EventSource("/events");
  source.onopen = () => { $("connection").textContent = "live"; };
  source.onerror = () => { $("connection").textContent = "reconnecting…"; };
  source.onmessage = (message) => {
    const received = Date.now();
    const s = JSON.parse(message.data);
    if (s.oldest_event_ms) {
      lag.samples.push(received - s.oldest_event_ms);
      if (lag.samples.length > 10000) lag.samples.shift();
    }
    render(s);
  };
}

$("kill-trader").onclick = () => control("/control/kill-trader");
$("partition").onclick = () => control("/control/partition");
connect();
