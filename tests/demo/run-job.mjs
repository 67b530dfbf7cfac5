// Run one job through skillboxd as an MCP client would: spawn
// `skillboxd --stdio`, call submit_job, then wait_job with a progress
// token, printing each progress notification, and print the result.
//
// usage: node run-job.mjs SKILLBOXD REPO_DIR [JOB [INSTRUCTIONS]]
// The MCP SDK is loaded from $SKILLBOX_DEPS (tests/setup installs it).

import { createRequire } from 'node:module';
import path from 'node:path';

const [skillboxd, repo, job = 'fix-tests', instructions] =
  process.argv.slice(2);
if (!skillboxd || !repo) {
  console.error('usage: node run-job.mjs SKILLBOXD REPO_DIR [JOB ' +
    '[INSTRUCTIONS]]');
  process.exit(64);
}
const require = createRequire(path.join(process.env.SKILLBOX_DEPS || '', '/'));
const load = (m) => import(require.resolve(m));
const { Client } = await load('@modelcontextprotocol/sdk/client/index.js');
const { StdioClientTransport } =
  await load('@modelcontextprotocol/sdk/client/stdio.js');

const transport = new StdioClientTransport({ command: skillboxd,
  args: ['--stdio'], env: process.env, stderr: 'inherit' });
const client = new Client({ name: 'skillbox-try-job', version: '1.0.0' },
  { capabilities: {} });
await client.connect(transport);
await client.listTools();

const spec = { repo: { path: path.resolve(repo) }, job };
if (instructions) spec.instructions = instructions;
const sub = await client.callTool({ name: 'submit_job', arguments: spec });
if (sub.isError) {
  console.error(`submit_job: ${sub.content[0].text}`);
  process.exit(1);
}
const id = sub.structuredContent.job_id;
console.log(`job ${id} submitted (${job} on ${spec.repo.path})`);

let result;
for (;;) {
  const r = await client.callTool({ name: 'wait_job',
    arguments: { job_id: id, timeout_s: 300 } }, undefined, {
    timeout: 600000,
    onprogress: (p) => console.log(`  [${p.progress}] ` +
      p.message.replace(/<\/?untrusted-[0-9a-f]+>\n?/g, '').trim()
        .replace(/\n/g, '\n      ')),
  });
  result = r.structuredContent;
  if (result.done) break;
}
await client.close();

const strip = (s) => (s || '').replace(/<\/?untrusted-[0-9a-f]+>\n?/g, '')
  .trim();
console.log('');
console.log(`state:    ${result.state}${result.reason ? ` (${strip(result.reason)})` : ''}`);
if (result.summary) console.log(`summary:  ${strip(result.summary)}`);
if (result.tests)
  console.log(`tests:    ${result.tests.passed} passed, ${result.tests.failed} ` +
    `failed, ${result.tests.skipped ?? 0} skipped (${result.tests.command})`);
if (result.diff)
  console.log(`diff:     ${result.diff.files_changed} file(s), ` +
    `+${result.diff.insertions} -${result.diff.deletions}`);
if (result.agent)
  console.log(`agent:    ${result.agent.num_turns} turns, ` +
    `$${Number(result.agent.total_cost_usd).toFixed(4)}, ` +
    `Claude Code ${result.agent.claude_code_version}`);
if (result.skills) console.log(`skills:   ${result.skills.bundle}`);
console.log('');
console.log(JSON.stringify(result, null, 2));
process.exit(result.state === 'succeeded' ? 0 : 1);
