// The Descent dashboard page. It receives the run from the server's event stream (/api/stream: a full
// `state`, then the lines the recorder appends) and draws it: uPlot for the curves, SVG for the
// simplex, plain HTML for the rest. Commands go to /api/control with the page's token.
import uPlot from '/vendor/uPlot.esm.js';
import { CORNERS, UNIT_POINT, decisionBoundaries, renormalise, barycentricToPoint } from '/simplex.js';

const token = new URLSearchParams(location.search).get('token') ?? '';
const auth = { Authorization: `Bearer ${token}` };
const $ = (id) => document.getElementById(id);

// ---------------------------------------------------------------------------------------------------
// State: what the files say, kept as column arrays for the charts.

const S = {
  name: '', run: null, snapshot: null, live: null, events: [], epochs: [],
  steps: { step: [], loss: [], smooth: [], lr: [], size: [], ips: [] },
  norms: { step: [], layers: [], w: [], g: [] },
  last: null, connected: false, finished: false, picked: null,
  // A folder of runs (descent ui runs/): the list, the run shown below, the runs overlaid.
  multi: false, runs: [], focus: new URLSearchParams(location.search).get('run'), compared: null, cmView: 'validation',
};
const MAX_POINTS = 40_000;

function reset(state) {
  S.name = state.name;
  S.run = state.run;
  S.snapshot = state.snapshot;
  S.live = state.live;
  S.events = [];
  S.epochs = [];
  for (const k of Object.keys(S.steps)) S.steps[k] = [];
  S.norms = { step: [], layers: [], w: [], g: [] };
  S.last = null;
  S.finished = false;
  addMetrics(state.metrics.steps);
  addMetrics(state.metrics.epochs);
  addMetrics(state.metrics.norms ?? []);
  addEvents(state.events);
}

function addMetrics(lines) {
  const s = S.steps;
  for (const m of lines) {
    if (m.type === 'step') {
      s.step.push(m.step); s.loss.push(m.loss); s.smooth.push(m.lossSmooth);
      s.lr.push(m.lr); s.size.push(m.stepSize); s.ips.push(m.imagesPerSecond);
      S.last = m;
    } else if (m.type === 'epoch') {
      S.epochs.push(m);
    } else if (m.type === 'norms') {
      addNorms(m);
    }
  }
  if (s.step.length > MAX_POINTS) {
    // Thin the oldest half (keep every other point) so long runs stay light.
    const half = Math.floor(s.step.length / 2);
    for (const k of Object.keys(s)) s[k] = s[k].slice(0, half).filter((_, i) => i % 2 === 0).concat(s[k].slice(half));
  }
}

function addNorms(m) {
  const n = S.norms;
  if (n.layers.join('|') !== m.layers.join('|')) {
    n.step = []; n.layers = m.layers; n.w = m.layers.map(() => []); n.g = m.layers.map(() => []);
  }
  n.step.push(m.step);
  m.layers.forEach((_, k) => { n.w[k].push(m.w[k]); n.g[k].push(m.g[k]); });
  if (n.step.length > MAX_POINTS) {
    const keep = (xs) => xs.filter((_, i) => i % 2 === 0);
    n.step = keep(n.step); n.w = n.w.map(keep); n.g = n.g.map(keep);
  }
}

function addEvents(lines) {
  for (const e of lines) S.events.push(e);
}

// ---------------------------------------------------------------------------------------------------
// Formatting.

function num(v, digits = 4) {
  if (v === null || v === undefined || Number.isNaN(v)) return '–';
  if (!Number.isFinite(v)) return v > 0 ? '∞' : '−∞';
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(2);
  return String(Number(v.toPrecision(digits)));
}
const pct = (v) => (v === null || v === undefined ? '–' : `${(100 * v).toFixed(1)}%`);
function clock(t) {
  if (typeof t !== 'number') return '';
  const s = Math.floor(t), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  return `${h ? `${h}:` : ''}${String(m).padStart(h ? 2 : 1, '0')}:${String(sec).padStart(2, '0')}`;
}
function className(k) {
  const names = S.snapshot?.classNames ?? S.run?.classNames;
  return names?.[k] ?? String(k);
}
const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];
const classColor = (k) => PALETTE[k] ?? `hsl(${(k * 137.508) % 360} 55% 50%)`;
function el(tag, attrs = {}, ...children) {
  const node = tag.startsWith('svg:') ? document.createElementNS('http://www.w3.org/2000/svg', tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'text') node.textContent = v;
    else if (v !== undefined && v !== null && v !== false) node.setAttribute(k, String(v));
  }
  for (const c of children) if (c) node.append(c);
  return node;
}

// ---------------------------------------------------------------------------------------------------
// Charts (uPlot). Markers: the actions of the event log, as dashed vertical lines on step charts.

const MARKER_COLORS = { lr: '#7c3aed', pause: '#d97706', resume: '#059669', stop: '#dc2626', command: '#7c3aed' };

function markers() {
  const out = [];
  for (const e of S.events) {
    if (e.type === 'lr' && e.source !== 'schedule') {
      const ratio = e.to / e.from;
      const label = e.source === 'manual' ? (Math.abs(ratio - 0.1) < 1e-9 ? 'α÷10' : `α=${num(e.to, 3)}`)
        : e.source === 'switch' ? `→${e.optimizer ?? 'sgd'}` : `α=${num(e.to, 3)} (plateau)`;
      out.push({ step: e.step, color: MARKER_COLORS.lr, label });
    } else if (e.type === 'pause' || e.type === 'resume' || e.type === 'stop') {
      out.push({ step: e.step, color: MARKER_COLORS[e.type], label: e.type });
    }
  }
  return out;
}

