// SPDX-License-Identifier: Apache-2.0
//
// Usage: node everything-probe.mjs URL
//
// Drives @modelcontextprotocol/server-everything's own features through
// the MCP SDK client (the one the conformance suite runs on, pinned in
// tests/npm) and prints one JSON object: step name -> what the client saw
// (a result, or {error: {code, message}}), with the server -> client
// requests and the progress notifications each call produced. The
// conformance suite only calls tools named test_*, which server-everything
// does not have, so on its own it never sees a relayed result: this is the
// half of the transparency test that does. test-transparency.c runs it
// against server-everything directly and through the gateway and compares
// the two step by step.
//
// Only the clock is taken out (server-everything stamps dynamic resources
// with the time of day); everything else is printed as received.

import { pathToFileURL } from "node:url";
import { join } from "node:path";

const url = process.argv[2];
const npmDir = process.env.CF_TEST_NPM_DIR;
if (!url || !npmDir) {
  console.error("usage: CF_TEST_NPM_DIR=tests/npm node everything-probe.mjs URL");
  process.exit(2);
}

const sdk = (path) =>
  import(pathToFileURL(join(npmDir, "node_modules/@modelcontextprotocol/sdk/dist/esm", path)).href);
const { Client } = await sdk("client/index.js");
const { StreamableHTTPClientTransport } = await sdk("client/streamableHttp.js");
const { CreateMessageRequestSchema, ElicitRequestSchema } = await sdk("types.js");

const CLOCK = /created at \d{1,2}:\d{2}:\d{2}( ?[AP]M)?/g;

function normalize(value) {
  if (typeof value === "string")
    return value.replace(CLOCK, "created at <time>");
  if (Array.isArray(value))
    return value.map(normalize);
  if (value !== null && typeof value === "object") {
    const out = {};
    for (const [key, member] of Object.entries(value)) {
      if (key === "blob" && typeof member === "string") {
        const text = Buffer.from(member, "base64").toString("utf8");
        out[key] = CLOCK.test(text)
          ? "base64 of: " + text.replace(CLOCK, "created at <time>")
          : member;
        CLOCK.lastIndex = 0;
      } else {
        out[key] = normalize(member);
      }
    }
    return out;
  }
  return value;
}

// What the server asked the client during the current step.
let asked = [];

const client = new Client(
  { name: "cf-everything-probe", version: "1.0.0" },
  { capabilities: { sampling: {}, elicitation: {} } },
);
client.setRequestHandler(CreateMessageRequestSchema, async (request) => {
  asked.push({ method: request.method, params: request.params });
  return {
    role: "assistant",
    content: { type: "text", text: "A sampled answer from the probe" },
    model: "probe-model",
    stopReason: "endTurn",
  };
});
client.setRequestHandler(ElicitRequestSchema, async (request) => {
  asked.push({ method: request.method, params: request.params });
  return { action: "accept", content: { name: "Ada Lovelace", check: true, integer: 7 } };
});

const transcript = {};

async function step(name, run) {
  const progress = [];
  asked = [];
  let entry;
  try {
    entry = { result: await run((p) => progress.push({ progress: p.progress, total: p.total,
                                                       message: p.message })) };
  } catch (e) {
    entry = { error: { code: e.code ?? null, message: String(e.message ?? e) } };
  }
  if (progress.length > 0)
    entry.progress = progress;
  if (asked.length > 0)
    entry.asked = asked;
  transcript[name] = normalize(entry);
}

const byKey = (key) => (a, b) => (a[key] < b[key] ? -1 : a[key] > b[key] ? 1 : 0);
const call = (name, args) => (onprogress) =>
  client.callTool({ name, arguments: args }, undefined, { onprogress, timeout: 30000 });

await client.connect(new StreamableHTTPClientTransport(new URL(url)));

transcript.initialize = {
  protocolVersion: client.transport.protocolVersion ?? null,
  capabilities: client.getServerCapabilities(),
  serverInfo: client.getServerVersion(),
  instructions: client.getInstructions() ?? null,
};

await step("ping", () => client.ping());
await step("logging/setLevel", () => client.setLoggingLevel("debug"));

