// End-to-end proof of the rest facade with ConnectyCube's own, unmodified JavaScript SDK
// (connectycube 6.1.2, pinned in package-lock.json). It drives every Auth, Users and Storage
// call of issue 10 against an already running `authcube serve` and asserts every response.
// e2e_test.go starts the servers and runs it; by hand:
//
//	AUTHCUBE_URL=http://127.0.0.1:8080 AUTHCUBE_APP_ID=1 AUTHCUBE_AUTH_KEY=KEY \
//	AUTHCUBE_OUTBOX=./authcube-data/outbox \
//	AUTHCUBE_SHORT_TTL_URL=http://127.0.0.1:8081 AUTHCUBE_SHORT_TTL_MS=1000 node e2e.mjs
//
// AUTHCUBE_URL      the server (no trailing slash), on a loopback address
// AUTHCUBE_APP_ID   its --app-id;  AUTHCUBE_AUTH_KEY  its --auth-key
// AUTHCUBE_OUTBOX   the directory its mail goes to (<--dir>/outbox)
// AUTHCUBE_RESET_URL  its --reset-url, if any ("{token}" marks the token)
// AUTHCUBE_SHORT_TTL_URL, AUTHCUBE_SHORT_TTL_MS  a second server, same app id and auth key,
//                   started with --idle-ttl of that many milliseconds (the expiry check)
//
// It prints one line per passed check and exits 1 on the first failure.
import net from 'node:net';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

// ---- configuration --------------------------------------------------------------------------

function need(name) {
  const v = process.env[name];
  if (!v) {
    console.error(`FAIL configuration: ${name} is not set`);
    process.exit(2);
  }
  return v;
}

const API = need('AUTHCUBE_URL').replace(/\/+$/, '');
const APP_ID = Number(need('AUTHCUBE_APP_ID'));
const AUTH_KEY = need('AUTHCUBE_AUTH_KEY');
const OUTBOX = need('AUTHCUBE_OUTBOX');
const RESET_URL = process.env.AUTHCUBE_RESET_URL ?? '';
const SHORT_API = need('AUTHCUBE_SHORT_TTL_URL').replace(/\/+$/, '');
const SHORT_TTL_MS = Number(need('AUTHCUBE_SHORT_TTL_MS'));

// ---- loopback only ----------------------------------------------------------------------------

const isLoopback = (host) =>
  host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);

for (const u of [API, SHORT_API]) {
  if (!isLoopback(new URL(u).hostname)) {
    console.error(`FAIL configuration: ${u} is not a loopback address`);
    process.exit(2);
  }
}

// Every TCP connection this process opens (node-fetch in the SDK, global fetch here) must go
// to loopback: the SDK's defaults point at connectycube.com.
const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (...args) {
  let opts = args[0];
  if (Array.isArray(opts)) opts = opts[0]; // internal normalized form
  let host;
  if (opts && typeof opts === 'object') {
    host = opts.path ? 'localhost' : (opts.host ?? 'localhost');
  } else if (typeof opts === 'number' || /^\d+$/.test(String(opts))) {
    host = typeof args[1] === 'string' ? args[1] : 'localhost';
  } else {
    host = 'localhost'; // a Unix socket path
  }
  if (!isLoopback(host)) {
    const err = new Error(`e2e: refused a connection to ${host}: only loopback is allowed`);
    console.error(`FAIL network guard: ${err.message}`);
    process.exit(1);
  }
  return connect.apply(this, args);
};

// ---- SDK set-up -------------------------------------------------------------------------------

// The on.sessionExpired hook is configured once; what it does is switched per check.
// null: behave as if no hook were set (handleResponse() rejects with the original error).
let expiredHandler = null;
let expiredCalls = 0;

function init(apiUrl, authKey = AUTH_KEY) {
  ConnectyCube.init(
    { appId: APP_ID, authKey },
    {
      endpoints: { api_url: apiUrl, chat: '127.0.0.1', chat_url: 'ws://127.0.0.1:9' },
      chat: { reconnect: { enable: false, timeInterval: 5 } },
      debug: { mode: 0 },
      timeout: 15000,
      on: {
        sessionExpired: (handleResponse, retry) => {
          expiredCalls++;
          if (expiredHandler) return expiredHandler(handleResponse, retry);
          return handleResponse();
        },
      },
    },
  );
}

const { default: ConnectyCube } = await import('connectycube');

