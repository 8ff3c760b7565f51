/*
 * STAND-IN for Zendesk's ZAF SDK (zaf_sdk.min.js). This is NOT Zendesk's SDK and is never served
 * to Zendesk. It serves one case only: the start page opened whole from the harness's launcher
 * (/harness/sidebar), where no Zendesk frame surrounds the page to answer the real SDK; the
 * launcher's browser test routes the SDK's CDN address to this file. It implements only what the
 * start page uses (ZAFClient.init, client.get, client.invoke, client.on) and answers with a fixed
 * sample ticket. The page under Zendesk's real SDK, in a Zendesk frame, is tested in
 * browser-tests/tests/sidebar-zaf-sdk.test.mjs.
 */
(function () {
  'use strict';

  var SAMPLE = {
    'ticket.id': 4321,
    'ticket.subject': 'Printer on fire <img src=x onerror=alert(1)>',
    'ticket.status': 'open',
    'ticket.requester': { id: 7, name: 'Ann Example', email: 'ann@example.com' }
  };

  window.ZAFClient = {
    standIn: true,
    init: function (callback, location) {
      var params = new URLSearchParams((location || window.location).search);
      var origin = params.get('origin');
      var appGuid = params.get('app_guid');
      // Like the SDK: without origin and app_guid there is no client.
      if (!origin || !appGuid) return undefined;
      var seen = { origin: origin, appGuid: appGuid, invoked: [] };
      window.zafStandIn = seen;
      var client = {
        get: function (paths) {
          var answer = { errors: {} };
          [].concat(paths).forEach(function (path) {
            if (path in SAMPLE) answer[path] = SAMPLE[path];
            else answer.errors[path] = { message: 'not in the stand-in' };
          });
          return Promise.resolve(answer);
        },
        invoke: function (name) {
          seen.invoked.push(name);
          return Promise.resolve({});
        },
        on: function () {}
      };
      if (callback) setTimeout(function () { callback.call(client, {}); }, 0);
      return client;
    }
  };
})();
