// The shipped Skills pack in front of the real Claude Code CLI (against
// tests/fake-anthropic) and in front of tests/fake-claude: both must
// offer all five skills from ~/.claude/skills, launch one through the
// Skill tool, and produce stream-json that worker/stream.c (through
// tests/integration/stream-parse) reads the same way: the skills offered,
// the skill used, the result.
//
// The real-CLI half is skipped when the CLI is not installed (tests/setup
// installs it), and fails instead under SKILLBOX_STRICT=1.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import {
  STRICT, claudeBinary, requests, runClaude, startFake, stopFake, tempDir,
  workspace,
} from './lib/fake-anthropic.mjs';

const builddir = process.env.abs_top_builddir ?? process.cwd();
const srcdir = process.env.abs_top_srcdir ?? path.resolve(builddir);
const PARSE = path.join(builddir, 'tests/integration/stream-parse');
const FAKE_CLAUDE = path.join(builddir, 'tests/fake-claude/fake-claude');
const SKILLS = ['bootstrap-repo', 'refactor-and-verify', 'report-result',
  'run-and-fix-tests', 'run-data-experiment'];

const cli = claudeBinary();
const skip = cli.bin === null && !STRICT ? cli.why : false;

// Copy the pack's skill directories into <home>/.claude/skills.
function installPack(home) {
  const dst = path.join(home, '.claude/skills');
  for (const name of SKILLS)
    fs.cpSync(path.join(srcdir, 'skills', name), path.join(dst, name),
      { recursive: true });
}

// Feed stream-json text to stream-parse; returns { events, summary }.
function parse(text) {
  const r = spawnSync(PARSE, [], { input: text, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l));
  return { events: lines.slice(0, -1), summary: lines.at(-1) };
}

// What both CLIs must have produced, as the worker's parser sees it.
function checkParsed(p) {
  for (const name of SKILLS)
    assert.ok(p.summary.offered.includes(name), `${name} not offered`);
  assert.deepEqual(p.summary.agent.skills_used, ['run-and-fix-tests']);
  assert.equal(p.summary.agent.is_error, false);
  assert.equal(p.summary.agent.subtype, 'success');
  assert.equal(p.summary.stats.garbage, 0);
  assert.equal(p.summary.stats.done, true);
  const kinds = p.events.map((e) => e.kind);
  assert.equal(kinds[0], 'init');
  assert.equal(kinds.at(-1), 'result');
  const use = p.events.find((e) => e.kind === 'tool_use');
  assert.equal(use.tool, 'Skill');
  assert.equal(use.skill, 'run-and-fix-tests');
  const res = p.events.find((e) => e.kind === 'tool_result');
  assert.match(res.text, /Launching skill: run-and-fix-tests/);
  assert.equal(res.is_error, false);
}

test('the real CLI offers the pack, launches a skill, and the parser agrees',
  { skip }, async () => {
    assert.ok(cli.bin, cli.why);
    const dir = tempDir('skills-pack-');
    const fake = await startFake(dir, { script: [
      { text: 'Using the skill.', tool_use: { name: 'Skill',
        input: { skill: 'run-and-fix-tests' } } },
      { text: 'Done with the skill.' },
    ] });
    try {
      const w = workspace(dir);
      installPack(w.home);
      const run = await runClaude(cli.bin, w, fake,
        ['--setting-sources', 'user']);
      assert.equal(run.code, 0, run.stderr);
      const reqs = requests(fake).filter((r) => r.method === 'POST');
      const listed = reqs[0].summary.system_messages.join('\n');
      for (const name of SKILLS)
        assert.match(listed, new RegExp(`- ${name}: Use `),
          `${name} missing from the skills the model is told about`);
      const tail = reqs[1].summary.tail.map((t) => t.text ?? '').join('\n');
      assert.match(tail, /# Run and fix tests/);
      const text = run.events.map((e) => JSON.stringify(e)).join('\n') + '\n';
      checkParsed(parse(text));
    } finally {
      assert.equal(await stopFake(fake), 0);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

test('fake-claude offers the pack and the parser reads it the same way',
  () => {
    const dir = tempDir('skills-pack-fc-');
    try {
      const w = workspace(dir);
      installPack(w.home);
      const env = { PATH: process.env.PATH, HOME: w.home, IS_SANDBOX: '1',
        FAKE_CLAUDE_SCENARIO: JSON.stringify({
          steps: [{ text: 'Using the skill.' },
            { skill: 'run-and-fix-tests' }],
          final_text: 'Done with the skill.' }) };
      const r = spawnSync(FAKE_CLAUDE, ['-p', 'Do the task.',
        '--output-format', 'stream-json', '--verbose',
        '--dangerously-skip-permissions', '--setting-sources', 'user'],
      { cwd: w.repo, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      assert.equal(r.status, 0, r.stderr);
      const p = parse(r.stdout);
      checkParsed(p);
      assert.equal(p.summary.agent.num_turns, 2);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