// ---- checks -----------------------------------------------------------------------------------

let passed = 0;
const started = Date.now();

function describe(e) {
  if (e instanceof Error) return e.stack ?? e.message;
  try {
    return JSON.stringify(e);
  } catch {
    return String(e);
  }
}

async function check(name, fn) {
  try {
    await fn();
  } catch (e) {
    console.error(`FAIL ${name}\n${describe(e)}`);
    process.exit(1);
  }
  passed++;
  console.log(`ok ${String(passed).padStart(2)} ${name}`);
}

// rejects awaits an SDK call that must fail with HTTP status code; it returns the parsed error
// body (the SDK's {code, info}: info is the JSON body).
async function rejects(promise, code) {
  let value;
  try {
    value = await promise;
  } catch (e) {
    assert.equal(e?.code, code, `want HTTP ${code}, got ${describe(e)}`);
    assert.equal(typeof e.info, 'object', `the error body is not JSON: ${describe(e)}`);
    return e.info;
  }
  assert.fail(`want HTTP ${code}, got success: ${describe(value)}`);
}

const base = (info) => info?.errors?.base?.[0];
const NO_SESSION = 'Required session does not exist';

const run = Date.now().toString(36);
const nowSecs = Math.floor(Date.now() / 1000);
const [RED, X, Y] = ['red', 'x', 'y'].map((t) => `${t}${run}`); // tags of this run only
const carl = {
  login: `carl-${run}`, password: 'carl-secret-pw-1', email: `carl-${run}@example.com`,
  full_name: `Carl Carlsson ${run}`, phone: `+1415555${String(Date.now() % 10000).padStart(4, '0')}`,
  external_user_id: 700000 + (Date.now() % 100000), tag_list: [RED],
};
const bob = {
  login: `bob-${run}`, password: 'bob-secret-pw-1', email: `bob-${run}@example.com`,
  full_name: `Bob Builder ${run}`, website: 'https://example.com/bob', tag_list: [Y, X],
  custom_data: JSON.stringify({ color: 'blue' }),
};
const bobNewPassword = 'bob-secret-pw-2';
const ids = {};

async function sessionToken() {
  return (await ConnectyCube.getSession()).token;
}

// ---- application credentials ------------------------------------------------------------------

init(API, `wrong-${AUTH_KEY}`);

await check('application session with a wrong auth key is 401', async () => {
  const info = await rejects(ConnectyCube.createSession(), 401);
  assert.match(base(info), /application/i);
});

await check('sign-up without a session (CB-AuthKey) with a wrong auth key is 401', async () => {
  const info = await rejects(ConnectyCube.users.signup({ login: carl.login, password: carl.password }), 401);
  assert.equal(typeof base(info), 'string');
});

init(API);

