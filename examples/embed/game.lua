-- A "game" script for examples/embed/host.c: starts several bizreg jobs at
-- once on its first frame, then drives them with bizreg.poll(0) (never blocks)
-- once per frame, printing a line whenever a job finishes.
--
-- The host calls:
--   frame(n)   every frame; returns true while jobs are still running, false when all are done
--   summary()  at the end; returns a table of counts (see below)
-- It may set the global STATE_NAME (a label for the output) before loading this file.
-- The API base URL comes from the environment variable BIZREG_SANDBOX.
local bizreg = require "bizreg"

local NAME = rawget(_G, "STATE_NAME") or "main"  -- set by the C host per Lua state
local BASE = os.getenv("BIZREG_SANDBOX")
if not BASE or BASE == "" then error("set BIZREG_SANDBOX to the API base URL, e.g. http://127.0.0.1:8089", 0) end
BASE = BASE:gsub("/+$", "")

local KOS_JOBS = 3  -- one image each

-- Assets are loaded before the frame loop starts, like any other game asset:
-- the brand profile (examples/brand/profile.png, 512x512) is read into memory once.
local profile_png
do
  local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
  local f = assert(io.open(here .. "/../brand/profile.png", "rb"))
  profile_png = f:read("*a")
  f:close()
end

local kos = bizreg.kos { base_url = BASE, token = "sandbox-kos-token" }
local rcs = bizreg.rcs { base_url = BASE .. "/api/1.1", client_id = "sandbox", client_secret = "SK.sandboxsecret1" }

local entries = {}     -- { label, job, expect = "ok" | "validation", images = n, brand = bool, reported }
local counts = { jobs = 0, ok = 0, expected = 0, unexpected = 0, images = 0, brands = 0 }
local pending = 0      -- entries not yet reported

local function say(n, fmt, ...)
  print(string.format("[%s] frame %d: " .. fmt, NAME, n, ...))
end

local function add(label, job, expect, extra)
  local e = { label = label, job = job, expect = expect }
  for k, v in pairs(extra or {}) do e[k] = v end
  entries[#entries + 1] = e
  counts.jobs = counts.jobs + 1
  pending = pending + 1
end

local function start_all()
  for i = 1, KOS_JOBS do
    local payload = { images = { {
      fileName = string.format("%s-visit-%d.jpg", NAME, i),
      visitorId = string.format("65a1b2c3d4e5f6a7b8c9d%03x", (#NAME * 16 + i) % 4096),
    } } }
    add("kos#" .. i, kos:start("register_visitor_images", payload), "ok", { images = #payload.images })
  end
  add("brand", rcs:start("register_brand", {
    regBrand = { name = "테스트브랜드", description = "신규브랜드등록승인요청", tel = "09046123177",
      categoryId = "EDU", subCategoryId = "EDU007", menus = { { buttonType = "call" } } },
    brandProfile = { data = profile_png, filename = "profile.png" },
  }), "ok", { brand = true })
  -- Deliberately invalid (no images): checked locally, the job is done at once
  -- and nothing is sent.
  add("kos-invalid", kos:start("register_visitor_images", { images = {} }), "validation")
end

local function report(n, e)
  e.reported = true
  pending = pending - 1
  local ok, res, err = pcall(e.job.result, e.job)
  if not ok then  -- the job raised (a bug, not an API error)
    counts.unexpected = counts.unexpected + 1
    say(n, "%s RAISED: %s", e.label, tostring(res))
  elseif e.expect == "validation" then
    if res == nil and type(err) == "table" and err.kind == "validation" then
      counts.expected = counts.expected + 1
      say(n, "%s failed as expected: %s", e.label, tostring(err))
    else
      counts.unexpected = counts.unexpected + 1
      say(n, "%s UNEXPECTED: wanted a validation error, got %s / %s", e.label, tostring(res), tostring(err))
    end
  elseif res == nil then
    counts.unexpected = counts.unexpected + 1
    say(n, "%s FAILED: %s", e.label, tostring(err))
  else
    counts.ok = counts.ok + 1
    if e.brand then
      counts.brands = counts.brands + 1
      say(n, "%s registered: brandId=%s", e.label, tostring(res.brandId))
    else
      counts.images = counts.images + e.images
      say(n, "%s registered %d image(s)", e.label, e.images)
    end
  end
end

local started = false

function frame(n)  -- luacheck: ignore (global called by the host)
  if not started then
    started = true
    start_all()
    say(n, "started %d jobs", #entries)
  end
  local running = bizreg.poll(0)
  for _, e in ipairs(entries) do
    if not e.reported and e.job.done then report(n, e) end
  end
  if pending == 0 then
    say(n, "all %d jobs done (%d ok, %d expected error(s), %d unexpected)",
      counts.jobs, counts.ok, counts.expected, counts.unexpected)
    return false
  end
  if running == 0 then  -- cannot happen: every unfinished job counts as running
    error(string.format("%d job(s) neither done nor running", pending))
  end
  return true
end

function summary()  -- luacheck: ignore
  local t = {}
  for k, v in pairs(counts) do t[k] = v end
  t.pending = pending
  return t
end
