-- make bench: speed and memory figures (never asserted in tests).
--  1. validate + encode vs cjson.encode of the same table
--  2. per-request overhead of a client call vs the raw libcurl handle, on one keep-alive connection
--  3. peak RSS growth while uploading a 20 MiB certificate (streamed from disk vs held in memory)
local bizreg = require "bizreg"
local core = require "bizreg.core"
local cjson = require "cjson"
local images = require "bizreg.sandbox.images"

local function best_of(rounds, n, fn)
  local best = math.huge
  for _ = 1, rounds do
    local t0 = core.now()
    for _ = 1, n do fn() end
    best = math.min(best, (core.now() - t0) / n)
  end
  return best
end
local function us(s) return string.format("%.2f µs", s * 1e6) end

-- 1. encoding ---------------------------------------------------------------
local items = {}
for i = 1, 10 do
  items[i] = { fileName = "2026/11/22/img" .. i .. ".jpg", visitorId = "65a1b2c3d4e5f6a7b8c9d0e1", source = "HOSPITAL",
    equipment = { id = "eq1", category = "IMAGE_EQUIPMENT", name = "카메라", order = i, closed = false, color = "BLUE" },
    category = { id = "cat1", category = "IMAGE_CATEGORY", default = true }, scheduleId = "65a1b2c3d4e5f6a7b8c9d0e2",
    shootingDateTimeUtc = "2026-11-22T07:00:00.000Z", memo = string.rep("시술 전후 사진 메모 ", 6) }
end
local kos_payload = { images = items }
assert(core.encode_visitor_images(kos_payload))
local t_bz = best_of(5, 4000, function() core.encode_visitor_images(kos_payload) end)
local t_cj = best_of(5, 4000, function() cjson.encode(kos_payload) end)
print(string.format("encode  KOS 10 images: bizreg validate+encode %s, cjson.encode %s, ratio %.2f",
  us(t_bz), us(t_cj), t_bz / t_cj))

local chatbots = {}
for i = 1, 50 do chatbots[i] = { mdn = string.format("02%08d", i), subTitle = "상담 " .. i, display = "01", inputField = 1 } end
local reg = { name = "바른치과", description = string.rep("설명", 40), tel = "0212345678", categoryId = "MED", subCategoryId = "MED001",
  menus = { { buttonType = "call" }, { buttonType = "web", weblink = "https://example.kr" } }, initFeedItems = { "call", "web" } }
local png = images.png(400, 400)
local brand = { regBrand = reg, chatbots = chatbots, brandProfile = { data = png, filename = "p.png" },
  subNumCertificate = { data = images.pdf(2048), filename = "c.pdf" } }
local t_bb = best_of(5, 2000, function() core.encode_brand(brand, { boundary = "b" }) end)
local t_bc = best_of(5, 2000, function() cjson.encode { regBrand = reg, chatbots = chatbots } end)
print(string.format("encode  RCS brand + 50 chatbots: bizreg validate+encode (incl. file sniffing, multipart) %s, cjson.encode of the JSON parts %s, ratio %.2f",
  us(t_bb), us(t_bc), t_bb / t_bc))

-- 2 + 3 need servers ----------------------------------------------------------
local target = arg[1]
local sandbox = arg[2]
if target then
  local small = { images = { items[1] } }
  local body = assert(core.encode_visitor_images(small))
  local h = core.http {}
  local headers = { ["Content-Type"] = "application/json", Authorization = "Bearer t", ["User-Agent"] = "bizreg/bench", Accept = "application/json" }
  local kos = bizreg.kos { base_url = target, token = "t" }
  local url = target .. "/image/open/v1/commands/register-visitor-images"
  for _ = 1, 200 do assert(h:request { method = "POST", url = url, headers = headers, body = body }); assert(kos:register_visitor_images(small)) end
  local handle = best_of(5, 2000, function() assert(h:request { method = "POST", url = url, headers = headers, body = body }) end)
  local cli = best_of(5, 2000, function() assert(kos:register_visitor_images(small)) end)
  local bodyfile = os.tmpname()
  local bf = assert(io.open(bodyfile, "wb"))
  bf:write(body)
  bf:close()
  local p = assert(io.popen(string.format("build/bench/raw_curl %s 2000 %s", url, bodyfile)))
  local raw = tonumber(p:read("*a")) / 1e6
  p:close()
  os.remove(bodyfile)
  print(string.format("request KOS register_visitor_images, keep-alive to a local nginx: plain libcurl in C %s, " ..
    "bizreg.core handle %s, bizreg client call (validate, encode, send, decode) %s, ratio %.2f",
    us(raw), us(handle), us(cli), cli / raw))
  kos:close()
  h:close()
end
if sandbox then
  local cert = "build/bench/cert-20mib.pdf"
  os.execute("mkdir -p build/bench")
  images.write(cert, images.pdf(20 * 1024 * 1024))
  local function rss(mode)
    local p = assert(io.popen(string.format("LUA_PATH='%s' LUA_CPATH='%s' lua5.4 bench/upload_rss.lua %s %s %s",
      package.path, package.cpath, sandbox .. "/api/1.1", cert, mode)))
    local out = p:read("*a")
    p:close()
    return tonumber(out:match("(%d+)%s*$"))
  end
  local streamed, held = rss("path"), rss("memory")
  print(string.format("memory  register_brand with a 20 MiB certificate: peak RSS growth %.1f MiB streamed from disk (path), %.1f MiB with the file in memory",
    streamed / 1024, held / 1024))
end
