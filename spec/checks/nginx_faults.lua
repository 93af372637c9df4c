-- The fault matrix against the ngx cosocket transport inside a real nginx (driven by
-- spec/checks/nginx.sh, which starts nginx with the /fault location and the sandbox).
-- Every fault class x KOS/RCS x fresh/reused pooled connection: error fields, time
-- bound, heads/bodies the sandbox saw (never a body twice), no secret returned.
--   luajit spec/checks/nginx_faults.lua NGINX_URL SANDBOX_URL ROOT
-- Prints failing cases and "nginx faults: N passed, N failed"; exit 1 on failure.
local root = arg[3] or "."
package.path = root .. "/?.lua;" .. root .. "/lua/?.lua;" .. root .. "/lua/?/init.lua;" .. package.path
local http = require "socket.http"
local ltn12 = require "ltn12"
local sandbox = require "spec.helpers.sandbox"
local calls = require "spec.helpers.calls"
local fx = require "spec.helpers.fixtures"
local json = sandbox.json

local NGINX, sb = arg[1], sandbox.attach(arg[2])
local TIMEOUT, SLOW_TIMEOUT, RETRIES = 2, 1, 2
local function bound(timeout) return timeout * (RETRIES + 1) + 1 end

local function t(kind, code, sent, extra)
  local e = { kind = kind, code = code, sent = sent, retryable = false, heads = 1, bodies = 1 }
  for k, v in pairs(extra or {}) do e[k] = v end
  return e
end
-- The ngx transport's outcomes (its codes follow libcurl's names, see transport/ngx.lua).
local EXPECT = {
  refuse = t("transport", "COULDNT_CONNECT", false, { retryable = true, heads = 0, bodies = 0 }),
  reset_before_read = t("transport", { "RECV_ERROR", "SEND_ERROR" }, true, { bodies = 0, reused_code = "CONNECTION_DIED" }),
  fin_after_headers = t("transport", "GOT_NOTHING", true, { bodies = 0, reused_code = "CONNECTION_DIED" }),
  reset_after_body = t("transport", "RECV_ERROR", true, { reused_code = "CONNECTION_DIED" }),
  fin_after_body = t("transport", "GOT_NOTHING", true, { reused_code = "CONNECTION_DIED" }),
  hang = t("transport", "OPERATION_TIMEDOUT", true, { slow = true }),
  overlong = t("transport", "OPERATION_TIMEDOUT", true, { slow = true }),
  trickle = t("transport", "OPERATION_TIMEDOUT", true, { slow = true }),
  truncate = t("transport", "PARTIAL_FILE", true),
  big_body = t("transport", "RESPONSE_TOO_LARGE", true, { fault = { mode = "big_body", bytes = 4096 } }),
  big_body_chunked = t("transport", "RESPONSE_TOO_LARGE", true,
    { fault = { mode = "big_body", bytes = 4096, chunked = true } }),
  huge_header = t("transport", "RESPONSE_TOO_LARGE", true),
  many_headers = t("transport", "RESPONSE_TOO_LARGE", true),
  not_json = t("decode", nil, nil, { status = 200 }),
  html_500 = t("http", nil, nil, { status = 500 }),
  empty_502 = t("http", nil, nil, { status = 502, retryable = false }),  -- a gateway may have passed it on
  redirect_307 = t("http", nil, nil, { status = 307, fault = { mode = "redirect_307", port = 9 } }),
  echo_400 = t("http", nil, nil, { status = 400, fault = { mode = "echo", status = 400, escape = "unicode" } }),
  echo_200 = { ok = true, heads = 1, bodies = 1, fault = { mode = "echo", status = 200 } },
}

