-- chatkit-session-gate.lua: lighttpd mod_magnet script for
-- chatkit-session-gate.conf. The gate's Variable-CHATKIT_* answers land
-- in the request's environment; a proxied server sees only headers. Run
-- before the gate, it drops whatever X-ChatKit-* headers the client sent
-- (the environment is empty then); run again after it, it sets them from
-- what the gate verified.
local r = lighty.r
local headers = {
	CHATKIT_USER_ID = "X-ChatKit-User-Id",
	CHATKIT_DEVICE_ID = "X-ChatKit-Device-Id",
	CHATKIT_EXPIRES_AT = "X-ChatKit-Expires-At",
	CHATKIT_ROLE = "X-ChatKit-Role",
}
for var, header in pairs(headers) do
	r.req_header[header] = r.req_env[var]
end
if r.req_env["CHATKIT_USER_ID"] ~= nil then
	-- The ChatKit server needs the user, not the credential.
	r.req_header["Authorization"] = nil
end
return 0