function markerPlugin() {
  return {
    hooks: {
      draw: [(u) => {
        const { ctx } = u, { left, top, width, height } = u.bbox, dpr = devicePixelRatio || 1;
        ctx.save();
        ctx.lineWidth = 1.5 * dpr;
        ctx.font = `${11 * dpr}px system-ui, sans-serif`;
        let row = 0, lastX = -Infinity;
        for (const m of markers()) {
          const x = Math.round(u.valToPos(m.step, 'x', true));
          if (x < left - 1 || x > left + width + 1) continue;
          ctx.strokeStyle = m.color;
          ctx.setLineDash([5 * dpr, 4 * dpr]);
          ctx.beginPath();
          ctx.moveTo(x, top);
          ctx.lineTo(x, top + height);
          ctx.stroke();
          row = x - lastX < 60 * dpr ? (row + 1) % 4 : 0;
          lastX = x;
          ctx.fillStyle = m.color;
          // Labels sit right of their line, or left of it near the right edge.
          const right = x + 4 * dpr + ctx.measureText(m.label).width > left + width;
          ctx.textAlign = right ? 'right' : 'left';
          ctx.fillText(m.label, right ? x - 4 * dpr : x + 4 * dpr, top + (13 + 13 * row) * dpr);
        }
        ctx.restore();
      }],
    },
  };
}

const axisStyle = { stroke: '#4b5563', grid: { stroke: '#eef0f3', width: 1 }, ticks: { stroke: '#e5e7eb', width: 1 } };
const charts = {};
const resizer = new ResizeObserver(() => {
  for (const [id, u] of Object.entries(charts)) {
    const w = Math.max(200, $(id).clientWidth);
    if (Math.abs(w - u.width) > 2) u.setSize({ width: w, height: u.height });
  }
});

function makeChart(id, { series, xLabel, logY = false, yFormat, epochX = false, sync = true, markers: withMarkers = true }) {
  const target = $(id);
  const opts = {
    width: Math.max(200, target.clientWidth),
    height: id === 'chart-loss' ? 300 : 210,
    scales: { x: { time: false }, y: logY ? { distr: 3 } : {} },
    axes: [
      { ...axisStyle, label: xLabel, labelSize: 22, values: epochX ? (u, vals) => vals.map((v) => (Number.isInteger(v) ? v : '')) : undefined },
      { ...axisStyle, size: 62, values: yFormat ? (u, vals) => vals.map(yFormat) : (u, vals) => vals.map((v) => num(v, 3)) },
    ],
    series: [{ label: xLabel, value: (u, v) => (v === null || v === undefined ? '–' : String(v)) }, ...series],
    legend: { live: true },
    cursor: sync ? { sync: { key: 'steps' } } : {},
    plugins: epochX || !withMarkers ? [] : [markerPlugin()],
  };
  const old = charts[id];
  const data = old && old.series.length === series.length + 1 ? old.data : [[], ...series.map(() => [])];
  old?.destroy();
  charts[id] = new uPlot(opts, data, target);
  if (!old) resizer.observe(target);
}

function line(label, stroke, extra = {}) {
  return { label, stroke, width: 1.5, value: (u, v) => num(v), points: { show: false }, ...extra };
}

function makeLossChart() {
  makeChart('chart-loss', {
    xLabel: 'step',
    logY: $('loss-log').checked,
    series: [
      line('L_T per step', 'rgba(78,121,167,0.35)', { width: 1 }),
      line('smoothed', '#1d4ed8', { width: 2 }),
      line('L_T per epoch', '#f28e2b', { width: 2, spanGaps: true, points: { show: true, size: 6 } }),
      line('validation loss', '#e15759', { width: 2, spanGaps: true, dash: [6, 4], points: { show: true, size: 6 } }),
    ],
  });
}

function makeCharts() {
  makeLossChart();
  $('loss-log').addEventListener('change', makeLossChart);
  makeChart('chart-error', {
    xLabel: 'epoch', epochX: true, sync: false, yFormat: (v) => `${+(100 * v).toFixed(1)}%`,
    series: [
      line('training', '#f28e2b', { width: 2, value: (u, v) => pct(v), points: { show: true, size: 6 } }),
      line('validation', '#e15759', { width: 2, value: (u, v) => pct(v), points: { show: true, size: 6 } }),
    ],
  });
  makeChart('chart-lr', { xLabel: 'step', logY: true, series: [line('α', '#7c3aed', { width: 2 })] });
  makeChart('chart-step', { xLabel: 'step', series: [line('‖w_t − w_t−1‖', '#059669')] });
  makeChart('chart-ips', { xLabel: 'step', series: [line('images/s', '#6b7280')] });
  makeNormCharts();
}

// Per-layer norms: one series per weighted layer, rebuilt when the layers change.
let normLayers = null;
function makeNormCharts() {
  const layers = S.norms.layers;
  normLayers = layers.join('|');
  for (const [id, what] of [['chart-wnorm', '‖w‖'], ['chart-gnorm', '‖g‖']]) {
    makeChart(id, { xLabel: 'step', logY: true, series: layers.map((name, k) => line(`${what} ${name}`, classColor(k), { width: 1.5 })) });
  }
}

function renderCharts() {
  const s = S.steps, ep = S.epochs;
  const stepTable = [s.step, s.loss, s.smooth];
  const epochTable = [ep.map((e) => e.step), ep.map((e) => e.loss), ep.map((e) => e.valLoss ?? null)];
  const nulls = (xs) => xs.map(() => null);
  const loss = ep.length && s.step.length ? uPlot.join([stepTable, epochTable])
    : s.step.length ? [...stepTable, nulls(s.step), nulls(s.step)]
      : [epochTable[0], nulls(epochTable[0]), nulls(epochTable[0]), epochTable[1], epochTable[2]];
  charts['chart-loss'].setData(loss);
  $('chart-loss').dataset.points = String(s.step.length);
  charts['chart-error'].setData([ep.map((e) => e.epoch), ep.map((e) => e.error), ep.map((e) => e.valError ?? null)]);
  charts['chart-lr'].setData([s.step, s.lr]);
  charts['chart-step'].setData([s.step, s.size]);
  charts['chart-ips'].setData([s.step, s.ips]);
  if (normLayers !== S.norms.layers.join('|')) makeNormCharts();
  const positive = (xs) => xs.map((v) => (v > 0 ? v : null));
  charts['chart-wnorm'].setData([S.norms.step, ...S.norms.w.map(positive)]);
  charts['chart-gnorm'].setData([S.norms.step, ...S.norms.g.map(positive)]);
}

