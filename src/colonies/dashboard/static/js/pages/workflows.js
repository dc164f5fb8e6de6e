// Workflows: the colony's workflows (process graphs) by state, and one workflow as a live DAG (dagre, SVG) with
// its nodes, its last process's input and output, and the cancel / remove actions.
import {
  h, s, button, attempt, confirmDialog, stateBadge, fmtTime, relTime, duration, isZeroTime, shortId, jsonBlock,
  queryOf, setQuery, keepFocus, stateTabs, PROCESS_STATES, PROCESS_STATE_LABELS,
} from '../ui.js';

const PAGE_SIZE = 50;
const MAX_COUNT = 100;       // the server's limit per list call (types.MAX_COUNT)
const PARALLEL = 8;          // RPCs in flight when reading processes one by one
const BIG_GRAPH = 300;       // above this many nodes: a faster dagre ranker, slower live refreshes
const LAST_SHOWN = 4;        // leaves shown in the "Last process" panel
const ROOTS_NAMED = 3;       // roots read per workflow to name it in the list

const stateName = (state) => PROCESS_STATES[state] || 'unknown';
const stateLabel = (state) => PROCESS_STATE_LABELS[state] || `state ${state}`;
const muted = (text = '—') => h('span', { class: 'muted' }, text);
const when = (t) => (isZeroTime(t) ? muted() : h('time', { class: 'wf-nowrap', datetime: t, title: fmtTime(t) }, relTime(t)));
const idCode = (id) => h('code', { class: 'wf-id', title: id }, shortId(id));
const plural = (n, word) => `${n.toLocaleString()} ${word}${n === 1 ? '' : 's'}`;
const isEmpty = (v) => v === undefined || v === null || (Array.isArray(v) ? !v.length
  : typeof v === 'object' && !Object.keys(v).length);

/** A duration that keeps counting while it runs (the page re-renders [data-tick-from] every second). */
function runningFor(from, to) {
  if (isZeroTime(from)) return muted();
  if (!isZeroTime(to)) return h('span', {}, duration(from, to));
  return h('span', { 'data-tick-from': from }, duration(from, ''));
}

/** Runs `ms` after the first call, however many follow: a steady stream of events still gets through. */
function coalesce(fn, ms) {
  let timer = null;
  const call = () => { timer ||= setTimeout(() => { timer = null; fn(); }, ms); };
  call.cancel = () => { clearTimeout(timer); timer = null; };
  return call;
}

/** fn(item) for every item, at most `limit` at a time. */
async function pool(items, limit, fn) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

function startTicking(ctx, root) {
  const tick = setInterval(() => {
    for (const el of root.querySelectorAll('[data-tick-from]')) el.textContent = duration(el.dataset.tickFrom, '');
  }, 1000);
  ctx.onLeave(() => clearInterval(tick));
}

// ---- the list ---------------------------------------------------------------------------------------------------

/** Root processes are read once per page (their names never change) to name each workflow. */
function rootNamer(ctx) {
  const known = new Map(); // processid → {nodename, funcname} | null
  return {
    async fetch(graphs) {
      const ids = [...new Set(graphs.flatMap((g) => (g.rootprocessids || []).slice(0, ROOTS_NAMED)))]
        .filter((pid) => !known.has(pid));
      await pool(ids, PARALLEL, async (pid) => {
        const p = await ctx.rpc('getprocessmsg', { processid: pid }).catch(() => null);
        known.set(pid, p ? { nodename: p.spec?.nodename || '', funcname: p.spec?.funcname || '' } : null);
      });
    },
    cell(g) {
      const roots = g.rootprocessids || [];
      const infos = roots.slice(0, ROOTS_NAMED).map((pid) => known.get(pid)).filter(Boolean);
      if (!infos.length) return known.has(roots[0]) || !roots.length ? muted() : muted('…');
      const names = infos.map((i) => i.nodename || i.funcname).join(', ');
      const funcs = [...new Set(infos.map((i) => i.funcname).filter(Boolean))].join(', ');
      const more = roots.length - infos.length;
      return [h('span', { class: 'wf-root-names' }, names, more > 0 ? muted(` +${more}`) : null),
        funcs && funcs !== names ? h('span', { class: 'wf-root-funcs' }, funcs) : null];
    },
  };
}

function listColumns(names) {
  return [
    { label: 'Workflow', value: (g) => idCode(g.processgraphid) },
    { label: 'Starts with', class: 'wf-name-col', value: (g) => h('span', { class: 'wf-name-cell', 'data-name-for': g.processgraphid }, names.cell(g)) },
    { label: 'Nodes', class: 'num', value: (g) => String((g.processids || []).length) },
    { label: 'Submitted', value: (g) => when(g.submissiontime) },
    { label: 'Started', value: (g) => when(g.starttime) },
    { label: 'Ended', value: (g) => when(g.endtime) },
    { label: 'Duration', class: 'num', value: (g) => runningFor(g.starttime, g.endtime) },
    { label: 'State', value: (g) => stateBadge(g.state) },
  ];
}

function listTable(columns, rows, onOpen, empty) {
  if (!rows.length) return h('p', { class: 'empty' }, empty);
  const body = rows.map((g) => {
    const tr = h('tr', { tabindex: '0', class: 'openable', 'data-key': g.processgraphid,
      'data-processgraphid': g.processgraphid, 'data-state': stateName(g.state),
      'aria-label': `Workflow ${shortId(g.processgraphid)}, ${stateName(g.state)}` },
    columns.map((c) => h('td', { class: c.class }, c.value(g))));
    tr.addEventListener('click', (ev) => { if (!ev.target.closest('button, a')) onOpen(g); });
    tr.addEventListener('keydown', (ev) => { if (ev.key === 'Enter' && ev.target === tr) onOpen(g); });
    return tr;
  });
  return h('div', { class: 'table-wrap' }, h('table', {},
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col', class: c.class }, c.label)))),
    h('tbody', {}, body)));
}

