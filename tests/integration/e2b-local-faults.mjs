// tests/e2b-local's test-only extras (/_local/: stats, sandboxes, faults)
// as the later reliability tests will use them, checked with the e2b SDK;
// and the sandbox lifetime guarantees: killed mid-stream, and gone with
// e2b-local however it ends.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { after, afterEach, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { loadPackage, skipUnless } from './lib/deps.mjs';
import { e2bLocalPath, makeTemplate, startE2bLocal } from './lib/e2b-local.mjs';

const skip = skipUnless({
  packages: ['e2b'], programs: ['bwrap'], files: [e2bLocalPath()],
});
const opt = { skip, timeout: 60000 };

let e2b;
let local;
let tmpl;

before(async () => {
  if (skip) return;
  e2b = await loadPackage('e2b');
  tmpl = makeTemplate();
  local = await startE2bLocal({ templates: { base: tmpl } });
  Object.assign(process.env, local.env());
});

after(async () => {
  if (local) assert.deepEqual(await local.stop(), { code: 0, signal: null });
});

afterEach(async () => {
  if (!local) return;
  await local.clearFaults();
  assert.deepEqual(await local.waitNoSandboxes(), [], 'sandboxes left alive');
});

// Processes on this host running exactly "sleep marker".  The shell that
// starts the sleep is not counted: a login shell forks subshells for its
// profile, and those carry the same command line for a moment.
function sleepers(marker) {
  const found = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'latin1') === `sleep\0${marker}\0`) {
        found.push(Number(pid));
      }
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

// Poll until sleepers(marker) has want entries, or 5 s have passed.
async function waitSleepers(marker, want) {
  const until = Date.now() + 5000;
  let found = sleepers(marker);
  while (found.length !== want && Date.now() < until) {
    await sleep(50);
    found = sleepers(marker);
  }
  return found;
}

test('stats count requests by route, and reset', opt, async () => {
  await local.resetStats();
  const sbx = await e2b.Sandbox.create('base');
  await sbx.commands.run('true');
  await sbx.getInfo();
  await sbx.kill();
  const { routes, total } = await local.stats();
  assert.equal(routes['POST /v2/sandboxes'], 1);
  assert.equal(routes['POST /process.Process/Start'], 1);
  assert.equal(routes['GET /sandboxes/{id}'], 1);
  assert.equal(routes['DELETE /sandboxes/{id}'], 1);
  assert.equal(total, 4);
  await local.resetStats();
  assert.deepEqual(await local.stats(), { total: 0, routes: {} });
});

test('429 with Retry-After: the SDK waits and retries', opt, async () => {
  await local.fault({ route: 'POST /v2/sandboxes', status: 429, retryAfter: 1 });
  const raw = await local.request('POST', '/v2/sandboxes', {
    headers: { 'Content-Type': 'application/json' }, body: '{"templateID":"base"}' });
  assert.equal(raw.status, 429);
  assert.equal(raw.headers.get('retry-after'), '1');
  assert.deepEqual(await raw.json(), { code: 429, message: 'Rate limit exceeded' });

  await local.fault({ route: 'POST /v2/sandboxes', status: 429, retryAfter: 1 });
  await local.resetStats();
  const started = Date.now();
  const sbx = await e2b.Sandbox.create('base');
  assert.ok(Date.now() - started >= 900, 'the SDK did not wait Retry-After');
  assert.equal((await local.stats()).routes['POST /v2/sandboxes'], 2);
  await sbx.kill();
});

test('500 on a route, for the next N requests only', opt, async () => {
  const sbx = await e2b.Sandbox.create('base');
  try {
    await local.fault({ route: 'GET /sandboxes/{id}', status: 500, count: 2 });
    assert.equal((await local.faults()).faults[0].count, 2);
    for (let i = 0; i < 2; i++) {
      await assert.rejects(sbx.getInfo(), (err) => err instanceof e2b.SandboxError
        && /500/.test(err.message));
    }
    assert.equal((await sbx.getInfo()).sandboxId, sbx.sandboxId);
    assert.deepEqual((await local.faults()).faults, []);
  } finally {
    await sbx.kill();
  }
});

test('a process stream dropped after N bytes of output', opt, async () => {
  const sbx = await e2b.Sandbox.create('base');
  try {
    await local.fault({ route: 'POST /process.Process/Start',
      dropAfterBytes: 4096 });
    const seen = [];
    await assert.rejects(sbx.commands.run(
      'head -c 200000 /dev/zero | tr "\\0" x; echo; sleep 1; echo done', {
        onStdout: (d) => seen.push(d),
      }));
    const got = seen.join('').length;
    assert.ok(got >= 4096 && got < 200000, `${got} bytes before the drop`);
    // The sandbox is fine; only that stream was cut.
    assert.equal(await sbx.isRunning(), true);
    assert.equal((await sbx.commands.run('echo again')).stdout, 'again\n');
  } finally {
    await sbx.kill();
  }
});

test('latency is added to every response', opt, async () => {
  await local.fault({ latencyMs: 1500 });
  let t = Date.now();
  await local.request('GET', '/v2/sandboxes');
  assert.ok(Date.now() - t >= 1480, `${Date.now() - t} ms`);
  await local.fault({ clear: true });
  assert.deepEqual(await local.faults(), { latencyMs: 0, faults: [] });
  t = Date.now();
  await local.request('GET', '/v2/sandboxes');
  assert.ok(Date.now() - t < 1000, `${Date.now() - t} ms without latency`);
});

test('bad fault descriptions are refused', opt, async () => {
  for (const spec of [{}, { status: 429, dropAfterBytes: 1 }, { status: 200 },
    { latencyMs: -1 }, { route: '', status: 500 }]) {
    await assert.rejects(local.fault(spec), /400/);
  }
});

test('a sandbox killed mid-stream: the stream is cut, the SDK says so', opt,
  async () => {
    const sbx = await e2b.Sandbox.create('base');
    const run = sbx.commands.run('while :; do echo tick; sleep 0.2; done',
      { timeoutMs: 0 });
    await sleep(600);
    assert.equal(await e2b.Sandbox.kill(sbx.sandboxId), true);
    await assert.rejects(run, (err) => {
      assert.ok(err instanceof e2b.TimeoutError, `${err.name}: ${err.message}`);
      assert.match(err.message, /killed|end of life/);
      return true;
    });
  });

test('sandboxes die with e2b-local, even on SIGKILL', opt, async () => {
  for (const signal of ['SIGTERM', 'SIGKILL']) {
    const other = await startE2bLocal({ templates: { base: tmpl } });
    try {
      const marker = `9${process.pid}${signal === 'SIGKILL' ? 1 : 2}.5`;
      const sbx = await e2b.Sandbox.create('base', { apiUrl: other.url,
        sandboxUrl: other.url, apiKey: other.apiKey });
      await sbx.commands.run(`sleep ${marker}`, { background: true });
      assert.equal((await waitSleepers(marker, 1)).length, 1);
      other.child.kill(signal);
      await other.exited;
      assert.deepEqual(await waitSleepers(marker, 0), [], `left after ${signal}`);
    } finally {
      await other.stop();
    }
  }
});
