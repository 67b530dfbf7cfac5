// Jobs end to end through the official MCP TypeScript SDK client (which
// also checks every structuredContent against the tool's outputSchema):
// submit, progress, wait, the result and its resources; queueing under
// SKILLBOX_MAX_JOBS; cancellation; a worker killed with SIGKILL; hung
// and misbehaving workers; a restart that finds jobs interrupted.
import test from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { sdkServer, scratch, spec, wrapper, workerPid, jobWorkersAtOnce,
  until, SDK_SKIP } from './lib/skillboxd.mjs';
import { loadPackage } from './lib/deps.mjs';

// Run fn against a fresh server; close it and remove the scratch after.
async function withServer(t, extra, fn) {
  const s = scratch();
  const srv = await sdkServer(s, extra);
  await srv.client.listTools();	// so the SDK validates outputs
  try {
    await fn(srv, s);
  } catch (e) {
    e.message += `\n--- skillboxd stderr:\n${srv.stderr.join('')}`;
    throw e;
  } finally {
    await srv.close();
    s.cleanup();
  }
}

// A test against a fresh server started with extra settings.
function serverTest(name, extra, fn) {
  test(name, { skip: SDK_SKIP }, (t) => withServer(t, extra, fn));
}

const TERMINAL = ['succeeded', 'failed', 'cancelled', 'timed_out', 'crashed',
  'interrupted'];

// Wait for a job to end (several bounded waits if need be).
async function finish(srv, id) {
  for (;;) {
    const j = await srv.call('wait_job', { job_id: id, timeout_s: 30 });
    if (j.done) return j;
  }
}

