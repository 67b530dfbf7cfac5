// skillboxd end to end with everything real but the model: the official
// MCP SDK client over stdio, skillboxd, the real skillbox-worker, and
// tests/e2b-local sandboxes running tests/fake-claude.  Each test ends
// with no sandbox left alive in e2b-local.

import assert from 'node:assert/strict';
import test from 'node:test';

import { skipUnless } from './lib/deps.mjs';
import { e2bLocalPath } from './lib/e2b-local.mjs';
import { skillboxdPath, until, workerPid } from './lib/skillboxd.mjs';
import { ANTHROPIC_CANARY, GIT_CANARY, allText, finish, startStack,
  withStack } from './lib/stack.mjs';
import { fakeClaudePath, scenario, workerPath } from './lib/worker.mjs';

const skip = skipUnless({
  packages: ['@modelcontextprotocol/sdk/client/index.js'],
  programs: ['bwrap', 'git'],
  files: [e2bLocalPath(), workerPath(), fakeClaudePath(), skillboxdPath],
});
const opt = { skip, timeout: 180000 };

const job = (st, sc, extra = {}) => ({ repo: { path: st.repo },
  job: 'fix-tests', env: { FAKE_CLAUDE_SCENARIO: JSON.stringify(sc) },
  ...extra });
const HANG = { steps: [{ text: 'working on it' }, { hang: true }] };

test('submit, progress while waiting, the result, its diff and log', opt,
  () => withStack({}, async (st) => {
    const { srv } = st;
    const sub = await srv.call('submit_job', job(st, scenario('fix-tests')));
    const progress = [];
    const done = await finish(srv, sub.job_id, (p) => progress.push(p));
    assert.equal(done.state, 'succeeded', done.reason);
    assert.equal(done.tests.failed, 0);
    assert.equal(done.tests.passed, 3);
    assert.equal(done.diff.files_changed, 1);
    assert.match(done.skills.bundle, /\+sha256:[0-9a-f]{64}$/);
    assert.deepEqual(done.skills.used, ['run-and-fix-tests', 'report-result']);
    assert.match(done.summary, /^<untrusted-[0-9a-f]+>\n.*add\.sh/s);
    const msgs = progress.map((p) => p.message).join('\n');
    assert.match(msgs, /provisioning/);
    assert.match(msgs, /fetching_repo/);
    assert.match(msgs, /running/);
    // The patch and the log as resources.
    const diff = await srv.client.readResource({ uri: done.resources.diff });
    assert.match(diff.contents[0].text, /^\+echo \$\(\(\$1 \+ \$2\)\)$/m);
    const log = await srv.call('get_job_log', { job_id: sub.job_id,
      offset: 0, limit: 500 });
    const kinds = JSON.stringify(log);
    assert.match(kinds, /tool_use/);
    assert.match(kinds, /sandbox/);
    // No secret in anything skillboxd kept or said.
    const kept = allText(st.s.state) + JSON.stringify(done) + kinds +
      srv.stderr.join('');
    for (const secret of [ANTHROPIC_CANARY, GIT_CANARY, st.e2bKey])
      assert.ok(!kept.includes(secret), 'a secret leaked');
  }));

test('8 jobs with SKILLBOX_MAX_JOBS=2: queued, never more than 2 ' +
  'sandboxes, all succeed', opt, () => withStack({ maxJobs: 2 },
  async (st) => {
    const { srv, local } = st;
    const sc = scenario('fix-tests');
    sc.steps.unshift({ sleep_ms: 400 });
    const ids = [];
    for (let i = 0; i < 8; i++)
      ids.push((await srv.call('submit_job', job(st, sc))).job_id);
    const first = await srv.call('list_jobs', {});
    assert.ok(first.jobs.some((j) => j.state === 'queued'),
      JSON.stringify(first.jobs.map((j) => j.state)));
    // A killed sandbox is gone for the API at once; e2b-local lists it
    // as dying until its processes are reaped, which a loaded machine
    // can make outlast the next job's start.
    let most = 0;
    let all;
    do {
      const live = (await local.sandboxes()).filter((s) =>
        s.state !== 'dying');
      most = Math.max(most, live.length);
      all = await Promise.all(ids.map((id) => srv.call('get_job',
        { job_id: id })));
    } while (!all.every((j) => j.done));
    assert.ok(most <= 2, `${most} sandboxes at once`);
    for (const j of all) assert.equal(j.state, 'succeeded', j.reason);
  }));

test('cancel: the job ends cancelled and its sandbox is killed', opt,
  () => withStack({}, async (st) => {
    const { srv, local } = st;
    const sub = await srv.call('submit_job', job(st, HANG));
    await until(async () => (await srv.call('get_job',
      { job_id: sub.job_id })).state === 'running', 30000, 'running');
    await srv.call('cancel_job', { job_id: sub.job_id });
    const done = await finish(srv, sub.job_id);
    assert.equal(done.state, 'cancelled');
    assert.deepEqual(await local.waitNoSandboxes(), []);
  }));

test('kill -9 of one worker: that job crashed, its sandbox reaped, the ' +
  'other job unaffected', opt, () => withStack({}, async (st) => {
  const { srv, local } = st;
  const victim = await srv.call('submit_job', job(st, HANG));
  const sc = scenario('fix-tests');
  sc.steps.unshift({ sleep_ms: 1500 });
  const other = await srv.call('submit_job', job(st, sc));
  await until(async () => (await srv.call('get_job',
    { job_id: victim.job_id })).state === 'running', 30000, 'running');
  const pid = workerPid(srv.pid, victim.job_id);
  assert.ok(pid, 'the worker process');
  process.kill(pid, 'SIGKILL');
  const crashed = await finish(srv, victim.job_id);
  assert.equal(crashed.state, 'crashed');
  assert.match(crashed.reason, /killed by signal 9/);
  // The server still answers, the reaper kills the sandbox.
  await srv.call('list_skills', {});
  const sandbox = crashed.sandbox?.id || (await srv.call('get_job',
    { job_id: victim.job_id })).sandbox.id;
  await until(async () => (await local.sandboxes()).every((x) =>
    x.sandboxID !== sandbox), 30000, 'the reaper');
  const ok = await finish(srv, other.job_id);
  assert.equal(ok.state, 'succeeded', ok.reason);
}));

test('the client closes stdin mid-job: jobs cancelled, no sandbox left',
  opt, async () => {
    const st = await startStack({});
    const sub = await st.srv.call('submit_job', job(st, HANG));
    await until(async () => (await st.srv.call('get_job',
      { job_id: sub.job_id })).state === 'running', 30000, 'running');
    const left = await st.stop();
    assert.deepEqual(left, [], 'sandboxes left alive');
  });
