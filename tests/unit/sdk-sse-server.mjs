// SPDX-License-Identifier: Apache-2.0
//
// Usage: CF_TEST_NPM_DIR=tests/npm node sdk-sse-server.mjs
//
// An MCP server on the 2024-11-05 HTTP+SSE transport, built from the
// pinned SDK's McpServer and SSEServerTransport on Node's own http server,
// bound to 127.0.0.1 on a free port. Its first line of output is the SSE
// URL. Each GET /sse is a session of its own; POST /message?sessionId=...
// feeds it. Its tools:
//
// - echo: answers "echo from the SDK";
// - progress: two progress notifications (if asked) and a log message,
//   then "progressed";
// - sample: asks the client for a sampling/createMessage and answers
//   "sampled: " and the text it got;
// - hang: sends a log message, then never answers;
// - big: answers with a text of 200000 bytes.
//
// tools/list is paginated two tools a page, so that a client has to
// follow nextCursor.

import http from "node:http";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const npmDir = process.env.CF_TEST_NPM_DIR;
if (!npmDir) {
  console.error("usage: CF_TEST_NPM_DIR=tests/npm node sdk-sse-server.mjs");
  process.exit(2);
}

const sdk = (path) =>
  import(pathToFileURL(join(npmDir, "node_modules/@modelcontextprotocol/sdk/dist/esm", path)).href);
const { McpServer } = await sdk("server/mcp.js");
const { SSEServerTransport } = await sdk("server/sse.js");
const { ListToolsRequestSchema } = await sdk("types.js");

const PAGE_SIZE = 2;
const text = (value) => ({ content: [{ type: "text", text: value }] });

function tools(server) {
  return {
    echo: async () => text("echo from the SDK"),
    progress: async (extra) => {
      const token = extra._meta?.progressToken;
      if (token !== undefined) {
        for (const progress of [1, 2])
          await extra.sendNotification({
            method: "notifications/progress",
            params: { progressToken: token, progress, total: 2 },
          });
      }
      await extra.sendNotification({
        method: "notifications/message",
        params: { level: "info", data: "half way" },
      });
      return text("progressed");
    },
    sample: async () => {
      const result = await server.server.createMessage({
        messages: [{ role: "user", content: { type: "text", text: "Say hi" } }],
        maxTokens: 16,
      });
      return text(`sampled: ${result.content.text}`);
    },
    hang: async (extra) => {
      await extra.sendNotification({
        method: "notifications/message",
        params: { level: "info", data: "hanging" },
      });
      return new Promise(() => {});
    },
    big: async () => text("x".repeat(200000)),
  };
}

function newServer() {
  const server = new McpServer(
    { name: "sdk-sse-server", version: "1.0.0" },
    { capabilities: { logging: {} } },
  );
  const handlers = tools(server);

  for (const [name, handler] of Object.entries(handlers))
    server.registerTool(name, { description: `The ${name} tool` }, handler);

  // Paginated, which McpServer does not do on its own.
  const listed = Object.keys(handlers).map((name) => ({
    name,
    description: `The ${name} tool`,
    inputSchema: { type: "object", properties: {} },
  }));
  server.server.setRequestHandler(ListToolsRequestSchema, async (request) => {
    const start = Number(request.params?.cursor ?? 0);
    const page = { tools: listed.slice(start, start + PAGE_SIZE) };
    if (start + PAGE_SIZE < listed.length)
      page.nextCursor = String(start + PAGE_SIZE);
    return page;
  });
  return server;
}

const sessions = new Map();

const httpServer = http.createServer(async (req, res) => {
  const url = new URL(req.url, "http://127.0.0.1");

  if (req.method === "GET" && url.pathname === "/sse") {
    const transport = new SSEServerTransport("/message", res);
    sessions.set(transport.sessionId, transport);
    res.on("close", () => sessions.delete(transport.sessionId));
    await newServer().connect(transport);
    return;
  }
  if (req.method === "POST" && url.pathname === "/message") {
    const transport = sessions.get(url.searchParams.get("sessionId"));
    if (!transport) {
      res.writeHead(404).end("No such session");
      return;
    }
    await transport.handlePostMessage(req, res);
    return;
  }
  res.writeHead(404).end("Not found");
});

httpServer.listen(0, "127.0.0.1", () => {
  console.log(`http://127.0.0.1:${httpServer.address().port}/sse`);
});
