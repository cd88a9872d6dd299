-- wrk script of the load benchmarks: POST a JSON body as many signed-in members.
-- Arguments (after wrk's "--"): summary file, threads, path, sessions file, CSRF token, body,
-- expected status, cookie prefix ("" locally, "__Host-" behind HTTPS).
-- Each session is used once at most, unless reuse is "1" (the bare endpoint does not care).
-- The summary (requests, acknowledged, latency percentiles, receipts) is written as JSON.

local counter = 0
local threads = {}

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  summary_file = args[1]
  local nthreads = tonumber(args[2])
  path = args[3]
  csrf = args[5]
  body = args[6]
  expected = tonumber(args[7])
  reuse = args[8] == "1"
  cookie_prefix = args[9] or ""
  tokens = {}
  local i = 0
  for line in io.lines(args[4]) do
    if i % nthreads == id then
      tokens[#tokens + 1] = line
    end
    i = i + 1
  end
  next_token = 0
  ok = 0
  receipts = {}
  exhausted = 0
end

function request()
  next_token = next_token + 1
  local token = tokens[next_token]
  if token == nil then
    if reuse then
      next_token = 1
      token = tokens[1]
    else
      exhausted = exhausted + 1
      token = "exhausted"
    end
  end
  return wrk.format("POST", path, {
    ["Content-Type"] = "application/json",
    ["X-CSRFToken"] = csrf,
    ["Cookie"] = cookie_prefix .. "sip_session=" .. token .. "; " .. cookie_prefix .. "sip_csrf=" .. csrf,
  }, body)
end

function response(status, headers, resp_body)
  if status == expected then
    ok = ok + 1
    local receipt = string.match(resp_body, '"receipt":"([^"]+)"')
    if receipt then
      receipts[#receipts + 1] = receipt
    end
  end
end

local function json_string(s)
  return '"' .. string.gsub(s, '["\\]', "") .. '"'
end

function done(summary, latency, requests)
  local total_ok = 0
  local all = {}
  local short = 0
  for _, thread in ipairs(threads) do
    total_ok = total_ok + thread:get("ok")
    short = short + thread:get("exhausted")
    for _, r in ipairs(thread:get("receipts")) do
      all[#all + 1] = json_string(r)
    end
  end
  local e = summary.errors
  local f = io.open(threads[1]:get("summary_file"), "w")
  f:write(string.format(
    '{"requests": %d, "duration_us": %d, "ok": %d, "p50_us": %d, "p99_us": %d, ' ..
    '"socket_errors": %d, "sessions_short": %d, "receipts": [%s]}',
    summary.requests, summary.duration, total_ok, latency:percentile(50),
    latency:percentile(99), e.connect + e.read + e.write + e.timeout, short,
    table.concat(all, ",")))
  f:close()
end
