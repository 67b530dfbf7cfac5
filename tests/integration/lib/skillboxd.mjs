// Start skillboxd over stdio for a test, with its own state directory,
// allowed root, skills directory and the fake worker, and talk to it
// either with the official MCP SDK client or with raw JSON-RPC lines.
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, readdirSync,
  rmSync, existsSync, chmodSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { depsDir, loadPackage, skipUnless } from './deps.mjs';

const builddir = process.env.abs_top_builddir || process.cwd();
export const skillboxdPath = path.join(builddir, 'supervisor', 'skillboxd');
export const fakeWorkerPath = path.join(builddir, 'tests', 'fake-worker',
  'fake-worker');

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The skip option of a test that needs the built programs (and, for
// SDK_SKIP, the MCP SDK): the reason when missing, false otherwise.
export const BUILT_SKIP = skipUnless({ files: [skillboxdPath,
  fakeWorkerPath] });
export const SDK_SKIP = skipUnless({ files: [skillboxdPath, fakeWorkerPath],
  packages: ['@modelcontextprotocol/sdk/client/index.js'] });

// A program installed with the pinned npm packages.
export function depBin(name) {
  return path.join(depsDir(), 'node_modules', '.bin', name);
}

// A scratch directory with state/, repo/ and skills/ (two skills).
export function scratch() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'skillbox-it-'));
  for (const d of ['state', 'repo', 'skills/run-and-fix-tests',
    'skills/report-result'])
    mkdirSync(path.join(dir, d), { recursive: true });
  writeFileSync(path.join(dir, 'skills/run-and-fix-tests/SKILL.md'),
    '---\nname: run-and-fix-tests\ndescription: Run the tests and fix ' +
    'what fails.\n---\n# Run and fix tests\n');
  writeFileSync(path.join(dir, 'skills/report-result/SKILL.md'),
    '---\nname: report-result\ndescription: "Write ~/.skillbox/' +
    'result.json."\n---\n# Report\n');
  return {
    dir,
    state: path.join(dir, 'state'),
    repo: path.join(dir, 'repo'),
    skills: path.join(dir, 'skills'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

// A worker wrapper script (exec, so the pid stays the worker's).
export function wrapper(s, args) {
  const p = path.join(s.dir, 'worker-wrapper.sh');
  writeFileSync(p, `#!/bin/sh\nexec ${fakeWorkerPath} ${args} "$@"\n`);
  chmodSync(p, 0o755);
  return p;
}

// The environment skillboxd runs with in a test.
export function serverEnv(s, extra = {}) {
  const env = { ...process.env };
  for (const k of Object.keys(env))
    if (k.startsWith('SKILLBOX_') && k !== 'SKILLBOX_DEPS') delete env[k];
  return {
    ...env,
    SKILLBOX_STATE_DIR: s.state,
    SKILLBOX_RUNTIME_DIR: s.dir,	// gone with the scratch, even after kill -9
    SKILLBOX_WORKER: fakeWorkerPath,
    SKILLBOX_ALLOWED_ROOTS: s.dir,
    SKILLBOX_SKILLS_DIR: s.skills,
    SKILLBOX_STOP_GRACE_MS: '1000',
    ...extra,
  };
}

// A job spec for the fake worker, with its script in env.
export function spec(s, mode = 'normal', extra = {}) {
  const { env, ...rest } = extra;
  return {
    repo: { path: s.repo },
    job: 'fix-tests',
    env: { FAKE_WORKER_MODE: mode, ...(env || {}) },
    ...rest,
  };
}

// skillboxd with the official SDK client connected over stdio.
export async function sdkServer(s, extra = {}) {
  const { Client } = await loadPackage(
    '@modelcontextprotocol/sdk/client/index.js');
  const { StdioClientTransport } =
    await loadPackage('@modelcontextprotocol/sdk/client/stdio.js');
  const transport = new StdioClientTransport({
    command: skillboxdPath, args: ['--stdio'],
    env: serverEnv(s, extra), stderr: 'pipe', cwd: s.dir,
  });
  const stderr = [];
  transport.stderr?.on('data', (d) => stderr.push(d.toString()));
  const client = new Client({ name: 'skillbox-it', version: '1.0.0' },
    { capabilities: {} });
  await client.connect(transport);
  return {
    client, transport, stderr,
    pid: transport.pid,
    // Call a tool; return its structuredContent (throws on isError).
    async call(name, args, opts) {
      const r = await client.callTool({ name, arguments: args }, undefined,
        { timeout: 120000, ...opts });
      if (r.isError) {
        const e = new Error(r.content?.[0]?.text || 'tool error');
        e.result = r;
        throw e;
      }
      return r.structuredContent;
    },
    // Call a tool expected to fail; return its error text.
    async fail(name, args) {
      const r = await client.callTool({ name, arguments: args });
      if (!r.isError) throw new Error(`${name} did not fail`);
      return r.content[0].text;
    },
    async close() {
      await client.close();
    },
  };
}

// skillboxd driven with raw JSON-RPC lines; every line it writes on
// stdout must be a JSON-RPC message.
export function rawServer(s, extra = {}) {
  const child = spawn(skillboxdPath, ['--stdio'], {
    env: serverEnv(s, extra), cwd: s.dir, stdio: ['pipe', 'pipe', 'pipe'],
  });
  const stderr = [];
  child.stderr.on('data', (d) => stderr.push(d.toString()));
  const waiters = new Map();
  const notes = [];
  const bad = [];
  let buf = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d) => {
    buf += d;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      let m;
      try {
        m = JSON.parse(line);
      } catch {
        bad.push(line);
        continue;
      }
      const msgs = Array.isArray(m) ? m : [m];
      if (msgs.some((x) => x.jsonrpc !== '2.0')) bad.push(line);
      const key = Array.isArray(m) ? 'batch' : JSON.stringify(m.id ?? null);
      if (!Array.isArray(m) && m.method) notes.push(m);
      else if (waiters.has(key)) waiters.get(key).shift()(m);
      else notes.push(m);
    }
  });
  const exited = new Promise((res) => child.on('exit',
    (code, signal) => res({ code, signal })));
  let next = 1;
  const expect = (key) => new Promise((res, rej) => {
    if (!waiters.has(key)) waiters.set(key, []);
    const t = setTimeout(() => rej(new Error(`no reply for ${key}`)), 20000);
    t.unref();
    waiters.get(key).push((m) => { clearTimeout(t); res(m); });
  });
  return {
    child, notes, bad, stderr, exited,
    // Write a raw line (a string, sent as is) and wait for the reply
    // with the given id (JSON-encoded; 'batch' for an array).
    send(line, replyId) {
      const p = replyId === undefined ? null : expect(replyId);
      child.stdin.write(line.endsWith('\n') ? line : line + '\n');
      return p;
    },
    request(method, params, id = next++) {
      const p = expect(JSON.stringify(id));
      child.stdin.write(JSON.stringify({ jsonrpc: '2.0', id, method,
        params }) + '\n');
      return p;
    },
    notify(method, params) {
      child.stdin.write(JSON.stringify({ jsonrpc: '2.0', method,
        params }) + '\n');
    },
    async initialize(version = '2025-11-25') {
      const r = await this.request('initialize', { protocolVersion: version,
        capabilities: {}, clientInfo: { name: 'raw', version: '0' } });
      this.notify('notifications/initialized');
      return r;
    },
    async end() {
      child.stdin.end();
      return exited;
    },
  };
}

