// The official e2b SDK (pinned 2.51.0) against tests/e2b-local, through
// E2B_API_URL and E2B_SANDBOX_URL: what the SDK does must work as on E2B.
// Every test kills what it creates; after each one, e2b-local must have
// no sandbox left.

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, afterEach, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { loadPackage, skipUnless } from './lib/deps.mjs';
import { e2bLocalPath, makeTemplate, startE2bLocal } from './lib/e2b-local.mjs';

const skip = skipUnless({
  packages: ['e2b'], programs: ['bwrap'], files: [e2bLocalPath()],
});
const opt = { skip, timeout: 120000 };

let e2b;
let local;

before(async () => {
  if (skip) return;
  e2b = await loadPackage('e2b');
  const tmpl = makeTemplate({
    hello: '#!/bin/sh\necho "hello from the template: $*"\n',
  });
  local = await startE2bLocal({ templates: { base: tmpl } });
  Object.assign(process.env, local.env());
});

after(async () => {
  if (!local) return;
  const status = await local.stop();
  assert.equal(local.stdout, '', 'e2b-local wrote to stdout after LISTENING');
  assert.deepEqual(status, { code: 0, signal: null });
});

afterEach(async () => {
  if (!local) return;
  assert.deepEqual(await local.waitNoSandboxes(), [], 'sandboxes left alive');
});

// Run fn with a new sandbox, and kill it whatever happens.
async function withSandbox(opts, fn) {
  const sbx = await e2b.Sandbox.create('base', opts);
  try {
    return await fn(sbx);
  } finally {
    await sbx.kill();
  }
}

test('create with metadata and envs', opt, async () => {
  await withSandbox({ metadata: { job: 'j1', who: 'sdk test' },
    envs: { FOO: 'bar' } }, async (sbx) => {
    assert.match(sbx.sandboxId, /^i[a-z0-9]{20}$/);
    const info = await sbx.getInfo();
    assert.deepEqual(info.metadata, { job: 'j1', who: 'sdk test' });
    assert.equal(info.templateId, 'base');
    assert.equal(info.state, 'running');
    const r = await sbx.commands.run(
      'echo "$FOO $E2B_SANDBOX $E2B_SANDBOX_ID $HOME $USER"');
    assert.equal(r.stdout, `bar true ${sbx.sandboxId} /home/user user\n`);
    const tmpl = await sbx.commands.run('hello there');
    assert.equal(tmpl.stdout, 'hello from the template: there\n');
  });
});

test('commands.run in the foreground: output and exit codes', opt, async () => {
  await withSandbox({}, async (sbx) => {
    const r = await sbx.commands.run('echo out; echo err >&2; exit 0');
    assert.equal(r.exitCode, 0);
    assert.equal(r.stdout, 'out\n');
    assert.equal(r.stderr, 'err\n');
    await assert.rejects(sbx.commands.run('echo partial; exit 3'), (err) => {
      assert.ok(err instanceof e2b.CommandExitError, err.constructor.name);
      assert.equal(err.exitCode, 3);
      assert.equal(err.stdout, 'partial\n');
      assert.equal(err.error, 'exit status 3');
      return true;
    });
  });
});

test('commands.run with envs and cwd', opt, async () => {
  await withSandbox({ envs: { A: 'sandbox', B: 'sandbox' } }, async (sbx) => {
    await sbx.files.makeDir('/home/user/work/dir');
    const r = await sbx.commands.run('pwd; echo "$A $B"', {
      cwd: '/home/user/work/dir', envs: { B: 'command' },
    });
    assert.equal(r.stdout, '/home/user/work/dir\nsandbox command\n');
    const rel = await sbx.commands.run('pwd', { cwd: 'work' });
    assert.equal(rel.stdout, '/home/user/work\n');
    await assert.rejects(sbx.commands.run('pwd', { cwd: '/nonexistent' }),
      /cwd '\/nonexistent' does not exist/);
  });
});

test('onStdout streams output while the command runs', opt, async () => {
  await withSandbox({}, async (sbx) => {
    const chunks = [];
    const started = Date.now();
    const r = await sbx.commands.run(
      'for i in 1 2 3 4 5; do echo "line $i"; sleep 0.6; done', {
        onStdout: (data) => chunks.push({ at: Date.now() - started, data }),
      });
    const took = Date.now() - started;
    assert.equal(r.stdout, [1, 2, 3, 4, 5].map((i) => `line ${i}\n`).join(''));
    assert.ok(chunks.length >= 4, `only ${chunks.length} chunks`);
    assert.ok(chunks[0].at < took - 1500,
      `first output at ${chunks[0].at} ms of ${took} ms: not streamed`);
    assert.equal(chunks.map((c) => c.data).join(''), r.stdout);
  });
});

