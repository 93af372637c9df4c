-- After register_brand fails with err.sent = true, look before registering again:
-- find_brands finds the brand if the server got it; register_chatbots adds 10 sender
-- numbers to it; then wait_for_approval follows it.
-- Runs against the sandbox, whose fault mode loses the answer to the brand POST (the brand is
-- created, the connection is reset) and whose control call approves the brand:
--   bin/bizreg-sandbox --port 8089 &
--   lua5.4 examples/rcs_reconcile.lua [http://127.0.0.1:8089]      (any Lua the core was built for)
package.path = "./lua/?.lua;./lua/?/init.lua;" .. package.path
local built = rawget(_G, "jit") and "luajit" or ("lua" .. _VERSION:match("%d+%.%d+"))
package.cpath = "./build/" .. built .. "/?.so;" .. package.cpath
local bizreg = require "bizreg"
local http = require "socket.http"
local ltn12 = require "ltn12"

local sandbox = (arg[1] or "http://127.0.0.1:8089"):gsub("/+$", "")

-- A sandbox control call (not part of bizreg: a real server has none).
local function control(path, json)
  local ok, status = http.request { url = sandbox .. path, method = "POST", source = ltn12.source.string(json),
    headers = { ["content-type"] = "application/json", ["content-length"] = tostring(#json) } }
  assert(ok and status == 200, "sandbox control call " .. path .. " failed: " .. tostring(status))
end

local rcs = bizreg.rcs { base_url = sandbox .. "/api/1.1", client_id = "sandbox", client_secret = "SK.sandboxsecret1" }
local name = "다시보기치과"
local payload = {
  regBrand = { name = name, description = name .. " 공식 채널", categoryId = "MED", subCategoryId = "MED001",
    menus = { { buttonType = "call" } } },
  brandProfile = "examples/brand/profile.png",
}

-- 1. The answer to the brand POST is lost: the server has the brand, we do not know its ID.
control("/_sandbox/fault", '{"endpoint":"rcs.register_brand","mode":"reset_after_body","commit":true}')
local res, err = rcs:register_brand(payload)
assert(not res, "the fault should have lost the answer")
print("register_brand: " .. tostring(err))

-- 2. sent = true: the brand may exist. Look before registering again.
local brand_id
if err.sent then
  local found = assert(rcs:find_brands { name = name })
  print(string.format("find_brands: %d brand(s) named %s", #found.brands, name))
  if #found.brands > 0 then brand_id = found.brands[1].brandId end
end
if not brand_id then
  res = assert(rcs:register_brand(payload))  -- only when it is really not there
  brand_id = res.brandId
end
print("brand " .. brand_id .. " is registered once")

-- 3. Add 10 sender numbers (chatbots) to it, with their number certificate.
local chatbots = {}
for i = 1, 10 do chatbots[i] = { mdn = string.format("02155500%02d", i), subTitle = name .. " " .. i .. "번" } end
local added = assert(rcs:register_chatbots(brand_id, { chatbots = chatbots,
  subNumCertificate = "examples/brand/certificate.pdf" }))
print(string.format("register_chatbots: %d sender numbers added to %s", #added.result, brand_id))

-- 4. Follow the review (the sandbox approves it after two more reads).
control("/_sandbox/brand-status", '{"brandId":"' .. brand_id .. '","status":"승인","after_reads":2}')
local verdict = assert(rcs:wait_for_approval(brand_id, { interval = 0.2, timeout = 60 }))
print(string.format("wait_for_approval: %s (%s after %d reads)", verdict.approved and "approved" or "rejected",
  verdict.brand_status, verdict.reads))
rcs:close()
