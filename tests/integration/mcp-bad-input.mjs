// Every kind of bad input of issue 4 gets the right JSON-RPC or tool
// error, and skillboxd keeps serving and loses nothing: raw JSON-RPC
// lines against skillboxd --stdio, with the fake worker.
import test from 'node:test';
import assert from 'node:assert/strict';
import { rawServer, scratch, spec, skillboxdPath, BUILT_SKIP } from
  './lib/skillboxd.mjs';
import { skipUnless } from './lib/deps.mjs';

// Start a server, run fn with it, then check it exits cleanly and wrote
// nothing but JSON-RPC on stdout.
async function withServer(t, fn, init = '2025-11-25') {
  const s = scratch();
  const srv = rawServer(s);
  try {
    if (init) await srv.initialize(init);
    await fn(srv, s);
    const pong = await srv.request('ping', {});
    assert.deepEqual(pong.result, {});
    const { code, signal } = await srv.end();
    assert.equal(signal, null, srv.stderr.join(''));
    assert.equal(code, 0, srv.stderr.join(''));
    assert.deepEqual(srv.bad, [], 'stdout carries only JSON-RPC');
  } finally {
    srv.child.kill('SIGKILL');
    s.cleanup();
  }
}

// A test against a fresh server (see withServer).
function serverTest(name, fn, init) {
  test(name, { skip: BUILT_SKIP }, (t) => withServer(t, fn, init));
}

const errCode = (r) => r.error?.code;
const toolText = (r) => r.result?.content?.[0]?.text ?? '';

serverTest('invalid JSON is a parse error with a null id',
  async (srv) => {
    const r = await srv.send('{"jsonrpc":"2.0","id":1,"method":', 'null');
    assert.equal(errCode(r), -32700);
    assert.equal(r.id, null);
  });

serverTest('a non-object is an invalid request',
  async (srv) => {
    for (const line of ['42', '"ping"', 'true', 'null']) {
      const r = await srv.send(line, 'null');
      assert.equal(errCode(r), -32600, line);
    }
  });

serverTest('missing jsonrpc or method is an invalid request',
  async (srv) => {
    let r = await srv.send('{"id":5,"method":"ping"}', '5');
    assert.equal(errCode(r), -32600);
    r = await srv.send('{"jsonrpc":"2.0","id":6}', '6');
    assert.equal(errCode(r), -32600);
    r = await srv.send('{"jsonrpc":"2.0","id":"s","method":7}', '"s"');
    assert.equal(errCode(r), -32600);
  });

serverTest('an unknown method is -32601; server/discover echoes its id',
  async (srv) => {
    const r = await srv.send(JSON.stringify({ jsonrpc: '2.0',
      id: 'discover-1', method: 'server/discover', params: { _meta: {
        'io.modelcontextprotocol/protocolVersion': '2026-07-28' } } }),
    '"discover-1"');
    assert.equal(errCode(r), -32601);
    assert.equal(r.id, 'discover-1');
    const r2 = await srv.request('no/such/method', {});
    assert.equal(errCode(r2), -32601);
    await srv.initialize();
  }, null);

serverTest('params of the wrong type are -32602',
  async (srv) => {
    assert.equal(errCode(await srv.request('tools/list', [1, 2])), -32602);
    assert.equal(errCode(await srv.request('tools/call', 'get_job')),
      -32602);
    assert.equal(errCode(await srv.request('tools/call',
      { name: 'get_job', arguments: 'x' })), -32602);
    assert.equal(errCode(await srv.request('logging/setLevel',
      { level: 3 })), -32602);
  });

serverTest('a request before initialize, a second initialize: refused',
  async (srv) => {
    assert.equal(errCode(await srv.request('tools/list', {})), -32600);
    assert.deepEqual((await srv.request('ping', {})).result, {});
    await srv.initialize('2025-06-18');
    const r = await srv.request('initialize', { protocolVersion:
      '2025-06-18', capabilities: {}, clientInfo: { name: 'x',
      version: '1' } });
    assert.equal(errCode(r), -32600);
    assert.ok((await srv.request('tools/list', {})).result.tools);
  }, null);

