-- Register a brand with RCS Biz Center (files are checked by content before anything is sent).
-- Real service:  RBC_BASE_URL=https://api-qa.rcsbizcenter.com/api/1.1 RBC_CLIENT_ID=<account> RBC_CLIENT_SECRET=<SK.…> \
--                lua5.4 examples/rcs_register.lua <name> <profile.png> [<certificate> <mdn>]
-- Sandbox:       bin/bizreg-sandbox & lua5.4 examples/rcs_register.lua 테스트 examples/brand/profile.png
package.path = "./lua/?.lua;./lua/?/init.lua;" .. package.path
package.cpath = "./build/lua5.4/?.so;" .. package.cpath
local bizreg = require "bizreg"

local name, profile, cert, mdn = arg[1], arg[2], arg[3], arg[4]
if not (name and profile) then
  io.stderr:write("usage: lua5.4 examples/rcs_register.lua <name> <profile.png> [<certificate> <mdn>]\n")
  os.exit(2)
end
local rcs = bizreg.rcs {
  base_url = os.getenv("RBC_BASE_URL") or "http://127.0.0.1:8089/api/1.1",
  client_id = os.getenv("RBC_CLIENT_ID") or "sandbox",
  client_secret = os.getenv("RBC_CLIENT_SECRET") or "SK.sandboxsecret1",
  on_progress = function(sent, total) io.stderr:write(string.format("\ruploading %d/%d bytes", sent, total)) end,
}
local payload = {
  regBrand = { name = name, description = name .. " 공식 채널", categoryId = "ITE", subCategoryId = "ITE001",
    menus = { { buttonType = "call" } } },
  brandProfile = profile,
}
if cert and mdn then
  payload.chatbots = { { mdn = mdn, subTitle = name } }
  payload.subNumCertificate = cert
end
local res, err = rcs:register_brand(payload)
io.stderr:write("\n")
rcs:close()
if not res then
  print(tostring(err))
  for _, p in ipairs(err.errorProperties) do print("  " .. p.key .. ": " .. (p.message or p.reason)) end
  os.exit(1)
end
print("brand " .. res.brandId .. " submitted for approval")
