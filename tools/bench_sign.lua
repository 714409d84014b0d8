-- SPDX-License-Identifier: Apache-2.0
-- wrk script for scripts/bench: POST /v1/sign with one fixed JSON body over
-- keep-alive connections. Every answer that is not 2xx is counted (wrk's
-- own "Non-2xx or 3xx" line lets 3xx pass). done() prints one line
-- "bench-result {json}" with the counts and the latency percentiles of
-- wrk's histogram (the one --latency prints), in microseconds.
--
-- Environment (no secrets on wrk's command line):
--   BENCH_TOKEN_FILE  file holding the client's bearer token
--   BENCH_IDENTITY    identity to sign with
--   BENCH_FORMAT      raw (default) or cms
--   BENCH_ROUTE       sign (default) or stamp: POST /v1/stamp with the digest
--                     form instead (the same digest, no format); or pades:
--                     POST /v1/stamp?format=pades with the PDF BENCH_PDF_FILE;
--                     or stamp/batch: POST /v1/stamp/batch with BENCH_BATCH
--                     (default 10) copies of the digest
--   BENCH_STOP_AFTER  when set, each thread stops after that many answers
--                     and creates BENCH_DONE_DIR/<thread number>; wrk itself
--                     runs until -d, so the caller sends it SIGINT once every
--                     thread is done (wrk then reports as usual)

local function read_token(path)
   local f = assert(io.open(path, "r"), "BENCH_TOKEN_FILE: cannot open " .. tostring(path))
   local t = f:read("*l")
   f:close()
   assert(t and #t > 0, "BENCH_TOKEN_FILE is empty")
   return t
end

local identity = assert(os.getenv("BENCH_IDENTITY"), "BENCH_IDENTITY is not set")
local format = os.getenv("BENCH_FORMAT") or "raw"
local stop_after = tonumber(os.getenv("BENCH_STOP_AFTER") or "0")
local done_dir = os.getenv("BENCH_DONE_DIR")
-- SHA-256 of "sealgate bench", base64: a fixed, valid digest.
local digest = "8s8ysN9qPPOUwA42MW1I2D/IPY84zA2n9/zZzt/aIdY="

local route = os.getenv("BENCH_ROUTE") or "sign"

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. read_token(os.getenv("BENCH_TOKEN_FILE"))
local function read_file(path)
   local f = assert(io.open(path, "rb"), "cannot open " .. tostring(path))
   local data = f:read("*a")
   f:close()
   return data
end

if route == "pades" then
   wrk.path = "/v1/stamp?identity=" .. identity .. "&format=pades"
   wrk.headers["Content-Type"] = "application/pdf"
   wrk.body = read_file(os.getenv("BENCH_PDF_FILE"))
elseif route == "stamp/batch" then
   local items = {}
   for i = 1, tonumber(os.getenv("BENCH_BATCH") or "10") do
      items[i] = string.format('{"alg":"sha256","value":"%s"}', digest)
   end
   wrk.path = "/v1/stamp/batch"
   wrk.body = string.format('{"identity":"%s","digests":[%s]}', identity, table.concat(items, ","))
elseif route == "soap" then
   wrk.path = "/v1/soap/" .. (os.getenv("BENCH_AUTHORITY") or "") .. "?identity=" .. identity
   wrk.headers["Content-Type"] = 'application/soap+xml; charset=utf-8; action="' ..
      (os.getenv("BENCH_SOAP_ACTION") or "") .. '"'
   wrk.body = read_file(os.getenv("BENCH_SOAP_FILE"))
elseif route == "stamp" then
   wrk.path = "/v1/stamp"
   wrk.body = string.format('{"identity":"%s","digest":{"alg":"sha256","value":"%s"}}', identity, digest)
else
   wrk.path = "/v1/sign"
   wrk.body = string.format('{"identity":"%s","digest":{"alg":"sha256","value":"%s"},"format":"%s"}',
      identity, digest, format)
end

local threads = {}

function setup(thread)
   table.insert(threads, thread)
   thread:set("number", #threads)
end

function init(args)
   ok = 0
   bad = 0
   first_bad = 0
end

function response(status, headers, body)
   if status >= 200 and status < 300 then
      ok = ok + 1
   else
      bad = bad + 1
      if first_bad == 0 then first_bad = status end
   end
   if stop_after > 0 and ok + bad == stop_after then
      if done_dir then
         local f = io.open(done_dir .. "/" .. number, "w")
         if f then f:close() end
      end
      wrk.thread:stop()
   end
end

function done(summary, latency, requests)
   local n_ok, n_bad, first = 0, 0, 0
   for _, t in ipairs(threads) do
      n_ok = n_ok + t:get("ok")
      n_bad = n_bad + t:get("bad")
      if first == 0 then first = t:get("first_bad") end
   end
   local e = summary.errors
   io.write(string.format(
      'bench-result {"requests":%d,"ok":%d,"non_2xx":%d,"first_non_2xx":%d,' ..
      '"socket_errors":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d}\n',
      summary.requests, n_ok, n_bad, first,
      e.connect + e.read + e.write + e.timeout, summary.duration,
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