async function renderList(ctx, root, { hash }) {
  const colonyname = ctx.session.colonyname;
  const q = queryOf(hash);
  const view = { state: Math.min(4, Math.max(0, parseInt(q.state, 10) || 0)),
    offset: Math.max(0, parseInt(q.offset, 10) || 0) };
  const names = rootNamer(ctx);
  const columns = listColumns(names);
  let counts = null;
  let seq = 0;
  let left = false;

  const note = h('span', { class: 'muted wf-note', role: 'status' });
  const panel = h('div', { class: 'wf-panel', role: 'tabpanel', id: 'wf-panel' });
  const tabs = stateTabs({ label: 'Workflow state', idPrefix: 'wf-tab', panelId: 'wf-panel', selected: () => view.state,
    onSelect: (state, focus) => {
      if (state === view.state) return;
      Object.assign(view, { state, offset: 0 });
      tabs.draw(counts);
      if (focus) tabs.el.querySelector(`[data-state="${stateName(state)}"]`)?.focus();
      go(true);
    } });

  function go(push) {
    history[push ? 'pushState' : 'replaceState'](null, '', setQuery('/workflows',
      { state: view.state, offset: view.offset || '' }));
    load().catch(showError);
  }

  function showError(err) {
    panel.replaceChildren(h('p', { class: 'form-error', role: 'alert' }, err.message || String(err)));
  }

  function draw(rows) {
    const more = rows.length > PAGE_SIZE;
    const shown = rows.slice(0, PAGE_SIZE);
    const label = PROCESS_STATE_LABELS[view.state].toLowerCase();
    const listing = listTable(columns, shown, (g) => ctx.navigate(`#/workflow/${g.processgraphid}`),
      view.offset ? 'No workflows on this page.' : `No ${label} workflows.`);
    const total = counts ? counts[stateName(view.state)] : null;
    const range = shown.length
      ? `${view.offset + 1}–${view.offset + shown.length}${total != null ? ` of ${total}` : ''}` : '';
    const pager = view.offset || more ? h('nav', { class: 'pager', 'aria-label': 'Pages' },
      h('span', { 'data-range': '' }, range),
      button('Previous', () => { view.offset = Math.max(0, view.offset - PAGE_SIZE); go(true); },
        { disabled: view.offset === 0 }),
      button('Next', () => { view.offset += PAGE_SIZE; go(true); }, { disabled: !more })) : null;
    keepFocus(panel, () => panel.replaceChildren(...[listing, pager].filter(Boolean)));
    return shown;
  }

  function fillNames(shown) {
    for (const g of shown) {
      const cell = panel.querySelector(`[data-name-for="${g.processgraphid}"]`);
      if (cell) cell.replaceChildren(...[names.cell(g)].flat().filter(Boolean));
    }
  }

  async function load() {
    const mine = ++seq;
    const [stats, rows] = await Promise.all([
      ctx.rpc('getcolonystatsmsg', { colonyname }).catch(() => null),
      ctx.rpc('getprocessgraphsmsg', { colonyname, state: view.state, count: PAGE_SIZE + 1, offset: view.offset })
        .catch((err) => err),
    ]);
    if (mine !== seq || left) return;
    if (stats) counts = Object.fromEntries(PROCESS_STATES.map((name) => [name, stats[`${name}workflows`] ?? 0]));
    keepFocus(tabs.el, () => tabs.draw(counts));
    if (rows instanceof Error) { showError(rows); return; }
    const shown = draw(rows);
    note.textContent = `Updated ${new Date().toLocaleTimeString()}`;
    note.classList.remove('error-text');
    names.fetch(shown).then(() => { if (mine === seq && !left) fillNames(shown); }, () => {});
  }

  // Live: a process event of any workflow may move it between states; re-read the view (coalesced).
  const refresh = coalesce(() => load().catch((err) => {
    note.textContent = `Could not refresh: ${err.message}`;
    note.classList.add('error-text');
  }), 500);
  ctx.onLive((events, resync) => {
    if (resync || events.some((e) => e.kind === 'process' && e.processgraphid)) refresh();
  });
  ctx.onLeave(() => { left = true; refresh.cancel(); });
  startTicking(ctx, root);

  tabs.draw(counts);
  await load();
  root.replaceChildren(
    h('div', { class: 'page-head' }, h('h1', {}, 'Workflows'),
      h('div', { class: 'actions' }, note, h('a', { class: 'btn', href: '#/submit' }, 'New workflow'))),
    tabs.el, panel);
}

export const workflows = { title: 'Workflows', roles: ['user', 'executor'], render: renderList };

// ---- reading a workflow -----------------------------------------------------------------------------------------

/**
 * Every process of a graph. getprocessesmsg with processgraphid gives up to MAX_COUNT; further pages are asked with
 * `offset` and used when the server honours it (new ids come back). Whatever is still missing is read one by one.
 */
async function fetchProcesses(ctx, graph, onProgress = () => {}) {
  const ids = graph.processids || [];
  const got = new Map();
  const take = (rows) => {
    let fresh = 0;
    for (const p of rows) {
      if (!got.has(p.processid)) { got.set(p.processid, p); fresh += 1; }
    }
    onProgress(got.size, ids.length);
    return fresh;
  };
  const page = (offset) => ctx.rpc('getprocessesmsg', { colonyname: graph.colonyname,
    processgraphid: graph.processgraphid, state: -1, count: MAX_COUNT, offset });
  take(await page(0));
  if (got.size < ids.length && take(await page(MAX_COUNT)) > 0) {
    const offsets = [];
    for (let offset = 2 * MAX_COUNT; offset < ids.length; offset += MAX_COUNT) offsets.push(offset);
    await pool(offsets, PARALLEL, async (offset) => { take(await page(offset)); });
  }
  const missing = ids.filter((pid) => !got.has(pid));
  await pool(missing, PARALLEL, async (pid) => {
    const p = await ctx.rpc('getprocessmsg', { processid: pid }).catch((err) => {
      if (err.status === 404) return null;
      throw err;
    });
    if (p) take([p]);
  });
  return ids.map((pid) => got.get(pid)).filter(Boolean);
}

