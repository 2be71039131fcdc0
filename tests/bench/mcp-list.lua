-- SPDX-License-Identifier: Apache-2.0
--
-- wrk script: stateless (2026-07-28) tools/list, page after page: each
-- request asks for the page after the one the previous answer ended with,
-- and starts again from the first page after the last. Run it with one
-- connection, so that the pages come in order. Prints "RESULT requests/s
-- p50_us p99_us errors requests pages_walked" at the end.

local cursor = nil
local threads = {}

errors = 0
walks = 0

function setup(thread)
  table.insert(threads, thread)
end

local headers = {
  ["Content-Type"] = "application/json",
  ["Accept"] = "application/json, text/event-stream",
  ["MCP-Protocol-Version"] = "2026-07-28",
  ["Mcp-Method"] = "tools/list",
}
local meta = '"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28",' ..
  '"io.modelcontextprotocol/clientCapabilities":{}}'

function request()
  local params = cursor and ('{"cursor":"' .. cursor .. '",' .. meta .. '}') or ('{' .. meta .. '}')
  return wrk.format("POST", nil, headers,
    '{"jsonrpc":"2.0","id":1,"method":"tools/list","params":' .. params .. '}')
end

function response(status, received, body)
  if status ~= 200 or not body:find('"result"', 1, true) then
    if status < 400 then
      errors = errors + 1
    end
    cursor = nil
    return
  end
  -- The cursor is at the end of the result, after the tools.
  cursor = body:match('"nextCursor":"([^"]*)"', math.max(1, #body - 4096))
  if cursor == nil then
    walks = walks + 1
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  local total = e.connect + e.read + e.write + e.timeout + e.status
  local walked = 0
  for _, thread in ipairs(threads) do
    total = total + (thread:get("errors") or 0)
    walked = walked + (thread:get("walks") or 0)
  end
  io.write(string.format("RESULT %.0f %.1f %.1f %d %d %d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(99), total, summary.requests, walked))
end
