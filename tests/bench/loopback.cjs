// SPDX-License-Identifier: Apache-2.0
//
// Preloaded into the npm proxies the benchmark runs (node --require):
// every server they open listens on 127.0.0.1 only, whatever host they
// ask for (supergateway has no option for it and binds every address),
// and the first port bound is written to $BENCH_PORT_FILE so that the
// runner can let the kernel pick a free one (--port 0).

'use strict';

const fs = require('fs');
const net = require('net');

const listen = net.Server.prototype.listen;
let reported = false;

function isPort (value) {
  return typeof value === 'number' || (typeof value === 'string' && /^[0-9]+$/.test(value));
}

net.Server.prototype.listen = function (...args) {
  if (isPort(args[0])) {
    // listen(port[, host][, backlog][, callback])
    if (typeof args[1] === 'string')
      args[1] = '127.0.0.1';
    else
      args.splice(1, 0, '127.0.0.1');
  } else if (args[0] !== null && typeof args[0] === 'object' && !(args[0] instanceof net.Server) &&
             args[0].path === undefined && args[0].fd === undefined && args[0]._handle === undefined) {
    args[0] = Object.assign({}, args[0], { host: '127.0.0.1' });
  }
  this.once('listening', () => {
    const address = this.address();
    if (!reported && process.env.BENCH_PORT_FILE && address && typeof address === 'object') {
      reported = true;
      fs.writeFileSync(process.env.BENCH_PORT_FILE, String(address.port) + '\n');
    }
  });
  return listen.apply(this, args);
};
