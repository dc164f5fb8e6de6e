// Executors: who serves the colony, where, and what they run. The colony owner approves, rejects and removes them.
// Executors send no events on the colony's live channel (it carries process events only), so this page re-reads
// them on a slow timer instead: every 15 s while the tab is visible, and at once when the tab becomes visible again.
import {
  h, s, card, stat, table, facts, button, attempt, confirmDialog, stateBadge, fmtTime, relTime, isZeroTime, jsonBlock,
  queryOf, setQuery, EXECUTOR_STATES, openDialog, keepFocus,
} from '../ui.js';

const STATE_LABELS = ['Pending', 'Approved', 'Rejected', 'Removed'];
const ONLINE_SECONDS = 60; // heard from within this is "online" (executors long-poll assign every ~10 s)
const REFRESH_MS = 15000;

const isOnline = (e) => !isZeroTime(e.lastheardfromtime)
  && Date.now() - new Date(e.lastheardfromtime).getTime() < ONLINE_SECONDS * 1000;


/** "model, 4 nodes, CPU 8000m, mem 16Gi, 2× A100 · python 3.12": hardware and software, as objects or arrays. */
function capabilitiesSummary(caps) {
  if (!caps || typeof caps !== 'object') return '';
  const list = (v) => (Array.isArray(v) ? v : v && typeof v === 'object' ? [v] : []);
  const parts = [];
  for (const hw of list(caps.hardware)) {
    const bits = [];
    if (hw.model) bits.push(hw.model);
    if (hw.nodes > 1) bits.push(`${hw.nodes} nodes`);
    if (hw.cpu) bits.push(`CPU ${hw.cpu}`);
    if (hw.mem || hw.memory) bits.push(`mem ${hw.mem || hw.memory}`);
    if (hw.storage) bits.push(`disk ${hw.storage}`);
    const gpu = hw.gpu || {};
    if (gpu.count || gpu.name) bits.push(`${gpu.count ? `${gpu.count}× ` : ''}${gpu.name || 'GPU'}`);
    if (bits.length) parts.push(bits.join(', '));
  }
  for (const sw of list(caps.software)) {
    const text = [sw.name, sw.version].filter(Boolean).join(' ');
    if (text) parts.push(text);
  }
  return parts.join(' · ');
}

/** Where an executor is: its own coordinates (Go servers send location {long, lat, desc}) or its named location. */
function placeOf(e, locations) {
  const own = e.location;
  if (own && Number.isFinite(own.long) && Number.isFinite(own.lat) && (own.long || own.lat)) {
    return { key: `@${own.long},${own.lat}`, name: e.locationname || own.desc || e.executorname, long: own.long,
      lat: own.lat, desc: own.desc || '' };
  }
  if (!e.locationname) return null;
  const loc = locations.get(e.locationname.toLowerCase());
  return loc ? { key: loc.name.toLowerCase(), name: loc.name, long: loc.long, lat: loc.lat, desc: loc.description }
    : null;
}

function locationText(e, locations) {
  const place = placeOf(e, locations);
  if (!e.locationname && !place) return h('span', { class: 'muted' }, '—');
  return h('span', { title: place ? `${place.desc ? `${place.desc}, ` : ''}${place.lat.toFixed(2)}, ${place.long.toFixed(2)}` : '' },
    e.locationname || place.name);
}

// ---- the map: an equirectangular plot, no tiles, no coastlines -----------------------------------------------------

const MAP_W = 960;

/** The lon/lat window to draw: the whole world, or the points' extent with some room, at about 3 : 1. */
function mapWindow(points, world) {
  const whole = { lon0: -180, lon1: 180, lat0: -58, lat1: 78 }; // the inhabited latitudes, at about 2.6 : 1
  if (world || !points.length) return whole;
  const ratio = 3;
  const lons = points.map((p) => p.long);
  const lats = points.map((p) => p.lat);
  let lonSpan = Math.max(Math.max(...lons) - Math.min(...lons) + 16, 36);
  let latSpan = Math.max(Math.max(...lats) - Math.min(...lats) + 12, lonSpan / ratio);
  lonSpan = Math.max(lonSpan, latSpan * ratio);
  if (lonSpan >= 360 || latSpan >= 136) return whole;
  const clamp = (centre, span, lo, hi) => Math.min(Math.max(centre - span / 2, lo), hi - span);
  const lon0 = clamp((Math.max(...lons) + Math.min(...lons)) / 2, lonSpan, -180, 180);
  const lat0 = clamp((Math.max(...lats) + Math.min(...lats)) / 2, latSpan, -90, 90);
  return { lon0, lon1: lon0 + lonSpan, lat0, lat1: lat0 + latSpan };
}

