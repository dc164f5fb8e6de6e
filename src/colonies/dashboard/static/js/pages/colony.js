// The colony's registry pages: functions (with their call statistics), users (the owner adds and removes them) and
// a search over the colony's logs.
import {
  h, card, stat, table, facts, button, attempt, confirmDialog, fmtTime, relTime, shortId, jsonBlock, debounce, queryOf,
  setQuery, openDialog,
} from '../ui.js';


const field = (id, label, input, wide) => h('div', { class: ['field', wide && 'wide'] }, h('label', { for: id }, label),
  input);

// ---- functions ------------------------------------------------------------------------------------------------------

/** Seconds (a float) as "840 µs", "12 ms", "3.42 s", "2 min 5 s", "1 h 4 min". */
function secs(value) {
  const v = Number(value) || 0;
  if (v <= 0) return '0';
  if (v < 0.001) return `${Math.round(v * 1e6)} µs`;
  if (v < 1) return `${(v * 1000).toFixed(v < 0.01 ? 1 : 0)} ms`;
  if (v < 60) return `${v.toFixed(v < 10 ? 2 : 1)} s`;
  if (v < 3600) return `${Math.floor(v / 60)} min ${Math.round(v % 60)} s`;
  return `${Math.floor(v / 3600)} h ${Math.round((v % 3600) / 60)} min`;
}

const timing = (f, kind) => (f.counter ? h('span', { class: 'timing' }, secs(f[`min${kind}time`]),
  h('span', { class: 'sep', 'aria-hidden': 'true' }, '–'), secs(f[`max${kind}time`]))
  : h('span', { class: 'muted' }, '—'));

const average = (f, kind) => (f.counter ? h('span', { class: 'timing', title: `${f[`avg${kind}time`]} s` },
  secs(f[`avg${kind}time`])) : h('span', { class: 'muted' }, '—'));

function functionDetails(ctx, f) {
  const exact = (v) => `${secs(v)} (${Number(v) || 0} s)`;
  openDialog(ctx, `Function ${f.funcname} on ${f.executorname}`,
    facts([
      ['Function', h('code', {}, f.funcname)],
      f.description ? ['Description', f.description] : null,
      ['Executor', f.executorname],
      ['Executor type', f.executortype],
      f.locationname ? ['Location', f.locationname] : null,
      ['Id', h('code', {}, f.functionid)],
      ['Calls', String(f.counter ?? 0)],
      ['Exec time min / avg / max', f.counter ? [exact(f.minexectime), ' / ', exact(f.avgexectime), ' / ',
        exact(f.maxexectime)] : '—'],
      ['Wait time min / avg / max', f.counter ? [exact(f.minwaittime), ' / ', exact(f.avgwaittime), ' / ',
        exact(f.maxwaittime)] : '—'],
    ]),
    f.args ? [h('h3', {}, 'Arguments'), jsonBlock(f.args, `Arguments of ${f.funcname}`)] : null);
}

async function renderFunctions(ctx, root, { hash }) {
  const colonyname = ctx.session.colonyname;
  const search = h('input', { id: 'fn-search', type: 'search', autocomplete: 'off', value: queryOf(hash).q || '',
    placeholder: 'Function, executor or type' });
  const statsSlot = h('div');
  const slot = h('div', { class: 'slot' });
  let all = [];

  function draw() {
    const text = search.value.trim().toLowerCase();
    const rows = all.filter((f) => !text || [f.funcname, f.executorname, f.executortype]
      .some((v) => (v || '').toLowerCase().includes(text)));
    const names = new Set(all.map((f) => f.funcname));
    statsSlot.replaceChildren(h('div', { class: 'stats' },
      stat('Functions', names.size),
      stat('Registrations', all.length),
      stat('Executors', new Set(all.map((f) => f.executorname)).size),
      stat('Calls', all.reduce((n, f) => n + (f.counter || 0), 0))));
    slot.replaceChildren(table([
      { label: 'Function', value: (f) => [h('code', {}, f.funcname),
        f.description ? h('span', { class: 'fn-desc' }, f.description) : null] },
      { label: 'Executor', value: (f) => f.executorname },
      { label: 'Executor type', value: (f) => f.executortype },
      { label: 'Calls', value: (f) => String(f.counter ?? 0), class: 'num' },
      { label: 'Avg exec', value: (f) => average(f, 'exec'), class: 'num' },
      { label: 'Exec min–max', value: (f) => timing(f, 'exec'), class: 'num' },
      { label: 'Avg wait', value: (f) => average(f, 'wait'), class: 'num' },
      { label: 'Wait min–max', value: (f) => timing(f, 'wait'), class: 'num' },
    ], rows, {
      onOpen: (f) => functionDetails(ctx, f), rowKey: (f) => `${f.executorname}/${f.funcname}`,
      empty: all.length ? 'No function matches the search.' : 'No functions registered: executors register theirs when they start.',
    }));
  }

  async function load() {
    const functions = await ctx.rpc('getfunctionsmsg', { colonyname });
    all = functions.sort((a, b) => a.funcname.localeCompare(b.funcname) || a.executorname.localeCompare(b.executorname));
    draw();
  }

  search.addEventListener('input', () => {
    history.replaceState(null, '', setQuery('/functions', { q: search.value.trim() }));
    draw();
  });
  await load();
  root.replaceChildren(
    h('div', { class: 'page-head' }, h('h1', {}, 'Functions'),
      h('span', { class: 'muted' }, 'What the executors offer, and how their calls went (exec and wait times).')),
    statsSlot,
    h('div', { class: 'filters' }, h('div', {}, h('label', { for: 'fn-search' }, 'Search'), search)),
    slot);
  ctx.onLive(debounce(() => load().catch(() => {}), 2000)); // statistics change as processes close
}

