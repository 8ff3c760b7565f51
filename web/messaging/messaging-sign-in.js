/*
 * Messaging sign-in for the Web Widget: the script of web/messaging/index.html, an example of a
 * page of your own site.
 *
 * When the site's user is signed in (the script element's data-user-token is set), the page
 * gives the Web Widget a function that fetches a messaging JWT from the bundle's
 * POST /messaging/jwt: zE('messenger', 'loginUser', function (callback) { … callback(jwt) }).
 * The widget calls that function whenever it needs a token (at sign-in, and again when the last
 * one has expired), so each call fetches a fresh one. The user's token is sent in the form field
 * user_token (a bearer token works as well; the form needs no CORS preflight). When the user
 * signs out, the page signs them out of messaging too: zE('messenger', 'logoutUser').
 *
 * Settings, from the script element: data-jwt-url (the stack output MessagingJwtUrl) and
 * data-user-token (written by the site's server; empty when nobody is signed in). Nothing is
 * stored in the browser: the JWT goes straight to the widget.
 */
(function () {
  'use strict';

  var script = document.currentScript;
  var jwtUrl = (script && script.getAttribute('data-jwt-url') || '').trim();
  var userToken = (script && script.getAttribute('data-user-token') || '').trim();
  var statusLine = document.querySelector('[data-messaging-status]');
  var signOutButton = document.querySelector('[data-messaging-sign-out]');

  /** Show where messaging sign-in stands: 'signed-in', 'signed-out' or 'error'. */
  function show(state, text) {
    if (!statusLine) return;
    statusLine.setAttribute('data-state', state);
    statusLine.textContent = text;
  }

  if (!/^https?:\/\//.test(jwtUrl) || /YOUR-API-ID/.test(jwtUrl)) {
    show('error', 'Messaging sign-in is not set up yet: this page needs the address of POST /messaging/jwt (data-jwt-url).');
    return;
  }
  if (typeof window.zE !== 'function') {
    show('error', 'The messaging widget did not load, so you cannot be signed in to it.');
    return;
  }
  if (!userToken) {
    show('signed-out', 'Messaging: not signed in.');
    return;
  }

  /** A fresh messaging JWT for the signed-in user, or an Error whose message is for the user. */
  function fetchJwt() {
    return fetch(jwtUrl, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
      body: 'user_token=' + encodeURIComponent(userToken),
      credentials: 'omit',
      cache: 'no-store'
    }).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (answer) {
        if (response.ok && answer && typeof answer.jwt === 'string') return answer.jwt;
        var why = answer && typeof answer.message === 'string' ? answer.message : 'no answer';
        throw new Error('Messaging sign-in failed: ' + why + ' (error ' + response.status + ').');
      });
    }, function () {
      throw new Error('Messaging sign-in failed: the sign-in service could not be reached.');
    });
  }

  // The widget calls this at sign-in and whenever its token has expired.
  zE('messenger', 'loginUser', function (callback) {
    fetchJwt().then(function (jwt) {
      show('signed-in', 'Messaging: signed in.');
      callback(jwt);
    }, function (error) {
      // No token for the widget: it stays as it was (a visitor), and the page says why.
      show('error', error.message);
    });
  });

  if (signOutButton) {
    signOutButton.hidden = false;
    signOutButton.addEventListener('click', function () {
      // Your site's own sign-out goes here too.
      zE('messenger', 'logoutUser');
      userToken = '';
      signOutButton.hidden = true;
      show('signed-out', 'Messaging: signed out.');
    });
  }
})();
