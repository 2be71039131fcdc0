// SPDX-License-Identifier: Apache-2.0
//
// Preloaded (node --require) into the conformance suite's client mode:
// its mock servers call listen(0), which binds every interface; this keeps
// any listen() without a host on 127.0.0.1, so that the tests' servers are
// reachable from loopback only.
//
// A listen() with a host looks it up first, asynchronously, and the mock
// servers read server.address() right after listen() returns. So during
// listen() the lookup of our own literal answers at once, which makes the
// binding as synchronous as a listen() without a host.
'use strict';

const dns = require('dns');
const net = require('net');

const LOOPBACK = '127.0.0.1';
const listen = net.Server.prototype.listen;
const lookup = dns.lookup;
let listening = false;

dns.lookup = function (hostname, options, callback) {
  if (!listening || hostname !== LOOPBACK)
    return lookup.apply(this, arguments);
  if (typeof options === 'function')
    return options(null, LOOPBACK, 4);
  if (options && options.all)
    return callback(null, [{ address: LOOPBACK, family: 4 }]);
  return callback(null, LOOPBACK, 4);
};

net.Server.prototype.listen = function (...args) {
  const first = args[0];

  if (first === undefined || typeof first === 'function') {
    args.unshift(0, LOOPBACK);
  } else if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) {
    if (args.length === 1 || typeof args[1] === 'function')
      args.splice(1, 0, LOOPBACK);
  } else if (first !== null && typeof first === 'object' && !Array.isArray(first) &&
             first.path === undefined && first.host === undefined && first.fd === undefined &&
             first._handle === undefined && first.handle === undefined) {
    args[0] = { ...first, host: LOOPBACK };
  }

  listening = true;
  try {
    return listen.apply(this, args);
  } finally {
    listening = false;
  }
};