await check('sign-up without a session (CB-AuthKey)', async () => {
  const res = await ConnectyCube.users.signup(carl);
  const u = res.user;
  assert.equal(typeof u.id, 'number');
  assert.equal(u.login, carl.login);
  assert.equal(u.email, carl.email);
  assert.equal(u.full_name, carl.full_name);
  assert.equal(u.phone, carl.phone);
  assert.equal(u.external_user_id, carl.external_user_id);
  assert.equal(u.user_tags, RED);
  assert.match(u.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  ids.carl = u.id;
});

await check('a request without any session is 401 "Required session does not exist"', async () => {
  const info = await rejects(ConnectyCube.users.get({ login: carl.login }), 401);
  assert.deepEqual(info, { errors: { base: [NO_SESSION] } });
});

await check('application session (createSession)', async () => {
  const s = await ConnectyCube.createSession();
  assert.equal(typeof s.token, 'string');
  assert.ok(s.token.length >= 32, s.token);
  assert.equal(s.application_id, APP_ID);
  assert.ok(!s.user_id, `an application session has no user: ${s.user_id}`);
});

await check('sign-up with an application session', async () => {
  const { user: u } = await ConnectyCube.users.signup(bob);
  assert.equal(u.login, bob.login);
  assert.equal(u.email, bob.email);
  assert.equal(u.full_name, bob.full_name);
  assert.equal(u.website, bob.website);
  assert.equal(u.custom_data, bob.custom_data);
  assert.equal(u.user_tags, `${Y},${X}`);
  assert.ok(u.id > ids.carl);
  ids.bob = u.id;
  const s = await ConnectyCube.getSession();
  assert.ok(!s.user_id, 'sign-up does not sign the session in');
});

await check('sign-up with a taken login is 422 naming the field', async () => {
  const info = await rejects(ConnectyCube.users.signup({ login: bob.login, password: 'another-pw-123' }), 422);
  assert.deepEqual(info.errors.login, ['has already been taken']);
});

await check('guest sessions are refused with a clear error', async () => {
  const info = await rejects(ConnectyCube.createSession({ guest: '1', full_name: 'Guest X' }), 422);
  assert.match(base(info), /guest/i);
});

await check('user session by login (createSession)', async () => {
  const s = await ConnectyCube.createSession({ login: bob.login, password: bob.password });
  assert.equal(s.user_id, ids.bob);
  assert.equal(s.application_id, APP_ID);
});

await check('user session by email (createSession)', async () => {
  const s = await ConnectyCube.createSession({ email: bob.email, password: bob.password });
  assert.equal(s.user_id, ids.bob);
});

await check('wrong password is 401 (createSession)', async () => {
  const info = await rejects(ConnectyCube.createSession({ login: bob.login, password: 'wrong-password-1' }), 401);
  assert.deepEqual(info, { errors: { base: ['Unauthorized'] } });
});

let appToken;
await check('wrong password is 401 (login), and is no expired session', async () => {
  appToken = (await ConnectyCube.createSession()).token;
  const calls = expiredCalls;
  const info = await rejects(ConnectyCube.login({ login: bob.login, password: 'wrong-password-1' }), 401);
  assert.deepEqual(info, { errors: { base: ['Unauthorized'] } });
  assert.equal(expiredCalls, calls, 'on.sessionExpired must not fire for bad credentials');
});

await check('login by login upgrades the application session', async () => {
  const u = await ConnectyCube.login({ login: bob.login, password: bob.password });
  assert.equal(u.id, ids.bob);
  assert.equal(u.email, bob.email, 'a user sees its own email');
});

await check('getSession', async () => {
  const s = await ConnectyCube.getSession();
  assert.equal(s.user_id, ids.bob);
  assert.equal(s.token, appToken, 'login keeps the token');
  assert.equal(s.application_id, APP_ID);
});

await check('logout downgrades to an application session', async () => {
  assert.equal(await ConnectyCube.logout(), '');
  const s = await ConnectyCube.getSession();
  assert.ok(!s.user_id, `after logout: user_id ${s.user_id}`);
  assert.equal(s.token, appToken);
});

await check('login by email', async () => {
  const u = await ConnectyCube.login({ email: bob.email, password: bob.password });
  assert.equal(u.id, ids.bob);
  assert.equal((await ConnectyCube.getSession()).user_id, ids.bob);
});

// ---- update -----------------------------------------------------------------------------------

await check('update profile', async () => {
  bob.full_name = `Robert Builder ${run}`;
  const { user: u } = await ConnectyCube.users.update({ full_name: bob.full_name, tag_list: [X, Y] });
  assert.equal(u.id, ids.bob);
  assert.equal(u.full_name, bob.full_name);
  assert.equal(u.user_tags, `${X},${Y}`);
});

await check('update password with a wrong old_password is 422', async () => {
  const info = await rejects(
    ConnectyCube.users.update({ password: bobNewPassword, old_password: 'not-the-password' }), 422);
  assert.ok(Array.isArray(info.errors.old_password), describe(info));
});

await check('update password with old_password', async () => {
  const { user: u } = await ConnectyCube.users.update({ password: bobNewPassword, old_password: bob.password });
  assert.equal(u.id, ids.bob);
  const info = await rejects(ConnectyCube.createSession({ login: bob.login, password: bob.password }), 401);
  assert.equal(base(info), 'Unauthorized');
  const s = await ConnectyCube.createSession({ login: bob.login, password: bobNewPassword });
  assert.equal(s.user_id, ids.bob);
  bob.password = bobNewPassword;
});

// ---- look-ups (as bob: other users' email and phone are hidden by default) ------------------

function isCarl(u) {
  assert.equal(u.id, ids.carl);
  assert.equal(u.login, carl.login);
  assert.equal(u.full_name, carl.full_name);
  assert.ok(!('email' in u), `another user's email is hidden: ${describe(u)}`);
  assert.ok(!('phone' in u), `another user's phone is hidden: ${describe(u)}`);
}

await check('users.get by id', async () => {
  const res = await ConnectyCube.users.get(ids.carl);
  isCarl(res.user);
});

await check('users.get by login', async () => {
  isCarl((await ConnectyCube.users.get({ login: carl.login })).user);
});

await check('users.get by email', async () => {
  isCarl((await ConnectyCube.users.get({ email: carl.email })).user);
});

await check('users.get by unknown login is 404', async () => {
  const info = await rejects(ConnectyCube.users.get({ login: `nobody-${run}` }), 404);
  assert.equal(typeof base(info), 'string');
});

await check('users.get by full name (legacy list, items wrapped as {user})', async () => {
  const res = await ConnectyCube.users.get({ full_name: `Carlsson ${run}`, page: 1, per_page: 10 });
  assert.equal(res.current_page, 1);
  assert.equal(res.per_page, 10);
  assert.equal(res.total_entries, 1);
  assert.equal(res.items.length, 1);
  isCarl(res.items[0].user);
});

await check('users.get by phone (GET /users/phone.json)', async () => {
  const res = await ConnectyCube.users.get({ phone: carl.phone });
  assert.equal(res.total_entries, 1);
  isCarl(res.items[0].user);
});

await check('users.get by external id (GET /users/external/{id}.json)', async () => {
  const res = await ConnectyCube.users.get({ external: carl.external_user_id });
  isCarl(res.user);
});

await check('users.get by tags (any of them)', async () => {
  const one = await ConnectyCube.users.get({ tags: [X], per_page: 10 });
  assert.deepEqual(one.items.map((i) => i.user.id), [ids.bob]);
  assert.equal(one.total_entries, 1);
  const both = await ConnectyCube.users.get({ tags: [X, RED], per_page: 10 });
  assert.deepEqual(both.items.map((i) => i.user.id).sort((a, b) => a - b), [ids.carl, ids.bob]);
  const comma = await ConnectyCube.users.get({ tags: `${RED},${X}` });
  assert.equal(comma.total_entries, 2);
});

await check('users.get legacy list with filter[] and order', async () => {
  const both = [ids.carl, ids.bob];
  const desc = await ConnectyCube.users.get({
    filter: [
      { field: 'id', param: 'in', value: both },
      { field: 'created_at', param: 'gt', value: nowSecs - 3600 },
    ],
    order: { sort: 'desc', field: 'id' },
    per_page: 10,
  });
  assert.equal(desc.total_entries, 2);
  assert.deepEqual(desc.items.map((i) => i.user.id), [ids.bob, ids.carl]);
  const asc = await ConnectyCube.users.get({ filter: { field: 'id', param: 'in', value: both }, order: { sort: 'asc', field: 'id' } });
  assert.deepEqual(asc.items.map((i) => i.user.id), [ids.carl, ids.bob]);
  const page2 = await ConnectyCube.users.get({
    filter: { field: 'id', param: 'in', value: both }, order: { sort: 'asc', field: 'id' }, page: 2, per_page: 1,
  });
  assert.equal(page2.current_page, 2);
  assert.equal(page2.per_page, 1);
  assert.equal(page2.total_entries, 2);
  assert.deepEqual(page2.items.map((i) => i.user.id), [ids.bob]);
  const byLogin = await ConnectyCube.users.get({ filter: { field: 'login', param: 'eq', value: carl.login } });
  assert.equal(byLogin.total_entries, 1);
  isCarl(byLogin.items[0].user);
});

await check('users v2 with filters (flat items)', async () => {
  const both = [ids.carl, ids.bob];
  const r1 = await ConnectyCube.users.getV2({ login: { in: [bob.login, carl.login] }, sort_desc: 'id', limit: 10 });
  assert.equal(r1.total_entries, 2);
  assert.equal(r1.limit, 10);
  assert.equal(r1.skip, 0);
  assert.deepEqual(r1.items.map((u) => u.id), [ids.bob, ids.carl]);
  assert.equal(r1.items[0].email, bob.email, 'a user sees its own email');
  isCarl(r1.items[1]);
  const r2 = await ConnectyCube.users.getV2({ id: { in: both }, user_tags: { all: [X, Y] } });
  assert.deepEqual(r2.items.map((u) => u.id), [ids.bob]);
  const r3 = await ConnectyCube.users.getV2({
    id: { in: both }, created_at: { gt: nowSecs - 3600 }, sort_asc: 'id', limit: 1, offset: 1,
  });
  assert.equal(r3.total_entries, 2);
  assert.equal(r3.skip, 1);
  assert.equal(r3.limit, 1);
  assert.deepEqual(r3.items.map((u) => u.id), [ids.bob]);
  const r4 = await ConnectyCube.users.getV2({ full_name: { start_with: 'Carl Carlsson' }, id: { in: both } });
  assert.deepEqual(r4.items.map((u) => u.id), [ids.carl]);
  const r5 = await ConnectyCube.users.getV2({ login: carl.login });
  assert.deepEqual(r5.items.map((u) => u.id), [ids.carl]);
});

await check('users v2: a substring filter on other users\' email is refused (422)', async () => {
  const info = await rejects(ConnectyCube.users.getV2({ email: { ctn: 'example' } }), 422);
  assert.ok(info.errors, describe(info));
});

await check('facebook_id and twitter_id look-ups are 404', async () => {
  await rejects(ConnectyCube.users.get({ facebook_id: '1234567' }), 404);
  await rejects(ConnectyCube.users.get({ twitter_id: '7654321' }), 404);
});

await check('online users: nobody (no chat)', async () => {
  const list = await ConnectyCube.users.listOnline({ limit: 10, offset: 0 });
  assert.deepEqual(list, { users: [] });
  const count = await ConnectyCube.users.getOnlineCount();
  assert.deepEqual(count, { count: 0 });
});

// ---- storage ----------------------------------------------------------------------------------

const privBytes = Buffer.from(`private bytes from the sdk ${run}\n\u00e9\u00e8`, 'utf8');
const pubBytes = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3, 4, 5]);
let priv, pub;

