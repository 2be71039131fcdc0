-- SPDX-License-Identifier: Apache-2.0
--
-- wrk script: one MCP tools/call per request.
--   MCP_VERSION  2026-07-28 (the default) is stateless: every request
--                carries its own _meta and Mcp-Method/Mcp-Name headers, and
--                nothing is set up. An earlier revision (2025-11-25, ...)
--                needs a legacy session: each wrk thread opens one before
--                the measurement (initialize, notifications/initialized,
--                sent with curl from init, so not measured) and sends every
--                call in it, with Mcp-Session-Id.
--   TOOL         the tool to call (echo)
--   ARGS         its arguments, as JSON ({"text":"hello"})
--   AUTHORIZATION  an Authorization header value to send (Bearer ...)
-- Prints "RESULT requests/s p50_us p99_us errors requests" at the end. An
-- error is a socket error or timeout, an HTTP status other than 200, or a
-- response without a JSON-RPC result (or with a tool error).

local version = os.getenv("MCP_VERSION") or "2026-07-28"
local tool = os.getenv("TOOL") or "echo"
local args = os.getenv("ARGS") or '{"text":"hello"}'
local authorization = os.getenv("AUTHORIZATION")
local url = wrk.scheme .. "://" .. wrk.host .. ":" .. (wrk.port or "80") .. wrk.path

local function quote(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

-- POSTs body with curl; returns the status and the response's headers,
-- their names in lower case.
local function post(headers, body)
  local command = "curl -s -m 10 -o /dev/null -D - -X POST"
  for name, value in pairs(headers) do
    command = command .. " -H " .. quote(name .. ": " .. value)
  end
  command = command .. " --data-binary " .. quote(body) .. " " .. quote(url)
  local pipe = io.popen(command)
  local text = pipe:read("*a")
  pipe:close()
  local received = {}
  for name, value in text:gmatch("([%w%-]+):[ \t]*([^\r\n]*)") do
    received[name:lower()] = value
  end
  return tonumber(text:match("^HTTP/%S+ (%d+)")), received
end

-- What follows a request's id; every request has an id of its own, since
-- requests in flight at once in one session must not share one (a proxy
-- that matches answers to requests by id would mix them up).
local body_tail = ""
local next_id = 0
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

errors = 0

function init(argv)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Accept"] = "application/json, text/event-stream"
  wrk.headers["MCP-Protocol-Version"] = version
  if authorization then
    wrk.headers["Authorization"] = authorization
  end

  if version == "2026-07-28" then
    wrk.headers["Mcp-Method"] = "tools/call"
    wrk.headers["Mcp-Name"] = tool
    body_tail = ',"method":"tools/call","params":{"name":"' .. tool ..
      '","arguments":' .. args .. ',"_meta":{"io.modelcontextprotocol/protocolVersion":' ..
      '"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}'
    return
  end

  local base = {
    ["Content-Type"] = "application/json",
    ["Accept"] = "application/json, text/event-stream",
  }
  if authorization then
    base["Authorization"] = authorization
  end
  local status, received = post(base,
    '{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"' ..
    version .. '","capabilities":{},"clientInfo":{"name":"wrk","version":"1"}}}')
  local session = received["mcp-session-id"]
  if status ~= 200 or session == nil then
    io.stderr:write("mcp-call.lua: initialize at " .. url .. " answered " ..
                    tostring(status) .. " without a session\n")
    return
  end
  base["Mcp-Session-Id"] = session
  base["MCP-Protocol-Version"] = version
  status = post(base, '{"jsonrpc":"2.0","method":"notifications/initialized"}')
  if status ~= 202 then
    io.stderr:write("mcp-call.lua: notifications/initialized answered " ..
                    tostring(status) .. "\n")
  end
  wrk.headers["Mcp-Session-Id"] = session
  body_tail = ',"method":"tools/call","params":{"name":"' .. tool .. '","arguments":' .. args .. '}}'
end

function request()
  next_id = next_id + 1
  return wrk.format(nil, nil, nil, '{"jsonrpc":"2.0","id":' .. next_id .. body_tail)
end

function response(status, headers, body)
  -- wrk counts statuses from 400 up itself.
  if (status ~= 200 and status < 400) or
     (status == 200 and (not body:find('"result"', 1, true) or
                         body:find('"isError":true', 1, true))) then
    errors = errors + 1
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  local total = e.connect + e.read + e.write + e.timeout + e.status
  for _, thread in ipairs(threads) do
    total = total + (thread:get("errors") or 0)
  end
  io.write(string.format("RESULT %.0f %.1f %.1f %d %d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(99), total, summary.requests))
end
