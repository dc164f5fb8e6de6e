// Crons and generators: workflows started on a schedule, or once enough arguments are packed. For the colony's
// members (the owner may not read them). They send no events of their own; the workflows they start do, so the
// lists are re-read (coalesced) when the colony's live channel reports activity.
import {
  h, card, table, facts, button, attempt, toast, confirmDialog, openDialog, fmtTime, relTime, isZeroTime, shortId,
  jsonBlock, debounce,
} from '../ui.js';

const RUNS = 20; // recent runs shown in a details dialog


/** A time as "in 3 h" / "5 min ago", the full time in its tooltip; "never" for a zero time. */
function when(t, never = 'never') {
  if (isZeroTime(t)) return h('span', { class: 'muted' }, never);
  return h('time', { datetime: t, title: fmtTime(t) }, relTime(t));
}

function seconds(n) {
  if (n < 60) return `${n} s`;
  if (n < 3600) return n % 60 ? `${Math.floor(n / 60)} min ${n % 60} s` : `${n / 60} min`;
  const hours = Math.floor(n / 3600);
  const mins = Math.round((n % 3600) / 60);
  return mins ? `${hours} h ${mins} min` : `${hours} h`;
}

const graphLink = (id) => (id ? h('a', { href: `#/workflow/${encodeURIComponent(id)}`, title: id },
  h('code', {}, shortId(id))) : h('span', { class: 'muted' }, '—'));

/** The workflow spec (a JSON string on the wire), pretty-printed, with a line naming its nodes. */
function workflowSpec(text, label) {
  let spec = null;
  try {
    spec = JSON.parse(text || '{}');
  } catch {
    return jsonBlock(text || '', label);
  }
  const nodes = Array.isArray(spec?.functionspecs) ? spec.functionspecs : [];
  const names = nodes.map((n) => n.nodename || n.funcname).filter(Boolean);
  return [
    h('p', { class: 'help' }, `${nodes.length} function spec${nodes.length === 1 ? '' : 's'}`,
      names.length ? `: ${names.slice(0, 12).join(', ')}${names.length > 12 ? ', …' : ''}` : ''),
    jsonBlock(spec, label),
  ];
}

const runsTable = (runs, extra) => table([
  { label: 'Fired', value: (r) => when(r.fired) },
  ...extra,
  { label: 'Reason', value: (r) => r.reason || '—' },
  { label: 'Workflow', value: (r) => graphLink(r.processgraphid) },
], runs, { empty: 'No runs yet.' });

/** Re-reads on the colony's live activity (coalesced) and after the page's own actions. */
function follow(ctx, reload) {
  ctx.onLive(debounce(() => reload().catch(() => {}), 2000));
}

// ---- crons ------------------------------------------------------------------------------------------------------------

function cronSchedule(c) {
  if (c.interval === -1 || c.cronexpression) {
    return h('span', { class: 'schedule', title: 'Cron expression (with seconds)' }, c.cronexpression);
  }
  return h('span', {}, `every ${seconds(c.interval)}`, c.random ? h('span', { class: 'tag' }, 'random') : null);
}

async function cronDetails(ctx, c) {
  const runs = await ctx.rpc('getcronrunsmsg', { cronid: c.cronid, count: RUNS });
  openDialog(ctx, `Cron ${c.name}`,
    facts([
      ['Name', c.name],
      ['Id', h('code', {}, c.cronid)],
      ['Schedule', cronSchedule(c)],
      ['Next run', isZeroTime(c.nextrun) ? '—' : `${fmtTime(c.nextrun)} (${relTime(c.nextrun)})`],
      ['Last run', isZeroTime(c.lastrun) ? 'never' : `${fmtTime(c.lastrun)} (${relTime(c.lastrun)})`],
      ['Waits for the previous workflow', c.waitforprevprocessgraph ? 'yes' : 'no'],
      ['Previous workflow', graphLink(c.prevprocessgraphid)],
      ['Added by', c.initiatorname || h('code', {}, c.initiatorid)],
      c.checkerperiod ? ['Checked every', `${c.checkerperiod} ms`] : null,
    ]),
    h('h3', {}, `Recent runs (${runs.length})`),
    runsTable(runs, [{ label: 'Scheduled', value: (r) => when(r.scheduled, '—') }]),
    h('h3', {}, 'Workflow'),
    workflowSpec(c.workflowspec, `Workflow spec of cron ${c.name}`));
}