/** The edges of the graph as [from, to] process ids (from children and parents, deduplicated). */
function edgesOf(procs) {
  const known = new Set(procs.map((p) => p.processid));
  const seen = new Set();
  const edges = [];
  const add = (a, b) => {
    const key = `${a}>${b}`;
    if (a !== b && known.has(a) && known.has(b) && !seen.has(key)) { seen.add(key); edges.push([a, b]); }
  };
  for (const p of procs) {
    for (const c of p.children || []) add(p.processid, c);
    for (const parent of p.parents || []) add(parent, p.processid);
  }
  return edges;
}

const structureOf = (procs) => edgesOf(procs).map(([a, b]) => `${a}>${b}`).sort().join(',')
  + `|${procs.map((p) => p.processid).sort().join(',')}`;

/** The final nodes (no children), deepest first: the longest path from a root decides what "last" means. */
function finalNodes(procs) {
  const children = new Map(procs.map((p) => [p.processid, []]));
  const waiting = new Map(procs.map((p) => [p.processid, 0]));
  for (const [a, b] of edgesOf(procs)) {
    children.get(a).push(b);
    waiting.set(b, waiting.get(b) + 1);
  }
  const depth = new Map(procs.map((p) => [p.processid, 0]));
  const ready = procs.map((p) => p.processid).filter((pid) => !waiting.get(pid));
  while (ready.length) {
    const pid = ready.pop();
    for (const c of children.get(pid)) {
      depth.set(c, Math.max(depth.get(c), depth.get(pid) + 1));
      waiting.set(c, waiting.get(c) - 1);
      if (!waiting.get(c)) ready.push(c);
    }
  }
  const index = new Map(procs.map((p, i) => [p.processid, i]));
  return procs.map((p) => p.processid).filter((pid) => !children.get(pid).length)
    .sort((a, b) => depth.get(b) - depth.get(a) || index.get(a) - index.get(b));
}

// ---- the DAG ----------------------------------------------------------------------------------------------------

const NODE_W = 216;
const NODE_H = 64;
const FONTS = { name: '600 12.5px', func: '11.5px', type: '11px' };
const MIN_ZOOM = 0.004;
const MAX_ZOOM = 2.5;
const FAR_ZOOM = 0.4; // below this the node texts are hidden (unreadable anyway, and much faster to pan)

let dagreLoading = null;
/** dagre (a UMD bundle that sets window.dagre), loaded once, on first need. */
function loadDagre() {
  if (window.dagre) return Promise.resolve(window.dagre);
  dagreLoading ||= new Promise((resolve, reject) => {
    const script = document.createElement('script');
    script.src = new URL('../../vendor/dagre/dagre.min.js', import.meta.url).href;
    script.onload = () => (window.dagre ? resolve(window.dagre) : reject(new Error('The graph layout did not load')));
    script.onerror = () => { dagreLoading = null; script.remove(); reject(new Error('The graph layout could not be loaded')); };
    document.head.append(script);
  });
  return dagreLoading;
}

const NODE_SEP = 16;
const RANK_SEP = 64;
const MARGIN = 24;

/**
 * Positions for nodes (centres) and edges (point lists), left to right, and the time it took in ms.
 * dagre's default ranker (network simplex) takes seconds on ~1,000 nodes; tight-tree gives the same layers there.
 * On wide graphs dagre's node placement spreads each column over many times its height (it lines up edges), so a
 * big graph keeps dagre's columns and order but has its columns packed, with edges drawn as plain curves.
 */
function layoutGraph(dagre, procs, edges) {
  const started = performance.now();
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: 'LR', nodesep: NODE_SEP, ranksep: RANK_SEP, edgesep: 10, marginx: MARGIN, marginy: MARGIN,
    ranker: procs.length > BIG_GRAPH ? 'tight-tree' : 'network-simplex' });
  g.setDefaultEdgeLabel(() => ({}));
  for (const p of procs) g.setNode(p.processid, { width: NODE_W, height: NODE_H });
  for (const [a, b] of edges) g.setEdge(a, b);
  dagre.layout(g);
  const nodes = new Map(procs.map((p) => [p.processid, { x: g.node(p.processid).x, y: g.node(p.processid).y }]));
  let { width, height } = g.graph();
  let paths;
  const packed = procs.length > BIG_GRAPH ? packColumns(nodes) : height;
  if (packed < height * 0.75) {
    height = packed;
    paths = edges.map(([a, b]) => {
      const from = nodes.get(a);
      const to = nodes.get(b);
      return { from: a, to: b, points: [{ x: from.x + NODE_W / 2, y: from.y }, { x: to.x - NODE_W / 2, y: to.y }] };
    });
  } else {
    paths = edges.map(([a, b]) => ({ from: a, to: b, points: g.edge(a, b).points }));
  }
  return { nodes, paths, width, height, ms: performance.now() - started };
}

/** Packs each column (nodes with the same x) in its order, the columns centred on each other; the new height. */
function packColumns(nodes) {
  const columns = new Map();
  for (const at of nodes.values()) {
    const key = Math.round(at.x);
    if (!columns.has(key)) columns.set(key, []);
    columns.get(key).push(at);
  }
  const step = NODE_H + NODE_SEP;
  const tallest = Math.max(...[...columns.values()].map((col) => col.length));
  const height = tallest * step - NODE_SEP + 2 * MARGIN;
  for (const col of columns.values()) {
    col.sort((a, b) => a.y - b.y);
    const top = (height - (col.length * step - NODE_SEP)) / 2;
    col.forEach((at, i) => { at.y = top + i * step + NODE_H / 2; });
  }
  return height;
}

