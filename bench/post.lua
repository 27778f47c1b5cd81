-- wrk script: POSTs the body in the file $BENCH_BODY to $BENCH_PATH with the case's headers, and
-- prints the results as one JSON line (latencies in microseconds) for bench/run.py.
local f = assert(io.open(os.getenv("BENCH_BODY"), "rb"))
wrk.method = "POST"
wrk.path = os.getenv("BENCH_PATH")
wrk.body = f:read("*a")
f:close()
wrk.headers["content-type"] = "application/json"
wrk.headers["authorization"] = os.getenv("BENCH_AUTHORIZATION")
local response = os.getenv("BENCH_RESPONSE")
if response and response ~= "" then
  wrk.headers["x-bench-response"] = response
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"bytes":%d,"errors_connect":%d,"errors_read":%d,' ..
    '"errors_write":%d,"errors_status":%d,"errors_timeout":%d,"p50_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
