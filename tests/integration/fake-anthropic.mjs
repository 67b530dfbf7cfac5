// tests/fake-anthropic on the wire, with plain HTTP (no CLI): the SSE and
// non-streaming shapes, entry selection by assistant turns, scripted
// errors, cut streams, delays, the request log, and that bad input gets a
// clear answer while the fake keeps serving.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';

import {
  FAKE_BIN, requests, startFake, stopFake, tempDir,
} from './lib/fake-anthropic.mjs';

const LONG = 'héllo wörld — a text long enough to need several deltas ✓';

const SCRIPT = [
  { text: LONG, tool_uses: [
    { name: 'Bash', input: { command: 'ls -l', description: 'list' } },
    { name: 'Read', input: { file_path: '/etc/hostname' } },
  ] },
  { error: { status: 529, message: 'overloaded for the test', retry_after: 7 } },
  { text: 'cut short', break_after: 3 },
  { text: 'slow', delay_ms: 300, usage: { input_tokens: 5, output_tokens: 2 } },
  { text: 'slow and cut', delay_ms: 100, break_after: 2 },
];

// One fake for the whole file; each test adds requests to its log.
let dir, fake;
test.before(async () => {
  dir = tempDir('fake-anthropic-');
  fs.mkdirSync(path.join(dir, 'dump'));
  fake = await startFake(dir, { script: SCRIPT, dump: path.join(dir, 'dump') });
});
test.after(async () => {
  assert.equal(await stopFake(fake), 0, `unclean exit: ${fake.stderr}`);
  fs.rmSync(dir, { recursive: true, force: true });
});

// A request body holding n assistant turns, plus what the CLI sends.
function body(n, extra = {}) {
  const messages = [{ role: 'user', content: [{ type: 'text', text: 'hi',
    cache_control: { type: 'ephemeral' } }] },
  { role: 'system', content: 'Skills: - demo-skill: a demo' }];
  for (let i = 0; i < n; i++) {
    messages.push({ role: 'assistant', content: [{ type: 'text', text: `a${i}` }] });
    messages.push({ role: 'user', content: [{ type: 'tool_result',
      tool_use_id: `toolu_${i}`, content: [{ type: 'text', text: `result ${i}` }] }] });
  }
  return { model: 'claude-opus-5-5', max_tokens: 1000, messages,
    system: [{ type: 'text', text: 'You are a test.' }],
    tools: [{ name: 'Bash', input_schema: {} }, { name: 'Skill', input_schema: {} }],
    thinking: { type: 'adaptive' }, metadata: { user_id: 'x' }, ...extra };
}

// POST to the fake with node's http client, reading what arrives even if
// the connection is cut: resolves to { status, headers, text, error }.
function post(urlPath, payload, { method = 'POST', headers = {}, signal } = {}) {
  const data = typeof payload === 'string' ? payload : JSON.stringify(payload);
  return new Promise((resolve, reject) => {
    const req = http.request(`${fake.url}${urlPath}`, {
      method, signal, agent: false,
      headers: { 'content-type': 'application/json', 'x-api-key': 'sk-ant-test-secret-1234',
        'anthropic-version': '2023-06-01', ...headers },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text }));
      res.on('error', (error) => resolve({ status: res.statusCode, headers: res.headers,
        text, error }));
      res.on('aborted', () => resolve({ status: res.statusCode, headers: res.headers,
        text, error: new Error('aborted') }));
    });
    req.on('error', reject);
    if (method !== 'HEAD' && method !== 'GET') req.end(data);
    else req.end();
  });
}

// Parse an SSE text into [{event, data}].
function sse(text) {
  return text.split('\n\n').filter((b) => b.startsWith('event: ')).map((b) => {
    const [ev, data] = b.split('\n');
    return { event: ev.slice(7), data: JSON.parse(data.slice(6)) };
  });
}

