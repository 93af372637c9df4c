-- The nginx token check's handlers (spec/checks/nginx_tokens.conf, 4 workers): one RCS
-- client per worker, kept between requests, its token shared with the other workers
-- through ngx.shared.bizreg_tokens (token_store); `?store=0` uses a second client per
-- worker without the store (the control: one token per worker). Credentials, the sandbox
-- URL and the brand image path come from the environment (nginx's `env` directives).
local bizreg = require "bizreg"
local cjson = require "cjson.safe"

local M = {}

local clients = {}  -- this worker's: "store" / "own" / "dead" -> client

-- "dead": the dead-holder check's client (store shared; its fetch lock expires after
-- timeout + connect_timeout = 9 s, well inside its 30 s deadline).
local function client(name)
  if not clients[name] then
    clients[name] = bizreg.rcs {
      base_url = os.getenv("BIZREG_SANDBOX") .. "/api/1.1",
      client_id = os.getenv("RCS_CLIENT_ID"), client_secret = os.getenv("RCS_CLIENT_SECRET"),
      transport = require("bizreg.transport.ngx").new(),
      token_store = name ~= "own" and ngx.shared.bizreg_tokens or nil,
      timeout = name == "dead" and 8 or 10, connect_timeout = name == "dead" and 1 or 3,
      deadline = name == "dead" and 30 or nil,
    }
  end
  return clients[name]
end

-- GET /brand?n=N[&store=0|&dead=1]: one register_brand; answers which worker served it,
-- and how long the call took (seconds).
function M.brand()
  local args = ngx.req.get_uri_args()
  ngx.update_time()
  local t0 = ngx.now()
  local c = client(args.dead == "1" and "dead" or args.store == "0" and "own" or "store")
  local res, err = c:register_brand {
    regBrand = { name = "토큰브랜드", description = "token check " .. tostring(args.n), tel = "09046123177",
      categoryId = "EDU", subCategoryId = "EDU007", menus = { { buttonType = "call" } } },
    brandProfile = os.getenv("BIZREG_PNG"),
  }
  ngx.update_time()
  ngx.say(cjson.encode { ok = res ~= nil, brandId = res and res.brandId, err = err and tostring(err),
    worker = ngx.worker.id(), pid = ngx.worker.pid(), took = ngx.now() - t0 })
end

-- GET /store: every key and value of the shared dict (the check scans them for secrets);
-- ?flush=1 empties it first.
function M.store()
  local dict, out = ngx.shared.bizreg_tokens, {}
  if ngx.req.get_uri_args().flush == "1" then dict:flush_all() end
  for _, k in ipairs(dict:get_keys(0)) do out[k] = dict:get(k) end
  ngx.say(cjson.encode(out))
end

return M
