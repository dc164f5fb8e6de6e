// The first page: counts by state, executors online, recent failures; the server owner sees the whole server.
import {
  h, card, stat, table, stateBadge, relTime, fmtTime, shortId, debounce, PROCESS_STATES, PROCESS_STATE_LABELS,
  EXECUTOR_STATES,
} from '../ui.js';

const ONLINE_SECONDS = 60; // an executor heard from within this is "online" (executors long-poll assign every ~10 s)

const isOnline = (e) => e.state === 1 && Date.now() - new Date(e.lastheardfromtime).getTime() < ONLINE_SECONDS * 1000;

function countTiles(stats, kind, linkable) {
  return h('div', { class: 'stats' }, PROCESS_STATES.map((name, state) =>
    stat(PROCESS_STATE_LABELS[state], stats[`${name}${kind}`] ?? 0, name,
      linkable ? `#/${kind}?state=${state}` : undefined)));
}

async function renderServer(ctx, root) {
  const [stats, colonies] = await Promise.all([ctx.rpc('getstatisticsmsg', {}), ctx.rpc('getcoloniesmsg', {})]);
  root.replaceChildren(
    h('div', { class: 'page-head' }, h('h1', {}, 'Server overview')),
    h('div', { class: 'grid two' },
      card('Processes', countTiles(stats, 'processes', false)),
      card('Workflows', countTiles(stats, 'workflows', false))),
    h('div', { class: 'stats' },
      stat('Colonies', stats.colonies, '', '#/colonies'),
      stat('Executors', stats.executors),
      stat('Active executors', stats.activeexecutors ?? 0)),
    card('Colonies', table(
      [{ label: 'Name', value: (c) => c.name }, { label: 'Owner id', value: (c) => h('code', { title: c.colonyid }, shortId(c.colonyid)) }],
      colonies, { onOpen: () => ctx.navigate('#/colonies'), empty: 'No colonies yet.' })));
}

async function renderColony(ctx, root) {
  const colonyname = ctx.session.colonyname;
  const member = ctx.can('user', 'executor');
  const [stats, executors, failures] = await Promise.all([
    ctx.rpc('getcolonystatsmsg', { colonyname }),
    ctx.rpc('getexecutorsmsg', { colonyname }),
    member ? ctx.rpc('getprocessesmsg', { colonyname, state: 3, count: 8 }) : Promise.resolve(null),
  ]);
  const online = executors.filter(isOnline);
  const pending = executors.filter((e) => e.state === 0);
  const byType = {};
  for (const e of executors.filter((x) => x.state === 1)) {
    const entry = (byType[e.executortype] ||= { type: e.executortype, approved: 0, online: 0 });
    entry.approved += 1;
    if (isOnline(e)) entry.online += 1;
  }
  const failureCard = failures === null ? null : card('Recent failures', table([
    { label: 'Process', value: (p) => h('code', { title: p.processid }, shortId(p.processid)) },
    { label: 'Function', value: (p) => p.spec?.funcname || '—' },
    { label: 'Executor type', value: (p) => p.spec?.conditions?.executortype || '—' },
    { label: 'Error', value: (p) => h('span', { class: 'error-text' }, (p.errors || []).join('; ') || '—') },
    { label: 'Ended', value: (p) => h('span', { title: fmtTime(p.endtime) }, relTime(p.endtime)) },
  ], failures, { onOpen: (p) => ctx.navigate(`#/process/${p.processid}`), empty: 'No failed processes.',
    rowKey: (p) => p.processid }));
  root.replaceChildren(
    h('div', { class: 'page-head' }, h('h1', {}, `Colony ${colonyname}`),
      h('span', { class: 'muted' }, ctx.can('owner') ? 'You own this colony.' : '')),
    h('div', { class: 'grid two' },
      card('Processes', countTiles(stats, 'processes', member)),
      card('Workflows', countTiles(stats, 'workflows', member))),
    h('div', { class: 'grid two' },
      card('Executors',
        h('div', { class: 'stats' },
          stat('Online', online.length, 'successful', '#/executors'),
          stat('Approved', executors.filter((e) => e.state === 1).length, '', '#/executors'),
          stat('Pending approval', pending.length, pending.length ? 'waiting' : '', '#/executors?state=0')),
        table([
          { label: 'Executor type', value: (t) => t.type },
          { label: 'Online', value: (t) => `${t.online} of ${t.approved}`, class: 'num' },
        ], Object.values(byType), { empty: 'No approved executors.' })),
      failureCard || card('Your role',
        h('p', {}, 'As the colony owner you manage executors and users. Processes and workflows are open to the ',
          'colony\'s members (users and executors).'),
        pending.length ? h('p', {}, h('a', { href: '#/executors?state=0' },
          `${pending.length} executor${pending.length > 1 ? 's' : ''} waiting for approval`), ' ',
          stateBadge(0, ['Pending'], EXECUTOR_STATES)) : null)));
}

export const overview = {
  title: 'Overview',
  roles: ['server', 'owner', 'user', 'executor'],
  async render(ctx, root) {
    const draw = () => (ctx.session.role === 'server' ? renderServer(ctx, root) : renderColony(ctx, root));
    await draw();
    ctx.onLive(debounce(() => draw().catch(() => {}), 1000)); // counts follow the colony's events
  },
};
