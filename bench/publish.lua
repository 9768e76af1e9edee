-- wrk script for tools/bench's ingest figure: POST /api/v1/events to hookd serve, the
-- anchors' 400-byte payload.json as the event's payload, keep-alive.
--   PAYLOAD=<file>   payload file (default payload.json in the current directory)
--   TOKEN=<token>    the X-Token header (default tok_bench)
--   TYPE=<type>      the event type (default customer_created)
-- done() prints one machine-readable line, as the anchors' post.lua: "WRKJSON {...}".
local path = os.getenv("PAYLOAD") or "payload.json"
local f = assert(io.open(path, "rb"))
local payload = f:read("*a"):gsub("%s+$", "")
f:close()

wrk.method = "POST"
wrk.body = '{"event": {"type": "' .. (os.getenv("TYPE") or "customer_created") ..
  '", "payload": ' .. payload .. '}}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-Token"] = os.getenv("TOKEN") or "tok_bench"

function done(summary, latency, requests)
  local e = summary.errors
  local secs = summary.duration / 1e6
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_s":%.3f,"rps":%.1f,"p50_us":%d,"p90_us":%d,"p99_us":%d,' ..
    '"max_us":%d,"err_connect":%d,"err_read":%d,"err_write":%d,"err_status":%d,"err_timeout":%d,"body_bytes":%d}\n',
    summary.requests, secs, summary.requests / secs,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout, #wrk.body))
end
