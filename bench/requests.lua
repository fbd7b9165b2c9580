-- wrk script for bench/run.py: cycle through prepared requests and print the summary as one JSON line.
--
--   wrk -s bench/requests.lua http://127.0.0.1:PORT -- REQUESTS_FILE
--
-- REQUESTS_FILE has one request per line: "PATH<TAB>AUTHORIZATION" (the header may be empty).

local counter = 0

function setup(thread)
   counter = counter + 1
   thread:set("offset", counter)
end

function init(args)
   prepared = {}
   for line in io.lines(args[1]) do
      local path, authorization = line:match("^([^\t]*)\t?(.*)$")
      local headers = {}
      if authorization ~= "" then
         headers["Authorization"] = authorization
      end
      table.insert(prepared, wrk.format("GET", path, headers))
   end
   -- Each thread starts at a different place so that threads do not move in lockstep.
   index = (offset * 7919) % #prepared
end

function request()
   index = index % #prepared + 1
   return prepared[index]
end

function done(summary, latency, requests)
   local errors = summary.errors
   io.write(string.format(
      'BENCH_JSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "mean_us": %.1f, ' ..
      '"connect_errors": %d, "read_errors": %d, "write_errors": %d, "status_errors": %d, "timeouts": %d}\n',
      summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.mean,
      errors.connect, errors.read, errors.write, errors.status, errors.timeout))
end
