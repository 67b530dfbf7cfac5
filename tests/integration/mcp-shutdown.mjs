// Shutdown: on stdin EOF or SIGTERM skillboxd stops taking work, cancels
// the running jobs (each worker kills its own sandbox), waits a bounded
// time, and exits 0 with no worker left behind.
import test from 'node:test';
import assert from 'node:assert/strict';
import { rawServer, scratch, spec, childPids, workersAlive, until,
  BUILT_SKIP } from './lib/skillboxd.mjs';

async function submit(srv, args) {
  const r = await srv.request('tools/call', { name: 'submit_job',
    arguments: args });
  assert.ok(r.result?.structuredContent, JSON.stringify(r));
  return r.result.structuredContent.job_id;
}

async function state(srv, id) {
  const r = await srv.request('tools/call', { name: 'get_job',
    arguments: { job_id: id } });
  return r.result.structuredContent;
}

// Start a server, let fn stop it; check it exited 0 and left nothing.
async function withServer(t, extra, fn) {
  const s = scratch();
  const srv = rawServer(s, extra);
  try {
    await srv.initialize();
    await fn(srv, s);
    const { code, signal } = await srv.exited;
    assert.equal(signal, null, srv.stderr.join(''));
    assert.equal(code, 0, srv.stderr.join(''));
    assert.deepEqual(srv.bad, [], 'stdout carries only JSON-RPC');
    assert.deepEqual(childPids(srv.child.pid), []);
    assert.deepEqual(workersAlive(s), [], 'no worker left behind');
    // What the state directory says after the restart.
    const again = rawServer(s, extra);
    await again.initialize();
    const list = await again.request('tools/call', { name: 'list_jobs',
      arguments: { limit: 100 } });
    await again.end();
    return list.result.structuredContent.jobs;
  } finally {
    srv.child.kill('SIGKILL');
    s.cleanup();
  }
}

test('stdin EOF cancels the jobs and leaves no worker behind',
  { skip: BUILT_SKIP }, async (t) => {
  let ids;
  const jobs = await withServer(t, { SKILLBOX_MAX_JOBS: '2' },
    async (srv, s) => {
      ids = [await submit(srv, spec(s, 'slow')),
        await submit(srv, spec(s, 'slow')),
        await submit(srv, spec(s, 'slow'))];
      await until(async () => (await state(srv, ids[1])).state ===
        'running' && (await state(srv, ids[0])).state === 'running',
      20000, 'two running');
      assert.equal((await state(srv, ids[2])).state, 'queued');
      assert.equal(workersAlive(s).length, 2);
      srv.child.stdin.end();
    });
  const byId = Object.fromEntries(jobs.map((j) => [j.job_id, j]));
  for (const id of ids.slice(0, 2)) {
    assert.equal(byId[id].state, 'cancelled');
    assert.equal(byId[id].reason, 'skillboxd shut down');
  }
  assert.equal(byId[ids[2]].state, 'cancelled');
  assert.match(byId[ids[2]].reason, /before the job started/);
});

test('SIGTERM answers a pending wait, then exits 0', { skip: BUILT_SKIP },
  async (t) => {
  await withServer(t, {}, async (srv, s) => {
    const id = await submit(srv, spec(s, 'slow'));
    await until(async () => (await state(srv, id)).state === 'running',
      20000, 'running');
    const wait = srv.request('tools/call', { name: 'wait_job',
      arguments: { job_id: id, timeout_s: 60 } });
    srv.child.kill('SIGTERM');
    const r = await wait;
    assert.equal(r.result.structuredContent.state, 'cancelled');
    assert.equal(r.result.structuredContent.done, true);
  });
});

// A job whose worker ignores cancel and SIGTERM, then stdin EOF.
async function ignoredCancel(t, grace) {
  const jobs = await withServer(t, grace, async (srv, s) => {
    const id = await submit(srv, spec(s, 'ignore-cancel'));
    await until(async () => (await state(srv, id)).state === 'running',
      20000, 'running');
    srv.child.stdin.end();
  });
  assert.equal(jobs[0].state, 'cancelled');
  assert.match(jobs[0].reason, /skillboxd shut down/);
}

test('a worker that ignores the cancel is killed within the grace period',
  { skip: BUILT_SKIP }, (t) => ignoredCancel(t, {
    SKILLBOX_STOP_GRACE_MS: '300', SKILLBOX_SHUTDOWN_GRACE_MS: '10000' }));

test('past the shutdown grace period everything is killed',
  { skip: BUILT_SKIP }, (t) => ignoredCancel(t, {
    SKILLBOX_STOP_GRACE_MS: '60000', SKILLBOX_SHUTDOWN_GRACE_MS: '500' }));