await check('storage.createAndUpload (private)', async () => {
  priv = await ConnectyCube.storage.createAndUpload({
    name: 'hello world.txt', file: privBytes, type: 'text/plain', size: privBytes.length, public: false,
  });
  assert.equal(typeof priv.id, 'number');
  assert.match(priv.uid, /^[\w-]{8,}$/);
  assert.equal(priv.name, 'hello world.txt');
  assert.equal(priv.size, privBytes.length);
  assert.equal(priv.public, false);
  const upload = new URL(priv.blob_object_access.params);
  assert.equal(upload.origin, API, 'the upload URL is on this server');
});

await check('fetch(storage.privateUrl(uid)) returns the same bytes', async () => {
  const url = ConnectyCube.storage.privateUrl(priv.uid);
  assert.equal(url, `${API}/blobs/${priv.uid}?token=${await sessionToken()}`);
  const res = await fetch(url);
  assert.equal(res.status, 200);
  assert.deepEqual(Buffer.from(await res.arrayBuffer()), privBytes);
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
  assert.match(res.headers.get('content-type'), /^text\/plain/);
  assert.match(res.headers.get('content-disposition'), /^attachment/);
});

await check('a private file without a session is 401', async () => {
  const res = await fetch(ConnectyCube.storage.publicUrl(priv.uid));
  assert.equal(res.status, 401);
  assert.deepEqual(await res.json(), { errors: { base: [NO_SESSION] } });
});

