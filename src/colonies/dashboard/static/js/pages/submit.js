// Submit: a function spec or a workflow as JSON. The server validates (cycles, unknown nodes, bad values) and its
// message is shown as it is; the page only checks that the text is JSON and fills in the session's colony.
import { h, card, table, button, toast, shortId, queryOf, setQuery } from '../ui.js';

const MODES = [['func', 'Function spec'], ['workflow', 'Workflow']];
let drafts = null; // {colony, func, workflow}: the texts survive leaving the page (memory only, this tab)

/** Where the first syntax error of a JSON text is (an offset), or -1; JSON.parse does not always say. */
function errorOffset(text) {
  let i = 0;
  const fail = () => { throw i; };
  const ws = () => { while (i < text.length && ' \t\n\r'.includes(text[i])) i += 1; };
  const expect = (c) => { ws(); if (text[i] !== c) fail(); i += 1; };
  const word = (w) => { if (!text.startsWith(w, i)) fail(); i += w.length; };
  function string() {
    i += 1;
    while (i < text.length) {
      const c = text[i];
      if (c === '"') { i += 1; return; }
      if (c < ' ') fail();
      if (c === '\\') {
        i += 1;
        if (text[i] === 'u') { if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) fail(); i += 5; continue; }
        if (i >= text.length || !'"\\/bfnrt'.includes(text[i])) fail();
      }
      i += 1;
    }
    fail();
  }
  function value() {
    ws();
    const c = text[i];
    if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']';
      i += 1;
      ws();
      if (text[i] === close) { i += 1; return; }
      for (;;) {
        if (c === '{') { ws(); if (text[i] !== '"') fail(); string(); expect(':'); }
        value();
        ws();
        if (text[i] === ',') { i += 1; continue; }
        if (text[i] === close) { i += 1; return; }
        fail();
      }
    }
    if (c === '"') return string();
    if (c === 't' || c === 'f' || c === 'n') return word({ t: 'true', f: 'false', n: 'null' }[c]);
    const num = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (!num) fail();
    i += num[0].length;
    return undefined;
  }
  try {
    value();
    ws();
    if (i < text.length) fail();
    return -1;
  } catch (at) {
    if (typeof at === 'number') return at;
    throw at;
  }
}

