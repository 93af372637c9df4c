-- Issue 9's memory rows: 10 sequential register_brand calls with a 20 MiB certificate and
-- no collectgarbage() between them. Every large buffer a call creates is released when the
-- call ends (or never made: a certificate given as data is sent from the caller's own
-- string), so the peak resident size barely moves. RSS bounds, not times.
local core = require "bizreg.core"
local sandbox = require "spec.helpers.sandbox"
local fx = require "spec.helpers.fixtures"
local shell = require "spec.helpers.shell"

local MiB = 1024 * 1024

describe("memory of sequential uploads", function()
  local sb, cert
  setup(function()
    sb = sandbox.start {}
    cert = fx.file("cert-20mib.pdf", function() return fx.images.pdf(20 * MiB) end)
  end)
  teardown(function() sb:stop() end)

  -- Peak RSS growth (KiB) of a separate process of this interpreter making `calls` uploads.
  local function growth(mode, calls)
    local lua = rawget(_G, "jit") and "luajit" or ("lua" .. _VERSION:match("%d+%.%d+"))
    local cmd = string.format("LUA_PATH='./lua/?.lua;./lua/?/init.lua;./?.lua;;' LUA_CPATH='./build/%s/?.so;;' " ..
      "%s bench/upload_rss.lua %s %s %s %d 2>&1", lua, lua, sb.rcs_url, cert, mode, calls)
    local before = sb:stats().registered.brands
    local pipe = assert(shell.popen(cmd))
    local out = pipe:read("*a")
    pipe:close()
    local kib = tonumber(out:match("(%d+)%s*$"))
    assert.is_number(kib, out)
    assert.equal(before + calls + 1, sb:stats().registered.brands, out)  -- warm-up call included
    return kib
  end

  it("10 calls with the certificate as data grow the peak RSS by at most 45 MiB", function()
    local kib = growth("memory", 10)
    assert.is_true(kib <= 45 * 1024, "peak RSS grew by " .. kib .. " KiB over 10 calls")
  end)

  it("10 calls with the certificate by path grow the peak RSS by at most 4 MiB", function()
    local kib = growth("path", 10)
    assert.is_true(kib <= 4 * 1024, "peak RSS grew by " .. kib .. " KiB over 10 calls")
  end)
end)

describe("a multipart body", function()
  local BOUNDARY = { boundary = "memory-spec-boundary" }

  -- A PNG built at run time (not a constant the chunk keeps alive) and a payload holding it.
  local function fresh_payload()
    local png = fx.png(400, 400) .. ""
    return fx.brand { brandProfile = { data = png, filename = "p.png" } }, #png
  end

  it("references a file given as data and keeps its string alive until freed", function()
    local payload, n = fresh_payload()
    local expected = assert(require("bizreg").prepare_brand(payload, BOUNDARY)).body
    local body = assert(core.encode_brand(payload, BOUNDARY))
    payload = nil  -- luacheck: ignore 311 (dropped on purpose: only the body holds the PNG now)
    collectgarbage("collect")
    collectgarbage("collect")
    local junk = {}  -- reuse freed memory of that size, should the string have been collected
    for i = 1, 16 do junk[i] = string.rep(string.char(i), n) end
    assert.equal(16, #junk)
    assert.equal(#expected, body:size())
    assert.is_true(assert(body:tostring()) == expected, "the body's bytes differ from prepare_brand's")
  end)

  it("frees at once, idempotently, and is empty afterwards", function()
    local payload = fresh_payload()
    local body = assert(core.encode_brand(payload, BOUNDARY))
    assert.is_true(body:size() > 0)
    body:free()
    body:free()
    assert.equal(0, body:size())
    local s, msg = body:tostring()
    assert.is_nil(s)
    assert.equal("body was freed", msg)
    collectgarbage("collect")  -- __gc after free(): nothing left to release twice
  end)

  it("reads a file given by path when flattened, checked against validation", function()
    local path = fx.file("memory-spec-profile.png", function() return fx.png(400, 400) end)
    local by_path = assert(core.encode_brand(fx.brand { brandProfile = path }, BOUNDARY))
    local f = assert(io.open(path, "rb"))
    local by_data = assert(core.encode_brand(fx.brand { brandProfile = { data = f:read("*a"), filename = path } }, BOUNDARY))
    f:close()
    assert.is_true(assert(by_data:tostring()) == assert(by_path:tostring()), "by path and by data differ")
    by_path:free()
    by_data:free()
  end)
end)
