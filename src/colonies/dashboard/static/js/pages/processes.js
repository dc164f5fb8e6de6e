// Processes: the colony's processes by state (filters, paging, live counts), and one process in full, its log live.
import {
  h, card, table, facts, button, attempt, confirmDialog, stateBadge, fmtTime, relTime, duration, isZeroTime,
  shortId, jsonBlock, queryOf, setQuery, keepFocus, stateTabs, PROCESS_STATES, PROCESS_STATE_LABELS,
} from '../ui.js';

const PAGE_SIZE = 50;
const FILTERS = [['executortype', 'Executor type'], ['label', 'Label'], ['initiator', 'Initiator'],
  ['funcname', 'Function']];
const ATTRIBUTE_TYPES = ['In', 'Out', 'Error', 'Env'];
const LOG_COUNT = 500;       // the server's limit per getlogsmsg
const LOG_MAX_LINES = 5000;  // lines kept in the page
const TS_MARGIN = 4096;      // ns: log timestamps exceed 2^53, so `since` starts a little early and duplicates are dropped

const muted = (text = '—') => h('span', { class: 'muted' }, text);
const when = (t) => (isZeroTime(t) ? muted() : h('time', { class: 'nowrap', datetime: t, title: fmtTime(t) }, relTime(t)));
const idCode = (id) => (id ? h('code', { class: 'proc-id', title: id }, shortId(id)) : muted());
const stateName = (state) => PROCESS_STATES[state] || 'unknown';
/** A duration that counts on (the process page updates these every second, without asking the server). */
const ticking = (from) => h('span', { 'data-tick-from': from }, duration(from, ''));
const put = (slot, ...kids) => slot.replaceChildren(...kids.filter(Boolean));

/** A debounced call (runs once calls stop for `ms`), cancellable when the page is left. */
function later(fn, ms) {
  let timer = null;
  const call = () => { clearTimeout(timer); timer = setTimeout(fn, ms); };
  call.cancel = () => clearTimeout(timer);
  return call;
}

/** Calls folded together: runs `ms` after the first call, however many follow (a steady stream still gets through). */
function coalesce(fn, ms) {
  let timer = null;
  const call = () => { timer ||= setTimeout(() => { timer = null; fn(); }, ms); };
  call.cancel = () => { clearTimeout(timer); timer = null; };
  return call;
}


// ---- the list ---------------------------------------------------------------------------------------------------

function nodeCell(p) {
  const node = p.spec?.nodename;
  if (!p.processgraphid) return node ? h('span', {}, node) : muted();
  return h('a', { href: `#/workflow/${p.processgraphid}`, title: `Workflow ${p.processgraphid}` }, node || 'workflow');
}

function listColumns(state) {
  const ran = state === 1 ? 'Running for' : 'Duration';
  return [
    { label: 'Process', value: (p) => idCode(p.processid) },
    { label: 'Function', value: (p) => h('span', {}, p.spec?.funcname || muted(),
      p.spec?.label ? h('span', { class: 'proc-label' }, p.spec.label) : null) },
    { label: 'Executor type', value: (p) => p.spec?.conditions?.executortype || muted() },
    { label: 'Node / workflow', value: nodeCell },
    { label: 'Initiator', value: (p) => p.initiatorname || idCode(p.initiatorid) },
    { label: 'Submitted', value: (p) => when(p.submissiontime) },
    state >= 1 ? { label: 'Started', value: (p) => when(p.starttime) } : null,
    state >= 2 ? { label: 'Ended', value: (p) => when(p.endtime) } : null,
    state === 0 ? { label: 'Waiting for', class: 'num', value: (p) => duration(p.submissiontime, '') || muted() }
      : { label: ran, class: 'num', value: (p) => duration(p.starttime, p.endtime) || muted() },
    state === 3 ? { label: 'Error', class: 'proc-err-cell', value: (p) => (p.errors?.length
      ? h('span', { class: 'error-text', title: p.errors.join('\n') }, String(p.errors[0])) : muted()) } : null,
    { label: 'State', value: (p) => stateBadge(p.state) },
  ].filter(Boolean);
}

