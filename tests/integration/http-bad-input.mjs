// The HTTP host against bad input (issue 6): no token, a wrong token, a
// wrong Origin, a wrong Host, an oversized body, a wrong content type,
// an unknown session, malformed JSON, a client that sends one byte a
// second; and the rest of the transport's rules (406, 405, 400 for the
// version header, 409, DELETE, session limits, resumption).  Each case
// gets its status code and is followed by a check that the server
// still serves; every server exits 0 on SIGTERM at the end.
import test from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { spawnSync } from 'node:child_process';
import http from 'node:http';
import { scratch, spec, skillboxdPath, BUILT_SKIP, sleep } from
  './lib/skillboxd.mjs';
import { httpServer, request, post, mcpHeaders, session, sseEvents,
  stillServes, TOKEN } from './lib/http.mjs';

// Run fn against a fresh HTTP host; it must still serve afterwards and
// exit cleanly.
async function withHost(env, fn) {
  const s = scratch();
  const srv = await httpServer(s, { env });
  try {
    await fn(srv, s);
    assert.ok(await stillServes(srv));
    assert.deepEqual(await srv.stop(), { code: 0, signal: null },
      srv.log());
    assert.doesNotMatch(srv.log(), /runtime error|Sanitizer/);
  } catch (e) {
    e.message += `\n--- skillboxd log:\n${srv.log()}`;
    throw e;
  } finally {
    srv.child.kill('SIGKILL');
    s.cleanup();
  }
}

function hostTest(name, fn, env = {}) {
  test(name, { skip: BUILT_SKIP }, () => withHost(env, fn));
}

const INIT = { jsonrpc: '2.0', id: 1, method: 'initialize', params: {
  protocolVersion: '2025-11-25', capabilities: {},
  clientInfo: { name: 'bad', version: '0' } } };

hostTest('no token, a wrong token: 401 with WWW-Authenticate: Bearer',
  async (srv) => {
    const h = mcpHeaders(srv);
    delete h.Authorization;
    let r = await request(srv, { headers: h, body: JSON.stringify(INIT) });
    assert.equal(r.status, 401);
    assert.match(r.headers['www-authenticate'], /^Bearer realm="skillbox"$/);
    assert.equal(r.json.error.code, -32000);
    r = await post(srv, INIT, { Authorization: 'Bearer not-the-token' });
    assert.equal(r.status, 401);
    assert.match(r.headers['www-authenticate'], /error="invalid_token"/);
    r = await post(srv, INIT, { Authorization: `Basic ${TOKEN}` });
    assert.equal(r.status, 401);
    r = await post(srv, INIT, { Authorization: `Bearer ${TOKEN}x` });
    assert.equal(r.status, 401);
    // Every method is guarded, GET and DELETE too.
    for (const method of ['GET', 'DELETE']) {
      r = await request(srv, { method, headers: { Accept:
        'text/event-stream' } });
      assert.equal(r.status, 401, method);
    }
    assert.doesNotMatch(srv.log(), new RegExp(TOKEN));
  });

hostTest('a wrong Origin, a wrong Host: 403 (DNS rebinding)',
  async (srv) => {
    let r = await post(srv, INIT, { Origin: 'http://evil.example.com' });
    assert.equal(r.status, 403);
    r = await post(srv, INIT, { Origin: 'null' });
    assert.equal(r.status, 403);
    r = await post(srv, INIT, { Host: 'evil.example.com' });
    assert.equal(r.status, 403);
    r = await post(srv, INIT, { Host: `evil.example.com:${srv.port}` });
    assert.equal(r.status, 403);
    // Checked before the token: a forged request learns nothing more.
    r = await post(srv, INIT, { Host: 'evil.example.com',
      Authorization: 'Bearer wrong' });
    assert.equal(r.status, 403);
    // Loopback names and origins are fine.
    for (const [host, origin] of [['localhost', 'http://localhost:3000'],
      [`127.0.0.1:${srv.port}`, `http://127.0.0.1:${srv.port}`],
      [`[::1]:${srv.port}`, 'https://[::1]']]) {
      r = await post(srv, INIT, { Host: host, Origin: origin });
      assert.equal(r.status, 200, `${host} ${origin}`);
    }
  });

hostTest('configured Host and Origin allow-lists replace the defaults',
  async (srv) => {
    let r = await post(srv, INIT, { Host: 'mcp.example.org',
      Origin: 'https://app.example.org' });
    assert.equal(r.status, 200);
    r = await post(srv, INIT, { Host: 'mcp.example.org',
      Origin: 'http://localhost' });
    assert.equal(r.status, 403);
    r = await post(srv, INIT, { Host: 'localhost' });
    assert.equal(r.status, 403);
  }, { SKILLBOX_ALLOWED_HOSTS: `mcp.example.org, 127.0.0.1`,
    SKILLBOX_ALLOWED_ORIGINS: 'https://app.example.org' });

