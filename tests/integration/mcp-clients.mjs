// Real MCP clients against skillboxd --stdio: the MCP Inspector CLI lists
// the tools, and the real Claude Code CLI (pinned) reports skillbox
// connected in `claude mcp list` (it probes with server/discover first
// and falls back to initialize).
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { scratch, serverEnv, skillboxdPath, depBin } from
  './lib/skillboxd.mjs';
import { skipUnless } from './lib/deps.mjs';

const run = promisify(execFile);
const TOOLS = ['cancel_job', 'get_job', 'get_job_log', 'list_jobs',
  'list_skills', 'submit_job', 'wait_job'];

const inspector = depBin('mcp-inspector');
const claude = depBin('claude');

test('the Inspector CLI lists the tools',
  { skip: skipUnless({ files: [skillboxdPath, inspector] }) }, async () => {
  const s = scratch();
  try {
    const env = serverEnv(s);
    const { stdout } = await run(inspector, ['--cli',
      '-e', `SKILLBOX_STATE_DIR=${env.SKILLBOX_STATE_DIR}`,
      '-e', `SKILLBOX_SKILLS_DIR=${env.SKILLBOX_SKILLS_DIR}`,
      skillboxdPath, '--stdio', '--method', 'tools/list'],
    { env: { ...process.env }, cwd: s.dir, timeout: 60000 });
    const { tools } = JSON.parse(stdout);
    assert.deepEqual(tools.map((x) => x.name).sort(), TOOLS);
    for (const tool of tools) {
      assert.equal(tool.inputSchema.type, 'object');
      assert.equal(tool.outputSchema.type, 'object');
      assert.equal(typeof tool.annotations.readOnlyHint, 'boolean');
    }
    const { stdout: res } = await run(inspector, ['--cli',
      '-e', `SKILLBOX_STATE_DIR=${env.SKILLBOX_STATE_DIR}`,
      '-e', `SKILLBOX_SKILLS_DIR=${env.SKILLBOX_SKILLS_DIR}`,
      skillboxdPath, '--stdio', '--method', 'tools/call', '--tool-name',
      'list_skills'], { cwd: s.dir, timeout: 60000 });
    assert.equal(JSON.parse(res).structuredContent.count, 2);
  } finally {
    s.cleanup();
  }
});

test('claude mcp list reports skillbox connected',
  { skip: skipUnless({ files: [skillboxdPath, claude] }) }, async () => {
  const s = scratch();
  try {
    const home = path.join(s.dir, 'home');
    mkdirSync(home);
    const env = { PATH: process.env.PATH, HOME: home,
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1', DISABLE_TELEMETRY: '1',
      DISABLE_AUTOUPDATER: '1', DISABLE_ERROR_REPORTING: '1' };
    await run(claude, ['mcp', 'add', 'skillbox',
      '-e', `SKILLBOX_STATE_DIR=${s.state}`, '--', skillboxdPath,
      '--stdio'], { env, cwd: s.dir, timeout: 60000 });
    const { stdout } = await run(claude, ['mcp', 'list'],
      { env, cwd: s.dir, timeout: 60000 });
    const line = stdout.split('\n').find((l) => l.startsWith('skillbox:'));
    assert.ok(line, stdout);
    assert.match(line, /Connected/);
    assert.doesNotMatch(line, /Failed/);
  } finally {
    s.cleanup();
  }
});
