-- wrk-session.lua: the requests bench/run sends with wrk.
--
-- Environment:
--   BENCH_MODE    floor  | reuse | create | mixed
--                 floor:  POST {} with the first token (the floors ignore it)
--                 reuse:  POST {"deviceId":"bench-reuse"}, users in turn, so
--                         each user's one session is reused
--                 create: POST {"deviceId":<new per request>}, users in turn,
--                         so every request creates a session row
--   BENCH_TOKENS  file with one token per line (one user each)
--   BENCH_NONCE   text that makes create-mode device ids unique per run
--
-- done() prints one line for bench/run:
--   BENCH requests=N duration_us=N p50_us=N p99_us=N non2xx=N sockerr=N

local mode = os.getenv("BENCH_MODE") or "floor"
local nonce = os.getenv("BENCH_NONCE") or tostring(os.time())
local threads = {}
local next_id = 0

function setup(thread)
	next_id = next_id + 1
	thread:set("tid", next_id)
	table.insert(threads, thread)
end

local tokens = {}
local prepared = {}
local n, seq = 0, 0
-- A global, not a local: done() reads it from each thread with t:get().
non2xx = 0

local function headers(token)
	return {
		["Authorization"] = "Bearer " .. token,
		["Content-Type"] = "application/json",
	}
end

function init(args)
	local path = os.getenv("BENCH_TOKENS")
	if path then
		for line in io.lines(path) do
			if #line > 0 then
				table.insert(tokens, line)
			end
		end
	end
	if #tokens == 0 then
		tokens = { "none" }
	end
	if mode == "floor" then
		tokens = { tokens[1] }
	end
	for i, t in ipairs(tokens) do
		local body = mode == "reuse" and '{"deviceId":"bench-reuse"}' or "{}"
		prepared[i] = wrk.format("POST", nil, headers(t), body)
	end
	-- Threads start on different users.
	seq = (tid or 0) * 7
end

function request()
	seq = seq + 1
	local i = seq % #tokens + 1
	if mode == "mixed" then
		local t = tokens[i]
		local k = seq % 4
		if k == 0 then
			return wrk.format("POST", nil, headers(t),
				'{"deviceId":"bench-mixed","metadata":{"k":"v"}}')
		elseif k == 1 then
			return wrk.format("POST", nil, headers("x" .. t), "{}")
		elseif k == 2 then
			return wrk.format("POST", nil, headers(t), '{"deviceId":')
		end
		return wrk.format("GET", nil, headers(t))
	end
	if mode == "create" then
		local body = string.format('{"deviceId":"new-%s-%d-%d"}',
			nonce, tid or 0, seq)
		return wrk.format("POST", nil, headers(tokens[i]), body)
	end
	return prepared[i]
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
		"BENCH requests=%d duration_us=%d p50_us=%d p99_us=%d non2xx=%d sockerr=%d\n",
		summary.requests, summary.duration,
		latency:percentile(50), latency:percentile(99), bad,
		e.connect + e.read + e.write + e.timeout))
end