serverTest('submit, progress while waiting, and the result with its diff', {},
  async (srv, s) => {
    const { LoggingMessageNotificationSchema } =
      await loadPackage('@modelcontextprotocol/sdk/types.js');
    const logs = [];
    srv.client.setNotificationHandler(LoggingMessageNotificationSchema,
      (n) => logs.push(n.params));
    const job = await srv.call('submit_job', spec(s, 'normal', {
      env: { FAKE_WORKER_STEPS: '6', FAKE_WORKER_STEP_MS: '150' } }));
    assert.equal(job.created, true);
    assert.match(job.job_id, /^j-[0-9a-f]{16}$/);
    const progress = [];
    const r = await srv.client.callTool({ name: 'wait_job',
      arguments: { job_id: job.job_id, timeout_s: 50 } }, undefined,
    { onprogress: (p) => progress.push(p), timeout: 60000 });
    const done = r.structuredContent;
    assert.equal(done.state, 'succeeded', JSON.stringify(done));
    assert.equal(done.done, true);
    assert.equal(done.reason, 'the agent finished the job');
    // Progress: increasing, with the phases and the agent's activity.
    assert.ok(progress.length >= 4, JSON.stringify(progress));
    for (let i = 1; i < progress.length; i++)
      assert.ok(progress[i].progress > progress[i - 1].progress);
    const msgs = progress.map((p) => p.message).join('\n');
    assert.match(msgs, /provisioning/);
    assert.match(msgs, /^running$/m);
    assert.match(msgs, new RegExp('^(running|collecting): <untrusted-' +
      '([0-9a-f]+)>\\n[^\\n]*working on step[^\\n]*\\n</untrusted-\\2>', 'm'));
    // The agent's summary is data inside its envelope, defused.
    assert.match(done.summary,
      /^<untrusted-([0-9a-f]+)>\n[^]*\n<\/untrusted-\1>$/);
    assert.match(done.summary, /\[\/untrusted-0000>/);
    assert.equal(done.tests.passed, 10);
    assert.equal(done.diff.files_changed, 1);
    assert.equal(done.sandbox.id, `sbx-${job.job_id}`);
    assert.equal(done.agent.model, 'fake');
    // The text copy says the same as the structured content.
    assert.deepEqual(JSON.parse(r.content[0].text), done);
    // The diff and the artifact as resources.
    const diff = await srv.client.readResource({ uri: done.diff.resource });
    assert.match(diff.contents[0].text, /^\+new$/m);
    assert.equal(diff.contents[0].mimeType, 'text/x-diff');
    const art = await srv.client.readResource({ uri: done.artifacts[0].uri });
    assert.equal(art.contents[0].text, '# Report\n\nAll good.\n');
    const res = await srv.client.readResource({ uri: done.resources.job });
    assert.equal(JSON.parse(res.contents[0].text).state, 'succeeded');
    // The client that submitted heard of the state changes.
    await until(() => logs.some((l) => l.data.state === 'succeeded'), 5000,
      'a log message for the end');
    assert.ok(logs.every((l) => l.data.job_id === job.job_id));
  });

serverTest('get_job_log pages through all, list_jobs, list_skills', {},
  async (srv, s) => {
    const job = await srv.call('submit_job', spec(s));
    const done = await finish(srv, job.job_id);
    const first = await srv.call('get_job_log', { job_id: job.job_id,
      offset: 0, limit: 3 });
    assert.equal(first.entries.length, 3);
    assert.equal(first.next_offset, 3);
    assert.equal(first.done, false);
    assert.deepEqual(first.entries.map((e) => e.n), [0, 1, 2]);
    const rest = await srv.call('get_job_log', { job_id: job.job_id,
      offset: 3 });
    assert.equal(rest.done, true);
    assert.equal(3 + rest.entries.length, rest.total);
    assert.equal(rest.total, done.events);
    const kinds = new Set([...first.entries, ...rest.entries]
      .map((e) => e.kind));
    assert.deepEqual([...kinds].sort(), ['event', 'sandbox', 'state']);
    const ev = rest.entries.find((e) => e.kind === 'event');
    assert.match(ev.event, /^<untrusted-[0-9a-f]+>\n\{.*"text":"working/);
    const past = await srv.call('get_job_log', { job_id: job.job_id,
      offset: 1000 });
    assert.deepEqual(past.entries, []);

    const all = await srv.call('list_jobs', {});
    assert.equal(all.total, 1);
    assert.equal(all.jobs[0].job_id, job.job_id);
    assert.equal((await srv.call('list_jobs', { state: 'failed' })).jobs
      .length, 0);
    assert.equal((await srv.call('list_jobs', { state: ['succeeded'],
      job: 'fix-tests' })).jobs.length, 1);
    const skills = await srv.call('list_skills', {});
    assert.deepEqual(skills.skills.map((x) => x.name),
      ['report-result', 'run-and-fix-tests']);
    assert.equal(skills.skills[0].description,
      'Write ~/.skillbox/result.json.');
    assert.match(skills.version, /^\d+\.\d+\.\d+\+sha256:[0-9a-f]{64}$/);
    const md = await srv.client.readResource({ uri: skills.skills[1].uri });
    assert.match(md.contents[0].text, /# Run and fix tests/);
  });

serverTest('list_jobs pages with a cursor, newest first', {},
  async (srv, s) => {
    const ids = [];
    for (let i = 0; i < 5; i++)
      ids.push((await srv.call('submit_job', spec(s))).job_id);
    const seen = [];
    let cursor;
    do {
      const page = await srv.call('list_jobs', { limit: 2,
        ...(cursor ? { cursor } : {}) });
      assert.ok(page.jobs.length <= 2);
      seen.push(...page.jobs.map((j) => j.job_id));
      cursor = page.next_cursor;
    } while (cursor);
    assert.deepEqual(seen, ids.reverse());
    const rl = await srv.client.listResources();
    assert.ok(rl.resources.some((r) => r.uri === `skillbox://jobs/${ids[0]}`));
    assert.ok(rl.resources.some((r) => r.uri ===
      'skillbox://skills/report-result'));
    const tl = await srv.client.listResourceTemplates();
    assert.equal(tl.resourceTemplates.length, 5);
    for (const id of ids) await finish(srv, id);
  });

serverTest('idempotency keys return the existing job', {},
  async (srv, s) => {
    const a = await srv.call('submit_job', spec(s, 'normal',
      { idempotency_key: 'build-42' }));
    const b = await srv.call('submit_job', spec(s, 'normal',
      { idempotency_key: 'build-42' }));
    assert.equal(b.job_id, a.job_id);
    assert.equal(a.created, true);
    assert.equal(b.created, false);
    assert.equal((await srv.call('list_jobs', {})).total, 1);
    await finish(srv, a.job_id);
  });

serverTest('subscribers hear of a job\'s changes', {},
  async (srv, s) => {
    const { ResourceUpdatedNotificationSchema } =
      await loadPackage('@modelcontextprotocol/sdk/types.js');
    const updated = [];
    srv.client.setNotificationHandler(ResourceUpdatedNotificationSchema,
      (n) => updated.push(n.params.uri));
    const job = await srv.call('submit_job', spec(s, 'normal', {
      env: { FAKE_WORKER_STEPS: '4', FAKE_WORKER_STEP_MS: '200' } }));
    const uri = `skillbox://jobs/${job.job_id}`;
    await srv.client.subscribeResource({ uri });
    await srv.client.subscribeResource({ uri: `${uri}/log` });
    await finish(srv, job.job_id);
    await until(() => updated.filter((u) => u === uri).length >= 3, 5000,
      'updates of the job');
    assert.ok(updated.includes(`${uri}/log`));
    await srv.client.unsubscribeResource({ uri });
  });

serverTest('submit_job as an MCP task over stdio', {},
  async (srv, s) => {
    const { CallToolResultSchema } =
      await loadPackage('@modelcontextprotocol/sdk/types.js');
    let created;
    let result;
    for await (const m of srv.client.experimental.tasks.callToolStream(
      { name: 'submit_job', arguments: spec(s) }, CallToolResultSchema,
      { task: { ttl: 60000 }, timeout: 60000 })) {
      if (m.type === 'taskCreated') created = m.task;
      else if (m.type === 'result') result = m.result;
      else if (m.type === 'error') throw m.error;
    }
    assert.equal(created.status, 'working');
    assert.equal(result.structuredContent.state, 'succeeded');
    const listed = await srv.client.experimental.tasks.listTasks();
    assert.equal(listed.tasks[0].taskId, created.taskId);
    assert.equal(listed.tasks[0].status, 'completed');
  });

serverTest('8 jobs with SKILLBOX_MAX_JOBS=2 queue and all succeed',
  { SKILLBOX_MAX_JOBS: '2' },
  async (srv, s) => {
    const ids = await Promise.all(Array.from({ length: 8 }, () =>
      srv.call('submit_job', spec(s, 'normal', { env: {
        FAKE_WORKER_STEPS: '4', FAKE_WORKER_STEP_MS: '100' } }))
        .then((j) => j.job_id)));
    let maxActive = 0;
    let sawQueued = 0;
    let maxProcs = 0;
    await until(async () => {
      const { jobs } = await srv.call('list_jobs', { limit: 100 });
      const active = jobs.filter((j) => j.state !== 'queued' &&
        !TERMINAL.includes(j.state)).length;
      maxActive = Math.max(maxActive, active);
      sawQueued = Math.max(sawQueued, jobs.filter((j) => j.state ===
        'queued').length);
      maxProcs = Math.max(maxProcs,
        jobWorkersAtOnce(srv.pid, ids).length);
      return jobs.every((j) => j.done);
    }, 60000, 'all 8 jobs');
    assert.ok(maxActive <= 2, `at most 2 running, saw ${maxActive}`);
    assert.ok(maxProcs <= 2, `at most 2 workers, saw ${maxProcs}`);
    assert.ok(sawQueued >= 4, `queueing observed (${sawQueued} waiting)`);
    for (const id of ids) {
      const j = await srv.call('get_job', { job_id: id });
      assert.equal(j.state, 'succeeded', `${id}: ${j.reason}`);
    }
  });

serverTest('cancel a running job', {},
  async (srv, s) => {
    const job = await srv.call('submit_job', spec(s, 'slow'));
    await until(async () => (await srv.call('get_job',
      { job_id: job.job_id })).state === 'running', 20000, 'running');
    const c = await srv.call('cancel_job', { job_id: job.job_id,
      reason: 'no longer needed' });
    assert.equal(c.cancel_requested, true);
    const done = await finish(srv, job.job_id);
    assert.equal(done.state, 'cancelled');
    assert.match(done.reason, /no longer needed/);
    const again = await srv.fail('cancel_job', { job_id: job.job_id });
    assert.match(again, /already finished \(cancelled\)/);
  });

serverTest('a worker that ignores cancel is terminated, then killed',
  { SKILLBOX_STOP_GRACE_MS: '300' },
  async (srv, s) => {
    const job = await srv.call('submit_job', spec(s, 'ignore-cancel'));
    await until(async () => (await srv.call('get_job',
      { job_id: job.job_id })).state === 'running', 20000, 'running');
    const pid = workerPid(srv.pid, job.job_id);
    assert.ok(pid);
    await srv.call('cancel_job', { job_id: job.job_id });
    const done = await finish(srv, job.job_id);
    assert.equal(done.state, 'cancelled');
    assert.match(done.reason, /^cancelled: cancelled by the client/);
    assert.equal(existsSync(`/proc/${pid}/cmdline`) &&
      readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(job.job_id),
    false, 'the worker is gone');
    // It died owning a sandbox: a reaper killed that.
    await until(async () => (await srv.call('get_job',
      { job_id: job.job_id })).sandbox?.reaped === 'done', 20000,
    'the sandbox reaped');
  });

serverTest('kill -9 of one worker: that job crashes, its sandbox is reaped, ' +
  'the server and the other jobs carry on', {},
  async (srv, s) => {
    const victim = await srv.call('submit_job', spec(s, 'slow'));
    const other = await srv.call('submit_job', spec(s, 'normal', { env: {
      FAKE_WORKER_STEPS: '15', FAKE_WORKER_STEP_MS: '200' } }));
    const v = await until(async () => {
      const j = await srv.call('get_job', { job_id: victim.job_id });
      return j.state === 'running' && j.sandbox ? j : null;
    }, 20000, 'the victim running with a sandbox');
    const pid = workerPid(srv.pid, victim.job_id);
    assert.ok(pid, 'found the worker');
    process.kill(pid, 'SIGKILL');
    const done = await finish(srv, victim.job_id);
    assert.equal(done.state, 'crashed');
    assert.match(done.reason, /killed by signal 9/);
    await srv.client.ping();
    const o = await finish(srv, other.job_id);
    assert.equal(o.state, 'succeeded');
    const reaped = await until(async () => {
      const j = await srv.call('get_job', { job_id: victim.job_id });
      return j.sandbox?.reaped === 'done' ? j : null;
    }, 20000, 'the reaper');
    assert.equal(reaped.sandbox.id, v.sandbox.id);
    const marker = path.join(s.state, 'jobs', victim.job_id, 'reaped');
    assert.equal(readFileSync(marker, 'utf8'), `${v.sandbox.id}\n`);
    assert.equal(o.sandbox.reaped, undefined, 'nothing to reap for the other');
  });

serverTest('workers that crash, fail, hang or break the protocol ' +
  'each cost one job', {},
  async (srv, s) => {
    const cases = [
      ['crash', 'crashed', /killed by signal 6/],
      ['exit:78', 'failed', /configuration error \(EX_CONFIG\): fake failure/],
      ['exit:69', 'failed', /E2B could not be reached/],
      ['no-result', 'crashed', /exited without a result/],
      ['fail', 'failed', /the tests still fail/],
      ['bad-message', 'crashed', /worker protocol error/],
      ['wrong-version', 'crashed', /protocol version 99, expected 1/],
      ['hang', 'crashed', /stopped responding \(no message for 6 s\)/],
    ];
    const jobs = [];
    for (const [mode] of cases)
      jobs.push(await srv.call('submit_job', spec(s, mode)));
    for (let i = 0; i < cases.length; i++) {
      const done = await finish(srv, jobs[i].job_id);
      assert.equal(done.state, cases[i][1], `${cases[i][0]}: ${done.reason}`);
      assert.match(done.reason, cases[i][2], cases[i][0]);
    }
    await srv.client.ping();
  });

test('a worker whose hello speaks another version is retired',
  { skip: SDK_SKIP },
  async (t) => {
    const s0 = scratch();
    const w = wrapper(s0, '--hello-version 7');
    try {
      await withServer(t, { SKILLBOX_WORKER: w }, async (srv, s) => {
        const job = await srv.call('submit_job', spec(s));
        const done = await finish(srv, job.job_id);
        assert.equal(done.state, 'crashed');
        assert.match(done.reason, /speaks protocol version 7, skillboxd 1/);
      });
    } finally {
      s0.cleanup();
    }
  });

test('after a restart, unfinished jobs are interrupted and their ' +
  'sandboxes reaped', { skip: SDK_SKIP }, async (t) => {
  const s = scratch();
  try {
    const a = await sdkServer(s);
    const job = await a.call('submit_job', spec(s, 'slow'));
    await until(async () => {
      const j = await a.call('get_job', { job_id: job.job_id });
      return j.state === 'running' && j.sandbox;
    }, 20000, 'running with a sandbox');
    const wpid = workerPid(a.pid, job.job_id);
    process.kill(a.pid, 'SIGKILL');
    await a.close().catch(() => {});
    await until(() => !existsSync(`/proc/${wpid}/cmdline`) ||
      !readFileSync(`/proc/${wpid}/cmdline`, 'utf8').includes(job.job_id),
    5000, 'the orphaned worker to die with its parent');
    const b = await sdkServer(s);
    try {
      const j = await b.call('get_job', { job_id: job.job_id });
      assert.equal(j.state, 'interrupted');
      assert.match(j.reason, /restarted while the job was running/);
      await until(async () => (await b.call('get_job',
        { job_id: job.job_id })).sandbox?.reaped === 'done', 20000,
      'the sandbox reaped');
      const log = await b.call('get_job_log', { job_id: job.job_id });
      assert.ok(log.entries.some((e) => e.state === 'interrupted'));
    } finally {
      await b.close();
    }
  } finally {
    s.cleanup();
  }
});

test('job-retention: a restart removes finished jobs older than it, with ' +
  'their files', { skip: SDK_SKIP }, async () => {
  const s = scratch();
  try {
    const a = await sdkServer(s);
    let done;
    try {
      const job = await a.call('submit_job', spec(s, 'normal'));
      done = await a.call('wait_job', { job_id: job.job_id, timeout_s: 30 });
      assert.equal(done.state, 'succeeded', done.reason);
    } finally {
      await a.close();
    }
    const dir = path.join(s.state, 'jobs', done.job_id);
    assert.ok(existsSync(dir));
    // Kept while younger than the retention, removed once older.
    const b = await sdkServer(s, { SKILLBOX_JOB_RETENTION: '1h' });
    try {
      assert.equal((await b.call('list_jobs', {})).jobs.length, 1);
    } finally {
      await b.close();
    }
    await new Promise((r) => setTimeout(r, 1100));
    const c = await sdkServer(s, { SKILLBOX_JOB_RETENTION: '1' });
    try {
      assert.equal((await c.call('list_jobs', {})).jobs.length, 0);
      assert.ok(!existsSync(dir), `${dir} is still there`);
      const r = await c.client.callTool({ name: 'get_job',
        arguments: { job_id: done.job_id } });
      assert.equal(r.isError, true);
      assert.ok(c.stderr.join('').includes('removed 1 job that ended over 1s ago'),
        c.stderr.join(''));
    } finally {
      await c.close();
    }
  } finally {
    s.cleanup();
  }
});