async function renderList(ctx, root, { hash }) {
  const colonyname = ctx.session.colonyname;
  const q = queryOf(hash);
  const view = { state: Math.min(4, Math.max(0, parseInt(q.state, 10) || 0)),
    offset: Math.max(0, parseInt(q.offset, 10) || 0) };
  for (const [key] of FILTERS) view[key] = (q[key] || '').trim();
  let stats = null;
  let seq = 0;
  let left = false;

  const note = h('span', { class: 'muted refresh-note', role: 'status' });
  const tabs = stateTabs({ label: 'Process state', idPrefix: 'proc-tab', panelId: 'proc-panel',
    selected: () => view.state, onSelect: (state, focus) => selectTab(state, focus) });
  const panel = h('div', { class: 'proc-panel', role: 'tabpanel', id: 'proc-panel' });
  const inputs = {};
  const lists = {};
  const clear = button('Clear filters', () => {
    for (const [key] of FILTERS) inputs[key].value = '';
    applyFilters();
  }, { kind: 'ghost small' });

  const url = () => setQuery('/processes', { state: view.state, executortype: view.executortype, label: view.label,
    initiator: view.initiator, funcname: view.funcname, offset: view.offset || '' });
  function go(push) {
    history[push ? 'pushState' : 'replaceState'](null, '', url());
    load().catch(showError);
  }
  function applyFilters() {
    const next = Object.fromEntries(FILTERS.map(([key]) => [key, inputs[key].value.trim()]));
    if (FILTERS.every(([key]) => next[key] === view[key])) return;
    Object.assign(view, next, { offset: 0 });
    go(false);
  }
  const typed = later(applyFilters, 400);
  const filters = h('div', { class: 'filters proc-filters', role: 'search', 'aria-label': 'Filter processes' },
    FILTERS.map(([key, label]) => {
      lists[key] = h('datalist', { id: `proc-list-${key}` });
      inputs[key] = h('input', { id: `proc-f-${key}`, type: 'search', value: view[key], autocomplete: 'off',
        spellcheck: 'false', list: `proc-list-${key}`, placeholder: 'any', 'data-filter': key,
        oninput: typed, onchange: applyFilters,
        onkeydown: (ev) => { if (ev.key === 'Enter') { typed.cancel(); applyFilters(); } } });
      return h('div', {}, h('label', { for: `proc-f-${key}` }, label), inputs[key], lists[key]);
    }),
    clear);

  function selectTab(state, focus) {
    if (state === view.state) return;
    Object.assign(view, { state, offset: 0 });
    drawTabs();
    if (focus) tabs.el.querySelector(`[data-state="${stateName(state)}"]`)?.focus();
    go(true);
  }
  function drawTabs() {
    tabs.draw(stats && Object.fromEntries(PROCESS_STATES.map((name) => [name, stats[`${name}processes`] ?? 0])));
    panel.setAttribute('aria-labelledby', `proc-tab-${stateName(view.state)}`);
  }

  function drawList(rows) {
    const more = rows.length > PAGE_SIZE;
    const shown = rows.slice(0, PAGE_SIZE);
    const filtered = FILTERS.some(([key]) => view[key]);
    clear.hidden = !filtered;
    const name = PROCESS_STATE_LABELS[view.state].toLowerCase();
    const empty = view.offset ? 'No processes on this page.'
      : filtered ? `No ${name} processes match the filters.` : `No ${name} processes.`;
    const listing = table(listColumns(view.state), shown, {
      onOpen: (p) => ctx.navigate(`#/process/${p.processid}`), rowKey: (p) => p.processid, empty,
    });
    listing.querySelectorAll('tbody tr').forEach((tr, i) => {
      tr.dataset.state = stateName(shown[i].state);
      tr.dataset.processid = shown[i].processid;
    });
    const total = !filtered && stats ? stats[`${stateName(view.state)}processes`] : null;
    const range = shown.length ? `${view.offset + 1}–${view.offset + shown.length}${total != null ? ` of ${total}` : ''}` : '';
    const pager = view.offset || more ? h('nav', { class: 'pager', 'aria-label': 'Pages' },
      h('span', { 'data-range': '' }, range),
      button('Previous', () => { view.offset = Math.max(0, view.offset - PAGE_SIZE); go(true); },
        { disabled: view.offset === 0 }),
      button('Next', () => { view.offset += PAGE_SIZE; go(true); }, { disabled: !more })) : null;
    keepFocus(panel, () => put(panel, listing, pager));
  }

  function showError(err) {
    panel.replaceChildren(h('p', { class: 'form-error', role: 'alert' }, err.message || String(err)));
  }

  async function load() {
    const mine = ++seq;
    const msg = { colonyname, state: view.state, count: PAGE_SIZE + 1, offset: view.offset };
    for (const [key] of FILTERS) msg[key] = view[key];
    const [s, rows] = await Promise.all([
      ctx.rpc('getcolonystatsmsg', { colonyname }),
      ctx.rpc('getprocessesmsg', msg).catch((err) => err),
    ]);
    if (mine !== seq || left) return;
    stats = s;
    keepFocus(tabs.el, drawTabs);
    if (rows instanceof Error) showError(rows); else drawList(rows);
    note.textContent = `Updated ${new Date().toLocaleTimeString()}`;
    note.classList.remove('error-text');
  }

  async function suggestions() {
    const quiet = (p) => p.catch(() => []);
    const [executors, functions, users] = await Promise.all([quiet(ctx.rpc('getexecutorsmsg', { colonyname })),
      quiet(ctx.rpc('getfunctionsmsg', { colonyname })), quiet(ctx.rpc('getusersmsg', { colonyname }))]);
    const fill = (key, values) => lists[key].replaceChildren(
      ...[...new Set(values.filter(Boolean))].sort().map((v) => h('option', { value: v })));
    fill('executortype', executors.map((e) => e.executortype));
    fill('funcname', functions.map((f) => f.funcname));
    fill('initiator', [...users.map((u) => u.name), ...executors.map((e) => e.executorname)]);
  }

  // Live: any process event of the colony may move a row between states; re-read the view (coalesced).
  const refresh = coalesce(() => load().catch((err) => {
    note.textContent = `Could not refresh: ${err.message}`;
    note.classList.add('error-text');
  }), 500);
  ctx.onLive((events, resync) => { if (resync || events.some((e) => e.kind === 'process')) refresh(); });
  ctx.onLeave(() => { left = true; refresh.cancel(); typed.cancel(); });

  drawTabs();
  await load();
  root.replaceChildren(
    h('div', { class: 'page-head' }, h('h1', {}, 'Processes'),
      h('div', { class: 'actions' }, note, h('a', { class: 'btn', href: '#/submit' }, 'New process'))),
    tabs.el, filters, panel);
  suggestions().catch(() => {});
}

