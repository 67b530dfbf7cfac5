// Parts 2 to 5 of mcp-bench: skillboxd with real workers and e2b-local
// sandboxes under load.
//   held      100, then 200 jobs whose agent waits: get_job round trips
//             while 100 run, the supervisor's RSS with 200 in flight, and
//             what one waiting worker's memory is made of
//   pipeline  batches of C jobs at once against the peers' SDK
//             orchestrator (e2b-pipeline/jobs.mjs) on the same e2b-local
//             and template: CPU per job, total PSS, E2B requests per job
//   rate      many short jobs end to end: jobs per second, and where the
//             machine's CPU went

import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

import {
  children, cpu, mappings, memory, pct, ratios, round, sleep, stageDrivers,
  stats, status,
} from './bench.mjs';
import {
  family, familyCpu, startLocal, startSkillbox, SLEEPER,
} from './stack.mjs';

const mib = (kib) => round(kib / 1024, 2);

// Sequential get_job round trips over the ids, in ms: p50 and p99.
async function getJobLatency(sb, ids, calls) {
  const lat = new Float64Array(calls);
  for (let i = 0; i < calls; i++) {
    const t = performance.now();
    await sb.call('get_job', { job_id: ids[i % ids.length] });
    lat[i] = performance.now() - t;
  }
  const s = Array.from(lat).sort((a, b) => a - b);
  return { p50_ms: round(pct(s, 50), 3), p99_ms: round(pct(s, 99), 3),
    max_ms: round(s[s.length - 1], 3) };
}

// The memory of skillboxd's workers: each one's Rss, Pss, USS (KiB); for
// the one with the median PSS, how much of its RSS is mapped files
// (shared libraries) and of its USS private pages inside libraries
// (relocated data), and its largest mappings.
function workerMemory(pid) {
  const ws = family(pid).workers.map((w) => ({ pid: w, m: memory(w) }))
    .filter((w) => w.m).sort((a, b) => a.m.pss - b.m.pss);
  const mid = ws[Math.floor((ws.length - 1) / 2)];
  const all = mid ? mappings(mid.pid) : [];
  const libs = all.filter((m) => /\.so[.\d]*$/.test(m.name));
  return { count: ws.length, rss: stats(ws.map((w) => w.m.rss)),
    pss: stats(ws.map((w) => w.m.pss)), uss: stats(ws.map((w) => w.m.uss)),
    anon: stats(ws.map((w) => w.m.anon)),
    rss_file_kib: mid ? status(mid.pid).RssFile : null, libraries: libs.length,
    lib_private_kib: libs.reduce((n, m) => n + m.priv, 0),
    maps: all.slice(0, 8).map((m) => ({ name: m.name, rss_kib: m.rss,
      pss_kib: m.pss, private_kib: m.priv })) };
}

// One run of the held-jobs part.
async function heldRun({ held, total, calls }) {
  const local = await startLocal();
  const sb = await startSkillbox(local, { maxJobs: total });
  try {
    const ids = await sb.submit(held, SLEEPER);
    await sb.running(held);
    const latency = await getJobLatency(sb, ids, calls);
    const rssHeld = status(sb.pid).VmRSS;
    await sb.submit(total - held, SLEEPER);
    await sb.running(total);
    const c0 = cpu(sb.pid).self;
    await sleep(5000);
    const idleCpu = (cpu(sb.pid).self - c0) / 5;
    const st = status(sb.pid);
    return { ...latency, supervisor_rss_kib_held: rssHeld,
      supervisor_rss_kib: st.VmRSS, supervisor_hwm_kib: st.VmHWM,
      supervisor: memory(sb.pid), supervisor_idle_cpu_ms_per_s: idleCpu,
      workers: workerMemory(sb.pid) };
  } finally {
    await sb.stop();
    await local.waitNoSandboxes(60000);
    await local.stop();
  }
}

