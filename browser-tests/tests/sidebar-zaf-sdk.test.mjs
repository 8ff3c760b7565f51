// The ticket sidebar app inside a Zendesk frame, under Zendesk's real ZAF SDK: a stand-in for
// Zendesk's ticket page (lib/zendesk-frame.mjs), served as https://example.zendesk.com, opens the
// app with the signed POST Zendesk makes; the start page, with its production CSP, loads the npm
// SDK (bundled here, served at the CDN address) and gets the ticket through it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { API_URL, assertServerIsUp, launchBrowser, newUserId, screenshot } from '../lib/harness.mjs';
import { bundleZafSdk } from '../lib/zaf-sdk.mjs';
import { TICKET, ZENDESK_ORIGIN, openInZendesk } from '../lib/zendesk-frame.mjs';

/** The npm build the README describes; another version needs its notes checked again. */
const SDK_VERSION = '2.0.11';
const VERIFIED = 'Zendesk\'s signature on this request was verified.';

function cspViolations(seen) {
  return seen.console.filter((line) => /Content Security Policy/i.test(line));
}

/** What the start page shows, once it is no longer loading. */
async function shownTicket(frame, timeout = 10000) {
  const subject = frame.locator('#subject');
  await frame.waitForFunction(() => document.getElementById('subject')?.textContent !== 'Loading the ticket\u2026', null, { timeout });
  return {
    subject: await subject.textContent(),
    detailsShown: await frame.locator('#details').isVisible(),
    id: await frame.locator('#ticket-id').textContent(),
    status: await frame.locator('#ticket-status').textContent(),
    requester: await frame.locator('#requester').textContent(),
    notice: await frame.locator('#notice').textContent(),
  };
}

/** Whether `check()` holds within `ms` milliseconds. */
async function eventually(check, ms = 3000) {
  for (const deadline = Date.now() + ms; !check(); await new Promise((resolve) => setTimeout(resolve, 50))) {
    if (Date.now() > deadline) return false;
  }
  return true;
}

/** The note field once the page has read the ticket's note (it is disabled until then). */
async function loadedNote(frame) {
  await frame.waitForFunction(() => {
    const field = document.getElementById('note');
    return field && !field.disabled;
  }, null, { timeout: 10000 });
  return frame.locator('#note');
}

/** The SDK's messages to Zendesk, by kind: the event key, or the request name. */
function kinds(messages) {
  return messages.map((message) => message.key ?? message.request);
}

