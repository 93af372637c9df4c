-- bizreg: validated, safe calls to the KOS clinic CRM and RCS Biz Center APIs.

-- The C core first. Built for another Lua it fails in the dynamic loader ("undefined
-- symbol: lua_getiuservalue"): say which Lua it was built for (the text src/compat.h
-- puts into the .so) and how to fix it, keeping the loader's own message.
local function core_error(msg)
  msg = tostring(msg)
  if not msg:find("undefined symbol: lua", 1, true) then return msg end
  local path = msg:match("from file '([^']+)'")
  local f = path and io.open(path, "rb")
  local built = f and f:read("*a"):match("bizreg%.core was built for (Lua %d%.%d)")
  if f then f:close() end
  local this = "lua" .. _VERSION:match("%d+%.%d+")
  if rawget(_G, "jit") then this = "luajit" end
  return string.format("bizreg.core was built for %s; this is %s: rebuild with make LUA=%s (or run it with %s)\n%s",
    built or "another Lua", _VERSION, this, built and ("lua" .. built:match("%d%.%d")) or "that Lua", msg)
end
do
  local ok, e = pcall(require, "bizreg.core")
  if not ok then error(core_error(e), 0) end
end

local client = require "bizreg.client"
local kos = require "bizreg.kos"
local rcs = require "bizreg.rcs"
local jobs = require "bizreg.jobs"
local errors = require "bizreg.errors"

local bizreg = { VERSION = client.VERSION, errors = errors }

bizreg.kos = kos.new
bizreg.rcs = rcs.new

-- No network: the exact request a client would send.
function bizreg.prepare_visitor_images(payload) return kos.prepare(payload) end
function bizreg.prepare_brand(payload, opts) return rcs.prepare(payload, opts) end

-- Construction errors point at the caller of the one-shot function (depth 1).
local function one_shot(new, method)
  return function(opts, ...)
    local c = new(opts, 1)
    local res, err = c[method](c, ...)
    c:close()
    return res, err
  end
end

bizreg.register_visitor_images = one_shot(kos.new, "register_visitor_images")
bizreg.register_brand = one_shot(rcs.new, "register_brand")
bizreg.resubmit_brand = one_shot(rcs.new, "resubmit_brand")

-- Drives jobs started with client:start(); returns how many are still running.
bizreg.poll = jobs.poll

return bizreg
