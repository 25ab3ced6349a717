-- One request shape per run, from the environment:
-- BENCH_METHOD, BENCH_BODY, BENCH_TOKEN, and BENCH_UNIQUE, a body template
-- whose %s gets a value no other request of the run has (for creates).
local method = os.getenv("BENCH_METHOD") or "GET"
local body = os.getenv("BENCH_BODY")
local token = os.getenv("BENCH_TOKEN")
local unique = os.getenv("BENCH_UNIQUE")
local threads = 0
local counter = 0

function setup(thread)
  threads = threads + 1
  thread:set("thread_id", threads)
end

function init(args)
  prefix = tostring(thread_id) .. "-" .. tostring(os.time())
end

function request()
  local headers = { ["Content-Type"] = "application/json" }
  if token and token ~= "" then headers["Authorization"] = "Bearer " .. token end
  local payload = body
  if unique and unique ~= "" then
    counter = counter + 1
    payload = string.format(unique, prefix .. "-" .. counter)
  end
  return wrk.format(method, nil, headers, payload)
end
