// The benchmarks' stack: tests/e2b-local with the benchmark's claude
// template, and skillboxd with the real skillbox-worker driven by raw
// JSON-RPC lines over stdio (as lean a client as the peers' drivers).

import { accessSync, constants, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { startE2bLocal } from '../integration/lib/e2b-local.mjs';
import { rawServer, scratch } from '../integration/lib/skillboxd.mjs';
import { srcdir, workerPath } from '../integration/lib/worker.mjs';
import { benchTemplate, children, cpu, removeAtExit, sleep } from './bench.mjs';

// What every benchmark job clones: the template's git fakes it.
export const REPO_URL = 'https://git.example.invalid/org/repo.git';

// A fake-claude scenario whose agent waits (until cancelled).
export const SLEEPER = { steps: [{ text: 'waiting' },
  { sleep_ms: 3600000 }] };

let template = null;

// skillboxd's children: its forkserver (null when it has none) and its
// workers.
export function family(pid) {
  const out = { forkserver: null, workers: [] };
  for (const c of children(pid)) {
    let cmd;
    try {
      cmd = readFileSync(`/proc/${c}/cmdline`, 'latin1');
    } catch {
      continue;
    }
    if (cmd.includes('--forkserver')) out.forkserver = c;
    else out.workers.push(c);
  }
  return out;
}

// The CPU (ms) that skillboxd (supervisor), its reaped workers and its
// forkserver with the middle processes it reaped (forkserver) have used.
export function familyCpu(pid) {
  const s = cpu(pid);
  const fs = family(pid).forkserver;
  let f = { self: 0, children: 0 };
  try {
    if (fs) f = cpu(fs);
  } catch {
    // gone
  }
  return { supervisor: s.self, workers: s.children,
    forkserver: f.self + f.children, all: s.self + s.children + f.self +
      f.children };
}

// Where e2b-local's sandboxes live: SANDBOX_TMPDIR, else /dev/shm where
// there is one.  E2B's sandboxes are remote: the files the stand-in's
// sandboxes make and delete for every job (a clone, a bundle, the agent's
// home) must not land on the state directory's file system, where ext4
// without a journal makes every later file creation step over the freed
// inodes and would charge skillboxd for the stand-in's work.
export function sandboxTmpdir() {
  if (process.env.SANDBOX_TMPDIR) return process.env.SANDBOX_TMPDIR;
  try {
    accessSync('/dev/shm', constants.W_OK);
    return '/dev/shm';
  } catch {
    return os.tmpdir();
  }
}

// e2b-local serving the benchmark template as "claude".
export async function startLocal() {
  template = template || benchTemplate();
  return startE2bLocal({ templates: { claude: template },
    tmpdir: sandboxTmpdir() });
}

// A job spec: the fake clone, and the agent's scenario when given.
export function jobSpec(scenario) {
  const spec = { repo: { url: REPO_URL }, job: 'fix-tests' };
  if (scenario)
    spec.env = { FAKE_CLAUDE_SCENARIO: JSON.stringify(scenario) };
  return spec;
}

// skillboxd on local's sandboxes with at most maxJobs workers, initialized.
export async function startSkillbox(local, { maxJobs = 4 } = {}) {
  const s = scratch();
  const srv = rawServer(s, {
    ...local.env(),
    ANTHROPIC_API_KEY: 'sk-ant-bench-0123456789',
    SKILLBOX_WORKER: workerPath(),
    SKILLBOX_SKILLS_DIR: path.join(srcdir(), 'skills'),
    SKILLBOX_MAX_JOBS: String(maxJobs),
    SKILLBOX_QUEUE_MAX: '10000',
  });
  const init = await srv.initialize();
  if (!init.result) throw new Error(`initialize: ${JSON.stringify(init)}`);
  return new Skillbox(srv, s);
}

class Skillbox {
  constructor(srv, s) {
    this.srv = srv;
    this.s = s;
    this.pid = srv.child.pid;
  }

  // Call a tool; its structuredContent, or an Error with its text.
  async call(name, args) {
    const r = await this.srv.request('tools/call', { name,
      arguments: args });
    if (r.error || r.result.isError) {
      throw new Error(`${name}: ${JSON.stringify(r.error ||
        r.result.content)}\n--- skillboxd stderr (end):\n` +
        this.srv.stderr.join('').slice(-4000));
    }
    return r.result.structuredContent;
  }

  // Submit n jobs; their ids.
  async submit(n, scenario) {
    const ids = [];
    for (let i = 0; i < n; i++)
      ids.push((await this.call('submit_job', jobSpec(scenario))).job_id);
    return ids;
  }

  // Wait (bounded waits, again and again) until a job is done.
  async done(id) {
    for (;;) {
      const j = await this.call('wait_job', { job_id: id, timeout_s: 10 });
      if (j.done) return j;
    }
  }

  // How many jobs are in a state (list_jobs, page by page).
  async count(state) {
    let n = 0;
    let cursor;
    do {
      const page = await this.call('list_jobs', { state, limit: 100,
        ...(cursor ? { cursor } : {}) });
      n += page.jobs.length;
      cursor = page.next_cursor;
    } while (cursor);
    return n;
  }

  // Wait until n jobs run their agent; throws when one failed or after ms.
  async running(n, ms = 600000) {
    const end = Date.now() + ms;
    for (;;) {
      const [run, failed] = [await this.count('running'),
        await this.count('failed')];
      if (failed > 0) throw new Error(`${failed} jobs failed`);
      if (run >= n) return;
      if (Date.now() > end)
        throw new Error(`only ${run} of ${n} jobs running`);
      await sleep(250);
    }
  }

  // Wait until every worker has been reaped.
  async reaped(ms = 60000) {
    const end = Date.now() + ms;
    while (family(this.pid).workers.length > 0 && Date.now() < end)
      await sleep(20);
  }

  // Stop (stdin EOF: running jobs are cancelled, their sandboxes killed).
  // The state directory goes when the benchmark ends (removeAtExit).
  async stop() {
    const st = await this.srv.end();
    removeAtExit(this.s.dir);
    return st;
  }
}