// ---- users ----------------------------------------------------------------------------------------------------------

async function renderUsers(ctx, root) {
  const colonyname = ctx.session.colonyname;
  const owner = ctx.can('owner');
  const slot = h('div', { class: 'slot' });

  async function load() {
    const users = await ctx.rpc('getusersmsg', { colonyname });
    users.sort((a, b) => a.name.localeCompare(b.name));
    slot.replaceChildren(table([
      { label: 'Name', value: (u) => [h('strong', {}, u.name),
        u.userid === ctx.session.id ? h('span', { class: 'badge you' }, 'you') : null] },
      { label: 'Id', class: 'id-cell', value: (u) => h('code', { title: u.userid }, shortId(u.userid)) },
      { label: 'Email', value: (u) => (u.email ? h('a', { href: `mailto:${u.email}` }, u.email)
        : h('span', { class: 'muted' }, '—')) },
      { label: 'Phone', value: (u) => u.phone || h('span', { class: 'muted' }, '—') },
      owner ? { label: 'Actions', class: 'row-actions', value: (u) => h('div', { class: 'row-btns' },
        h('button', { type: 'button', class: 'btn small danger', 'aria-label': `Remove ${u.name}`,
          onclick: () => remove(u) }, 'Remove')) } : null,
    ].filter(Boolean), users, { rowKey: (u) => u.name, empty: 'No users in this colony.' }));
  }

  async function remove(u) {
    if (!(await confirmDialog(`Remove user ${u.name}? Their key can no longer use colony ${colonyname}.`,
      'Remove user'))) return;
    await attempt(async () => {
      await ctx.rpc('removeusermsg', { colonyname, name: u.name });
      await load();
    }, `Removed user ${u.name}`);
  }

  function addForm() {
    const inputs = {
      name: h('input', { id: 'user-name', type: 'text', autocomplete: 'off', spellcheck: 'false', required: true }),
      userid: h('input', { id: 'user-id', type: 'text', class: 'mono', autocomplete: 'off', spellcheck: 'false',
        required: true, placeholder: '64 hexadecimal characters', 'aria-describedby': 'user-id-help' }),
      email: h('input', { id: 'user-email', type: 'text', inputmode: 'email', autocomplete: 'off' }),
      phone: h('input', { id: 'user-phone', type: 'text', inputmode: 'tel', autocomplete: 'off' }),
    };
    const error = h('p', { class: 'form-error', role: 'alert' });
    const submit = h('button', { type: 'submit', class: 'btn primary' }, 'Add user');
    const form = h('form', { novalidate: true },
      h('div', { class: 'form-row' },
        field('user-name', 'Name', inputs.name),
        field('user-id', 'Public id', inputs.userid, true),
        field('user-email', 'Email', inputs.email),
        field('user-phone', 'Phone', inputs.phone),
        submit),
      h('p', { id: 'user-id-help', class: 'help' }, 'The public id of the user\'s key (',
        h('code', {}, 'colonies security id'), '). Users submit and read everything of the colony; they need no ',
        'approval.'),
      error);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      error.textContent = '';
      const user = {
        colonyname, name: inputs.name.value.trim(),
        userid: inputs.userid.value.trim().replace(/^0x/i, '').toLowerCase(),
        email: inputs.email.value.trim(), phone: inputs.phone.value.trim(),
      };
      if (!user.name) { error.textContent = 'Give the user a name.'; inputs.name.focus(); return; }
      if (!/^[0-9a-f]{64}$/.test(user.userid)) {
        error.textContent = 'The public id is 64 hexadecimal characters (a public id, not a private key).';
        inputs.userid.focus();
        return;
      }
      submit.disabled = true;
      try {
        await ctx.rpc('addusermsg', { user });
        for (const input of Object.values(inputs)) input.value = '';
        await attempt(load, `Added user ${user.name}`);
      } catch (err) {
        error.textContent = err.message;
      } finally {
        submit.disabled = false;
      }
    });
    return card('Add user', form);
  }

  await load();
  root.replaceChildren(
    h('div', { class: 'page-head' }, h('h1', {}, 'Users'),
      h('span', { class: 'muted' }, owner ? 'You add and remove the colony\'s users.' : 'The colony\'s users.')),
    slot,
    owner ? addForm() : null);
}

// ---- logs -----------------------------------------------------------------------------------------------------------

const DAYS = [1, 7, 30]; // the server searches at most 30 days back
const COUNTS = [50, 100]; // and returns at most 100 lines

