-- wrk script: POST the body in the file WRK_BODY to /invocations; at the end one line of figures (monitoring.py reads it).
-- WRK_RATE (requests/s over all connections, optional): each connection waits connections/rate between requests, so the
-- load is offered at a fixed rate below saturation (the wait is not part of the latency).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open(os.getenv("WRK_BODY"), "rb"); wrk.body = f:read("*a"); f:close()
local rate = tonumber(os.getenv("WRK_RATE") or "")
local conns = tonumber(os.getenv("WRK_CONNS") or "1")
if rate and rate > 0 then
  local pause = conns * 1000 / rate
  function delay() return pause end
end
function done(summary, latency, requests)
  io.write(string.format("RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d errors=%d\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status + summary.errors.timeout))
end
