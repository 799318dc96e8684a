-- wrk-session.lua: the requests bench/run sends with wrk.
--
-- Environment:
--   BENCH_MODE    floor  | reuse | create | mixed | gate
--                 floor:  POST {} with the first token (the floors ignore it)
--                 reuse:  POST {"deviceId":"bench-reuse"}, users in turn, so
--                         each user's one session is reused
--                 create: POST {"deviceId":<new per request>}, users in turn,
--                         so every request creates a session row
--                 gate:   GET with "Authorization: Bearer <chatKitSessionId>",
--                         as client.fetch sends them to a ChatKit server
--                         behind the gate: BENCH_TOKENS holds session ids,
--                         and thread k of BENCH_THREADS takes lines k,
--                         k + BENCH_THREADS, ... in turn, so each session
--                         goes with about one connection's requests
--   BENCH_TOKENS  file with one token per line (one user each)
--   BENCH_NONCE   text that makes create-mode device ids unique per run
--   BENCH_FRESH   set: a new token for every request (reuse and create
--                 modes). BENCH_TOKENS then holds many tokens, all lines of
--                 one length (bench/mint-tokens.c); thread k of
--                 BENCH_THREADS takes lines BENCH_FIRST + k - 1,
--                 + BENCH_THREADS, ... (0-based), read in blocks as it goes.
--                 Past the end it starts again at line 0 and counts each
--                 such request in `repeats` (bench/run mints enough that
--                 this stays 0).
--
-- done() prints one line for bench/run:
--   BENCH requests=N duration_us=N p50_us=N p99_us=N non2xx=N sockerr=N
--         used=N repeats=N
-- used: tokens taken by the busiest thread (fresh mode; 0 otherwise), so
-- the next run starts at BENCH_FIRST + used * BENCH_THREADS.

local mode = os.getenv("BENCH_MODE") or "floor"
local nonce = os.getenv("BENCH_NONCE") or tostring(os.time())
local fresh = os.getenv("BENCH_FRESH") ~= nil and mode ~= "floor"
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
-- Globals, not locals: done() reads them from each thread with t:get().
non2xx = 0
used = 0
repeats = 0

-- Fresh mode: this thread's place in the token file.
local tfile, tlen, tstep, tline, tlines
local block, bpos, bcount = nil, 0, 0
local BLOCK = 64

-- next_token: the next line of this thread (fresh mode).
local wrapped = false
local function next_token()
	if bpos >= bcount then
		if tline >= tlines then
			tline = tline % tstep
			wrapped = true
		end
		tfile:seek("set", tline * (tlen + 1))
		block = tfile:read(tstep * (tlen + 1) * BLOCK) or ""
		bcount = 0
		if #block >= tlen then
			bcount = math.floor((#block - tlen) / (tstep * (tlen + 1))) + 1
		end
		assert(bcount > 0, "token file shorter than the threads")
		bpos = 0
		tline = tline + bcount * tstep
	end
	local at = bpos * tstep * (tlen + 1)
	bpos = bpos + 1
	used = used + 1
	if wrapped then
		repeats = repeats + 1
	end
	return string.sub(block, at + 1, at + tlen)
end

local function headers(token)
	return {
		["Authorization"] = "Bearer " .. token,
		["Content-Type"] = "application/json",
	}
end

function init(args)
	local path = os.getenv("BENCH_TOKENS")
	if path and fresh then
		-- Only the first line now: the file may hold 10^5 tokens.
		tfile = assert(io.open(path, "rb"))
		tokens = { tfile:read("*l") }
		tlen = #tokens[1]
		tstep = tonumber(os.getenv("BENCH_THREADS") or "1")
		tline = tonumber(os.getenv("BENCH_FIRST") or "0") + (tid or 1) - 1
		tlines = math.floor(tfile:seek("end") / (tlen + 1))
	elseif path then
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
	if mode == "gate" then
		local step = tonumber(os.getenv("BENCH_THREADS") or "1")
		local mine = {}
		for i = tid or 1, #tokens, step do
			table.insert(mine, tokens[i])
		end
		-- More threads than sessions: share the first.
		tokens = #mine > 0 and mine or { tokens[1] }
		for i, t in ipairs(tokens) do
			prepared[i] = wrk.format("GET", nil, { ["Authorization"] = "Bearer " .. t })
		end
		return
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
	if fresh then
		local t = next_token()
		if mode == "create" then
			return wrk.format("POST", nil, headers(t),
				string.format('{"deviceId":"new-%s-%d-%d"}', nonce, tid or 0, seq))
		end
		return wrk.format("POST", nil, headers(t), '{"deviceId":"bench-reuse"}')
	end
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
	local bad, most, rep = 0, 0, 0
	for _, t in ipairs(threads) do
		bad = bad + (t:get("non2xx") or 0)
		most = math.max(most, t:get("used") or 0)
		rep = rep + (t:get("repeats") or 0)
	end
	local e = summary.errors
	io.write(string.format(
		"BENCH requests=%d duration_us=%d p50_us=%d p99_us=%d non2xx=%d sockerr=%d used=%d repeats=%d\n",
		summary.requests, summary.duration,
		latency:percentile(50), latency:percentile(99), bad,
		e.connect + e.read + e.write + e.timeout, most, rep))
end