/** A smooth path through dagre's points (straight to the midpoints, curving round the corners); two points make
 *  an S-curve that leaves and enters horizontally. */
function pathData(points) {
  const f = (n) => Math.round(n * 10) / 10;
  if (points.length === 2) {
    const [a, b] = points;
    const dx = Math.max(24, (b.x - a.x) / 2);
    return `M${f(a.x)},${f(a.y)}C${f(a.x + dx)},${f(a.y)} ${f(b.x - dx)},${f(b.y)} ${f(b.x)},${f(b.y)}`;
  }
  let d = `M${f(points[0].x)},${f(points[0].y)}`;
  for (let i = 1; i < points.length - 1; i += 1) {
    const p = points[i];
    const n = points[i + 1];
    d += `Q${f(p.x)},${f(p.y)} ${f((p.x + n.x) / 2)},${f((p.y + n.y) / 2)}`;
  }
  const last = points[points.length - 1];
  return `${d}L${f(last.x)},${f(last.y)}`;
}

/** Shortens text to a width in px (canvas measurement, the page's fonts), with an ellipsis. */
function textFitter() {
  const canvas = document.createElement('canvas').getContext('2d');
  const css = getComputedStyle(document.documentElement);
  const families = { name: css.getPropertyValue('--sans').trim() || 'sans-serif',
    func: css.getPropertyValue('--mono').trim() || 'monospace', type: css.getPropertyValue('--sans').trim() || 'sans-serif' };
  return (text, kind, max) => {
    canvas.font = `${FONTS[kind]} ${families[kind]}`;
    if (canvas.measureText(text).width <= max) return text;
    let lo = 0;
    let hi = text.length;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (canvas.measureText(`${text.slice(0, mid)}…`).width <= max) lo = mid; else hi = mid - 1;
    }
    return `${text.slice(0, lo)}…`;
  };
}

const nodeLabel = (p) => p.spec?.nodename || p.spec?.funcname || shortId(p.processid);
const nodeTitle = (p) => [nodeLabel(p), `${p.spec?.funcname || '—'} · ${p.spec?.conditions?.executortype || '—'}`,
  stateLabel(p.state)].join('\n');

/**
 * The DAG view: an SVG with one <g> per node and one <path> per edge inside a zoomable, pannable viewport.
 * Node states change by class (never a new layout): setState(processid, state).
 */
