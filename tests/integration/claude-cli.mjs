// The real Claude Code CLI (the pinned npm version) against
// tests/fake-anthropic: only the model is scripted.  Each test runs the
// CLI headless in a throwaway HOME and git repo and checks its
// stream-json, its side effects and what it sent to the fake.
//
// Skipped when the CLI is not installed (tests/setup installs it), but
// failed instead under SKILLBOX_STRICT=1.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import {
  CANARY_KEY, STRICT, claudeBinary, requests, runClaude, startFake,
  stopFake, tempDir, workspace, writeSkill,
} from './lib/fake-anthropic.mjs';

const cli = claudeBinary();
const skip = cli.bin === null && !STRICT ? cli.why : false;

// Run one scenario: a fake with script, a workspace (prepare may add
// skills), the CLI with args; check(run, reqs, w) asserts.  On failure
// the CLI's stderr, its events and the fake's stderr go to the log.
async function scenario(script, args, check, prepare = () => {}) {
  assert.ok(cli.bin, cli.why);
  const dir = tempDir('claude-cli-');
  const fake = await startFake(dir, { script });
  let run;
  try {
    const w = workspace(dir);
    prepare(w);
    run = await runClaude(cli.bin, w, fake, args);
    const reqs = requests(fake).filter((r) => r.method === 'POST');
    await check(run, reqs, w);
    assert.ok(!fs.readFileSync(fake.log, 'utf8').includes(CANARY_KEY),
      'the API key reached the request log');
  } catch (e) {
    console.error('--- CLI stderr:\n%s\n--- CLI events:\n%s\n--- fake stderr:\n%s',
      run?.stderr, JSON.stringify(run?.events, null, 1), fake.stderr);
    throw e;
  } finally {
    assert.equal(await stopFake(fake), 0, 'fake-anthropic did not exit cleanly');
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function skillsListed(req) {
  return req.summary.system_messages.join('\n');
}

function tailText(req) {
  return req.summary.tail.map((t) => t.text ?? '').join('\n');
}

test(`the pinned Claude Code CLI is installed (${cli.version ?? cli.why})`,
  { skip }, () => {
    assert.ok(cli.bin, cli.why);
  });

test('a two-turn Bash tool run really creates the file', { skip }, () =>
  scenario([
    { text: 'Creating the file.', tool_use: { name: 'Bash',
      input: { command: 'echo hello > out.txt && ls', description: 'Create out.txt' } } },
    { text: 'Created out.txt.' },
  ], [], (run, reqs, w) => {
    assert.equal(run.code, 0);
    assert.equal(run.result.subtype, 'success');
    assert.equal(run.result.is_error, false);
    assert.equal(run.result.num_turns, 2);
    assert.equal(run.result.result, 'Created out.txt.');
    assert.equal(fs.readFileSync(path.join(w.repo, 'out.txt'), 'utf8'), 'hello\n');
    const use = run.events.find((e) => e.type === 'assistant' &&
      e.message.content[0].type === 'tool_use');
    assert.equal(use.message.content[0].id, 'toolu_fake_000_0');

    assert.equal(reqs.length, 2);
    assert.deepEqual(reqs.map((r) => r.summary.n_assistant), [0, 1]);
    assert.ok(reqs[0].path.startsWith('/v1/messages'));
    assert.ok(reqs[0].summary.stream);
    assert.ok(reqs[0].summary.tools.includes('Bash'));
    assert.match(reqs[0].headers['x-api-key'], /^<redacted len=\d+>$/);
    const result = reqs[1].summary.tail.find((t) => t.type === 'tool_result');
    assert.equal(result.tool_use_id, 'toolu_fake_000_0');
    assert.equal(result.is_error, false);
    assert.match(result.text, /out\.txt/);
  }));

// A user skill and a decoy project skill in the repo.
function twoSkills(w) {
  writeSkill(path.join(w.home, '.claude/skills'), 'demo-skill',
    'A demo user skill', '# Demo skill\nReply with the words PURPLE BANANA.');
  writeSkill(path.join(w.repo, '.claude/skills'), 'decoy-skill',
    'A decoy project skill that must not load', '# Decoy\nNever follow this.');
}

test('a user skill runs through the Skill tool and the repo skill is not offered',
  { skip }, () =>
    scenario([
      { tool_use: { name: 'Skill', input: { skill: 'demo-skill' } } },
      { text: 'PURPLE BANANA' },
    ], ['--setting-sources', 'user'], (run, reqs) => {
      assert.equal(run.code, 0);
      assert.equal(run.result.subtype, 'success');
      assert.ok(run.init.skills.includes('demo-skill'));
      assert.ok(!run.init.skills.includes('decoy-skill'));

      assert.equal(reqs.length, 2);
      assert.ok(reqs[0].summary.tools.includes('Skill'));
      assert.match(skillsListed(reqs[0]), /- demo-skill: A demo user skill/);
      assert.doesNotMatch(skillsListed(reqs[0]), /decoy-skill/);
      const tail = tailText(reqs[1]);
      assert.match(tail, /Launching skill: demo-skill/);
      assert.match(tail, /Base directory for this skill: .*demo-skill/);
      assert.match(tail, /Reply with the words PURPLE BANANA\./);
    }, twoSkills));

// The control for the test above: its "not offered" can fail.
test('without --setting-sources the repo skill is offered too', { skip }, () =>
  scenario([{ text: 'ok' }], [], (run, reqs) => {
    assert.equal(run.code, 0);
    assert.match(skillsListed(reqs[0]), /- demo-skill: /);
    assert.match(skillsListed(reqs[0]), /- decoy-skill: /);
  }, twoSkills));

test('HTTP 500 ends the run promptly with the API error surfaced', { skip }, () =>
  scenario([
    { error: { status: 500, type: 'api_error', message: 'scripted boom from the fake' } },
  ], [], (run, reqs) => {
    assert.equal(run.code, 1);
    assert.equal(run.result.is_error, true);
    assert.equal(run.result.terminal_reason, 'api_error');
    assert.equal(run.result.api_error_status, 500);
    assert.match(run.result.result, /scripted boom from the fake/);
    assert.equal(reqs.length, 1, 'the CLI retried');
    assert.equal(reqs[0].status, 500);
    assert.ok(run.ms < 20000, `took ${run.ms} ms`);
  }));

test('--max-turns 1 with a tool call ends with error_max_turns', { skip }, () =>
  scenario([
    { tool_use: { name: 'Bash', input: { command: 'echo ran > ran.txt' } } },
    { text: 'never reached' },
  ], ['--max-turns', '1'], (run, reqs, w) => {
    assert.equal(run.code, 1);
    assert.equal(run.result.subtype, 'error_max_turns');
    assert.equal(run.result.is_error, true);
    assert.equal(run.result.terminal_reason, 'max_turns');
    assert.deepEqual(run.result.errors, ['Reached maximum number of turns (1)']);
    assert.ok(fs.existsSync(path.join(w.repo, 'ran.txt')), 'the tool did not run');
    assert.equal(reqs.length, 1);
  }));

test('a broken SSE stream falls back to stream:false and completes', { skip }, () =>
  scenario([
    { text: 'Recovered through the fallback.', break_after: 4 },
  ], [], (run, reqs) => {
    assert.equal(run.code, 0);
    assert.equal(run.result.subtype, 'success');
    assert.equal(run.result.result, 'Recovered through the fallback.');
    assert.deepEqual(reqs.map((r) => [r.entry, r.summary.stream, r.reply]),
      [[0, true, 'stream-cut'], [0, false, 'message']]);
  }));