await check('storage.getInfo (by id) and storage.getFile (by uid)', async () => {
  const { blob: b } = await ConnectyCube.storage.getInfo(priv.id);
  assert.equal(b.id, priv.id);
  assert.equal(b.uid, priv.uid);
  assert.equal(b.blob_status, 'complete');
  assert.equal(b.size, privBytes.length);
  assert.equal(b.content_type, 'text/plain');
  assert.equal(b.public, false);
  const { blob: f } = await ConnectyCube.storage.getFile(priv.uid);
  assert.equal(f.id, priv.id);
  assert.equal(f.name, 'hello world.txt');
});

await check('storage.createAndUpload (public), fetched by publicUrl without a session', async () => {
  pub = await ConnectyCube.storage.createAndUpload({
    name: 'pixel.png', file: pubBytes, type: 'image/png', size: pubBytes.length, public: true,
  });
  assert.equal(pub.public, true);
  assert.equal(pub.size, pubBytes.length);
  const url = ConnectyCube.storage.publicUrl(pub.uid);
  assert.equal(url, `${API}/blobs/${pub.uid}`);
  const res = await fetch(url); // no token, no header
  assert.equal(res.status, 200);
  assert.deepEqual(Buffer.from(await res.arrayBuffer()), pubBytes);
  assert.equal(res.headers.get('content-type'), 'image/png');
  assert.match(res.headers.get('content-disposition'), /^inline/);
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
});

