-- The nginx token check's handlers (spec/checks/nginx_tokens.conf, 4 workers): one RCS
-- client per worker, kept between requests, its token shared with the other workers
-- through ngx.shared.bizreg_tokens (token_store); `?store=0` uses a second client per
-- worker without the store (the control: one token per worker). Credentials, the sandbox
-- URL and the brand image path come from the environment (nginx's `env` directives).
local bizreg = require "bizreg"
local cjson = require "cjson.safe"

local M = {}

local clients = {}  -- this worker's: "store" / "own" -> client

local function client(shared)
  local name = shared and "store" or "own"
  if not clients[name] then
    clients[name] = bizreg.rcs {
      base_url = os.getenv("BIZREG_SANDBOX") .. "/api/1.1",
      client_id = os.getenv("RCS_CLIENT_ID"), client_secret = os.getenv("RCS_CLIENT_SECRET"),
      transport = require("bizreg.transport.ngx").new(),
      token_store = shared and ngx.shared.bizreg_tokens or nil,
      timeout = 10, connect_timeout = 3,
    }
  end
  return clients[name]
end

-- GET /brand?n=N[&store=0]: one register_brand; answers which worker served it.
function M.brand()
  local args = ngx.req.get_uri_args()
  local c = client(args.store ~= "0")
  local res, err = c:register_brand {
    regBrand = { name = "토큰브랜드", description = "token check " .. tostring(args.n), tel = "09046123177",
      categoryId = "EDU", subCategoryId = "EDU007", menus = { { buttonType = "call" } } },
    brandProfile = os.getenv("BIZREG_PNG"),
  }
  ngx.say(cjson.encode { ok = res ~= nil, brandId = res and res.brandId, err = err and tostring(err),
    worker = ngx.worker.id(), pid = ngx.worker.pid() })
end

-- GET /store: every key and value of the shared dict (the check scans them for secrets).
function M.store()
  local dict, out = ngx.shared.bizreg_tokens, {}
  for _, k in ipairs(dict:get_keys(0)) do out[k] = dict:get(k) end
  ngx.say(cjson.encode(out))
end

return M