// ---------------------------------------------------------------------------------------------------
// Header, status, run facts.

function runStatus() {
  const end = S.events.findLast((e) => e.type === 'end');
  if (end) {
    const text = end.reason === 'user' ? 'stopped' : end.reason === 'non_finite' ? 'stopped: not finite' : 'finished';
    return { cls: end.reason === 'non_finite' ? 'bad' : 'done', text, title: end.message };
  }
  if (!S.connected) return { cls: 'bad', text: 'disconnected', title: 'the page lost the server; it reconnects by itself' };
  const control = S.events.findLast((e) => e.type === 'pause' || e.type === 'resume');
  const paused = S.live?.attached ? S.live.paused : control?.type === 'pause';
  if (paused) return { cls: 'warn', text: 'paused', title: '' };
  if (!S.last && !S.epochs.length) return { cls: 'idle', text: 'waiting for the first step', title: '' };
  return { cls: 'ok', text: S.live?.attached ? 'training' : 'training (read-only)', title: '' };
}

function currentLr() {
  const lrEvent = S.events.findLast((e) => e.type === 'lr');
  if (S.live?.attached && typeof S.live.lr === 'number') return S.live.lr;
  if (lrEvent && (!S.last || lrEvent.step >= S.last.step)) return lrEvent.to;
  return S.last?.lr ?? S.snapshot?.optimizer?.lr ?? S.run?.optimizer?.lr;
}

function describeSchedule(c) {
  if (!c) return 'constant α (no schedule)';
  const g = c.gamma ?? 0.1;
  switch (c.kind) {
    case 'constant': return 'constant α';
    case 'multistep': return `multi-step: α × ${g} at epochs ${(c.milestones ?? []).join(', ')}`;
    case 'step': return `step: α × ${g} every ${c.stepSize} epochs`;
    case 'exponential': return `exponential: α × ${c.gamma} each epoch`;
    case 'cosine': return `cosine to ${num(c.minLr ?? 0)} over ${c.totalSteps} steps${c.warmupSteps ? `, ${c.warmupSteps} warm-up` : ''}`;
    case 'onecycle': return `one-cycle over ${c.totalSteps} steps: up from α/${num(c.divFactor ?? 25)} to α in the first ${Math.round(100 * (c.pctStart ?? 0.3))}%, then down to α/${num((c.divFactor ?? 25) * (c.finalDivFactor ?? 1e4))}`;
    case 'plateau': return `reduce on plateau: α × ${c.factor ?? 0.1} after ${c.patience ?? 10} epochs without progress`;
    case 'adam-then-sgd': return `Adam, then SGD at α = ${num(c.sgdLr ?? 0.01)} once progress flattens`;
    default: return JSON.stringify(c);
  }
}

function renderHeader() {
  document.title = `${S.name} · Descent`;
  $('run-name').textContent = S.name;
  const st = runStatus();
  const pill = $('status');
  pill.textContent = st.text;
  pill.className = `pill ${st.cls}`;
  pill.title = st.title ?? '';
  const last = S.last, lastEpoch = S.epochs.at(-1);
  const total = S.run?.options?.epochs;
  $('stat-step').textContent = last ? last.step.toLocaleString('en-US') : '–';
  $('stat-epoch').textContent = last ? `${last.epoch + 1}${total ? ` / ${total}` : ''}` : lastEpoch ? String(lastEpoch.epoch) : '–';
  $('stat-lr').textContent = num(currentLr());
  $('stat-loss').textContent = num(last?.lossSmooth);
  $('stat-val').textContent = lastEpoch?.valError !== undefined ? pct(lastEpoch.valError) : '–';
  $('stat-ips').textContent = last ? Math.round(last.imagesPerSecond).toLocaleString('en-US') : '–';

  const opt = S.run?.optimizer;
  $('info-optimizer').textContent = opt ? `${opt.kind}${opt.momentum ? `, momentum ${opt.momentum}` : ''}, α now ${num(currentLr())}` : '–';
  $('info-schedule').textContent = S.run || S.snapshot ? describeSchedule(S.snapshot?.schedule ?? S.run?.schedule) : '–';
  const es = S.snapshot?.earlyStopping ?? S.run?.earlyStopping;
  if (!es) $('info-early').textContent = S.run || S.snapshot ? 'off' : '–';
  else {
    const best = lastEpoch?.bestEpoch ?? es.bestEpoch, left = lastEpoch?.patienceLeft ?? es.patienceLeft ?? es.patience;
    const value = es.best === undefined || es.best === null ? '' : ` with ${es.monitor.endsWith('error') ? pct(es.best) : num(es.best)}`;
    $('info-early').textContent = `watching ${es.monitor}: best epoch ${best > 0 ? best : '–'}${value}, ` +
      `patience left ${left} of ${es.patience}`;
  }
  $('info-model').textContent = S.run ? `${S.run.architecture?.layers?.length ?? '?'} layers, ${(S.run.parameterCount ?? 0).toLocaleString('en-US')} parameters, input ${(S.run.inputShape ?? []).join('×')}, ${S.run.classes} classes` : '–';
}

// ---------------------------------------------------------------------------------------------------
// Controls.

function message(text, bad = false) {
  const m = $('control-message');
  m.textContent = text;
  m.className = `message${bad ? ' bad' : ''}`;
}

async function control(body) {
  try {
    const res = await fetch('/api/control', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...auth },
      body: JSON.stringify(body),
    });
    const data = await res.json().catch(() => ({}));
    if (res.ok) {
      message(data.message ?? 'done');
      if (data.live) S.live = data.live;
    } else message(`refused (${res.status}): ${data.error ?? res.statusText}`, true);
  } catch (e) {
    message(`the server did not answer: ${e.message}`, true);
  }
  scheduleRender();
}

