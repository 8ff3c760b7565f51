// What Zendesk's own tools can check offline: the ticket sidebar app package served by
// `zcli apps:server` (npm @zendesk/zcli, with a throwaway HOME), and the help center template
// parsed by npm handlebars (Guide's Curlybars is a Ruby gem, not installable here). Neither needs
// the local server or the browser.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import Handlebars from 'handlebars';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const APP_DIR = path.join(ROOT, 'web', 'zendesk-app');
const HELP_CENTER_DIR = path.join(ROOT, 'web', 'help-center');
const ZCLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'node_modules', '.bin', 'zcli');
const ZCLI_VERSION = '1.0.1';

async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * `zcli apps:server DIR` on a free port, in a throwaway HOME: zcli keeps its cache and any
 * credentials under HOME, and would try to install keytar there. Its update check (a registry
 * request) is answered in advance by a fresh version file, so it stays offline.
 */
async function startAppsServer(dir) {
  const home = mkdtempSync(path.join(os.tmpdir(), 'zcli-home-'));
  const cacheDir = path.join(home, '.cache');
  mkdirSync(path.join(cacheDir, '@zendesk', 'zcli'), { recursive: true });
  writeFileSync(path.join(cacheDir, '@zendesk', 'zcli', 'version'), JSON.stringify({ latest: ZCLI_VERSION }));
  const port = await freePort();
  const child = spawn(ZCLI, ['apps:server', dir, '--bind', '127.0.0.1', '--port', String(port)], {
    env: {
      ...process.env,
      HOME: home,
      XDG_CACHE_HOME: cacheDir,
      XDG_CONFIG_HOME: path.join(home, '.config'),
      XDG_DATA_HOME: path.join(home, '.local', 'share'),
      NO_COLOR: '1',
    },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => { output += chunk; });
  child.stderr.on('data', (chunk) => { output += chunk; });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      try { process.kill(-child.pid, 'SIGTERM'); } catch { /* already gone */ }
    }
    await exited;
    rmSync(home, { recursive: true, force: true });
  };
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30000;
  for (;;) {
    const status = await Promise.race([exited.then(() => 'exited'), fetch(`${base}/app.json`).then((r) => r.status, () => 'down')]);
    if (status === 200) return { base, stop, output: () => output };
    if (status === 'exited' || Date.now() > deadline) {
      await stop();
      throw new Error(`zcli apps:server did not serve ${dir} (${status}); its output:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('Zendesk app package (zcli apps:server)', () => {
  it('serves the sidebar app from the manifest, with signed URLs on', async () => {
    const manifest = JSON.parse(readFileSync(path.join(APP_DIR, 'manifest.json'), 'utf8'));
    const server = await startAppsServer(APP_DIR);
    try {
      const response = await fetch(`${server.base}/app.json`);
      assert.equal(response.status, 200);
      const { apps, installations } = await response.json();
      assert.equal(apps.length, 1);
      const [app] = apps;
      assert.equal(app.signed_urls, true, 'Zendesk would open the app without a signed token');
      assert.equal(app.name, manifest.name);
      assert.equal(app.version, manifest.version);
      assert.equal(app.framework_version, '2.0');
      assert.equal(app.default_locale, 'en');
      assert.deepEqual(app.locations, {
        support: { ticket_sidebar: { url: manifest.location.support.ticket_sidebar.url, flexible: true } },
      });
      assert.deepEqual(installations.map((installation) => [installation.app_id, installation.enabled]), [[app.id, true]]);

      // Every asset in the package is served as zcli would hand it to Zendesk.
      const assetPath = new URL(app.asset_url_prefix).pathname;
      const assets = readdirSync(path.join(APP_DIR, 'assets'));
      assert.deepEqual(assets.sort(), ['logo-small.png', 'logo.png']);
      for (const asset of assets) {
        const served = await fetch(`${server.base}${assetPath}${asset}`);
        assert.equal(served.status, 200, asset);
        assert.equal(served.headers.get('content-type'), 'image/png', asset);
        assert.deepEqual(Buffer.from(await served.arrayBuffer()), readFileSync(path.join(APP_DIR, 'assets', asset)), asset);
      }
    } finally {
      await server.stop();
    }
  });
});

describe('help center template (handlebars)', () => {
  it('parses, and every {{asset}} it uses is in the theme assets', () => {
    const file = path.join(HELP_CENTER_DIR, 'templates', 'custom_pages', 'todo-list.hbs');
    const ast = Handlebars.parse(readFileSync(file, 'utf8'));
    const helpers = [];
    const visit = (node) => {
      if (!node || typeof node !== 'object') return;
      if (Array.isArray(node)) { node.forEach(visit); return; }
      if (['MustacheStatement', 'BlockStatement', 'SubExpression'].includes(node.type)) {
        helpers.push({ name: node.path.original, params: node.params.map((p) => (p.type === 'StringLiteral' ? p.value : p.type)) });
      }
      for (const [key, value] of Object.entries(node)) if (key !== 'loc') visit(value);
    };
    visit(ast.body);
    const used = helpers.filter((helper) => helper.name === 'asset');
    assert.deepEqual(used.map((helper) => helper.params), [['todo-list.js']], JSON.stringify(helpers));
    const assets = readdirSync(path.join(HELP_CENTER_DIR, 'assets'));
    for (const { params: [asset] } of used) assert.ok(assets.includes(asset), `${asset} is not in web/help-center/assets`);
  });
});