test('a background command, then its kill', opt, async () => {
  await withSandbox({}, async (sbx) => {
    const h = await sbx.commands.run('sleep 60', { background: true });
    assert.ok(h.pid > 0);
    const listed = await sbx.commands.list();
    assert.ok(listed.some((p) => p.pid === h.pid), JSON.stringify(listed));
    assert.equal(await h.kill(), true);
    await assert.rejects(h.wait(), (err) => {
      assert.ok(err instanceof e2b.CommandExitError);
      assert.equal(err.exitCode, -1);
      assert.equal(err.error, 'signal: killed');
      return true;
    });
    assert.ok(!(await sbx.commands.list()).some((p) => p.pid === h.pid));
    assert.equal(await sbx.commands.kill(h.pid), false);
  });
});

test('commands.connect to a running command', opt, async () => {
  await withSandbox({}, async (sbx) => {
    const h = await sbx.commands.run(
      'for i in 1 2 3 4 5 6 7 8; do echo "tick $i"; sleep 0.4; done',
      { background: true });
    await h.disconnect();
    await sleep(1000);
    const seen = [];
    const again = await sbx.commands.connect(h.pid, {
      onStdout: (d) => seen.push(d),
    });
    const r = await again.wait();
    assert.equal(r.exitCode, 0);
    const out = seen.join('');
    assert.match(out, /tick 8\n$/);
    // What was printed while nobody listened is gone, as with envd.
    assert.doesNotMatch(out, /tick 1\n/);
  });
});

test('stdin: sendStdin and closeStdin', opt, async () => {
  await withSandbox({}, async (sbx) => {
    const h = await sbx.commands.run('tr a-z A-Z', {
      background: true, stdin: true,
    });
    await h.sendStdin('hello ');
    await h.sendStdin('stdin\n');
    await h.closeStdin();
    const r = await h.wait();
    assert.equal(r.stdout, 'HELLO STDIN\n');
  });
});

test('files: write, read, list, makeDir, rename, remove, exists', opt, async () => {
  await withSandbox({}, async (sbx) => {
    const info = await sbx.files.write('/home/user/notes/a.txt', 'hello\n');
    assert.equal(info.path, '/home/user/notes/a.txt');
    assert.equal(info.name, 'a.txt');
    assert.equal(await sbx.files.read('/home/user/notes/a.txt'), 'hello\n');
    assert.equal(await sbx.files.read('notes/a.txt'), 'hello\n');
    await sbx.files.write([
      { path: '/home/user/notes/b.txt', data: 'bee' },
      { path: '/home/user/notes/sub/c.txt', data: 'sea' },
    ]);
    assert.equal(await sbx.files.makeDir('/home/user/notes/empty'), true);
    assert.equal(await sbx.files.makeDir('/home/user/notes/empty'), false);
    const top = await sbx.files.list('/home/user/notes');
    assert.deepEqual(top.map((e) => [e.name, e.type]), [
      ['a.txt', 'file'], ['b.txt', 'file'], ['empty', 'dir'], ['sub', 'dir'],
    ]);
    assert.equal(top[0].size, 6);
    assert.equal(top[0].owner, 'user');
    const deep = await sbx.files.list('/home/user/notes', { depth: 2 });
    assert.ok(deep.some((e) => e.path === '/home/user/notes/sub/c.txt'));
    const moved = await sbx.files.rename('/home/user/notes/b.txt',
      '/home/user/elsewhere/b2.txt');
    assert.equal(moved.path, '/home/user/elsewhere/b2.txt');
    assert.equal(await sbx.files.read('/home/user/elsewhere/b2.txt'), 'bee');
    assert.equal(await sbx.files.exists('/home/user/notes/b.txt'), false);
    await sbx.files.remove('/home/user/elsewhere/b2.txt');
    assert.equal(await sbx.files.exists('/home/user/elsewhere/b2.txt'), false);
    await sbx.files.remove('/home/user/notes');
    assert.equal(await sbx.files.exists('/home/user/notes'), false);
    await assert.rejects(sbx.files.read('/home/user/missing'),
      (err) => err instanceof e2b.FileNotFoundError || /not/.test(err.message));
  });
});

test('files: a 20 MB binary file both ways', opt, async () => {
  await withSandbox({}, async (sbx) => {
    const data = randomBytes(20 * 1024 * 1024);
    const digest = createHash('sha256').update(data).digest('hex');
    await sbx.files.write('/home/user/blob.bin', new Uint8Array(data));
    const r = await sbx.commands.run('sha256sum /home/user/blob.bin');
    assert.equal(r.stdout.split(' ')[0], digest);
    const back = await sbx.files.read('/home/user/blob.bin', { format: 'bytes' });
    assert.equal(back.length, data.length);
    assert.ok(Buffer.from(back).equals(data), 'the bytes read back differ');
  });
});