function renderControls() {
  // The end event can arrive before the server's next `live` message: an ended run takes no commands.
  const ended = S.events.some((e) => e.type === 'end');
  const enabled = !!S.live?.controls && S.connected && !ended;
  const paused = runStatus().text === 'paused';
  for (const id of ['btn-divide', 'btn-pause', 'btn-stop', 'btn-stop-yes', 'input-lr']) $(id).disabled = !enabled;
  $('form-lr').querySelector('button').disabled = !enabled;
  $('btn-pause').textContent = paused ? 'Resume' : 'Pause';
  $('btn-pause').dataset.action = paused ? 'resume' : 'pause';
  if (!enabled) $('stop-confirm').hidden = true;
  const note = S.live?.attached
    ? (S.live.ended ? 'Training has finished: the controls are off.' : '')
    : 'Read-only: this page shows the run from its files; the controls need the training process (descent train --ui).';
  if (note && !$('control-message').classList.contains('bad')) message(note);
}

function wireControls() {
  $('btn-divide').addEventListener('click', () => control({ action: 'divide' }));
  $('form-lr').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const text = $('input-lr').value.trim(), lr = Number(text);
    if (!text || !Number.isFinite(lr) || lr <= 0) return message(`a learning rate must be a positive number, not "${text}"`, true);
    control({ action: 'set-lr', lr });
  });
  $('btn-pause').addEventListener('click', () => control({ action: $('btn-pause').dataset.action || 'pause' }));
  $('btn-stop').addEventListener('click', () => ($('stop-confirm').hidden = false));
  $('btn-stop-no').addEventListener('click', () => ($('stop-confirm').hidden = true));
  $('btn-stop-yes').addEventListener('click', () => {
    $('stop-confirm').hidden = true;
    control({ action: 'stop' });
  });
}

// ---------------------------------------------------------------------------------------------------
// The soft-max simplex (notes, Figure 1): SVG, from the shared simplex.js mapping.

const SX = { pad: 34, size: 332 };
const toSvg = (p) => ({ x: SX.pad + p.x * SX.size, y: SX.pad + (CORNERS[2].y - p.y) * SX.size });

function pickedClasses(E) {
  if (E < 3) return null;
  if (E === 3) return [0, 1, 2];
  const ok = S.picked && S.picked.every((k) => k < E) && new Set(S.picked).size === 3;
  if (!ok) S.picked = [0, 1, 2];
  return S.picked;
}

function renderPickers(E) {
  const box = $('simplex-pickers');
  box.hidden = !(E > 3);
  if (E <= 3) return;
  const chosen = pickedClasses(E);
  for (let i = 0; i < 3; i++) {
    const sel = $(`pick-${i}`);
    if (sel.options.length !== E) {
      sel.replaceChildren(...Array.from({ length: E }, (_, k) => el('option', { value: k, text: className(k) })));
      sel.onchange = () => {
        const next = [...S.picked];
        const k = Number(sel.value), other = next.indexOf(k);
        if (other >= 0 && other !== i) next[other] = next[i];
        next[i] = k;
        S.picked = next;
        scheduleRender(true);
      };
    }
    sel.value = String(chosen[i]);
  }
}

function renderSimplex() {
  const svg = $('simplex'), v = S.snapshot?.validation;
  const E = S.snapshot?.classes ?? S.run?.classes ?? 0;
  renderPickers(E);
  svg.replaceChildren();
  const note = $('simplex-note');
  const classes = pickedClasses(E);
  if (!classes) {
    note.textContent = E ? `The simplex view needs at least 3 classes; this model has ${E}.` : '';
    return;
  }
  const corners = CORNERS.map(toSvg);
  svg.append(el('svg:polygon', { points: corners.map((c) => `${c.x},${c.y}`).join(' '), class: 'tri' }));
  // Decision regions P_i: tint each near its corner, then the boundaries from 1/e to the edge midpoints.
  const u = toSvg(UNIT_POINT);
  for (let i = 0; i < 3; i++) {
    const a = [0, 0, 0], b = [0, 0, 0];
    a[i] = 0.5; a[(i + 1) % 3] = 0.5;
    b[i] = 0.5; b[(i + 2) % 3] = 0.5;
    const pa = toSvg(barycentricToPoint(a)), pb = toSvg(barycentricToPoint(b));
    svg.append(el('svg:polygon', { points: `${corners[i].x},${corners[i].y} ${pa.x},${pa.y} ${u.x},${u.y} ${pb.x},${pb.y}`,
      fill: classColor(classes[i]), 'fill-opacity': 0.07 }));
  }
  for (const seg of decisionBoundaries()) {
    const a = toSvg(seg.from), b = toSvg(seg.to);
    svg.append(el('svg:line', { x1: a.x, y1: a.y, x2: b.x, y2: b.y, class: 'boundary' }));
  }
  const labelAt = [{ dx: -6, dy: 18, anchor: 'start' }, { dx: 6, dy: 18, anchor: 'end' }, { dx: 0, dy: -10, anchor: 'middle' }];
  classes.forEach((k, i) => {
    const c = corners[i], l = labelAt[i];
    svg.append(el('svg:text', { x: c.x + l.dx, y: c.y + l.dy, 'text-anchor': l.anchor, class: 'corner', fill: classColor(k), text: `P${k + 1}: ${className(k)}` }));
  });

  let shown = 0, wrong = 0;
  if (v?.points) {
    const pts = v.points, order = [];
    for (let i = 0; i < pts.label.length; i++) if (classes.includes(pts.label[i])) order.push(i);
    // Correct points first, mistakes on top.
    order.sort((a, b) => Number(pts.predicted[a] !== pts.label[a]) - Number(pts.predicted[b] !== pts.label[b]));
    for (const i of order) {
      const q = renormalise(pts.p[i], classes);
      if (!q) continue;
      const p = toSvg(barycentricToPoint(q)), label = pts.label[i], miss = pts.predicted[i] !== label;
      const dot = el('svg:circle', { cx: p.x.toFixed(1), cy: p.y.toFixed(1), r: miss ? 5 : 3.2, fill: classColor(label),
        class: miss ? 'pt miss' : 'pt' });
      dot.append(el('svg:title', { text: `validation #${pts.index[i]}: true ${className(label)}, predicted ${className(pts.predicted[i])}\n` +
        `p = (${pts.p[i].map((x) => x.toFixed(3)).join(', ')})` }));
      svg.append(dot);
      shown++;
      if (miss) wrong++;
    }
  }
  svg.append(el('svg:circle', { cx: u.x, cy: u.y, r: 3.5, class: 'unit' }));
  svg.append(el('svg:text', { x: u.x + 7, y: u.y - 6, class: 'unit-label', text: '1/e' }));

  const base = E === 3
    ? 'Each validation point sits at its p on the 2-simplex; the decision regions P₁, P₂, P₃ meet at the unit point 1/e.'
    : `p is renormalised over the three chosen classes, q_i = p_i / (p_a + p_b + p_c), and only points whose true class is one of them are shown; “misclassified” still means arg max over all ${E} classes.`;
  note.textContent = !v ? 'No validation data was recorded for this run.'
    : `${base} ${shown} points shown, ${wrong} misclassified (ringed).`;
  $('simplex-legend').replaceChildren(...classes.map((k) => el('span', { class: 'key' },
    el('i', { style: `background:${classColor(k)}` }), className(k))),
  el('span', { class: 'key' }, el('i', { class: 'ring' }), 'misclassified'));
}

