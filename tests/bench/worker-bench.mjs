// The worker's costs (issue 3), measured against tests/e2b-local with the
// fake claude: E2B requests per job, the worker's peak RSS while the agent
// streams 100 MB, and the worker's CPU for a job whose agent emits 1 MB of
// events.  Each figure is min / median / max over RUNS runs (default 5),
// measured exactly with bench-rusage (wait4).  Measure a build configured
// without --enable-sanitizers.
//
// usage: node tests/bench/worker-bench.mjs      (from the build directory)

import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { builddir, startE2bLocal } from '../integration/lib/e2b-local.mjs';
import {
  fakeClaudeTemplate, fixtureRepo, scenario, tempDir, workerPath, srcdir,
} from '../integration/lib/worker.mjs';
import { fmt, sanitized as isSanitized, stats } from './bench.mjs';

const RUNS = Number(process.env.RUNS || 5);
const rusage = path.join(builddir(), 'tests', 'bench', 'bench-rusage');

const sanitized = isSanitized(workerPath());
if (sanitized) {
  console.log('warning: this worker is built with sanitizers; ' +
    'the figures mean little (configure without --enable-sanitizers)');
}

const local = await startE2bLocal({ templates: { claude: fakeClaudeTemplate() } });

// One standalone job; returns the worker's rusage and the result.
function runJob(sc) {
  const dir = tempDir('bench-worker-');
  const job = { repo: { path: fixtureRepo(dir) }, job: 'fix-tests',
    env: { FAKE_CLAUDE_SCENARIO: JSON.stringify(sc) } };
  writeFileSync(path.join(dir, 'job.json'), JSON.stringify(job));
  const usage = path.join(dir, 'rusage.json');
  const out = path.join(dir, 'stdout.jsonl');
  execFileSync('sh', ['-c', `exec "$@" > "${out}"`, 'sh', rusage, usage,
    workerPath(), '--job', path.join(dir, 'job.json'), '--out',
    path.join(dir, 'out')], {
    env: { PATH: process.env.PATH, ...local.env(),
      ANTHROPIC_API_KEY: 'sk-ant-bench-0123456789', SKILLBOX_LOG_LEVEL: '0',
      SKILLBOX_ALLOWED_ROOTS: dir,
      SKILLBOX_SKILLS_DIR: path.join(srcdir(), 'skills') },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const lines = readFileSync(out, 'utf8').trimEnd().split('\n');
  const result = JSON.parse(lines[lines.length - 1]).result;
  if (result.status !== 'succeeded') throw new Error(result.reason);
  return { ...JSON.parse(readFileSync(usage, 'utf8')), result,
    bytes: lines.reduce((n, l) => n + l.length + 1, 0) };
}

function measure(name, sc) {
  const runs = [];
  for (let i = 0; i < RUNS; i++) runs.push(runJob(sc));
  return { name, runs };
}

// 1. Requests per job, from e2b-local's own count.
const requests = [];
for (let i = 0; i < RUNS; i++) {
  await local.resetStats();
  runJob(scenario('fix-tests'));
  requests.push((await local.stats()).total);
}

// 2. and 3. The two streaming loads, on top of the fix-tests scenario.
const withOutput = (mb) => {
  const sc = scenario('fix-tests');
  sc.steps.splice(1, 0, { huge_mb: mb });
  return sc;
};
const oneMB = measure('1 MB of agent events', withOutput(1));
const hundredMB = measure('100 MB of agent output', withOutput(100));
const base = measure('the fix-tests job alone', scenario('fix-tests'));
await local.stop();

const cpu = (m) => stats(m.runs.map((r) => Math.round(r.user_ms + r.sys_ms)));
const rss = (m) => stats(m.runs.map((r) => +(r.maxrss_kib / 1024).toFixed(1)));

const report = {
  runs: RUNS, sanitized,
  requests_per_job: stats(requests),
  worker_cpu_ms: { job: cpu(base), events_1mb: cpu(oneMB),
    output_100mb: cpu(hundredMB) },
  worker_peak_rss_mib: { job: rss(base), events_1mb: rss(oneMB),
    output_100mb: rss(hundredMB) },
  targets: { requests_per_job: 8, sdk_pipeline_requests_per_job: 11,
    peak_rss_mib_100mb: 16, cpu_ms_1mb: 50 },
};
console.log(`E2B requests per job:            ${fmt(report.requests_per_job, '')}` +
  ` (target <= 8; an SDK pipeline makes 11)`);
console.log(`worker CPU, fix-tests job:       ${fmt(report.worker_cpu_ms.job, 'ms')}`);
console.log(`worker CPU, 1 MB of events:      ${fmt(report.worker_cpu_ms.events_1mb, 'ms')}` +
  ' (target <= 50 ms)');
console.log(`worker CPU, 100 MB of output:    ${fmt(report.worker_cpu_ms.output_100mb, 'ms')}`);
console.log(`worker peak RSS, fix-tests job:  ${fmt(report.worker_peak_rss_mib.job, 'MiB')}`);
console.log(`worker peak RSS, 100 MB output:  ${fmt(report.worker_peak_rss_mib.output_100mb, 'MiB')}` +
  ' (target <= 16 MiB)');
console.log(JSON.stringify(report));