test('Sandbox.list filtered by metadata, with paging', opt, async () => {
  const run = randomBytes(4).toString('hex');
  const made = [];
  try {
    for (let i = 0; i < 3; i++) {
      made.push(await e2b.Sandbox.create('base',
        { metadata: { suite: 'list', run, n: String(i) } }));
    }
    made.push(await e2b.Sandbox.create('base',
      { metadata: { suite: 'other', run } }));
    const pages = e2b.Sandbox.list({
      query: { metadata: { suite: 'list', run } }, limit: 2,
    });
    const first = await pages.nextItems();
    assert.equal(first.length, 2);
    assert.equal(pages.hasNext, true);
    const second = await pages.nextItems();
    assert.equal(second.length, 1);
    assert.equal(pages.hasNext, false);
    const ids = [...first, ...second].map((s) => s.sandboxId).sort();
    assert.deepEqual(ids, made.slice(0, 3).map((s) => s.sandboxId).sort());
    assert.ok([...first, ...second].every((s) => s.metadata.run === run));
    const none = await e2b.Sandbox.list({
      query: { metadata: { suite: 'list', run: 'nope' } },
    }).nextItems();
    assert.deepEqual(none, []);
  } finally {
    for (const s of made) await s.kill();
  }
});

test('setTimeout, and a real expiry', opt, async () => {
  const sbx = await e2b.Sandbox.create('base', { timeoutMs: 60000 });
  try {
    await sbx.setTimeout(600000);
    const end = (await sbx.getInfo()).endAt.getTime();
    assert.ok(Math.abs(end - (Date.now() + 600000)) < 5000, `endAt ${end}`);
    await sbx.setTimeout(1000);
    const until = Date.now() + 10000;
    while (await sbx.isRunning() && Date.now() < until) await sleep(200);
    assert.equal(await sbx.isRunning(), false);
    await assert.rejects(sbx.getInfo(),
      (err) => err instanceof e2b.SandboxNotFoundError);
  } finally {
    await sbx.kill();
  }
});

test('kill, then getInfo gives the SDK not-found error', opt, async () => {
  const sbx = await e2b.Sandbox.create('base');
  assert.equal(await sbx.isRunning(), true);
  assert.equal(await sbx.kill(), true);
  assert.equal(await e2b.Sandbox.kill(sbx.sandboxId), false);
  await assert.rejects(sbx.getInfo(),
    (err) => err instanceof e2b.SandboxNotFoundError);
  await assert.rejects(e2b.Sandbox.connect(sbx.sandboxId),
    (err) => err instanceof e2b.SandboxNotFoundError);
  assert.equal(await sbx.isRunning(), false);
});

test('isolation: files, users, processes, network', opt, async () => {
  const a = await e2b.Sandbox.create('base');
  const b = await e2b.Sandbox.create('base');
  const c = await e2b.Sandbox.create('base', { allowInternetAccess: false });
  try {
    await a.files.write('/home/user/secret.txt', 'only a');
    await a.commands.run('echo only-a > /tmp/secret-tmp');
    assert.equal(await b.files.exists('/home/user/secret.txt'), false);
    await assert.rejects(b.commands.run('cat /tmp/secret-tmp'),
      (err) => err instanceof e2b.CommandExitError);
    const id = await b.commands.run('id -u; id -un; hostname');
    assert.equal(id.stdout, '1000\nuser\ne2b.local\n');
    await assert.rejects(b.commands.run('ls /root'),
      (err) => err instanceof e2b.CommandExitError);
    await assert.rejects(b.commands.run('touch /usr/bin/x'),
      (err) => /Read-only file system/.test(err.stderr));
    await assert.rejects(b.commands.run('cat /etc/shadow'),
      (err) => /Permission denied|No such file/.test(err.stderr));
    const ps = await b.commands.run('ls /proc | grep -c "^[0-9]"');
    assert.ok(Number(ps.stdout) < 10, `${ps.stdout} processes visible`);
    // With the network: e2b-local's own port is reachable; without: not.
    const probe = `exec 3<>/dev/tcp/127.0.0.1/${local.port} && echo open`;
    assert.equal((await a.commands.run(probe)).stdout, 'open\n');
    await assert.rejects(c.commands.run(probe),
      (err) => err instanceof e2b.CommandExitError);
    const dev = await c.commands.run("awk 'NR > 2 { print $1 }' /proc/net/dev");
    assert.equal(dev.stdout, 'lo:\n');
  } finally {
    await a.kill();
    await b.kill();
    await c.kill();
  }
});

test('a command timeout (Connect-Timeout-Ms) ends the process', opt, async () => {
  await withSandbox({}, async (sbx) => {
    const started = Date.now();
    await assert.rejects(sbx.commands.run('sleep 30', { timeoutMs: 1000 }),
      (err) => err instanceof e2b.TimeoutError);
    assert.ok(Date.now() - started < 10000);
    // The kill and the end of the stream race, as in envd: wait for it.
    let left = await sbx.commands.list();
    for (let i = 0; i < 50 && left.length > 0; i++) {
      await sleep(100);
      left = await sbx.commands.list();
    }
    assert.deepEqual(left, []);
  });
});
