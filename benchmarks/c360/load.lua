-- Distinct customer-360 requests: a random customer's email per request, written as people type it.
-- Copied from ../shared/bench/c360/load.lua; the answer check counts (README.md here says why).
math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 100000)
-- Globals, not locals: wrk runs each thread's request()/response() in that thread's own Lua
-- state and done() in yet another, so done() reads every thread's counters through thread:get.
bad, errs = 0, 0
local threads = {}
setup = function(thread)
  table.insert(threads, thread)
end
request = function()
  local i = math.random(1, 100000)
  local body = '{"query":"query C($e: String!) { customers(email: $e) { name purchases { orderNumber total { amount } placedAt } } }","variables":{"e":" Customer' .. i .. '@Example.com"}}'
  return wrk.format("POST", "/graphql", {["Content-Type"] = "application/json"}, body)
end
response = function(status, headers, body)
  if status ~= 200 then bad = bad + 1 elseif body:find('"errors"', 1, true) then errs = errs + 1 end
end
done = function(summary, latency, requests)
  local b, e = 0, 0
  for _, thread in ipairs(threads) do
    b = b + (tonumber(thread:get("bad")) or 0)
    e = e + (tonumber(thread:get("errs")) or 0)
  end
  io.write(string.format("c360-check: non200=%d errors=%d requests=%d\n", b, e, summary.requests))
end
