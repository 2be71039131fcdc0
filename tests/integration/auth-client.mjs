// SPDX-License-Identifier: Apache-2.0
//
// Usage: CF_TEST_NPM_DIR=tests/npm node auth-client.mjs URL TOKEN
//
// What the official SDK's client sees of a gateway that requires
// authentication, at URL/mcp:
//
// 1. an unauthenticated initialize: the status and the resource_metadata
//    URL the SDK reads from WWW-Authenticate;
// 2. the RFC 9728 document, fetched both from that URL and by the SDK's
//    own well-known discovery, and the resource the SDK would request;
// 3. the SDK client connecting without a token (it must fail with 401);
// 4. the SDK client connecting with `Authorization: Bearer TOKEN` and
//    listing tools.
//
// It prints one JSON object with what it saw.

import { join } from "node:path";
import { pathToFileURL } from "node:url";

const npmDir = process.env.CF_TEST_NPM_DIR;
const [base, token] = process.argv.slice(2);
if (!npmDir || !base || !token) {
  console.error("usage: CF_TEST_NPM_DIR=tests/npm node auth-client.mjs URL TOKEN");
  process.exit(2);
}

const sdk = (path) =>
  import(pathToFileURL(join(npmDir, "node_modules/@modelcontextprotocol/sdk/dist/esm", path)).href);
const { Client } = await sdk("client/index.js");
const { StreamableHTTPClientTransport } = await sdk("client/streamableHttp.js");
const auth = await sdk("client/auth.js");

const endpoint = new URL(`${base}/mcp`);
const out = {};

const response = await fetch(endpoint, {
  method: "POST",
  headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
  body: JSON.stringify({
    jsonrpc: "2.0",
    id: 1,
    method: "initialize",
    params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "t", version: "1" } },
  }),
});
out.status = response.status;
out.wwwAuthenticate = response.headers.get("www-authenticate");
const challenge = auth.extractWWWAuthenticateParams(response);
out.resourceMetadataUrl = challenge.resourceMetadataUrl?.href ?? null;
await response.body?.cancel();

out.metadata = await auth.discoverOAuthProtectedResourceMetadata(endpoint, {
  resourceMetadataUrl: challenge.resourceMetadataUrl,
});
out.discovered = await auth.discoverOAuthProtectedResourceMetadata(endpoint);
out.selectedResource = (await auth.selectResourceURL(endpoint, {}, out.metadata))?.href ?? null;

try {
  const client = new Client({ name: "anonymous", version: "1.0" });
  await client.connect(new StreamableHTTPClientTransport(endpoint));
  out.anonymous = { connected: true };
  await client.close();
} catch (error) {
  out.anonymous = { connected: false, code: error.code ?? null, message: String(error) };
}

const client = new Client({ name: "with-token", version: "1.0" });
await client.connect(
  new StreamableHTTPClientTransport(endpoint, {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  }),
);
out.tools = (await client.listTools()).tools.map((tool) => tool.name);
await client.close();

console.log(JSON.stringify(out));
