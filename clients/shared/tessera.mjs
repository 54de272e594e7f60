// Starts one real `tessera serve` for a real-client test suite (Node and browser suites share
// it; it uses Node built-ins only, so neither suite's dependencies leak into the other).
//
// The binary is the one cargo built (`target/debug/tessera`, or TESSERA_BIN). With
// TEST_POSTGRES_URL set, the server runs on a fresh PostgreSQL database, dropped afterwards.

import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const PROJECT = 'demo-project';
export const PASSWORD = 'correct horse';
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ANSI = /\x1b\[[0-9;]*m/g;
const START_TIMEOUT_MS = 30_000;

export const hex = (bytes = 6) => randomBytes(bytes).toString('hex');
export const uniqueEmail = (prefix = 'user') => `${prefix}-${hex()}@example.com`;
// Phone numbers are unique per project like emails: a random one from the 555 range.
export const uniquePhone = () => `+1555${String(Math.floor(Math.random() * 1e7)).padStart(7, '0')}`;
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function psql(server, sql) {
  execFileSync('psql', [server, '-qc', sql], { stdio: ['ignore', 'ignore', 'inherit'] });
}

// A fresh database per server, created (and afterwards dropped) through the given connection.
function createDatabase(suite) {
  const server = process.env.TEST_POSTGRES_URL;
  if (!server) return null;
  const name = `tessera_${suite}_${hex()}`;
  psql(server, `CREATE DATABASE ${name}`);
  const url = new URL(server);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => psql(server, `DROP DATABASE IF EXISTS ${name}`) };
}

/**
 * Starts `tessera serve` on a free port; resolves once it logs its listening address.
 * `env` adds Tessera settings (e.g. `TESSERA_UNSIGNED_ID_TOKENS`); `suite` names the temporary
 * data dir and database.
 */
export async function startTessera({ env: settings = {}, suite = 'node' } = {}) {
  const binary = process.env.TESSERA_BIN ?? join(ROOT, 'target/debug/tessera');
  const dataDir = mkdtempSync(join(tmpdir(), `tessera-${suite}-`));
  const database = createDatabase(suite);
  const args = ['serve', '--listen', '127.0.0.1:0', '--data-dir', dataDir];
  if (database) args.push('--database-url', database.url);
  // The suite must not pick up the developer's own TESSERA_* configuration.
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('TESSERA_')));
  const child = spawn(binary, args, {
    env: { ...env, ...settings, RUST_LOG: 'info', NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));

  // Both streams are read to the end, not just up to the listening line: a full pipe would
  // block the server's logging. The log is kept for failure messages.
  const log = [];
  let listening = false;
  const baseUrl = await new Promise((resolve, reject) => {
    const fail = (why) => {
      if (listening) return;
      clearTimeout(timer);
      child.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
      reject(new Error(`tessera did not start (${why}):\n${log.join('\n')}`));
    };
    const timer = setTimeout(() => fail('timeout'), START_TIMEOUT_MS);
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on('line', (raw) => {
        const line = raw.replace(ANSI, '');
        log.push(line);
        const match = /tessera listening addr=(\S+)/.exec(line);
        if (match && !listening) {
          listening = true;
          clearTimeout(timer);
          resolve(`http://${match[1]}`);
        }
      });
    }
    child.once('error', (error) => fail(error.message));
    exited.then(({ code, signal }) => fail(`exited with ${code ?? signal}`));
  });

  return {
    baseUrl,
    dataDir,
    log,
    /**
     * `tessera admin ARGS…` on this server's data dir and database, as an operator runs it next
     * to a live server (e.g. for what no API creates: machine users and their PATs); its output,
     * trimmed.
     */
    admin(...args) {
      const where = ['--data-dir', dataDir, ...(database ? ['--database-url', database.url] : [])];
      return execFileSync(binary, ['admin', ...where, ...args], {
        env: { ...env, RUST_LOG: 'warn', NO_COLOR: '1' },
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      }).trim();
    },
    /** SIGTERM, then the exit code (null if a signal killed it). */
    async stop() {
      child.kill('SIGTERM');
      const { code } = await exited;
      rmSync(dataDir, { recursive: true, force: true });
      database?.drop();
      return code;
    },
  };
}

/**
 * The ZITADEL personal access token of dev mode's administrator (an IAM_OWNER machine user),
 * which the server writes to `<data-dir>/admin.pat` before it listens.
 */
export function adminPat(server) {
  return readFileSync(join(server.dataDir, 'admin.pat'), 'utf8').trim();
}

/** Plain HTTP against the server, for what no SDK exposes; asserts success, returns the JSON body. */
export async function rest(baseUrl, path, { method = 'GET', body, headers = {} } = {}) {
  const response = await fetch(new URL(path, baseUrl), {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await response.json();
  assert.ok(response.ok, `${method} ${path} -> ${response.status} ${JSON.stringify(json)}`);
  return json;
}
