// Part 1 of mcp-bench: skillboxd against the official TypeScript SDK
// server (the peers' echo-server.mjs), both driven by the peers' own
// drivers (raw-client-bench.mjs, cold-start.mjs) in the same run, plus the
// floor of this machine: a trivial C program that reads a line and writes
// a reply, built here, so that what is left of skillboxd's CPU above it is
// its own.

import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';

import { scratch, serverEnv, skillboxdPath } from
  '../integration/lib/skillboxd.mjs';
import { srcdir, workerPath } from '../integration/lib/worker.mjs';
import { ratios, round, stageDrivers, stats } from './bench.mjs';

// The floor: one read and one write per request, the id echoed back.
const FLOOR_C = `#include <stdio.h>
#include <string.h>

int
main(void)
{
	static char	line[1 << 20];
	char		id[64];
	size_t		n;
	char		*p;

	while (fgets(line, sizeof(line), stdin) != NULL) {
		if ((p = strstr(line, "\\"id\\":")) == NULL)
			continue;
		p += 5;
		n = strcspn(p, ",}");
		if (n >= sizeof(id))
			n = sizeof(id) - 1;
		memcpy(id, p, n);
		id[n] = '\\0';
		printf("{\\"jsonrpc\\":\\"2.0\\",\\"id\\":%s,\\"result\\":"
		    "{\\"content\\":[{\\"type\\":\\"text\\",\\"text\\":"
		    "\\"ok\\"}]}}\\n", id);
		fflush(stdout);
	}
	return (0);
}
`;

// Run one of the peers' drivers; its last stdout line is JSON.  Pinned,
// the driver and the server it starts share CPU 0 (taskset).
function drive(dir, script, args, env, pinned = false) {
  const argv = [process.execPath, path.join(dir, script), ...args];
  const out = execFileSync(pinned ? 'taskset' : argv[0], pinned ?
    ['-c', '0', ...argv] : argv.slice(1), { cwd: dir, env,
    stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 24 }).toString()
    .trim().split('\n');
  return JSON.parse(out[out.length - 1]);
}

// The three servers: how to start each, and the tool the driver calls.
function servers(dir) {
  const floor = path.join(dir, 'floor');
  writeFileSync(`${floor}.c`, FLOOR_C);
  execFileSync(process.env.CC || 'cc', ['-O2', '-o', floor, `${floor}.c`]);
  const s = scratch();
  const env = serverEnv(s, { SKILLBOX_WORKER: workerPath(),
    SKILLBOX_SKILLS_DIR: path.join(srcdir(), 'skills') });
  return {
    cleanup: s.cleanup,
    list: [
      { name: 'sdk', cmd: [], env: process.env },
      { name: 'skillboxd', cmd: [skillboxdPath, '--stdio'],
        env: { ...env, TOOL: 'list_jobs', TOOL_ARGS: '{}' } },
      { name: 'floor', cmd: [floor],
        env: { ...process.env, TOOL: 'list_jobs', TOOL_ARGS: '{}' } },
    ],
  };
}

// RUNS rounds; in each, every server is measured once with the call loop,
// once with cold-start (its median start is that run's figure) and once
// more with the call loop on one core: on this machine a wake-up across
// cores costs each side ~20 us of CPU, one on the same core ~3 us, which
// is most of a small server's cost per call.
export async function benchServers({ peer, runs, calls, starts }) {
  const dir = stageDrivers(['raw-client-bench.mjs', 'cold-start.mjs',
    'proc.mjs', 'echo-server.mjs'].map((f) => path.join(peer, 'mcp-sdk', f)));
  const sv = servers(dir);
  const per = Object.fromEntries(sv.list.map((x) => [x.name, []]));
  try {
    for (const x of sv.list)	// warm the page cache
      drive(dir, 'cold-start.mjs', ['3', ...(x.cmd.length ? ['--', ...x.cmd]
        : [])], x.env);
    for (let r = 0; r < runs; r++) {
      for (const x of r % 2 ? [...sv.list].reverse() : sv.list) {
        const tail = x.cmd.length ? ['--', ...x.cmd] : [];
        const loop = drive(dir, 'raw-client-bench.mjs', [String(calls),
          ...tail], x.env);
        const cold = drive(dir, 'cold-start.mjs', [String(starts), ...tail],
          x.env);
        const one = drive(dir, 'raw-client-bench.mjs', [String(calls),
          ...tail], x.env, true);
        per[x.name].push({ ...loop, cold_p50_ms: cold.p50_ms,
          cpu_one_core: one.server_cpu_ms_per_1000 });
      }
    }
  } finally {
    sv.cleanup();
  }
  return summarize(per);
}

// Per server figures, and skillboxd's ratios to the SDK server per run.
function summarize(per) {
  const pick = (name, f) => per[name].map(f);
  const fig = {
    idle_rss_mib: (x) => round(x.rss_idle_kib / 1024, 2),
    cpu_ms_per_1000: (x) => x.server_cpu_ms_per_1000,
    cpu_one_core_ms_per_1000: (x) => x.cpu_one_core,
    cold_start_ms: (x) => x.cold_p50_ms,
    p50_ms: (x) => x.p50_ms,
    p99_ms: (x) => x.p99_ms,
  };
  const out = {};
  for (const name of Object.keys(per)) {
    out[name] = {};
    for (const [k, f] of Object.entries(fig)) out[name][k] = stats(
      pick(name, f));
  }
  const own = (name) => per[name].map((x, i) => round(
    x.server_cpu_ms_per_1000 - per.floor[i].server_cpu_ms_per_1000));
  out.ratio = {};
  for (const [k, f] of Object.entries(fig))
    out.ratio[k] = ratios(pick('skillboxd', f), pick('sdk', f));
  out.ratio.cpu_above_floor = ratios(own('skillboxd'), own('sdk'));
  out.ratio.floor_cpu_to_sdk = ratios(pick('floor', fig.cpu_ms_per_1000),
    pick('sdk', fig.cpu_ms_per_1000));
  out.skillboxd.cpu_above_floor_ms_per_1000 = stats(own('skillboxd'));
  out.sdk.cpu_above_floor_ms_per_1000 = stats(own('sdk'));
  return out;
}
