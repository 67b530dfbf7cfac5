// Shared by the benchmarks: min / median / max over runs, what /proc says
// about a process (RSS, PSS, USS, where RSS comes from, CPU with reaped
// children), the peers' drivers in ../shared/bench, and the claude
// template the job benchmarks run in.
//
// Benchmarks print and never fail on a number.  When something they need
// is missing they say so and exit 0, except under SKILLBOX_STRICT=1.

import { execFileSync } from 'node:child_process';
import {
  chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync,
  readFileSync, rmSync, symlinkSync, writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { depsDir, missing, strict } from '../integration/lib/deps.mjs';
import { makeTemplate } from '../integration/lib/e2b-local.mjs';
import { fakeClaudePath, srcdir } from '../integration/lib/worker.mjs';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// min / median / max of numbers (null for none).
export function stats(xs) {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return null;
  return { min: s[0], median: s[Math.floor((s.length - 1) / 2)],
    max: s[s.length - 1] };
}

// The p-th percentile of a sorted array, as the peers' drivers take it.
export function pct(sorted, p) {
  return sorted[Math.min(sorted.length - 1,
    Math.ceil((p / 100) * sorted.length) - 1)];
}

// Round to d decimals.
export const round = (x, d = 1) => (x === null || x === undefined ? x :
  Number(x.toFixed(d)));

// "min / median / max unit" of a stats object.
export function fmt(st, unit = '', d = 1) {
  if (!st) return 'n/a';
  return `${round(st.min, d)} / ${round(st.median, d)} / ` +
    `${round(st.max, d)}${unit ? ' ' + unit : ''}`;
}

// Per run ratios a[i] / b[i] of two equally long lists, as stats.
export function ratios(a, b, d = 3) {
  const n = Math.min(a.length, b.length);
  const r = [];
  for (let i = 0; i < n; i++)
    if (b[i] > 0) r.push(round(a[i] / b[i], d));
  return stats(r);
}

// Say why the benchmark cannot run and leave (fail under strict).
export function skip(why) {
  console.log(`skipped: ${why}`);
  process.exit(strict ? 1 : 0);
}

// Stop early when a requirement (see deps.mjs) is not met.
export function need(requirements) {
  const why = missing(requirements);
  if (why) skip(why);
}

// Whether a program was built with the sanitizers (figures mean little).
export function sanitized(program) {
  return execFileSync('ldd', [program]).toString().includes('libasan');
}

// The "Key:   N kB" lines of a /proc file, as numbers (KiB).
function kbFields(text) {
  const o = {};
  for (const m of text.matchAll(/^(\w+):\s+(\d+) kB$/gm)) o[m[1]] = +m[2];
  return o;
}

// VmRSS, VmHWM, RssAnon, RssFile, ... of a process, in KiB.
export function status(pid) {
  return kbFields(readFileSync(`/proc/${pid}/status`, 'utf8'));
}

// Rss, Pss and USS (Private_Clean + Private_Dirty) of a process, in KiB;
// null when it is gone.
export function memory(pid) {
  let m;
  try {
    m = kbFields(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
  } catch {
    return null;
  }
  return { rss: m.Rss, pss: m.Pss, uss: m.Private_Clean + m.Private_Dirty,
    anon: m.Anonymous };
}

// Where a process's RSS comes from: KiB of Rss, Pss and private pages per
// mapped file (or [heap], [stack], [anon]), largest first.
export function mappings(pid) {
  const by = new Map();
  let cur = null;
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8')
    .split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      const name = path.basename(head[1] || '[anon]');
      if (!by.has(name)) by.set(name, { name, rss: 0, pss: 0, priv: 0 });
      cur = by.get(name);
      continue;
    }
    const f = /^(Rss|Pss|Private_Clean|Private_Dirty):\s+(\d+) kB/
      .exec(line);
    if (!f || !cur) continue;
    if (f[1] === 'Rss') cur.rss += +f[2];
    else if (f[1] === 'Pss') cur.pss += +f[2];
    else cur.priv += +f[2];
  }
  return [...by.values()].filter((m) => m.rss > 0)
    .sort((a, b) => b.rss - a.rss);
}

let clkTck = 0;

