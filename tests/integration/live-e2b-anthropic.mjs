// LIVE: the fix-tests job against real E2B and the real Anthropic API,
// through skillboxd and the MCP SDK client.  Runs only when both
// E2B_API_KEY and ANTHROPIC_API_KEY are set (it costs money and needs the
// internet); otherwise every test here is reported skipped, saying why.

import assert from 'node:assert/strict';
import path from 'node:path';
import test from 'node:test';

import { missing } from './lib/deps.mjs';
import { sdkServer, scratch, skillboxdPath } from './lib/skillboxd.mjs';
import { finish } from './lib/stack.mjs';
import { fixtureRepo, srcdir, workerPath } from './lib/worker.mjs';

const live = process.env.E2B_API_KEY && process.env.ANTHROPIC_API_KEY;
const skip = !live ? 'live tests skipped: set E2B_API_KEY and ' +
  'ANTHROPIC_API_KEY to run the fix-tests job on real E2B and Claude' :
  missing({ packages: ['@modelcontextprotocol/sdk/client/index.js'],
    files: [skillboxdPath, workerPath()] }) || false;

test('live: fix-tests on real E2B with real Claude', { skip,
  timeout: 1200000 }, async () => {
  const s = scratch();
  const env = {
    SKILLBOX_WORKER: workerPath(),
    SKILLBOX_SKILLS_DIR: path.join(srcdir(), 'skills'),
  };
  // Real endpoints only: no local stand-in may be named here.
  for (const k of ['E2B_API_URL', 'E2B_SANDBOX_URL', 'ANTHROPIC_BASE_URL'])
    env[k] = '';
  const srv = await sdkServer(s, env);
  try {
    const repo = fixtureRepo(s.dir);
    const { job_id: id } = await srv.call('submit_job', { repo: { path:
      repo }, job: 'fix-tests', timeout_s: 900 });
    const done = await finish(srv, id);
    assert.equal(done.state, 'succeeded', done.reason);
    assert.equal(done.tests.failed, 0);
    assert.ok(done.diff.files_changed >= 1);
    assert.equal(done.sandbox.killed, true);
  } finally {
    await srv.close();
    s.cleanup();
  }
});
