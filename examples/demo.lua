-- bizreg demo: both APIs against the local sandbox (no credentials, no internet).
-- usage: lua5.4 examples/demo.lua http://127.0.0.1:8089   (see examples/run-demo.sh)
local bizreg = require "bizreg"

local base = arg[1] or "http://127.0.0.1:8089"
local function say(fmt, ...) io.write(string.format(fmt, ...), "\n") end
local function show_error(err)
  say("  rejected before sending: %s", tostring(err))
  for i, p in ipairs(err.errorProperties) do
    say("    %d. %-32s %-16s%s%s", i, p.key .. (p.index and (" (image " .. p.index .. ")") or ""), p.reason,
      p.code and ("  code " .. p.code) or "", p.message and ("  \"" .. p.message .. "\"") or "")
  end
end

say("bizreg %s demo against the sandbox at %s\n", bizreg.VERSION, base)

-- 1. KOS clinic CRM: register two visitor images ------------------------------
local kos = bizreg.kos { base_url = base, api_key = "11111111-2222-4333-8444-555555555555" }
local res, err = kos:register_visitor_images { images = {
  { fileName = "2026/11/22/before.jpg", visitorId = "65a1b2c3d4e5f6a7b8c9d0e1", source = "HOSPITAL",
    equipment = { id = "eq-camera-1" }, category = { id = "cat-before" },
    shootingDateTimeUtc = "2026-11-22T16:00:00+09:00", memo = "시술 전 정면 사진" },
  { fileName = "2026/11/22/after.jpg", visitorId = "65a1b2c3d4e5f6a7b8c9d0e1", source = "HOSPITAL",
    shootingDateTimeUtc = os.time(), memo = "시술 후" },
} }
assert(res, err)
say("KOS register_visitor_images: 2 images registered (server answered {})")

-- 2. KOS: a payload with mistakes never leaves the process --------------------
_, err = kos:register_visitor_images { images = {
  { fileName = "x.jpg", visitorId = "65a1b2c3d4e5f6a7b8c9d0e1", memo = string.rep("가", 151) },
  { fileNmae = "typo.jpg", visitorId = "65a1b2c3d4e5f6a7b8c9d0e1", source = "CLINIC" },
} }
say("\nKOS register_visitor_images with mistakes:")
show_error(err)
kos:close()

-- 3. RCS Biz Center: register a brand with two chatbots -------------------------
-- the example files of examples/brand/ (examples/brand/generate.lua made them)
local files = (arg[0]:match("^(.*)/[^/]*$") or ".") .. "/brand/"
local rcs = bizreg.rcs { base_url = base .. "/api/1.1", client_id = "sandbox", client_secret = "SK.sandboxsecret1" }
local brand = {
  regBrand = { name = "바른치과", description = "강남역 3번 출구 바른치과 공식 채널", tel = "0212345678",
    categoryId = "MED", subCategoryId = "MED001", zipCode = "06236", roadAddress = "서울특별시 강남구 테헤란로 1",
    menus = { { buttonType = "call" }, { buttonType = "web", weblink = "https://example.kr/booking" } },
    initTab = "FEED", initFeedItems = { "call", "web", "portalsearch" } },
  chatbots = { { mdn = "0212345678", subTitle = "바른치과 예약" }, { mdn = "15225739", subTitle = "바른치과 상담", display = "11" } },
  brandProfile = files .. "profile.png",
  brandBackground = files .. "background.jpg",
  subNumCertificate = files .. "certificate.pdf",
}
res, err = rcs:register_brand(brand)
assert(res, err)
local brand_id = res.brandId
say("\nRCS register_brand: brand %s registered (code %s, status %d)", res.brandId, res.code, res.status)

-- 4. RCS: a package with several problems is rejected with all of them ----------
local bad = {
  regBrand = { description = "이름이 빠진 브랜드", categoryId = "MED", subCategoryId = "MED001", email = "not-an-email",
    menus = { { buttonType = "app", weblink = "https://example.kr" }, { buttonType = "web" } } },
  chatbots = { { mdn = "01012345678", subTitle = "휴대폰 번호" }, { mdn = "0212345678", subTitle = "a" }, { mdn = "0212345678", subTitle = "b" } },
  brandProfile = files .. "background.jpg",  -- a JPEG: the profile must be a PNG
}
_, err = rcs:register_brand(bad)
say("\nRCS register_brand with a bad package:")
show_error(err)

-- 5. The non-blocking form: three jobs at once, driven by bizreg.poll() --------
local kos2 = bizreg.kos { base_url = base, token = "sandbox-kos-token" }
local jobs, frames = {}, 0
for i = 1, 3 do
  jobs[i] = kos2:start("register_visitor_images", { images = { { fileName = "job" .. i .. ".jpg", visitorId = "65a1b2c3d4e5f6a7b8c9d0e1" } } })
end
jobs[4] = rcs:start("resubmit_brand", brand_id, brand)
while bizreg.poll(0.01) > 0 do frames = frames + 1 end
for i = 1, 3 do assert(jobs[i]:result()) end
local again = assert(jobs[4]:result())
say("\nJobs: 3 image registrations and 1 brand resubmission (%s) finished while the loop ran %d frames", again.brandId, frames)
rcs:close()
kos2:close()
