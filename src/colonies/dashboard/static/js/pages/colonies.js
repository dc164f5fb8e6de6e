// Colonies: the server owner's view. Server-wide statistics (getstatisticsmsg), the colonies, and adding and removing
// them. The server owner is no member of any colony, so per-colony statistics (getcolonystatsmsg) are not open to it.
import { h, card, stat, table, button, attempt, shortId, PROCESS_STATES, PROCESS_STATE_LABELS } from '../ui.js';

const HEX64 = /^[0-9a-f]{64}$/;

/** Asks to type the colony's name before removing it; resolves true when confirmed. */
function typedConfirm(name) {
  return new Promise((resolve) => {
    const input = h('input', { id: 'confirm-colony', type: 'text', autocomplete: 'off', spellcheck: 'false' });
    const confirm = button('Remove colony', () => { dialog.close(); resolve(true); }, { kind: 'danger', disabled: true });
    const dialog = h('dialog', { class: 'dialog typed-confirm', 'aria-label': `Remove colony ${name}` },
      h('h2', {}, `Remove colony ${name}?`),
      h('p', {}, 'Everything the colony holds goes with it: its executors, users, functions, processes, workflows, ',
        'logs, crons and generators. This cannot be undone.'),
      h('label', { for: 'confirm-colony' }, 'Type the colony name to confirm'),
      input,
      h('div', { class: 'actions' }, button('Cancel', () => { dialog.close(); resolve(false); }), confirm));
    input.addEventListener('input', () => { confirm.disabled = input.value !== name; });
    input.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' && input.value === name) { dialog.close(); resolve(true); }
    });
    dialog.addEventListener('close', () => { dialog.remove(); resolve(false); });
    document.body.append(dialog);
    dialog.showModal();
    input.focus();
  });
}

function statsRow(stats) {
  const sum = (kind) => PROCESS_STATES.reduce((n, name) => n + (stats[`${name}${kind}`] || 0), 0);
  return h('div', { class: 'stats', 'aria-label': 'Server statistics' },
    stat('Colonies', stats.colonies ?? 0),
    stat('Executors', stats.executors ?? 0),
    stat('Active executors', stats.activeexecutors ?? 0, 'successful'),
    ...PROCESS_STATES.slice(0, 4).map((name, i) =>
      stat(`${PROCESS_STATE_LABELS[i]} processes`, stats[`${name}processes`] ?? 0, name)),
    stat('Workflows', sum('workflows')));
}

async function render(ctx, root) {
  const statsSlot = h('div');
  const tableSlot = h('div');

  async function load() {
    const [stats, colonies] = await Promise.all([ctx.rpc('getstatisticsmsg', {}), ctx.rpc('getcoloniesmsg', {})]);
    statsSlot.replaceChildren(statsRow(stats));
    const sorted = [...colonies].sort((a, b) => a.name.localeCompare(b.name));
    tableSlot.replaceChildren(table([
      { label: 'Name', value: (c) => h('strong', {}, c.name) },
      { label: 'Colony id (owner\'s public id)', class: 'id-cell',
        value: (c) => h('code', { title: c.colonyid }, shortId(c.colonyid)) },
      { label: 'Actions', class: 'row-actions', value: (c) => h('div', { class: 'row-btns' },
        h('button', { type: 'button', class: 'btn small danger', 'aria-label': `Remove ${c.name}`,
          onclick: () => remove(c) }, 'Remove')) },
    ], sorted, { rowKey: (c) => c.name, empty: 'No colonies yet: add one below.' }));
  }

  async function remove(c) {
    if (!(await typedConfirm(c.name))) return;
    await attempt(async () => {
      await ctx.rpc('removecolonymsg', { colonyname: c.name });
      await load();
    }, `Removed colony ${c.name}`);
  }

  const nameInput = h('input', { id: 'colony-name', type: 'text', autocomplete: 'off', spellcheck: 'false',
    required: true, placeholder: 'e.g. research' });
  const ownerInput = h('input', { id: 'colony-owner', type: 'text', class: 'mono', autocomplete: 'off',
    spellcheck: 'false', required: true, placeholder: '64 hexadecimal characters', 'aria-describedby': 'owner-help' });
  const error = h('p', { class: 'form-error', role: 'alert' });
  const submit = h('button', { type: 'submit', class: 'btn primary' }, 'Add colony');
  const form = h('form', { novalidate: true },
    h('div', { class: 'form-row' },
      h('div', { class: 'field' }, h('label', { for: 'colony-name' }, 'Colony name'), nameInput),
      h('div', { class: 'field wide' }, h('label', { for: 'colony-owner' }, 'Owner id'), ownerInput),
      submit),
    h('p', { id: 'owner-help', class: 'help' }, 'The public id of the colony owner\'s key (',
      h('code', {}, 'colonies security id'), ' prints it). The colony\'s id is its owner\'s id: that key adds the ',
      'colony\'s executors and users.'),
    error);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const name = nameInput.value.trim();
    const colonyid = ownerInput.value.trim().replace(/^0x/i, '').toLowerCase();
    error.textContent = '';
    if (!name) { error.textContent = 'Give the colony a name.'; nameInput.focus(); return; }
    if (!HEX64.test(colonyid)) {
      error.textContent = 'The owner id is 64 hexadecimal characters (a public id, not a private key).';
      ownerInput.focus();
      return;
    }
    submit.disabled = true;
    try {
      await ctx.rpc('addcolonymsg', { colony: { colonyid, name } });
      nameInput.value = '';
      ownerInput.value = '';
      await attempt(load, `Added colony ${name}`);
    } catch (err) {
      error.textContent = err.message;
    } finally {
      submit.disabled = false;
    }
  });

  await load();
  root.replaceChildren(
    h('div', { class: 'page-head' }, h('h1', {}, 'Colonies'),
      h('span', { class: 'muted' }, 'Server-wide statistics; colonies\' own numbers are for their owners and members.')),
    statsSlot,
    card('Colonies', tableSlot),
    card('Add colony', form));
}

export const colonies = { title: 'Colonies', roles: ['server'], render };