serverTest('a 10 MB line is refused and the next request is answered',
  async (srv) => {
    const big = '{"jsonrpc":"2.0","id":"big","method":"ping","params":{"x":"' +
      'x'.repeat(10 * 1024 * 1024) + '"}}';
    const refused = srv.send(big, 'null');
    const after = srv.request('ping', {}, 'after');
    const r = await refused;
    assert.equal(errCode(r), -32600);
    assert.match(r.error.message, /refused/);
    assert.deepEqual((await after).result, {});
  });

test('batches: answered at 2025-03-26, refused at later versions',
  { skip: BUILT_SKIP }, async (t) => {
    await withServer(t, async (srv) => {
      const r = await srv.send(JSON.stringify([
        { jsonrpc: '2.0', id: 'a', method: 'ping' },
        { jsonrpc: '2.0', method: 'notifications/initialized' },
        { jsonrpc: '2.0', id: 'b', method: 'tools/list' },
        { jsonrpc: '2.0', id: 'c', method: 'nope' },
      ]), 'batch');
      assert.equal(r.length, 3);
      const byId = Object.fromEntries(r.map((x) => [x.id, x]));
      assert.deepEqual(byId.a.result, {});
      assert.equal(byId.b.result.tools.length, 7);
      assert.equal(byId.c.error.code, -32601);
    }, '2025-03-26');
    await withServer(t, async (srv) => {
      const r = await srv.send(JSON.stringify([{ jsonrpc: '2.0', id: 1,
        method: 'ping' }]), 'null');
      assert.equal(errCode(r), -32600);
    }, '2025-11-25');
  });

serverTest('an unknown tool is -32602',
  async (srv) => {
  const r = await srv.request('tools/call', { name: 'rm_rf', arguments: {} });
  assert.equal(errCode(r), -32602);
  assert.match(r.error.message, /Unknown tool/);
});

serverTest('invalid job specs are tool errors that say what is wrong',
  async (srv, s) => {
    const cases = [
      [{ repo: { path: s.repo }, job: 'paint' }, /unknown job type/],
      [{ ...spec(s), timeout_s: -5 }, /timeout_s: out of range/],
      [{ ...spec(s), timeout_s: 10 ** 9 }, /timeout_s: out of range/],
      [{ repo: { path: '/etc' }, job: 'bootstrap' }, /allowed roots/],
      [{ repo: { url: 'file:///etc/passwd' }, job: 'bootstrap' },
        /scheme must be https, ssh or git/],
      [{ repo: { url: 'ext::sh -c touch% /tmp/pwned' }, job: 'bootstrap' },
        /repo.url/],
      [{ ...spec(s), job: 'custom', instructions: 'x'.repeat(70000) },
        /instructions: too long/],
      [{ ...spec(s), colour: 'blue' }, /colour: unknown field/],
      [{ job: 'bootstrap' }, /repo: is required/],
    ];
    for (const [args, want] of cases) {
      const r = await srv.request('tools/call', { name: 'submit_job',
        arguments: args });
      assert.equal(r.result?.isError, true, JSON.stringify(args).slice(0, 80));
      assert.match(toolText(r), want);
    }
    const list = await srv.request('tools/call', { name: 'list_jobs',
      arguments: {} });
    assert.equal(list.result.structuredContent.total, 0, 'nothing created');
  });

serverTest('an unknown job id, cancelling a finished job: tool errors',
  async (srv, s) => {
    for (const name of ['get_job', 'wait_job', 'cancel_job', 'get_job_log']) {
      const r = await srv.request('tools/call', { name,
        arguments: { job_id: 'j-0123456789abcdef' } });
      assert.equal(r.result?.isError, true, name);
      assert.match(toolText(r), /unknown job id/);
    }
    const sub = await srv.request('tools/call', { name: 'submit_job',
      arguments: spec(s) });
    const id = sub.result.structuredContent.job_id;
    const done = await srv.request('tools/call', { name: 'wait_job',
      arguments: { job_id: id, timeout_s: 30 } });
    assert.equal(done.result.structuredContent.state, 'succeeded');
    const r = await srv.request('tools/call', { name: 'cancel_job',
      arguments: { job_id: id } });
    assert.equal(r.result?.isError, true);
    assert.match(toolText(r), /already finished \(succeeded\)/);
  });

