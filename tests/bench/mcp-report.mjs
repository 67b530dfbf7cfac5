// mcp-bench's output: one table (min / median / max of each figure,
// skillbox beside its peer and the ratio between them, the target and
// whether the median meets it), then the whole report as one JSON line.

import { fmt } from './bench.mjs';

// A target on the median: "<= x" met or missed.
function verdict(st, max, text) {
  if (!st) return text;
  return `${text} ${st.median <= max ? 'met' : 'MISSED'}`;
}

const W = [44, 24, 24, 22];

// One table row; cells are strings.
function row(cells) {
  return cells.map((c, i) => (i < W.length ? String(c).padEnd(W[i]) :
    c)).join(' ').trimEnd();
}

function serverRows(s) {
  const r = s.ratio;
  return [
    ['MCP server (skillboxd: list_jobs)', 'skillboxd', 'SDK server',
      'ratio', 'target'],
    ['idle RSS (MiB)', fmt(s.skillboxd.idle_rss_mib, '', 2),
      fmt(s.sdk.idle_rss_mib, '', 2), fmt(r.idle_rss_mib, '', 3),
      verdict(r.idle_rss_mib, 0.1, '<= 1/10')],
    ['CPU per 1,000 tools/call (ms)', fmt(s.skillboxd.cpu_ms_per_1000),
      fmt(s.sdk.cpu_ms_per_1000), fmt(r.cpu_ms_per_1000, '', 3),
      verdict(r.cpu_ms_per_1000, 0.1, '<= 1/10')],
    ['  the same above the floor (ms)',
      fmt(s.skillboxd.cpu_above_floor_ms_per_1000),
      fmt(s.sdk.cpu_above_floor_ms_per_1000), fmt(r.cpu_above_floor, '', 3),
      ''],
    ['  the same, client and server on one core',
      fmt(s.skillboxd.cpu_one_core_ms_per_1000),
      fmt(s.sdk.cpu_one_core_ms_per_1000),
      fmt(r.cpu_one_core_ms_per_1000, '', 3),
      verdict(r.cpu_one_core_ms_per_1000, 0.1, '<= 1/10')],
    ['  floor: C line echo (ms; its RSS MiB)',
      `${fmt(s.floor.cpu_ms_per_1000)}`, `(${fmt(s.floor.idle_rss_mib,
        '', 2)})`, fmt(r.floor_cpu_to_sdk, '', 3), 'floor / SDK'],
    ['cold start, spawn to initialize (ms)', fmt(s.skillboxd.cold_start_ms),
      fmt(s.sdk.cold_start_ms), fmt(r.cold_start_ms, '', 3),
      verdict(r.cold_start_ms, 0.1, '<= 1/10')],
    ['round trip p50 (ms)', fmt(s.skillboxd.p50_ms, '', 3),
      fmt(s.sdk.p50_ms, '', 3), fmt(r.p50_ms, '', 3), ''],
    ['round trip p99 (ms)', fmt(s.skillboxd.p99_ms, '', 3),
      fmt(s.sdk.p99_ms, '', 3), fmt(r.p99_ms, '', 3), ''],
  ];
}

function heldRows(h) {
  const maps = h.worker_mappings.slice(0, 6).map((m) =>
    `${m.name} ${(m.rss_kib / 1024).toFixed(1)}`).join(', ');
  return [
    [`jobs held in flight (agent waiting)`, 'skillbox', '', '', 'target'],
    [`get_job p50, ${h.held} running (ms)`, fmt(h.get_job_p50_ms, '', 3)],
    [`get_job p99, ${h.held} running (ms)`, fmt(h.get_job_p99_ms, '', 3)],
    [`supervisor RSS, ${h.held} in flight (MiB)`,
      fmt(h.supervisor_rss_mib_held, '', 2)],
    [`supervisor RSS, ${h.total} in flight (MiB)`,
      fmt(h.supervisor_rss_mib, '', 2), '', '',
      verdict(h.supervisor_rss_mib, 32, '<= 32 MiB')],
    ['  its PSS / USS (MiB)', `${fmt(h.supervisor_pss_mib, '', 2)}`,
      `${fmt(h.supervisor_uss_mib, '', 2)}`],
    [`  its CPU while ${h.total} wait (ms/s)`,
      fmt(h.supervisor_idle_cpu_ms_per_s)],
    ['one waiting worker: RSS (MiB)', fmt(h.worker_rss_mib, '', 2), '', '',
      verdict(h.worker_rss_mib, 8, '<= 8 MiB')],
    ['  PSS (MiB)', fmt(h.worker_pss_mib, '', 2), '', '',
      verdict(h.worker_pss_mib, 8, '<= 8 MiB')],
    ['  USS = Private_* (MiB)', fmt(h.worker_uss_mib, '', 2), '', '',
      verdict(h.worker_uss_mib, 8, '<= 8 MiB')],
    [`  RSS of mapped files: ${h.worker_libraries} libraries (MiB)`,
      fmt(h.worker_rss_file_mib, '', 2)],
    ['  anonymous (MiB)', fmt(h.worker_anon_mib, '', 2)],
    ['  USS inside libraries: relocations (MiB)',
      fmt(h.worker_lib_private_mib, '', 2)],
    ['  largest in its RSS (MiB)', maps],
  ];
}

