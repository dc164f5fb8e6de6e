// The only module that sees the private key. It lives in this module's closure (never on window, never in the DOM,
// never logged); requests carry signatures and nothing derived from the key but the public id. Sign-out zeroes it.
import * as secp from '../vendor/noble-secp256k1/index.js';
import { sha3_256 } from '../vendor/noble-hashes/sha3.js';
import { hmac } from '../vendor/noble-hashes/hmac.js';
import { sha256 } from '../vendor/noble-hashes/sha2.js';

// RFC 6979 deterministic nonces need HMAC-SHA256; given synchronously, signing works outside secure contexts too.
secp.etc.hmacSha256Sync = (key, ...msgs) => hmac(sha256, key, secp.etc.concatBytes(...msgs));

const encoder = new TextEncoder();
const SESSION_KEY = 'colonies.session.prvkey';

let secret = null;   // Uint8Array(32) while signed in
let myId = '';
let audience = '';    // the server's instanceid: signed requests name it, so a capture is useless elsewhere

export class RPCError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

function b64(text) {
  const bytes = encoder.encode(text);
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

function unb64(text) {
  const bin = atob(text || 'e30=');
  const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes));
}

/** The colony id of a private key: SHA3-256 of the hex of the 65-byte uncompressed public key. */
function idOf(prv) {
  return hex(sha3_256(encoder.encode(hex(secp.getPublicKey(prv, false)))));
}

/** Parses a pasted key or key file (hex, optionally with a 0x prefix, whitespace or a JSON {"prvkey": ...}). */
export function parseKey(text) {
  let value = String(text || '').trim();
  if (value.startsWith('{')) {
    try {
      const obj = JSON.parse(value);
      value = String(obj.prvkey || obj.privateKey || obj.key || '');
    } catch {
      throw new Error('The key file is JSON but not readable');
    }
  }
  value = value.replace(/^0x/i, '').trim();
  if (!/^[0-9a-fA-F]{64}$/.test(value)) throw new Error('A private key is 64 hexadecimal characters');
  const bytes = Uint8Array.from(value.match(/../g), (h) => parseInt(h, 16));
  if (!secp.utils.isValidPrivateKey(bytes)) throw new Error('Not a valid secp256k1 private key');
  return bytes;
}

/** Signs in with a key; `remember` keeps it in this tab's session storage (gone when the tab closes). */
export function signIn(text, remember = false) {
  const bytes = parseKey(text);
  signOut();
  secret = bytes;
  myId = idOf(secret);
  if (remember) sessionStorage.setItem(SESSION_KEY, hex(secret));
  return myId;
}

/** Signs in again from session storage, if the user chose that; returns the id or ''. */
export function resume() {
  const stored = sessionStorage.getItem(SESSION_KEY);
  if (!stored) return '';
  try {
    return signIn(stored, true);
  } catch {
    sessionStorage.removeItem(SESSION_KEY);
    return '';
  }
}

export function signOut() {
  if (secret) secret.fill(0);
  secret = null;
  myId = '';
  sessionStorage.removeItem(SESSION_KEY);
}

export const identity = () => myId;
export const remembered = () => sessionStorage.getItem(SESSION_KEY) !== null;

function nonce() {
  const random = new Uint8Array(12);
  crypto.getRandomValues(random);
  return `${BigInt(Date.now()) * 1000000n}-${hex(random)}`;
}

function sign(payload) {
  const sig = secp.sign(sha3_256(encoder.encode(payload)), secret, { lowS: true });
  return sig.toCompactHex() + sig.recovery.toString(16).padStart(2, '0');
}

/** A request envelope: signed (with a fresh nonce and the audience) when signed in, unsigned otherwise. */
function envelope(payloadtype, msg, signed = true) {
  const body = { ...msg };
  signed = signed && secret !== null;
  if (signed) {
    body.nonce = nonce();
    if (audience) body.audience = audience;
  }
  body.msgtype = payloadtype;
  const payload = b64(JSON.stringify(body));
  return JSON.stringify({ signature: signed ? sign(payload) : '', payloadtype, payload });
}

function decodeReply(text, status) {
  let env;
  try {
    env = JSON.parse(text);
  } catch {
    throw new RPCError(`The server answered ${status} without a readable reply`, status || 502);
  }
  const payload = unb64(env.payload);
  if (env.error) throw new RPCError(String(payload.message || 'error'), Number(payload.status) || status || 500);
  return payload;
}

/** One RPC over POST /api. Errors are RPCError with the server's message and status. */
export async function rpc(payloadtype, msg = {}, signed = true) {
  let res;
  try {
    res = await fetch('/api', {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: envelope(payloadtype, msg, signed),
      credentials: 'omit', cache: 'no-store',
    });
  } catch {
    throw new RPCError('The server cannot be reached', 0);
  }
  return decodeReply(await res.text(), res.status);
}

/** Learns the server's instanceid (unsigned getserverinfomsg) so signed requests are bound to this server. */
export async function serverInfo() {
  const info = await rpc('getserverinfomsg', {}, false);
  audience = typeof info.instanceid === 'string' && info.instanceid.length <= 64 ? info.instanceid : '';
  return info;
}

/**
 * A live view of one colony over /pubsub: `onEvents(events, resync)` gets batches of
 * {kind, processid, state, processgraphid, executortype}; `resync` is true when the page should re-read what it
 * shows (a new or resumed subscription, or events dropped because the page fell behind). Reconnects by itself,
 * with a back-off, and re-subscribes when a subscription times out; `onStatus('live'|'connecting'|'offline')`.
 */
export class LiveColony {
  constructor(colonyname, onEvents, onStatus = () => {}) {
    this.colonyname = colonyname;
    this.onEvents = onEvents;
    this.onStatus = onStatus;
    this.ws = null;
    this.closed = false;
    this.delay = 500;
    this.connect();
  }

  connect() {
    if (this.closed || !secret) return;
    this.onStatus('connecting');
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const ws = new WebSocket(`${scheme}://${location.host}/pubsub`);
    this.ws = ws;
    ws.onopen = () => this.subscribe();
    ws.onmessage = (frame) => this.receive(frame.data);
    ws.onclose = () => {
      if (this.ws !== ws || this.closed) return;
      this.onStatus('offline');
      setTimeout(() => this.connect(), this.delay);
      this.delay = Math.min(this.delay * 2, 10000);
    };
  }

  subscribe() {
    if (this.ws && this.ws.readyState === WebSocket.OPEN && secret) {
      this.ws.send(envelope('subscribecolonymsg', { colonyname: this.colonyname, timeout: 300 }));
    }
  }

  receive(text) {
    let reply;
    try {
      reply = decodeReply(text, 200);
    } catch (err) {
      if (err.status === 408) this.subscribe(); // the subscription ran its time: take a new one on this socket
      else this.onStatus('offline', err.message);
      return;
    }
    this.delay = 500;
    this.onStatus('live');
    this.onEvents(reply.events || [], Boolean(reply.resync));
  }

  close() {
    this.closed = true;
    if (this.ws) this.ws.close();
    this.ws = null;
  }
}
