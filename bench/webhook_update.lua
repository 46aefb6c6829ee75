-- wrk script: POST a private-chat text message update with a new update_id every request.
-- Arguments after `--`: first update_id, secret token, webhook path.
-- A repeated update_id would flatter nothing: de-duplication would skip the handlers and
-- aiogram would reuse a cached hash. Users (and chats) rotate over 1000 ids.

local first_id, path, headers
local counter = 0
local threads = {}

local body_format = '{"update_id":%d,"message":{"message_id":%d,"date":1700000000,'
  .. '"chat":{"id":%d,"type":"private","first_name":"Bench"},'
  .. '"from":{"id":%d,"is_bot":false,"first_name":"Bench","language_code":"en"},'
  .. '"text":"hello from the benchmark"}}'

function setup(thread)
  -- Runs in the main Lua state: number the threads so each gets its own id range.
  thread:set("thread_number", #threads)
  table.insert(threads, thread)
end

function init(args)
  first_id = tonumber(args[1]) + thread_number * 10000000
  path = args[3]
  headers = {
    ["Content-Type"] = "application/json",
    ["X-Telegram-Bot-Api-Secret-Token"] = args[2],
  }
end

function request()
  local update_id = first_id + counter
  local user_id = 100000 + counter % 1000
  counter = counter + 1
  local body = string.format(body_format, update_id, counter, user_id, user_id)
  return wrk.format("POST", path, headers, body)
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests":%d,"duration_us":%d,"errors_connect":%d,"errors_read":%d,'
      .. '"errors_write":%d,"errors_status":%d,"errors_timeout":%d,"p50_us":%d,"p90_us":%d,'
      .. '"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, errors.connect, errors.read, errors.write,
    errors.status, errors.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean))
end