function pipelineRows(p) {
  const sk = p.skillbox;
  const sdk = p.sdk;
  const r = p.ratio;
  return [
    [`jobs, ${p.concurrency} at once`, 'skillbox', 'SDK orchestrator',
      'ratio', 'target'],
    ['CPU per job, warm (ms)', fmt(sk.cpu_ms_per_job), fmt(sdk.cpu_ms_per_job),
      fmt(r.cpu_ms_per_job, '', 3),
      verdict(r.cpu_ms_per_job, 0.2, '<= 1/5 (aim 1/10)')],
    ['  of which the supervisor (ms)', fmt(sk.supervisor_cpu_ms_per_job)],
    ['  of which the forkserver (ms)', fmt(sk.forkserver_cpu_ms_per_job)],
    ['CPU per job, first batch (ms)', fmt(sk.cpu_ms_per_job_first_batch),
      fmt(sdk.cpu_ms_per_job_first_batch)],
    [`total PSS, ${p.concurrency} in flight (MiB)`, fmt(sk.held_pss_mib),
      fmt(sdk.peak_pss_mib), fmt(r.held_pss, '', 3),
      verdict(r.held_pss, 0.5, '<= 1/2')],
    ['  skillbox: jobs held running; SDK: peak', '', '', '', ''],
    ['  processes', fmt(sk.held_processes, '', 0), '1'],
    ['peak total PSS during the batches (MiB)', fmt(sk.peak_pss_mib),
      fmt(sdk.peak_pss_mib), fmt(r.peak_pss, '', 3)],
    ['  processes at the peak', fmt(sk.processes_at_peak, '', 0),
      fmt(sdk.processes_at_peak, '', 0)],
    ['E2B requests per job', fmt(sk.requests_per_job, '', 2),
      fmt(sdk.requests_per_job, '', 2), fmt(r.requests_per_job, '', 3)],
    ['batch wall, warm (ms)', fmt(sk.batch_wall_ms, '', 0),
      fmt(sdk.batch_wall_ms, '', 0)],
  ];
}

function rateRows(t) {
  const c = t.cpu_ms_per_job;
  const rows = [
    [`short jobs end to end (${t.jobs}, ${t.max_jobs} at once)`, 'skillbox'],
    ['jobs per second', fmt(t.jobs_per_s, '', 2)],
    ['CPU per job (ms): skillboxd', fmt(c.skillboxd)],
    ['  workers', fmt(c.workers)],
    ['  e2b-local itself', fmt(c.e2b_local)],
    ['  its sandboxes (bwrap, shells, git...)', fmt(c.sandboxes)],
    ['  the MCP client and this bench (node)', fmt(c.client)],
    ['  all of these', fmt(t.cpu_counted_ms_per_job)],
    ['  what the machine\'s CPUs could give', fmt(
      t.cpu_capacity_ms_per_job)],
  ];
  for (const [k, v] of Object.entries(t.phases_ms))
    rows.push([`phase ${k}, median job (ms)`, fmt(v, '', 0)]);
  return rows;
}

// Print the table (the parts that ran) and the JSON line.
export function printReport(report) {
  const lines = [];
  const sections = [['servers', serverRows], ['held', heldRows],
    ['pipeline', pipelineRows], ['rate', rateRows]];
  for (const [k, f] of sections) {
    if (!report[k]) continue;
    lines.push('');
    for (const cells of f(report[k])) lines.push(row(cells));
  }
  console.log(`\nmin / median / max over ${report.runs} runs; ratios are ` +
    'taken per run (skillbox / peer)');
  console.log(`state directories in ${report.dirs.state}, e2b-local's ` +
    `sandboxes in ${report.dirs.sandboxes}`);
  console.log(lines.join('\n'));
  console.log(JSON.stringify(report));
}