hostTest('an oversized body: 413; a wrong content type: 415; Accept: 406',
  async (srv) => {
    const big = JSON.stringify({ ...INIT, pad: 'x'.repeat(100 * 1024) });
    let r = await request(srv, { headers: mcpHeaders(srv), body: big });
    assert.equal(r.status, 413);
    r = await post(srv, INIT, { 'Content-Type': 'text/plain' });
    assert.equal(r.status, 415);
    r = await post(srv, INIT, { 'Content-Type': 'application/jsonx' });
    assert.equal(r.status, 415);
    r = await post(srv, INIT, { Accept: 'application/json' });
    assert.equal(r.status, 406);
    r = await post(srv, INIT, { Accept: 'text/html' });
    assert.equal(r.status, 406);
    const sid = await session(srv);
    r = await request(srv, { method: 'GET', headers: {
      Authorization: `Bearer ${TOKEN}`, 'Mcp-Session-Id': sid,
      Accept: 'application/json' } });
    assert.equal(r.status, 406);
    // Wildcards take both.
    r = await post(srv, INIT, { Accept: '*/*' });
    assert.equal(r.status, 200);
  }, { SKILLBOX_HTTP_BODY_MAX: String(64 * 1024) });

hostTest('sessions: unknown 404, missing 400, DELETE ends one',
  async (srv) => {
    let r = await post(srv, { jsonrpc: '2.0', id: 2, method: 'ping' },
      { 'Mcp-Session-Id': '0123456789abcdef0123456789abcdef' });
    assert.equal(r.status, 404);
    assert.equal(r.json.error.code, -32001);
    r = await post(srv, { jsonrpc: '2.0', id: 2, method: 'ping' });
    assert.equal(r.status, 400);
    const sid = await session(srv);
    assert.match(sid, /^[0-9a-f]{32}$/);
    r = await post(srv, { jsonrpc: '2.0', id: 2, method: 'ping' },
      { 'Mcp-Session-Id': sid });
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'application/json');
    r = await request(srv, { method: 'DELETE', headers: {
      Authorization: `Bearer ${TOKEN}`, 'Mcp-Session-Id': sid } });
    assert.equal(r.status, 200);
    r = await post(srv, { jsonrpc: '2.0', id: 3, method: 'ping' },
      { 'Mcp-Session-Id': sid });
    assert.equal(r.status, 404);
    // A failed initialize makes no session.
    r = await post(srv, { ...INIT, params: {} });
    assert.equal(r.status, 200);
    assert.equal(r.json.error.code, -32602);
    assert.equal(r.headers['mcp-session-id'], undefined);
  });

hostTest('malformed JSON: 400 with -32700; notifications and responses: 202',
  async (srv) => {
    let r = await request(srv, { headers: mcpHeaders(srv),
      body: '{"jsonrpc":"2.0","id":1,"method":' });
    assert.equal(r.status, 400);
    assert.equal(r.json.error.code, -32700);
    const sid = await session(srv);
    const h = { 'Mcp-Session-Id': sid };
    r = await request(srv, { headers: mcpHeaders(srv, h), body: '[1,' });
    assert.equal(r.status, 400);
    assert.equal(r.json.error.code, -32700);
    r = await request(srv, { headers: mcpHeaders(srv, h), body: '' });
    assert.equal(r.status, 400);
    r = await post(srv, { jsonrpc: '2.0', id: 4 }, h);
    assert.equal(r.status, 400);
    assert.equal(r.json.error.code, -32600);
    // A batch at 2025-11-25 is refused.
    r = await post(srv, [{ jsonrpc: '2.0', id: 5, method: 'ping' }], h);
    assert.equal(r.status, 400);
    // Unknown methods are answered in JSON-RPC.
    r = await post(srv, { jsonrpc: '2.0', id: 6, method: 'nope' }, h);
    assert.equal(r.status, 200);
    assert.equal(r.json.error.code, -32601);
    r = await post(srv, { jsonrpc: '2.0', method: 'notifications/x' }, h);
    assert.equal(r.status, 202);
    assert.equal(r.body, '');
    r = await post(srv, { jsonrpc: '2.0', id: 77, result: {} }, h);
    assert.equal(r.status, 202);
  });

