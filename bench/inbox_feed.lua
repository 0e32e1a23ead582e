-- wrk script of bench/inbox_bench.py: feeds pre-built raw HTTP/1.1 requests (signed deliveries).
--
--   wrk -t T -c C -d D -s bench/inbox_feed.lua URL -- PREFIX once|wrap
--
-- Thread n (0-based) reads only its own slice, PREFIX.n.bin, a sequence of records
-- "<length in bytes>\n<raw request>", so no two threads ever send the same request.
-- "once": every request is sent at most once; a thread that runs out sends a GET for
-- /bench-pool-exhausted instead (a 404, so a non-2xx: the run is refused) and counts it.
-- "wrap": a thread that runs out starts its slice again (the bare server does not care).
-- done() prints one line per thread: how many requests request() handed out (sent, answered
-- or not when wrk stopped), how many times the pool was exhausted, and the slice's size.
-- Before the run wrk calls request() once on thread 0 to count pipelined requests
-- (script_verify_request) and never sends that one: it is neither consumed nor counted.

local threads = {}
local count = 0
local EXHAUSTED = "GET /bench-pool-exhausted HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"

function setup(thread)
  thread:set("id", count)
  count = count + 1
  table.insert(threads, thread)
end

function init(args)
  local prefix = args[1]
  wrap = args[2] == "wrap"
  local file = assert(io.open(prefix .. "." .. id .. ".bin", "rb"))
  local data = file:read("*a")
  file:close()
  pool = {}
  local pos, size = 1, #data
  while pos <= size do
    local newline = string.find(data, "\n", pos, true)
    local length = tonumber(string.sub(data, pos, newline - 1))
    pool[#pool + 1] = string.sub(data, newline + 1, newline + length)
    pos = newline + 1 + length
  end
  pool_size = #pool
  next_index = 1
  issued = 0
  exhausted = 0
  verifying = id == 0
end

function request()
  if verifying then
    verifying = false
    return pool[1] or EXHAUSTED
  end
  if next_index > pool_size then
    if wrap and pool_size > 0 then
      next_index = 1
    else
      exhausted = exhausted + 1
      return EXHAUSTED
    end
  end
  local raw = pool[next_index]
  next_index = next_index + 1
  issued = issued + 1
  return raw
end

function done(summary, latency, requests)
  for _, thread in ipairs(threads) do
    io.write(string.format("bench-thread %d issued %d exhausted %d pool %d\n",
      thread:get("id"), thread:get("issued"), thread:get("exhausted"), thread:get("pool_size")))
  end
end