// Rebuild the message an SSE stream describes, as a client would.
function assemble(events) {
  const msg = { ...events[0].data.message, content: [] };
  const partial = [];
  for (const { event, data } of events) {
    if (event === 'content_block_start') {
      msg.content[data.index] = { ...data.content_block };
      partial[data.index] = '';
    } else if (event === 'content_block_delta') {
      if (data.delta.type === 'text_delta') msg.content[data.index].text += data.delta.text;
      else partial[data.index] += data.delta.partial_json;
    } else if (event === 'content_block_stop') {
      if (msg.content[data.index].type === 'tool_use')
        msg.content[data.index].input = JSON.parse(partial[data.index]);
    } else if (event === 'message_delta') {
      Object.assign(msg, data.delta);
      msg.usage = data.usage;
    }
  }
  return msg;
}

test('streaming: the real API event order, text and tool input deltas', async () => {
  const r = await post('/v1/messages?beta=true', body(0, { stream: true }));
  assert.equal(r.status, 200);
  assert.match(r.headers['content-type'], /^text\/event-stream/);
  assert.match(r.headers['request-id'], /^req_fake_\d+$/);
  const ev = sse(r.text);
  assert.deepEqual(ev.map((e) => e.event), [
    'message_start', 'ping',
    'content_block_start', 'content_block_delta', 'content_block_delta',
    'content_block_delta', 'content_block_stop',
    'content_block_start', 'content_block_delta', 'content_block_delta',
    'content_block_stop',
    'content_block_start', 'content_block_delta', 'content_block_delta',
    'content_block_stop',
    'message_delta', 'message_stop']);
  for (const e of ev) assert.equal(e.data.type, e.event);
  assert.equal(ev[0].data.message.stop_reason, null);
  assert.deepEqual(ev[0].data.message.content, []);
  assert.equal(ev[0].data.message.model, 'claude-opus-5-5');
  assert.deepEqual(ev[7].data.content_block, { type: 'tool_use', id: 'toolu_fake_000_0',
    name: 'Bash', input: {} });
  const msg = assemble(ev);
  assert.equal(msg.content[0].text, LONG);
  assert.deepEqual(msg.content[1].input, { command: 'ls -l', description: 'list' });
  assert.equal(msg.content[2].id, 'toolu_fake_000_1');
  assert.equal(msg.stop_reason, 'tool_use');
  assert.equal(msg.usage.output_tokens, 20);
});

test('stream:false returns the same message as the stream describes', async () => {
  const s = assemble(sse((await post('/v1/messages', body(0, { stream: true }))).text));
  const r = await post('/v1/messages', body(0, { stream: false }));
  assert.equal(r.status, 200);
  assert.match(r.headers['content-type'], /^application\/json/);
  assert.deepEqual(JSON.parse(r.text), s);
});

test('entry i answers the request holding i assistant turns; then "done"', async () => {
  const again = JSON.parse((await post('/v1/messages', body(0))).text);
  assert.equal(again.content[1].id, 'toolu_fake_000_0', 'ids are not stable');
  const e1 = await post('/v1/messages', body(1, { stream: true }));
  assert.equal(e1.status, 529);
  const past = JSON.parse((await post('/v1/messages', body(SCRIPT.length))).text);
  assert.deepEqual(past.content, [{ type: 'text', text: 'done' }]);
  assert.equal(past.stop_reason, 'end_turn');
  assert.equal(past.id, `msg_fake_00${SCRIPT.length}`);
});

test('a scripted error has the Anthropic shape, status and retry-after', async () => {
  const r = await post('/v1/messages', body(1));
  assert.equal(r.status, 529);
  assert.equal(r.headers['retry-after'], '7');
  const e = JSON.parse(r.text);
  assert.equal(e.type, 'error');
  assert.deepEqual(e.error, { type: 'overloaded_error', message: 'overloaded for the test' });
  assert.equal(e.request_id, r.headers['request-id']);
});

test('a scripted break cuts the stream after N events; the fake serves on', async () => {
  const r = await post('/v1/messages', body(2, { stream: true }));
  assert.equal(r.status, 200);
  assert.ok(r.error, 'the stream ended cleanly');
  assert.deepEqual(sse(r.text).map((e) => e.event),
    ['message_start', 'ping', 'content_block_start']);
  const whole = JSON.parse((await post('/v1/messages', body(2))).text);
  assert.equal(whole.content[0].text, 'cut short');
});

