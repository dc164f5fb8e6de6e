// Small DOM helpers shared by the pages. Everything the server sends is data from other people (process input,
// output, names, log lines): it goes into the page through textContent and attributes only, never innerHTML.

const SVG_NS = 'http://www.w3.org/2000/svg';

function build(el, attrs, children) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'class') el.setAttribute('class', Array.isArray(value) ? value.filter(Boolean).join(' ') : value);
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key === 'value' && 'value' in el) el.value = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** h('a', {href: '#/x', class: 'link'}, 'text', child, [more]) — an element; strings become text nodes. */
export const h = (tag, attrs, ...children) => build(document.createElement(tag), attrs, children);

/** The same for SVG elements. */
export const s = (tag, attrs, ...children) => build(document.createElementNS(SVG_NS, tag), attrs, children);

export const PROCESS_STATES = ['waiting', 'running', 'successful', 'failed', 'cancelled'];
export const PROCESS_STATE_LABELS = ['Waiting', 'Running', 'Successful', 'Failed', 'Cancelled'];
export const EXECUTOR_STATES = ['pending', 'approved', 'rejected', 'removed'];

export function stateBadge(state, labels = PROCESS_STATE_LABELS, names = PROCESS_STATES) {
  const name = names[state] || 'unknown';
  return h('span', { class: `badge state-${name}` }, labels[state] || `state ${state}`);
}

/** Go zero times ("0001-01-01T00:00:00Z") are "never". */
export function isZeroTime(t) {
  return !t || t.startsWith('0001-01-01') || t.startsWith('1970-01-01T00:00:00Z');
}

export function fmtTime(t) {
  if (isZeroTime(t)) return '—';
  const d = new Date(t);
  if (Number.isNaN(d.getTime())) return String(t);
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}

export function relTime(t) {
  if (isZeroTime(t)) return '—';
  const d = new Date(t).getTime();
  if (Number.isNaN(d)) return String(t);
  const secs = Math.round((Date.now() - d) / 1000);
  const abs = Math.abs(secs);
  const unit = abs < 60 ? [abs, 's'] : abs < 3600 ? [Math.round(abs / 60), 'min'] : abs < 86400
    ? [Math.round(abs / 3600), 'h'] : [Math.round(abs / 86400), 'd'];
  return secs >= 0 ? `${unit[0]} ${unit[1]} ago` : `in ${unit[0]} ${unit[1]}`;
}

/** A duration between two times, e.g. "1.2 s", "3 min 4 s"; '' when either is missing. */
export function duration(from, to) {
  if (isZeroTime(from)) return '';
  const end = isZeroTime(to) ? Date.now() : new Date(to).getTime();
  const ms = end - new Date(from).getTime();
  if (!(ms >= 0)) return '';
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(1)} s`;
  const m = Math.floor(ms / 60000);
  return m < 60 ? `${m} min ${Math.round((ms % 60000) / 1000)} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

export const shortId = (id) => (id ? `${id.slice(0, 8)}…` : '—');

/** Pretty JSON in a <pre>, as text. */
export function jsonBlock(value, label) {
  const text = typeof value === 'string' ? value : JSON.stringify(value, null, 2);
  return h('pre', { class: 'json', 'aria-label': label || 'JSON', tabindex: '0' }, text ?? '');
}

/**
 * A table: columns = [{label, value: row => node|string, class?}], rows = [...].
 * onOpen(row) makes rows keyboard- and mouse-openable (Enter / click).
 */
export function table(columns, rows, { onOpen, empty = 'Nothing here yet.', caption, rowKey } = {}) {
  if (!rows.length) return h('p', { class: 'empty' }, empty);
  const body = rows.map((row) => {
    const tr = h('tr', onOpen ? { tabindex: '0', class: 'openable' } : {},
      columns.map((c) => h('td', { class: c.class }, c.value(row))));
    if (rowKey) tr.dataset.key = rowKey(row);
    if (onOpen) {
      tr.addEventListener('click', (ev) => { if (!ev.target.closest('button, a')) onOpen(row); });
      tr.addEventListener('keydown', (ev) => { if (ev.key === 'Enter' && ev.target === tr) onOpen(row); });
    }
    return tr;
  });
  return h('div', { class: 'table-wrap' },
    h('table', {}, caption ? h('caption', {}, caption) : null,
      h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col', class: c.class }, c.label)))),
      h('tbody', {}, body)));
}

/** A row of label → value facts (a <dl>). */
export function facts(pairs) {
  return h('dl', { class: 'facts' }, pairs.filter(Boolean).map(([k, v]) => [h('dt', {}, k), h('dd', {}, v ?? '—')]));
}

export function card(title, ...children) {
  return h('section', { class: 'card', 'aria-label': title }, title ? h('h2', {}, title) : null, ...children);
}

export function stat(label, value, cls, href) {
  const inner = [h('div', { class: 'stat-value' }, String(value ?? 0)), h('div', { class: 'stat-label' }, label)];
  return href ? h('a', { class: ['stat', cls], href }, inner) : h('div', { class: ['stat', cls] }, inner);
}

