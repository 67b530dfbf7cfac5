// skillboxd's performance figures (issue 4), each measured side by side
// in one run with its peer from ../shared/reference/baselines.md, as
// min / median / max over RUNS runs, and printed as a table and one JSON
// line.  It never fails on a number.
//
//   servers   idle RSS, CPU per 1,000 tools/call, cold start: skillboxd
//             (list_jobs) against the official TypeScript SDK server and
//             the machine's floor, with the peers' own drivers
//   held      get_job round trips while HELD jobs run; supervisor RSS with
//             TOTAL in flight; one waiting worker's RSS, PSS and USS
//   pipeline  supervisor + worker CPU per job and total PSS with
//             CONCURRENCY jobs in flight, and E2B requests per job, against
//             the peers' e2b SDK orchestrator on the same e2b-local
//   rate      jobs per second end to end, and where the CPU went
//
// usage: node tests/bench/mcp-bench.mjs      (from the build directory;
//        "make bench" runs it).  Measure a build configured without
//        --enable-sanitizers.
//
// Environment: RUNS (3), PARTS (servers,held,pipeline,rate), CALLS
// (20000 tools/call per run), STARTS (10 cold starts per run), HELD (100),
// TOTAL (200), GET_CALLS (2000), CONCURRENCY (50), BATCHES (4), RATE_JOBS
// (200), RATE_MAX_JOBS (8); SKILLBOX_PEER_BENCH, where the peers' drivers
// are (default: ../shared/bench beside the source tree); SKILLBOX_DEPS,
// the pinned npm packages.  TMPDIR decides the file system of skillboxd's
// state directory; SANDBOX_TMPDIR (default /dev/shm) that of e2b-local's
// sandboxes.

import os from 'node:os';

import { e2bLocalPath } from '../integration/lib/e2b-local.mjs';
import { skillboxdPath } from '../integration/lib/skillboxd.mjs';
import { fakeClaudePath, workerPath } from '../integration/lib/worker.mjs';
import { need, peerDir, sanitized } from './bench.mjs';
import { benchHeld, benchPipeline, benchRate } from './mcp-load.mjs';
import { benchServers } from './mcp-servers.mjs';
import { printReport } from './mcp-report.mjs';
import { sandboxTmpdir } from './stack.mjs';

const num = (name, def) => Number(process.env[name] || def);
const cfg = {
  runs: num('RUNS', 3),
  parts: (process.env.PARTS || 'servers,held,pipeline,rate').split(','),
  calls: num('CALLS', 20000),
  starts: num('STARTS', 10),
  held: num('HELD', 100),
  total: num('TOTAL', 200),
  getCalls: num('GET_CALLS', 2000),
  concurrency: num('CONCURRENCY', 50),
  batches: num('BATCHES', 4),
  rateJobs: num('RATE_JOBS', 200),
  rateMaxJobs: num('RATE_MAX_JOBS', 8),
};

need({
  packages: ['@modelcontextprotocol/sdk/server/mcp.js', 'e2b', 'zod'],
  programs: ['bwrap', 'git'],
  files: [skillboxdPath, workerPath(), e2bLocalPath(), fakeClaudePath()],
});
const peer = peerDir();
if (!peer) {
  console.log('the peers\' drivers are absent (set SKILLBOX_PEER_BENCH to ' +
    'a copy of shared/bench): "servers" and "pipeline" are skipped');
}
const report = { bench: 'mcp', runs: cfg.runs, sanitized:
  sanitized(skillboxdPath) || sanitized(workerPath()), peer_bench: peer,
  dirs: { state: os.tmpdir(), sandboxes: sandboxTmpdir() } };
if (report.sanitized) {
  console.log('warning: skillboxd or the worker is built with sanitizers; ' +
    'the figures mean little (configure without --enable-sanitizers)');
}

const parts = {
  servers: () => benchServers({ peer, runs: cfg.runs, calls: cfg.calls,
    starts: cfg.starts }),
  held: () => benchHeld({ runs: cfg.runs, held: cfg.held, total: cfg.total,
    calls: cfg.getCalls }),
  pipeline: () => benchPipeline({ peer, runs: cfg.runs,
    concurrency: cfg.concurrency, batches: cfg.batches }),
  rate: () => benchRate({ runs: cfg.runs, jobs: cfg.rateJobs,
    maxJobs: cfg.rateMaxJobs }),
};
let failed = 0;
for (const name of cfg.parts) {
  if (!parts[name]) {
    console.log(`unknown part "${name}" (servers, held, pipeline, rate)`);
    continue;
  }
  if (!peer && (name === 'servers' || name === 'pipeline')) continue;
  const t0 = Date.now();
  console.log(`# ${name} ...`);
  try {
    report[name] = await parts[name]();
    console.log(`# ${name}: ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  } catch (e) {
    failed++;
    console.log(`# ${name} failed: ${e.stack || e}`);
  }
}
printReport(report);
process.exitCode = failed ? 1 : 0;