export const processes = { title: 'Processes', roles: ['user', 'executor'], render: renderList };

// ---- one process ------------------------------------------------------------------------------------------------

const hasValue = (v) => !(v === undefined || v === null || v === '' || v === 0 || v === '0m' || v === '0Mi'
  || (Array.isArray(v) && !v.length));
const shown = (v) => (hasValue(v) ? (Array.isArray(v) ? v.join(', ') : String(v)) : muted());
const isEmpty = (v) => v === undefined || v === null || (Array.isArray(v) ? !v.length
  : typeof v === 'object' && !Object.keys(v).length);

function conditionFacts(c = {}) {
  const gpu = c.gpu || {};
  const gpuText = gpu.count || gpu.name ? [`${gpu.count || 1}× ${gpu.name || 'GPU'}`, hasValue(gpu.mem) ? gpu.mem : '',
    gpu.nodecount ? `${gpu.nodecount} nodes` : ''].filter(Boolean).join(', ') : '';
  return facts([
    ['Executor type', shown(c.executortype)], ['Executor names', shown(c.executornames)],
    ['Location', shown(c.locationname)], ['Nodes', shown(c.nodes)], ['CPU', shown(c.cpu)], ['Memory', shown(c.mem)],
    ['Storage', shown(c.storage)], ['Processes', shown(c.processes)],
    ['Processes per node', shown(c.processespernode ?? c['processes-per-node'])],
    ['Walltime', hasValue(c.walltime) ? `${c.walltime} s` : muted()], ['GPU', shown(gpuText)],
    ['Dependencies', shown(c.dependencies)],
  ]);
}

