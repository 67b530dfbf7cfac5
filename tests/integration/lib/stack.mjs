// The whole stack for end-to-end tests: tests/e2b-local with a claude
// template (the fake claude, or the pinned real Claude Code CLI driven by
// tests/fake-anthropic), and skillboxd with the real skillbox-worker,
// connected to the official MCP SDK client over stdio.

import { copyFileSync, chmodSync, linkSync, readdirSync, readFileSync,
  statSync } from 'node:fs';
import assert from 'node:assert/strict';
import path from 'node:path';

import { depsDir } from './deps.mjs';
import { makeTemplate, startE2bLocal } from './e2b-local.mjs';
import { startFake, stopFake } from './fake-anthropic.mjs';
import { sdkServer, scratch } from './skillboxd.mjs';
import { fakeClaudePath, fixtureRepo, srcdir, workerPath } from './worker.mjs';

export const REAL_CLAUDE = () => path.join(depsDir(), 'node_modules',
  '@anthropic-ai', 'claude-code', 'bin', 'claude.exe');

// A claude template holding the real CLI (a hard link when it can be:
// the binary is 380 MB) or the fake.
export function claudeTemplate(real) {
  const dir = makeTemplate({});
  const to = path.join(dir, 'bin', 'claude');
  if (real) {
    try {
      linkSync(REAL_CLAUDE(), to);
    } catch {
      copyFileSync(REAL_CLAUDE(), to);
    }
  } else
    copyFileSync(fakeClaudePath(), to);
  chmodSync(to, 0o755);
  return dir;
}

export const ANTHROPIC_CANARY = 'sk-ant-e2e-canary-Zq81xYw2';
export const GIT_CANARY = 'ghp_e2ecanary0123456789abcd';

// Start e2b-local (and fake-anthropic with the scripted model when real)
// and skillboxd with the real worker.  Returns what a test needs.
export async function startStack({ real = false, model, env = {},
  maxJobs } = {}) {
  const s = scratch();
  const local = await startE2bLocal({ templates: { claude:
    claudeTemplate(real) } });
  let fake = null;
  if (real) fake = await startFake(s.dir, { script: model });
  const serverEnv = {
    ...local.env(),
    ANTHROPIC_API_KEY: ANTHROPIC_CANARY,
    SKILLBOX_GIT_TOKEN: GIT_CANARY,
    SKILLBOX_WORKER: workerPath(),
    SKILLBOX_SKILLS_DIR: path.join(srcdir(), 'skills'),
    ...(fake ? { ANTHROPIC_BASE_URL: fake.url } : {}),
    ...(maxJobs ? { SKILLBOX_MAX_JOBS: String(maxJobs) } : {}),
    ...env,
  };
  const srv = await sdkServer(s, serverEnv);
  await srv.client.listTools();	// so the SDK validates outputs
  const repo = fixtureRepo(s.dir);
  return {
    s, local, fake, srv, repo, e2bKey: serverEnv.E2B_API_KEY,
    async stop() {
      await srv.close();
      const left = await local.waitNoSandboxes();
      await local.stop();
      if (fake) await stopFake(fake);
      s.cleanup();
      return left;
    },
  };
}

// Run fn on a fresh stack (startStack's options); stop it, and fail if a
// sandbox was left or a sanitizer spoke.  skillboxd's stderr is added to
// any failure.
export async function withStack(opts, fn) {
  const st = await startStack(opts);
  try {
    await fn(st);
  } catch (e) {
    e.message += `\n--- skillboxd stderr:\n${st.srv.stderr.join('')}`;
    throw e;
  } finally {
    const left = await st.stop();
    assert.deepEqual(left, [], 'sandboxes left alive\n--- skillboxd ' +
      `stderr:\n${st.srv.stderr.join('')}`);
    assert.doesNotMatch(st.srv.stderr.join(''), /runtime error|Sanitizer/);
  }
}

// Wait for a job to end (several bounded waits if need be).
export async function finish(srv, id, onprogress) {
  for (;;) {
    const r = await srv.client.callTool({ name: 'wait_job',
      arguments: { job_id: id, timeout_s: 60 } }, undefined,
    { timeout: 90000, onprogress });
    const j = r.structuredContent;
    if (j.done) return j;
  }
}

// Every byte under dir, as text, for leak checks.
export function allText(dir) {
  let out = '';
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out += allText(p);
    else if (e.isFile() && statSync(p).size < 64 * 1024 * 1024)
      out += readFileSync(p, 'latin1');
  }
  return out;
}
