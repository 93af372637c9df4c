-- Issue 9's memory rows: 10 sequential register_brand calls with a 20 MiB certificate and
-- no collectgarbage() between them. Every large buffer a call creates is released when the
-- call ends (or never made: a certificate given as data is sent from the caller's own
-- string), so the peak resident size barely moves. RSS bounds, not times.
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
