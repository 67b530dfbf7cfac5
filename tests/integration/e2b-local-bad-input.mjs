// Bad input to tests/e2b-local over raw HTTP: each case gets the error
// E2B gives (the control plane's {"code": N, "message"}, the edge's 502,
// envd's JSON errors, Connect errors, Connect end-of-stream errors), and
// e2b-local keeps serving afterwards.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http from 'node:http';
import { gzipSync } from 'node:zlib';
import { after, before, test } from 'node:test';

import { skipUnless } from './lib/deps.mjs';
import { e2bLocalPath, makeTemplate, startE2bLocal } from './lib/e2b-local.mjs';

const skip = skipUnless({ programs: ['bwrap'], files: [e2bLocalPath()] });
const opt = { skip, timeout: 60000 };
const JSON_CT = { 'Content-Type': 'application/json' };
const STREAM_CT = { 'Content-Type': 'application/connect+json' };

let local;
let sbx;		// one sandbox: {sandboxID, envdAccessToken}

before(async () => {
  if (skip) return;
  local = await startE2bLocal({ templates: { base: makeTemplate() } });
  const res = await local.request('POST', '/v2/sandboxes', {
    headers: JSON_CT, body: JSON.stringify({ templateID: 'base' }),
  });
  assert.equal(res.status, 201);
  sbx = await res.json();
});

after(async () => {
  if (!local) return;
  if (sbx) await local.request('DELETE', `/sandboxes/${sbx.sandboxID}`);
  assert.deepEqual(await local.waitNoSandboxes(), []);
  assert.deepEqual(await local.stop(), { code: 0, signal: null });
});

// An envd request to the test sandbox.
function envd(method, path, { body, headers = {}, token = true, id } = {}) {
  const h = { 'E2b-Sandbox-Id': id ?? sbx.sandboxID, 'E2b-Sandbox-Port': '49983',
    ...headers };
  if (token) h['X-Access-Token'] = sbx.envdAccessToken;
  return fetch(local.url + path, { method, body, headers: h });
}

// One Connect envelope.
function envelope(flags, payload) {
  const p = Buffer.from(payload);
  const h = Buffer.alloc(5);
  h[0] = flags;
  h.writeUInt32BE(p.length, 1);
  return Buffer.concat([h, p]);
}

// Split a Connect stream body into [{flags, json}].
async function frames(res) {
  const b = Buffer.from(await res.arrayBuffer());
  const out = [];
  for (let at = 0; at < b.length;) {
    const len = b.readUInt32BE(at + 1);
    out.push({ flags: b[at], json: JSON.parse(b.subarray(at + 5, at + 5 + len)) });
    at += 5 + len;
  }
  return out;
}

async function expectAPIError(res, status, message) {
  assert.equal(res.status, status);
  assert.match(res.headers.get('content-type'), /^application\/json/);
  const body = await res.json();
  assert.equal(body.code, status);
  if (message) assert.match(body.message, message);
  return body;
}

test('API: a missing, malformed or wrong API key is 401', opt, async () => {
  const create = { headers: JSON_CT, body: JSON.stringify({ templateID: 'base' }) };
  await expectAPIError(await local.request('POST', '/v2/sandboxes',
    { ...create, apiKey: false }), 401, /authorization header is missing/);
  await expectAPIError(await local.request('POST', '/v2/sandboxes',
    { ...create, apiKey: false, headers: { ...JSON_CT, 'x-api-key': 'e2b_wrong' } }),
  401, /Invalid API key/);
  await expectAPIError(await local.request('GET', '/v2/sandboxes',
    { apiKey: false, headers: { 'X-API-KEY': 'nope' } }), 401, /malformed/);
  // The header name is case-insensitive.
  const ok = await local.request('GET', '/v2/sandboxes', {
    apiKey: false, headers: { 'x-api-key': local.apiKey } });
  assert.equal(ok.status, 200);
});

