// Messaging sign-in on the customer's site (web/messaging/, its page and script unchanged) in
// Chromium: the page, served by the tests as https://www.example.com, signs its user in to the
// Web Widget with a messaging JWT from the local server's POST /messaging/jwt (across origins,
// so CORS is exercised). The widget is a STAND-IN, lib/messaging-widget-stand-in.js, written for
// these tests and not Zendesk's code (the real widget cannot load offline): it is served at the
// widget snippet's address and records the tokens the page hands to loginUser's callback.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { API_URL, assertServerIsUp, launchBrowser, screenshot } from '../lib/harness.mjs';

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the browser tests with scripts/browser-test`);
  return value;
}

/** The customer's site: the origin scripts/browser-test allows (MESSAGING_ALLOWED_ORIGINS). */
const SITE = required('MESSAGING_SITE');
const DEV_DIR = required('DEV_DIR');
/** The widget snippet's address, as the example page loads it. */
const SNIPPET_URL = 'https://static.zdassets.com/ekr/snippet.js?key=YOUR-WIDGET-KEY';
const JWT_URL_PLACEHOLDER = 'https://YOUR-API-ID.execute-api.YOUR-REGION.amazonaws.com/messaging/jwt';
const WEB = path.resolve('..', 'web', 'messaging');
const PAGE = readFileSync(path.join(WEB, 'index.html'), 'utf8');
const SCRIPT = readFileSync(path.join(WEB, 'messaging-sign-in.js'), 'utf8');
const WIDGET_STAND_IN = readFileSync(path.resolve('lib', 'messaging-widget-stand-in.js'), 'utf8');
/** The demo user's token, registered by `devserver init` (its external_id is demo-user-1). */
const DEMO_USER_TOKEN = readFileSync(path.join(DEV_DIR, 'demo-user-token'), 'utf8').trim();
/** The development messaging signing key, `{"kid", "secret"}`. */
const SIGNING_KEY = JSON.parse(readFileSync(path.join(DEV_DIR, 'messaging-signing-key'), 'utf8'));

/** The example page as the site's server would render it: its settings filled in. */
function renderedPage(userToken) {
  assert.ok(PAGE.includes(JWT_URL_PLACEHOLDER) && PAGE.includes('data-user-token=""'), 'the page keeps its two settings');
  return PAGE.replace(JWT_URL_PLACEHOLDER, `${API_URL}/messaging/jwt`)
    .replace('data-user-token=""', `data-user-token="${userToken}"`);
}

/** The header and claims of a messaging JWT, after checking its HS256 signature. */
function verified(jwt) {
  const [header, claims, signature] = jwt.split('.');
  const expected = createHmac('sha256', SIGNING_KEY.secret).update(`${header}.${claims}`).digest('base64url');
  assert.equal(signature, expected, 'signed with the signing key');
  const decode = (part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  return { header: decode(header), claims: decode(claims) };
}

/** What the stand-in widget recorded. */
async function widget(page) {
  return page.evaluate(() => {
    const { isStandIn, logins, logouts, tokens, unknownCalls } = window.messagingStandIn;
    return { isStandIn, logins, logouts, tokens: [...tokens], unknownCalls: [...unknownCalls] };
  });
}

describe('messaging sign-in on the customer\'s site (the Web Widget is a stand-in)', () => {
  let browser;
  before(async () => {
    await assertServerIsUp();
    // The site is a public https origin (answered by the tests) calling the loopback server.
    browser = await launchBrowser({ publicPagesMayFrameLoopback: true });
  });
  after(async () => {
    await browser?.close();
  });

  /** Open the site's account page at `origin`, rendered for `userToken` ('' for nobody). */
  async function openSite({ origin = SITE, userToken = DEMO_USER_TOKEN } = {}) {
    const context = await browser.newContext({ viewport: { width: 900, height: 600 } });
    await context.route(SNIPPET_URL, (route) => route.fulfill({ contentType: 'text/javascript', body: WIDGET_STAND_IN }));
    await context.route(`${origin}/**`, (route) => {
      const { pathname } = new URL(route.request().url());
      if (pathname === '/account') return route.fulfill({ contentType: 'text/html; charset=utf-8', body: renderedPage(userToken) });
      if (pathname === '/messaging-sign-in.js') return route.fulfill({ contentType: 'text/javascript', body: SCRIPT });
      return route.fulfill({ status: 404, body: 'not found' });
    });
    const page = await context.newPage();
    // Sign-in requests sent, and the answers the page could read (a response the browser's CORS
    // check refuses never reaches the page, nor this list).
    const isSignIn = (request) => request.method() === 'POST' && new URL(request.url()).pathname === '/messaging/jwt';
    const sent = [];
    const answers = [];
    const errors = [];
    page.on('request', (request) => {
      if (isSignIn(request)) sent.push(request.headers().origin);
    });
    page.on('response', (response) => {
      if (isSignIn(response.request())) answers.push(response.status());
    });
    page.on('pageerror', (error) => errors.push(String(error)));
    await page.goto(`${origin}/account`);
    return { context, page, sent, answers, errors };
  }

  it('signs the user in with a JWT of their external id, a fresh one whenever the widget asks, and out again', async () => {
    const { context, page, sent, answers, errors } = await openSite();
    await page.getByText('Messaging: signed in.').waitFor();
    assert.deepEqual(sent, [SITE], 'sent from the site\'s origin');
    let seen = await widget(page);
    assert.equal(seen.isStandIn, true, 'the widget on this page is the tests\' stand-in');
    assert.equal(seen.logins, 1);
    assert.equal(seen.tokens.length, 1);
    const { header, claims } = verified(seen.tokens[0]);
    assert.deepEqual(header, { alg: 'HS256', typ: 'JWT', kid: SIGNING_KEY.kid });
    assert.equal(claims.external_id, 'demo-user-1');
    assert.equal(claims.scope, 'user');
    assert.equal(claims.name, 'Demo User');
    assert.equal(claims.email, 'demo@example.com');
    assert.equal(claims.exp - claims.iat, 300);
    assert.ok(Math.abs(claims.iat - Date.now() / 1000) < 30, 'signed now');
    await screenshot(page, 'messaging-signed-in');

    // The token expired: the widget asks again, and the page fetches a new one.
    await page.evaluate(() => window.messagingStandIn.tokenExpired());
    await page.waitForFunction(() => window.messagingStandIn.tokens.length === 2);
    seen = await widget(page);
    assert.equal(verified(seen.tokens[1]).claims.external_id, 'demo-user-1');
    assert.deepEqual(answers, [200, 200]);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByText('Messaging: signed out.').waitFor();
    await page.evaluate(() => window.messagingStandIn.tokenExpired());
    seen = await widget(page);
    assert.equal(seen.logouts, 1);
    assert.equal(seen.tokens.length, 2, 'no token after signing out');
    assert.deepEqual(seen.unknownCalls, []);
    assert.deepEqual(errors, []);
    await context.close();
  });

  it('gives the widget no token and shows why when the user token is not known', async () => {
    const { context, page, answers, errors } = await openSite({ userToken: 'never-issued' });
    await page.getByText('Messaging sign-in failed: Unknown or expired user token (error 401).').waitFor();
    const seen = await widget(page);
    assert.equal(seen.logins, 1);
    assert.deepEqual(seen.tokens, []);
    assert.deepEqual(answers, [401]);
    assert.deepEqual(errors, []);
    await screenshot(page, 'messaging-unknown-user');
    await context.close();
  });

  it('gets no token on a site whose origin is not allowed', async () => {
    // The same page on another origin: the function refuses it (403) and the browser lets the
    // page read nothing of the answer.
    const { context, page, sent, answers } = await openSite({ origin: 'https://evil.example' });
    await page.getByText('Messaging sign-in failed: the sign-in service could not be reached.').waitFor();
    assert.deepEqual((await widget(page)).tokens, []);
    assert.deepEqual(sent, ['https://evil.example'], 'the request was sent, from that origin');
    assert.deepEqual(answers, [], 'and its answer withheld from the page');
    await context.close();
  });

  it('asks for nothing while nobody is signed in', async () => {
    const { context, page, sent } = await openSite({ userToken: '' });
    await page.getByText('Messaging: not signed in.').waitFor();
    await page.waitForTimeout(300);
    const seen = await widget(page);
    assert.equal(seen.logins, 0);
    assert.deepEqual(sent, []);
    assert.equal(await page.getByRole('button', { name: 'Sign out' }).isHidden(), true);
    await context.close();
  });
});