// get_job latency with `held` jobs running; memory with `total` in flight.
export async function benchHeld({ runs, held, total, calls }) {
  const per = [];
  for (let r = 0; r < runs; r++) per.push(await heldRun({ held, total,
    calls }));
  const w = per[per.length - 1].workers;
  return {
    held, total, calls,
    get_job_p50_ms: stats(per.map((x) => x.p50_ms)),
    get_job_p99_ms: stats(per.map((x) => x.p99_ms)),
    get_job_max_ms: stats(per.map((x) => x.max_ms)),
    supervisor_rss_mib_held: stats(per.map((x) =>
      mib(x.supervisor_rss_kib_held))),
    supervisor_rss_mib: stats(per.map((x) => mib(x.supervisor_rss_kib))),
    supervisor_hwm_mib: stats(per.map((x) => mib(x.supervisor_hwm_kib))),
    supervisor_pss_mib: stats(per.map((x) => mib(x.supervisor.pss))),
    supervisor_uss_mib: stats(per.map((x) => mib(x.supervisor.uss))),
    supervisor_idle_cpu_ms_per_s: stats(per.map((x) =>
      x.supervisor_idle_cpu_ms_per_s)),
    workers: per.map((x) => x.workers.count),
    worker_rss_mib: stats(per.map((x) => mib(x.workers.rss.median))),
    worker_pss_mib: stats(per.map((x) => mib(x.workers.pss.median))),
    worker_uss_mib: stats(per.map((x) => mib(x.workers.uss.median))),
    worker_anon_mib: stats(per.map((x) => mib(x.workers.anon.median))),
    worker_rss_file_mib: stats(per.map((x) => mib(x.workers.rss_file_kib))),
    worker_lib_private_mib: stats(per.map((x) =>
      mib(x.workers.lib_private_kib))),
    worker_libraries: w.libraries,
    worker_mappings: w.maps,
  };
}

// The total PSS (KiB) of pid and its children, and how many they are.
function totalPss(pid) {
  let kids = [];
  try {
    kids = children(pid);
  } catch {
    // gone
  }
  const ms = [pid, ...kids].map(memory).filter(Boolean);
  return { pss_kib: ms.reduce((n, m) => n + m.pss, 0),
    processes: ms.length };
}

// The largest totalPss(pid) seen while the promise runs, sampled every
// `every` ms; resolves with { value, peak }.
async function peakPss(pid, promise, every = 100) {
  let peak = { pss_kib: 0, processes: 0 };
  let done = false;
  const sampler = (async () => {
    while (!done) {
      const t = totalPss(pid);
      if (t.pss_kib > peak.pss_kib) peak = t;
      await sleep(every);
    }
  })();
  try {
    return { value: await promise, peak };
  } finally {
    done = true;
    await sampler;
  }
}

// Batches of c jobs at once, one after the other; per batch, the CPU of
// skillboxd, its reaped workers and its forkserver per job.
async function runBatches(sb, c, batches) {
  const per = [];
  for (let b = 0; b < batches; b++) {
    const c0 = familyCpu(sb.pid);
    const t0 = performance.now();
    const ids = await sb.submit(c);
    const views = await Promise.all(ids.map((id) => sb.done(id)));
    const wall = performance.now() - t0;
    await sb.reaped();
    const c1 = familyCpu(sb.pid);
    const bad = views.filter((v) => v.state !== 'succeeded');
    if (bad.length > 0)
      throw new Error(`${bad.length} jobs ${bad[0].state}: ${bad[0].reason}`);
    const each = (k) => round((c1[k] - c0[k]) / c, 2);
    per.push({ batch_wall_ms: round(wall), cpu_ms_per_job: each('all'),
      supervisor_cpu_ms_per_job: each('supervisor'),
      forkserver_cpu_ms_per_job: each('forkserver') });
  }
  return per;
}

// skillboxd with at most c workers: the batches (their CPU, peak PSS and
// E2B requests), then c jobs held in flight, their agents waiting, for
// the total PSS of skillboxd and its c workers.
async function skillboxBatches(local, { concurrency: c, batches }) {
  const sb = await startSkillbox(local, { maxJobs: c });
  try {
    const r = await countRequests(local, c * batches, () =>
      peakPss(sb.pid, runBatches(sb, c, batches)));
    await sb.submit(c, SLEEPER);
    await sb.running(c);
    let held = { pss_kib: 0 };
    for (let i = 0; i < 5; i++, await sleep(200)) {
      const t = totalPss(sb.pid);
      if (t.pss_kib > held.pss_kib) held = t;
    }
    return { per_batch: r.value, peak: r.peak, held,
      requests_per_job: r.requests_per_job, routes: r.routes };
  } finally {
    await sb.stop();
  }
}

