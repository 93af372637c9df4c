-- The whole life of an RCS brand against the local sandbox (issue 19): register it, follow its
-- review, edit its description (applied at once) and its name (back to review), cancel that
-- review, add sender numbers, list, edit and delete them, delete the brand.
--   bin/bizreg-sandbox --port 8089 &
--   LUA_PATH="./lua/?.lua;./lua/?/init.lua;;" LUA_CPATH="./build/lua5.4/?.so;;" \
--     lua5.4 examples/brand_lifecycle.lua http://127.0.0.1:8089
-- Against RCS Biz Center a person reviews each request; in the sandbox the verdict is a control
-- call (`POST /_sandbox/brand-status`, `/_sandbox/chatbot-status`), made here with LuaSocket
-- (which the sandbox needs anyway). Everything else is the library's public API.
local bizreg = require "bizreg"
local http = require "socket.http"
local ltn12 = require "ltn12"
local cjson = require "cjson"

local base = arg[1] or "http://127.0.0.1:8089"
local files = (arg[0]:match("^(.*)/[^/]*$") or ".") .. "/brand/"
local function say(fmt, ...) io.write(string.format(fmt, ...), "\n") end

-- a reviewer's verdict, as the sandbox takes it
local function verdict(what, doc)
  local body = cjson.encode(doc)
  local ok, status = http.request { url = base .. "/_sandbox/" .. what, method = "POST", source = ltn12.source.string(body),
    headers = { ["content-type"] = "application/json", ["content-length"] = tostring(#body) } }
  assert(ok and status == 200, "the sandbox's " .. what .. " control answered " .. tostring(status))
end

-- every call returns a result or nil, err: one line for a failure, then stop
local function must(res, err)
  if not res then
    io.stderr:write("failed: ", tostring(err), "\n")
    os.exit(1)
  end
  return res
end

local rcs = bizreg.rcs { base_url = base .. "/api/1.1", client_id = "sandbox", client_secret = "SK.sandboxsecret1" }
local reg = {
  name = "바른치과", description = "강남역 3번 출구 바른치과 공식 채널", tel = "0212345678",
  categoryId = "MED", subCategoryId = "MED001", menus = { { buttonType = "call" } },
}

-- 1. register, then follow the review until its verdict
local id = must(rcs:register_brand { regBrand = reg, brandProfile = files .. "profile.png" }).brandId
say("registered          %s, waiting for its review", id)
verdict("brand-status", { brandId = id, status = "승인" })
local w = must(rcs:wait_for_approval(id, { interval = 1, timeout = 60 }))
say("review              %s (%s)", w.approved and "approved" or "rejected", w.brand_status)

-- 2. edit the description: applied at once, the brand stays approved
reg.description = "강남역 3번 출구, 평일 저녁 9시까지"
local res = must(rcs:update_brand(id, { regBrand = reg }))
say("description edited  status %s", res.brand.status)

-- 3. edit the name: the brand goes back to review; cancel that review (the approved brand's
-- path: approved = true), which keeps the brand as it was approved
reg.name = "바른치과의원"
res = must(rcs:update_brand(id, { regBrand = reg }))
say("name edited         status %s", res.brand.status)
must(rcs:cancel_brand(id, { approved = true }))
local brand = must(rcs:get_brand(id)).brand
say("review cancelled    status %s, name %s", brand.status, brand.name)

-- 4. sender numbers: add two, approve them, list, edit one, delete both
must(rcs:register_chatbots(id, {
  chatbots = { { mdn = "0212345680", subTitle = "바른치과 2호점" }, { mdn = "0212345681", subTitle = "바른치과 3호점" } },
  subNumCertificate = files .. "certificate.pdf",
}))
for _, mdn in ipairs { "0212345680", "0212345681" } do
  verdict("chatbot-status", { brandId = id, chatbotId = mdn, status = "승인" })
end
for bot in rcs:each_chatbot(id) do say("sender number       %s  %s  %s", bot.chatbotId, bot.approvalResult, bot.subTitle) end
res = must(rcs:update_chatbot(id, "0212345680", { chatbot = { mdn = "0212345680", subTitle = "바른치과 2호점", display = "11" } }))
say("number edited       %s (same name: applied at once)", res.chatbotId)
for _, mdn in ipairs { "0212345680", "0212345681" } do must(rcs:delete_chatbot(id, mdn)) end
say("numbers deleted     %d left", #must(rcs:list_chatbots(id)).chatbots)

-- 5. delete the brand (approved: the personId path, allowed once its numbers are gone)
must(rcs:delete_brand(id, { approved = true }))
local _, gone = rcs:get_brand(id)
say("brand deleted       get_brand answers %s", gone and gone.code or "?")
rcs:close()
