// Helpers for the browser tests: the local server's addresses (from scripts/browser-test),
// headless Chromium from the system, screenshots, and a record of what each page did.
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { chromium } from 'playwright-core';

function required(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: run the browser tests with scripts/browser-test, which starts the local server they need`);
  }
  return value.replace(/\/+$/, '');
}

/** Where the harness pages are served (http://localhost:PORT). */
export const HARNESS_URL = required('HARNESS_URL');
/** The same server by another origin (http://127.0.0.1:PORT): the to-do API as the page sees it. */
export const API_URL = required('API_URL');
const SCREENSHOTS_DIR = process.env.SCREENSHOTS_DIR || path.resolve('..', 'screenshots');

/**
 * Headless Chromium from the system, with no network but loopback. `publicPagesMayFrameLoopback`:
 * let a page served as a public https origin (the stand-in Zendesk, answered by Playwright) frame
 * the local server, which Chromium's Local Network Access checks refuse otherwise.
 */
export async function launchBrowser({ publicPagesMayFrameLoopback = false } = {}) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      // Only loopback is reachable: every other host name fails at once (e.g. the ZAF SDK's CDN).
      // Addresses the tests answer themselves (page.route) never reach the resolver.
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1',
      ...(publicPagesMayFrameLoopback ? ['--disable-features=LocalNetworkAccessChecks'] : []),
    ],
  });
}

/** Fail loudly, before any test, when the local server is not there. */
export async function assertServerIsUp() {
  let response;
  try {
    response = await fetch(`${HARNESS_URL}/harness`);
  } catch (error) {
    throw new Error(`the local server at ${HARNESS_URL} is unreachable (${error.cause?.code ?? error.message}); run scripts/browser-test`);
  }
  if (response.status !== 200) {
    throw new Error(`${HARNESS_URL}/harness answered ${response.status}: is the development environment loaded (DEV_DIR)?`);
  }
}

/** Save a full-page screenshot as screenshots/NAME.png. */
export async function screenshot(page, name) {
  mkdirSync(SCREENSHOTS_DIR, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS_DIR, `${name}.png`), fullPage: true });
}

/** A user id no other test uses. */
export function newUserId() {
  return 100000 + Math.floor(Math.random() * 1e9);
}

/** A port nothing listens on (bound, then released). */
export async function closedPort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The help center page's address for `user` (a number or 'anonymous'). */
export function helpCenterUrl({ user, token, api = API_URL, origin = HARNESS_URL }) {
  const query = new URLSearchParams({ user: String(user) });
  if (token) query.set('token', token);
  if (api) query.set('api', api);
  return `${origin}/hc/en-us/p/todo-list?${query}`;
}

/**
 * Record what a page does: token requests, to-do API answers, dialogs, uncaught errors and
 * console messages.
 */
export function watch(page) {
  const seen = { tokenRequests: 0, api: [], dialogs: [], errors: [], console: [] };
  page.on('request', (request) => {
    if (new URL(request.url()).pathname === '/api/v2/help_center/integration/token') seen.tokenRequests += 1;
  });
  page.on('response', (response) => {
    const request = response.request();
    if (request.method() !== 'OPTIONS' && new URL(response.url()).pathname.includes('/todo_items')) {
      seen.api.push(`${request.method()} ${response.status()}`);
    }
  });
  page.on('dialog', async (dialog) => {
    seen.dialogs.push(`${dialog.type()}: ${dialog.message()}`);
    await dialog.dismiss();
  });
  page.on('pageerror', (error) => seen.errors.push(String(error)));
  page.on('console', (message) => seen.console.push(`${message.type()}: ${message.text()}`));
  return seen;
}

/** A new browser context (its own cookies: one signed-in visitor) with a watched page. */
export async function openPage(browser, url) {
  const context = await browser.newContext({ viewport: { width: 900, height: 640 } });
  const page = await context.newPage();
  const seen = watch(page);
  if (url) await page.goto(url);
  return { context, page, seen };
}

/** The texts of the to-do items shown, once the page is not busy. */
export async function shownItems(page) {
  await page.waitForFunction(() => document.getElementById('todo-list')?.getAttribute('aria-busy') === 'false');
  return page.$$eval('[data-todo-items] li span', (spans) => spans.map((span) => span.textContent));
}

/** Wait until the page shows exactly `expected` (in order) and is not busy. */
export async function waitForItems(page, expected, timeout = 10000) {
  try {
    await page.waitForFunction((want) => {
      const root = document.getElementById('todo-list');
      const texts = [...document.querySelectorAll('[data-todo-items] li span')].map((s) => s.textContent);
      return root.getAttribute('aria-busy') === 'false' && JSON.stringify(texts) === JSON.stringify(want);
    }, expected, { timeout });
  } catch (error) {
    const shown = await page.$$eval('[data-todo-items] li span', (spans) => spans.map((s) => s.textContent)).catch(() => '?');
    const problem = await page.locator('[data-todo-error]').textContent().catch(() => '?');
    throw new Error(`expected items ${JSON.stringify(expected)}, shown ${JSON.stringify(shown)}; error shown: ${JSON.stringify(problem)}`);
  }
}

/** Add an item through the form, as a person would. */
export async function addItem(page, value) {
  await page.getByLabel('New to-do item').fill(value);
  await page.getByRole('button', { name: 'Add item' }).click();
}