// One live process from /proc: its pid, parent pid and argv, or null.
function processInfo(d) {
  try {
    const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z') return null;
    const argv = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
    return { pid: Number(d), ppid: Number(fields[1]), argv };
  } catch {
    return null;	// gone
  }
}

// Every live process.
function* processes() {
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const p = processInfo(d);
    if (p) yield p;
  }
}

// The pids of skillboxd's children (its workers).
export function childPids(ppid) {
  return [...processes()].filter((p) => p.ppid === ppid).map((p) => p.pid);
}

// The pid of the worker running a job (its argv names the job).
export function workerPid(ppid, jobId) {
  const p = [...processes()].find((x) => x.ppid === ppid &&
    x.argv.includes(jobId) && !x.argv.includes('--reap'));
  return p ? p.pid : null;
}

// The workers of these jobs that were alive at one same moment.  A scan
// of /proc takes time: a worker seen early may exit and another start
// before the scan ends.  So each one seen is looked at again once the
// scan is over: those still there were all alive when it ended.
export function jobWorkersAtOnce(ppid, jobIds) {
  const seen = [...processes()].filter((p) => p.ppid === ppid &&
    !p.argv.includes('--reap') && jobIds.some((id) => p.argv.includes(id)));
  return seen.filter((p) => {
    const now = processInfo(p.pid);
    return now && now.argv.join('\0') === p.argv.join('\0');
  }).map((p) => p.pid);
}

// Every fake worker still alive that works for a job of this state.
export function workersAlive(s) {
  const ids = jobIdsIn(s);
  return [...processes()].filter((p) => p.argv[0] === fakeWorkerPath &&
    ids.some((id) => p.argv.includes(id))).map((p) => p.pid);
}

// The job ids in a state directory.
export function jobIdsIn(s) {
  const jobs = path.join(s.state, 'jobs');
  return existsSync(jobs) ? readdirSync(jobs) : [];
}

// Wait until pred() is true (polling), or fail after ms.
export async function until(pred, ms = 20000, what = 'condition') {
  const end = Date.now() + ms;
  for (;;) {
    const v = await pred();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}
