// SPDX-License-Identifier: Apache-2.0
//
// Usage: CF_TEST_NPM_DIR=tests/npm node transports-client.mjs sse|ws URL TOOL [ARGS_JSON]
//
// Connects the official MCP SDK client (pinned in tests/npm) over the
// legacy HTTP+SSE transport or WebSocket, lists the tools, calls TOOL and
// prints one JSON object: the server name, the tool
// names, the call's result (or {error: {code, message}}) and the requests
// the server sent the client meanwhile. The client answers sampling,
// elicitation and roots requests with fixed, recognisable values.

import { pathToFileURL } from "node:url";
import { join } from "node:path";

const [transportName, url, tool, argsJson] = process.argv.slice(2);
const npmDir = process.env.CF_TEST_NPM_DIR;
if (!transportName || !url || !tool || !npmDir) {
  console.error("usage: CF_TEST_NPM_DIR=tests/npm node transports-client.mjs sse|ws URL TOOL [ARGS]");
  process.exit(2);
}

const sdk = (path) =>
  import(pathToFileURL(join(npmDir, "node_modules/@modelcontextprotocol/sdk/dist/esm", path)).href);
const { Client } = await sdk("client/index.js");
const { SSEClientTransport } = await sdk("client/sse.js");
const { WebSocketClientTransport } = await sdk("client/websocket.js");
const { CreateMessageRequestSchema, ElicitRequestSchema, ListRootsRequestSchema } =
  await sdk("types.js");

// A hung peer must fail the test, not stall it.
const watchdog = setTimeout(() => {
  console.error("transports-client: timed out");
  process.exit(3);
}, 30000);

const client = new Client(
  { name: "cf-transports-test", version: "1.0.0" },
  { capabilities: { sampling: {}, elicitation: {}, roots: { listChanged: false } } });

const asked = [];
client.setRequestHandler(CreateMessageRequestSchema, async (request) => {
  asked.push(request.method);
  const first = request.params.messages[0]?.content;
  return {
    role: "assistant",
    content: { type: "text", text: `sampled ${first?.text ?? ""}` },
    model: "cf-test-model",
    stopReason: "endTurn",
  };
});
client.setRequestHandler(ElicitRequestSchema, async (request) => {
  asked.push(request.method);
  return { action: "accept", content: { answer: "from the test client" } };
});
client.setRequestHandler(ListRootsRequestSchema, async (request) => {
  asked.push(request.method);
  return { roots: [{ uri: "file:///cf-test-root", name: "test root" }] };
});

const transport = transportName === "ws"
  ? new WebSocketClientTransport(new URL(url))
  : new SSEClientTransport(new URL(url));

const out = {};
try {
  await client.connect(transport);
  out.server = client.getServerVersion()?.name;
  const tools = await client.listTools();
  out.tools = tools.tools.map((t) => t.name).sort();
  try {
    out.result = await client.callTool({ name: tool, arguments: argsJson ? JSON.parse(argsJson) : {} });
  } catch (error) {
    out.result = { error: { code: error.code ?? null, message: String(error.message) } };
  }
  out.asked = asked;
  await client.close();
} catch (error) {
  out.failure = String(error?.stack ?? error);
}
clearTimeout(watchdog);
console.log(JSON.stringify(out));
process.exit(out.failure ? 1 : 0);