function timeline(p) {
  const spec = p.spec || {};
  const end = ['', '', 'Succeeded', 'Failed', 'Cancelled'][p.state];
  const step = (name, kind, label, time, detail) => h('li', { class: ['proc-step', kind], 'data-step': name },
    h('span', { class: 'proc-dot', 'aria-hidden': 'true' }),
    h('div', {}, h('strong', {}, label), ' ', isZeroTime(time) ? null : h('time', { datetime: time }, fmtTime(time)),
      time && !isZeroTime(time) ? h('span', { class: 'muted' }, ` · ${relTime(time)}`) : null,
      detail ? h('div', { class: 'muted proc-step-detail' }, detail) : null));
  const started = !isZeroTime(p.starttime);
  const steps = [step('submitted', 'done', 'Submitted', p.submissiontime, p.initiatorname ? `by ${p.initiatorname}` : '')];
  if (p.state === 0) {
    steps.push(step('waiting', 'current', 'Waiting', '', [ticking(p.submissiontime), ' in the queue',
      p.waitforparents ? ' (waits for its parents)' : '']));
  }
  if (started) {
    steps.push(step('started', p.state === 1 ? 'current' : 'done', 'Started', p.starttime,
      `after ${duration(p.submissiontime, p.starttime)} in the queue`));
  }
  if (p.state === 1) steps.push(step('running', 'current', 'Running', '', ['for ', ticking(p.starttime)]));
  if (p.state >= 2) {
    steps.push(step('ended', stateName(p.state), end, p.endtime, started ? `ran ${duration(p.starttime, p.endtime)}`
      : `after ${duration(p.submissiontime, p.endtime)} waiting`));
  }
  const limit = (s) => (s > 0 ? `${s} s` : 'no limit');
  const deadline = (t) => (isZeroTime(t) ? null : h('span', {}, fmtTime(t), ' ', muted(`(${relTime(t)})`)));
  return [h('ol', { class: 'proc-timeline' }, steps), facts([
    ['Max wait time', limit(spec.maxwaittime)], ['Max exec time', limit(spec.maxexectime)],
    deadline(p.waitdeadline) ? ['Wait deadline', deadline(p.waitdeadline)] : null,
    deadline(p.execdeadline) ? ['Exec deadline', deadline(p.execdeadline)] : null,
    ['Retries', `${p.retries ?? 0} of ${spec.maxretries ?? 0}`],
  ])];
}