// ---------------------------------------------------------------------------------------------------
// Confusion matrix, filters, misclassified strip, event log.

/** The confusion matrix shown: the validation set's (each epoch) or, once training ended, the test set's. */
function shownConfusion() {
  const v = S.snapshot?.validation, t = S.snapshot?.test;
  $('confusion-pick').hidden = !(v && t);
  if (!t) S.cmView = 'validation';
  else if (!v) S.cmView = 'test';
  $('btn-cm-validation').setAttribute('aria-pressed', String(S.cmView === 'validation'));
  $('btn-cm-test').setAttribute('aria-pressed', String(S.cmView === 'test'));
  return S.cmView === 'test' ? t ?? null : v ?? null;
}

function renderConfusion() {
  const shown = shownConfusion(), box = $('confusion');
  if (!shown) {
    box.replaceChildren();
    $('per-class').replaceChildren();
    $('confusion-note').textContent = 'No validation data was recorded for this run.';
    return;
  }
  const M = shown.confusion, E = M.length;
  // Every column shares the card's width (table-layout: fixed); past 12 classes the table scrolls.
  const head = el('tr', {}, el('th', { class: 'corner-cell', title: 'rows: true class, columns: predicted' }, 'true', el('br'), 'pred.'),
    ...M.map((_, j) => el('th', { title: `predicted ${className(j)}`, text: className(j) })));
  const rows = M.map((row, i) => {
    const total = row.reduce((a, b) => a + b, 0) || 1;
    return el('tr', {}, el('th', { title: `true ${className(i)}`, text: className(i) }), ...row.map((n, j) => {
      const f = n / total, hue = i === j ? '217 70%' : '0 70%';
      const light = n ? 96 - Math.round(f * 48) : 100;
      return el('td', { text: n, title: `true ${className(i)}, predicted ${className(j)}: ${n} of ${total} (${(100 * f).toFixed(1)}%)`,
        style: `background: hsl(${hue} ${light}%); color: ${light < 62 ? '#fff' : '#111827'}` });
    }));
  });
  const table = el('table', { 'data-classes': E }, el('thead', {}, head), el('tbody', {}, ...rows));
  table.style.minWidth = `${(E + 1) * 30}px`;
  table.style.maxWidth = `${(E + 1) * 72}px`;
  box.replaceChildren(table);
  if (S.cmView === 'test') {
    $('confusion-note').textContent = `${shown.count.toLocaleString('en-US')} test images after training: accuracy ${pct(shown.accuracy)}, ` +
      `loss ${num(shown.loss)}${E > 12 ? ' (scroll for more classes)' : ''}.`;
  } else {
    const when = S.snapshot.final ? 'at the end of training' : S.snapshot.epoch ? `after epoch ${S.snapshot.epoch}` : 'before training';
    $('confusion-note').textContent = `${shown.evaluated.toLocaleString('en-US')} of ${shown.total.toLocaleString('en-US')} validation images ` +
      `${when}: zero-one error ${pct(shown.error)}${E > 12 ? ' (scroll for more classes)' : ''}.`;
  }
  renderPerClass(M);
}

/** Precision, recall and F1 of each class from a confusion matrix (rows true, columns predicted). */
function perClass(M) {
  return M.map((row, k) => {
    const tp = row[k], support = row.reduce((a, b) => a + b, 0), predicted = M.reduce((a, r) => a + r[k], 0);
    const precision = predicted ? tp / predicted : null, recall = support ? tp / support : null;
    const f1 = precision !== null && recall !== null && precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : null;
    return { k, precision, recall, f1, support };
  });
}

function renderPerClass(M) {
  const rows = perClass(M);
  $('per-class').replaceChildren(
    el('thead', {}, el('tr', {}, ...['class', 'precision', 'recall', 'F1', 'support'].map((t) => el('th', { text: t })))),
    el('tbody', {}, ...rows.map((r) => el('tr', {}, el('th', { text: className(r.k) }), el('td', { text: pct(r.precision) }),
      el('td', { text: pct(r.recall) }), el('td', { text: pct(r.f1) }), el('td', { text: r.support.toLocaleString('en-US') })))));
}

// ---------------------------------------------------------------------------------------------------
// The run's configuration and its final results (run.json, with `results` once training ended).

