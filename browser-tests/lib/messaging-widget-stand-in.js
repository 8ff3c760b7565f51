/*
 * A STAND-IN for Zendesk's Web Widget for messaging, written for the browser tests. It is NOT
 * Zendesk's code: the real widget (static.zdassets.com/ekr/snippet.js) cannot load offline. The
 * tests serve this file at the snippet's address. It defines `zE` and only records what the page
 * asks of it:
 *   - zE('messenger', 'loginUser', jwtCallback): asks the page for a token at once, as the widget
 *     does at sign-in, by calling jwtCallback(callback); the tokens the page passes to callback
 *     are recorded;
 *   - zE('messenger', 'logoutUser'): forgets jwtCallback.
 * `window.messagingStandIn.tokenExpired()` asks the page for a token again, as the widget does
 * when the last one has expired.
 */
(function () {
  'use strict';
  var record = {
    isStandIn: true,
    logins: 0,
    logouts: 0,
    tokens: [],
    unknownCalls: [],
    tokenExpired: function () {
      if (jwtCallback) askForToken();
    }
  };
  var jwtCallback = null;

  function askForToken() {
    jwtCallback(function (jwt) {
      record.tokens.push(jwt);
    });
  }

  window.messagingStandIn = record;
  window.zE = function (widget, command, argument) {
    if (widget === 'messenger' && command === 'loginUser' && typeof argument === 'function') {
      record.logins += 1;
      jwtCallback = argument;
      askForToken();
    } else if (widget === 'messenger' && command === 'logoutUser') {
      record.logouts += 1;
      jwtCallback = null;
    } else {
      record.unknownCalls.push([widget, command].join(' '));
    }
  };
})();
