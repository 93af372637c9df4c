-- RCS wait_for_approval: reads the brand (get_brand) every `interval` seconds until its
-- status is a verdict. It sleeps through ctx.sleep, so the same op blocks a script
-- (core.sleep), parks an OpenResty request (ngx.sleep) or yields a job (bizreg.poll).
-- The `---` comments below are part of the `bizreg` module's reference (config.ld, merge).
local core = require "bizreg.core"
local errors = require "bizreg.errors"
local client = require "bizreg.client"
local R = require "bizreg.rcs_common"
local brands = require "bizreg.rcs_brands"  -- fetch_brand: get_brand's read

local M = {}

--- RCS approval
-- @module bizreg

--- RCS client methods (see `rcs_client`).
-- @type rcs_client

-- The verdicts among BrandInfo.status (rcs-openapi-1.1.12.yaml); every other value,
-- known or not, is still pending.
M.APPROVED = { ["승인"] = true }
M.REJECTED = { ["반려"] = true, ["반려(수정)"] = true }

local WAIT = require("bizreg.options").DEFAULTS.wait  -- (one home: options.lua)
local DEFAULT_INTERVAL, DEFAULT_TIMEOUT = WAIT.interval, WAIT.timeout
local WAIT_KEYS = { interval = true, timeout = true }

local function raise(msg) errors.raise("bizreg: " .. msg) end

local function seconds(v, name)
  if v ~= nil and (type(v) ~= "number" or not (v > 0 and v < math.huge)) then
    raise("wait_for_approval: '" .. name .. "' must be a number of seconds > 0")
  end
end

local function timeout_error(brand_id, last, timeout, reads)
  return errors.new {
    kind = "transport", code = "WAIT_TIMEOUT", sent = false, retryable = true, brand_status = last,
    message = string.format("brand %s is still %s after %g s (%d reads): no verdict yet",
      brand_id, tostring(last or "unread"), timeout, reads),
  }
end

local function verdict(res, approved, reads)
  res.approved = approved
  res.brand_status = res.brand.status
  res.reason = not approved and res.brand.approvalReason or nil
  res.reads = reads
  return res
end

-- A read repeated changes nothing on the server, so gateway answers that end a write as
-- "maybe processed" (bizreg.outcome: 502, 504, a 503 without Retry-After) only delay a wait.
local TRANSIENT_READ = { [502] = true, [503] = true, [504] = true }

-- One brand until a verdict, an error that is not transient, or the timeout. A retryable
-- error (429, 503, a connect failure) or a TRANSIENT_READ answer keeps the wait going, after
-- max(interval, Retry-After).
local function run(self, ctx, brand_id, o)
  o = o or {}
  local interval, timeout = o.interval or DEFAULT_INTERVAL, o.timeout or DEFAULT_TIMEOUT
  local t_end = core.now() + timeout
  local reads, last = 0, nil
  while true do
    ctx.deadline = core.now() + self.deadline  -- each read gets the client's whole deadline
    local res, err, raw = brands.fetch_brand(self, ctx, brand_id)
    reads = reads + 1
    local wait, after = interval, nil
    if res then
      last = res.brand.status
      if M.APPROVED[last] then return verdict(res, true, reads) end
      if M.REJECTED[last] then return verdict(res, false, reads) end
    elseif err.retryable or TRANSIENT_READ[err.kind == "http" and (err.http_status or err.status) or false] then
      after = client.retry_after(raw)  -- of a 429/503 answer
      wait = math.max(interval, after or 0)
    else
      return nil, err
    end
    local left = t_end - core.now()
    if left <= 0 then return nil, timeout_error(brand_id, last, timeout, reads) end
    if self.closed then return nil, self:closed_error(false) end
    ctx.sleep(math.min(wait, left))
    if self.closed then return nil, self:closed_error(false) end  -- close() woke the wait
    -- the server's Retry-After ends past the timeout: no read is allowed before it
    if after and after > left then return nil, timeout_error(brand_id, last, timeout, reads) end
  end
end

--- RCS (`bizreg.rcs`): wait until a brand is approved or rejected, reading it with
-- `get_brand` every `interval` seconds (sleeping in between: `core.sleep` in a script,
-- `ngx.sleep` under OpenResty, and as a job through `client:start("wait_for_approval", …)`
-- and `bizreg.poll`, it takes no thread at all). `승인` is approved; `반려` and `반려(수정)`
-- are rejected; every other status is pending. A rejection is an answer, not an error:
-- check `res.approved`. A 429, 502, 503, 504 or a connect failure does not end the wait (the next read
-- comes after `max(interval, Retry-After)`, never sooner: a Retry-After past the timeout ends
-- the wait with `WAIT_TIMEOUT` at the timeout); any other error ends it as `get_brand` returns it.
-- Each read has the client's `deadline`; `timeout` is checked between reads.
-- @function rcs:wait_for_approval
-- @string brandId the brand (≤ 13 characters)
-- @tparam[opt] table opts
-- @tparam[opt=60] number opts.interval seconds between reads (> 0)
-- @tparam[opt=86400] number opts.timeout seconds to wait in all (> 0)
-- @treturn table `{ approved = true|false, brand_status = "승인"|"반려"|"반려(수정)",`
--   `reason = approvalReason (rejected, when the server gives one), brand = BrandDetail,`
--   `reads = n, code =, status = }`
-- @return or nil and an error; on timeout `kind = "transport"`, `code = "WAIT_TIMEOUT"`,
--   `sent = false`, `retryable = true`, `brand_status` = the last status read
-- @raise on a wrong argument type or option, without `person_id` (static token), on a closed client
-- @usage local res, err = rcs:wait_for_approval(brandId, { interval = 300, timeout = 3 * 86400 })
-- if not res then print(err) elseif res.approved then print("approved")
-- else print("rejected: " .. tostring(res.reason)) end
M.ops = {}
M.ops.wait_for_approval = {
  needs = R.needs_person,
  check = function(brand_id, o)
    if type(brand_id) ~= "string" then raise("brandId must be a string") end
    if o ~= nil and type(o) ~= "table" then raise("wait_for_approval: options must be a table") end
    for k in pairs(o or {}) do
      if not WAIT_KEYS[k] then raise("wait_for_approval: unknown option '" .. tostring(k) .. "'") end
    end
    seconds(o and o.interval, "interval")
    seconds(o and o.timeout, "timeout")
  end,
  run = run,
}

return M
