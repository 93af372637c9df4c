-- bizreg: validated, safe calls to the KOS clinic CRM and RCS Biz Center APIs.
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