function dagView({ procs, laid, onOpen }) {
  const fit = textFitter();
  const nodeEls = new Map();   // processid → <g>
  const edgeEls = new Map();   // processid → [<path>] (in and out)
  const started = performance.now();

  const edgeLayer = s('g', { class: 'wf-edges' });
  const nodeLayer = s('g', { class: 'wf-nodes' });
  const edgeFrag = document.createDocumentFragment();
  for (const e of laid.paths) {
    const path = s('path', { class: 'wf-edge', d: pathData(e.points), 'marker-end': 'url(#wf-arrow)',
      'data-from': e.from, 'data-to': e.to });
    edgeFrag.append(path);
    for (const pid of [e.from, e.to]) {
      if (!edgeEls.has(pid)) edgeEls.set(pid, []);
      edgeEls.get(pid).push(path);
    }
  }
  edgeLayer.append(edgeFrag);

  const nodeFrag = document.createDocumentFragment();
  for (const p of procs) { // procs come in layout order: Tab goes left to right, top to bottom
    const at = laid.nodes.get(p.processid);
    const name = nodeLabel(p);
    const state = stateName(p.state);
    const g = s('g', {
      class: `wf-node ${state}`, transform: `translate(${at.x - NODE_W / 2},${at.y - NODE_H / 2})`, tabindex: '0',
      role: 'link', 'aria-label': `${name}: ${state}`, 'data-processid': p.processid, 'data-nodename': name,
      'data-state': state,
    },
    s('title', {}, nodeTitle(p)),
    s('rect', { class: 'wf-box', width: NODE_W, height: NODE_H, rx: 8 }),
    s('circle', { class: 'wf-dot', cx: NODE_W - 15, cy: 17, r: 4.5 }),
    s('text', { class: 'wf-t-name', x: 14, y: 22 }, fit(name, 'name', NODE_W - 44)),
    s('text', { class: 'wf-t-func', x: 14, y: 40 }, fit(p.spec?.funcname || '—', 'func', NODE_W - 28)),
    s('text', { class: 'wf-t-type', x: 14, y: 55 }, fit(p.spec?.conditions?.executortype || '—', 'type', NODE_W - 28)));
    nodeEls.set(p.processid, g);
    nodeFrag.append(g);
  }
  nodeLayer.append(nodeFrag);

  // The SVG has the graph's own size; zoom and pan are a CSS transform on it, which the browser composites while
  // it moves (no repaint of a thousand nodes per frame) and paints sharp again when it rests.
  const width = Math.ceil(laid.width);
  const height = Math.ceil(laid.height);
  const svg = s('svg', { class: 'wf-svg', 'data-nodes': procs.length, width, height, viewBox: `0 0 ${width} ${height}` },
  s('defs', {}, s('marker', { id: 'wf-arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 8, markerHeight: 8,
    orient: 'auto-start-reverse', markerUnits: 'userSpaceOnUse' }, s('path', { class: 'wf-arrowhead', d: 'M0,0L10,5L0,10z' }))),
  edgeLayer, nodeLayer);
  const canvas = h('div', { class: 'wf-canvas', tabindex: '0', role: 'group', 'aria-label': 'Workflow graph',
    'aria-describedby': 'wf-canvas-help' },
  h('p', { id: 'wf-canvas-help', class: 'wf-sr-only' }, 'Drag to pan, use the wheel or + and − to zoom, 0 to fit. '
    + 'Each node is a link to its process.'), svg);
  const buildMs = performance.now() - started;

  // -- zoom and pan ------------------------------------------------------------------------------------------------
  const view = { k: 1, x: 0, y: 0, touched: false };
  let resting = null;
  const apply = () => {
    svg.style.transform = `translate(${view.x.toFixed(1)}px, ${view.y.toFixed(1)}px) scale(${view.k.toFixed(4)})`;
    svg.dataset.zoom = view.k.toFixed(3);
    svg.classList.toggle('wf-far', view.k < FAR_ZOOM);
  };
  /** While the view moves, the SVG is its own compositor layer; 200 ms after, it is painted at the new scale. */
  const moving = () => {
    canvas.classList.add('wf-moving');
    clearTimeout(resting);
    resting = setTimeout(() => canvas.classList.remove('wf-moving'), 200);
  };
  const size = () => ({ w: canvas.clientWidth || 800, h: canvas.clientHeight || 400 });
  function fitView() {
    const { w, h: ht } = size();
    const k = Math.max(MIN_ZOOM, Math.min(1, (w - 24) / laid.width, (ht - 24) / laid.height));
    Object.assign(view, { k, x: (w - laid.width * k) / 2, y: (ht - laid.height * k) / 2 });
    apply();
  }
  function zoomAt(factor, cx, cy) {
    const k = Math.max(MIN_ZOOM, Math.min(MAX_ZOOM, view.k * factor));
    view.x = cx - ((cx - view.x) * k) / view.k;
    view.y = cy - ((cy - view.y) * k) / view.k;
    view.k = k;
    view.touched = true;
    moving();
    apply();
  }
  const zoomCentre = (factor) => { const { w, h: ht } = size(); zoomAt(factor, w / 2, ht / 2); };
  function panBy(dx, dy) {
    view.x += dx;
    view.y += dy;
    view.touched = true;
    moving();
    apply();
  }

  canvas.addEventListener('wheel', (ev) => {
    ev.preventDefault();
    const rect = canvas.getBoundingClientRect();
    const delta = ev.deltaY * (ev.deltaMode === 1 ? 16 : ev.deltaMode === 2 ? 400 : 1);
    zoomAt(Math.exp(-delta * 0.0015), ev.clientX - rect.left, ev.clientY - rect.top);
  }, { passive: false });

  let drag = null;
  let dragged = false;
  canvas.addEventListener('pointerdown', (ev) => {
    if (ev.button !== 0) return;
    drag = { id: ev.pointerId, x: ev.clientX, y: ev.clientY, moved: false };
    dragged = false;
  });
  canvas.addEventListener('pointermove', (ev) => {
    if (!drag || ev.pointerId !== drag.id) return;
    const dx = ev.clientX - drag.x;
    const dy = ev.clientY - drag.y;
    if (!drag.moved && Math.hypot(dx, dy) < 4) return;
    if (!drag.moved) { drag.moved = true; canvas.setPointerCapture(ev.pointerId); canvas.classList.add('wf-dragging'); }
    drag.x = ev.clientX;
    drag.y = ev.clientY;
    panBy(dx, dy);
  });
  const endDrag = (ev) => {
    if (!drag || ev.pointerId !== drag.id) return;
    dragged = drag.moved;
    drag = null;
    canvas.classList.remove('wf-dragging');
  };
  canvas.addEventListener('pointerup', endDrag);
  canvas.addEventListener('pointercancel', endDrag);

  // -- opening nodes, highlighting their edges, keeping the focused node in view -----------------------------------
  const nodeOf = (target) => target.closest?.('.wf-node');
  canvas.addEventListener('click', (ev) => {
    const g = nodeOf(ev.target);
    if (dragged) { dragged = false; return; }
    if (g) onOpen(g.dataset.processid);
  });
  canvas.addEventListener('keydown', (ev) => {
    const g = nodeOf(ev.target);
    if (g && (ev.key === 'Enter' || ev.key === ' ')) { ev.preventDefault(); onOpen(g.dataset.processid); return; }
    const pans = { ArrowLeft: [60, 0], ArrowRight: [-60, 0], ArrowUp: [0, 60], ArrowDown: [0, -60] };
    if (ev.key === '+' || ev.key === '=') zoomCentre(1.25);
    else if (ev.key === '-' || ev.key === '_') zoomCentre(0.8);
    else if (ev.key === '0') fitView();
    else if (pans[ev.key] && ev.target === canvas) panBy(...pans[ev.key]);
    else return;
    ev.preventDefault();
  });
  const highlight = (g, on) => { for (const p of edgeEls.get(g.dataset.processid) || []) p.classList.toggle('wf-hl', on); };
  let hovered = null;
  svg.addEventListener('pointerover', (ev) => {
    const g = nodeOf(ev.target);
    if (g === hovered) return;
    if (hovered) highlight(hovered, false);
    hovered = g;
    if (g) highlight(g, true);
  });
  svg.addEventListener('pointerleave', () => { if (hovered) highlight(hovered, false); hovered = null; });
  canvas.addEventListener('focusin', (ev) => {
    const g = nodeOf(ev.target);
    if (!g) return;
    highlight(g, true);
    canvas.scrollTop = 0; // the browser scrolls a focused element into view; the viewport transform does that here
    canvas.scrollLeft = 0;
    const at = laid.nodes.get(g.dataset.processid);
    const { w, h: ht } = size();
    const sx = view.x + at.x * view.k;
    const sy = view.y + at.y * view.k;
    const mx = (NODE_W / 2) * view.k + 8;
    const my = (NODE_H / 2) * view.k + 8;
    if (sx < mx || sx > w - mx || sy < my || sy > ht - my) {
      if (view.k < FAR_ZOOM) view.k = 1;
      view.x = w / 2 - at.x * view.k;
      view.y = ht / 2 - at.y * view.k;
      apply();
    }
  });
  canvas.addEventListener('focusout', (ev) => { const g = nodeOf(ev.target); if (g) highlight(g, false); });

  // Fit on first show, and again when the canvas changes size until the user has zoomed or panned.
  const resize = new ResizeObserver(() => { if (!view.touched) fitView(); });
  resize.observe(canvas);

  function setState(pid, state, p) {
    const g = nodeEls.get(pid);
    if (!g) return;
    const name = stateName(state);
    if (g.dataset.state !== name) {
      g.classList.remove(g.dataset.state);
      g.classList.add(name);
      g.dataset.state = name;
      g.setAttribute('aria-label', `${g.dataset.nodename}: ${name}`);
    }
    if (p) g.firstChild.textContent = nodeTitle(p);
  }

  /** The canvas height: the graph's own for small graphs, capped for big ones. */
  canvas.style.height = `${Math.round(Math.max(220, Math.min(laid.height + 32, 640)))}px`;
  canvas.dataset.layoutMs = String(Math.round(laid.ms));
  canvas.dataset.buildMs = String(Math.round(buildMs));

  return {
    el: canvas,
    setState,
    has: (pid) => nodeEls.has(pid),
    zoomIn: () => zoomCentre(1.25),
    zoomOut: () => zoomCentre(0.8),
    fit: () => { view.touched = false; fitView(); },
    destroy: () => { resize.disconnect(); clearTimeout(resting); },
  };
}

