-- wrk script for scripts/bench: each wrk thread reads its own file of
-- pre-signed bodies (BODIES_DIR/bodies.<thread>), one body per request, never
-- reusing one. When its file runs out a thread sends GET /api/v1/health and
-- counts it as "exhausted". done() writes key=value lines to BENCH_RESULT_FILE.
-- BENCH_PATH and BENCH_CONTENT_TYPE say where and as what the bodies go
-- (default: leadhook's JSON route, application/json).
-- Usage: BENCH_RESULT_FILE=FILE wrk ... -s bench.lua URL -- BODIES_DIR

local next_id = 1
local path = os.getenv("BENCH_PATH") or "/api/v1/wh/mg/events"
local content_type = os.getenv("BENCH_CONTENT_TYPE") or "application/json"

-- Pacing (scripts/soak): each connection waits this long between requests.
local delay_ms = tonumber(os.getenv("BENCH_DELAY_MS") or "") or 0
if delay_ms > 0 then
  function delay()
    return delay_ms
  end
end
local threads = {}

function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  bodies = assert(io.open(args[1] .. "/bodies." .. tid, "r"))
  headers = { ["Content-Type"] = content_type }
  sent, exhausted = 0, 0
  success, unmatched, duplicate, other200, non2xx = 0, 0, 0, 0, 0
end

function request()
  local b = bodies:read("*l")
  if not b then
    exhausted = exhausted + 1
    return wrk.format("GET", "/api/v1/health")
  end
  sent = sent + 1
  return wrk.format("POST", path, headers, b)
end

-- Any 2xx is read for its "status" (leadhook answers 200, the original app 202);
-- other200 counts the 2xx answers without a known one.
function response(status, hdrs, body)
  if status >= 200 and status <= 299 then
    local s = body and string.match(body, '"status"%s*:%s*"(%a+)"')
    if s == "success" then
      success = success + 1
    elseif s == "unmatched" then
      unmatched = unmatched + 1
    elseif s == "duplicate" then
      duplicate = duplicate + 1
    else
      other200 = other200 + 1
    end
  elseif status < 200 or status > 299 then
    non2xx = non2xx + 1
  end
end

function done(summary, latency, requests)
  local t = { sent = 0, exhausted = 0, success = 0, unmatched = 0, duplicate = 0, other200 = 0, non2xx = 0 }
  for _, th in ipairs(threads) do
    for k, _ in pairs(t) do
      t[k] = t[k] + (th:get(k) or 0)
    end
  end
  local f = assert(io.open(os.getenv("BENCH_RESULT_FILE"), "w"))
  for k, v in pairs(t) do
    f:write(k, "=", v, "\n")
  end
  local e = summary.errors
  f:write("requests=", summary.requests, "\n")
  f:write("duration_us=", summary.duration, "\n")
  f:write("socket_errors=", e.connect + e.read + e.write + e.timeout, "\n")
  f:write("timeouts=", e.timeout, "\n")
  f:write("p50_us=", latency:percentile(50), "\n")
  f:write("p99_us=", latency:percentile(99), "\n")
  f:close()
end