await check('storage.list', async () => {
  const res = await ConnectyCube.storage.list({ page: 1, per_page: 10 });
  assert.equal(res.total_entries, 2);
  assert.equal(res.current_page, 1);
  const got = res.items.map((i) => (i.blob ?? i).id).sort((a, b) => a - b);
  assert.deepEqual(got, [priv.id, pub.id].sort((a, b) => a - b));
});

await check('storage.update renames', async () => {
  const { blob: b } = await ConnectyCube.storage.update({ id: priv.id, name: 'renamed file.txt' });
  assert.equal(b.id, priv.id);
  assert.equal(b.name, 'renamed file.txt');
  assert.equal((await ConnectyCube.storage.getInfo(priv.id)).blob.name, 'renamed file.txt');
});

await check('storage.getFileObject gives a download URL that serves the bytes', async () => {
  const res = await ConnectyCube.storage.getFileObject(priv.uid, { download_url: true });
  const access = res.blob_object_access ?? res.blob?.blob_object_access;
  assert.equal(access.object_access_type, 'Read');
  const url = new URL(access.params);
  assert.equal(url.origin, API);
  const dl = await fetch(url); // signed: no session needed
  assert.equal(dl.status, 200);
  assert.deepEqual(Buffer.from(await dl.arrayBuffer()), privBytes);
  assert.match(dl.headers.get('content-disposition'), /renamed/);
});

await check('storage.delete', async () => {
  assert.equal(await ConnectyCube.storage.delete(priv.id), '');
  await rejects(ConnectyCube.storage.getInfo(priv.id), 404);
  const res = await fetch(ConnectyCube.storage.privateUrl(priv.uid));
  assert.ok([401, 404].includes(res.status), `download after delete: ${res.status}`);
  assert.equal(await ConnectyCube.storage.delete(pub.id), '');
  assert.equal((await ConnectyCube.storage.list()).total_entries, 0);
});

// ---- password reset: the mail lands in the outbox ---------------------------------------------

async function emlFiles() {
  try {
    return (await readdir(OUTBOX)).filter((n) => n.endsWith('.eml'));
  } catch (e) {
    if (e.code === 'ENOENT') return [];
    throw e;
  }
}

// waitForMail polls the outbox for a new message of kind (the file name carries it), at most
// 50 times 100 ms: the engine sends mail from a background queue.
async function waitForMail(before, kind, to) {
  for (let i = 0; i < 50; i++) {
    for (const name of await emlFiles()) {
      if (before.has(name) || !name.includes(`-${kind}-`)) continue;
      const text = await readFile(join(OUTBOX, name), 'utf8');
      if (text.includes(`To: ${to}\r\n`)) return { name, text, body: text.split('\r\n\r\n').slice(1).join('\r\n\r\n') };
    }
    await sleep(100);
  }
  assert.fail(`no ${kind} mail to ${to} in ${OUTBOX} within 5 s`);
}

await check('the password-change notice lands in the outbox', async () => {
  // Sent (in the background) by the password update above.
  const m = await waitForMail(new Set(), 'passwordchanged', bob.email);
  assert.match(m.text, /^Subject: Your password was changed\r$/m);
});

await check('password reset: the mail with the token lands in the outbox', async () => {
  const before = new Set(await emlFiles());
  assert.equal(await ConnectyCube.users.resetPassword(bob.email), '');
  const m = await waitForMail(before, 'passwordreset', bob.email);
  assert.match(m.text, /^Subject: Reset your password\r$/m);
  if (RESET_URL) {
    const [prefix, suffix] = RESET_URL.split('{token}');
    const esc = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const link = m.body.match(new RegExp(`${esc(prefix)}([A-Za-z0-9_%-]{43,})${esc(suffix)}`));
    assert.ok(link, `no reset link ${RESET_URL} in:\n${m.body}`);
    assert.match(decodeURIComponent(link[1]), /^[A-Za-z0-9_-]{43}$/);
  } else {
    assert.match(m.body, /^[A-Za-z0-9_-]{43}\r?$/m,
      `no bare reset token (AUTHCUBE_RESET_URL is unset: is the server run with --reset-url?) in:\n${m.body}`);
  }
});