test('API: malformed bodies and wrong content types are 400', opt, async () => {
  const post = (body, headers = JSON_CT) =>
    local.request('POST', '/v2/sandboxes', { body, headers });
  await expectAPIError(await post('{"templateID": "base"'), 400,
    /failed to decode request body/);
  await expectAPIError(await post('[1, 2]'), 400, /request body/);
  await expectAPIError(await post('templateID=base',
    { 'Content-Type': 'text/plain' }), 400, /Content-Type/);
  await expectAPIError(await post(''), 400, /value is required/);
  await expectAPIError(await post('{}'), 400, /templateID/);
  await expectAPIError(await post('{"templateID": 7}'), 400, /templateID/);
  await expectAPIError(await post('{"templateID": "base", "metadata": {"a": 1}}'),
    400, /metadata/);
  await expectAPIError(await post('{"templateID": "base", "timeout": 0}'), 400,
    /greater than 0/);
  await expectAPIError(await post('{"templateID": "base", "timeout": 999999}'),
    400, /cannot be greater than 24 hours/);
  await expectAPIError(await post('{"templateID": "nope"}'), 404,
    /template 'nope' not found/);
  await expectAPIError(await post('{"templateID": "base", "autoPause": true}'),
    400, /does not support pausing/);
  const huge = JSON.stringify({ templateID: 'base', pad: 'x'.repeat(2 << 20) });
  await expectAPIError(await post(huge), 413);
});

test('API: unknown or invalid sandbox ids', opt, async () => {
  const id = 'i0000000000000000000000';
  for (const [m, p] of [['GET', `/sandboxes/${id}`], ['DELETE', `/sandboxes/${id}`]]) {
    await expectAPIError(await local.request(m, p), 404,
      new RegExp(`Sandbox "${id}" doesn't exist`));
  }
  await expectAPIError(await local.request('POST', `/sandboxes/${id}/timeout`,
    { headers: JSON_CT, body: '{"timeout": 10}' }), 404);
  await expectAPIError(await local.request('POST', `/v2/sandboxes/${id}/connect`,
    { headers: JSON_CT, body: '{}' }), 404);
  await expectAPIError(await local.request('GET', '/sandboxes/NOT_VALID!'), 400,
    /Invalid sandbox ID/);
  await expectAPIError(await local.request('POST',
    `/sandboxes/${sbx.sandboxID}/timeout`, { headers: JSON_CT, body: '{}' }), 400);
  await expectAPIError(await local.request('POST',
    `/sandboxes/${sbx.sandboxID}/pause`), 400, /does not support pausing/);
  await expectAPIError(await local.request('POST',
    `/sandboxes/${sbx.sandboxID}/resume`), 409);
  await expectAPIError(await local.request('GET', '/no/such/route'), 404);
});

test('API: bad list parameters are 400', opt, async () => {
  for (const q of ['limit=0', 'limit=101', 'limit=x', 'state=gone',
    'nextToken=%25%25', 'order=sideways', 'metadata=a%3Db%3Dc']) {
    await expectAPIError(await local.request('GET', `/v2/sandboxes?${q}`), 400);
  }
  const legacy = await local.request('GET', '/sandboxes');
  assert.equal(legacy.status, 200);
  assert.ok((await legacy.json()).some((s) => s.sandboxID === sbx.sandboxID));
});

test('edge: unknown sandboxes are 502, bad routing is 400', opt, async () => {
  const gone = await envd('GET', '/health', { id: 'i0000000000000000000000' });
  assert.equal(gone.status, 502);
  assert.deepEqual(await gone.json(), { sandboxId: 'i0000000000000000000000',
    message: 'The sandbox was not found', code: 502 });
  const port = await fetch(`${local.url}/health`, { headers: {
    'E2b-Sandbox-Id': sbx.sandboxID, 'E2b-Sandbox-Port': '8080' } });
  assert.equal(port.status, 502);
  assert.equal((await port.json()).port, 8080);
  const half = await fetch(`${local.url}/health`,
    { headers: { 'E2b-Sandbox-Id': sbx.sandboxID } });
  assert.equal(half.status, 400);
  // The Host form picks the sandbox too (fetch cannot set Host).
  const status = await new Promise((resolve, reject) => {
    http.get({ port: local.port, host: '127.0.0.1', path: '/health',
      headers: { Host: `49983-${sbx.sandboxID}.e2b.local` } },
    (res) => { res.resume(); resolve(res.statusCode); }).on('error', reject);
  });
  assert.equal(status, 204);
  const missing = await envd('GET', '/no-such-path');
  assert.equal(missing.status, 404);
  assert.equal(await missing.text(), '404 page not found\n');
});