test('delay_ms holds the answer; a client leaving meanwhile is harmless', async () => {
  const t0 = Date.now();
  const r = await post('/v1/messages', body(3, { stream: true }));
  assert.ok(Date.now() - t0 >= 300, 'no delay');
  const msg = assemble(sse(r.text));
  assert.equal(msg.content[0].text, 'slow');
  assert.equal(msg.usage.input_tokens, 5);

  const ac = new AbortController();
  const gone = post('/v1/messages', body(3, { stream: true }), { signal: ac.signal });
  setTimeout(() => ac.abort(), 50);
  await assert.rejects(gone);
  const gone2 = post('/v1/messages', body(3), { signal: AbortSignal.timeout(50) });
  await assert.rejects(gone2);
  await new Promise((res) => setTimeout(res, 400));
  assert.equal((await post('/v1/messages', body(0))).status, 200);
});

// Send a raw request for entry n and vanish: FIN or RST, at once or a
// little later (during a delay, or before a cut has drained).
async function vanish(n, how, waitMs) {
  const data = JSON.stringify(body(n, { stream: true }));
  const s = net.connect(fake.port, '127.0.0.1');
  await once(s, 'connect');
  s.write(`POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: ${
    Buffer.byteLength(data)}\r\n\r\n${data}`);
  if (waitMs) await new Promise((res) => setTimeout(res, waitMs));
  if (how === 'rst') s.resetAndDestroy();
  else s.destroy();
}

test('clients vanishing at any point never harm the fake', async () => {
  const gone = [];
  for (let i = 0; i < 10; i++)
    for (const n of [2, 3, 4])
      for (const how of ['fin', 'rst'])
        gone.push(vanish(n, how, i % 3 === 0 ? 0 : i * 7));
  await Promise.all(gone);
  await new Promise((res) => setTimeout(res, 400));
  assert.equal((await post('/v1/messages', body(0))).status, 200);
  const cut = await post('/v1/messages', body(4, { stream: true }));
  assert.equal(sse(cut.text).length, 2);
  assert.equal(fake.proc.exitCode, null);
});

test('bad bodies get a 400 error object and the fake keeps serving', async () => {
  for (const [bad, why] of [['{bad', /offset/], ['', /end of JSON/],
    ['[1,2]', /messages: parent is not an object/],
    ['{"model":"m"}', /messages: is required/],
    ['{"messages":{}}', /messages: expected an array/]]) {
    const r = await post('/v1/messages', bad);
    assert.equal(r.status, 400, bad);
    const e = JSON.parse(r.text);
    assert.equal(e.type, 'error');
    assert.equal(e.error.type, 'invalid_request_error');
    assert.match(e.error.message, why);
  }
  assert.equal((await post('/v1/messages', body(0))).status, 200);
});

test('a body over the cap is refused and the fake keeps serving', async () => {
  const big = JSON.stringify(body(0, { pad: 'x'.repeat(9 * 1024 * 1024) }));
  const r = await post('/v1/messages', big).catch((error) => ({ error }));
  if (!r.error) assert.equal(r.status, 413);
  assert.equal((await post('/v1/messages', body(0))).status, 200);
});

test('anything but POST /v1/messages is a quiet 404', async () => {
  for (const [method, p] of [['HEAD', '/'], ['HEAD', '/api/hello'],
    ['GET', '/v1/messages'], ['POST', '/v1/messages/count_tokens'],
    ['POST', '/v1/complete'], ['DELETE', '/v1/messages']]) {
    const r = await post(p, body(0), { method });
    assert.equal(r.status, 404, `${method} ${p}`);
    if (method !== 'HEAD')
      assert.equal(JSON.parse(r.text).error.type, 'not_found_error');
  }
  assert.doesNotMatch(fake.stderr, /not found/, 'a 404 was logged without -v');
});

