-- wrk-gate.lua: the requests of bench/run's gate target with wrk: GET
-- with "Authorization: Bearer <chatKitSessionId>", as client.fetch sends
-- them to a ChatKit server behind the gate.
--
-- Environment:
--   BENCH_SESSIONS  file with one session id per line, as many as the
--                   load's connections
--   BENCH_THREADS   wrk's -t: thread k (1-based) takes lines k, k + T,
--                   ... and sends them in turn, so each session goes
--                   with about one connection's requests
--
-- done() prints the line bench/run reads (as wrk-session.lua does):
--   BENCH requests=N duration_us=N p50_us=N p99_us=N non2xx=N sockerr=N
--         used=0 repeats=0

local threads = {}
local next_id = 0

function setup(thread)
	next_id = next_id + 1
	thread:set("tid", next_id)
	table.insert(threads, thread)
end

local prepared = {}
local seq = 0
-- A global: done() reads it from each thread with t:get().
non2xx = 0

function init(args)
	local path = assert(os.getenv("BENCH_SESSIONS"), "BENCH_SESSIONS is not set")
	local step = tonumber(os.getenv("BENCH_THREADS") or "1")
	local all = {}
	for line in io.lines(path) do
		if #line > 0 then
			table.insert(all, line)
		end
	end
	assert(#all > 0, "no session ids in " .. path)
	local k = tid or 1
	for i = k, #all, step do
		table.insert(prepared, wrk.format("GET", nil,
			{ ["Authorization"] = "Bearer " .. all[i] }))
	end
	if #prepared == 0 then
		-- More threads than sessions: share the first.
		prepared[1] = wrk.format("GET", nil,
			{ ["Authorization"] = "Bearer " .. all[1] })
	end
end

function request()
	seq = seq + 1
	return prepared[seq % #prepared + 1]
end

function response(status, headers, body)
	if status < 200 or status > 299 then
		non2xx = non2xx + 1
	end
end

function done(summary, latency, requests)
	local bad = 0
	for _, t in ipairs(threads) do
		bad = bad + (t:get("non2xx") or 0)
	end
	local e = summary.errors
	io.write(string.format(
		"BENCH requests=%d duration_us=%d p50_us=%d p99_us=%d non2xx=%d sockerr=%d used=0 repeats=0\n",
		summary.requests, summary.duration,
		latency:percentile(50), latency:percentile(99), bad,
		e.connect + e.read + e.write + e.timeout))
end
