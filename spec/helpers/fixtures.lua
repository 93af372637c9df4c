-- Image/document fixtures generated in code (spec/helpers/images.lua), cached per run.
local images = require "spec.helpers.images"

local M = {}

local dir = os.getenv("BIZREG_TMP") or "build/tmp"
require("spec.helpers.shell").execute("mkdir -p " .. dir)
M.dir = dir

local cache = {}
-- Writes bytes once under build/tmp and returns the path.
function M.file(name, make)
  local path = dir .. "/" .. name
  if not cache[path] then
    images.write(path, make())
    cache[path] = true
  end
  return path
end

function M.png(w, h, size) return images.png(w, h, size and { size = size } or nil) end
function M.jpeg(w, h, opts) return images.jpeg(w, h, opts) end
M.images = images

-- A valid payload; override (or remove, with false) top-level keys.
function M.brand(over)
  local p = {
    regBrand = { name = "테스트브랜드", description = "신규브랜드등록승인요청", tel = "09046123177",
      categoryId = "EDU", subCategoryId = "EDU007", menus = { { buttonType = "call" } } },
    brandProfile = { data = M.png(400, 400), filename = "profile.png" },
  }
  for k, v in pairs(over or {}) do
    if v == false then p[k] = nil else p[k] = v end
  end
  return p
end

-- n valid chatbots (mdn 0200000001, ...), each with the fields of over.
function M.chatbots(n, over)
  local list = {}
  for i = 1, n do
    list[i] = { mdn = string.format("02%08d", i), subTitle = "방" .. i }
    for k, v in pairs(over or {}) do list[i][k] = v end
  end
  return list
end

-- n chatbots with numbers no earlier call used (prefix: 3 digits, one per spec file), so a body
-- sent twice would be a duplicate to the sandbox; subTitle names the number's sequence.
local fresh = 0
function M.fresh_chatbots(prefix, n)
  local list = {}
  for i = 1, n do
    fresh = fresh + 1
    list[i] = { mdn = string.format("%s%07d", prefix, fresh), subTitle = "발신번호 " .. fresh }
  end
  return list
end

-- "key|reason|code" for each violation of an RCS payload ({} when it passes), and the error.
function M.brand_props(payload)
  local req, err = require("bizreg").prepare_brand(payload)
  if req then return {} end
  assert(err.kind == "validation", "not a validation error: " .. tostring(err))
  local out = {}
  for i, p in ipairs(err.errorProperties) do out[i] = p.key .. "|" .. p.reason .. "|" .. tostring(p.code) end
  return out, err
end

return M
