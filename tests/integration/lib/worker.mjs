// Shared by the scripts that run skillbox-worker for real: a claude
// template holding tests/fake-claude, fixture repositories, a git daemon
// on loopback, and running the worker standalone (--job FILE), reading
// the JSON lines it prints.

import { spawn, execFileSync } from 'node:child_process';
import {
  chmodSync, copyFileSync, cpSync, mkdirSync, mkdtempSync, rmSync,
  writeFileSync, readFileSync,
} from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

import { builddir, makeTemplate } from './e2b-local.mjs';

export const srcdir = () => process.env.abs_top_srcdir ||
  path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../..');

export const workerPath = () =>
  path.join(builddir(), 'worker', 'skillbox-worker');
export const fakeClaudePath = () =>
  path.join(builddir(), 'tests', 'fake-claude', 'fake-claude');

const scratch = new Set();
process.on('exit', () => {
  for (const d of scratch) rmSync(d, { recursive: true, force: true });
});

// A temporary directory the sandbox user may traverse, gone at exit.
export function tempDir(prefix) {
  const d = mkdtempSync(path.join(os.tmpdir(), prefix));
  chmodSync(d, 0o755);
  scratch.add(d);
  return d;
}

// The claude template: bin/claude is the fake.
export function fakeClaudeTemplate() {
  const dir = makeTemplate({});
  copyFileSync(fakeClaudePath(), path.join(dir, 'bin', 'claude'));
  chmodSync(path.join(dir, 'bin', 'claude'), 0o755);
  return dir;
}

// A fake-claude scenario from tests/fake-claude/scenarios.
export function scenario(name) {
  return JSON.parse(readFileSync(
    path.join(srcdir(), 'tests', 'fake-claude', 'scenarios', `${name}.json`),
    'utf8'));
}

const git = (cwd, ...args) => execFileSync('git', ['-c', 'user.name=t',
  '-c', 'user.email=t@localhost', ...args], { cwd, stdio: 'pipe' });

// A git repository holding fake-claude's fixture (add.sh subtracts).
export function fixtureRepo(parent) {
  const dir = path.join(parent, 'repo');
  cpSync(path.join(srcdir(), 'tests', 'fake-claude', 'fixture-repo'), dir,
    { recursive: true });
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'fixture');
  return dir;
}

// git daemon serving base's repositories on a free loopback port.
export async function gitDaemon(base) {
  const port = await new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
  const child = spawn('git', ['daemon', '--reuseaddr', '--export-all',
    `--base-path=${base}`, '--listen=127.0.0.1', `--port=${port}`, base],
  { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    const up = await new Promise((resolve) => {
      const c = net.connect(port, '127.0.0.1', () => { c.end(); resolve(true); });
      c.on('error', () => resolve(false));
    });
    if (up) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url: (name) => `git://127.0.0.1:${port}/${name}`,
    stop: () => child.kill('SIGTERM') };
}

// Run the worker standalone on spec.  Resolves with its exit code, the
// messages it printed, the result, and its stderr.  onMessage sees each
// message as it comes (to send a signal at the right moment).
export function runWorker(spec, { env = {}, dir, onMessage } = {}) {
  const work = dir || tempDir('skillbox-worker-');
  const jobFile = path.join(work, 'job.json');
  const out = path.join(work, 'out');
  writeFileSync(jobFile, typeof spec === 'string' ? spec : JSON.stringify(spec));
  const child = spawn(workerPath(), ['--job', jobFile, '--out', out], {
    env: { PATH: process.env.PATH, SKILLBOX_ALLOWED_ROOTS: work,
      SKILLBOX_SKILLS_DIR: path.join(srcdir(), 'skills'), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const messages = [];
  let pending = '';
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  child.stdout.on('data', (d) => {
    pending += d;
    let nl;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const m = JSON.parse(pending.slice(0, nl));
      pending = pending.slice(nl + 1);
      messages.push(m);
      if (onMessage) onMessage(m, child);
    }
  });
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      const last = messages.filter((m) => m.type === 'result').pop();
      resolve({ code, signal, messages, result: last && last.result,
        stderr, out, events: messages.filter((m) => m.type === 'event')
          .map((m) => m.event) });
    });
  });
}

export { mkdirSync, writeFileSync };
