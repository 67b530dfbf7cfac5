// Start and stop tests/e2b-local for a test script, on a free loopback
// port with its own state directory, and talk to its /_local/ extras.
//
//   const local = await startE2bLocal({ templates: { base: dir } });
//   Object.assign(process.env, local.env());   // for the e2b SDK
//   ...
//   await local.stop();

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const STARTUP_MS = 15000;
const STOP_MS = 15000;

// Where the build put things ($abs_top_builddir under make check).
export function builddir() {
  return process.env.abs_top_builddir || process.cwd();
}

export function e2bLocalPath() {
  return path.join(builddir(), 'tests', 'e2b-local', 'e2b-local');
}

// Template directories made here, removed when the test process exits.
const templates = new Set();
process.on('exit', () => {
  for (const dir of templates) rmSync(dir, { recursive: true, force: true });
});

// A template directory whose bin/ holds the given scripts, in a fresh
// temporary directory that goes away with the test process.
export function makeTemplate(scripts = {}) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'e2bl-tmpl-'));
  templates.add(dir);
  chmodSync(dir, 0o755);
  mkdirSync(path.join(dir, 'bin'), { mode: 0o755 });
  for (const [name, text] of Object.entries(scripts)) {
    const file = path.join(dir, 'bin', name);
    writeFileSync(file, text);
    chmodSync(file, 0o755);
  }
  return dir;
}

export class E2bLocal {
  constructor(child, port, apiKey, dir) {
    this.child = child;
    this.port = port;
    this.apiKey = apiKey;
    this.dir = dir;
    this.url = `http://127.0.0.1:${port}`;
    this.stdout = '';	// anything after "LISTENING <port>": there must be none
    child.stdout.on('data', (d) => { this.stdout += d; });
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => resolve({ code, signal }));
    });
  }

  // The environment that points the e2b SDK here.
  env() {
    return {
      E2B_API_KEY: this.apiKey,
      E2B_API_URL: this.url,
      E2B_SANDBOX_URL: this.url,
    };
  }

  // A raw request; returns the fetch Response.
  async request(method, pathname, { body, headers = {}, apiKey = true } = {}) {
    const h = { ...headers };
    if (apiKey) h['X-API-Key'] = this.apiKey;
    return fetch(this.url + pathname, { method, body, headers: h });
  }

  async localJSON(method, pathname, body) {
    const res = await fetch(this.url + pathname, {
      method,
      body: body === undefined ? undefined : JSON.stringify(body),
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    });
    if (res.status === 204) return null;
    const json = await res.json();
    if (!res.ok) throw new Error(`${method} ${pathname}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  }

  sandboxes() { return this.localJSON('GET', '/_local/sandboxes'); }
  stats() { return this.localJSON('GET', '/_local/stats'); }
  resetStats() { return this.localJSON('DELETE', '/_local/stats'); }
  fault(spec) { return this.localJSON('POST', '/_local/faults', spec); }
  faults() { return this.localJSON('GET', '/_local/faults'); }
  clearFaults() { return this.localJSON('DELETE', '/_local/faults'); }

  // Wait until no sandbox is left (killed ones are reaped quickly); the
  // ones still there after the wait are returned.
  async waitNoSandboxes(ms = 5000) {
    const until = Date.now() + ms;
    let left = await this.sandboxes();
    while (left.length > 0 && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 50));
      left = await this.sandboxes();
    }
    return left;
  }

  // SIGTERM, then wait; e2b-local kills its sandboxes and exits 0.
  async stop() {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
    }
    const timer = setTimeout(() => this.child.kill('SIGKILL'), STOP_MS);
    const status = await this.exited;
    clearTimeout(timer);
    rmSync(this.dir, { recursive: true, force: true });
    return status;
  }
}

// Start e2b-local; resolves once it prints "LISTENING <port>".
// Its sandboxes live under a new directory in tmpdir.
export async function startE2bLocal({ templates = {}, apiKey, verbose = false,
  tmpdir = os.tmpdir() } = {}) {
  const key = apiKey || `e2b_${randomBytes(12).toString('hex')}`;
  const dir = mkdtempSync(path.join(tmpdir, 'e2bl-'));
  chmodSync(dir, 0o711);	// the sandbox user must reach the state below
  const args = ['--listen', '127.0.0.1:0', '--api-key', key,
    '--state', path.join(dir, 'state')];
  for (const [name, tdir] of Object.entries(templates)) {
    args.push('--template', `${name}=${tdir}`);
  }
  if (verbose) args.push('-v');
  const child = spawn(e2bLocalPath(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stderr.on('data', (d) => process.stderr.write(d));
  const port = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('e2b-local did not start')),
      STARTUP_MS);
    const onData = (d) => {
      out += d;
      const m = /^LISTENING (\d+)\n/.exec(out);
      if (m) {
        clearTimeout(timer);
        child.stdout.off('data', onData);
        if (out.length > m[0].length) child.stdout.unshift(out.slice(m[0].length));
        resolve(Number(m[1]));
      }
    };
    child.stdout.on('data', onData);
    child.on('error', (err) => { clearTimeout(timer); reject(err); });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`e2b-local exited (${code ?? signal}) before listening`));
    });
  });
  return new E2bLocal(child, port, key, dir);
}
