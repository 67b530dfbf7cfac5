// The wire details of tests/e2b-local that the e2b SDK does not exercise,
// checked over raw HTTP, for clients such as skillbox's C worker: the
// legacy routes and their defaults, unsecured sandboxes, keepalives,
// chunk sizes, deadlines, Connect by tag and after the end, list paging
// headers.

import assert from 'node:assert/strict';
import { after, afterEach, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { skipUnless } from './lib/deps.mjs';
import { e2bLocalPath, makeTemplate, startE2bLocal } from './lib/e2b-local.mjs';

const skip = skipUnless({ programs: ['bwrap'], files: [e2bLocalPath()] });
const opt = { skip, timeout: 60000 };
const JSON_CT = { 'Content-Type': 'application/json' };

let local;
const made = [];

before(async () => {
  if (skip) return;
  local = await startE2bLocal({ templates: { base: makeTemplate() } });
});

after(async () => {
  if (local) assert.deepEqual(await local.stop(), { code: 0, signal: null });
});

afterEach(async () => {
  if (!local) return;
  while (made.length > 0) {
    await local.request('DELETE', `/sandboxes/${made.pop()}`);
  }
  assert.deepEqual(await local.waitNoSandboxes(), []);
});

async function create(route, body) {
  const res = await local.request('POST', route,
    { headers: JSON_CT, body: JSON.stringify(body) });
  assert.equal(res.status, 201);
  const sb = await res.json();
  made.push(sb.sandboxID);
  return sb;
}

async function info(id) {
  const res = await local.request('GET', `/sandboxes/${id}`);
  assert.equal(res.status, 200);
  return res.json();
}

function lifetime(detail) {
  return (Date.parse(detail.endAt) - Date.parse(detail.startedAt)) / 1000;
}

function envelope(obj) {
  const p = Buffer.from(JSON.stringify(obj));
  const h = Buffer.alloc(5);
  h.writeUInt32BE(p.length, 1);
  return Buffer.concat([h, p]);
}

// Open a process stream; returns {frames: Promise<[...]>} read to the end.
async function stream(sb, method, msg, headers = {}) {
  const h = { 'Content-Type': 'application/connect+json',
    'E2b-Sandbox-Id': sb.sandboxID, 'E2b-Sandbox-Port': '49983', ...headers };
  if (sb.envdAccessToken) h['X-Access-Token'] = sb.envdAccessToken;
  const res = await fetch(`${local.url}/process.Process/${method}`,
    { method: 'POST', headers: h, body: envelope(msg) });
  assert.equal(res.status, 200);
  const b = Buffer.from(await res.arrayBuffer());
  const frames = [];
  for (let at = 0; at < b.length;) {
    const len = b.readUInt32BE(at + 1);
    frames.push({ flags: b[at], ...JSON.parse(b.subarray(at + 5, at + 5 + len)) });
    at += 5 + len;
  }
  return frames;
}

test('the legacy create: no token unless secure, 15 s default', opt, async () => {
  const plain = await create('/sandboxes', { templateID: 'base' });
  assert.equal(plain.envdAccessToken, undefined);
  assert.deepEqual(Object.keys(plain),
    ['alias', 'clientID', 'envdVersion', 'sandboxID', 'templateID']);
  assert.equal(lifetime(await info(plain.sandboxID)), 15);
  // Unsecured: envd needs no token.
  const f = await stream(plain, 'Start', { process: { cmd: 'true' } });
  assert.deepEqual(f.at(-1), { flags: 2 });
  const secure = await create('/sandboxes',
    { templateID: 'base:default', secure: true, timeout: 42 });
  assert.match(secure.envdAccessToken, /^[0-9a-f]{32}$/);
  assert.equal(lifetime(await info(secure.sandboxID)), 42);
  const v2 = await create('/v2/sandboxes', { templateID: 'base' });
  assert.ok(v2.envdAccessToken);
  const detail = await info(v2.sandboxID);
  assert.equal(lifetime(detail), 300);
  assert.equal(detail.envdAccessToken, v2.envdAccessToken);
  assert.deepEqual(detail.lifecycle, { autoResume: false, onTimeout: 'kill' });
});

test('timeout, refreshes and connect on both generations', opt, async () => {
  const sb = await create('/v2/sandboxes', { templateID: 'base', timeout: 100 });
  const post = (p, body) => local.request('POST', `/sandboxes/${sb.sandboxID}${p}`,
    { headers: JSON_CT, body: JSON.stringify(body) });
  assert.equal((await post('/timeout', { timeout: 20 })).status, 204);
  assert.equal(lifetime(await info(sb.sandboxID)) < 30, true);
  assert.equal((await post('/refreshes', { duration: 5 })).status, 204);
  assert.equal((await post('/refreshes', {})).status, 204);
  const v1 = await post('/connect', { timeout: 600 });
  assert.equal(v1.status, 200);
  assert.equal((await v1.json()).envdAccessToken, sb.envdAccessToken);
  const before = Date.parse((await info(sb.sandboxID)).endAt);
  const v2 = await local.request('POST', `/v2/sandboxes/${sb.sandboxID}/connect`,
    { headers: JSON_CT, body: '{"timeout": 10}' });
  assert.equal(v2.status, 200);
  // Connect never shortens.
  assert.equal(Date.parse((await info(sb.sandboxID)).endAt), before);
  assert.equal((await post('/connect', {})).status, 400);
});

test('v2 list: paging headers, order, state and template', opt, async () => {
  const a = await create('/v2/sandboxes', { templateID: 'base', metadata: { k: 'l' } });
  const b = await create('/v2/sandboxes', { templateID: 'base', metadata: { k: 'l' } });
  const q = 'metadata=' + encodeURIComponent('k=l');
  let res = await local.request('GET', `/v2/sandboxes?${q}&limit=1`);
  assert.equal(res.headers.get('x-total-running'), '2');
  const token = res.headers.get('x-next-token');
  assert.ok(token);
  assert.deepEqual((await res.json()).map((s) => s.sandboxID), [b.sandboxID]);
  res = await local.request('GET',
    `/v2/sandboxes?${q}&limit=1&nextToken=${encodeURIComponent(token)}`);
  assert.equal(res.headers.get('x-next-token'), null);
  assert.deepEqual((await res.json()).map((s) => s.sandboxID), [a.sandboxID]);
  res = await local.request('GET', `/v2/sandboxes?${q}&order=asc`);
  assert.deepEqual((await res.json()).map((s) => s.sandboxID),
    [a.sandboxID, b.sandboxID]);
  res = await local.request('GET', `/v2/sandboxes?${q}&state=paused`);
  assert.deepEqual(await res.json(), []);
  assert.equal(res.headers.get('x-total-running'), null);
  res = await local.request('GET', `/v2/sandboxes?${q}&template=other`);
  assert.deepEqual(await res.json(), []);
  const listed = (await (await local.request('GET', `/v2/sandboxes?${q}`)).json())[0];
  assert.deepEqual(Object.keys(listed), ['alias', 'clientID', 'cpuCount',
    'diskSizeMB', 'endAt', 'envdVersion', 'memoryMB', 'metadata', 'sandboxID',
    'startedAt', 'state', 'templateID']);
});

test('keepalives at the asked interval; chunks of at most 32 KiB', opt, async () => {
  const sb = await create('/v2/sandboxes', { templateID: 'base' });
  const f = await stream(sb, 'Start', { process: { cmd: '/bin/sh',
    args: ['-c', 'sleep 2.5; head -c 100000 /dev/zero'] } },
  { 'Keepalive-Ping-Interval': '1' });
  const kinds = f.map((x) => (x.event ? Object.keys(x.event)[0] : 'eos'));
  assert.equal(kinds[0], 'start');
  assert.ok(kinds.filter((k) => k === 'keepalive').length >= 2, kinds.join());
  const sizes = f.filter((x) => x.event?.data)
    .map((x) => Buffer.from(x.event.data.stdout, 'base64').length);
  assert.equal(sizes.reduce((s, n) => s + n, 0), 100000);
  assert.ok(Math.max(...sizes) <= 32768, sizes.join());
  assert.deepEqual(f.at(-2).event.end, { exited: true, status: 'exit status 0' });
  assert.deepEqual(f.at(-1), { flags: 2 });
});

test('Connect-Timeout-Ms: deadline_exceeded, and the process is gone', opt,
  async () => {
    const sb = await create('/v2/sandboxes', { templateID: 'base' });
    const f = await stream(sb, 'Start', { process: { cmd: 'sleep', args: ['30'] },
      tag: 'sleeper' }, { 'Connect-Timeout-Ms': '500' });
    assert.deepEqual(f.at(-1), { flags: 2, error: { code: 'deadline_exceeded',
      message: 'context deadline exceeded' } });
    await sleep(300);
    const again = await stream(sb, 'Connect', { process: { tag: 'sleeper' } });
    assert.equal(again[1].event.end.exitCode, -1);
    assert.equal(again[1].event.end.status, 'signal: killed');
  });

test('Connect by tag while running, and after the end', opt, async () => {
  const sb = await create('/v2/sandboxes', { templateID: 'base' });
  const h = { 'Content-Type': 'application/connect+json',
    'E2b-Sandbox-Id': sb.sandboxID, 'E2b-Sandbox-Port': '49983',
    'X-Access-Token': sb.envdAccessToken };
  const ctl = new AbortController();
  const first = await fetch(`${local.url}/process.Process/Start`, {
    method: 'POST', headers: h, signal: ctl.signal,
    body: envelope({ process: { cmd: '/bin/sh',
      args: ['-c', 'sleep 1; echo late; exit 7'] }, tag: 'job' }) });
  assert.equal(first.status, 200);
  ctl.abort();		// drop the first stream: the process carries on
  const f = await stream(sb, 'Connect', { process: { tag: 'job' } });
  const pid = f[0].event.start.pid;
  assert.equal(Buffer.from(f[1].event.data.stdout, 'base64').toString(), 'late\n');
  assert.equal(f[2].event.end.exitCode, 7);
  const late = await stream(sb, 'Connect', { process: { pid } });
  assert.deepEqual(late.map((x) => Object.keys(x.event ?? { eos: 1 })[0]),
    ['start', 'end', 'eos']);
  assert.equal(late[1].event.end.exitCode, 7);
  const none = await stream(sb, 'Connect', { process: { tag: 'nope' } });
  assert.equal(none.at(-1).error.code, 'not_found');
});