hostTest('MCP-Protocol-Version: 400 when unsupported or not negotiated',
  async (srv) => {
    const sid = await session(srv, '2025-06-18');
    let r = await post(srv, { jsonrpc: '2.0', id: 2, method: 'ping' },
      { 'Mcp-Session-Id': sid, 'MCP-Protocol-Version': '1999-01-01' });
    assert.equal(r.status, 400);
    r = await post(srv, { jsonrpc: '2.0', id: 2, method: 'ping' },
      { 'Mcp-Session-Id': sid, 'MCP-Protocol-Version': '2025-11-25' });
    assert.equal(r.status, 400);
    assert.match(r.json.error.message, /negotiated \(2025-06-18\)/);
    r = await post(srv, { jsonrpc: '2.0', id: 2, method: 'ping' },
      { 'Mcp-Session-Id': sid, 'MCP-Protocol-Version': '2025-06-18' });
    assert.equal(r.status, 200);
    r = await post(srv, INIT, { 'MCP-Protocol-Version': '2026-07-28' });
    assert.equal(r.status, 400);
    // The 2026 probe the newer clients send first: a plain 400.
    r = await post(srv, { jsonrpc: '2.0', id: 'd', method:
      'server/discover', params: {} }, { 'MCP-Protocol-Version':
      '2025-11-25' });
    assert.equal(r.status, 400);
  });

hostTest('other methods: 405 with Allow; other paths: 404',
  async (srv) => {
    for (const method of ['PUT', 'PATCH', 'OPTIONS']) {
      const r = await request(srv, { method, headers: mcpHeaders(srv),
        body: method === 'OPTIONS' ? undefined : '{}' });
      assert.equal(r.status, 405, method);
      assert.equal(r.headers.allow, 'GET, POST, DELETE');
    }
    const r = await request(srv, { path: '/other', headers:
      mcpHeaders(srv), body: JSON.stringify(INIT) });
    assert.equal(r.status, 404);
  });

// Send a request one byte a second until the server closes; resolves
// with the number of bytes it took, and the seconds.
function tricklePost(srv) {
  const text = `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ` +
    `Bearer ${TOKEN}\r\nContent-Type: application/json\r\nAccept: ` +
    `${'application/json, text/event-stream'}\r\nContent-Length: 100\r\n` +
    `\r\n${'x'.repeat(100)}`;
  return new Promise((resolve) => {
    const t0 = Date.now();
    const sock = net.connect(srv.port, '127.0.0.1');
    let i = 0;
    let timer;
    const done = () => {
      clearInterval(timer);
      resolve({ sent: i, secs: (Date.now() - t0) / 1000 });
    };
    sock.on('close', done);
    sock.on('error', () => {});
    sock.on('data', () => {});
    timer = setInterval(() => {
      if (i < text.length && !sock.destroyed) sock.write(text[i++]);
    }, 1000);
  });
}

hostTest('a client sending one byte a second is cut off, others unaffected',
  async (srv) => {
    const slow = tricklePost(srv);
    // Meanwhile the server answers everybody else at once.
    await sleep(1500);
    const t0 = Date.now();
    assert.ok(await stillServes(srv));
    assert.ok(Date.now() - t0 < 5000);
    const { sent } = await slow;
    assert.ok(sent < 40, `the server read ${sent} bytes before cutting`);
    assert.match(srv.log(), /connection cut off: the request did not/);
  }, { SKILLBOX_HTTP_TIMEOUT_S: '3' });

hostTest('a second GET stream of a session: 409; GET needs a session',
  async (srv) => {
    const sid = await session(srv);
    const h = { Authorization: `Bearer ${TOKEN}`, 'Mcp-Session-Id': sid,
      Accept: 'text/event-stream' };
    const first = http.request({ host: '127.0.0.1', port: srv.port,
      path: '/mcp', method: 'GET', headers: h });
    const opened = new Promise((res) => first.on('response', res));
    first.end();
    const res = await opened;
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'text/event-stream');
    const r = await request(srv, { method: 'GET', headers: h });
    assert.equal(r.status, 409);
    first.destroy();
    await sleep(200);
    const again = await request(srv, { method: 'GET', headers: {
      ...h, 'Mcp-Session-Id': 'nope' } });
    assert.equal(again.status, 404);
  });

hostTest('an SSE stream outlives the read timeout (it is not a request)',
  async (srv, s) => {
    const sid = await session(srv);
    const h = { Authorization: `Bearer ${TOKEN}`, 'Mcp-Session-Id': sid,
      Accept: 'text/event-stream' };
    let text = '';
    const get = http.request({ host: '127.0.0.1', port: srv.port,
      path: '/mcp', method: 'GET', headers: h });
    const opened = new Promise((res) => get.on('response', res));
    get.end();
    const res = await opened;
    res.setEncoding('utf8');
    res.on('data', (d) => { text += d; });
    await sleep(3500);
    // Something for the session: the resource list changed.
    const r = await post(srv, { jsonrpc: '2.0', id: 2, method:
      'tools/call', params: { name: 'submit_job', arguments: spec(s) } },
    { 'Mcp-Session-Id': sid });
    assert.equal(r.status, 200);
    await sleep(500);
    get.destroy();
    assert.match(text, /notifications\/resources\/list_changed/);
  }, { SKILLBOX_HTTP_TIMEOUT_S: '1' });