/** The message as text nodes, each exact (case-sensitive, as the server matches) occurrence of `needle` in a <mark>. */
function highlight(text, needle) {
  const parts = [];
  let from = 0;
  for (let at = text.indexOf(needle); needle && at >= 0; at = text.indexOf(needle, from)) {
    if (at > from) parts.push(document.createTextNode(text.slice(from, at)));
    parts.push(h('mark', {}, needle));
    from = at + needle.length;
  }
  if (from < text.length) parts.push(document.createTextNode(text.slice(from)));
  return parts;
}

/** Log timestamps are Unix nanoseconds. */
const logTime = (ns) => new Date(Number(ns) / 1e6).toISOString();

async function renderLogs(ctx, root, { hash }) {
  const colonyname = ctx.session.colonyname;
  const query = queryOf(hash);
  const text = h('input', { id: 'log-text', type: 'search', autocomplete: 'off', spellcheck: 'false',
    value: query.q || '', placeholder: 'e.g. error, file not found, a job id' });
  const days = h('select', { id: 'log-days' }, DAYS.map((d) =>
    h('option', { value: String(d), selected: String(d) === (query.days || '7') }, d === 1 ? 'Last day' : `Last ${d} days`)));
  const count = h('select', { id: 'log-count' }, COUNTS.map((n) =>
    h('option', { value: String(n), selected: String(n) === (query.count || '50') }, `${n} lines`)));
  const results = h('div', { 'aria-live': 'polite' });
  let searched = '';

  const hint = () => h('div', { class: 'hint' },
    h('p', {}, 'Search the log lines the colony\'s executors wrote: type some text and press Enter.'),
    h('p', {}, 'The match is an exact, case-sensitive substring (', h('code', {}, 'Error'), ' does not find ',
      h('code', {}, 'error'), '); the newest lines come first.'));

  async function run() {
    const needle = text.value;
    history.replaceState(null, '', setQuery('/logs', { q: needle, days: days.value, count: count.value }));
    searched = needle;
    if (!needle.trim()) {
      results.replaceChildren(hint());
      return;
    }
    const limit = Number(count.value);
    const logs = await ctx.rpc('searchlogsmsg', { colonyname, text: needle, days: Number(days.value), count: limit });
    if (searched !== needle) return; // a newer search has started
    const span = Number(days.value) === 1 ? 'the last day' : `the last ${days.value} days`;
    results.replaceChildren(
      h('p', { class: 'muted', role: 'status' }, logs.length
        ? `${logs.length} line${logs.length === 1 ? '' : 's'} in ${span}, newest first`
          + (logs.length >= limit ? ` (the newest ${limit}; narrow the search to see older ones)` : '')
        : `No log line in ${span} contains “${needle}”.`),
      logs.length ? table([
        { label: 'Time', class: 'nowrap', value: (l) => {
          const t = logTime(l.timestamp);
          return h('time', { datetime: t, title: relTime(t) }, fmtTime(t));
        } },
        { label: 'Executor', value: (l) => l.executorname || '—' },
        { label: 'Process', value: (l) => (l.processid
          ? h('a', { href: `#/process/${encodeURIComponent(l.processid)}`, title: l.processid },
            h('code', {}, shortId(l.processid)))
          : h('span', { class: 'muted' }, 'executor log')) },
        { label: 'Message', class: 'log-msg', value: (l) => highlight(String(l.message ?? '').replace(/\s+$/, ''), needle) },
      ], logs, { rowKey: (l) => l.processid }) : null);
  }

  /** Runs the search; a refused one (too many days, say) is shown where the results go. */
  const search = () => run().catch((err) => {
    results.replaceChildren(h('p', { class: 'form-error', role: 'alert' }, err.message));
  });

  const submit = h('button', { type: 'submit', class: 'btn primary' }, 'Search');
  const form = h('form', { class: 'log-search', role: 'search' },
    h('div', { class: 'grow' }, h('label', { for: 'log-text' }, 'Search logs'), text),
    h('div', {}, h('label', { for: 'log-days' }, 'Days'), days),
    h('div', {}, h('label', { for: 'log-count' }, 'At most'), count),
    submit);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    search();
  });
  days.addEventListener('change', () => { if (text.value.trim()) search(); });
  count.addEventListener('change', () => { if (text.value.trim()) search(); });
  text.addEventListener('search', () => { if (!text.value) search(); }); // the clear (×) button

  root.replaceChildren(
    h('div', { class: 'page-head' }, h('h1', {}, 'Logs')),
    h('section', { class: 'card' }, form),
    results);
  await search();
  text.focus();
  // New lines may match: search again (coalesced) when the colony reports log activity.
  const again = debounce(() => { if (searched.trim()) run().catch(() => {}); }, 3000);
  ctx.onLive((events, resync) => { if (resync || events.some((e) => e.kind === 'log')) again(); });
}

export const functions = { title: 'Functions', roles: ['owner', 'user', 'executor'], render: renderFunctions };
export const users = { title: 'Users', roles: ['owner', 'user', 'executor'], render: renderUsers };
export const logs = { title: 'Logs', roles: ['user', 'executor'], render: renderLogs };
