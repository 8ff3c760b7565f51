// The ticket sidebar app opened whole from the harness's launcher page (/harness/sidebar): the
// launcher POSTs to /sidebar the way Zendesk does, with tokens signed by the development app key,
// and the start page or the error page is shown. With no Zendesk frame around the page, nothing
// could answer Zendesk's SDK, so here the SDK's address serves the hand-written stand-in
// (devserver/harness/zaf-sdk-stand-in.js). The page under the real SDK, in a Zendesk frame:
// sidebar-zaf-sdk.test.mjs.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { HARNESS_URL, assertServerIsUp, launchBrowser, openPage, screenshot } from '../lib/harness.mjs';
import { ZAF_SDK_URL } from '../lib/zaf-sdk.mjs';

/** Open the harness's launcher and press one of its buttons; resolves to the /sidebar response. */
async function openSidebar(page, button) {
  await page.goto(`${HARNESS_URL}/harness/sidebar`);
  const [response] = await Promise.all([
    page.waitForResponse((r) => new URL(r.url()).pathname === '/sidebar'),
    page.getByRole('button', { name: button }).click(),
  ]);
  await page.waitForLoadState('load');
  return response;
}

function cspViolations(seen) {
  return seen.console.filter((line) => /Content Security Policy/i.test(line));
}

describe('ticket sidebar app, opened whole from the harness launcher (SDK stand-in)', () => {
  let browser;
  let sdkStandIn;
  before(async () => {
    await assertServerIsUp();
    browser = await launchBrowser();
    sdkStandIn = await (await fetch(`${HARNESS_URL}/harness/zaf-sdk-stand-in.js`)).text();
    assert.match(sdkStandIn, /STAND-IN for Zendesk's ZAF SDK/);
  });
  after(async () => {
    await browser?.close();
  });

  it('shows the ticket on the start page after a valid signed POST', async () => {
    const { context, page, seen } = await openPage(browser);
    // Zendesk's CDN is out of reach here: its address is answered with the harness's stand-in,
    // so the page still loads it from the address (and under the CSP) it uses in production.
    await page.route(ZAF_SDK_URL, (route) => route.fulfill({ contentType: 'text/javascript', body: sdkStandIn }));
    await page.goto(`${HARNESS_URL}/harness/sidebar`);
    await screenshot(page, 'harness-sidebar-launcher');
    const response = await openSidebar(page, 'Open with a valid signed token');
    assert.equal(response.status(), 200);
    const csp = response.headers()['content-security-policy'];
    assert.match(csp, /script-src 'nonce-[0-9a-f]{32}' https:\/\/static\.zdassets\.com/);
    assert.match(csp, /frame-ancestors https:\/\/\*\.zendesk\.com/);
    assert.equal(response.headers()['set-cookie'], undefined, 'the sidebar sets no cookie');

    await page.getByText('Zendesk\'s signature on this request was verified.').waitFor();
    await page.locator('#details').waitFor();
    assert.equal(await page.locator('#subject').textContent(), 'Printer on fire <img src=x onerror=alert(1)>');
    assert.equal(await page.locator('#ticket-id').textContent(), '#4321');
    assert.equal(await page.locator('#ticket-status').textContent(), 'open');
    assert.equal(await page.locator('#requester').textContent(), 'Ann Example <ann@example.com>');
    assert.equal(await page.locator('body img').count(), 0);
    const standIn = await page.evaluate(() => window.zafStandIn);
    assert.deepEqual(standIn, {
      origin: 'https://example.zendesk.com',
      appGuid: '00000000-0000-4000-8000-000000000001',
      invoked: ['resize'],
    });
    // The development environment has sessions on: the ticket's note is read from the app's API.
    await page.waitForFunction(() => document.getElementById('note')?.disabled === false);
    assert.equal(await page.locator('#note-status').textContent(), '');
    assert.deepEqual(seen.dialogs, []);
    assert.deepEqual(seen.errors, []);
    assert.deepEqual(cspViolations(seen), []);
    await screenshot(page, 'sidebar-start-page');
    await context.close();
  });

  it('says so when the ZAF SDK cannot be loaded', async () => {
    const { context, page, seen } = await openPage(browser);
    const response = await openSidebar(page, 'Open with a valid signed token');
    assert.equal(response.status(), 200);
    await page.getByRole('heading', { name: 'Zendesk app framework unavailable' }).waitFor();
    await page.getByText('The Zendesk app framework (ZAF SDK) did not load').waitFor();
    assert.deepEqual(seen.errors, []);
    assert.deepEqual(cspViolations(seen), []);
    await screenshot(page, 'sidebar-without-sdk');
    await context.close();
  });

  for (const [button, status, title, name] of [
    ['Open with a token signed by another key (401)', 401, 'Not signed in', 'sidebar-error-forged'],
    ['Open with an expired token (401)', 401, 'Not signed in', 'sidebar-error-expired'],
    ['Open without a token (400)', 400, 'Missing token', 'sidebar-error-missing-token'],
    ['Open for an installation that is not enabled (403)', 403, 'App not enabled', 'sidebar-error-not-enabled'],
  ]) {
    it(`shows the error page for a bad signed POST: ${button}`, async () => {
      const { context, page, seen } = await openPage(browser);
      const response = await openSidebar(page, button);
      assert.equal(response.status(), status);
      assert.match(response.headers()['content-security-policy'], /script-src 'none'/);
      await page.getByRole('heading', { name: title }).waitFor();
      await page.getByText(`This app could not open (HTTP ${status}).`).waitFor();
      assert.equal(await page.locator('script').count(), 0);
      assert.equal(await page.getByText('Zendesk\'s signature on this request was verified.').count(), 0);
      assert.deepEqual(seen.errors, []);
      await screenshot(page, name);
      await context.close();
    });
  }
});
