// Shared by every test file: one real `tessera serve` and one headless Chromium page, either
// running the bundled, unmodified Firebase JS SDK from a static server (`useBrowser`) or showing
// Tessera's own self-service page at /ui/ (`useSelfService`). node --test runs each file in its
// own process.
//
// The server is the binary cargo built (`target/debug/tessera`, or TESSERA_BIN); with
// TEST_POSTGRES_URL set it runs on a fresh PostgreSQL database instead of SQLite. The browser is
// Debian's Chromium: playwright-core drives it and never downloads one of its own.

import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { after, afterEach, before } from 'node:test';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

import { adminPat, PROJECT, rest, startTessera } from '../../shared/tessera.mjs';

export { hex, PASSWORD, PROJECT, sleep, uniqueEmail, uniquePhone } from '../../shared/tessera.mjs';
export const CHROMIUM = '/usr/bin/chromium';
const HERE = fileURLToPath(new URL('../', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Serves the page and its bundle (built by run-tests.sh) on a free loopback port. */
async function servePage() {
  const bundle = join(HERE, 'dist/main.js');
  assert.ok(existsSync(bundle), `${bundle} is missing: run clients/browser/run-tests.sh, which builds it`);
  const files = {
    '/': ['text/html; charset=utf-8', readFileSync(join(HERE, 'page/index.html'))],
    '/main.js': ['text/javascript; charset=utf-8', readFileSync(bundle)],
  };
  const server = createServer((request, response) => {
    const file = files[new URL(request.url, 'http://x').pathname];
    response.writeHead(file ? 200 : 404, { 'content-type': file?.[0] ?? 'text/plain' });
    response.end(file?.[1] ?? 'not found');
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${server.address().port}/`, close: () => new Promise((resolve) => server.close(resolve)) };
}

/**
 * Launches Chromium with one page that may reach `host` only (any port), and records the
 * page's exchanges with Tessera (`baseUrl`) for failure messages: `exchanges` holds strings or
 * promises of them; `offsite` the requests that would have left `host`.
 */
async function openChromium({ host, baseUrl, viewport }) {
  const exchanges = [];
  const offsite = [];
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    // Belt and braces beside the request guard below: Chromium resolves no other host.
    args: [`--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE ${host}`],
  });
  const context = await browser.newContext(viewport ? { viewport } : {});
  // Everything the page needs is served locally: any other request fails the test.
  await context.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (url.hostname === host) return route.continue();
    offsite.push(url.href);
    return route.abort('blockedbyclient');
  });
  const page = await context.newPage();
  // Recorded on 'response', which arrives before the page sees the body, so a failing step
  // lists the exchange that failed it.
  page.on('response', (response) => {
    const request = response.request();
    if (!request.url().startsWith(baseUrl)) return;
    const sent = `${request.method()} ${request.url().slice(baseUrl.length)} ${request.postData() ?? ''}`;
    const { location, 'content-type': type = '' } = response.headers();
    const status = `${sent}\n  -> ${response.status()}${location ? ` location: ${location}` : ''}`;
    // Pages, styles and scripts by their type only: the JSON answers are what tell.
    const media = /^text\/(html|css|javascript)/.exec(type)?.[0];
    exchanges.push(media ? `${status} (${media})` : response.text().then((body) => `${status} ${body}`, () => status));
  });
  page.on('requestfailed', (request) =>
    exchanges.push(`${request.method()} ${request.url()} failed: ${request.failure()?.errorText}`),
  );
  page.on('pageerror', (error) => exchanges.push(`page error: ${error.message}`));
  return { browser, page, exchanges, offsite };
}

/** Appends the exchanges recorded from index `start` on to a failing step's error. */
async function withExchanges(error, exchanges, start) {
  const during = await Promise.all(exchanges.slice(start));
  error.message += `\nTessera exchanges during this step:\n${during.join('\n') || '(none)'}`;
  return error;
}

/**
 * Registers before/after hooks for one server, one browser and one page; returns a context
 * filled in by `before`: `baseUrl`, `page`, `run(fn, arg)`, `rest(path, options)`,
 * `smsCode(sessionInfo)` and `requests` (every request the page made). In the page,
 * `window.t.auth` is an Auth of a fresh app connected to the server.
 */
export function useBrowser() {
  const ctx = { requests: [] };
  let server;
  let site;
  let chrome;

  before(async () => {
    // Fail, not skip: a machine without Chromium cannot vouch for phone MFA.
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install -y chromium`);
    server = await startTessera({ suite: 'browser' });
    ctx.baseUrl = server.baseUrl;
    site = await servePage();
    chrome = await openChromium({ host: '127.0.0.1', baseUrl: ctx.baseUrl });
    const { page } = chrome;
    page.on('request', (request) => ctx.requests.push(request));
    await page.goto(site.url);
    await page.waitForFunction(() => window.firebase);
    ctx.page = page;
    // What an app does in emulator mode. (Set up here, not in the test files: Node 20 runs
    // top-level before hooks concurrently.)
    await ctx.run(
      ({ baseUrl, project }) => {
        const { connectAuthEmulator, getAuth } = firebase.auth;
        const auth = getAuth(firebase.app.initializeApp({ apiKey: 'dev-api-key', projectId: project }));
        connectAuthEmulator(auth, baseUrl, { disableWarnings: true });
        // connectAuthEmulator sets it too; RecaptchaVerifier picks its mock reCAPTCHA by it.
        auth.settings.appVerificationDisabledForTesting = true;
        window.t = { auth };
      },
      { baseUrl: ctx.baseUrl, project: PROJECT },
    );
  });

  afterEach(() => {
    if (chrome) assert.deepEqual(chrome.offsite.splice(0), [], 'the page tried to reach a host other than 127.0.0.1');
  });

  after(async () => {
    await chrome?.browser.close();
    await site?.close();
    if (server) assert.equal(await server.stop(), 0, `tessera exit status; log:\n${server.log.join('\n')}`);
  });

  /**
   * Runs `fn(arg)` in the page (page.evaluate: `fn` sees only the page's globals, e.g.
   * `firebase.auth`, and returns plain data). On failure the error lists the calls to Tessera
   * made meanwhile, so a server misbehaviour shows as the exact exchange.
   */
  ctx.run = async (fn, arg) => {
    const start = chrome.exchanges.length;
    try {
      return await ctx.page.evaluate(fn, arg);
    } catch (error) {
      throw await withExchanges(error, chrome.exchanges, start);
    }
  };

  /** Plain HTTP against the server from the test process; returns the parsed JSON body. */
  ctx.rest = (path, options) => rest(ctx.baseUrl, path, options);

  /** The SMS "sent" for `sessionInfo` (the SDK's verificationId), from the dev outbox hook. */
  ctx.smsCode = async (sessionInfo) => {
    const { verificationCodes } = await ctx.rest(`/emulator/v1/projects/${PROJECT}/verificationCodes`);
    const matches = verificationCodes.filter((entry) => entry.sessionInfo === sessionInfo);
    assert.equal(matches.length, 1, `one pending code for the verificationId: ${JSON.stringify(verificationCodes)}`);
    return matches[0];
  };

  return ctx;
}

/** Where `UPDATE_SCREENSHOTS=1` writes the self-service page's screenshots (for the README). */
export const SCREENSHOTS = join(ROOT, 'docs/screenshots');

/**
 * The self-service page: one server and one Chromium page (1200 px wide) that loads Tessera's
 * /ui/ from `http://localhost:<port>` — not 127.0.0.1: security keys take the page's host as
 * WebAuthn relying-party id, the server's default allowed origin is `http://localhost`, and
 * Chromium treats localhost as a secure context (WebAuthn, the page's `Secure` cookies).
 *
 * Returns a context filled in by `before`: `origin`, `page`, `adminPat` (dev mode's ZITADEL
 * administrator PAT, for tests that call the ZITADEL API), `rest(path, options)`, `step(fn)`
 * and `screenshot(name)`.
 */
export function useSelfService() {
  const ctx = {};
  let server;
  let chrome;

  before(async () => {
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install -y chromium`);
    server = await startTessera({ suite: 'browser_ui' });
    ctx.origin = `http://localhost:${new URL(server.baseUrl).port}`;
    ctx.adminPat = adminPat(server);
    chrome = await openChromium({ host: 'localhost', baseUrl: ctx.origin, viewport: { width: 1200, height: 800 } });
    ctx.page = chrome.page;
  });

  afterEach(() => {
    if (chrome) assert.deepEqual(chrome.offsite.splice(0), [], 'the page tried to reach a host other than localhost');
  });

  after(async () => {
    await chrome?.browser.close();
    if (server) assert.equal(await server.stop(), 0, `tessera exit status; log:\n${server.log.join('\n')}`);
  });

  /** Plain HTTP against the server from the test process; returns the parsed JSON body. */
  ctx.rest = (path, options) => rest(server.baseUrl, path, options);

  /**
   * Runs `fn(page)` (test code driving the page). On failure the error gives the page's URL and
   * notice and lists the page's exchanges with Tessera meanwhile, so a server misbehaviour
   * shows as the exact request and response.
   */
  ctx.step = async (fn) => {
    const start = chrome.exchanges.length;
    try {
      return await fn(ctx.page);
    } catch (error) {
      const notice = await ctx.page
        .locator('#notice')
        .textContent({ timeout: 100 })
        .catch(() => null);
      error.message += `\nThe page: ${ctx.page.url()}${notice ? ` (notice: ${JSON.stringify(notice)})` : ''}`;
      throw await withExchanges(error, chrome.exchanges, start);
    }
  };

  /**
   * A full-page screenshot to `docs/screenshots/<name>.png`, only with UPDATE_SCREENSHOTS=1
   * (a normal run leaves the repository alone).
   */
  ctx.screenshot = async (name) => {
    if (process.env.UPDATE_SCREENSHOTS !== '1') return;
    mkdirSync(SCREENSHOTS, { recursive: true });
    await ctx.page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
  };

  return ctx;
}