// CPU of a process in ms from /proc/PID/stat: its own (self) and that of
// the children it has reaped (children), 10 ms resolution.
export function cpu(pid) {
  if (!clkTck)
    clkTck = Number(execFileSync('getconf', ['CLK_TCK']).toString()) || 100;
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ').map(Number);
  const ms = 1000 / clkTck;
  return { self: (f[11] + f[12]) * ms, children: (f[13] + f[14]) * ms };
}

// The live children of a process.
export function children(pid) {
  const out = [];
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8')
      .trim();
    if (text) out.push(...text.split(' ').map(Number));
  }
  return out;
}

// Where the peers' drivers are: $SKILLBOX_PEER_BENCH, else ../shared/bench
// beside the source tree.  null when absent.
export function peerDir() {
  const dir = process.env.SKILLBOX_PEER_BENCH ||
    path.resolve(srcdir(), '..', 'shared', 'bench');
  return existsSync(path.join(dir, 'mcp-sdk', 'raw-client-bench.mjs')) ?
    dir : null;
}

const stages = new Set();
process.on('exit', () => {
  for (const d of stages) rmSync(d, { recursive: true, force: true });
});

// Remove dir when the benchmark ends, not now: on ext4 without a journal
// every file created in the next minute or more steps over each inode
// freed, so removing a run's state directory (a thousand inodes) would
// charge the next run's saves for it.
export function removeAtExit(dir) {
  stages.add(dir);
}

// A scratch directory holding copies of the named driver scripts (as the
// peers' own runners do) next to a node_modules link to the pinned
// packages, so that their bare imports resolve.  Returns its path.
export function stageDrivers(files) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'skillbox-bench-'));
  stages.add(dir);
  for (const f of files) copyFileSync(f, path.join(dir, path.basename(f)));
  symlinkSync(path.join(depsDir(), 'node_modules'),
    path.join(dir, 'node_modules'));
  return dir;
}

// The scenario every benchmark job's agent follows unless the job says
// otherwise: a few events, one file written, a result.json saying "ok".
export const OK_SCENARIO = {
  steps: [
    { text: 'Looking at the repository.' },
    { write: 'NOTES.md', content: 'ok\n' },
    { result_json: { summary: 'ok', tests: { command: 'true', passed: 1,
      failed: 0, skipped: 0, failures: [] }, artifacts: [] } },
  ],
  final_text: 'ok',
};

// The claude template both skillbox and the peer pipeline run in: bin/git
// fakes `git clone` (a one-commit repository, no network) and passes
// everything else to the real git; bin/claude is the fake claude, with
// OK_SCENARIO unless FAKE_CLAUDE_SCENARIO says otherwise.
export function benchTemplate() {
  const dir = makeTemplate({});
  const lib = path.join(dir, 'lib');
  mkdirSync(lib, { mode: 0o755 });
  copyFileSync(fakeClaudePath(), path.join(lib, 'fake-claude'));
  chmodSync(path.join(lib, 'fake-claude'), 0o755);
  const scenario = JSON.stringify(OK_SCENARIO);
  if (scenario.includes("'")) throw new Error('quote in the scenario');
  const scripts = {
    git: `#!/bin/sh
# The benchmark's git: "clone" makes a one-commit repository at its last
# argument; anything else is the real git.
for a; do
	[ "$a" = clone ] && fake=1
	dest=$a
done
[ -n "\${fake:-}" ] || exec /usr/bin/git "$@"
mkdir -p "$dest" && cd "$dest" || exit 128
/usr/bin/git init -q && echo 'echo $(($1 + $2))' > add.sh &&
    /usr/bin/git add add.sh &&
    exec /usr/bin/git -c user.name=b -c user.email=b@localhost \\
    commit -q -m init
`,
    claude: `#!/bin/sh
[ -n "\${FAKE_CLAUDE_SCENARIO:-}" ] || FAKE_CLAUDE_SCENARIO='${scenario}'
export FAKE_CLAUDE_SCENARIO
exec ${path.join(lib, 'fake-claude')} "$@"
`,
  };
  for (const [name, text] of Object.entries(scripts)) {
    writeFileSync(path.join(dir, 'bin', name), text);
    chmodSync(path.join(dir, 'bin', name), 0o755);
  }
  return dir;
}
