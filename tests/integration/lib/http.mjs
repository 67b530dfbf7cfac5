// Start skillboxd (or the conformance fixture) as an HTTP host for a
// test: on a free loopback port, with a bearer token in a file, its own
// state directory and the fake worker; find its URL in its log; talk to
// it with the official SDK client (StreamableHTTPClientTransport) or
// with raw HTTP requests whose every header is ours to set (Host too).
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { loadPackage } from './deps.mjs';
import { serverEnv, skillboxdPath } from './skillboxd.mjs';

export const TOKEN = 'test-token-0123456789abcdefghijklmnop';
export const ACCEPT_BOTH = 'application/json, text/event-stream';

// skillboxd --listen 127.0.0.1:0 with a token file in the scratch.
export async function httpServer(s, { env = {}, args = [], token = TOKEN,
  program = skillboxdPath } = {}) {
  const tokenFile = path.join(s.dir, 'token');
  writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
  const child = spawn(program, ['--listen', '127.0.0.1:0', ...args], {
    env: serverEnv(s, { SKILLBOX_TOKEN_FILE: tokenFile, ...env }),
    cwd: s.dir, stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr.on('data', (d) => { log += d; });
  const exited = new Promise((res) => child.on('exit',
    (code, signal) => res({ code, signal })));
  const url = await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no URL in:\n${log}`)),
      15000);
    const look = () => {
      const m = log.match(/serving MCP over HTTP at (http:\S+)/);
      if (m) {
        clearTimeout(t);
        resolve(m[1]);
      }
    };
    child.stderr.on('data', look);
    child.on('exit', () => reject(new Error(`exited early:\n${log}`)));
    look();
  });
  const u = new URL(url);
  return {
    child, url, port: Number(u.port), token, exited,
    log: () => log,
    // SIGTERM; resolves with how it exited.
    async stop() {
      if (child.exitCode === null && child.signalCode === null)
        child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 20000);
      const st = await exited;
      clearTimeout(t);
      return st;
    },
  };
}

// One raw HTTP request; resolves with { status, headers, body, json }.
// opts: method, headers (all as given, Host included), body, timeout.
export function request(srv, { method = 'POST', headers = {}, body,
  path: p = '/mcp', timeout = 20000 } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: srv.port,
      method, path: p, headers, setHost: !('Host' in headers) },
    (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { data += d; });
      res.on('end', () => {
        let json;
        try { json = JSON.parse(data); } catch { json = undefined; }
        resolve({ status: res.statusCode, headers: res.headers,
          body: data, json });
      });
    });
    req.setTimeout(timeout, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

// The headers of a well-formed MCP POST, with the token.
export function mcpHeaders(srv, extra = {}) {
  return { Authorization: `Bearer ${srv.token}`,
    'Content-Type': 'application/json', Accept: ACCEPT_BOTH, ...extra };
}

// POST one JSON-RPC message (an object) with the right headers.
export function post(srv, msg, extra = {}) {
  return request(srv, { headers: mcpHeaders(srv, extra),
    body: JSON.stringify(msg) });
}

// initialize and notifications/initialized; returns the session id.
export async function session(srv, version = '2025-11-25') {
  const r = await post(srv, { jsonrpc: '2.0', id: 1, method: 'initialize',
    params: { protocolVersion: version, capabilities: {},
      clientInfo: { name: 'raw', version: '0' } } });
  if (r.status !== 200) throw new Error(`initialize: ${r.status} ${r.body}`);
  const sid = r.headers['mcp-session-id'];
  const n = await post(srv, { jsonrpc: '2.0',
    method: 'notifications/initialized' }, { 'Mcp-Session-Id': sid,
    'MCP-Protocol-Version': version });
  if (n.status !== 202) throw new Error(`initialized: ${n.status}`);
  return sid;
}

// Parse an SSE body into its events: [{ id, event, data }].
export function sseEvents(text) {
  return text.split('\n\n').filter((b) => b.trim() !== '').map((b) => {
    const ev = { data: '' };
    for (const line of b.split('\n')) {
      const i = line.indexOf(':');
      if (i === 0) continue;
      const k = line.slice(0, i);
      const v = line.slice(i + 1).replace(/^ /, '');
      if (k === 'data') ev.data += v;
      else ev[k] = v;
    }
    return ev;
  });
}

// The SDK client connected over HTTP with the token (or without).
export async function sdkClient(srv, { token = srv.token,
  capabilities = {} } = {}) {
  const { Client } = await loadPackage(
    '@modelcontextprotocol/sdk/client/index.js');
  const { StreamableHTTPClientTransport } = await loadPackage(
    '@modelcontextprotocol/sdk/client/streamableHttp.js');
  const transport = new StreamableHTTPClientTransport(new URL(srv.url), {
    requestInit: token ? { headers: { Authorization: `Bearer ${token}` } }
      : undefined,
  });
  const client = new Client({ name: 'skillbox-http-it', version: '1.0.0' },
    { capabilities });
  await client.connect(transport);
  return {
    client, transport,
    // Call a tool; its structuredContent (throws on isError).
    async call(name, args, opts) {
      const r = await client.callTool({ name, arguments: args }, undefined,
        { timeout: 120000, ...opts });
      if (r.isError) throw new Error(r.content?.[0]?.text || 'tool error');
      return r.structuredContent;
    },
    async close() {
      try { await transport.terminateSession(); } catch { /* gone */ }
      await client.close();
    },
  };
}

// Is the server still serving?  A fresh session and a ping.
export async function stillServes(srv) {
  const sid = await session(srv);
  const r = await post(srv, { jsonrpc: '2.0', id: 99, method: 'ping' },
    { 'Mcp-Session-Id': sid });
  if (r.status !== 200 || JSON.stringify(r.json?.result) !== '{}')
    throw new Error(`ping: ${r.status} ${r.body}`);
  return true;
}
