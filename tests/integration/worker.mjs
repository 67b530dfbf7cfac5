// skillbox-worker, standalone (--job FILE), for real: against
// tests/e2b-local with tests/fake-claude in the claude template.  One job,
// one sandbox, from create to kill; every test ends with no sandbox left.

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, afterEach, before, test } from 'node:test';

import { skipUnless } from './lib/deps.mjs';
import { e2bLocalPath, startE2bLocal } from './lib/e2b-local.mjs';
import {
  fakeClaudePath, fakeClaudeTemplate, fixtureRepo, gitDaemon, runWorker,
  scenario, tempDir, workerPath,
} from './lib/worker.mjs';

const skip = skipUnless({
  programs: ['bwrap', 'git'],
  files: [e2bLocalPath(), workerPath(), fakeClaudePath()],
});
const opt = { skip, timeout: 120000 };

const ANTHROPIC_CANARY = 'sk-ant-canary-a1b2c3d4e5f6';
const GIT_CANARY = 'ghp_canarytoken0123456789';
const EX_DATAERR = 65;
const EX_CONFIG = 78;

let local;
let env;

before(async () => {
  if (skip) return;
  local = await startE2bLocal({ templates: { claude: fakeClaudeTemplate() } });
  env = { ...local.env(), ANTHROPIC_API_KEY: ANTHROPIC_CANARY };
});

after(async () => {
  if (local) assert.deepEqual(await local.stop(), { code: 0, signal: null });
});

afterEach(async () => {
  if (local) assert.deepEqual(await local.waitNoSandboxes(), [],
    'sandboxes left alive');
});

// A job on the fixture repo (a local path) with the given scenario.
function localJob(dir, sc, extra = {}) {
  return { repo: { path: fixtureRepo(dir) }, job: 'fix-tests',
    env: { FAKE_CLAUDE_SCENARIO: JSON.stringify(sc) }, ...extra };
}

// The log lines the worker sent.
function logs(run) {
  return run.messages.filter((m) => m.type === 'log').map((m) => m.msg);
}

// Nothing any message says may hold a secret.
function assertNoSecrets(run) {
  const text = JSON.stringify(run.messages) + run.stderr;
  for (const s of [ANTHROPIC_CANARY, GIT_CANARY, env.E2B_API_KEY]) {
    assert.ok(!text.includes(s), 'a secret leaked into the output');
  }
}