function renderFacts() {
  const run = S.run, facts = [];
  if (run) {
    const flags = run.flags ?? {}, o = run.options ?? {};
    if (run.createdAt) facts.push(['started', new Date(run.createdAt).toLocaleString()]);
    if (flags.data) facts.push(['data', `${flags.data}${flags.test ? `, test ${flags.test}` : ''}`]);
    if (flags.model) facts.push(['model', String(flags.model)]);
    facts.push(['training', [o.epochs !== undefined && `${o.epochs} epochs`, o.batchSize && `batch ${o.batchSize}`,
      o.validationSplit && `validation split ${num(o.validationSplit, 3)}`, o.augment?.shift && `shifts ±${o.augment.shift}px`,
      flags.seed !== undefined && `seed ${flags.seed}`, flags.engine && `engine ${flags.engine}`].filter(Boolean).join(', ') || '–']);
    const opt = run.optimizer ?? {};
    facts.push(['optimizer', Object.entries(opt).map(([k, v]) => (k === 'kind' ? v : `${k} ${typeof v === 'number' ? num(v) : JSON.stringify(v)}`)).join(', ')]);
    if (run.resumedAt?.length) facts.push(['resumed', run.resumedAt.map((t) => new Date(t).toLocaleString()).join('; ')]);
  }
  const end = S.events.findLast((e) => e.type === 'end'), r = run?.results;
  if (end) facts.push(['ended', `${end.message} (step ${end.step})`]);
  if (r?.seconds !== undefined) facts.push(['time', `${clock(r.seconds)} in all`]);
  const best = S.epochs.reduce((b, e) => (e.valError !== undefined && e.valError !== null && (!b || e.valError < b.valError) ? e : b), null);
  if (best) facts.push(['best validation', `${pct(best.valError)} error at epoch ${best.epoch}`]);
  if (r?.test) facts.push(['test', `accuracy ${pct(r.test.accuracy)}, loss ${num(r.test.loss)} on ${r.test.count.toLocaleString('en-US')} images`]);
  $('run-facts').replaceChildren(...facts.flatMap(([k, v]) => [el('dt', { text: k }), el('dd', { text: v, 'data-fact': k })]));
}

// ---------------------------------------------------------------------------------------------------
// Export: the curves as CSV, any chart as PNG.