/** JSON.parse, with a syntax error told as "line L, column C: ..." and its offset. */
function parseJSON(text) {
  try {
    return { value: JSON.parse(text) };
  } catch (err) {
    let at = errorOffset(text);
    if (at < 0) at = Number(/position (\d+)/.exec(err.message)?.[1] ?? text.length);
    const before = text.slice(0, at);
    const line = before.split('\n').length;
    const column = at - before.lastIndexOf('\n');
    const why = err.message.replace(/, ("|\.\.\.).*is not valid JSON$/s, '').replace(/ in JSON at position \d+.*$/s, '');
    return { error: `Invalid JSON at line ${line}, column ${column}: ${why}`, at };
  }
}

async function render(ctx, root, { hash }) {
  const colonyname = ctx.session.colonyname;
  const [executors, functions] = await Promise.all([
    ctx.rpc('getexecutorsmsg', { colonyname }).catch(() => []),
    ctx.rpc('getfunctionsmsg', { colonyname }).catch(() => []),
  ]);
  const approved = executors.filter((e) => e.state === 1);
  const example = functions.find((f) => f.funcname === 'echo') || functions[0];
  const executortype = example?.executortype || approved[0]?.executortype || 'my-executor-type';
  const funcname = example?.funcname || 'echo';
  const node = (name, deps, word) => ({ nodename: name, funcname, kwargs: { args: [word] },
    conditions: { executortype, dependencies: deps }, maxexectime: 60, maxretries: 3 });
  const templates = {
    func: { funcname, kwargs: { args: ['hello'] }, conditions: { colonyname, executortype }, maxexectime: 60,
      maxretries: 3 },
    workflow: { colonyname, functionspecs: [node('first', [], 'hello'), node('second', ['first'], 'world')] },
  };
  const pretty = (v) => JSON.stringify(v, null, 2);
  if (!drafts || drafts.colony !== colonyname) {
    drafts = { colony: colonyname, func: pretty(templates.func), workflow: pretty(templates.workflow) };
  }
  let mode = queryOf(hash).mode === 'workflow' ? 'workflow' : 'func';

  const editor = h('textarea', { id: 'submit-spec', class: 'submit-editor', rows: '24', spellcheck: 'false',
    autocomplete: 'off', autocapitalize: 'off', 'aria-describedby': 'submit-help submit-error', value: drafts[mode],
    'data-mode': mode });
  const caret = h('span', { class: 'muted submit-caret', 'aria-hidden': 'true' });
  const error = h('p', { class: 'form-error submit-error', id: 'submit-error', role: 'alert' });
  const send = h('button', { type: 'submit', class: 'btn primary' }, 'Submit');
  const help = h('p', { class: 'help', id: 'submit-help' });

  function showError(message, at) {
    error.textContent = message || '';
    if (message) editor.setAttribute('aria-invalid', 'true'); else editor.removeAttribute('aria-invalid');
    if (at !== undefined && at >= 0) {
      editor.focus();
      editor.setSelectionRange(at, Math.min(at + 1, editor.value.length));
      showCaret();
    }
  }
  function showCaret() {
    const before = editor.value.slice(0, editor.selectionStart);
    caret.textContent = `Line ${before.split('\n').length}, column ${before.length - before.lastIndexOf('\n')}`;
  }
  function describe() {
    help.textContent = mode === 'func'
      ? 'A function spec: funcname, args/kwargs, conditions (executortype, and colonyname — filled in with '
        + `${colonyname} when missing), maxexectime, maxwaittime, maxretries, priority, label, env.`
      : 'A workflow: colonyname and functionspecs, each with a unique nodename and conditions.dependencies naming '
        + 'the nodes it waits for. The server refuses cycles and unknown nodes.';
  }

  const radios = MODES.map(([value, label]) => h('label', { class: 'submit-mode-option' },
    h('input', { type: 'radio', name: 'submit-mode', value, checked: value === mode,
      onchange: () => setMode(value) }), label));
  function setMode(next) {
    if (next === mode) return;
    drafts[mode] = editor.value;
    mode = next;
    editor.value = drafts[mode];
    editor.dataset.mode = mode;
    showError('');
    describe();
    history.replaceState(null, '', setQuery('/submit', { mode: mode === 'workflow' ? 'workflow' : '' }));
  }

  /** The spec to send, or null (the error is shown). */
  function readSpec() {
    const parsed = parseJSON(editor.value);
    if (parsed.error) { showError(parsed.error, parsed.at); return null; }
    let spec = parsed.value;
    if (mode === 'workflow' && Array.isArray(spec)) spec = { colonyname, functionspecs: spec };
    if (!spec || typeof spec !== 'object' || Array.isArray(spec)) {
      showError(`A ${mode === 'func' ? 'function spec' : 'workflow'} is a JSON object ({…}).`);
      return null;
    }
    if (mode === 'func' && Array.isArray(spec.functionspecs)) {
      showError('This is a workflow (it has functionspecs): choose Workflow above.');
      return null;
    }
    if (mode === 'workflow' && !Array.isArray(spec.functionspecs)) {
      showError('A workflow needs a functionspecs list; for a single function choose Function spec above.');
      return null;
    }
    if (mode === 'func') {
      if (spec.conditions === undefined || spec.conditions === null) spec.conditions = {};
      if (typeof spec.conditions === 'object' && !spec.conditions.colonyname) spec.conditions.colonyname = colonyname;
    } else if (!spec.colonyname) {
      spec.colonyname = colonyname;
    }
    return spec;
  }

  function format() {
    const parsed = parseJSON(editor.value);
    if (parsed.error) { showError(parsed.error, parsed.at); return; }
    editor.value = pretty(parsed.value);
    showError('');
    showCaret();
  }

  /** "Use" a registered function: the function spec takes its name and type; a workflow gets a node for it. */
  function use(f) {
    const parsed = parseJSON(editor.value);
    if (parsed.error) { showError(parsed.error, parsed.at); return; }
    let spec = parsed.value;
    if (mode === 'func' && spec && typeof spec === 'object' && !Array.isArray(spec)) {
      spec.funcname = f.funcname;
      spec.conditions = { ...(spec.conditions || {}), executortype: f.executortype };
    } else if (mode === 'workflow' && spec && Array.isArray(spec.functionspecs)) {
      const taken = new Set(spec.functionspecs.map((s) => s.nodename));
      let n = spec.functionspecs.length + 1;
      while (taken.has(`node-${n}`)) n += 1;
      const last = spec.functionspecs[spec.functionspecs.length - 1]?.nodename;
      spec.functionspecs.push({ nodename: `node-${n}`, funcname: f.funcname, kwargs: {},
        conditions: { executortype: f.executortype, dependencies: last ? [last] : [] }, maxexectime: 60, maxretries: 3 });
    } else {
      spec = mode === 'func' ? { ...templates.func, funcname: f.funcname,
        conditions: { colonyname, executortype: f.executortype } } : templates.workflow;
    }
    editor.value = pretty(spec);
    showError('');
    editor.focus();
  }

  const form = h('form', { class: 'card submit-form', 'aria-label': 'Specification', novalidate: true },
    h('fieldset', { class: 'submit-mode' }, h('legend', {}, 'Kind'), radios),
    h('div', { class: 'submit-label-row' }, h('label', { for: 'submit-spec' }, 'Specification (JSON)'), caret),
    editor, error, help,
    h('div', { class: 'submit-actions' },
      button('Format', format, { title: 'Check the JSON and indent it' }),
      button('Reset to template', () => { editor.value = pretty(templates[mode]); showError(''); }),
      h('span', { class: 'muted submit-keys' }, 'Ctrl+Enter submits'), send));

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    showError('');
    const spec = readSpec();
    if (!spec) return;
    send.disabled = true;
    try {
      if (mode === 'func') {
        const p = await ctx.rpc('submitfuncspecmsg', { spec });
        drafts.func = editor.value;
        toast(`Submitted process ${shortId(p.processid)}`, 'ok');
        ctx.navigate(`#/process/${p.processid}`);
      } else {
        const g = await ctx.rpc('submitworkflowspecmsg', { spec });
        drafts.workflow = editor.value;
        toast(`Submitted workflow ${shortId(g.processgraphid)}`, 'ok');
        ctx.navigate(`#/workflow/${g.processgraphid}`);
      }
    } catch (err) {
      showError(err.message || String(err));
    } finally {
      send.disabled = false;
    }
  });
  editor.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); form.requestSubmit(); }
  });
  for (const type of ['keyup', 'click', 'input', 'focus']) editor.addEventListener(type, showCaret);
  editor.addEventListener('input', () => { drafts[mode] = editor.value; });

  const counts = new Map();
  for (const e of approved) counts.set(e.executortype, (counts.get(e.executortype) || 0) + 1);
  const seen = new Set();
  const offered = functions.filter((f) => {
    const key = `${f.funcname}|${f.executortype}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  const aside = h('div', { class: 'submit-aside' },
    card('Functions in this colony',
      table([
        { label: 'Function', value: (f) => h('code', {}, f.funcname) },
        { label: 'Executor type', value: (f) => f.executortype },
        { label: '', class: 'row-actions', value: (f) => h('button', { type: 'button', class: 'btn small',
          'aria-label': `Use ${f.funcname} on ${f.executortype}`, onclick: () => use(f) }, 'Use') },
      ], offered, { empty: 'No executor has registered a function yet.' }),
      h('p', { class: 'help' }, 'Use puts the function into the spec (a workflow gets a new node after the last).')),
    card('Approved executors by type',
      counts.size ? h('div', { class: 'chips' }, [...counts].sort().map(([t, n]) =>
        h('span', { class: 'chip' }, `${t} · ${n}`))) : h('p', { class: 'empty' }, 'No approved executors.')));

  describe();
  root.replaceChildren(
    h('div', { class: 'page-head' }, h('h1', {}, 'Submit'),
      h('span', { class: 'muted' }, `to colony ${colonyname}`)),
    h('div', { class: 'submit-layout' }, form, aside));
  showCaret();
}

export const submit = { title: 'Submit', roles: ['user', 'executor'], render };
