-- wrk script for bench/http_write_path.py: POSTs the same JSON body on every request, each with a
-- unique Idempotency-Key (run nonce, wrk thread id, per-thread counter), counts responses by
-- status class and prints one machine-readable line from done().
--
--   wrk -t T -c C -d S -s bench/wrk_post.lua http://127.0.0.1:PORT -- \
--       PATH BODY_FILE NONCE RATE THREADS [HEADER ...]
--
-- PATH      the path to POST to (e.g. /v1/payments)
-- BODY_FILE a file holding the request body (JSON)
-- NONCE     a string unique to this run: keys never repeat across runs on the same database
-- RATE      0 for a closed loop (each connection sends its next request as soon as the previous
--           one was answered), or the target requests/s of the whole run (open loop): run it
--           with one connection per thread; each thread then sends on its own fixed schedule
--           (rate / threads), whatever the answers, and latency is also timed from the slot a
--           request was due when the previous answer came late (no coordinated omission)
-- THREADS   wrk's -t (wrk does not tell a script how many threads it runs)
-- HEADER    "Name: value" headers to send on every request
--
-- done() prints one line: "BENCH_RESULT {json}" (latencies in microseconds).

local ffi = require("ffi")
ffi.cdef([[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec_t;
int clock_gettime(int clk_id, bench_timespec_t *tp);
]])
local CLOCK_MONOTONIC = 1
local timespec = ffi.new("bench_timespec_t")

local function now_us()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, timespec)
  return tonumber(timespec.tv_sec) * 1000000 + tonumber(timespec.tv_nsec) / 1000
end

-- ----- main Lua state: number the threads, collect their counters at the end -------------------
local threads = {}