async function renderProcess(ctx, root, { id }) {
  const colonyname = ctx.session.colonyname;
  // Live from the start, so that nothing that happens while the page loads is missed.
  let ready = false;
  let missed = false;
  ctx.onLive((events, resync) => {
    const mine = events.filter((e) => e.processid === id);
    if (!ready) { missed ||= resync || mine.length > 0; return; }
    if (resync || mine.some((e) => e.kind === 'process')) refresh();
    if (follow.checked && (resync || mine.some((e) => e.kind === 'log'))) logSoon();
  });
  const [first, executors] = await Promise.all([ctx.rpc('getprocessmsg', { processid: id }),
    ctx.rpc('getexecutorsmsg', { colonyname }).catch(() => [])]);
  let proc = first;
  const names = new Map(executors.map((e) => [e.executorid, e.executorname]));
  const nodes = new Map();
  if (proc.processgraphid) {
    const graph = await ctx.rpc('getprocessgraphmsg', { processgraphid: proc.processgraphid }).catch(() => null);
    for (const n of graph?.nodes || []) nodes.set(n.id, n.data?.label || '');
  }
  let left = false;
  let specOpen = false;
  const procLink = (pid) => h('a', { href: `#/process/${pid}`, title: pid, class: 'proc-link' },
    nodes.get(pid) || shortId(pid));

  async function act(payloadtype, msg, done, after) {
    await attempt(async () => {
      const reply = await ctx.rpc(payloadtype, msg);
      if (after) after(reply); else await reload();
    }, done);
  }
  function actions(p) {
    const inGraph = Boolean(p.processgraphid);
    const live = p.state === 0 || p.state === 1;
    const cancel = live ? button(inGraph ? 'Cancel workflow' : 'Cancel', async () => {
      const what = inGraph ? 'the whole workflow this process belongs to (a workflow\'s processes are cancelled together)'
        : `process ${shortId(p.processid)}`;
      if (await confirmDialog(`Cancel ${what}? Waiting and running processes become cancelled.`,
        inGraph ? 'Cancel workflow' : 'Cancel process')) {
        await act(inGraph ? 'cancelprocessgraphmsg' : 'cancelprocessmsg',
          inGraph ? { processgraphid: p.processgraphid } : { processid: p.processid }, 'Cancelled');
      }
    }, { kind: 'danger' }) : null;
    const resubmit = button('Resubmit', () => {
      const spec = structuredClone(p.spec || {});
      spec.conditions = { ...(spec.conditions || {}), dependencies: [] }; // a new, stand-alone process
      spec.conditions.colonyname ||= colonyname;
      return act('submitfuncspecmsg', { spec }, 'Submitted a copy', (np) => ctx.navigate(`#/process/${np.processid}`));
    }, { title: 'Submit the same function spec again, as a new process' });
    const remove = !inGraph && p.state !== 1 ? button('Remove', async () => {
      if (await confirmDialog(`Remove process ${shortId(p.processid)} with its output and attributes? This cannot be `
        + 'undone.', 'Remove process')) {
        await act('removeprocessmsg', { processid: p.processid }, 'Removed',
          () => ctx.navigate(`#/processes?state=${p.state}`));
      }
    }, { kind: 'danger' }) : null;
    return h('div', { class: 'actions' }, cancel, resubmit, remove);
  }

  function summary(p) {
    const spec = p.spec || {};
    const assigned = p.assignedexecutorid;
    return facts([
      ['Process id', h('code', { class: 'proc-full-id' }, p.processid)],
      ['Colony', spec.conditions?.colonyname || colonyname], ['Function', shown(spec.funcname)],
      spec.label ? ['Label', spec.label] : null,
      ['Executor type', shown(spec.conditions?.executortype)],
      ['Assigned executor', assigned ? h('span', {}, names.get(assigned) || '', ' ', idCode(assigned)) : muted('none')],
      ['Initiator', h('span', {}, p.initiatorname || '', ' ', idCode(p.initiatorid))],
      p.processgraphid ? ['Workflow', h('a', { href: `#/workflow/${p.processgraphid}`, 'data-workflow': p.processgraphid },
        spec.nodename ? `${spec.nodename} in ` : '', shortId(p.processgraphid))] : null,
      p.parents?.length ? ['Parents', h('span', { class: 'proc-links' }, p.parents.map(procLink))] : null,
      p.children?.length ? ['Children', h('span', { class: 'proc-links' }, p.children.map(procLink))] : null,
      ['Priority', String(spec.priority ?? 0)],
      ['Retries', `${p.retries ?? 0} of ${spec.maxretries ?? 0}`],
      p.processgraphid ? ['Waits for parents', p.waitforparents ? 'yes' : 'no'] : null,
    ]);
  }

  function inputCard(p) {
    const spec = p.spec || {};
    const parts = [];
    if (!isEmpty(spec.args)) parts.push(h('h3', { class: 'proc-sub' }, 'Arguments'), jsonBlock(spec.args, 'Arguments'));
    if (!isEmpty(spec.kwargs)) parts.push(h('h3', { class: 'proc-sub' }, 'Keyword arguments'), jsonBlock(spec.kwargs, 'Keyword arguments'));
    if (!isEmpty(p.in)) parts.push(h('h3', { class: 'proc-sub' }, 'From parents'), jsonBlock(p.in, 'Input from parents'));
    return card('Input', parts.length ? parts : h('p', { class: 'empty' }, 'No input.'));
  }

  const headSlot = h('div');
  const topSlot = h('div', { class: 'proc-detail' });
  const bottomSlot = h('div', { class: 'proc-detail' });
  function draw() {
    const p = proc;
    const spec = p.spec || {};
    document.title = `${spec.funcname || 'Process'} · Colonies`;
    keepFocus(headSlot, () => headSlot.replaceChildren(
      h('a', { class: 'proc-back', href: `#/processes?state=${p.state}` }, '← Processes'),
      h('div', { class: 'page-head', 'data-state': stateName(p.state) },
        h('div', { class: 'proc-title' }, h('h1', {}, spec.funcname || 'Process'), stateBadge(p.state),
          idCode(p.processid)),
        actions(p))));
    const errors = (p.errors || []).map(String);
    keepFocus(topSlot, () => put(topSlot,
      errors.length ? h('section', { class: 'card proc-errors', 'aria-label': 'Errors' }, h('h2', {}, 'Errors'),
        h('ul', {}, errors.map((e) => h('li', {}, e)))) : null,
      h('div', { class: 'grid two' }, card('Summary', summary(p)), card('Timeline', timeline(p))),
      h('div', { class: 'grid two' }, inputCard(p),
        card('Output', isEmpty(p.out) ? h('p', { class: 'empty' }, p.state <= 1 ? 'No output yet.' : 'No output.')
          : jsonBlock(p.out, 'Output')))));
    const attrs = p.attributes || [];
    const details = h('details', { class: 'card proc-spec', open: specOpen,
      ontoggle: () => { specOpen = details.open; } },
    h('summary', {}, 'Spec (JSON)'), jsonBlock(spec, 'Process spec'));
    keepFocus(bottomSlot, () => bottomSlot.replaceChildren(
      h('div', { class: 'grid two' }, card('Conditions', conditionFacts(spec.conditions)),
        card('Attributes', table([
          { label: 'Key', value: (a) => h('code', {}, a.key) },
          { label: 'Value', value: (a) => h('span', { class: 'proc-attr-value' }, a.value) },
          { label: 'Type', value: (a) => ATTRIBUTE_TYPES[a.attributetype] || String(a.attributetype) },
        ], attrs, { empty: 'No attributes.', rowKey: (a) => a.attributeid }))),
      details));
  }

  // ---- the log: the newest lines first, then what arrives (getlogsmsg `since` is exclusive, in Unix ns) ----------
  const follow = h('input', { type: 'checkbox', id: 'proc-follow', checked: true });
  const logInfo = h('span', { class: 'muted', 'data-log-count': '0' });
  const logPanel = h('div', { class: 'proc-log', role: 'log', 'aria-label': 'Process log', tabindex: '0' },
    h('p', { class: 'proc-log-empty' }, 'Loading the log…'));
  const logState = { lastTs: 0, recent: [], lines: 0, busy: false, again: false, truncated: false };
  const logCard = h('section', { class: 'card', 'aria-label': 'Log' },
    h('div', { class: 'card-head' }, h('h2', {}, 'Log'),
      h('div', { class: 'proc-log-tools' }, logInfo, h('label', { class: 'check', for: 'proc-follow' }, follow, 'Follow'))),
    logPanel);

  function addLines(rows) {
    const atBottom = logPanel.scrollHeight - logPanel.scrollTop - logPanel.clientHeight < 24;
    const seen = new Map();
    for (const r of logState.recent) seen.set(r.key, (seen.get(r.key) || 0) + 1);
    let added = 0;
    for (const row of rows) {
      const ts = Number(row.timestamp);
      const key = `${ts}|${row.executorname}|${row.message}`;
      if (seen.get(key) > 0) { seen.set(key, seen.get(key) - 1); continue; }
      if (!logState.lines) logPanel.replaceChildren();
      const at = new Date(ts / 1e6);
      logPanel.append(h('div', { class: 'proc-log-line' },
        h('time', { class: 'proc-log-time', datetime: at.toISOString(), title: `${at.toISOString()} · ${row.executorname}` },
          at.toLocaleTimeString(undefined, { hour12: false }) + `.${String(at.getMilliseconds()).padStart(3, '0')}`),
        h('span', { class: 'proc-log-msg' }, String(row.message ?? '').replace(/\n$/, ''))));
      logState.lines += 1;
      logState.recent.push({ ts, key });
      logState.lastTs = Math.max(logState.lastTs, ts);
      added += 1;
    }
    while (logState.lines > LOG_MAX_LINES) { logPanel.firstChild.remove(); logState.lines -= 1; logState.truncated = true; }
    logState.recent = logState.recent.filter((r) => r.ts >= logState.lastTs - TS_MARGIN);
    if (!logState.lines) logPanel.replaceChildren(h('p', { class: 'proc-log-empty' }, 'No log lines yet.'));
    logInfo.dataset.logCount = String(logState.lines);
    logInfo.textContent = `${logState.lines} line${logState.lines === 1 ? '' : 's'}${logState.truncated
      ? ' (the latest)' : ''}`;
    if (added && follow.checked && atBottom) logPanel.scrollTop = logPanel.scrollHeight;
    return added;
  }

  async function fetchLog(initial = false) {
    if (logState.busy) { logState.again = true; return; }
    logState.busy = true;
    try {
      let first = initial;
      do {
        logState.again = false;
        const msg = first ? { colonyname, processid: id, count: LOG_COUNT, latest: true }
          : { colonyname, processid: id, count: LOG_COUNT, since: Math.max(0, logState.lastTs - TS_MARGIN) };
        const rows = await ctx.rpc('getlogsmsg', msg);
        if (left) return;
        if (first && rows.length >= LOG_COUNT) logState.truncated = true;
        const added = addLines(rows);
        if (first) logPanel.scrollTop = logPanel.scrollHeight;
        if (!first && rows.length >= LOG_COUNT && added) logState.again = true; // more than one reply's worth
        first = false;
      } while (logState.again && !left);
    } finally {
      logState.busy = false;
    }
  }
  follow.addEventListener('change', () => {
    if (!follow.checked) return;
    logPanel.scrollTop = logPanel.scrollHeight;
    fetchLog().catch(() => {});
  });

  async function reload() {
    try {
      proc = await ctx.rpc('getprocessmsg', { processid: id });
    } catch (err) {
      if (left) return;
      if (err.status === 404) {
        topSlot.replaceChildren(h('p', { class: 'form-error', role: 'alert' }, err.message));
        bottomSlot.replaceChildren();
      }
      return;
    }
    if (!left) draw();
  }

  const refresh = coalesce(() => { reload(); }, 300);
  const logSoon = coalesce(() => { fetchLog().catch(() => {}); }, 250); // new lines at most every 250 ms
  draw();
  root.replaceChildren(headSlot, topSlot, logCard, bottomSlot);
  ready = true; // events from here on are handled; a log fetch in flight goes round again when lines arrive
  const initial = fetchLog(true);
  if (missed) { refresh(); logSoon(); }
  await initial.catch((err) => logPanel.replaceChildren(h('p', { class: 'form-error' }, err.message)));
  const tick = setInterval(() => {
    for (const el of root.querySelectorAll('[data-tick-from]')) el.textContent = duration(el.dataset.tickFrom, '');
  }, 1000);
  ctx.onLeave(() => { left = true; refresh.cancel(); clearInterval(tick); logSoon.cancel(); });
}

export const process = { title: 'Process', roles: ['user', 'executor'], parent: 'processes', render: renderProcess };
