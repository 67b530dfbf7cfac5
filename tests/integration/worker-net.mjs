// worker/'s network side (http, e2b, envd) against tests/e2b-local, as
// the job pipeline will use it: worker-net-drive creates a sandbox,
// uploads a tarball and extracts it, runs a command that streams for
// about six seconds, re-attaches after a dropped stream (a fault armed
// in e2b-local), fetches the gap and a file, and kills the sandbox.  It
// prints one JSON summary; the tests below check it and e2b-local.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { skipUnless } from './lib/deps.mjs';
import {
  builddir, e2bLocalPath, makeTemplate, startE2bLocal,
} from './lib/e2b-local.mjs';

const DRIVE = path.join(builddir(), 'tests/integration/worker-net-drive');
const LINES = 30;
const LINE = (i) => `line ${String(i).padStart(3, '0')} of the streaming command\n`;
const WHOLE = Array.from({ length: LINES }, (_, i) => LINE(i + 1)).join('');

const skip = skipUnless({
  programs: ['bwrap', 'tar'], files: [e2bLocalPath(), DRIVE],
});
const opts = { skip, timeout: 120000 };

let local;
let tmp;
const runs = {};

// Run the driver to its end; resolves to { json, stderr, code }.
function drive(args, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(DRIVE, args, {
      env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      try {
        resolve({ json: JSON.parse(out), stderr: err, code });
      } catch (e) {
        reject(new Error(`worker-net-drive (${code}): ${out}\n${err}`));
      }
    });
  });
}

before(async () => {
  if (skip) return;
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'worker-net-'));
  fs.mkdirSync(path.join(tmp, 'src/hello'), { recursive: true });
  fs.writeFileSync(path.join(tmp, 'src/hello/greeting.txt'),
    'hello from the tarball\n');
  const tgz = path.join(tmp, 'in.tgz');
  assert.equal(spawnSync('tar', ['-czf', tgz, '-C', path.join(tmp, 'src'),
    'hello']).status, 0);
  local = await startE2bLocal({ templates: { base: makeTemplate() } });
  runs.plain = await drive(['base', tgz], local.env());
  runs.plainLeft = await local.waitNoSandboxes();
  await local.resetStats();
  const fault = { route: 'POST /process.Process/Start', dropAfterBytes: 200 };
  runs.fault = await drive(['base', tgz, `${local.url}/_local/faults`,
    JSON.stringify(fault)], local.env());
  runs.faultStats = await local.stats();
  runs.faultLeft = await local.waitNoSandboxes();
});

after(async () => {
  if (local) assert.deepEqual(await local.stop(), { code: 0, signal: null });
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

test('create, upload and extract a tarball, read a file back', opts, () => {
  for (const r of [runs.plain, runs.fault]) {
    assert.equal(r.json.ok, true, r.json.error);
    assert.equal(r.code, 0);
    assert.match(r.json.sandbox, /^i[a-z0-9]+$/);
    assert.equal(r.json.token, true, 'a secured sandbox has a token');
    assert.equal(r.json.file, 'hello from the tarball\n');
    assert.equal(r.json.missing, 1, 'a missing file is not an error');
  }
});

test('output arrives as it is produced, while other events fire', opts, () => {
  const j = runs.plain.json;
  assert.equal(j.dropped, false);
  assert.equal(j.streams, 1);
  assert.equal(j.exit_code, 0);
  assert.equal(j.streamed, WHOLE);
  assert.equal(j.log, WHOLE);
  assert.equal(j.stdout_bytes, WHOLE.length);
  // Thirty lines over about six seconds: the first long before the end.
  assert.ok(j.stream_ms >= 4000, `stream took ${j.stream_ms} ms`);
  assert.ok(j.first_chunk_ms < j.stream_ms / 3,
    `first chunk after ${j.first_chunk_ms} of ${j.stream_ms} ms`);
  assert.ok(j.chunks >= 10, `${j.chunks} chunks`);
  // The driver's 100 ms timer kept firing through every call.
  assert.ok(j.ticks >= 40, `${j.ticks} ticks`);
});

test('a dropped stream: re-attach by tag, the gap comes from the file', opts, () => {
  const j = runs.fault.json;
  assert.equal(j.dropped, true);
  assert.match(j.drop_cause, /the stream broke/);
  assert.equal(j.health, 0, 'the sandbox was alive after the drop');
  assert.equal(j.streams, 2);
  assert.equal(j.exit_code, 0);
  // e2b-local drops the stream once 200 bytes have gone out.
  assert.ok(j.before_drop > 0 && j.before_drop <= 240,
    `${j.before_drop} bytes before the drop`);
  assert.equal(j.log, WHOLE);
  // What came before the drop is the file's start; the Range download
  // from there is the rest, and what the new stream saw ends it.
  assert.equal(j.streamed.slice(0, j.before_drop), WHOLE.slice(0, j.before_drop));
  assert.equal(j.gap, WHOLE.slice(j.before_drop));
  const after = j.streamed.slice(j.before_drop);
  assert.ok(after.length > 0 && WHOLE.endsWith(after),
    `after re-attach: ${JSON.stringify(after)}`);
  assert.equal(j.stdout_bytes, j.streamed.length);
  assert.equal(runs.faultStats.routes['POST /process.Process/Connect'], 1);
});

test('kill: E2B no longer knows the sandbox and e2b-local lists none', opts, () => {
  for (const r of [runs.plain, runs.fault]) {
    assert.equal(r.json.killed, true);
    assert.equal(r.json.gone, true);
    assert.equal(r.json.listed_after, 0);
  }
  assert.deepEqual(runs.plainLeft, []);
  assert.deepEqual(runs.faultLeft, []);
});

test('the API key and the access token stay out of the debug log', opts, () => {
  const key = local.env().E2B_API_KEY;
  for (const r of [runs.plain, runs.fault]) {
    assert.match(r.stderr, /http: POST \/v2\/sandboxes: 201/);
    assert.ok(!r.stderr.includes(key), 'the API key was logged');
    assert.ok(!/X-Access-Token|X-API-Key/i.test(r.stderr),
      'a secret header was logged');
  }
});