hostTest('at the session limit the oldest idle session goes',
  async (srv) => {
    const ids = [];
    for (let i = 0; i < 4; i++) ids.push(await session(srv));
    const r = await post(srv, { jsonrpc: '2.0', id: 2, method: 'ping' },
      { 'Mcp-Session-Id': ids[0] });
    assert.equal(r.status, 404);
    const last = await post(srv, { jsonrpc: '2.0', id: 2, method: 'ping' },
      { 'Mcp-Session-Id': ids[3] });
    assert.equal(last.status, 200);
  }, { SKILLBOX_MAX_SESSIONS: '3' });

// POST a request and read its SSE response until pred(events) holds;
// then drop the connection.  Resolves with the events read.
function readUntil(srv, headers, body, pred) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: srv.port,
      path: '/mcp', method: 'POST', headers }, (res) => {
      if (res.headers['content-type'] !== 'text/event-stream') {
        reject(new Error(`not SSE: ${res.statusCode}`));
        return;
      }
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => {
        text += d;
        const evs = sseEvents(text.slice(0, text.lastIndexOf('\n\n') + 2));
        if (pred(evs)) {
          req.destroy();
          resolve(evs);
        }
      });
    });
    req.on('error', () => {});
    req.end(body);
  });
}

hostTest('a dropped SSE stream resumes with GET and Last-Event-ID',
  async (srv, s) => {
    const sid = await session(srv);
    const h = mcpHeaders(srv, { 'Mcp-Session-Id': sid });
    const sub = await post(srv, { jsonrpc: '2.0', id: 2, method:
      'tools/call', params: { name: 'submit_job', arguments: spec(s,
        'normal', { env: { FAKE_WORKER_STEPS: '8',
          FAKE_WORKER_STEP_MS: '200' } }) } }, { 'Mcp-Session-Id': sid });
    const jobId = sub.json.result.structuredContent.job_id;
    const wait = JSON.stringify({ jsonrpc: '2.0', id: 3, method:
      'tools/call', params: { name: 'wait_job', arguments: { job_id: jobId,
        timeout_s: 60 }, _meta: { progressToken: 'p1' } } });
    const seen = await readUntil(srv, h, wait, (evs) =>
      evs.some((e) => e.data.includes('notifications/progress')));
    const last = seen.filter((e) => e.id).pop().id;
    assert.match(last, /^\d+\.\d+$/);
    assert.equal(seen[0].data, '', 'a priming event comes first');
    assert.match(seen[0].retry, /^\d+$/);
    // The job goes on; a disconnect is not a cancellation.
    const r = await request(srv, { method: 'GET', headers: {
      Authorization: `Bearer ${TOKEN}`, 'Mcp-Session-Id': sid,
      Accept: 'text/event-stream', 'Last-Event-ID': last },
    timeout: 60000 });
    assert.equal(r.status, 200);
    const evs = sseEvents(r.body);
    const msgs = evs.filter((e) => e.data).map((e) => JSON.parse(e.data));
    const answer = msgs.find((m) => m.id === 3);
    assert.ok(answer, r.body);
    assert.equal(answer.result.structuredContent.state, 'succeeded');
    assert.ok(msgs.some((m) => m.method === 'notifications/progress'));
    // Nothing read before is sent again.
    const ids = evs.filter((e) => e.data).map((e) => e.id);
    assert.ok(!ids.includes(last));
  });

test('without a token the host refuses to start; --no-auth only on loopback',
  { skip: BUILT_SKIP }, () => {
    const s = scratch();
    try {
      const env = { ...process.env, SKILLBOX_STATE_DIR: s.state };
      delete env.SKILLBOX_TOKEN_FILE;
      delete env.CREDENTIALS_DIRECTORY;
      let r = spawnSync(skillboxdPath, ['--listen', '127.0.0.1:0'],
        { env, encoding: 'utf8', timeout: 20000 });
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /no bearer token/);
      r = spawnSync(skillboxdPath, ['--listen', '0.0.0.0:0', '--no-auth'],
        { env, encoding: 'utf8', timeout: 20000 });
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /loopback address only/);
      r = spawnSync(skillboxdPath, ['--listen', 'nonsense'],
        { env: { ...env, SKILLBOX_TOKEN_FILE: '/nonexistent' },
          encoding: 'utf8', timeout: 20000 });
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /expected ADDRESS:PORT/);
    } finally {
      s.cleanup();
    }
  });