export function button(label, onClick, { kind = '', title, disabled } = {}) {
  return h('button', { type: 'button', class: ['btn', kind], title, disabled, onclick: onClick }, label);
}

let toastTimer = null;
/** A short message at the bottom of the screen, read out by screen readers. */
export function toast(message, kind = 'info') {
  const el = document.getElementById('toast');
  el.textContent = message;
  el.className = `toast show ${kind}`;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.className = 'toast'; }, kind === 'error' ? 8000 : 4000);
}

/** Runs an action, reports its error in a toast; returns its value or undefined. */
export async function attempt(fn, success) {
  try {
    const value = await fn();
    if (success) toast(success, 'ok');
    return value;
  } catch (err) {
    toast(err.message || String(err), 'error');
    return undefined;
  }
}

/** A modal confirmation (a <dialog>): resolves true when the user confirms. */
export function confirmDialog(question, confirmLabel = 'Confirm') {
  return new Promise((resolve) => {
    const dialog = h('dialog', { class: 'dialog', 'aria-label': 'Confirm' },
      h('p', {}, question),
      h('div', { class: 'actions' },
        button('Cancel', () => { dialog.close(); resolve(false); }),
        button(confirmLabel, () => { dialog.close(); resolve(true); }, { kind: 'danger' })));
    dialog.addEventListener('close', () => { dialog.remove(); resolve(false); });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** A dialog with a title and a Close button; removed when closed, and closed when the page is left. */
export function openDialog(ctx, title, ...content) {
  const dialog = h('dialog', { class: 'dialog wide', 'aria-label': title },
    h('div', { class: 'dialog-head' }, h('h2', {}, title),
      button('Close', () => dialog.close(), { kind: 'ghost small' })),
    ...content);
  dialog.addEventListener('close', () => dialog.remove());
  dialog.addEventListener('click', (ev) => { if (ev.target.closest('a[href^="#"]')) dialog.close(); });
  ctx.onLeave(() => { if (dialog.open) dialog.close(); });
  document.body.append(dialog);
  dialog.showModal();
  return dialog;
}

/** State tabs: a tablist of buttons, arrow keys move between them; draw(counts) redraws them, counts[stateName]
 * filling the count bubbles ('…' until known). */
export function stateTabs({ label, idPrefix, panelId, selected, onSelect }) {
  const el = h('div', { class: 'tabs', role: 'tablist', 'aria-label': label });
  const draw = (counts) => {
    el.replaceChildren(...PROCESS_STATES.map((name, state) => {
      const chosen = state === selected();
      return h('button', {
        type: 'button', role: 'tab', id: `${idPrefix}-${name}`, class: ['tab', name], 'aria-selected': String(chosen),
        'aria-controls': panelId, tabindex: chosen ? '0' : '-1', 'data-state': name, 'data-key': name,
        onclick: () => onSelect(state, false),
        onkeydown: (ev) => {
          const step = { ArrowRight: 1, ArrowLeft: -1 }[ev.key];
          if (step) { ev.preventDefault(); onSelect((state + step + 5) % 5, true); }
        },
      }, PROCESS_STATE_LABELS[state], ' ',
      h('span', { class: 'tab-count', 'data-count': '' }, counts ? String(counts[name] ?? 0) : '…'));
    }));
  };
  return { el, draw };
}

/** Redraws a part of the page and gives the keyboard focus back to the same control: found again inside the row
 * (data-key) or map place (data-location) it was in, by its label; else that row or place itself. */
export function keepFocus(slot, redraw) {
  const active = document.activeElement;
  const inside = active && active !== document.body && slot.contains(active);
  const labelOf = (el) => el.getAttribute('aria-label') || el.textContent;
  const idOf = (el) => (el.dataset.key !== undefined ? `key:${el.dataset.key}` : `place:${el.dataset.location}`);
  const holder = inside ? active.closest('[data-key], [data-location]') : null;
  const holderId = holder && slot.contains(holder) ? idOf(holder) : null;
  const label = inside ? labelOf(active) : null;
  redraw();
  if (!inside || slot.contains(active)) return;
  const scope = (holderId && [...slot.querySelectorAll('[data-key], [data-location]')]
    .find((el) => idOf(el) === holderId)) || null;
  const same = holder === active ? null : [...(scope || slot).querySelectorAll('button, a, input, select, [tabindex]')]
    .find((el) => labelOf(el) === label);
  (same || scope)?.focus();
}

export function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

/** Reads the query part of a hash route: #/processes?state=1 → {state: '1'}. */
export function queryOf(hash) {
  const i = hash.indexOf('?');
  return Object.fromEntries(new URLSearchParams(i < 0 ? '' : hash.slice(i + 1)));
}

export function setQuery(path, params) {
  const q = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== '' && v !== undefined && v !== null));
  const text = q.toString();
  return `#${path}${text ? `?${text}` : ''}`;
}