await step("tools/list", async () => {
  const r = await client.listTools();
  return { ...r, tools: [...r.tools].sort(byKey("name")) };
});
await step("tools/call echo", call("echo", { message: "Hello, gateway" }));
await step("tools/call get-sum", call("get-sum", { a: 19, b: 23.5 }));
await step("tools/call get-sum bad arguments", call("get-sum", { a: "nineteen" }));
await step("tools/call get-tiny-image", call("get-tiny-image", {}));
await step("tools/call get-annotated-message",
           call("get-annotated-message", { messageType: "error", includeImage: true }));
await step("tools/call get-structured-content",
           call("get-structured-content", { location: "Chicago" }));
await step("tools/call get-resource-links", call("get-resource-links", { count: 4 }));
await step("tools/call get-resource-reference",
           call("get-resource-reference", { resourceType: "Blob", resourceId: 2 }));
await step("tools/call get-resource-reference bad id",
           call("get-resource-reference", { resourceType: "Text", resourceId: -1 }));
await step("tools/call trigger-long-running-operation",
           call("trigger-long-running-operation", { duration: 0.3, steps: 3 }));
await step("tools/call simulate-research-query not as a task",
           call("simulate-research-query", { topic: "gateways" }));
await step("tools/call trigger-sampling-request",
           call("trigger-sampling-request", { prompt: "Say hello", maxTokens: 7 }));
await step("tools/call trigger-elicitation-request", call("trigger-elicitation-request", {}));

await step("resources/list", async () => {
  const r = await client.listResources();
  return { ...r, resources: [...r.resources].sort(byKey("uri")) };
});
await step("resources/templates/list", async () => {
  const r = await client.listResourceTemplates();
  return { ...r, resourceTemplates: [...r.resourceTemplates].sort(byKey("uriTemplate")) };
});
await step("resources/read static",
           () => client.readResource({ uri: "demo://resource/static/document/features.md" }));
await step("resources/read dynamic text",
           () => client.readResource({ uri: "demo://resource/dynamic/text/3" }));
await step("resources/read dynamic blob",
           () => client.readResource({ uri: "demo://resource/dynamic/blob/4" }));
await step("resources/read dynamic text bad id",
           () => client.readResource({ uri: "demo://resource/dynamic/text/0" }));
await step("resources/subscribe",
           () => client.subscribeResource({ uri: "demo://resource/dynamic/text/1" }));
await step("resources/unsubscribe",
           () => client.unsubscribeResource({ uri: "demo://resource/dynamic/text/1" }));

await step("prompts/list", async () => {
  const r = await client.listPrompts();
  return { ...r, prompts: [...r.prompts].sort(byKey("name")) };
});
await step("prompts/get simple-prompt", () => client.getPrompt({ name: "simple-prompt" }));
await step("prompts/get args-prompt",
           () => client.getPrompt({ name: "args-prompt", arguments: { city: "Lisbon" } }));
await step("prompts/get args-prompt both",
           () => client.getPrompt({ name: "args-prompt",
                                    arguments: { city: "Austin", state: "TX" } }));
await step("prompts/get args-prompt missing argument",
           () => client.getPrompt({ name: "args-prompt", arguments: {} }));
await step("prompts/get completable-prompt",
           () => client.getPrompt({ name: "completable-prompt",
                                    arguments: { department: "Sales", name: "Eve" } }));
await step("prompts/get resource-prompt",
           () => client.getPrompt({ name: "resource-prompt",
                                    arguments: { resourceType: "Text", resourceId: "2" } }));

await step("completion/complete prompt", () => client.complete({
  ref: { type: "ref/prompt", name: "completable-prompt" },
  argument: { name: "department", value: "S" },
}));
await step("completion/complete prompt with context", () => client.complete({
  ref: { type: "ref/prompt", name: "completable-prompt" },
  argument: { name: "name", value: "" },
  context: { arguments: { department: "Marketing" } },
}));
await step("completion/complete resource template", () => client.complete({
  ref: { type: "ref/resource", uri: "demo://resource/dynamic/text/{resourceId}" },
  argument: { name: "resourceId", value: "12" },
}));

await client.close();
process.stdout.write(JSON.stringify(transcript) + "\n");
process.exit(0);
