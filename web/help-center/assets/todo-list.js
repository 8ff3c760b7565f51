/*
 * My to-do list: the script of the help center custom page templates/custom_pages/todo-list.hbs.
 *
 * Signed-in users load, add and delete their own to-do items through the to-do API, authenticated
 * with a help center JWT from /api/v2/help_center/integration/token. The token is reused until
 * shortly before its `exp`; when the API refuses it (401) a new one is fetched and the request is
 * sent once more. Every add carries an Idempotency-Key, reused when the same add is sent again
 * (its retry after a 401, or the person pressing Add again after an error), so that an add whose
 * answer was lost is never stored twice. Item values are only ever written as text.
 *
 * The API's base URL is read from the page's data-api-base-url attribute (the template's one
 * setting).
 */
(function () {
  'use strict';

  /** Where the help center hands out a JWT for the signed-in user (same origin as the page). */
  var TOKEN_URL = '/api/v2/help_center/integration/token';
  /** A token is fetched again this many seconds before its `exp`, to cover clock skew. */
  var TOKEN_REFRESH_MARGIN_SECONDS = 30;
  /** Longest item text repeated in a Delete button's accessible label. */
  var LABEL_TEXT_LIMIT = 60;

  var root = document.getElementById('todo-list');
  if (!root) return;

  var signIn = root.querySelector('[data-todo-signin]');
  var app = root.querySelector('[data-todo-app]');
  var form = root.querySelector('[data-todo-form]');
  var input = form.querySelector('input[name=value]');
  var addButton = form.querySelector('button[type=submit]');
  var list = root.querySelector('[data-todo-items]');
  var status = root.querySelector('[data-todo-status]');
  var errorBox = root.querySelector('[data-todo-error]');

  /** An error whose message is meant for the person using the page. */
  function PageError(message) {
    this.message = message;
  }

  var user = window.HelpCenter && window.HelpCenter.user;
  if (!user || !user.role || user.role === 'anonymous') {
    signIn.hidden = false;
    return;
  }
  app.hidden = false;

  var apiBase = (root.getAttribute('data-api-base-url') || '').trim().replace(/\/+$/, '');
  if (!/^https?:\/\//.test(apiBase) || /YOUR-API-ID/.test(apiBase)) {
    showError('This page is not set up yet: the theme\'s todo-list template needs the to-do API\'s address (data-api-base-url).');
    status.textContent = '';
    setBusy(true);
    return;
  }

  // ---- Help center token -------------------------------------------------------------------

  var cachedToken = null; // { value: string, exp: number (seconds since the epoch) }
  var tokenInFlight = null;

  /** The `exp` claim of a JWT, or 0 when it cannot be read (then the token is used only once). */
  function expiryOf(jwt) {
    try {
      var payload = jwt.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
      while (payload.length % 4) payload += '=';
      var exp = JSON.parse(atob(payload)).exp;
      return typeof exp === 'number' ? exp : 0;
    } catch (e) {
      return 0;
    }
  }

  function stillFresh(token) {
    return token !== null && token.exp - TOKEN_REFRESH_MARGIN_SECONDS > Date.now() / 1000;
  }

  async function fetchToken() {
    var response;
    try {
      response = await fetch(TOKEN_URL, {
        credentials: 'same-origin',
        cache: 'no-store',
        headers: { Accept: 'application/json' }
      });
    } catch (e) {
      throw new PageError('The help center could not be reached to sign you in. Check your connection and try again.');
    }
    if (response.status === 401 || response.status === 403) {
      throw new PageError('Your help center session has ended. Sign in again to see your to-do list.');
    }
    var body = await response.json().catch(function () { return null; });
    if (!response.ok || !body || typeof body.token !== 'string') {
      throw new PageError('The help center could not sign you in to the to-do list (error ' + response.status + '). Try again in a minute.');
    }
    return { value: body.token, exp: expiryOf(body.token) };
  }

  /** A help center JWT: the cached one while it is fresh, otherwise a new one. */
  async function helpCenterToken(forceNew) {
    if (!forceNew && stillFresh(cachedToken)) return cachedToken.value;
    if (!tokenInFlight) {
      tokenInFlight = fetchToken().finally(function () { tokenInFlight = null; });
    }
    var token = await tokenInFlight;
    cachedToken = token;
    return token.value;
  }

  // ---- To-do API ---------------------------------------------------------------------------

  async function send(method, path, body, token, idempotencyKey) {
    var headers = { Accept: 'application/json', Authorization: 'Bearer ' + token };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (idempotencyKey) headers['Idempotency-Key'] = idempotencyKey;
    try {
      return await fetch(apiBase + path, {
        method: method,
        headers: headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: 'omit',
        cache: 'no-store'
      });
    } catch (e) {
      throw new PageError('The to-do service could not be reached. Check your connection and try again.');
    }
  }

  /**
   * Call the API; on a 401 fetch a new token and try once more (with the same idempotency key).
   * Resolves to the item list.
   */
  async function callApi(method, path, body, idempotencyKey) {
    var response = await send(method, path, body, await helpCenterToken(false), idempotencyKey);
    if (response.status === 401) {
      response = await send(method, path, body, await helpCenterToken(true), idempotencyKey);
    }
    var answer = await response.json().catch(function () { return null; });
    if (response.ok && answer && Array.isArray(answer.todo_items)) return answer.todo_items;
    if (response.status === 401) {
      throw new PageError('The to-do service did not accept your sign-in. Reload the page to try again.');
    }
    var reason = answer && typeof answer.message === 'string' ? answer.message : 'unexpected answer';
    throw new PageError('The to-do service answered: ' + reason + ' (error ' + response.status + ').');
  }

  // ---- Page --------------------------------------------------------------------------------

  function showError(message) {
    errorBox.textContent = message;
    errorBox.hidden = false;
  }

  function clearError() {
    errorBox.textContent = '';
    errorBox.hidden = true;
  }

  function setBusy(busy) {
    input.disabled = busy;
    addButton.disabled = busy;
    list.querySelectorAll('button').forEach(function (button) { button.disabled = busy; });
    root.setAttribute('aria-busy', busy ? 'true' : 'false');
  }

  function shortened(text) {
    return text.length > LABEL_TEXT_LIMIT ? text.slice(0, LABEL_TEXT_LIMIT - 1) + '…' : text;
  }

  function render(items) {
    var rows = items.map(function (item) {
      var value = String(item.value);
      var row = document.createElement('li');
      var text = document.createElement('span');
      text.textContent = value;
      var remove = document.createElement('button');
      remove.type = 'button';
      remove.textContent = 'Delete';
      remove.setAttribute('aria-label', 'Delete "' + shortened(value) + '"');
      remove.addEventListener('click', function () { deleteItem(item.id); });
      row.append(text, remove);
      return row;
    });
    list.replaceChildren.apply(list, rows);
    status.textContent = items.length === 0
      ? 'Nothing on your list yet.'
      : items.length === 1 ? '1 item on your list.' : items.length + ' items on your list.';
  }

  /** Run one API call with the controls disabled; shows the result or the error. */
  async function run(call) {
    setBusy(true);
    try {
      var items = await call();
      clearError();
      render(items);
      return true;
    } catch (error) {
      if (!(error instanceof PageError)) console.error(error);
      showError(error instanceof PageError ? error.message : 'Something went wrong. Reload the page to try again.');
      if (status.textContent === 'Loading your to-do list…') status.textContent = '';
      return false;
    } finally {
      setBusy(false);
    }
  }

  function deleteItem(id) {
    run(function () {
      return callApi('DELETE', '/todo_items/' + encodeURIComponent(id));
    }).then(function () { input.focus(); });
  }

  /** A new idempotency key: a random UUID where the browser has one, random hex otherwise. */
  function newIdempotencyKey() {
    if (window.crypto && typeof window.crypto.randomUUID === 'function') {
      return window.crypto.randomUUID();
    }
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) {
      return ('0' + b.toString(16)).slice(-2);
    }).join('');
  }

  /** The add that failed last: pressing Add again with the same text sends it with its key. */
  var pendingAdd = null; // { value: string, key: string }

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    var value = input.value.trim();
    if (!value) {
      showError('Type something to add to your list.');
      input.focus();
      return;
    }
    if (!pendingAdd || pendingAdd.value !== value) {
      pendingAdd = { value: value, key: newIdempotencyKey() };
    }
    var key = pendingAdd.key;
    run(function () {
      return callApi('POST', '/todo_items', { value: value }, key);
    }).then(function (added) {
      if (added) {
        pendingAdd = null;
        input.value = '';
      }
      input.focus();
    });
  });

  run(function () { return callApi('GET', '/todo_items'); });
})();