async function renderCrons(ctx, root) {
  const colonyname = ctx.session.colonyname;
  const slot = h('div', { class: 'slot' });

  async function load() {
    const crons = await ctx.rpc('getcronsmsg', { colonyname, count: 100 });
    slot.replaceChildren(table([
      { label: 'Name', value: (c) => h('strong', {}, c.name) },
      { label: 'Schedule', value: cronSchedule },
      { label: 'Next run', value: (c) => when(c.nextrun, '—'), class: 'nowrap' },
      { label: 'Last run', value: (c) => when(c.lastrun), class: 'nowrap' },
      { label: 'Waits for previous', value: (c) => (c.waitforprevprocessgraph ? 'yes' : 'no') },
      { label: 'Last workflow', value: (c) => graphLink(c.prevprocessgraphid) },
      { label: 'Added by', value: (c) => c.initiatorname || shortId(c.initiatorid) },
      { label: 'Actions', class: 'row-actions', value: (c) => h('div', { class: 'row-btns' },
        h('button', { type: 'button', class: 'btn small', 'aria-label': `Run ${c.name} now`,
          onclick: () => runNow(c) }, 'Run now'),
        h('button', { type: 'button', class: 'btn small danger', 'aria-label': `Remove ${c.name}`,
          onclick: () => remove(c) }, 'Remove')) },
    ], crons, {
      onOpen: (c) => attempt(() => cronDetails(ctx, c)), rowKey: (c) => c.name,
      empty: 'No crons in this colony. Add one with `colonies cron add`.',
    }));
  }

  async function runNow(c) {
    const started = await attempt(async () => {
      const after = await ctx.rpc('runcronmsg', { cronid: c.cronid });
      await load();
      return Boolean(after.prevprocessgraphid) && after.prevprocessgraphid !== c.prevprocessgraphid;
    });
    if (started === true) toast(`Started a run of ${c.name}`, 'ok');
    else if (started === false) toast(`${c.name} waits for its previous workflow to end`);
  }

  async function remove(c) {
    if (!(await confirmDialog(`Remove cron ${c.name}? The workflows it started stay.`, 'Remove cron'))) return;
    await attempt(async () => {
      await ctx.rpc('removecronmsg', { cronid: c.cronid });
      await load();
    }, `Removed cron ${c.name}`);
  }

  await load();
  root.replaceChildren(
    h('div', { class: 'page-head' }, h('h1', {}, 'Crons'),
      h('span', { class: 'muted' }, 'Workflows started on a schedule. Open a cron for its workflow and recent runs.')),
    slot);
  follow(ctx, load);
}

// ---- generators -------------------------------------------------------------------------------------------------------

async function generatorDetails(ctx, g) {
  const [full, runs] = await Promise.all([
    ctx.rpc('getgeneratormsg', { generatorid: g.generatorid }),
    ctx.rpc('getgeneratorrunsmsg', { generatorid: g.generatorid, count: RUNS }),
  ]);
  openDialog(ctx, `Generator ${g.name}`,
    facts([
      ['Name', full.name],
      ['Id', h('code', {}, full.generatorid)],
      ['Trigger', `${full.trigger} packed argument${full.trigger === 1 ? '' : 's'}`],
      ['Timeout', full.timeout ? `${seconds(full.timeout)} after the first packed argument` : 'none'],
      ['Queued arguments', String(full.queuesize ?? 0)],
      ['First packed', isZeroTime(full.firstpack) ? '—' : fmtTime(full.firstpack)],
      ['Last run', isZeroTime(full.lastrun) ? 'never' : `${fmtTime(full.lastrun)} (${relTime(full.lastrun)})`],
      ['Added by', full.initiatorname || h('code', {}, full.initiatorid)],
      full.checkerperiod ? ['Checked every', `${full.checkerperiod} ms`] : null,
    ]),
    h('h3', {}, `Recent runs (${runs.length})`),
    runsTable(runs, [{ label: 'Arguments', value: (r) => String(r.args), class: 'num' }]),
    h('h3', {}, 'Workflow'),
    workflowSpec(full.workflowspec, `Workflow spec of generator ${g.name}`));
}

