// Real clients against skillboxd as an HTTP host, with a bearer token:
// the official MCP SDK client (StreamableHTTPClientTransport) runs jobs
// end to end with progress and with MCP tasks (the fake worker, then
// the real skillbox-worker against tests/e2b-local with the fake claude
// in the sandbox), the Inspector CLI works over HTTP, the real Claude
// Code CLI reports the host connected, and systemd-socket-activate
// hands skillboxd its listening socket.
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { scratch, spec, depBin, until, skillboxdPath, SDK_SKIP } from
  './lib/skillboxd.mjs';
import { loadPackage, skipUnless, which } from './lib/deps.mjs';
import { httpServer, sdkClient, stillServes, TOKEN } from './lib/http.mjs';
import { e2bLocalPath, startE2bLocal } from './lib/e2b-local.mjs';
import { fakeClaudePath, fakeClaudeTemplate, fixtureRepo, scenario,
  srcdir, tempDir, workerPath } from './lib/worker.mjs';

const run = promisify(execFile);

// A loopback port nobody listens on (now).
function freePort() {
  return new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// A fresh host and an SDK client; both closed after fn.
async function withClient(env, fn, opts = {}) {
  const s = scratch();
  const srv = await httpServer(s, { env, ...opts });
  let c;
  try {
    c = await sdkClient(srv);
    await c.client.listTools();	// so the SDK checks outputs
    await fn(c, s, srv);
    await c.close();
    c = null;
    assert.ok(await stillServes(srv));
    assert.deepEqual(await srv.stop(), { code: 0, signal: null });
    assert.doesNotMatch(srv.log(), /runtime error|Sanitizer/);
  } catch (e) {
    e.message += `\n--- skillboxd log:\n${srv.log()}`;
    throw e;
  } finally {
    if (c) await c.client.close().catch(() => {});
    srv.child.kill('SIGKILL');
    s.cleanup();
  }
}

const TERMINAL = ['succeeded', 'failed', 'cancelled', 'timed_out', 'crashed',
  'interrupted'];

// Progress while waiting for a job, then its result; the client that
// submitted it hears of its states as log messages on the GET stream.
async function jobWithProgress(c, jobSpec, seconds = 60) {
  const { LoggingMessageNotificationSchema } =
    await loadPackage('@modelcontextprotocol/sdk/types.js');
  const logs = [];
  c.client.setNotificationHandler(LoggingMessageNotificationSchema,
    (n) => logs.push(n.params));
  const job = await c.call('submit_job', jobSpec);
  assert.equal(job.created, true);
  const progress = [];
  let done;
  do {
    const r = await c.client.callTool({ name: 'wait_job', arguments: {
      job_id: job.job_id, timeout_s: seconds } }, undefined,
    { onprogress: (p) => progress.push(p), timeout: seconds * 2000,
      resetTimeoutOnProgress: true });
    done = r.structuredContent;
  } while (!done.done);
  await until(() => logs.some((l) => TERMINAL.includes(l.data.state)),
    10000, 'a log message for the end');
  assert.ok(logs.every((l) => l.data.job_id === job.job_id));
  return { job, done, progress, logs };
}

// A job as an MCP task: created at once, polled, its result fetched.
async function jobAsTask(c, jobSpec, { failing = false } = {}) {
  const { CallToolResultSchema } =
    await loadPackage('@modelcontextprotocol/sdk/types.js');
  const seen = [];
  let created;
  let result;
  let error;
  for await (const m of c.client.experimental.tasks.callToolStream(
    { name: 'submit_job', arguments: jobSpec }, CallToolResultSchema,
    { task: { ttl: 600000 }, timeout: 180000 })) {
    if (m.type === 'taskCreated') created = m.task;
    else if (m.type === 'taskStatus') seen.push(m.task.status);
    else if (m.type === 'result') result = m.result;
    else if (m.type === 'error' && failing) error = m.error;
    else if (m.type === 'error') throw m.error;
  }
  assert.ok(created, 'a task was created');
  if (failing) {
    // The SDK reports a failed task without its result; fetch it.
    assert.match(String(error), /failed/);
    result = await c.client.experimental.tasks.getTaskResult(
      created.taskId, CallToolResultSchema);
  }
  assert.match(created.taskId, /^[0-9a-f]{32}$/);
  assert.equal(created.status, 'working');
  return { created, seen, result };
}

test('SDK over HTTP with a token: a job with progress, its log messages',
  { skip: SDK_SKIP }, () => withClient({}, async (c, s) => {
    const { done, progress } = await jobWithProgress(c, spec(s, 'normal',
      { env: { FAKE_WORKER_STEPS: '12', FAKE_WORKER_STEP_MS: '200' } }));
    assert.equal(done.state, 'succeeded', JSON.stringify(done));
    assert.ok(progress.length >= 3, JSON.stringify(progress));
    for (let i = 1; i < progress.length; i++)
      assert.ok(progress[i].progress > progress[i - 1].progress);
    assert.match(progress.map((p) => p.message).join('\n'), /running/);
    const res = await c.client.readResource({ uri: done.resources.job });
    assert.equal(JSON.parse(res.contents[0].text).state, 'succeeded');
  }));

test('SDK over HTTP: submit_job as a task; tasks/get, list, result, cancel',
  { skip: SDK_SKIP }, () => withClient({}, async (c, s) => {
    const tools = await c.client.listTools();
    const submit = tools.tools.find((t) => t.name === 'submit_job');
    assert.equal(submit.execution.taskSupport, 'optional');
    const caps = c.client.getServerCapabilities();
    assert.ok(caps.tasks.requests.tools.call);
    const { TaskStatusNotificationSchema } =
      await loadPackage('@modelcontextprotocol/sdk/types.js');
    const notes = [];
    c.client.setNotificationHandler(TaskStatusNotificationSchema,
      (n) => notes.push(n.params));
    const { created, result } = await jobAsTask(c, spec(s, 'normal', {
      env: { FAKE_WORKER_STEPS: '4', FAKE_WORKER_STEP_MS: '100' } }));
    assert.ok(!result.isError);
    assert.equal(result.structuredContent.state, 'succeeded');
    assert.equal(result._meta['io.modelcontextprotocol/related-task'].taskId,
      created.taskId);
    const t = await c.client.experimental.tasks.getTask(created.taskId);
    assert.equal(t.status, 'completed');
    assert.match(t.statusMessage, /^succeeded/);
    await until(() => notes.some((n) => n.taskId === created.taskId &&
      n.status === 'completed'), 10000, 'notifications/tasks/status');
    // A long job as a task, cancelled.
    const long = await c.client.request({ method: 'tools/call', params: {
      name: 'submit_job', arguments: spec(s, 'slow'), task: {} } },
    (await loadPackage('@modelcontextprotocol/sdk/types.js'))
      .CreateTaskResultSchema);
    const id = long.task.taskId;
    const list = await c.client.experimental.tasks.listTasks();
    assert.deepEqual(list.tasks.map((x) => x.taskId).slice(0, 2),
      [id, created.taskId]);
    const cancelled = await c.client.experimental.tasks.cancelTask(id);
    assert.equal(cancelled.status, 'cancelled');
    await assert.rejects(c.client.experimental.tasks.cancelTask(id),
      /already cancelled/);
    await assert.rejects(c.client.experimental.tasks.getTask('nope'),
      /no task/);
    // An invalid spec is a task that failed, saying why.
    const bad = await jobAsTask(c, { job: 'fix-tests' }, { failing: true });
    assert.equal(bad.result.isError, true);
    assert.match(bad.result.content[0].text, /repo/);
  }));

const inspector = depBin('mcp-inspector');

test('the Inspector CLI over HTTP, with and without the token',
  { skip: skipUnless({ files: [skillboxdPath, inspector] }) }, async () => {
    const s = scratch();
    const srv = await httpServer(s);
    try {
      const { stdout } = await run(inspector, ['--cli', srv.url,
        '--transport', 'http', '--header',
        `Authorization: Bearer ${srv.token}`, '--method', 'tools/list'],
      { timeout: 60000 });
      const names = JSON.parse(stdout).tools.map((t) => t.name).sort();
      assert.deepEqual(names, ['cancel_job', 'get_job', 'get_job_log',
        'list_jobs', 'list_skills', 'submit_job', 'wait_job']);
      const { stdout: call } = await run(inspector, ['--cli', srv.url,
        '--transport', 'http', '--header',
        `Authorization: Bearer ${srv.token}`, '--method', 'tools/call',
        '--tool-name', 'list_skills'], { timeout: 60000 });
      assert.equal(JSON.parse(call).structuredContent.count, 2);
      const denied = await run(inspector, ['--cli', srv.url, '--transport',
        'http', '--method', 'tools/list'], { timeout: 60000 })
        .then(() => null, (e) => e);
      assert.ok(denied, 'no token must fail');
      assert.equal(denied.code, 3, denied.stderr);
      assert.deepEqual(await srv.stop(), { code: 0, signal: null });
    } finally {
      srv.child.kill('SIGKILL');
      s.cleanup();
    }
  });

// The real worker: e2b-local with the fake claude in the template.
const REAL_SKIP = skipUnless({
  programs: ['bwrap', 'git'],
  files: [skillboxdPath, e2bLocalPath(), workerPath(), fakeClaudePath()],
  packages: ['@modelcontextprotocol/sdk/client/index.js'],
});

test('the real worker over HTTP: a job with progress, and one as a task',
  { skip: REAL_SKIP, timeout: 300000 }, async () => {
    const local = await startE2bLocal({ templates: {
      claude: fakeClaudeTemplate() } });
    try {
      const dir = tempDir('skillbox-http-real-');
      const job = () => ({ repo: { path: fixtureRepo(tempDir(
        'skillbox-http-repo-')) }, job: 'fix-tests', env: {
        FAKE_CLAUDE_SCENARIO: JSON.stringify(scenario('fix-tests')) } });
      await withClient({ ...local.env(), SKILLBOX_WORKER: workerPath(),
        SKILLBOX_SKILLS_DIR: path.join(srcdir(), 'skills'),
        SKILLBOX_ALLOWED_ROOTS: path.dirname(dir),
        ANTHROPIC_API_KEY: 'sk-ant-http-canary-0123456789' },
      async (c) => {
        const { done, progress } = await jobWithProgress(c, job(), 120);
        assert.equal(done.state, 'succeeded', JSON.stringify(done));
        assert.equal(done.tests.failed, 0);
        assert.equal(done.diff.files_changed, 1);
        assert.match(progress.map((p) => p.message).join('\n'),
          /provisioning/);
        const { result } = await jobAsTask(c, job());
        assert.ok(!result.isError, JSON.stringify(result));
        assert.equal(result.structuredContent.state, 'succeeded');
        assert.equal(result.structuredContent.tests.failed, 0);
      });
      assert.deepEqual(await local.waitNoSandboxes(), [],
        'sandboxes left alive');
    } finally {
      await local.stop();
    }
  });

const claude = depBin('claude');

test('claude mcp list: connected over HTTP with the token, failed without',
  { skip: skipUnless({ files: [skillboxdPath, claude] }) }, async () => {
    const s = scratch();
    const srv = await httpServer(s);
    try {
      const env = { PATH: process.env.PATH, HOME: path.join(s.dir, 'home'),
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
        DISABLE_TELEMETRY: '1', DISABLE_AUTOUPDATER: '1',
        DISABLE_ERROR_REPORTING: '1' };
      const opts = { env, cwd: s.dir, timeout: 90000 };
      await run(claude, ['mcp', 'add', '--transport', 'http', 'skillbox',
        srv.url, '--header', `Authorization: Bearer ${srv.token}`], opts);
      await run(claude, ['mcp', 'add', '--transport', 'http', 'nokey',
        srv.url], opts);
      const { stdout } = await run(claude, ['mcp', 'list'], opts);
      const line = (name) => stdout.split('\n')
        .find((l) => l.startsWith(`${name}:`)) || '';
      assert.match(line('skillbox'), /Connected/, stdout);
      assert.doesNotMatch(line('nokey'), /Connected/, stdout);
      assert.match(srv.log(), /client claude-code/);
      assert.deepEqual(await srv.stop(), { code: 0, signal: null });
    } finally {
      srv.child.kill('SIGKILL');
      s.cleanup();
    }
  });

const activate = which('systemd-socket-activate');

test('socket activation: skillboxd serves on the socket systemd passes',
  { skip: skipUnless({ files: [skillboxdPath],
    programs: ['systemd-socket-activate'] }) }, async () => {
    const s = scratch();
    const port = await freePort();
    writeFileSync(path.join(s.dir, 'token'), `${TOKEN}\n`);
    const env = ['-E', `SKILLBOX_STATE_DIR=${s.state}`,
      '-E', `SKILLBOX_TOKEN_FILE=${path.join(s.dir, 'token')}`];
    const child = spawn(activate, ['-l', `127.0.0.1:${port}`, ...env,
      skillboxdPath], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    child.stderr.on('data', (d) => { log += d; });
    const exited = new Promise((res) => child.on('exit',
      (code, signal) => res({ code, signal })));
    try {
      await until(() => /Listening on/.test(log), 10000, 'the socket');
      const srv = { port, token: TOKEN };
      // The first connection starts skillboxd, which takes the socket.
      assert.ok(await stillServes(srv), log);
      assert.match(log, new RegExp(`serving MCP over HTTP at ` +
        `http://127.0.0.1:${port}/mcp`));
      child.kill('SIGTERM');
      assert.deepEqual(await exited, { code: 0, signal: null }, log);
      // --no-auth on a socket that is not loopback is refused.
      const wide = await freePort();
      const open = spawn(activate, ['-l', `0.0.0.0:${wide}`, ...env,
        skillboxdPath, '--no-auth'], { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      open.stderr.on('data', (d) => { err += d; });
      const gone = new Promise((res) => open.on('exit', res));
      await until(() => /Listening on/.test(err), 10000, 'the socket');
      net.connect(wide, '127.0.0.1').on('error', () => {});
      const code = await gone;
      assert.notEqual(code, 0);
      assert.match(err, /loopback address only/);
    } finally {
      child.kill('SIGKILL');
      s.cleanup();
    }
  });