const degrees = (v, pos, neg) => (v === 0 ? '0°' : `${Math.abs(v)}°${v > 0 ? pos : neg}`);

function drawMap(points, world, onPick) {
  const win = mapWindow(points, world);
  const k = MAP_W / (win.lon1 - win.lon0);
  const height = Math.round((win.lat1 - win.lat0) * k);
  const x = (lon) => (lon - win.lon0) * k;
  const y = (lat) => (win.lat1 - lat) * k;
  const span = win.lon1 - win.lon0;
  const step = [1, 2, 5, 10, 15, 30, 45].find((st) => span / st <= 12) || 60;
  const lines = [];
  const labels = [];
  for (let lon = Math.floor(win.lon0 / step + 1) * step; lon < win.lon1; lon += step) {
    lines.push(s('line', { x1: x(lon), x2: x(lon), y1: 0, y2: height, class: lon === 0 ? 'map-axis' : 'map-grid' }));
    if (x(lon) > 40) labels.push(s('text', { x: x(lon) + 3, y: height - 5, class: 'map-tick' }, degrees(lon, 'E', 'W')));
  }
  for (let lat = Math.floor(win.lat0 / step + 1) * step; lat < win.lat1; lat += step) {
    lines.push(s('line', { x1: 0, x2: MAP_W, y1: y(lat), y2: y(lat), class: lat === 0 ? 'map-axis' : 'map-grid' }));
    if (y(lat) > 16) labels.push(s('text', { x: 4, y: y(lat) - 4, class: 'map-tick' }, degrees(lat, 'N', 'S')));
  }
  // Dots first (so labels can avoid them), then each label on the first free side: right, left, above, below.
  const placed = [...points].sort((a, b) => b.lat - a.lat).map((p) => {
    const n = p.approved + p.pending + p.rejected;
    return { p, n, px: x(p.long), py: y(p.lat), r: 6 + Math.min(6, 2 * Math.sqrt(n)) };
  });
  const boxes = placed.map((d) => ({ x0: d.px - d.r, x1: d.px + d.r, y0: d.py - d.r, y1: d.py + d.r }));
  const free = (b) => b.x0 >= 0 && b.x1 <= MAP_W && b.y0 >= 0 && b.y1 <= height
    && !boxes.some((o) => b.x0 < o.x1 && o.x0 < b.x1 && b.y0 < o.y1 && o.y0 < b.y1);
  const dots = placed.map(({ p, n, px, py, r }) => {
    const kind = p.approved ? 'approved' : p.pending ? 'pending' : p.rejected ? 'rejected' : 'empty';
    const width = (p.name.length + String(n).length + 1) * 7.6;
    const candidates = [
      { x: px + r + 6, y: py + 4, anchor: 'start', box: { x0: px + r + 4, x1: px + r + 8 + width, y0: py - 9, y1: py + 7 } },
      { x: px - r - 6, y: py + 4, anchor: 'end', box: { x0: px - r - 8 - width, x1: px - r - 4, y0: py - 9, y1: py + 7 } },
      { x: px, y: py - r - 7, anchor: 'middle', box: { x0: px - width / 2, x1: px + width / 2, y0: py - r - 21, y1: py - r - 4 } },
      { x: px, y: py + r + 16, anchor: 'middle', box: { x0: px - width / 2, x1: px + width / 2, y0: py + r + 3, y1: py + r + 20 } },
    ];
    const spot = candidates.find((c) => free(c.box)) || candidates[px < MAP_W - width - 20 ? 0 : 1];
    boxes.push(spot.box);
    const summary = [p.approved && `${p.approved} approved`, p.pending && `${p.pending} pending`,
      p.rejected && `${p.rejected} rejected`].filter(Boolean).join(', ') || 'no executors';
    return s('g', {
      class: `map-point ${kind}`, tabindex: '0', role: 'button', 'data-location': p.name, 'data-count': n,
      'aria-label': `Location ${p.name}: ${summary}`,
      onclick: () => onPick(p.name),
      onkeydown: (ev) => { if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); onPick(p.name); } },
    },
    s('title', {}, `${p.name}${p.desc ? ` — ${p.desc}` : ''}: ${summary}`),
    s('circle', { cx: px, cy: py, r: r + 5, class: 'map-halo' }),
    s('circle', { cx: px, cy: py, r, class: 'map-dot' }),
    s('text', { x: spot.x, y: spot.y, class: 'map-label', 'text-anchor': spot.anchor },
      p.name, s('tspan', { class: 'map-count' }, ` ${n}`)));
  });
  return s('svg', {
    class: 'map', viewBox: `0 0 ${MAP_W} ${height}`, role: 'group', 'aria-label': 'Map of executor locations',
    preserveAspectRatio: 'xMidYMid meet',
  }, s('rect', { x: 0, y: 0, width: MAP_W, height, class: 'map-bg' }), lines, labels, dots);
}