async function renderGenerators(ctx, root) {
  const colonyname = ctx.session.colonyname;
  const slot = h('div', { class: 'slot' });
  const select = h('select', { id: 'pack-generator', required: true });
  const argInput = h('input', { id: 'pack-arg', type: 'text', autocomplete: 'off', spellcheck: 'false',
    placeholder: 'e.g. s3://bucket/batch-0042.csv' });
  let list = [];

  async function load() {
    const generators = await ctx.rpc('getgeneratorsmsg', { colonyname, count: 100 });
    list = generators.map((g) => ({ ...g, queued: g.queuesize ?? 0 }));
    const chosen = select.value;
    select.replaceChildren(...list.map((g) => h('option', { value: g.generatorid, selected: g.generatorid === chosen },
      g.name)));
    slot.replaceChildren(table([
      { label: 'Name', value: (g) => h('strong', {}, g.name) },
      { label: 'Trigger', value: (g) => `${g.trigger} arg${g.trigger === 1 ? '' : 's'}`, class: 'num' },
      { label: 'Timeout', value: (g) => (g.timeout ? seconds(g.timeout) : '—'), class: 'num' },
      { label: 'Queued', value: (g) => (g.queued === null ? '…' : `${g.queued} of ${g.trigger}`), class: 'num' },
      { label: 'Last run', value: (g) => when(g.lastrun), class: 'nowrap' },
      { label: 'Added by', value: (g) => g.initiatorname || shortId(g.initiatorid) },
      { label: 'Actions', class: 'row-actions', value: (g) => h('div', { class: 'row-btns' },
        h('button', { type: 'button', class: 'btn small danger', 'aria-label': `Remove ${g.name}`,
          onclick: () => remove(g) }, 'Remove')) },
    ], list, {
      onOpen: (g) => attempt(() => generatorDetails(ctx, g)), rowKey: (g) => g.name,
      empty: 'No generators in this colony. Add one with `colonies generator add`.',
    }));
  }

  async function remove(g) {
    const ok = await confirmDialog(`Remove generator ${g.name}? Its queued arguments go with it; the workflows it `
      + 'started stay.', 'Remove generator');
    if (!ok) return;
    await attempt(async () => {
      await ctx.rpc('removegeneratormsg', { generatorid: g.generatorid });
      await load();
    }, `Removed generator ${g.name}`);
  }

  const error = h('p', { class: 'form-error', role: 'alert' });
  const submit = h('button', { type: 'submit', class: 'btn primary' }, 'Pack argument');
  const form = h('form', {},
    h('div', { class: 'form-row' },
      h('div', { class: 'field' }, h('label', { for: 'pack-generator' }, 'Generator'), select),
      h('div', { class: 'field wide' }, h('label', { for: 'pack-arg' }, 'Argument'), argInput),
      submit),
    h('p', { class: 'help' }, 'A generator starts its workflow once it holds as many arguments as its trigger, or ',
      'when its timeout has passed since the first one; the arguments become the input of the workflow\'s roots.'),
    error);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.textContent = '';
    const g = list.find((x) => x.generatorid === select.value);
    if (!g) { error.textContent = 'Choose a generator.'; return; }
    submit.disabled = true;
    try {
      await ctx.rpc('packgeneratormsg', { generatorid: g.generatorid, arg: argInput.value });
      argInput.value = '';
      await attempt(load, `Packed an argument for ${g.name}`);
    } catch (err) {
      error.textContent = err.message;
    } finally {
      submit.disabled = false;
    }
  });

  await load();
  root.replaceChildren(
    h('div', { class: 'page-head' }, h('h1', {}, 'Generators'),
      h('span', { class: 'muted' }, 'Workflows started by packed arguments. Open one for its workflow and runs.')),
    slot,
    list.length ? card('Feed a generator', form) : null);
  follow(ctx, load);
}

export const crons = { title: 'Crons', roles: ['user', 'executor'], render: renderCrons };
export const generators = { title: 'Generators', roles: ['user', 'executor'], render: renderGenerators };