function download(name, blob) {
  const a = el('a', { href: URL.createObjectURL(blob), download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

const csvCell = (v) => (v === null || v === undefined ? '' : /[",\n]/.test(String(v)) ? `"${String(v).replaceAll('"', '""')}"` : String(v));
const csv = (header, rows) => [header, ...rows].map((r) => r.map(csvCell).join(',')).join('\n') + '\n';

function exportCsv(kind) {
  const s = S.steps, n = S.norms, base = S.name || 'run';
  let text;
  if (kind === 'steps') text = csv(['step', 'loss', 'loss_smoothed', 'lr', 'step_size', 'images_per_second'],
    s.step.map((_, i) => [s.step[i], s.loss[i], s.smooth[i], s.lr[i], s.size[i], s.ips[i]]));
  else if (kind === 'epochs') {
    const keys = ['epoch', 'step', 'loss', 'error', 'valLoss', 'valError', 'stepSize', 'lossChange', 'lr', 'imagesPerSecond', 'seconds'];
    text = csv(keys, S.epochs.map((e) => keys.map((k) => e[k])));
  } else if (kind === 'norms') text = csv(['step', ...n.layers.flatMap((l) => [`w ${l}`, `g ${l}`])],
    n.step.map((st, i) => [st, ...n.layers.flatMap((_, k) => [n.w[k][i], n.g[k][i]])]));
  else {
    const shown = shownConfusion();
    if (!shown) return message('There is no confusion matrix to export.', true);
    text = csv(['true \\ predicted', ...shown.confusion.map((_, j) => className(j))], shown.confusion.map((row, i) => [className(i), ...row]));
    kind = `confusion-${S.cmView}`;
  }
  download(`${base}-${kind}.csv`, new Blob([text], { type: 'text/csv' }));
}

function exportPng(id) {
  const u = charts[id];
  if (!u) return;
  const src = u.ctx.canvas, title = $(id).dataset.title ?? $(id).closest('section')?.querySelector('h2')?.firstChild?.textContent?.trim() ?? id;
  const dpr = devicePixelRatio || 1, pad = Math.round(28 * dpr);
  const out = el('canvas', { width: src.width, height: src.height + pad });
  const ctx = out.getContext('2d');
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, out.width, out.height);
  ctx.fillStyle = '#111827';
  ctx.font = `${13 * dpr}px system-ui, sans-serif`;
  ctx.fillText(`${S.name}: ${title}`, 8 * dpr, 18 * dpr);
  ctx.drawImage(src, 0, pad);
  out.toBlob((blob) => blob && download(`${S.name || 'run'}-${id.replace(/^(chart|cmp)-/, '')}.png`, blob), 'image/png');
}

/** A PNG button beside every chart's title. */
function addPngButtons() {
  for (const chart of document.querySelectorAll('.chart')) {
    const h = chart.previousElementSibling;
    if (!h || h.querySelector('[data-png]')) continue;
    const b = el('button', { class: 'small png', 'data-png': chart.id, title: 'save this chart as a PNG image', text: 'PNG' });
    b.addEventListener('click', () => exportPng(chart.id));
    h.append(b);
  }
  for (const b of document.querySelectorAll('[data-csv]')) b.addEventListener('click', () => exportCsv(b.dataset.csv));
}

// ---------------------------------------------------------------------------------------------------
// A folder of runs: the list, and their curves overlaid (each run fetched once, thinned).

const CMP_POINTS = 2000;
const runColor = (i) => PALETTE[i % PALETTE.length];

async function loadRuns() {
  const res = await fetch('/api/runs', { headers: auth });
  if (!res.ok) return;
  const data = await res.json();
  S.multi = data.multi;
  if (!S.multi) return;
  S.runs = data.runs;
  if (!S.focus || !S.runs.some((r) => r.name === S.focus)) S.focus = S.runs.at(-1)?.name ?? null;
  S.compared ??= new Set(S.runs.slice(-8).map((r) => r.name));
  $('runs-card').hidden = false;
  await loadCompared();
}

const cmpCache = new Map();
async function loadCompared() {
  const names = S.runs.map((r) => r.name).filter((n) => S.compared.has(n));
  await Promise.all(names.map(async (name) => {
    const res = await fetch(`/api/state?run=${encodeURIComponent(name)}`, { headers: auth });
    if (!res.ok) return;
    const st = await res.json(), steps = st.metrics.steps, stride = Math.max(1, Math.ceil(steps.length / CMP_POINTS));
    const thinned = steps.filter((_, i) => i % stride === 0 || i === steps.length - 1);
    cmpCache.set(name, { steps: thinned, epochs: st.metrics.epochs });
  }));
  renderRuns();
}

function makeCompareChart(id, names) {
  const color = (n) => runColor(S.runs.findIndex((r) => r.name === n));
  const spec = {
    'cmp-loss': { xLabel: 'step', logY: false },
    'cmp-val': { xLabel: 'epoch', epochX: true, yFormat: (v) => `${+(100 * v).toFixed(1)}%` },
    'cmp-lr': { xLabel: 'step', logY: true },
  }[id];
  makeChart(id, { ...spec, sync: false, markers: false,
    series: names.map((n) => line(n, color(n), { width: 2, spanGaps: true, ...(id === 'cmp-val' ? { value: (u, v) => pct(v), points: { show: true, size: 5 } } : {}) })) });
}

function renderRuns() {
  const body = $('runs').tBodies[0];
  body.replaceChildren(...S.runs.map((r, i) => {
    const run = r.run ?? {}, res = run.results, data = cmpCache.get(r.name);
    const vals = (data?.epochs ?? []).map((e) => e.valError).filter((v) => typeof v === 'number');
    const box = el('input', { type: 'checkbox', 'aria-label': `compare ${r.name}` });
    box.checked = S.compared.has(r.name);
    box.addEventListener('change', () => {
      if (box.checked) S.compared.add(r.name); else S.compared.delete(r.name);
      void loadCompared();
    });
    const open = el('a', { href: `?token=${encodeURIComponent(token)}&run=${encodeURIComponent(r.name)}`, text: r.name, 'data-run': r.name });
    open.addEventListener('click', (ev) => {
      ev.preventDefault();
      history.replaceState(null, '', open.href);
      S.focus = r.name;
      renderRuns();
      connect();
    });
    const opt = run.optimizer;
    return el('tr', { class: r.name === S.focus ? 'focus' : '' },
      el('td', {}, el('span', { class: 'swatch', style: `background:${runColor(i)}` }), box),
      el('td', {}, open),
      el('td', { text: run.flags?.model ?? (run.parameterCount ? `${run.parameterCount.toLocaleString('en-US')} parameters` : '–') }),
      el('td', { text: opt ? `${opt.kind} α ${num(opt.lr)}` : '–' }),
      el('td', { text: data ? data.epochs.length : res?.epochs ?? '–' }),
      el('td', { text: vals.length ? pct(Math.min(...vals)) : '–' }),
      el('td', { text: res?.test ? pct(res.test.accuracy) : '–' }),
      el('td', { text: r.ended ? (r.end?.reason === 'user' ? 'stopped' : 'finished') : 'running or killed' }));
  }));
  const names = S.runs.map((r) => r.name).filter((n) => S.compared.has(n) && cmpCache.has(n));
  for (const id of ['cmp-loss', 'cmp-val', 'cmp-lr']) makeCompareChart(id, names);
  const tables = (f) => names.map((n) => f(cmpCache.get(n)));
  const join = (ts) => (ts.length ? uPlot.join(ts) : [[]]);
  const padTo = (d, count) => (d.length === count + 1 ? d : [d[0], ...Array.from({ length: count }, () => d[0].map(() => null))]);
  charts['cmp-loss'].setData(padTo(join(tables((d) => [d.steps.map((m) => m.step), d.steps.map((m) => m.lossSmooth)])), names.length));
  charts['cmp-val'].setData(padTo(join(tables((d) => [d.epochs.map((e) => e.epoch), d.epochs.map((e) => e.valError ?? null)])), names.length));
  charts['cmp-lr'].setData(padTo(join(tables((d) => [d.steps.map((m) => m.step), d.steps.map((m) => m.lr)])), names.length));
  $('runs-card').dataset.compared = names.join('|');
}

function imageCanvas(width, height, rgba, scale) {
  const c = el('canvas', { width, height });
  c.style.width = `${width * scale}px`;
  c.style.height = `${height * scale}px`;
  c.getContext('2d').putImageData(new ImageData(rgba, width, height), 0, 0);
  return c;
}

function renderFilters() {
  const f = S.snapshot?.filters, box = $('filters');
  if (!f) {
    box.replaceChildren();
    $('filters-note').textContent = S.snapshot ? 'The first weighted layer is neither a convolution nor a dense layer on the image.' : '';
    return;
  }
  const { count, height: H, width: W, channels: C, weights } = f, per = H * W * C;
  const scale = Math.max(4, Math.floor(56 / Math.max(H, W)));
  const tiles = [];
  for (let o = 0; o < count; o++) {
    const w = weights.slice(o * per, (o + 1) * per), rgba = new Uint8ClampedArray(H * W * 4);
    if (C === 3) {
      const lo = Math.min(...w), hi = Math.max(...w), r = hi - lo || 1;
      for (let i = 0; i < H * W; i++) {
        for (let c = 0; c < 3; c++) rgba[4 * i + c] = (255 * (w[3 * i + c] - lo)) / r;
        rgba[4 * i + 3] = 255;
      }
    } else {
      // Diverging map: blue negative, white zero, red positive; scaled by this filter's largest |w|.
      const m = Math.max(...w.map(Math.abs)) || 1;
      for (let i = 0; i < H * W; i++) {
        let v = 0;
        for (let c = 0; c < C; c++) v += w[i * C + c];
        v /= C * m;
        const t = Math.min(1, Math.abs(v));
        const [r, g, b] = v >= 0 ? [255, 255 - 200 * t, 255 - 200 * t] : [255 - 200 * t, 255 - 130 * t, 255];
        rgba.set([r, g, b, 255], 4 * i);
      }
    }
    tiles.push(el('figure', { title: `filter ${o + 1}` }, imageCanvas(W, H, rgba, scale), el('figcaption', { text: String(o + 1) })));
  }
  box.replaceChildren(...tiles);
  $('filters-note').textContent = `${count} ${f.type === 'Conv2d' ? 'filters' : 'units’ weights'} ${H}×${W}×${C} of layer ${f.layer + 1} (${f.type})` +
    (C === 3 ? ', RGB scaled to each filter’s range.' : `: red positive, blue negative${C > 1 ? ', summed over channels' : ''}.`);
}

function renderMisclassified() {
  const v = S.snapshot?.validation, box = $('misclassified');
  if (!v) return box.replaceChildren(el('p', { class: 'note', text: 'No validation data was recorded for this run.' }));
  if (!v.misclassified.length) return box.replaceChildren(el('p', { class: 'note', text: 'No mistakes among the evaluated validation images.' }));
  box.replaceChildren(...v.misclassified.map((m) => {
    const { width, height, channels, data } = m.image, bytes = Uint8Array.from(atob(data), (ch) => ch.charCodeAt(0));
    const rgba = new Uint8ClampedArray(width * height * 4);
    for (let i = 0; i < width * height; i++) {
      for (let c = 0; c < 3; c++) rgba[4 * i + c] = bytes[i * channels + (channels === 3 ? c : 0)];
      rgba[4 * i + 3] = 255;
    }
    const scale = Math.max(1, Math.floor(64 / Math.max(width, height)));
    return el('figure', { class: 'miss', title: `validation #${m.index}: p(true) = ${num(m.pTrue, 3)}` },
      imageCanvas(width, height, rgba, scale),
      el('figcaption', {}, el('b', { style: `color:${classColor(m.label)}`, text: className(m.label) }), ' → ',
        el('b', { style: `color:${classColor(m.predicted)}`, text: className(m.predicted) }), el('br'), `${(100 * m.confidence).toFixed(m.confidence > 0.99 ? 1 : 0)}% sure`));
  }));
}

function describeEvent(e) {
  switch (e.type) {
    case 'lr': return e.source === 'switch' ? `switched to ${e.optimizer}, α ${num(e.from)} → ${num(e.to)}`
      : `learning rate ${num(e.from)} → ${num(e.to)} (${e.source})`;
    case 'pause': return 'paused';
    case 'resume': return 'resumed';
    case 'stop': return `stop requested${e.reason ? `: ${e.reason}` : ''}`;
    case 'checkpoint': return `checkpoint saved${e.file ? ` to ${e.file}` : ''} (${(e.bytes / 1024).toFixed(0)} KiB${e.reason ? `, ${e.reason}` : ''})`;
    case 'warning': return `warning: ${e.message}`;
    case 'end': return `ended: ${e.message}`;
    case 'command': return `dashboard: ${{ divide: 'α ÷ 10', 'set-lr': `set α = ${e.lr}`, pause: 'pause', resume: 'resume', stop: 'stop' }[e.action] ?? e.action} requested`;
    default: return e.type;
  }
}

// Events carry the 0-based epoch they happened in; a run that ended at an epoch's end counts epochs done.
const AT_EPOCH_END = new Set(['epochs', 'early_stopping', 'step_size', 'loss_change']);
function eventEpoch(e) {
  if (e.epoch === undefined) return '';
  return e.type === 'end' && AT_EPOCH_END.has(e.reason) ? e.epoch : e.epoch + 1;
}

function renderEvents() {
  const shown = S.events.slice(-200).reverse();
  $('events').tBodies[0].replaceChildren(...(shown.length ? shown.map((e) => el('tr', { class: `ev-${e.type}` },
    el('td', { text: clock(e.t) }), el('td', { text: e.step ?? '' }), el('td', { text: eventEpoch(e) }),
    el('td', { text: describeEvent(e) }))) : [el('tr', {}, el('td', { colspan: 4, class: 'note', text: 'No events yet.' }))]));
}

// ---------------------------------------------------------------------------------------------------
// Rendering is coalesced: at most one pass per animation frame, the heavy views only when they changed.

let pending = false, heavy = true;
function scheduleRender(includeHeavy = false) {
  heavy ||= includeHeavy;
  if (pending) return;
  pending = true;
  requestAnimationFrame(() => {
    pending = false;
    renderCharts();
    renderHeader();
    renderControls();
    renderEvents();
    renderFacts();
    if (heavy) {
      heavy = false;
      renderSimplex();
      renderConfusion();
      renderFilters();
      renderMisclassified();
    }
  });
}

let source = null;
function connect() {
  source?.close();
  source = null;
  if (!token) {
    S.connected = false;
    message('This address has no token: open the address that `descent train --ui` or `descent ui` printed.', true);
    scheduleRender();
    return;
  }
  const es = new EventSource(`/api/stream?token=${encodeURIComponent(token)}${S.multi && S.focus ? `&run=${encodeURIComponent(S.focus)}` : ''}`);
  source = es;
  const on = (name, f) => es.addEventListener(name, (ev) => {
    f(JSON.parse(ev.data));
  });
  on('state', (st) => { S.connected = true; reset(st); scheduleRender(true); });
  on('metrics', (lines) => { addMetrics(lines); scheduleRender(); });
  on('events', (lines) => { addEvents(lines); scheduleRender(); });
  on('snapshot', (snap) => { S.snapshot = snap; scheduleRender(true); });
  on('run', (run) => { S.run = run; scheduleRender(true); });
  on('live', (live) => { S.live = live; scheduleRender(); });
  // The live run is over and everything was sent: closing the stream tells the server this page has it.
  on('done', () => { S.finished = true; es.close(); scheduleRender(true); });
  es.onerror = () => {
    if (S.finished) return;
    S.connected = false;
    if (es.readyState === EventSource.CLOSED) message('The server refused the event stream (is the token right?).', true);
    scheduleRender();
  };
}

makeCharts();
wireControls();
addPngButtons();
$('btn-cm-validation').addEventListener('click', () => { S.cmView = 'validation'; scheduleRender(true); });
$('btn-cm-test').addEventListener('click', () => { S.cmView = 'test'; scheduleRender(true); });
$('btn-runs-refresh').addEventListener('click', () => { cmpCache.clear(); void loadRuns(); });
// Runs of a folder that are still being recorded: their overlays refresh every 10 s.
setInterval(() => {
  if (S.multi && S.runs.some((r) => !r.ended) && document.visibilityState === 'visible') {
    cmpCache.clear();
    loadRuns().catch(() => {});
  }
}, 10_000);
if (token) loadRuns().catch(() => {}).finally(connect);
else connect();