test('envd: the access token is checked where envd checks it', opt, async () => {
  assert.equal((await envd('GET', '/health', { token: false })).status, 204);
  const rpc = { headers: JSON_CT, body: '{}' };
  for (const headers of [{}, { 'X-Access-Token': 'wrong' }]) {
    const res = await envd('POST', '/process.Process/List',
      { ...rpc, token: false, headers: { ...rpc.headers, ...headers } });
    await expectAPIError(res, 401, /unauthorized access/);
  }
  await expectAPIError(await envd('GET', '/files?path=x', { token: false }), 401,
    /missing signature/);
  await expectAPIError(await envd('GET', '/files?path=x', {
    token: false, headers: { 'X-Access-Token': 'wrong' } }), 401,
  /does not match/);
  await expectAPIError(await envd('GET', '/files?path=x&signature=v1_bad',
    { token: false }), 401, /invalid signature/);
});

test('envd: a signed URL reads a file without the token', opt, async () => {
  const put = await envd('POST', '/files?path=signed.txt', {
    headers: { 'Content-Type': 'application/octet-stream' }, body: 'signed!' });
  assert.equal(put.status, 200);
  const sig = 'v1_' + createHash('sha256')
    .update(`signed.txt:read::${sbx.envdAccessToken}`).digest('base64')
    .replace(/=+$/, '');
  const res = await envd('GET',
    `/files?path=signed.txt&signature=${encodeURIComponent(sig)}`, { token: false });
  assert.equal(res.status, 200);
  assert.equal(await res.text(), 'signed!');
});

test('Connect unary: bad JSON, content type, user, unknown pid', opt, async () => {
  const bad = await envd('POST', '/process.Process/List',
    { headers: JSON_CT, body: '{"oops' });
  assert.equal(bad.status, 400);
  assert.equal((await bad.json()).code, 'invalid_argument');
  const ctype = await envd('POST', '/process.Process/List',
    { headers: { 'Content-Type': 'text/plain' }, body: '{}' });
  assert.equal(ctype.status, 415);
  const who = await envd('POST', '/process.Process/List', { body: '{}',
    headers: { ...JSON_CT, Authorization: `Basic ${btoa('mallory:')}` } });
  assert.equal(who.status, 401);
  assert.deepEqual(await who.json(),
    { code: 'unauthenticated', message: "invalid username: 'mallory'" });
  const pid = await envd('POST', '/process.Process/SendSignal', { headers: JSON_CT,
    body: JSON.stringify({ process: { pid: 99999 }, signal: 'SIGNAL_SIGKILL' }) });
  assert.equal(pid.status, 404);
  assert.equal((await pid.json()).code, 'not_found');
  const stat = await envd('POST', '/filesystem.Filesystem/Stat',
    { headers: JSON_CT, body: '{"path": "/nope"}' });
  assert.equal(stat.status, 404);
  assert.match((await stat.json()).message, /no such file or directory/);
});