function setup(thread)
  thread:set("thread_id", #threads + 1)
  table.insert(threads, thread)
end

-- ----- per-thread Lua state --------------------------------------------------------------------
local path, body, nonce, headers
local interval_us = 0 -- 0: closed loop
local thread_count = 1
local counter = 0
sent = 0
status_2xx, status_3xx, status_4xx, status_5xx, status_other = 0, 0, 0, 0, 0
first_error = ""
late = 0 -- open loop: requests sent after their slot because the previous answer came late
paced = {} -- open loop: latency (us) of each request, from its slot or from when it was sent

local first_slot, slot_index = nil, 0
local started_at = nil -- when the request in flight counts from

local function read_file(name)
  local handle = assert(io.open(name, "rb"))
  local content = handle:read("*a")
  handle:close()
  return content
end

function init(args)
  path = args[1]
  body = read_file(args[2])
  nonce = args[3]
  local rate = tonumber(args[4]) or 0
  thread_count = tonumber(args[5]) or 1
  headers = {}
  for i = 6, #args do
    local name, value = string.match(args[i], "^([^:]+):%s*(.*)$")
    headers[name] = value
  end
  if rate > 0 then
    interval_us = 1000000 * thread_count / rate
  else
    delay = nil -- closed loop: no timer between an answer and the next request
  end
  if thread_id == 1 then
    -- wrk calls request() once on its first thread to check the request before the run starts;
    -- that one is never sent.
    sent = -1
  end
end

function delay()
  local now = now_us()
  if first_slot == nil then
    -- Stagger the threads' schedules across one interval so their requests interleave.
    first_slot = now + interval_us * (thread_id - 1) / thread_count
  end
  local slot = first_slot + slot_index * interval_us
  slot_index = slot_index + 1
  if now > slot then
    -- The previous answer came after this request's slot: it is late because of the server,
    -- so its latency counts from the slot it was due.
    late = late + 1
    started_at = slot
    return 0
  end
  started_at = nil -- counts from when it is actually sent (timer granularity is ours)
  return math.ceil((slot - now) / 1000)
end

function request()
  counter = counter + 1
  sent = sent + 1
  if interval_us > 0 and started_at == nil then
    started_at = now_us()
  end
  headers["Idempotency-Key"] = nonce .. "-" .. thread_id .. "-" .. counter
  return wrk.format("POST", path, headers, body)
end

function response(status, _, response_body)
  if interval_us > 0 and started_at ~= nil then
    paced[#paced + 1] = now_us() - started_at
    started_at = nil
  end
  if status >= 200 and status < 300 then
    status_2xx = status_2xx + 1
    return
  end
  if status >= 300 and status < 400 then
    status_3xx = status_3xx + 1
  elseif status >= 400 and status < 500 then
    status_4xx = status_4xx + 1
  elseif status >= 500 and status < 600 then
    status_5xx = status_5xx + 1
  else
    status_other = status_other + 1
  end
  if first_error == "" then
    first_error = "HTTP " .. status .. ": " .. string.sub(response_body or "", 1, 300)
  end
end

-- ----- report (main Lua state) -----------------------------------------------------------------
local function json_string(value)
  local escaped = string.gsub(value, '[%c"\\]', function(char)
    return string.format("\\u%04x", string.byte(char))
  end)
  return '"' .. escaped .. '"'
end

local function number(value)
  if value ~= value or value == math.huge or value == -math.huge then
    return "null"
  end
  return string.format("%.3f", value)
end

local function percentile(sorted, p)
  if #sorted == 0 then
    return 0 / 0
  end
  local rank = math.max(1, math.ceil(p / 100 * #sorted))
  return sorted[rank]
end

function done(summary, latency, _)
  local totals = { sent = 0, s2xx = 0, s3xx = 0, s4xx = 0, s5xx = 0, other = 0, late = 0 }
  local first = ""
  local all_paced = {}
  for _, thread in ipairs(threads) do
    totals.sent = totals.sent + thread:get("sent")
    totals.s2xx = totals.s2xx + thread:get("status_2xx")
    totals.s3xx = totals.s3xx + thread:get("status_3xx")
    totals.s4xx = totals.s4xx + thread:get("status_4xx")
    totals.s5xx = totals.s5xx + thread:get("status_5xx")
    totals.other = totals.other + thread:get("status_other")
    totals.late = totals.late + thread:get("late")
    if first == "" then
      first = thread:get("first_error")
    end
    for _, value in ipairs(thread:get("paced")) do
      all_paced[#all_paced + 1] = value
    end
  end
  table.sort(all_paced)
  local fields = {
    '"duration_us":' .. number(summary.duration),
    '"requests":' .. number(summary.requests),
    '"bytes":' .. number(summary.bytes),
    '"connect_errors":' .. number(summary.errors.connect),
    '"read_errors":' .. number(summary.errors.read),
    '"write_errors":' .. number(summary.errors.write),
    '"status_errors":' .. number(summary.errors.status),
    '"timeouts":' .. number(summary.errors.timeout),
    '"sent":' .. number(totals.sent),
    '"status_2xx":' .. number(totals.s2xx),
    '"status_3xx":' .. number(totals.s3xx),
    '"status_4xx":' .. number(totals.s4xx),
    '"status_5xx":' .. number(totals.s5xx),
    '"status_other":' .. number(totals.other),
    '"late":' .. number(totals.late),
    '"first_error":' .. json_string(first),
    '"latency_mean_us":' .. number(latency.mean),
    '"latency_max_us":' .. number(latency.max),
    '"latency_p50_us":' .. number(latency:percentile(50.0)),
    '"latency_p90_us":' .. number(latency:percentile(90.0)),
    '"latency_p99_us":' .. number(latency:percentile(99.0)),
    '"latency_p999_us":' .. number(latency:percentile(99.9)),
    '"paced_count":' .. number(#all_paced),
    '"paced_p50_us":' .. number(percentile(all_paced, 50)),
    '"paced_p90_us":' .. number(percentile(all_paced, 90)),
    '"paced_p99_us":' .. number(percentile(all_paced, 99)),
    '"paced_max_us":' .. number(percentile(all_paced, 100)),
  }
  io.write("BENCH_RESULT {" .. table.concat(fields, ",") .. "}\n")
end