// ---- one workflow -----------------------------------------------------------------------------------------------

function nodeRow(p, onOpen) {
  const name = nodeLabel(p);
  const tr = h('tr', { tabindex: '0', class: 'openable', 'data-key': p.processid, 'data-processid': p.processid,
    'data-nodename': name, 'data-state': stateName(p.state) },
  h('td', { class: 'wf-node-name' }, name),
  h('td', {}, p.spec?.funcname ? h('code', {}, p.spec.funcname) : muted()),
  h('td', { class: 'wf-node-type' }, p.spec?.conditions?.executortype || muted()),
  h('td', {}, stateBadge(p.state)),
  h('td', { class: 'num' }, runningFor(p.starttime, p.endtime)));
  tr.addEventListener('click', (ev) => { if (!ev.target.closest('button, a')) onOpen(p.processid); });
  tr.addEventListener('keydown', (ev) => { if (ev.key === 'Enter' && ev.target === tr) onOpen(p.processid); });
  return tr;
}

function lastProcessPanel(leaves, total) {
  if (!leaves.length) return h('p', { class: 'empty' }, 'No processes.');
  const shown = leaves.slice(0, LAST_SHOWN);
  const parts = shown.map((p) => {
    const name = nodeLabel(p);
    const spec = p.spec || {};
    const input = !isEmpty(p.in) ? [h('h3', { class: 'wf-sub' }, 'Input (from parents)'), jsonBlock(p.in, `Input of ${name}`)]
      : !isEmpty(spec.args) || !isEmpty(spec.kwargs)
        ? [h('h3', { class: 'wf-sub' }, 'Input (arguments)'), jsonBlock(
          isEmpty(spec.kwargs) ? spec.args : isEmpty(spec.args) ? spec.kwargs : { args: spec.args, kwargs: spec.kwargs },
          `Input of ${name}`)]
        : [h('h3', { class: 'wf-sub' }, 'Input'), h('p', { class: 'muted wf-none' }, 'No input.')];
    const errors = (p.errors || []).map(String);
    const output = errors.length
      ? [h('h3', { class: 'wf-sub' }, 'Errors'), h('pre', { class: 'json wf-errors', 'aria-label': `Errors of ${name}`, tabindex: '0' },
        errors.join('\n'))]
      : [h('h3', { class: 'wf-sub' }, 'Output'), isEmpty(p.out)
        ? h('p', { class: 'muted wf-none' }, p.state <= 1 ? 'No output yet.' : 'No output.')
        : jsonBlock(p.out, `Output of ${name}`)];
    return h('article', { class: 'wf-last', 'data-processid': p.processid, 'data-nodename': name,
      'data-state': stateName(p.state), 'aria-label': `Last process ${name}` },
    h('div', { class: 'wf-last-head' },
      h('a', { href: `#/process/${p.processid}`, class: 'wf-last-name' }, name), stateBadge(p.state),
      spec.funcname ? h('code', { class: 'muted' }, spec.funcname) : null),
    input, output);
  });
  const more = leaves.length - shown.length;
  return [parts, more > 0 ? h('p', { class: 'muted' }, `and ${plural(more, 'more final node')} of ${total}.`) : null];
}

