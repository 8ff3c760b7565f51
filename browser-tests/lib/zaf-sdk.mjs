// Zendesk's real ZAF SDK for the browser tests: the npm package `zendesk_app_framework_sdk`
// (CommonJS source) bundled for the browser with esbuild, served at the CDN address the start
// page loads, plus a spy that records what the page passes to ZAFClient.init() and what it gets.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { build } from 'esbuild';

/** Zendesk's CDN address of the SDK, exactly as the start page loads it (functions/sidebar). */
export const ZAF_SDK_URL = 'https://static.zdassets.com/zendesk_app_framework_sdk/2.0/zaf_sdk.min.js';

const require = createRequire(import.meta.url);

/**
 * The npm SDK bundled as one browser script that defines the global `ZAFClient`, as the CDN's
 * zaf_sdk.min.js does. Resolves to `{ version, source }`.
 */
export async function bundleZafSdk() {
  const packageJson = require.resolve('zendesk_app_framework_sdk/package.json');
  const { version } = JSON.parse(readFileSync(packageJson, 'utf8'));
  const result = await build({
    entryPoints: [require.resolve('zendesk_app_framework_sdk')],
    bundle: true,
    format: 'iife',
    globalName: 'ZAFClient',
    platform: 'browser',
    write: false,
    logLevel: 'silent',
  });
  const source = result.outputFiles[0].text;
  if (!/var ZAFClient = /.test(source)) throw new Error('the SDK bundle does not define ZAFClient');
  return { version, source };
}

/**
 * Runs in every frame before its scripts: when a script defines `window.ZAFClient`, wrap its
 * `init` so each call is recorded in `window.zafInitCalls` (the location the SDK reads: the
 * argument the page passed, or the page's own URL; and whether a client came back). The real
 * `init` does all the work.
 */
export const ZAF_INIT_SPY = `(() => {
  let zaf;
  window.zafInitCalls = [];
  Object.defineProperty(window, 'ZAFClient', {
    configurable: true,
    get() { return zaf; },
    set(value) {
      zaf = value;
      if (!value || typeof value.init !== 'function') return;
      const init = value.init;
      value.init = function (callback, location) {
        const read = location || window.location;
        const client = init.apply(this, arguments);
        window.zafInitCalls.push({
          locationArgument: location !== undefined,
          search: String(read.search || ''),
          hash: String(read.hash || ''),
          returnedClient: !!client && typeof client.get === 'function' && typeof client.invoke === 'function',
        });
        return client;
      };
    },
  });
})();`;
