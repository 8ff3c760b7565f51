// A STAND-IN for Zendesk's agent interface (not Zendesk's code): the ticket page that frames the
// sidebar app. The tests serve it as https://example.zendesk.com (Playwright answers that address;
// nothing leaves the machine). Like Zendesk with "signedUrls": true, it opens the app with a form
// POST of `token` into the app's frame, at the app URL plus `origin` and `app_guid`; then it
// answers the ZAF SDK's postMessage protocol from the frame: the handshake with
// `zaf.app.registered`, and `get` / `invoke` requests with `{id, result}` or `{id, error}`.
// Only the SDK inside the frame is Zendesk's code (lib/zaf-sdk.mjs).
import { API_URL, watch } from './harness.mjs';
import { ZAF_INIT_SPY, ZAF_SDK_URL } from './zaf-sdk.mjs';

/** The account the development keys sign for (devserver: subdomain `example`). */
export const ZENDESK_ORIGIN = 'https://example.zendesk.com';
/** The agent's ticket page, where the sidebar app opens. */
export const TICKET_PATH = '/agent/tickets/4321';
/** The frame's name; the signed POST targets it. */
const APP_FRAME = 'app_frame';

/** The ticket the stand-in answers `get` with; markup in its fields must stay text. */
export const TICKET = {
  'ticket.id': 4321,
  'ticket.subject': 'Printer on fire <img src=x onerror="document.title=\'pwned\'">',
  'ticket.status': 'open',
  'ticket.requester': { id: 7, name: 'Ann <b>Example</b>', email: 'ann@example.com' },
};