test('the request log says what the CLI offered and hides keys', async () => {
  await post('/v1/messages?beta=true', body(1, { stream: false }),
    { headers: { authorization: 'Bearer tok-secret-5678', 'x-app': 'cli',
      'user-agent': 'claude-cli/test', cookie: 'c=secret' } });
  const log = requests(fake);
  const last = log[log.length - 1];
  assert.equal(last.method, 'POST');
  assert.equal(last.path, '/v1/messages?beta=true');
  assert.equal(last.headers['x-api-key'], '<redacted len=23>');
  assert.equal(last.headers.authorization, '<redacted len=22>');
  assert.equal(last.headers['x-app'], 'cli');
  assert.equal(last.headers['user-agent'], 'claude-cli/test');
  assert.equal(last.headers['anthropic-version'], '2023-06-01');
  assert.equal(last.headers.cookie, undefined);
  assert.deepEqual(last.summary, {
    model: 'claude-opus-5-5', stream: false, max_tokens: 1000, n_messages: 4,
    n_assistant: 1, tools: ['Bash', 'Skill'], system: ['You are a test.'],
    system_messages: ['Skills: - demo-skill: a demo'],
    tail: [{ role: 'user', type: 'tool_result', text: 'result 0',
      tool_use_id: 'toolu_0', is_error: false }],
  });
  assert.equal(last.entry, 1);
  assert.equal(last.status, 529);
  assert.equal(last.reply, 'error');
  const raw = fs.readFileSync(fake.log, 'utf8');
  assert.ok(!raw.includes('secret'), 'a key value reached the log');
  const ns = log.map((l) => l.n);
  assert.deepEqual(ns, ns.map((_, i) => i + 1));
  const dumped = fs.readFileSync(path.join(dir, 'dump',
    `request-${String(last.n).padStart(4, '0')}.json`), 'utf8');
  assert.deepEqual(JSON.parse(dumped), body(1, { stream: false }));
  assert.deepEqual(fake.stdout, [`LISTENING ${fake.port}`], 'stdout carries more');
});

// A scenario the fake must refuse at start, with a cause naming the spot.
function refuses(script, why) {
  const d = tempDir('fake-bad-');
  try {
    const f = path.join(d, 's.json');
    fs.writeFileSync(f, typeof script === 'string' ? script : JSON.stringify(script));
    const r = spawnSync(FAKE_BIN, ['--script', f], { encoding: 'utf8', timeout: 10000 });
    assert.notEqual(r.status, 0, `accepted ${JSON.stringify(script)}`);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, why);
  } finally {
    fs.rmSync(d, { recursive: true, force: true });
  }
}

test('a wrong scenario is refused at start with a clear cause', () => {
  refuses('{"text":"x"}', /script: expected an array, got an object/);
  refuses('[{"text":"x"', /end of JSON/);
  refuses([{ txet: 'x' }], /script\[0\]\.txet: unknown key/);
  refuses([{ text: 'ok' }, {}], /script\[1\]: needs text, tool_use, tool_uses or error/);
  refuses([{ tool_use: { input: {} } }], /script\[0\]\.tool_use\.name: is required/);
  refuses([{ tool_uses: [{ name: 'a' }, 'b'] }],
    /script\[0\]\.tool_uses\[1\]: expected an object, got a string/);
  refuses([{ error: { status: 200 } }], /script\[0\]\.error\.status: out of range/);
  refuses([{ error: {}, text: 'x' }], /script\[0\]: an error entry has no text or tools/);
  refuses([{ text: 'x', delay_ms: -1 }], /script\[0\]\.delay_ms: out of range/);
  const r = spawnSync(FAKE_BIN, ['--script', '/nonexistent/s.json'], { encoding: 'utf8' });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /\/nonexistent\/s\.json: No such file or directory/);
  const u = spawnSync(FAKE_BIN, ['--listen', 'nonsense'], { encoding: 'utf8' });
  assert.equal(u.status, 2);
  assert.match(u.stderr, /bad --listen address/);
});