await check('password reset for an unknown address answers the same', async () => {
  assert.equal(await ConnectyCube.users.resetPassword(`nobody-${run}@example.com`), '');
});

// ---- logout, delete, destroy ------------------------------------------------------------------

await check('logout, then the application session may not update a user', async () => {
  assert.equal(await ConnectyCube.logout(), '');
  assert.ok(!(await ConnectyCube.getSession()).user_id);
  const calls = expiredCalls;
  const info = await rejects(ConnectyCube.users.update({ full_name: 'Nobody' }), 403); // PUT /users.json
  assert.match(base(info), /^Forbidden/);
  assert.equal(expiredCalls, calls, 'a live application session is no expired session');
});

await check('delete user', async () => {
  const u = await ConnectyCube.login({ login: bob.login, password: bob.password });
  assert.equal(u.id, ids.bob);
  assert.equal(await ConnectyCube.users.delete(), '');
  // The deleted user's sessions end with it.
  assert.deepEqual(await rejects(ConnectyCube.users.get({ login: bob.login }), 401), { errors: { base: [NO_SESSION] } });
  await ConnectyCube.createSession();
  await rejects(ConnectyCube.users.get({ login: bob.login }), 404);
  await rejects(ConnectyCube.users.get(ids.bob), 404);
  const info = await rejects(ConnectyCube.createSession({ login: bob.login, password: bob.password }), 401);
  assert.equal(base(info), 'Unauthorized');
});

await check('destroySession, then getSession is 401 (and never renewed: a /session URL)', async () => {
  const { token } = await ConnectyCube.createSession();
  await ConnectyCube.destroySession(); // resolves with nothing; the SDK forgets the session
  ConnectyCube.setSession({ token }); // the destroyed token is dead on the server
  const calls = expiredCalls;
  const info = await rejects(ConnectyCube.getSession(), 401);
  assert.equal(base(info), NO_SESSION);
  assert.equal(expiredCalls, calls);
});

// ---- expired session, renewed through on.sessionExpired --------------------------------------

init(SHORT_API);
const dan = { login: `dan-${run}`, password: 'dan-secret-pw-1', full_name: `Dan ${run}` };
let danToken;

await check(`short-TTL server: sign-up and user session (idle TTL ${SHORT_TTL_MS} ms)`, async () => {
  ConnectyCube.setSession(null);
  const { user } = await ConnectyCube.users.signup(dan);
  ids.dan = user.id;
  const s = await ConnectyCube.createSession({ login: dan.login, password: dan.password });
  assert.equal(s.user_id, ids.dan);
  danToken = s.token;
  assert.equal((await ConnectyCube.users.get({ login: dan.login })).user.id, ids.dan);
});

await check('an idle session expires: 401 "Required session does not exist" reaches on.sessionExpired', async () => {
  // The server's own clock: wait past its idle TTL.
  await sleep(SHORT_TTL_MS + 300);
  const calls = expiredCalls;
  const info = await rejects(ConnectyCube.users.get({ login: dan.login }), 401); // hook: handleResponse()
  assert.deepEqual(info, { errors: { base: [NO_SESSION] } });
  assert.equal(expiredCalls, calls + 1, 'on.sessionExpired was called once');
});

await check('on.sessionExpired renews the session and the request is retried', async () => {
  const calls = expiredCalls;
  let renewed;
  expiredHandler = async (handleResponse, retry) => {
    try {
      renewed = await ConnectyCube.createSession({ login: dan.login, password: dan.password });
    } catch (e) {
      return handleResponse();
    }
    retry(renewed);
  };
  try {
    const res = await ConnectyCube.users.update({ full_name: `Dan Renewed ${run}` });
    assert.equal(res.user.id, ids.dan);
    assert.equal(res.user.full_name, `Dan Renewed ${run}`);
  } finally {
    expiredHandler = null;
  }
  assert.equal(expiredCalls, calls + 1, 'on.sessionExpired was called once');
  assert.ok(renewed?.token && renewed.token !== danToken, 'a new token');
  const s = await ConnectyCube.getSession();
  assert.equal(s.token, renewed.token, 'the SDK keeps the renewed session');
  assert.equal(s.user_id, ids.dan);
  assert.equal((await ConnectyCube.users.get(ids.dan)).user.full_name, `Dan Renewed ${run}`);
});

console.log(`all ${passed} checks passed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
process.exit(0);
