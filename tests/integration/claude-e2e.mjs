// The real Claude Code CLI (pinned) in the loop, end to end: the official
// MCP SDK client -> skillboxd -> skillbox-worker -> an e2b-local sandbox
// whose claude template holds the real CLI -> tests/fake-anthropic, where
// only the model is scripted.  Issue 5's scenarios.

import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import test from 'node:test';

import { skipUnless } from './lib/deps.mjs';
import { e2bLocalPath } from './lib/e2b-local.mjs';
import { FAKE_BIN, requests } from './lib/fake-anthropic.mjs';
import { skillboxdPath } from './lib/skillboxd.mjs';
import { ANTHROPIC_CANARY, GIT_CANARY, REAL_CLAUDE, allText, finish,
  withStack } from './lib/stack.mjs';
import { srcdir, workerPath } from './lib/worker.mjs';

const skip = skipUnless({
  packages: ['@modelcontextprotocol/sdk/client/index.js'],
  programs: ['bwrap', 'git'],
  files: [e2bLocalPath(), workerPath(), skillboxdPath, FAKE_BIN,
    REAL_CLAUDE()],
});
const opt = { skip, timeout: 180000 };

const fixModel = () => JSON.parse(readFileSync(path.join(srcdir(), 'tests',
  'demo', 'model-fix-tests.json'), 'utf8'));
const BUNDLE = ['bootstrap-repo', 'refactor-and-verify', 'report-result',
  'run-and-fix-tests', 'run-data-experiment'];

// Submit a job on the fixture repo and wait for its end.
async function runJob(st, extra = {}) {
  const { job_id: id } = await st.srv.call('submit_job', { repo: { path:
    st.repo }, job: 'fix-tests', ...extra });
  const t0 = Date.now();
  const done = await finish(st.srv, id);
  return { id, done, ms: Date.now() - t0 };
}

test('run-and-fix-tests with the real CLI: fixed, tested, diffed, costed',
  opt, () => withStack({ real: true, model: fixModel() }, async (st) => {
    // The repo's own skills must not reach the model: only the bundle's.
    const decoy = path.join(st.repo, '.claude', 'skills', 'decoy-skill');
    mkdirSync(decoy, { recursive: true });
    writeFileSync(path.join(decoy, 'SKILL.md'), '---\nname: decoy-skill\n' +
      'description: A skill from the repository that must never be ' +
      'offered.\n---\nDo something else.\n');
    const { id, done } = await runJob(st);
    assert.equal(done.state, 'succeeded', done.reason);
    assert.equal(done.tests.failed, 0);
    assert.equal(done.tests.passed, 3);
    // skillbox ran the command the model reported once more: it passes.
    assert.equal(done.tests.recheck.passed, true, JSON.stringify(done.tests));
    assert.equal(done.diff.files_changed, 1);
    const diff = await st.srv.client.readResource({ uri: done.resources.diff });
    assert.match(diff.contents[0].text, /^\+echo \$\(\(\$1 \+ \$2\)\)$/m);
    assert.match(done.agent.session_id, /^[0-9a-f-]{36}$/);
    assert.ok(done.agent.num_turns >= 8, String(done.agent.num_turns));
    assert.ok(done.agent.total_cost_usd > 0);
    assert.match(done.agent.claude_code_version, /^2\.1\.330/);
    assert.deepEqual(done.skills.used, ['run-and-fix-tests', 'report-result']);
    assert.deepEqual(done.skills.offered, BUNDLE);
    // What the CLI told the model: the bundle's skills, not the decoy.
    const log = requests(st.fake);
    const offered = log.flatMap((r) => r.summary?.system_messages ?? [])
      .join('\n');
    for (const name of BUNDLE) assert.ok(offered.includes(name), name);
    assert.ok(!offered.includes('decoy-skill'), 'the decoy was offered');
    // The skill's body reached the model after the Skill call.
    const tails = JSON.stringify(log.map((r) => r.summary?.tail));
    assert.match(tails, /Launching skill: run-and-fix-tests/);
    // Canaries: never in the job's log, events, result or state dir.
    const jl = await st.srv.call('get_job_log', { job_id: id, offset: 0,
      limit: 1000 });
    const kept = allText(st.s.state) + JSON.stringify(jl) +
      JSON.stringify(done) + st.srv.stderr.join('');
    for (const secret of [ANTHROPIC_CANARY, GIT_CANARY, st.e2bKey])
      assert.ok(!kept.includes(secret), 'a secret leaked');
  }));

test('the model API fails (HTTP 500): the job fails promptly, saying so',
  opt, () => withStack({ real: true, model: [{ error: { status: 500,
    type: 'api_error', message: 'scripted overload' } }] }, async (st) => {
    const { done, ms } = await runJob(st, { env:
      { CLAUDE_CODE_MAX_RETRIES: '0' } });
    assert.equal(done.state, 'failed');
    assert.match(done.reason, /api_error/);
    assert.match(done.reason, /500|scripted overload/);
    assert.ok(ms < 30000, `took ${ms} ms`);
  }));

test('max_turns reached: the job fails with that reason', opt,
  () => withStack({ real: true, model: fixModel() }, async (st) => {
    const { done } = await runJob(st, { max_turns: 2 });
    assert.equal(done.state, 'failed');
    assert.match(done.reason, /max_turns/);
    assert.match(done.reason, /maximum number of turns \(2\)/);
    assert.equal(done.agent.terminal_reason, 'max_turns');
  }));