describe('ticket sidebar app in a Zendesk frame, under the real ZAF SDK', () => {
  let browser;
  let sdk;
  let tokens;
  before(async () => {
    await assertServerIsUp();
    sdk = await bundleZafSdk();
    assert.equal(sdk.version, SDK_VERSION, 'the README describes the npm SDK 2.0.11; check its notes for this version');
    tokens = await (await fetch(`${API_URL}/harness/sidebar/tokens.json`)).json();
    assert.equal(tokens.origin, ZENDESK_ORIGIN);
    browser = await launchBrowser({ publicPagesMayFrameLoopback: true });
  });
  after(async () => {
    await browser?.close();
  });

  it('ZAFClient.init() returns a client and the ticket is shown as text, under the production CSP', async () => {
    const app = await openInZendesk(browser, { sdk, token: tokens.valid, appGuid: tokens.app_guid });
    assert.equal(app.response.status(), 200);
    const csp = app.response.headers()['content-security-policy'];
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'nonce-[0-9a-f]{32}' https:\/\/static\.zdassets\.com;/);
    assert.match(csp, /frame-ancestors https:\/\/\*\.zendesk\.com$/);

    const frame = app.appFrame;
    await frame.getByText(VERIFIED).waitFor();
    assert.deepEqual(await shownTicket(frame), {
      subject: TICKET['ticket.subject'],
      detailsShown: true,
      id: '#4321',
      status: 'open',
      requester: 'Ann <b>Example</b> <ann@example.com>',
      notice: '',
    });
    assert.equal(await frame.locator('img, b').count(), 0, 'markup in the ticket stays text');

    // The start page's own <script src> got the npm SDK, once; init read Zendesk's origin and
    // app_guid and returned a client.
    assert.deepEqual(app.sdkRequests, [app.response.url()]);
    const [call, ...more] = await app.initCalls();
    assert.deepEqual(more, []);
    assert.equal(call.returnedClient, true);
    const read = new URLSearchParams(call.search);
    assert.equal(read.get('origin'), ZENDESK_ORIGIN);
    assert.equal(read.get('app_guid'), tokens.app_guid);

    // The SDK's side of the conversation, as Zendesk received it.
    const messages = await app.messages();
    assert.deepEqual(kinds(messages), ['iframe.handshake', 'iframe.on:context.updated', 'invoke', 'get']);
    assert.ok(messages.every((message) => message.appGuid === tokens.app_guid), JSON.stringify(messages));
    // The development environment has sessions on: the page is taller, for the ticket's note.
    assert.deepEqual(messages[2].params, { resize: [{ width: '100%', height: '400px' }] });
    assert.deepEqual(messages[3].params, ['ticket.id', 'ticket.subject', 'ticket.status', 'ticket.requester']);
    const box = await app.page.locator('iframe[name="app_frame"]').boundingBox();
    assert.equal(box.height, 400, 'Zendesk resized the sidebar as the app asked');
    await loadedNote(frame);
    assert.equal(await frame.locator('#note-status').textContent(), '');

    assert.deepEqual(app.seen.dialogs, []);
    assert.deepEqual(app.seen.errors, []);
    assert.deepEqual(cspViolations(app.seen), []);
    assert.equal(await app.page.title(), 'Ticket #4321 (stand-in for Zendesk)');
    await screenshot(app.page, 'sidebar-in-zendesk-frame');
    await app.context.close();
  });

  it('saves the ticket\'s note through the app\'s API and shows it after a reload', async () => {
    // A ticket no other test uses; the ticket id is the one the SDK's get answers.
    const ticket = { ...TICKET, 'ticket.id': newUserId() };
    const notePath = `/sidebar/api/tickets/${ticket['ticket.id']}/note`;
    const first = await openInZendesk(browser, { sdk, token: tokens.valid, appGuid: tokens.app_guid, ticket });
    assert.equal(first.response.status(), 200);
    const field = await loadedNote(first.appFrame);
    assert.equal(await field.inputValue(), '', 'a ticket without a note');

    const note = 'Call back on Monday.\n<img src=x onerror="document.title=\'pwned\'"> & <b>not bold</b>';
    await field.fill(note);
    const [put] = await Promise.all([
      first.page.waitForRequest((r) => r.method() === 'PUT' && new URL(r.url()).pathname === notePath),
      first.appFrame.getByRole('button', { name: 'Save note' }).click(),
    ]);
    await first.appFrame.locator('#note-status', { hasText: 'Saved.' }).waitFor();
    // The call went to the page's own origin with the session as a bearer token and the page's
    // app_guid; no cookie, and the note as JSON with the version it replaces.
    assert.equal(new URL(put.url()).origin, API_URL);
    const headers = await put.allHeaders();
    assert.match(headers.authorization, /^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
    assert.equal(headers['x-app-guid'], encodeURIComponent(tokens.app_guid));
    assert.equal(headers.cookie, undefined);
    assert.deepEqual(put.postDataJSON(), { note, version: 0 });
    assert.deepEqual(first.seen.errors, []);
    assert.deepEqual(cspViolations(first.seen), []);
    await screenshot(first.page, 'sidebar-note-saved');
    await first.context.close();

    // Zendesk opens the app again (a new signed POST, a new session): the note is there, as text.
    const again = await openInZendesk(browser, { sdk, token: tokens.valid, appGuid: tokens.app_guid, ticket });
    const reloaded = await loadedNote(again.appFrame);
    assert.equal(await reloaded.inputValue(), note);
    assert.equal(await again.appFrame.locator('img, b').count(), 0, 'the note stays text');
    assert.notEqual(await again.appFrame.evaluate(() => document.title), 'pwned');
    assert.equal((await shownTicket(again.appFrame)).id, `#${ticket['ticket.id']}`);
    assert.deepEqual(again.seen.errors, []);
    assert.deepEqual(cspViolations(again.seen), []);
    await screenshot(again.page, 'sidebar-note-after-reload');
    await again.context.close();

    // Another ticket has its own note.
    const other = await openInZendesk(browser, {
      sdk, token: tokens.valid, appGuid: tokens.app_guid, ticket: { ...ticket, 'ticket.id': ticket['ticket.id'] + 1 },
    });
    assert.equal(await (await loadedNote(other.appFrame)).inputValue(), '');
    await other.context.close();
  });

  it('keeps an agent\'s text when someone else saved the note meanwhile, and saves it on request', async () => {
    const ticket = { ...TICKET, 'ticket.id': newUserId() };
    // Two agents open the same ticket's note.
    const ann = await openInZendesk(browser, { sdk, token: tokens.valid, appGuid: tokens.app_guid, ticket });
    const bob = await openInZendesk(browser, { sdk, token: tokens.valid, appGuid: tokens.app_guid, ticket });
    const annNote = await loadedNote(ann.appFrame);
    const bobNote = await loadedNote(bob.appFrame);
    await annNote.fill('Ann: refund approved');
    await ann.appFrame.getByRole('button', { name: 'Save note' }).click();
    await ann.appFrame.locator('#note-status', { hasText: 'Saved.' }).waitFor();
    // Bob saves over the version he read: refused, his text kept, and he is told so.
    await bobNote.fill('Bob: waiting for the customer');
    await bob.appFrame.getByRole('button', { name: 'Save note' }).click();
    await bob.appFrame.getByText('Someone else saved this note meanwhile. Save again to replace their text with yours.').waitFor();
    assert.equal(await bobNote.inputValue(), 'Bob: waiting for the customer');
    await screenshot(bob.page, 'sidebar-note-conflict');
    // Saving again replaces Ann's text with his.
    await bob.appFrame.getByRole('button', { name: 'Save note' }).click();
    await bob.appFrame.locator('#note-status', { hasText: 'Saved.' }).waitFor();
    await ann.context.close();
    await bob.context.close();
    const again = await openInZendesk(browser, { sdk, token: tokens.valid, appGuid: tokens.app_guid, ticket });
    assert.equal(await (await loadedNote(again.appFrame)).inputValue(), 'Bob: waiting for the customer');
    assert.deepEqual(again.seen.errors, []);
    await again.context.close();
  });

  it('writes a hostile app_guid into the page as text, and still works', async () => {
    const appGuid = '"><img src=x id=injected>\'&<b>';
    const app = await openInZendesk(browser, { sdk, token: tokens.valid, appGuid });
    assert.equal(app.response.status(), 200);
    const frame = app.appFrame;
    await frame.getByText(VERIFIED).waitFor();
    assert.equal((await shownTicket(frame)).subject, TICKET['ticket.subject']);
    assert.equal(await frame.locator('img, b, #injected').count(), 0);
    assert.equal(await frame.evaluate(() => document.body.dataset.appGuid), appGuid);
    assert.equal(await frame.evaluate(() => document.body.dataset.origin), ZENDESK_ORIGIN);
    const [call] = await app.initCalls();
    assert.equal(new URLSearchParams(call.search).get('app_guid'), appGuid);
    assert.ok((await app.messages()).every((message) => message.appGuid === appGuid));
    // The session is bound to this app_guid, which the page sends encoded: the note loads.
    await loadedNote(frame);
    assert.equal(await frame.locator('#note-status').textContent(), '');
    assert.deepEqual(app.seen.errors, []);
    assert.deepEqual(cspViolations(app.seen), []);
    await app.context.close();
  });

  it('shows the page\'s error when Zendesk rejects the get', async () => {
    const app = await openInZendesk(browser, { sdk, token: tokens.valid, appGuid: tokens.app_guid, answer: 'reject-get' });
    assert.equal(app.response.status(), 200);
    const shown = await shownTicket(app.appFrame);
    assert.deepEqual(shown, {
      subject: 'Ticket unavailable',
      detailsShown: false,
      id: '',
      status: '',
      requester: '',
      notice: 'The ticket could not be read. This app works in the ticket sidebar.',
    });
    assert.deepEqual(kinds(await app.messages()), ['iframe.handshake', 'iframe.on:context.updated', 'invoke', 'get']);
    assert.deepEqual(app.seen.errors, []);
    await screenshot(app.page, 'sidebar-in-zendesk-frame-get-rejected');
    await app.context.close();
  });

  it('gives up with an error, not an endless "Loading", when Zendesk never answers', async () => {
    const app = await openInZendesk(browser, { sdk, token: tokens.valid, appGuid: tokens.app_guid, answer: 'never' });
    assert.equal(app.response.status(), 200);
    // The npm SDK gives up on an unanswered request after 5 s (the page then says the ticket is
    // unavailable); with an SDK that waits longer, the page's own 8 s timer speaks first.
    const shown = await shownTicket(app.appFrame, 15000);
    assert.ok(
      [
        'Ticket unavailable: The ticket could not be read. This app works in the ticket sidebar.',
        'No answer from Zendesk: Zendesk did not send the ticket. Open this app from a ticket in Zendesk.',
      ].includes(`${shown.subject}: ${shown.notice}`),
      JSON.stringify(shown),
    );
    assert.equal(shown.detailsShown, false);
    assert.equal(shown.id, '');
    assert.deepEqual(kinds(await app.messages()), ['iframe.handshake']);
    assert.deepEqual(app.seen.errors, []);
    await app.context.close();
  });

  it('does not render when a non-Zendesk origin frames it (CSP frame-ancestors)', async () => {
    // The valid case first: framed by the Zendesk account, the page talks to it.
    const valid = await openInZendesk(browser, { sdk, token: tokens.valid, appGuid: tokens.app_guid });
    await valid.appFrame.getByText(VERIFIED).waitFor();
    assert.equal((await shownTicket(valid.appFrame)).subject, TICKET['ticket.subject']);
    await valid.context.close();

    // Another site replays a valid signed POST, naming itself as the origin so the SDK would talk
    // to it: the token is accepted (200), but the browser refuses to show the page in its frame.
    for (const origin of ['https://evil.example', 'https://example.zendesk.com.evil.example', 'https://examplezendesk.com']) {
      const app = await openInZendesk(browser, { sdk, token: tokens.valid, appGuid: tokens.app_guid, parentOrigin: origin, origin });
      assert.equal(app.response.status(), 200, origin);
      assert.notEqual(new URL(app.appFrame.url()).origin, API_URL, `${origin}: the start page was shown in its frame`);
      assert.deepEqual(app.sdkRequests, [], `${origin}: the SDK was loaded`);
      assert.deepEqual(await app.messages(), [], `${origin}: the SDK talked to the framing page`);
      assert.ok(
        await eventually(() => app.seen.console.some((line) => line.includes('frame-ancestors https://*.zendesk.com'))),
        `${origin}: no frame-ancestors violation in ${JSON.stringify(app.seen.console)}`,
      );
      await screenshot(app.page, `sidebar-framed-by-${new URL(origin).hostname}`);
      await app.context.close();
    }
  });

  it('never reaches the SDK after an unsigned, forged or expired POST, or one of an installation that is not enabled', async () => {
    const valid = await openInZendesk(browser, { sdk, token: tokens.valid, appGuid: tokens.app_guid });
    await valid.appFrame.getByText(VERIFIED).waitFor();
    assert.equal(valid.sdkRequests.length, 1);
    await valid.context.close();

    for (const [name, token, status, heading] of [
      ['unsigned', null, 400, 'Missing token'],
      ['forged', tokens.forged, 401, 'Not signed in'],
      ['expired', tokens.expired, 401, 'Not signed in'],
      ['not enabled', tokens.not_enabled, 403, 'App not enabled'],
    ]) {
      const app = await openInZendesk(browser, { sdk, token, appGuid: tokens.app_guid });
      assert.equal(app.response.status(), status, name);
      assert.match(app.response.headers()['content-security-policy'], /script-src 'none'/);
      const frame = app.appFrame;
      await frame.getByRole('heading', { name: heading }).waitFor();
      await frame.getByText(`This app could not open (HTTP ${status}).`).waitFor();
      assert.equal(await frame.getByText(VERIFIED).count(), 0, name);
      assert.equal(await frame.locator('script').count(), 0, name);
      assert.deepEqual(app.sdkRequests, [], `${name}: the SDK was loaded`);
      assert.equal(await frame.evaluate(() => typeof window.ZAFClient), 'undefined', name);
      assert.deepEqual(await app.messages(), [], `${name}: the frame talked to Zendesk`);
      assert.deepEqual(app.seen.errors, []);
      await screenshot(app.page, `sidebar-in-zendesk-frame-${name.replace(' ', '-')}`);
      await app.context.close();
    }
  });
});
