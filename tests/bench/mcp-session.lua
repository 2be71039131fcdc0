-- SPDX-License-Identifier: Apache-2.0
--
-- wrk script: the cost of a legacy (MCP_VERSION, 2025-11-25 by default)
-- session's life: initialize, notifications/initialized, then DELETE, in
-- turn, one session after the other. Run it with one connection. Prints
-- "RESULT requests/s p50_us p99_us errors requests sessions read_errors"
-- at the end: sessions is how many went through all three steps, and
-- read_errors how many times the server closed the connection (counted in
-- errors too): a server that closes it after its answer to DELETE makes
-- every session pay for a new connection.

local version = os.getenv("MCP_VERSION") or "2025-11-25"
local step = 0
local session = nil
local threads = {}

errors = 0
sessions = 0

function setup(thread)
  table.insert(threads, thread)
end

local function headers()
  local h = {
    ["Content-Type"] = "application/json",
    ["Accept"] = "application/json, text/event-stream",
  }
  if session then
    h["Mcp-Session-Id"] = session
    h["MCP-Protocol-Version"] = version
  end
  return h
end

local initialize = '{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"' ..
  version .. '","capabilities":{},"clientInfo":{"name":"wrk","version":"1"}}}'
local initialized = '{"jsonrpc":"2.0","method":"notifications/initialized"}'

function request()
  if step == 0 or session == nil then
    step = 0
    session = nil
    return wrk.format("POST", nil, headers(), initialize)
  elseif step == 1 then
    return wrk.format("POST", nil, headers(), initialized)
  else
    return wrk.format("DELETE", nil, headers(), nil)
  end
end

function response(status, received, body)
  local ok
  if step == 0 then
    session = nil
    for name, value in pairs(received) do
      if name:lower() == "mcp-session-id" then
        session = value
      end
    end
    ok = status == 200 and session ~= nil and body:find('"result"', 1, true) ~= nil
  elseif step == 1 then
    ok = status == 202
  else
    ok = status >= 200 and status < 300
    if ok then
      sessions = sessions + 1
      session = nil
    end
  end
  if not ok then
    if status < 400 then
      errors = errors + 1
    end
    step = 0
    session = nil
    return
  end
  step = (step + 1) % 3
end

function done(summary, latency, requests)
  local e = summary.errors
  local total = e.connect + e.read + e.write + e.timeout + e.status
  local n = 0
  for _, thread in ipairs(threads) do
    total = total + (thread:get("errors") or 0)
    n = n + (thread:get("sessions") or 0)
  end
  io.write(string.format("RESULT %.0f %.1f %.1f %d %d %d %d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(99), total, summary.requests, n, e.read))
end