test('Connect streams: bad envelopes end with a Connect error', opt, async () => {
  const start = (body, headers = STREAM_CT) =>
    envd('POST', '/process.Process/Start', { body, headers });
  assert.equal((await start(envelope(0, '{}'), JSON_CT)).status, 415);
  const cases = [
    [envelope(0, '{"process":{"cmd":"true"}}').subarray(0, 12), 'invalid_argument'],
    [Buffer.from([0, 0x7f, 0, 0, 0]), 'resource_exhausted'],
    [envelope(0, '{"process":'), 'invalid_argument'],
    [Buffer.concat([envelope(0, '{}'), envelope(0, '{}')]), 'invalid_argument'],
    [envelope(1, '{}'), 'invalid_argument'],
    [Buffer.alloc(0), 'invalid_argument'],
  ];
  for (const [body, code] of cases) {
    const res = await start(body);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/connect+json');
    const f = await frames(res);
    assert.equal(f.length, 1);
    assert.equal(f[0].flags, 2);
    assert.equal(f[0].json.error.code, code, JSON.stringify(f[0].json));
  }
  // A good one: start, data, end, then the end-of-stream frame.
  const ok = await frames(await start(envelope(0, JSON.stringify({
    process: { cmd: '/bin/sh', args: ['-c', 'echo hi; exit 4'] }, stdin: false }))));
  assert.ok(ok[0].json.event.start.pid > 0);
  assert.equal(Buffer.from(ok[1].json.event.data.stdout, 'base64').toString(), 'hi\n');
  assert.deepEqual(ok[2].json.event.end,
    { exitCode: 4, exited: true, status: 'exit status 4', error: 'exit status 4' });
  assert.deepEqual(ok[3], { flags: 2, json: {} });
});

test('files: bad uploads and downloads', opt, async () => {
  const up = (q, body, headers) => envd('POST', `/files${q}`, { body, headers });
  await expectAPIError(await up('?path=a', 'x', { 'Content-Type': 'text/plain' }),
    400, /unsupported content type/);
  await expectAPIError(await up('', 'x',
    { 'Content-Type': 'application/octet-stream' }), 400, /path query parameter/);
  await expectAPIError(await up('?path=a', 'not gzip', {
    'Content-Type': 'application/octet-stream', 'Content-Encoding': 'gzip' }),
  400, /decompressing/);
  await expectAPIError(await up('?path=a', 'x', {
    'Content-Type': 'application/octet-stream', 'Content-Encoding': 'br' }),
  400, /unsupported Content-Encoding/);
  await expectAPIError(await up('', 'x', { 'Content-Type': 'multipart/form-data' }),
    500, /boundary/);
  const zipped = await up('?path=z.txt', gzipSync('unzipped'), {
    'Content-Type': 'application/octet-stream', 'Content-Encoding': 'gzip' });
  assert.equal(zipped.status, 200);
  assert.deepEqual(await zipped.json(),
    [{ name: 'z.txt', path: '/home/user/z.txt', type: 'file' }]);
  await expectAPIError(await envd('GET', '/files?path=/nope'), 404,
    /path '\/nope' does not exist/);
  await expectAPIError(await envd('GET', '/files?path=/home'), 400,
    /is a directory/);
  const range = await envd('GET', '/files?path=z.txt',
    { headers: { Range: 'bytes=2-4' } });
  assert.equal(range.status, 206);
  assert.equal(range.headers.get('content-range'), 'bytes 2-4/8');
  assert.equal(await range.text(), 'zip');
  const past = await envd('GET', '/files?path=z.txt',
    { headers: { Range: 'bytes=100-' } });
  assert.equal(past.status, 416);
  assert.equal(past.headers.get('content-range'), 'bytes */8');
  const dup = new FormData();
  dup.append('file', new Blob(['1']), '/home/user/d');
  dup.append('file', new Blob(['2']), '/home/user/d');
  await expectAPIError(await envd('POST', '/files', { body: dup }), 400,
    /multiple files to the same path/);
});

test('e2b-local keeps serving after all of that', opt, async () => {
  const res = await envd('POST', '/process.Process/Start', { headers: STREAM_CT,
    body: envelope(0, JSON.stringify({ process: { cmd: 'echo', args: ['alive'] } })) });
  const f = await frames(res);
  assert.equal(Buffer.from(f[1].json.event.data.stdout, 'base64').toString(),
    'alive\n');
  const stats = await local.stats();
  assert.ok(stats.routes['POST /v2/sandboxes'] >= 10, JSON.stringify(stats));
  assert.ok(stats.routes['POST /process.Process/Start'] >= 8);
});
