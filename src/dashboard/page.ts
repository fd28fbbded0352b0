/**
 * The dashboard page: one HTML document whose script draws whatever plot specs it is given (plots.ts) with
 * Chart.js. Served by the server (data from /api, live through server-sent events) or written by the export
 * with the library and every run's data inlined (no network at all).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TorchnasError } from '../core/errors';

/** The Chart.js build the page loads: the package's own dependency, read from disk (no CDN). */
export function chartLibraryFile(): string {
  let entry: string;
  try {
    entry = require.resolve('chart.js');
  } catch (e) {
    throw new TorchnasError("the dashboard's charting library (chart.js) is not installed: run npm install in the torchnas package", 'FILE_NOT_FOUND', { cause: e });
  }
  // the package's main entry is dist/chart.cjs; the browser build sits beside it
  return path.join(path.dirname(entry), 'chart.umd.min.js');
}

export function chartLibrary(): string {
  return fs.readFileSync(chartLibraryFile(), 'utf8');
}

const STYLE = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #1d2330; background: #f6f7f9; }
header { padding: 10px 16px; background: #1d2330; color: #fff; display: flex; gap: 16px; align-items: baseline; }
header h1 { font-size: 17px; margin: 0; }
header .live { font-size: 12px; opacity: .8; }
main { padding: 12px 16px; }
table { border-collapse: collapse; width: 100%; background: #fff; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #e3e6ea; vertical-align: top; }
th { background: #eef0f3; font-weight: 600; }
tr.run { cursor: pointer; }
tr.run:hover { background: #f0f4fb; }
tr.run.selected { background: #dde8fa; }
td.config, td.headline { max-width: 420px; overflow-wrap: anywhere; font-size: 12px; }
.status { font-size: 12px; padding: 1px 6px; border-radius: 8px; background: #e3e6ea; }
.status.running { background: #fff1c2; } .status.completed { background: #d3f1d8; }
.status.failed, .status.stopped { background: #f8d4d4; } .status.interrupted { background: #f3e0c6; }
#toolbar { margin: 10px 0; display: flex; gap: 10px; align-items: center; }
#plots { display: grid; grid-template-columns: repeat(auto-fill, minmax(520px, 1fr)); gap: 12px; }
.plot { background: #fff; border: 1px solid #e3e6ea; padding: 8px; }
.plot h3 { font-size: 13px; margin: 0 0 6px; }
.plot .box { position: relative; height: 300px; }
#view h2 { font-size: 15px; margin: 14px 0 6px; }
.empty { color: #6b7280; }
`;

/**
 * The page's script (plain ES2017, no template literals so it can live in this string). `window.__TORCHNAS__`
 * holds the exported data when present; otherwise the page asks the server.
 */
const SCRIPT = String.raw`
(function () {
  'use strict';
  var embedded = window.__TORCHNAS__ || null;
  var token = new URLSearchParams(location.search).get('token');
  var charts = {};
  var current = null; // { ids: [...] }
  var runs = [];
  var ticked = [];
  var COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];

  function withToken(url) {
    return token ? url + (url.indexOf('?') >= 0 ? '&' : '?') + 'token=' + encodeURIComponent(token) : url;
  }
  function api(url) {
    return fetch(withToken(url)).then(function (r) {
      if (!r.ok) throw new Error(url + ': HTTP ' + r.status);
      return r.json();
    });
  }
  function getRuns() { return embedded ? Promise.resolve(embedded.runs) : api('api/runs'); }
  // a run removed meanwhile (404) is shown as not found
  function getRun(id) { return embedded ? Promise.resolve(embedded.details[id] || null) : api('api/run?id=' + encodeURIComponent(id)).catch(function () { return null; }); }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function fmtWall(s) {
    if (s === null || s === undefined) return '';
    if (s < 120) return s.toFixed(1) + ' s';
    if (s < 7200) return (s / 60).toFixed(1) + ' min';
    return (s / 3600).toFixed(1) + ' h';
  }

  function renderList() {
    var body = document.querySelector('#runs tbody');
    body.textContent = '';
    if (runs.length === 0) {
      var tr = el('tr'); var td = el('td', { colspan: '8', class: 'empty' }, 'No runs yet: folders holding result.json or events.jsonl appear here.');
      tr.appendChild(td); body.appendChild(tr); return;
    }
    runs.forEach(function (r) {
      var tr = el('tr', { class: 'run' + (current && current.ids.indexOf(r.id) >= 0 ? ' selected' : ''), 'data-run-id': r.id, 'data-method': r.method });
      var pick = el('input', { type: 'checkbox', class: 'pick', title: 'overlay with other runs of the same method' });
      // ticks survive the list's live re-renders
      pick.checked = ticked.indexOf(r.id) >= 0;
      pick.addEventListener('click', function (ev) {
        ev.stopPropagation();
        ticked = ticked.filter(function (id) { return id !== r.id; });
        if (pick.checked) ticked.push(r.id);
      });
      var c0 = el('td'); c0.appendChild(pick); tr.appendChild(c0);
      tr.appendChild(el('td', { class: 'id' }, r.id));
      tr.appendChild(el('td', { class: 'method' }, r.method));
      tr.appendChild(el('td', { class: 'config' }, r.config));
      tr.appendChild(el('td', { class: 'seed' }, r.seed === null ? '' : r.seed));
      var st = el('td'); st.appendChild(el('span', { class: 'status ' + r.status }, r.status)); tr.appendChild(st);
      tr.appendChild(el('td', { class: 'wall' }, fmtWall(r.wallSeconds)));
      tr.appendChild(el('td', { class: 'headline' }, r.headline));
      tr.addEventListener('click', function () { show([r.id]); });
      body.appendChild(tr);
    });
  }

  function refreshList() {
    return getRuns().then(function (list) { runs = list; renderList(); });
  }

  function chartConfig(p) {
    var common = {
      responsive: true, maintainAspectRatio: false, animation: false,
      plugins: { legend: { display: p.series.length > 1 || p.type === 'bar', position: 'bottom', labels: { boxWidth: 10 } } },
    };
    if (p.type === 'bar') {
      common.scales = { x: { title: { display: Boolean(p.xLabel), text: p.xLabel } }, y: { title: { display: true, text: p.yLabel } } };
      return {
        type: 'bar',
        data: { labels: p.categories, datasets: p.series.map(function (s, i) { return { label: s.name, data: s.values, backgroundColor: COLORS[i % COLORS.length] }; }) },
        options: common,
      };
    }
    common.scales = { x: { type: 'linear', title: { display: true, text: p.xLabel } }, y: { title: { display: true, text: p.yLabel } } };
    return {
      type: p.type === 'scatter' ? 'scatter' : 'line',
      data: { datasets: datasetsOf(p) },
      options: common,
    };
  }
  function datasetsOf(p) {
    return p.series.map(function (s, i) {
      var color = COLORS[i % COLORS.length];
      var n = (s.points || []).length;
      return {
        label: s.name,
        data: (s.points || []).map(function (q) { return { x: q[0], y: q[1] }; }),
        borderColor: color, backgroundColor: color,
        showLine: p.type === 'line', pointRadius: p.type === 'line' ? (n > 300 ? 0 : 2) : 3, borderWidth: 1.5,
      };
    });
  }
  function pointCount(p) {
    return p.series.reduce(function (n, s) { return n + (s.points ? s.points.length : s.values ? s.values.length : 0); }, 0);
  }

  function drawPlots(plots) {
    var box = document.getElementById('plots');
    var ids = plots.map(function (p) { return p.id; }).join('|');
    if (box.getAttribute('data-plot-ids') === ids) {
      // same plots: update the data in place (a live run gains points without a redraw of the page)
      plots.forEach(function (p) {
        var chart = charts[p.id];
        if (!chart) return;
        if (p.type === 'bar') {
          chart.data.labels = p.categories;
          p.series.forEach(function (s, i) {
            if (chart.data.datasets[i]) { chart.data.datasets[i].data = s.values; chart.data.datasets[i].label = s.name; }
            else chart.data.datasets.push({ label: s.name, data: s.values, backgroundColor: COLORS[i % COLORS.length] });
          });
        } else chart.data.datasets = datasetsOf(p);
        chart.update('none');
        chart.canvas.setAttribute('data-points', String(pointCount(p)));
      });
      return;
    }
    Object.keys(charts).forEach(function (k) { charts[k].destroy(); });
    charts = {};
    box.textContent = '';
    box.setAttribute('data-plot-ids', ids);
    if (plots.length === 0) box.appendChild(el('p', { class: 'empty' }, 'No plots for this run (yet).'));
    plots.forEach(function (p) {
      var card = el('div', { class: 'plot', 'data-plot-id': p.id });
      card.appendChild(el('h3', {}, p.title));
      var holder = el('div', { class: 'box' });
      var canvas = el('canvas', { 'data-plot-id': p.id, 'data-points': String(pointCount(p)) });
      holder.appendChild(canvas); card.appendChild(holder); box.appendChild(card);
      charts[p.id] = new Chart(canvas, chartConfig(p));
    });
  }

  function overlay(details) {
    var merged = {}; var order = [];
    details.forEach(function (d) {
      d.plots.forEach(function (p) {
        var t = merged[p.id];
        if (!t) { t = merged[p.id] = { id: p.id, title: p.title + ' (' + details.length + ' runs)', type: p.type, xLabel: p.xLabel, yLabel: p.yLabel, categories: p.categories, series: [] }; order.push(p.id); }
        if (p.type === 'bar' && (t.categories || []).join() !== (p.categories || []).join()) return;
        p.series.forEach(function (s) { t.series.push({ name: d.summary.id + ': ' + s.name, points: s.points, values: s.values }); });
      });
    });
    return order.map(function (id) { return merged[id]; });
  }

  function show(ids) {
    current = { ids: ids };
    location.hash = (ids.length > 1 ? 'overlay=' : 'run=') + ids.map(encodeURIComponent).join(',');
    renderList();
    return Promise.all(ids.map(getRun)).then(function (details) {
      details = details.filter(Boolean);
      var title = document.getElementById('view-title');
      if (details.length === 0) { title.textContent = 'Run not found'; drawPlots([]); return; }
      if (details.length === 1) {
        var s = details[0].summary;
        title.textContent = s.id + ' — ' + s.method + ' (' + s.status + ')';
        drawPlots(details[0].plots);
      } else {
        title.textContent = 'Overlay of ' + details.length + ' ' + details[0].summary.method + ' runs';
        drawPlots(overlay(details));
      }
      document.getElementById('view').setAttribute('data-shown', ids.join(','));
    });
  }

  document.getElementById('overlay').addEventListener('click', function () {
    var picked = runs.map(function (r) { return r.id; }).filter(function (id) { return ticked.indexOf(id) >= 0; });
    var methods = picked.map(function (id) { return runs.filter(function (r) { return r.id === id; })[0].method; });
    var msg = document.getElementById('overlay-msg');
    if (picked.length < 2) { msg.textContent = 'tick two or more runs to overlay'; return; }
    if (methods.some(function (m) { return m !== methods[0]; })) { msg.textContent = 'overlay needs runs of one method'; return; }
    msg.textContent = '';
    show(picked);
  });

  function fromHash() {
    var m = /^#(run|overlay)=(.*)$/.exec(location.hash);
    if (!m) return null;
    return m[2].split(',').map(decodeURIComponent).filter(Boolean);
  }

  refreshList().then(function () {
    var ids = fromHash();
    if (ids && ids.length) return show(ids);
    if (runs.length) return show([runs[0].id]);
  }).then(function () { document.body.setAttribute('data-ready', '1'); });

  if (!embedded && window.EventSource) {
    var live = document.getElementById('live');
    var source = new EventSource(withToken('api/stream'));
    source.addEventListener('open', function () { live.textContent = 'live'; });
    source.addEventListener('error', function () { live.textContent = 'reconnecting…'; });
    source.addEventListener('runs', function () { refreshList(); });
    source.addEventListener('run', function (ev) {
      var data = JSON.parse(ev.data);
      refreshList();
      if (current && current.ids.indexOf(data.id) >= 0) show(current.ids);
    });
  } else document.getElementById('live').textContent = embedded ? 'exported ' + embedded.exportedAt : '';
})();
`;

/** The page; `chartSource` inlines the library (export), otherwise it is loaded from the server's assets. */
export function renderPage(options: { title: string; chartSource?: string; data?: unknown }): string {
  // inlined text must not close its <script> early
  const safe = (text: string) => text.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
  const library = options.chartSource === undefined ? '<script src="assets/chart.umd.min.js"></script>' : `<script>${safe(options.chartSource)}</script>`;
  const data = options.data === undefined ? '' : `<script>window.__TORCHNAS__ = ${safe(JSON.stringify(options.data)).replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029')};</script>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(options.title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>${STYLE}</style>
${library}
${data}
</head><body>
<header><h1>${escapeHtml(options.title)}</h1><span class="live" id="live"></span></header>
<main>
<table id="runs"><thead><tr><th></th><th>run</th><th>method</th><th>config</th><th>seed</th><th>status</th><th>wall time</th><th>result</th></tr></thead><tbody></tbody></table>
<div id="toolbar"><button id="overlay" type="button">Overlay ticked runs</button><span id="overlay-msg"></span></div>
<section id="view"><h2 id="view-title"></h2><div id="plots"></div></section>
</main>
<script>${SCRIPT}</script>
</body></html>
`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}