test('a fix-tests job on a local repo: diff, tests, bundle, few requests', opt,
  async () => {
    const dir = tempDir('worker-local-');
    await local.resetStats();
    const run = await runWorker(localJob(dir, scenario('fix-tests')),
      { env, dir });
    assert.equal(run.code, 0, run.stderr);
    const r = run.result;
    assert.equal(r.status, 'succeeded', r.reason);
    assert.equal(r.tests.failed, 0);
    assert.equal(r.tests.passed, 3);
    assert.equal(r.diff.files_changed, 1);
    assert.equal(r.diff.files[0].path, 'add.sh');
    assert.match(readFileSync(path.join(run.out, 'diff.patch'), 'utf8'),
      /^\+echo \$\(\(\$1 \+ \$2\)\)$/m);
    assert.match(r.skills.bundle, /^\d+\.\d+\.\d+\+sha256:[0-9a-f]{64}$/);
    assert.deepEqual(r.skills.used, ['run-and-fix-tests', 'report-result']);
    assert.equal(r.agent.num_turns, 7);
    assert.equal(r.sandbox.killed, true);
    const phases = run.messages.filter((m) => m.type === 'phase')
      .map((m) => m.phase);
    // The terminal state travels in the result, never as a phase.
    assert.deepEqual(phases, ['provisioning', 'injecting', 'fetching_repo',
      'running', 'collecting']);
    // The sandbox's id is told before anything else is done with it.
    const types = run.messages.map((m) => m.type);
    assert.equal(types.indexOf('sandbox'), types.indexOf('phase') + 1);
    // skillbox ran the reported command again itself, and it passed.
    assert.equal(r.tests.recheck.exit_code, 0);
    assert.equal(r.tests.recheck.passed, true);
    assert.ok(r.tests.recheck.duration_ms >= 0);
    assert.ok(logs(run).some((m) => /re-run by skillbox, exited 0/.test(m) &&
      /# PASS: 3/.test(m)), logs(run).join('\n'));
    const stats = await local.stats();
    assert.ok(stats.total <= 8, `${stats.total} requests: ${JSON.stringify(stats)}`);
    assertNoSecrets(run);
  });

// The scenario's steps with its result.json replaced (the report a
// careless agent would write), and its edits left out when fix is false.
function reporting(tests, { fix = true } = {}) {
  const sc = scenario('fix-tests');
  sc.steps = sc.steps.filter((s) => fix || !s.edit);
  const rj = sc.steps.find((s) => s.result_json).result_json;
  rj.tests = { ...rj.tests, ...tests };
  return sc;
}

test('passing tests the agent made up: the re-run fails the job', opt,
  async () => {
    const dir = tempDir('worker-lie-');
    const run = await runWorker(localJob(dir, reporting({}, { fix: false })),
      { env, dir });
    const r = run.result;
    assert.equal(r.status, 'failed');
    assert.match(r.reason, /reported the tests passing, but `make check` exited [1-9]\d* when skillbox ran it again/);
    assert.equal(r.tests.failed, 0, 'the agent\'s own report is kept');
    assert.equal(r.tests.recheck.passed, false);
    assert.notEqual(r.tests.recheck.exit_code, 0);
    assert.ok(logs(run).some((m) => /FAIL: add 1 2: expected 3, got -1/.test(m)),
      logs(run).join('\n'));
    assert.equal(r.sandbox.killed, true);
  });

test('a re-run that outlasts the deadline is cut short; the job stands', opt,
  async () => {
    const dir = tempDir('worker-slowcheck-');
    const t0 = Date.now();
    const run = await runWorker(localJob(dir,
      reporting({ command: 'sleep 120' }), { timeout_s: 15 }), { env, dir });
    const r = run.result;
    assert.equal(r.status, 'succeeded', r.reason);
    assert.match(r.tests.recheck.error, /did not end within \d+ s/);
    assert.equal(r.tests.recheck.passed, undefined);
    assert.ok(Date.now() - t0 < 30000, 'the re-run (sleep 120) was not cut');
    assert.ok(logs(run).some((m) => /could not be re-run/.test(m)));
  });

test('no tests reported, or no time left: nothing is re-run', opt,
  async () => {
    const dir = tempDir('worker-nocheck-');
    const sc = scenario('fix-tests');
    delete sc.steps.find((s) => s.result_json).result_json.tests;
    let run = await runWorker(localJob(dir, sc, { job: 'refactor' }),
      { env, dir });
    assert.equal(run.result.status, 'succeeded', run.result.reason);
    assert.equal(run.result.tests, null);
    assert.ok(!logs(run).some((m) => /re-run/.test(m)));
    // The agent takes half of a 10 s job: too little is left to re-run.
    const slow = reporting({});
    slow.steps.unshift({ bash: 'sleep 5' });
    const late = tempDir('worker-late-');
    run = await runWorker(localJob(late, slow, { timeout_s: 10 }),
      { env, dir: late });
    assert.equal(run.result.status, 'succeeded', run.result.reason);
    assert.match(run.result.tests.recheck.skipped, /too little time/);
  });

test('a git:// repo at a ref; the token never reaches .git/config', opt,
  async () => {
    const dir = tempDir('worker-git-');
    const repo = fixtureRepo(dir);
    const daemon = await gitDaemon(dir);
    try {
      const sc = scenario('fix-tests');
      sc.steps.unshift({ bash: 'cat .git/config; git rev-parse --abbrev-ref HEAD' });
      const run = await runWorker({
        repo: { url: daemon.url('repo'), ref: 'main' }, job: 'fix-tests',
        env: { FAKE_CLAUDE_SCENARIO: JSON.stringify(sc) },
      }, { env: { ...env, SKILLBOX_GIT_TOKEN: GIT_CANARY }, dir });
      assert.equal(run.result.status, 'succeeded', run.result.reason);
      const config = run.events.find((e) => e.kind === 'tool_result');
      assert.match(config.text, /url = git:\/\/127\.0\.0\.1/);
      assert.match(config.text, /main/);
      // Redaction would have hidden a leak: it must have had nothing to do.
      assert.ok(!config.text.includes('[REDACTED]'), config.text);
      assertNoSecrets(run);
    } finally {
      daemon.stop();
    }
    void repo;
  });

test('SIGTERM mid-run: cancelled, and the sandbox is killed', opt, async () => {
  const dir = tempDir('worker-term-');
  const sc = { steps: [{ text: 'working' }, { hang: true }] };
  let sent = false;
  const run = await runWorker(localJob(dir, sc), {
    env, dir, onMessage: (m, child) => {
      if (m.type === 'event' && m.event.kind === 'text' && !sent) {
        sent = true;
        child.kill('SIGTERM');
      }
    },
  });
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.result.status, 'cancelled');
  assert.match(run.result.reason, /Terminated/);
  assert.equal(run.result.sandbox.killed, true);
});

test('the deadline: timed_out, with the work done so far', opt, async () => {
  const dir = tempDir('worker-deadline-');
  const sc = { steps: [{ edit: 'add.sh', old: '$(($1 - $2))',
    new: '$(($1 + $2))' }, { hang: true }] };
  const t0 = Date.now();
  const run = await runWorker(localJob(dir, sc, { timeout_s: 10 }),
    { env, dir });
  assert.equal(run.result.status, 'timed_out');
  assert.match(run.result.reason, /deadline/);
  assert.ok(Date.now() - t0 < 25000, 'took too long');
  assert.equal(run.result.diff.files_changed, 1, 'partial diff kept');
});

test('the idle watchdog: no output for too long fails the job', opt,
  async () => {
    const dir = tempDir('worker-idle-');
    const sc = { steps: [{ text: 'about to stall' }, { hang: true }] };
    const run = await runWorker(localJob(dir, sc),
      { env: { ...env, SKILLBOX_IDLE_TIMEOUT_S: '2' }, dir });
    assert.equal(run.result.status, 'failed');
    assert.match(run.result.reason, /idle watchdog/);
  });

test('a result then a hang ends promptly', opt, async () => {
  const dir = tempDir('worker-hang-');
  const sc = scenario('fix-tests');
  sc.after_result = 'hang';
  const t0 = Date.now();
  const run = await runWorker(localJob(dir, sc), { env, dir });
  assert.equal(run.result.status, 'succeeded', run.result.reason);
  assert.ok(Date.now() - t0 < 15000, `took ${Date.now() - t0} ms`);
});

test('a dropped stream: re-attached, and no event is lost', opt, async () => {
  const dir = tempDir('worker-drop-');
  // The first stream (setup) is short; the second, the agent's, drops.
  await local.fault({ route: 'POST /process.Process/Start',
    dropAfterBytes: 1500, count: 2 });
  const sc = scenario('fix-tests');
  sc.steps.splice(1, 0, { sleep_ms: 500 });
  const run = await runWorker(localJob(dir, sc), { env, dir });
  await local.clearFaults();
  assert.equal(run.result.status, 'succeeded', run.result.reason);
  assert.equal(run.result.tests.passed, 3);
  const kinds = run.events.map((e) => e.kind);
  assert.equal(kinds.filter((k) => k === 'init').length, 1);
  assert.equal(kinds.filter((k) => k === 'result').length, 1);
  assert.equal(kinds.filter((k) => k === 'tool_use').length, 6);
  const logs = run.messages.filter((m) => m.type === 'log').map((m) => m.msg);
  assert.ok(logs.some((l) => /stream broke/.test(l)), logs.join('\n'));
});

test('the sandbox dies mid-job: a clear failure, no hang', opt, async () => {
  const dir = tempDir('worker-die-');
  const sc = { steps: [{ text: 'working' }, { hang: true }] };
  let sandbox;
  let killed = false;
  const run = await runWorker(localJob(dir, sc), {
    env, dir, onMessage: (m) => {
      if (m.type === 'sandbox') sandbox = m.id;
      if (m.type === 'event' && m.event.kind === 'text' && !killed) {
        killed = true;
        local.request('DELETE', `/sandboxes/${sandbox}`);
      }
    },
  });
  assert.equal(run.result.status, 'failed');
  assert.match(run.result.reason, /the sandbox died/);
});

test('agent failures: an API error, no result, garbage and huge output', opt,
  async () => {
    const dir = tempDir('worker-fail-');
    let run = await runWorker(localJob(dir, { steps: [{ text: 'hi' }],
      result: 'api_error' }), { env, dir });
    assert.equal(run.result.status, 'failed');
    assert.match(run.result.reason, /api_error/);

    const dir2 = tempDir('worker-fail-');
    run = await runWorker(localJob(dir2, {
      steps: [{ exit: 3, stderr: 'boom: the CLI fell over' }] }),
    { env, dir: dir2 });
    assert.equal(run.result.status, 'failed');
    assert.match(run.result.reason, /exit 3/);
    assert.match(run.result.reason, /boom/);

    const sc = scenario('fix-tests');
    sc.steps.splice(1, 0, { garbage: 20 }, { huge_mb: 8 },
      { long_line_kb: 2048 });
    const dir3 = tempDir('worker-fail-');
    run = await runWorker(localJob(dir3, sc), { env, dir: dir3 });
    assert.equal(run.result.status, 'succeeded', run.result.reason);
  });

test('E2B answers 429 and 500: retried, strays looked for, job done', opt,
  async () => {
    const dir = tempDir('worker-retry-');
    await local.resetStats();
    await local.fault({ route: 'POST /v2/sandboxes', status: 429,
      retryAfter: 1, count: 1 });
    await local.fault({ route: 'POST /v2/sandboxes', status: 500, count: 1 });
    const run = await runWorker(localJob(dir, scenario('fix-tests')),
      { env, dir });
    assert.equal(run.result.status, 'succeeded', run.result.reason);
    const stats = await local.stats();
    assert.equal(stats.routes['POST /v2/sandboxes'], 3);
    assert.equal(stats.routes['GET /v2/sandboxes'], 1, 'strays looked for');
  });

test('bad input: an invalid job file names the field', opt, async () => {
  const run = await runWorker({ repo: { url: 'file:///etc' }, job: 'fix-tests' },
    { env });
  assert.equal(run.code, EX_DATAERR);
  assert.match(run.stderr, /repo\.url: scheme must be https, ssh or git/);
  const run2 = await runWorker('{"job": ', { env });
  assert.equal(run2.code, EX_DATAERR);
  assert.match(run2.stderr, /job\.json: unexpected end/);
});

test('bad input: a missing key names the variable; E2B errors say why', opt,
  async () => {
    const dir = tempDir('worker-keys-');
    const { E2B_API_KEY, ...noKey } = env;
    void E2B_API_KEY;
    let run = await runWorker(localJob(dir, scenario('fix-tests')),
      { env: noKey, dir });
    assert.equal(run.code, EX_CONFIG);
    assert.match(run.result.reason, /E2B_API_KEY is not set/);
    const dir2 = tempDir('worker-keys-');
    run = await runWorker(localJob(dir2, scenario('fix-tests')),
      { env: { ...env, E2B_API_KEY: 'e2b_wrong_key' }, dir: dir2 });
    assert.equal(run.result.status, 'failed');
    assert.match(run.result.reason, /401/);
    assert.match(run.result.reason, /Invalid API key/);
    assert.ok(!existsSync(path.join(dir, 'out', 'diff.patch')));
  });
