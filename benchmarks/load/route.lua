-- One route under load for wrk. From the environment: METHOD, ROUTE_PATH, BODY, CONTENT_TYPE,
-- EXPECT (the status every answer must have), AUTH_FILE (Authorization values, one per line,
-- used round-robin, so the load spreads over many users).
local method = os.getenv("METHOD") or "GET"
local path = os.getenv("ROUTE_PATH") or "/"
local body = os.getenv("BODY")
if body == "" then body = nil end
local content_type = os.getenv("CONTENT_TYPE")
local expect = tonumber(os.getenv("EXPECT") or "200")
local auths = {}
local auth_file = os.getenv("AUTH_FILE")
if auth_file and auth_file ~= "" then
  for line in io.lines(auth_file) do table.insert(auths, line) end
end
local next_auth = 0
unexpected = 0

local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

function request()
  local headers = {}
  if content_type and content_type ~= "" then headers["Content-Type"] = content_type end
  if #auths > 0 then
    next_auth = next_auth % #auths + 1
    headers["Authorization"] = auths[next_auth]
  end
  return wrk.format(method, path, headers, body)
end

function response(status, headers, body)
  if status ~= expect then unexpected = unexpected + 1 end
end

function done(summary, latency, requests)
  local wrong = 0
  for _, thread in ipairs(threads) do wrong = wrong + thread:get("unexpected") end
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d rps=%.0f p50_ms=%.3f p99_ms=%.3f errors=%d\n",
    summary.requests, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    wrong + e.connect + e.read + e.write + e.timeout))
end