// The peers' orchestrator: `node jobs.mjs c batches` on local, its PSS
// sampled from outside.  Its own JSON line, with the peak PSS.
async function peerBatches(dir, local, { concurrency: c, batches }) {
  const child = spawn(process.execPath, [path.join(dir, 'jobs.mjs'),
    String(c), String(batches)], { cwd: dir, env: { ...process.env,
    ...local.env() }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { err += d; });
  const exited = new Promise((res) => child.on('close', res));
  const { value: code, peak } = await peakPss(child.pid, exited);
  if (code !== 0) throw new Error(`jobs.mjs exited ${code}: ${err}`);
  return { ...JSON.parse(out.trim().split('\n').pop()), peak };
}

// Count the E2B requests fn makes per job, from e2b-local's stats.
async function countRequests(local, jobs, fn) {
  await local.resetStats();
  const r = await fn();
  const st = await local.stats();
  return { ...r, requests_per_job: round(st.total / jobs, 2),
    routes: st.routes };
}

// The warm batches: the second half, as the peers' figures are taken.
const warm = (perBatch, key) => stats(perBatch.slice(Math.floor(
  perBatch.length / 2)).map((b) => b[key])).median;

// skillbox and the peer orchestrator side by side on one e2b-local.
export async function benchPipeline({ peer, runs, concurrency, batches }) {
  const dir = stageDrivers([path.join(peer, 'e2b-pipeline', 'jobs.mjs')]);
  const jobs = concurrency * batches;
  const opt = { concurrency, batches };
  const per = { skillbox: [], sdk: [] };
  for (let r = 0; r < runs; r++) {
    const local = await startLocal();
    try {
      const sides = [
        ['sdk', () => countRequests(local, jobs, () =>
          peerBatches(dir, local, opt))],
        ['skillbox', () => skillboxBatches(local, opt)],
      ];
      if (r % 2) sides.reverse();
      for (const [name, fn] of sides) per[name].push(await fn());
    } finally {
      await local.waitNoSandboxes(60000);
      await local.stop();
    }
  }
  return summarizePipeline(per, opt);
}

// Per side: warm CPU per job, first batch CPU, peak PSS, requests; ratios.
function summarizePipeline(per, opt) {
  const side = (xs) => ({
    cpu_ms_per_job: stats(xs.map((x) => warm(x.per_batch,
      'cpu_ms_per_job'))),
    cpu_ms_per_job_first_batch: stats(xs.map((x) =>
      x.per_batch[0].cpu_ms_per_job)),
    batch_wall_ms: stats(xs.map((x) => warm(x.per_batch, 'batch_wall_ms'))),
    peak_pss_mib: stats(xs.map((x) => mib(x.peak.pss_kib))),
    processes_at_peak: stats(xs.map((x) => x.peak.processes)),
    requests_per_job: stats(xs.map((x) => x.requests_per_job)),
    routes: xs[xs.length - 1].routes,
  });
  const out = { ...opt, skillbox: side(per.skillbox), sdk: side(per.sdk) };
  for (const k of ['supervisor', 'forkserver']) {
    out.skillbox[`${k}_cpu_ms_per_job`] = stats(per.skillbox.map((x) =>
      warm(x.per_batch, `${k}_cpu_ms_per_job`)));
  }
  out.skillbox.held_pss_mib = stats(per.skillbox.map((x) =>
    mib(x.held.pss_kib)));
  out.skillbox.held_processes = stats(per.skillbox.map((x) =>
    x.held.processes));
  out.sdk.vmhwm_mib = stats(per.sdk.map((x) => mib(x.vmhwm_kib)));
  const f = (name, key) => per[name].map((x) => warm(x.per_batch, key));
  out.ratio = {
    cpu_ms_per_job: ratios(f('skillbox', 'cpu_ms_per_job'),
      f('sdk', 'cpu_ms_per_job')),
    held_pss: ratios(per.skillbox.map((x) => x.held.pss_kib),
      per.sdk.map((x) => x.peak.pss_kib)),
    peak_pss: ratios(per.skillbox.map((x) => x.peak.pss_kib),
      per.sdk.map((x) => x.peak.pss_kib)),
    requests_per_job: ratios(per.skillbox.map((x) => x.requests_per_job),
      per.sdk.map((x) => x.requests_per_job)),
  };
  return out;
}

// The CPU of e2b-local's sandboxes, in ms.  A killed sandbox's PID
// namespace is torn down without its processes' times reaching any
// parent, so each sandbox's agent (which reaps every command it runs) is
// read every `every` ms and its last value kept; the outer bwrap
// processes are reaped by e2b-local and counted there.
class SandboxMeter {
  constructor(pid, every = 50) {
    this.pid = pid;
    this.seen = new Map();
    this.done = false;
    this.loop = (async () => {
      while (!this.done) {
        this.sample();
        await sleep(every);
      }
    })();
  }

  // Read every agent below e2b-local (e2b-local, bwrap, bwrap, agent).
  sample() {
    const below = (pids) => pids.flatMap((p) => {
      try {
        return children(p);
      } catch {
        return [];
      }
    });
    for (const p of below(below(below([this.pid])))) {
      try {
        const c = cpu(p);
        this.seen.set(p, c.self + c.children);
      } catch {
        // gone since
      }
    }
  }

  async stop() {
    this.done = true;
    await this.loop;
    let n = 0;
    for (const v of this.seen.values()) n += v;
    return n;
  }
}

// One run of many short jobs, at most maxJobs at once.
async function rateRun({ jobs, maxJobs }) {
  const local = await startLocal();
  const sb = await startSkillbox(local, { maxJobs });
  try {
    const snap = () => ({ e2bl: cpu(local.child.pid),
      sbx: familyCpu(sb.pid), client: process.cpuUsage() });
    const a = snap();
    const meter = new SandboxMeter(local.child.pid);
    const t0 = performance.now();
    const ids = await sb.submit(jobs);
    const views = await Promise.all(ids.map((id) => sb.done(id)));
    const wall = performance.now() - t0;
    await sb.reaped();
    await local.waitNoSandboxes(60000);
    const agents = await meter.stop();
    const b = snap();
    const each = (ms) => round(ms / jobs, 2);
    const phases = {};
    for (const k of Object.keys(views[0].timings_ms || {}))
      phases[k] = stats(views.map((v) => v.timings_ms[k])).median;
    return {
      jobs_per_s: round(jobs / wall * 1000, 2),
      succeeded: views.filter((v) => v.state === 'succeeded').length,
      cpu_ms_per_job: {
        skillboxd: each(b.sbx.supervisor - a.sbx.supervisor),
        workers: each(b.sbx.workers - a.sbx.workers),
        forkserver: each(b.sbx.forkserver - a.sbx.forkserver),
        e2b_local: each(b.e2bl.self - a.e2bl.self),
        sandboxes: each(agents + b.e2bl.children - a.e2bl.children),
        client: each((b.client.user + b.client.system - a.client.user -
          a.client.system) / 1000),
      },
      cpu_capacity_ms_per_job: each(wall * os.cpus().length),
      phases_ms: phases,
    };
  } finally {
    await sb.stop();
    await local.waitNoSandboxes(60000);
    await local.stop();
  }
}

// Jobs per second end to end, and where the CPU went.
export async function benchRate({ runs, jobs, maxJobs }) {
  const per = [];
  for (let r = 0; r < runs; r++) per.push(await rateRun({ jobs, maxJobs }));
  const out = { jobs, max_jobs: maxJobs,
    jobs_per_s: stats(per.map((x) => x.jobs_per_s)),
    succeeded: per.map((x) => x.succeeded), cpu_ms_per_job: {},
    phases_ms: {} };
  for (const k of Object.keys(per[0].cpu_ms_per_job))
    out.cpu_ms_per_job[k] = stats(per.map((x) => x.cpu_ms_per_job[k]));
  out.cpu_capacity_ms_per_job = stats(per.map((x) =>
    x.cpu_capacity_ms_per_job));
  out.cpu_counted_ms_per_job = stats(per.map((x) => round(Object.values(
    x.cpu_ms_per_job).reduce((n, v) => n + v, 0))));
  for (const k of Object.keys(per[0].phases_ms))
    out.phases_ms[k] = stats(per.map((x) => x.phases_ms[k]));
  return out;
}