local png = fx.file("nginx-faults-profile.png", function() return fx.png(400, 400) end)
if png:sub(1, 1) ~= "/" then png = root .. "/" .. png end
local seq = 0
local function payload(api)
  seq = seq + 1
  local tag = os.time() .. "-" .. seq
  if api == "kos" then
    return { images = { { fileName = "ngx/" .. tag .. ".jpg", visitorId = "65a1b2c3d4e5f6a7b8c9d0e1" } } }
  end
  return { regBrand = { name = "테스트브랜드", description = "ngx fault " .. tag, tel = "09046123177",
    categoryId = "EDU", subCategoryId = "EDU007", menus = { { buttonType = "call" } } }, brandProfile = png }
end

local function post(doc)
  local chunks, body = {}, json.encode(doc)
  local ok, status = http.request { url = NGINX .. "/fault", method = "POST", sink = ltn12.sink.table(chunks),
    source = ltn12.source.string(body),
    headers = { ["content-type"] = "application/json", ["content-length"] = tostring(#body) } }
  if not ok or status ~= 200 then return nil, "nginx /fault answered " .. tostring(status) .. ": " .. table.concat(chunks) end
  return json.decode(table.concat(chunks))
end

local function in_list(v, list)
  if type(list) ~= "table" then return v == list end
  for _, x in ipairs(list) do if x == v then return true end end
  return false
end

-- Runs one case; returns nil or the reason it failed.
local function run(mode, api, conn)
  local e = EXPECT[mode]
  local ep = calls.ENDPOINT[api]
  local base = mode == "refuse" and ("http://127.0.0.1:" .. sandbox.refused_port()) or sb.url
  local timeout = e.slow and SLOW_TIMEOUT or TIMEOUT
  local q = { api = api, base = base, timeout = timeout, retries = RETRIES, payload = payload(api),
    max = mode:find("^big_body") and 1024 or nil }
  if conn == "fresh" then
    sb:close_idle() -- nginx's pool drops the closed connections
  else -- one worker: the next request reuses the connection this one leaves in the pool
    local w, werr = post { api = api, base = base, timeout = TIMEOUT, payload = payload(api) }
    if not (w and w.res) then return "warm-up call failed: " .. tostring(w and w.str or werr) end
  end
  if mode ~= "refuse" then
    local f = {}
    for k, v in pairs(e.fault or { mode = mode }) do f[k] = v end
    f.endpoint = ep
    sb:fault(f)
  end
  local before = sb:stats()
  local out, perr = post(q)
  local after = sb:stats()
  sb:clear_faults()
  if not out then return perr end
  if out.elapsed > bound(timeout) then return string.format("took %.2f s", out.elapsed) end
  local heads, bodies = after.by_endpoint[ep] - before.by_endpoint[ep], after.received[ep] - before.received[ep]
  if heads ~= e.heads then return "request heads the sandbox saw: " .. heads end
  if bodies ~= e.bodies then return "bodies the sandbox read: " .. bodies end
  if after.duplicates[ep] ~= before.duplicates[ep] then return "a body arrived twice" end
  if e.heads > 0 then
    local recs = sb:requests()
    if (recs[#recs].reused == true) ~= (conn == "reused") then return "the request was not on a " .. conn .. " connection" end
  end
  local secrets = calls.secrets(sb)
  local leak = calls.find_secret(out.res, secrets, "res") or calls.find_secret(out.err, secrets, "err")
    or calls.find_secret(out.str, secrets, "tostring(err)")
  if leak then return "secret in " .. leak end
  if e.ok then return out.err and ("failed: " .. tostring(out.str)) or nil end
  local err = out.err
  if not err then return "succeeded" end
  local code = conn == "reused" and e.reused_code or e.code
  if err.kind ~= e.kind then return "kind " .. tostring(err.kind) .. ": " .. out.str end
  if code and not in_list(err.code, code) then return "code " .. tostring(err.code) .. ": " .. out.str end
  if e.status and err.status ~= e.status then return "status " .. tostring(err.status) end
  if err.retryable ~= e.retryable then return "retryable " .. tostring(err.retryable) end
  if e.kind == "transport" and err.sent ~= e.sent then return "sent " .. tostring(err.sent) end
  return nil
end

local names = {}
for m in pairs(EXPECT) do names[#names + 1] = m end
table.sort(names)
local pass, fail = 0, 0
for _, mode in ipairs(names) do
  for _, api in ipairs { "kos", "rcs" } do
    for _, conn in ipairs { "fresh", "reused" } do
      local skip = (mode == "refuse" or EXPECT[mode].slow) and conn == "reused"
      if not skip then
        local ok, why = pcall(run, mode, api, conn)
        if ok and why == nil then
          pass = pass + 1
        else
          fail = fail + 1
          print(string.format("not ok - %s / %s / %s: %s", mode, api, conn, tostring(why)))
        end
      end
    end
  end
end

-- A stale pooled connection (closed by the server while idle) is replaced before writing.
for _, mode in ipairs { "reset_idle", "fin_idle" } do
  for _, api in ipairs { "kos", "rcs" } do
    local ep = calls.ENDPOINT[api]
    sb:fault { endpoint = ep, mode = mode }
    local warm = post { api = api, base = sb.url, timeout = TIMEOUT, payload = payload(api) }
    require("socket").sleep(0.2)
    local before = sb:stats()
    local out = post { api = api, base = sb.url, timeout = TIMEOUT, payload = payload(api) }
    local after = sb:stats()
    local recs = sb:requests()
    if warm and warm.res and out and out.res and after.received[ep] - before.received[ep] == 1
      and after.duplicates[ep] == before.duplicates[ep] and not recs[#recs].reused then
      pass = pass + 1
    else
      fail = fail + 1
      print(string.format("not ok - %s / %s: %s", mode, api, out and tostring(out.str) or "no answer"))
    end
  end
end

-- The servers' dialect (issue 15) through the ngx transport in nginx: integer codes, the Fail
-- envelope in its own status and inside a 200, a 2xx without result; one body each, never two.
local DIALECT = {
  { name = "fail_in_200", dialect = { codes = "integer", fail_status = 200,
      answer = { endpoint = "rcs.register_brand", code = "64336", message = "required value: [name]" } },
    want = { kind = "http", code = "64336", status = 400, http_status = 200, retryable = false, sent = true } },
  { name = "fail_integer", dialect = { codes = "integer",
      answer = { endpoint = "rcs.register_brand", code = "64316", message = "Invalid brandId" } },
    want = { kind = "http", code = "64316", status = 400, http_status = 400, retryable = false, sent = true } },
  { name = "no_result", dialect = { codes = "integer", no_result = { endpoint = "rcs.register_brand" } },
    want = { kind = "decode", status = 200, retryable = false, sent = true } },
}
for _, case in ipairs(DIALECT) do
  local ep = "rcs.register_brand"
  sb:dialect(case.dialect)
  local before = sb:stats()
  local out, perr = post { api = "rcs", base = sb.url, timeout = TIMEOUT, retries = RETRIES, payload = payload("rcs") }
  local after = sb:stats()
  sb:dialect { codes = "string", fail_status = sandbox.json.null }
  local why
  if not out then why = perr
  elseif not out.err then why = "succeeded"
  elseif after.received[ep] - before.received[ep] ~= 1 or after.duplicates[ep] ~= before.duplicates[ep] then
    why = "bodies the sandbox read: " .. (after.received[ep] - before.received[ep])
  else
    for k, v in pairs(case.want) do
      if out.err[k] ~= v then why = k .. " " .. tostring(out.err[k]) .. ": " .. tostring(out.str) break end
    end
  end
  if why then
    fail = fail + 1
    print(string.format("not ok - dialect %s: %s", case.name, why))
  else
    pass = pass + 1
  end
end

print(string.format("nginx faults: %d passed, %d failed", pass, fail))
os.exit(fail == 0 and 0 or 1)
