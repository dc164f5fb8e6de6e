// The shell: sign-in, the role of the key, navigation, the hash router and the colony's live channel.
import * as api from './api.js';
import { h, toast, button } from './ui.js';
import { PAGES, NAV } from './pages/index.js';

const ROLE_LABELS = { server: 'Server owner', owner: 'Colony owner', user: 'User', executor: 'Executor' };
const LAST_COLONY = 'colonies.colonyname'; // not a secret: only saves typing

const session = { id: '', role: '', colonyname: '', colonies: [], serverOwner: false, member: null };
let live = null;
let current = null; // {page, params, listeners}
const liveListeners = new Set();

const main = () => document.getElementById('main');

/** What a page gets: the session, the RPC call, live events, navigation. */
const ctx = {
  session,
  rpc: api.rpc,
  navigate: (hash) => { location.hash = hash; },
  /** Calls fn(events, resync) for each batch of the colony's live events until the page is left. */
  onLive(fn) {
    liveListeners.add(fn);
    current?.listeners.push(() => liveListeners.delete(fn));
  },
  /** Runs fn when the page is left (timers, sockets). */
  onLeave(fn) { current?.listeners.push(fn); },
  can: (...roles) => roles.includes(session.role),
};

async function detectRole(colonyname) {
  await api.serverInfo();
  Object.assign(session, { serverOwner: false, colonies: [], member: null });
  const asServerOwner = async () => {
    session.colonies = await api.rpc('getcoloniesmsg', {});
    Object.assign(session, { serverOwner: true, role: 'server', colonyname: '' });
  };
  if (!colonyname) {
    try {
      await asServerOwner();
      return;
    } catch (err) {
      if (err.status === 403) throw new Error('Enter the name of your colony (a server owner may leave it empty).');
      throw err;
    }
  }
  let colony;
  try {
    colony = await api.rpc('getcolonymsg', { colonyname });
  } catch (err) {
    if (err.status !== 403) throw err;
    try {
      await asServerOwner();
    } catch (inner) {
      if (inner.status === 403) throw new Error(`This key is neither a member nor the owner of colony ${colonyname}.`);
      throw inner;
    }
    toast(`This key owns the server but is not a member of ${colonyname}: showing the server's colonies.`);
    return;
  }
  session.colonyname = colony.name;
  if (colony.colonyid === session.id) {
    session.role = 'owner';
    return;
  }
  const users = await api.rpc('getusersmsg', { colonyname });
  const me = users.find((u) => u.userid === session.id);
  session.member = me || null;
  session.role = me ? 'user' : 'executor';
  if (!me) {
    const executors = await api.rpc('getexecutorsmsg', { colonyname });
    session.member = executors.find((e) => e.executorid === session.id) || null;
  }
}

function startLive() {
  stopLive();
  if (!session.colonyname || session.role === 'server') return;
  const badge = document.getElementById('live');
  live = new api.LiveColony(session.colonyname, (events, resync) => {
    for (const fn of [...liveListeners]) {
      try { fn(events, resync); } catch (err) { console.error('live listener', err.name); }
    }
  }, (status) => {
    badge.textContent = status === 'live' ? 'Live' : status === 'connecting' ? 'Connecting…' : 'Offline';
    badge.className = `live ${status}`;
  });
}

function stopLive() {
  if (live) live.close();
  live = null;
}

function renderSignIn(message) {
  document.body.classList.remove('signed-in');
  const keyInput = h('textarea', {
    id: 'prvkey', name: 'prvkey', rows: '2', autocomplete: 'off', spellcheck: 'false', required: true,
    placeholder: '64 hexadecimal characters', 'aria-describedby': 'key-help',
  });
  const fileInput = h('input', { id: 'keyfile', type: 'file', accept: '.key,.txt,.json,text/plain,application/json' });
  fileInput.addEventListener('change', async () => {
    const file = fileInput.files[0];
    if (file) keyInput.value = (await file.text()).trim();
    fileInput.value = '';
  });
  const colonyInput = h('input', {
    id: 'colonyname', name: 'colonyname', type: 'text', autocomplete: 'off', spellcheck: 'false',
    value: localStorage.getItem(LAST_COLONY) || '', placeholder: 'dev',
  });
  const remember = h('input', { id: 'remember', type: 'checkbox' });
  const error = h('p', { class: 'form-error', role: 'alert' }, message || '');
  const submit = h('button', { type: 'submit', class: 'btn primary' }, 'Sign in');
  const form = h('form', { class: 'signin card', 'aria-label': 'Sign in' },
    h('h1', {}, 'Sign in to Colonies'),
    h('label', { for: 'prvkey' }, 'Private key'),
    keyInput,
    h('p', { id: 'key-help', class: 'help' },
      'Paste a private key or open a key file. The key stays in this tab: requests are signed here and only ',
      'signatures and your public id are sent.'),
    h('label', { class: 'file-label' }, 'Open a key file… ', fileInput),
    h('label', { for: 'colonyname' }, 'Colony'),
    colonyInput,
    h('label', { class: 'check' }, remember, ' Keep me signed in until this tab closes (session storage)'),
    error,
    submit);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.textContent = '';
    submit.disabled = true;
    try {
      session.id = api.signIn(keyInput.value, remember.checked);
      keyInput.value = '';
      const colonyname = colonyInput.value.trim();
      await detectRole(colonyname);
      localStorage.setItem(LAST_COLONY, colonyname);
      enter();
    } catch (err) {
      api.signOut();
      error.textContent = err.message;
    } finally {
      submit.disabled = false;
    }
  });
  document.getElementById('nav').replaceChildren();
  document.getElementById('who').replaceChildren();
  main().replaceChildren(form);
  keyInput.focus();
}

