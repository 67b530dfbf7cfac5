// Helpers for tests that drive tests/fake-anthropic, and the real Claude
// Code CLI against it: start the fake on a free loopback port, read its
// request log, build a throwaway HOME and git repo, run the pinned CLI
// headless with the offline environment of reference/claude-code.md.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';

const builddir = process.env.abs_top_builddir ?? process.cwd();

export const FAKE_BIN = path.join(builddir, 'tests/fake-anthropic/fake-anthropic');
export const STRICT = process.env.SKILLBOX_STRICT === '1';
export const CANARY_KEY = 'sk-ant-fake-canary-7Qp2vX9rT4';

// A fresh directory under the system temp dir, removed by cleanup().
export function tempDir(prefix = 'fa-') {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

// Start the fake.  opts: script (array, written to a file), log (default
// on), dump (a dir, default off), args (extra argv).  Resolves once it
// has printed LISTENING <port>.
export async function startFake(dir, opts = {}) {
  const argv = ['--listen', '127.0.0.1:0'];
  const f = { dir, log: path.join(dir, 'requests.jsonl'), stderr: '' };
  if (opts.script !== undefined) {
    f.script = path.join(dir, 'script.json');
    fs.writeFileSync(f.script, typeof opts.script === 'string'
      ? opts.script : JSON.stringify(opts.script));
    argv.push('--script', f.script);
  }
  argv.push('--log', f.log);
  if (opts.dump) argv.push('--dump-dir', opts.dump);
  argv.push(...(opts.args ?? []));
  f.proc = spawn(FAKE_BIN, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  f.proc.stderr.on('data', (d) => { f.stderr += d; });
  f.exited = once(f.proc, 'exit');
  const lines = readline.createInterface({ input: f.proc.stdout });
  f.stdout = [];
  const port = await new Promise((resolve, reject) => {
    lines.on('line', (l) => {
      f.stdout.push(l);
      const m = /^LISTENING (\d+)$/.exec(l);
      if (m) resolve(Number(m[1]));
    });
    f.proc.on('exit', (code) => reject(new Error(
      `fake-anthropic exited ${code} before listening: ${f.stderr}`)));
  });
  f.port = port;
  f.url = `http://127.0.0.1:${port}`;
  return f;
}

// Stop the fake; resolves to its exit code (0 on a clean SIGTERM exit).
export async function stopFake(f) {
  if (f.proc.exitCode === null && f.proc.signalCode === null)
    f.proc.kill('SIGTERM');
  const [code, signal] = await f.exited;
  return signal ?? code;
}

// The request log: one object per request.
export function requests(f) {
  if (!fs.existsSync(f.log)) return [];
  return fs.readFileSync(f.log, 'utf8').split('\n').filter(Boolean)
    .map((l) => JSON.parse(l));
}

// The pinned CLI, or null with the reason it cannot run here.
export function claudeBinary() {
  const deps = process.env.SKILLBOX_DEPS;
  if (!deps) return { bin: null, why: 'SKILLBOX_DEPS is not set' };
  const bin = path.join(deps, 'node_modules/.bin/claude');
  if (!fs.existsSync(bin)) return { bin: null, why: `no ${bin} (run tests/setup)` };
  const v = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 20000 });
  if (v.status !== 0) return { bin: null, why: `${bin} --version failed: ${v.stderr}` };
  return { bin, version: v.stdout.trim() };
}

// A temp HOME, a git repo with one commit as cwd, and a temp TMPDIR.
export function workspace(dir) {
  const w = {
    home: path.join(dir, 'home'), repo: path.join(dir, 'repo'),
    tmp: path.join(dir, 'tmp'),
  };
  for (const d of Object.values(w)) fs.mkdirSync(d, { recursive: true });
  const git = (...a) => {
    const r = spawnSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t',
      ...a], { cwd: w.repo, encoding: 'utf8', env: { PATH: process.env.PATH, HOME: w.home } });
    if (r.status !== 0) throw new Error(`git ${a.join(' ')}: ${r.stderr}`);
  };
  fs.writeFileSync(path.join(w.repo, 'README'), 'test repo\n');
  git('init', '-q');
  git('add', 'README');
  git('commit', '-q', '-m', 'init');
  return w;
}

// Write a skill: <root>/<name>/SKILL.md with front matter and a body.
export function writeSkill(root, name, description, body) {
  const d = path.join(root, name);
  fs.mkdirSync(d, { recursive: true });
  fs.writeFileSync(path.join(d, 'SKILL.md'),
    `---\nname: ${name}\ndescription: ${description}\n---\n${body}\n`);
}

// The environment of reference/claude-code.md section 2: offline, no
// retries, temp dirs, IS_SANDBOX=1 exactly when root.
export function claudeEnv(w, fake) {
  const env = {
    PATH: process.env.PATH,
    HOME: w.home,
    ANTHROPIC_BASE_URL: fake.url,
    ANTHROPIC_API_KEY: CANARY_KEY,
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    DISABLE_TELEMETRY: '1',
    DISABLE_AUTOUPDATER: '1',
    DISABLE_ERROR_REPORTING: '1',
    CLAUDE_CODE_MAX_RETRIES: '0',
    CLAUDE_CODE_TMPDIR: w.tmp,
    TMPDIR: w.tmp,
  };
  if (process.getuid() === 0) env.IS_SANDBOX = '1';
  return env;
}

// Run the CLI headless in w.repo with stdin /dev/null and a hard timeout.
// Resolves to { code, signal, events, result, init, stderr, ms }.
export async function runClaude(bin, w, fake, args, timeoutMs = 60000) {
  const argv = ['-p', 'Do the task.', '--output-format', 'stream-json',
    '--verbose', '--dangerously-skip-permissions', ...args];
  const t0 = Date.now();
  const p = spawn(bin, argv, {
    cwd: w.repo, env: claudeEnv(w, fake), stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '', err = '';
  p.stdout.on('data', (d) => { out += d; });
  p.stderr.on('data', (d) => { err += d; });
  const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
  const [code, signal] = await once(p, 'exit');
  clearTimeout(timer);
  const events = out.split('\n').filter(Boolean).map((l) => JSON.parse(l));
  return {
    code, signal, events, stderr: err, ms: Date.now() - t0,
    init: events.find((e) => e.type === 'system' && e.subtype === 'init'),
    result: events.find((e) => e.type === 'result'),
  };
}
