// The help center to-do page (the theme's todo-list template and script) in Chromium, served by
// the local harness, calling the to-do API across origins with help center JWTs.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  API_URL, addItem, assertServerIsUp, closedPort, helpCenterUrl, launchBrowser, newUserId, openPage,
  screenshot, shownItems, waitForItems,
} from '../lib/harness.mjs';

describe('help center to-do page', () => {
  let browser;
  before(async () => {
    await assertServerIsUp();
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  it('asks anonymous visitors to sign in and never asks for a token', async () => {
    const { context, page, seen } = await openPage(browser, helpCenterUrl({ user: 'anonymous' }));
    await page.getByText('Sign in to the help center to see and edit your to-do list.').waitFor();
    assert.equal(await page.locator('[data-todo-app]').isHidden(), true);
    assert.equal(seen.tokenRequests, 0);
    assert.deepEqual(seen.api, []);
    await screenshot(page, 'help-center-anonymous');
    await context.close();
  });

  it('lets two users add and delete their own items, kept across reloads and never mixed', async () => {
    const ann = await openPage(browser, helpCenterUrl({ user: newUserId() }));
    const bob = await openPage(browser, helpCenterUrl({ user: newUserId() }));
    await waitForItems(ann.page, []);
    await waitForItems(bob.page, []);
    await ann.page.getByText('Nothing on your list yet.').waitFor();

    await addItem(ann.page, 'Renew the passport');
    await waitForItems(ann.page, ['Renew the passport']);
    await addItem(ann.page, 'Call the bank');
    await waitForItems(ann.page, ['Renew the passport', 'Call the bank']);
    await addItem(bob.page, 'Book the flights');
    await waitForItems(bob.page, ['Book the flights']);
    assert.equal(await ann.page.getByLabel('New to-do item').inputValue(), '', 'the field is cleared after adding');

    await ann.page.reload();
    await bob.page.reload();
    await waitForItems(ann.page, ['Renew the passport', 'Call the bank']);
    await waitForItems(bob.page, ['Book the flights']);
    await ann.page.getByText('2 items on your list.').waitFor();

    await ann.page.getByRole('button', { name: 'Delete "Renew the passport"' }).click();
    await waitForItems(ann.page, ['Call the bank']);
    await ann.page.reload();
    await waitForItems(ann.page, ['Call the bank']);
    await bob.page.reload();
    await waitForItems(bob.page, ['Book the flights']);
    await screenshot(ann.page, 'help-center-signed-in');

    await bob.page.getByRole('button', { name: 'Delete "Book the flights"' }).click();
    await waitForItems(bob.page, []);
    await ann.page.reload();
    await waitForItems(ann.page, ['Call the bank']);

    for (const { seen } of [ann, bob]) {
      assert.deepEqual(seen.errors, []);
      assert.ok(seen.api.every((call) => /^(GET 200|POST 201|DELETE 200)$/.test(call)), seen.api.join(', '));
    }
    await ann.context.close();
    await bob.context.close();
  });

  it('shows a value full of markup as text and runs none of it', async () => {
    const markup = '<img src=x onerror=alert(1)><script>alert(2)</script>&amp; "quoted"';
    const { context, page, seen } = await openPage(browser, helpCenterUrl({ user: newUserId() }));
    await waitForItems(page, []);
    await addItem(page, markup);
    await waitForItems(page, [markup]);
    await page.reload();
    await waitForItems(page, [markup]);
    await page.waitForTimeout(300);
    assert.equal(await page.locator('#todo-list img, #todo-list [data-todo-items] script').count(), 0);
    await page.getByRole('button', { name: `Delete "${markup.slice(0, 59)}…"` }).waitFor();
    assert.deepEqual(seen.dialogs, []);
    assert.deepEqual(seen.errors, []);
    await screenshot(page, 'help-center-markup-as-text');
    await context.close();
  });

  it('reuses one token for many calls until shortly before it expires', async () => {
    const { context, page, seen } = await openPage(browser);
    // Page time can be moved on; the server's clock stays real, so old tokens remain valid there.
    await page.clock.install();
    await page.goto(helpCenterUrl({ user: newUserId() }));
    await waitForItems(page, []);
    await addItem(page, 'one');
    await waitForItems(page, ['one']);
    await page.clock.fastForward(2000);
    await addItem(page, 'two');
    await waitForItems(page, ['one', 'two']);
    assert.equal(seen.tokenRequests, 1, 'one token for three calls');

    // Tokens live 600 s and are fetched again 30 s before exp.
    await page.clock.fastForward('09:00');
    await page.getByRole('button', { name: 'Delete "one"' }).click();
    await waitForItems(page, ['two']);
    assert.equal(seen.tokenRequests, 1, 'still fresh after 9 minutes');

    await page.clock.fastForward('00:40');
    await page.getByRole('button', { name: 'Delete "two"' }).click();
    await waitForItems(page, []);
    assert.equal(seen.tokenRequests, 2, 'a new token within 30 s of exp');
    assert.deepEqual(seen.api, ['GET 200', 'POST 201', 'POST 201', 'DELETE 200', 'DELETE 200']);
    await context.close();
  });

  it('does not reuse a token that is about to expire', async () => {
    const { context, page, seen } = await openPage(browser, helpCenterUrl({ user: newUserId(), token: 'short-lived' }));
    await waitForItems(page, []);
    await addItem(page, 'quick');
    await waitForItems(page, ['quick']);
    assert.equal(seen.tokenRequests, 2, 'one token per call');
    assert.deepEqual(seen.api, ['GET 200', 'POST 201']);
    await context.close();
  });

  it('replaces an expired token without the user noticing', async () => {
    const { context, page, seen } = await openPage(browser, helpCenterUrl({ user: newUserId(), token: 'expired-once' }));
    await waitForItems(page, []);
    assert.deepEqual(seen.api, ['GET 401', 'GET 200'], 'refused once, then answered with a new token');
    assert.equal(seen.tokenRequests, 2);
    assert.equal(await page.locator('[data-todo-error]').isHidden(), true);
    await addItem(page, 'after the refresh');
    await waitForItems(page, ['after the refresh']);
    assert.equal(seen.tokenRequests, 2, 'the new token is reused');
    assert.deepEqual(seen.errors, []);
    await context.close();
  });

  it('stores an add once when its answer was lost and Add is pressed again', async () => {
    const { context, page, seen } = await openPage(browser, helpCenterUrl({ user: newUserId() }));
    await waitForItems(page, []);
    // The first add reaches the API and is stored, but its answer never reaches the page.
    const keys = [];
    let lose = true;
    await page.route('**/todo_items', async (route) => {
      const request = route.request();
      if (request.method() !== 'POST') return route.continue();
      keys.push(request.headers()['idempotency-key']);
      if (!lose) return route.continue();
      lose = false;
      const stored = await route.fetch();
      assert.equal(stored.status(), 201, 'the API stored the first add');
      return route.abort('connectionreset');
    });
    await addItem(page, 'Pay the rent');
    await page.getByRole('alert').getByText('The to-do service could not be reached. Check your connection and try again.').waitFor();
    assert.equal(await page.getByLabel('New to-do item').inputValue(), 'Pay the rent', 'the text stays in the field');
    // The person presses Add again: the same add, with the same key, is answered as made.
    await page.getByRole('button', { name: 'Add item' }).click();
    await waitForItems(page, ['Pay the rent']);
    assert.equal(keys.length, 2);
    assert.match(keys[0], /^[0-9a-f-]{32,36}$/, 'the add carried an Idempotency-Key');
    assert.equal(keys[1], keys[0], 'the retry reused it');
    await page.reload();
    await waitForItems(page, ['Pay the rent']);
    // A new add (other text) gets a new key.
    await addItem(page, 'Water the plants');
    await waitForItems(page, ['Pay the rent', 'Water the plants']);
    assert.equal(keys.length, 3);
    assert.notEqual(keys[2], keys[0]);
    assert.deepEqual(seen.errors, []);
    await context.close();
  });

  it('says so when the to-do API cannot be reached', async () => {
    const api = `http://127.0.0.1:${await closedPort()}`;
    const { context, page } = await openPage(browser, helpCenterUrl({ user: newUserId(), api }));
    const alert = page.getByRole('alert');
    await alert.getByText('The to-do service could not be reached. Check your connection and try again.').waitFor();
    assert.deepEqual(await shownItems(page), []);
    await screenshot(page, 'help-center-api-unreachable');
    await context.close();
  });

  it('shows the API\'s own error message', async () => {
    // Same origin as the page, and a path the API does not have: its 404 body is readable.
    const { context, page } = await openPage(
      browser,
      helpCenterUrl({ user: newUserId(), origin: API_URL, api: `${API_URL}/no-such-stage` }),
    );
    await page.getByRole('alert').getByText('The to-do service answered: Not found (error 404).').waitFor();
    await screenshot(page, 'help-center-api-error');
    await context.close();
  });
});