function signOut() {
  stopLive();
  leavePage();
  api.signOut();
  Object.assign(session, { id: '', role: '', colonyname: '', colonies: [], serverOwner: false, member: null });
  history.replaceState(null, '', '#/');
  renderSignIn();
}

function renderChrome() {
  document.body.classList.add('signed-in');
  const links = NAV.filter((item) => PAGES[item].roles.includes(session.role)).map((item) =>
    h('a', { href: `#/${item}`, 'data-page': item }, PAGES[item].title));
  document.getElementById('nav').replaceChildren(...links);
  const who = document.getElementById('who');
  who.replaceChildren(...[
    h('span', { class: 'role' }, ROLE_LABELS[session.role]),
    session.colonyname ? h('span', { class: 'colony', title: 'Colony' }, session.colonyname) : null,
    h('code', { class: 'id', title: `Your public id: ${session.id}` }, `${session.id.slice(0, 10)}…`),
    button('Sign out', signOut, { kind: 'ghost' })].filter(Boolean));
}

function enter() {
  renderChrome();
  startLive();
  if (!location.hash || location.hash === '#/' || location.hash === '#') {
    location.hash = `#/${NAV.find((item) => PAGES[item].roles.includes(session.role))}`;
  } else {
    route();
  }
}

function leavePage() {
  if (!current) return;
  for (const fn of current.listeners) {
    try { fn(); } catch { /* a page's cleanup never stops navigation */ }
  }
  current = null;
}

async function route() {
  if (!api.identity()) return;
  const hash = location.hash.slice(1) || '/';
  const [path] = hash.split('?');
  const [, name = '', ...rest] = path.split('/');
  const page = PAGES[name];
  leavePage();
  for (const a of document.querySelectorAll('#nav a')) {
    const active = a.dataset.page === name || (PAGES[name]?.parent === a.dataset.page);
    a.classList.toggle('active', active);
    if (active) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  const root = h('div', { class: 'page' });
  main().replaceChildren(root);
  if (!page || !page.roles.includes(session.role)) {
    root.append(h('h1', {}, 'Not here'), h('p', {}, 'This page does not exist or is not open to your role.'));
    return;
  }
  current = { page, listeners: [] };
  const mine = current;
  document.title = `${page.title} · Colonies`;
  try {
    await page.render(ctx, root, { id: decodeURIComponent(rest.join('/')), hash });
  } catch (err) {
    if (current !== mine) return;
    root.replaceChildren(h('h1', {}, page.title), h('p', { class: 'form-error', role: 'alert' }, err.message));
  }
}

function setTheme(theme) {
  document.documentElement.dataset.theme = theme;
  localStorage.setItem('colonies.theme', theme);
  const btn = document.getElementById('theme');
  btn.textContent = theme === 'dark' ? 'Light' : 'Dark';
  btn.setAttribute('aria-label', `Switch to ${theme === 'dark' ? 'light' : 'dark'} theme`);
}

function start() {
  const saved = localStorage.getItem('colonies.theme');
  setTheme(saved || (matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light'));
  document.getElementById('theme').addEventListener('click', () =>
    setTheme(document.documentElement.dataset.theme === 'dark' ? 'light' : 'dark'));
  window.addEventListener('hashchange', route);
  const id = api.resume();
  if (id) {
    session.id = id;
    detectRole(localStorage.getItem(LAST_COLONY) || '').then(enter, (err) => {
      api.signOut();
      renderSignIn(err.message);
    });
  } else {
    renderSignIn();
  }
}

start();