serverTest('resources that do not exist are -32002 with the uri',
  async (srv) => {
    for (const uri of ['skillbox://jobs/j-0123456789abcdef',
      'skillbox://jobs/j-0123456789abcdef/log', 'skillbox://skills/../x',
      'file:///etc/passwd']) {
      const r = await srv.request('resources/read', { uri });
      assert.equal(errCode(r), -32002, uri);
      assert.equal(r.error.data.uri, uri);
    }
  });

serverTest('notifications/cancelled drops a pending wait unanswered',
  async (srv, s) => {
    const sub = await srv.request('tools/call', { name: 'submit_job',
      arguments: spec(s, 'slow') });
    const id = sub.result.structuredContent.job_id;
    let answered = false;
    srv.request('tools/call', { name: 'wait_job', arguments: { job_id: id,
      timeout_s: 60 } }, 'w1').then(() => { answered = true; }, () => {});
    await srv.request('ping', {});
    srv.notify('notifications/cancelled', { requestId: 'w1',
      reason: 'user pressed escape' });
    await srv.request('ping', {});
    const c = await srv.request('tools/call', { name: 'cancel_job',
      arguments: { job_id: id } });
    assert.equal(c.result.structuredContent.cancel_requested, true);
    const w2 = await srv.request('tools/call', { name: 'wait_job',
      arguments: { job_id: id, timeout_s: 30 } });
    assert.equal(w2.result.structuredContent.state, 'cancelled');
    assert.equal(answered, false, 'the cancelled request got no answer');
  });

serverTest('logging/setLevel filters notifications/message',
  async (srv, s) => {
    assert.deepEqual((await srv.request('logging/setLevel',
      { level: 'warning' })).result, {});
    const ok = await srv.request('tools/call', { name: 'submit_job',
      arguments: spec(s) });
    await srv.request('tools/call', { name: 'wait_job', arguments: {
      job_id: ok.result.structuredContent.job_id, timeout_s: 30 } });
    const bad = await srv.request('tools/call', { name: 'submit_job',
      arguments: spec(s, 'exit:78') });
    await srv.request('tools/call', { name: 'wait_job', arguments: {
      job_id: bad.result.structuredContent.job_id, timeout_s: 30 } });
    const logs = srv.notes.filter((n) => n.method ===
      'notifications/message').map((n) => n.params);
    assert.ok(logs.length >= 1);
    assert.ok(logs.every((l) => l.level === 'warning'), JSON.stringify(logs));
    assert.equal(logs.at(-1).data.state, 'failed');
  });

test('the command line: --version, --help, and usage errors',
  { skip: skipUnless({ files: [skillboxdPath] }) }, async (t) => {
  const { spawnSync } = await import('node:child_process');
  const v = spawnSync(skillboxdPath, ['--version'], { encoding: 'utf8' });
  assert.equal(v.status, 0);
  assert.match(v.stdout, /^skillboxd \d+\.\d+\.\d+\n$/);
  const h = spawnSync(skillboxdPath, ['--help'], { encoding: 'utf8' });
  assert.equal(h.status, 0);
  assert.match(h.stdout, /--stdio/);
  for (const args of [[], ['--stdio', 'extra'], ['--bogus']]) {
    const u = spawnSync(skillboxdPath, args, { encoding: 'utf8' });
    assert.equal(u.status, 64, args.join(' '));
    assert.match(u.stderr, /usage: skillboxd/);
    assert.equal(u.stdout, '');
  }
  const bad = spawnSync(skillboxdPath, ['--stdio'], { encoding: 'utf8',
    input: '', env: { ...process.env, SKILLBOX_MAX_JOBS: 'lots',
      SKILLBOX_STATE_DIR: '/tmp' } });
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /SKILLBOX_MAX_JOBS: 'lots' is not a number/);
  assert.equal(bad.stdout, '', 'no protocol output on a fatal error');
});