// ---- the page -------------------------------------------------------------------------------------------------------

function detailsDialog(ctx, e, locations, funcs) {
  const place = placeOf(e, locations);
  openDialog(ctx, `Executor ${e.executorname}`,
    facts([
      ['Name', e.executorname],
      ['Id', h('code', {}, e.executorid)],
      ['Type', e.executortype],
      ['State', stateBadge(e.state, STATE_LABELS, EXECUTOR_STATES)],
      ['Colony', e.colonyname],
      ['Location', e.locationname || (place ? place.name : '—')],
      place ? ['Coordinates', `${place.lat.toFixed(4)}, ${place.long.toFixed(4)}${place.desc ? ` — ${place.desc}` : ''}`] : null,
      ['Commissioned', fmtTime(e.commissiontime)],
      ['Last heard', isZeroTime(e.lastheardfromtime) ? 'never'
        : `${relTime(e.lastheardfromtime)} (${fmtTime(e.lastheardfromtime)})`],
      ['Needs registered functions', e.requirefuncreg ? 'yes' : 'no'],
      e.blueprintid ? ['Blueprint', `${e.blueprintid} (generation ${e.blueprintgen ?? 0})`] : null,
      ['Functions', (funcs || []).length ? funcs.map((f) => f.funcname).join(', ') : '—'],
    ]),
    h('h3', {}, 'Capabilities'), jsonBlock(e.capabilities ?? {}, `Capabilities of ${e.executorname}`),
    h('h3', {}, 'Allocations'), jsonBlock(e.allocations ?? {}, `Allocations of ${e.executorname}`));
}