async function renderWorkflow(ctx, root, { id }) {
  // Live from the start, so nothing that happens while the page loads is missed.
  let ready = false;
  let missed = false;
  const pending = new Set();
  let full = false;
  let dag = null;
  let left = false;
  const cleanups = [];
  ctx.onLeave(() => { left = true; dag?.destroy(); for (const fn of cleanups) fn(); });
  startTicking(ctx, root);
  ctx.onLive((events, resync) => {
    const mine = events.filter((e) => e.kind === 'process' && e.processgraphid === id);
    if (!ready) { missed ||= resync || mine.length > 0; return; }
    if (resync) full = true;
    for (const e of mine) {
      if (!byId.has(e.processid)) { full = true; continue; } // a node was added (addchildmsg): lay out again
      if (typeof e.state === 'number') {
        byId.get(e.processid).state = e.state; // shown at once; the coalesced re-read brings times and output
        dag?.setState(e.processid, e.state);
      }
      pending.add(e.processid);
    }
    if (full || pending.size) refresh();
  });

  let graph = await ctx.rpc('getprocessgraphmsg', { processgraphid: id });
  if (left) return;
  const progress = h('p', { class: 'muted wf-loading', role: 'status' }, 'Loading the workflow\'s processes…');
  root.replaceChildren(h('div', { class: 'page-head' }, h('h1', {}, 'Workflow')), progress);
  // Reading every process of a big graph costs up to a call per process (see fetchProcesses): full reloads are
  // spaced by three times what the last one took, while event states keep the nodes live in between.
  let fullCost = 0;
  let fullAt = 0;
  const readAll = async (g, onProgress) => {
    const t0 = performance.now();
    const rows = await fetchProcesses(ctx, g, onProgress);
    fullAt = performance.now();
    fullCost = fullAt - t0;
    return rows;
  };
  let procs = await readAll(graph, (n, total) => {
    if (total > MAX_COUNT) progress.textContent = `Loading the workflow's processes… ${n} of ${total}`;
  });
  if (left) return;
  let byId = new Map(procs.map((p) => [p.processid, p]));
  let structure = structureOf(procs);
  let finals = finalNodes(procs);
  let order = [];              // process ids in layout order (left to right, top to bottom)
  const rows = new Map();      // processid → node table <tr>
  const open = (pid) => ctx.navigate(`#/process/${pid}`);

  // -- the parts of the page --------------------------------------------------------------------------------------
  const headSlot = h('div');
  const metaSlot = h('section', { class: 'card wf-meta', 'aria-label': 'Summary' });
  const note = h('span', { class: 'muted wf-note', role: 'status' });
  const graphSlot = h('div', { class: 'wf-graph-slot' });
  const zoomButtons = h('div', { class: 'wf-zoom', role: 'group', 'aria-label': 'Zoom' },
    button('Zoom in', () => dag?.zoomIn(), { kind: 'small', title: 'Zoom in (+)' }),
    button('Zoom out', () => dag?.zoomOut(), { kind: 'small', title: 'Zoom out (−)' }),
    button('Fit', () => dag?.fit(), { kind: 'small', title: 'Fit the whole graph (0)' }));
  const legend = h('ul', { class: 'wf-legend', 'aria-label': 'Node colours' }, PROCESS_STATES.map((name, state) =>
    h('li', { class: name }, h('span', { class: 'wf-swatch', 'aria-hidden': 'true' }), PROCESS_STATE_LABELS[state])));
  const graphCard = h('section', { class: 'card wf-graph-card', 'aria-label': 'Graph' },
    h('div', { class: 'wf-card-head' }, h('h2', {}, 'Graph'), legend, note, zoomButtons), graphSlot);
  const lastSlot = h('div', { class: 'wf-last-list' });
  const lastCard = h('section', { class: 'card wf-last-card', 'aria-label': 'Last process' },
    h('h2', {}, 'Last process'), lastSlot);
  const tableSlot = h('div', { class: 'wf-node-table' });
  const nodesCard = h('section', { class: 'card wf-nodes-card', 'aria-label': 'Nodes' },
    h('h2', {}, 'Nodes'), tableSlot);

  const countsOf = () => {
    const counts = Object.fromEntries(PROCESS_STATES.map((name) => [name, 0]));
    for (const p of procs) counts[stateName(p.state)] = (counts[stateName(p.state)] || 0) + 1;
    return counts;
  };
  const leaves = () => finals.map((pid) => byId.get(pid));

  function actions() {
    const active = graph.state === 0 || graph.state === 1;
    const cancel = active ? button('Cancel workflow', async () => {
      if (!await confirmDialog(`Cancel workflow ${shortId(id)}? Its waiting and running processes become cancelled.`,
        'Cancel workflow')) return;
      await attempt(async () => {
        await ctx.rpc('cancelprocessgraphmsg', { processgraphid: id });
        full = true;
        await refreshNow();
      }, 'Workflow cancelled');
    }, { kind: 'danger' }) : null;
    const remove = graph.state !== 1 ? button('Remove', async () => {
      if (!await confirmDialog(`Remove workflow ${shortId(id)} with its ${plural(procs.length, 'process')}, their output `
        + 'and attributes? This cannot be undone.', 'Remove workflow')) return;
      await attempt(async () => {
        await ctx.rpc('removeprocessgraphmsg', { processgraphid: id });
        ctx.navigate(`#/workflows?state=${graph.state}`);
      }, 'Workflow removed');
    }, { kind: 'danger', title: 'Remove the workflow and its processes' }) : null;
    return h('div', { class: 'actions' }, cancel, remove);
  }

  function drawHead() {
    const roots = (graph.rootprocessids || []).map((pid) => byId.get(pid)).filter(Boolean);
    const ends = leaves();
    const name = roots.length && ends.length
      ? `${roots.map(nodeLabel).slice(0, 2).join(', ')}${roots.length > 2 ? ' …' : ''} → ${ends.map(nodeLabel)
        .slice(0, 2).join(', ')}${ends.length > 2 ? ' …' : ''}` : '';
    keepFocus(headSlot, () => headSlot.replaceChildren(
      h('a', { class: 'wf-back', href: `#/workflows?state=${graph.state}` }, '← Workflows'),
      h('div', { class: 'page-head', 'data-state': stateName(graph.state), 'data-processgraphid': id },
        h('div', { class: 'wf-title' }, h('h1', {}, 'Workflow'), stateBadge(graph.state), idCode(id),
          name ? h('span', { class: 'wf-subtitle muted' }, name) : null),
        actions())));
    const counts = countsOf();
    metaSlot.replaceChildren(
      h('dl', { class: 'wf-facts' },
        [['Submitted', when(graph.submissiontime)], ['Started', when(graph.starttime)], ['Ended', when(graph.endtime)],
          ['Duration', runningFor(graph.starttime, graph.endtime)],
          ['Initiator', graph.initiatorname || (graph.initiatorid ? idCode(graph.initiatorid) : muted())],
          ['Nodes', String(procs.length)]]
          .map(([k, v]) => h('div', { class: 'wf-fact' }, h('dt', {}, k), h('dd', {}, v)))),
      h('ul', { class: 'wf-counts', 'aria-label': 'Nodes by state' }, PROCESS_STATES.map((stateKey, state) =>
        h('li', { class: ['wf-count', stateKey, counts[stateKey] ? '' : 'zero'], 'data-count-state': stateKey,
          'data-count': String(counts[stateKey]) },
        h('span', { class: 'wf-count-n' }, String(counts[stateKey])), ` ${PROCESS_STATE_LABELS[state].toLowerCase()}`))));
  }

  function drawTable() {
    rows.clear();
    const body = order.map((pid) => {
      const tr = nodeRow(byId.get(pid), open);
      rows.set(pid, tr);
      return tr;
    });
    tableSlot.replaceChildren(h('div', { class: 'table-wrap' }, h('table', {},
      h('thead', {}, h('tr', {}, ['Node', 'Function', 'Executor type', 'State', 'Duration'].map((label) =>
        h('th', { scope: 'col', class: label === 'Duration' ? 'num' : null }, label)))),
      h('tbody', {}, body))));
  }

  function updateRow(p) {
    const old = rows.get(p.processid);
    if (!old) return;
    const tr = nodeRow(p, open);
    const focused = document.activeElement === old;
    old.replaceWith(tr);
    rows.set(p.processid, tr);
    if (focused) tr.focus({ preventScroll: true });
  }

  function drawLast() {
    keepFocus(lastSlot, () => lastSlot.replaceChildren(...[lastProcessPanel(leaves(), procs.length)].flat(2).filter(Boolean)));
  }

  async function drawGraph() {
    dag?.destroy();
    dag = null;
    graphSlot.replaceChildren(h('p', { class: 'muted wf-loading', role: 'status' },
      procs.length > BIG_GRAPH ? `Laying out ${procs.length.toLocaleString()} nodes…` : 'Laying out the graph…'));
    let dagre;
    try {
      dagre = await loadDagre();
    } catch (err) {
      graphSlot.replaceChildren(h('p', { class: 'form-error', role: 'alert' }, err.message));
      order = procs.map((p) => p.processid);
      return;
    }
    await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0))); // let the message show
    if (left) return;
    const edges = edgesOf(procs);
    const laid = layoutGraph(dagre, procs, edges);
    order = [...laid.nodes.entries()].sort(([, a], [, b]) => a.x - b.x || a.y - b.y).map(([pid]) => pid);
    const started = performance.now();
    dag = dagView({ procs: order.map((pid) => byId.get(pid)), laid, onOpen: open });
    graphSlot.replaceChildren(dag.el);
    dag.el.dataset.renderMs = String(Math.round(performance.now() - started));
  }

  // -- live refresh: event states are shown at once; this re-reads the changed processes (times, output) ----------
  const big = () => procs.length > BIG_GRAPH;
  let busy = false;
  let again = false;
  let deferred = null;
  async function refreshNow() {
    if (busy) { again = true; return; }
    busy = true;
    try {
      do {
        again = false;
        const ids = [...pending];
        const reloadAll = full || ids.length > MAX_COUNT;
        const wait = reloadAll ? fullAt + Math.min(30000, 3 * fullCost) - performance.now() : 0;
        if (wait > 0) {
          clearTimeout(deferred);
          deferred = setTimeout(refreshNow, wait);
          break;
        }
        pending.clear();
        full = false;
        const graphRead = ctx.rpc('getprocessgraphmsg', { processgraphid: id });
        graphRead.catch(() => {}); // awaited below; this only keeps an early failure from being "unhandled"
        let changed = [];
        if (reloadAll) {
          const g = await graphRead;
          const fresh = await readAll(g);
          if (left) return;
          graph = g;
          if (structureOf(fresh) !== structure) {
            procs = fresh;
            byId = new Map(procs.map((p) => [p.processid, p]));
            structure = structureOf(procs);
            finals = finalNodes(procs);
            drawHead();
            drawLast();
            await drawGraph();
            drawTable();
            continue;
          }
          changed = fresh;
        } else {
          await pool(ids, PARALLEL, async (pid) => {
            const p = await ctx.rpc('getprocessmsg', { processid: pid }).catch(() => null);
            if (p) changed.push(p);
          });
          graph = await graphRead;
          if (left) return;
        }
        const leafIds = new Set(leaves().map((p) => p.processid));
        let lastChanged = false;
        for (const p of changed) {
          const old = byId.get(p.processid);
          if (!old) continue;
          const same = old.state === p.state && old.starttime === p.starttime && old.endtime === p.endtime
            && rows.get(p.processid)?.dataset.state === stateName(p.state);
          Object.assign(old, p);
          if (same && reloadAll) continue; // a full reload touches only what changed
          dag?.setState(p.processid, p.state, p);
          updateRow(old);
          lastChanged ||= leafIds.has(p.processid);
        }
        drawHead();
        if (lastChanged) drawLast();
        note.textContent = `Updated ${new Date().toLocaleTimeString()}`;
        note.classList.remove('error-text');
      } while ((again || pending.size || full) && !left);
    } catch (err) {
      if (left) return;
      if (err.status === 404) {
        note.textContent = 'This workflow no longer exists.';
        headSlot.querySelector('.actions')?.replaceChildren();
      } else {
        note.textContent = `Could not refresh: ${err.message}`;
      }
      note.classList.add('error-text');
    } finally {
      busy = false;
    }
  }
  const refreshSoon = coalesce(() => { refreshNow(); }, 300);
  const refreshSlow = coalesce(() => { refreshNow(); }, 1000);
  const refresh = () => (big() ? refreshSlow() : refreshSoon());
  cleanups.push(() => { refreshSoon.cancel(); refreshSlow.cancel(); clearTimeout(deferred); });

  drawHead();
  drawLast();
  root.replaceChildren(headSlot, metaSlot, graphCard, h('div', { class: 'wf-bottom' }, nodesCard, lastCard));
  ready = true;
  if (missed) { full = true; refresh(); }
  await drawGraph();
  drawTable();
}

export const workflow = { title: 'Workflow', roles: ['user', 'executor'], parent: 'workflows', render: renderWorkflow };