/** JSON that is safe inside a <script> element. */
function scriptJson(value) {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

// The responder, as plain browser script. Its config comes from the JSON element above it.
const RESPONDER = `(function () {
  'use strict';
  var config = JSON.parse(document.getElementById('zendesk-frame-config').textContent);
  var frame = document.querySelector('iframe[name="${APP_FRAME}"]');
  var appOrigin = new URL(config.appUrl).origin;
  var seen = window.zendeskFrame = { messages: [], ignored: 0 };

  function reply(message) { frame.contentWindow.postMessage(JSON.stringify(message), appOrigin); }

  window.addEventListener('message', function (event) {
    // Like Zendesk: only the app's own frame, from the app's own origin, is listened to.
    if (event.source !== frame.contentWindow || event.origin !== appOrigin) { seen.ignored += 1; return; }
    var message;
    try { message = JSON.parse(event.data); } catch (e) { seen.ignored += 1; return; }
    seen.messages.push(message);
    if (config.answer === 'never') return;
    if (message.key === 'iframe.handshake') {
      reply({ key: 'zaf.app.registered', message: { context: config.context, metadata: config.metadata } });
    } else if (message.request === 'get') {
      if (config.answer === 'reject-get') {
        reply({ id: message.id, error: { name: 'Error', message: 'ticket.subject is not available here' } });
        return;
      }
      var result = { errors: {} };
      message.params.forEach(function (path) {
        if (Object.prototype.hasOwnProperty.call(config.ticket, path)) result[path] = config.ticket[path];
        else result.errors[path] = { name: 'Error', message: 'is not a known path', path: path };
      });
      reply({ id: message.id, result: result });
    } else if (message.request === 'invoke') {
      var resize = message.params && message.params.resize && message.params.resize[0];
      if (resize) {
        frame.style.width = resize.width;
        frame.style.height = resize.height;
      }
      reply({ id: message.id, result: {} });
    }
  });

  // The signed POST that opens the app, made the way Zendesk makes it.
  var form = document.getElementById('zaf-signed-post');
  form.action = config.appUrl;
  if (config.token !== null) {
    var field = document.createElement('input');
    field.type = 'hidden';
    field.name = 'token';
    field.value = config.token;
    form.appendChild(field);
  }
  form.submit();
})();`;

/**
 * The stand-in ticket page. `answer`: `ticket` (answer every request), `reject-get` (answer
 * `get` with an error) or `never` (answer nothing, as when Zendesk hangs).
 */
export function zendeskTicketPage({ appUrl, token, answer = 'ticket', ticket = TICKET, appGuid }) {
  const config = {
    appUrl,
    token,
    answer,
    ticket,
    context: {
      host: 'zendesk', product: 'support', location: 'ticket_sidebar', instanceGuid: appGuid,
      account: { subdomain: 'example' }, ticketId: ticket['ticket.id'],
    },
    metadata: { appId: 1, installationId: 1, name: 'Signed ticket sidebar', settings: {} },
  };
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Ticket #${Number(ticket['ticket.id'])} (stand-in for Zendesk)</title>
  <style>
    body { font: 14px/1.4 system-ui, sans-serif; margin: 0; display: grid; grid-template-columns: 1fr 340px; min-height: 100vh; }
    main { padding: 16px; color: #2f3941; }
    aside { border-left: 1px solid #d8dcde; background: #f8f9f9; padding: 8px; }
    iframe { border: 0; width: 100%; height: 60px; background: #fff; }
  </style>
</head>
<body>
  <main>
    <h1>Ticket #${Number(ticket['ticket.id'])}</h1>
    <p>Stand-in for Zendesk's agent interface (browser tests). The sidebar app on the right runs
      Zendesk's ZAF SDK from npm.</p>
  </main>
  <aside>
    <iframe name="${APP_FRAME}" title="Signed ticket sidebar"></iframe>
    <form id="zaf-signed-post" method="post" target="${APP_FRAME}" hidden></form>
  </aside>
  <script type="application/json" id="zendesk-frame-config">${scriptJson(config)}</script>
  <script>${RESPONDER}</script>
</body>
</html>`;
}

/** The app's URL as Zendesk builds it: the manifest's URL plus `origin` and `app_guid`. */
export function appUrl({ origin, appGuid }) {
  const query = new URLSearchParams({ origin, app_guid: appGuid });
  return `${API_URL}/sidebar?${query}`;
}

/**
 * Open the sidebar app inside the stand-in ticket page, served as `parentOrigin` (default
 * https://example.zendesk.com), with the real SDK (`sdk`, from bundleZafSdk) answering the CDN
 * address. `origin` and `appGuid` go into the app URL; `token` is the POSTed token (null: none).
 * Resolves once the frame's /sidebar response has arrived and the frame has loaded what it shows.
 */
export async function openInZendesk(browser, {
  sdk, token, appGuid, parentOrigin = ZENDESK_ORIGIN, origin = ZENDESK_ORIGIN, answer, ticket,
}) {
  const context = await browser.newContext({ viewport: { width: 900, height: 520 } });
  await context.addInitScript(ZAF_INIT_SPY);
  const sdkRequests = [];
  await context.route(ZAF_SDK_URL, (route) => {
    sdkRequests.push(route.request().frame().url());
    return route.fulfill({ status: 200, contentType: 'text/javascript; charset=utf-8', body: sdk.source });
  });
  const url = appUrl({ origin, appGuid });
  const body = zendeskTicketPage({ appUrl: url, token, answer, ticket, appGuid });
  await context.route(`${parentOrigin}/**`, (route) => route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body }));
  const page = await context.newPage();
  const seen = watch(page);
  const sidebarResponse = page
    .waitForResponse((r) => new URL(r.url()).pathname === '/sidebar' && r.request().method() === 'POST', { timeout: 15000 })
    .catch((error) => {
      throw new Error(`the app's frame got no answer from ${url}: Chromium may have refused the frame `
        + `(Local Network Access: launchBrowser({ publicPagesMayFrameLoopback: true })) (${error.message})`);
    });
  await page.goto(`${parentOrigin}${TICKET_PATH}`);
  const response = await sidebarResponse;
  // The POST's answer is in; wait until the frame shows it (or the browser's error page, when it
  // refuses to show it) and has loaded.
  const appFrame = page.frame({ name: APP_FRAME });
  try {
    await appFrame.waitForURL((address) => address.href !== 'about:blank', { waitUntil: 'load' });
  } catch (error) {
    // The browser refused to show the answer in the frame (CSP frame-ancestors): final too.
    if (!/ERR_BLOCKED_BY_RESPONSE/.test(error.message)) throw error;
  }
  return {
    context,
    page,
    seen,
    response,
    appFrame,
    sdkRequests,
    /** The messages the app's frame sent to the stand-in, parsed, in order. */
    messages: () => page.evaluate(() => window.zendeskFrame.messages),
    /** The calls of ZAFClient.init() in the app's frame (see ZAF_INIT_SPY). */
    initCalls: () => appFrame.evaluate(() => window.zafInitCalls),
  };
}