async function render(ctx, root, { hash }) {
  const colonyname = ctx.session.colonyname;
  const owner = ctx.can('owner');
  const query = queryOf(hash);
  const data = { executors: [], functions: new Map(), locations: new Map() };
  let world = false;

  const stateSelect = h('select', { id: 'ex-state' },
    [['', 'All'], ['0', 'Pending'], ['1', 'Approved'], ['2', 'Rejected']].map(([v, label]) =>
      h('option', { value: v, selected: query.state === v }, label)));
  const search = h('input', { id: 'ex-search', type: 'search', placeholder: 'Name, type, location, function',
    value: query.q || '', autocomplete: 'off' });
  const updated = h('span', { class: 'muted refresh-note', role: 'status' });
  const statsSlot = h('div');
  const mapSlot = h('div');
  const tableSlot = h('div', { class: 'slot' });

  async function load() {
    const [executors, functions, locations] = await Promise.all([
      ctx.rpc('getexecutorsmsg', { colonyname }),
      ctx.rpc('getfunctionsmsg', { colonyname }),
      // Members and the colony owner read locations; anyone else sees only executors' own coordinates.
      ctx.rpc('getlocationsmsg', { colonyname }).catch((err) => {
        if (err.status === 403) return null;
        throw err;
      }),
    ]);
    data.executors = executors.filter((e) => e.state !== 3);
    data.functions = new Map();
    for (const f of functions) {
      if (!data.functions.has(f.executorname)) data.functions.set(f.executorname, []);
      data.functions.get(f.executorname).push(f);
    }
    data.locations = new Map((locations || []).map((l) => [l.name.toLowerCase(), l]));
    updated.textContent = `Updated ${new Date().toLocaleTimeString()}`;
    updated.classList.remove('error-text');
  }

  function filtered() {
    const state = stateSelect.value;
    const text = search.value.trim().toLowerCase();
    return data.executors.filter((e) => {
      if (state !== '' && e.state !== Number(state)) return false;
      if (!text) return true;
      const funcs = (data.functions.get(e.executorname) || []).map((f) => f.funcname);
      return [e.executorname, e.executortype, e.locationname, ...funcs].some((v) => (v || '').toLowerCase().includes(text));
    });
  }

  async function act(payloadtype, e, done) {
    await attempt(async () => {
      await ctx.rpc(payloadtype, { colonyname, executorname: e.executorname });
      await load();
      draw();
    }, done);
  }

  function actions(e) {
    const name = e.executorname;
    return h('div', { class: 'row-btns' },
      e.state !== 1 ? h('button', { type: 'button', class: 'btn small primary', 'aria-label': `Approve ${name}`,
        onclick: () => act('approveexecutormsg', e, `Approved ${name}`) }, 'Approve') : null,
      e.state !== 2 ? h('button', { type: 'button', class: 'btn small', 'aria-label': `Reject ${name}`,
        onclick: () => act('rejectexecutormsg', e, `Rejected ${name}`) }, 'Reject') : null,
      h('button', { type: 'button', class: 'btn small danger', 'aria-label': `Remove ${name}`,
        onclick: async () => {
          const ok = await confirmDialog(`Remove executor ${name}? It can no longer take work, and the processes it `
            + 'runs go back to the queue.', 'Remove executor');
          if (ok) await act('removeexecutormsg', e, `Removed ${name}`);
        } }, 'Remove'));
  }

  function drawStats() {
    const all = data.executors;
    statsSlot.replaceChildren(h('div', { class: 'stats' },
      stat('Executors', all.length),
      stat('Online', all.filter((e) => e.state === 1 && isOnline(e)).length, 'successful'),
      stat('Approved', all.filter((e) => e.state === 1).length, '', '#/executors?state=1'),
      stat('Pending approval', all.filter((e) => e.state === 0).length,
        all.some((e) => e.state === 0) ? 'waiting' : '', '#/executors?state=0'),
      stat('Rejected', all.filter((e) => e.state === 2).length, '', '#/executors?state=2')));
  }

  function drawMapCard() {
    const points = new Map();
    for (const loc of data.locations.values()) {
      points.set(loc.name.toLowerCase(), { name: loc.name, long: loc.long, lat: loc.lat, desc: loc.description,
        approved: 0, pending: 0, rejected: 0 });
    }
    let placed = 0;
    for (const e of data.executors) {
      const place = placeOf(e, data.locations);
      if (!place) continue;
      placed += 1;
      if (!points.has(place.key)) points.set(place.key, { ...place, approved: 0, pending: 0, rejected: 0 });
      const p = points.get(place.key);
      if (e.state === 1) p.approved += 1; else if (e.state === 0) p.pending += 1; else p.rejected += 1;
    }
    if (!points.size) {
      mapSlot.replaceChildren();
      return;
    }
    const unplaced = data.executors.length - placed;
    const toggle = h('button', {
      type: 'button', class: 'btn small ghost', 'aria-pressed': String(world), 'aria-label': 'Whole world',
      onclick: () => { world = !world; keepFocus(mapSlot, drawMapCard); },
    }, 'Whole world');
    const pick = (name) => { search.value = name; onFilter(); };
    mapSlot.replaceChildren(h('section', { class: 'card map-card', 'aria-label': 'Locations' },
      h('div', { class: 'card-head' }, h('h2', {}, 'Locations'),
        h('div', { class: 'map-legend' },
          h('span', { class: 'legend approved' }, 'approved'), h('span', { class: 'legend pending' }, 'pending only'),
          h('span', { class: 'legend empty' }, 'no executors'), toggle)),
      drawMap([...points.values()], world, pick),
      h('p', { class: 'help' }, unplaced
        ? `${unplaced} executor${unplaced > 1 ? 's have' : ' has'} no known coordinates. `
        : '', 'Select a location to list its executors.')));
  }

  function drawTable() {
    const rows = filtered();
    const me = ctx.session.member?.executorid;
    const columns = [
      { label: 'Name', value: (e) => h('span', { class: 'ex-name' }, e.executorname,
        e.executorid === me ? h('span', { class: 'badge you' }, 'you') : null) },
      { label: 'Type', value: (e) => e.executortype },
      { label: 'State', value: (e) => stateBadge(e.state, STATE_LABELS, EXECUTOR_STATES) },
      { label: 'Location', value: (e) => locationText(e, data.locations) },
      { label: 'Last heard', value: (e) => (isOnline(e)
        ? h('span', { class: 'online', title: fmtTime(e.lastheardfromtime) }, 'online')
        : h('span', { class: 'muted', title: fmtTime(e.lastheardfromtime) },
          isZeroTime(e.lastheardfromtime) ? 'never' : relTime(e.lastheardfromtime))) },
      { label: 'Functions', value: (e) => {
        const funcs = data.functions.get(e.executorname) || [];
        return funcs.length ? h('span', { class: 'chips' }, funcs.map((f) => h('code', { class: 'chip' }, f.funcname)))
          : h('span', { class: 'muted' }, '—');
      } },
      { label: 'Capabilities', value: (e) => capabilitiesSummary(e.capabilities) || h('span', { class: 'muted' }, '—'),
        class: 'caps' },
      owner ? { label: 'Actions', value: actions, class: 'row-actions' } : null,
    ].filter(Boolean);
    const empty = data.executors.length ? 'No executor matches the filters.' : 'No executors in this colony yet.';
    const view = table(columns, rows, {
      onOpen: (e) => detailsDialog(ctx, e, data.locations, data.functions.get(e.executorname)),
      rowKey: (e) => e.executorname, empty,
    });
    const trs = view.querySelectorAll ? view.querySelectorAll('tbody tr') : [];
    trs.forEach((tr, i) => { tr.dataset.state = EXECUTOR_STATES[rows[i].state] || 'unknown'; });
    tableSlot.replaceChildren(view);
  }

  function draw() {
    drawStats();
    keepFocus(mapSlot, drawMapCard);
    keepFocus(tableSlot, drawTable);
  }

  function onFilter() {
    history.replaceState(null, '', setQuery('/executors', { state: stateSelect.value, q: search.value.trim() }));
    drawTable();
  }
  stateSelect.addEventListener('change', onFilter);
  search.addEventListener('input', onFilter);

  await load();
  root.replaceChildren(
    h('div', { class: 'page-head' }, h('h1', {}, 'Executors'), updated),
    statsSlot,
    mapSlot,
    h('div', { class: 'filters' },
      h('div', {}, h('label', { for: 'ex-state' }, 'State'), stateSelect),
      h('div', {}, h('label', { for: 'ex-search' }, 'Search'), search)),
    tableSlot);
  draw();

  // No executor events exist: re-read on a slow timer while the tab is visible (see the top of this file).
  let busy = false;
  const refresh = async () => {
    if (busy || document.visibilityState !== 'visible') return;
    busy = true;
    try {
      await load();
      draw();
    } catch (err) {
      updated.textContent = `Could not refresh: ${err.message}`;
      updated.classList.add('error-text');
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(refresh, REFRESH_MS);
  const onVisible = () => { if (document.visibilityState === 'visible') refresh(); };
  document.addEventListener('visibilitychange', onVisible);
  ctx.onLeave(() => {
    clearInterval(timer);
    document.removeEventListener('visibilitychange', onVisible);
  });
}

export const executors = { title: 'Executors', roles: ['owner', 'user', 'executor'], render };
