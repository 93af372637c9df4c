-- RCS wait_for_approval: reads the brand (get_brand) every `interval` seconds until its
-- status is a verdict; given the store bizreg.webhook writes to, it looks there every
-- `store_interval` seconds (no network) and reads the brand only every `fallback_interval`.
-- It sleeps through ctx.sleep, so the same op blocks a script (core.sleep), parks an
-- OpenResty request (ngx.sleep) or yields a job (bizreg.poll).
-- The `---` comments below are part of the `bizreg` module's reference (config.ld, merge).
local core = require "bizreg.core"
local errors = require "bizreg.errors"
local client = require "bizreg.client"
local R = require "bizreg.rcs_common"
local brands = require "bizreg.rcs_brands"  -- fetch_brand: get_brand's read
local webhook = require "bizreg.webhook_store"  -- verdict: what bizreg.webhook recorded

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
local WAIT_KEYS = { interval = true, timeout = true, store = true, fallback_interval = true, store_interval = true,
  since = true, confirm = true }

-- A brand notification's method -> approved (true) or rejected (false); any other method
-- (deleted, one the spec may add) is news without a verdict: the brand is read at once.
-- NotiBrand's enum is rejected and modified, and the spec announces "브랜드 수정/반려": [G] an
-- approval comes as `modified` (the sandbox sends it so), or as `created`, the other Noti*
-- schemas' word for "승인 또는 신규등록". `confirm = true` reads the brand instead of trusting it.
M.NOTIFIED = { modified = true, created = true, rejected = false }

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

-- The verdict a notification gives, as a result like a read's (brand: none, it was not read).
local function notified(v, reads)
  local approved = M.NOTIFIED[v.method]
  return { approved = approved, brand_status = approved and "승인" or "반려",
    reason = not approved and v.reason or nil, reads = reads, source = "webhook", notification = v }
end

-- One brand until a verdict, an error that is not transient, or the timeout. A retryable
-- error (429, 503, a connect failure) or a TRANSIENT_READ answer keeps the wait going, after
-- max(interval, Retry-After). With a store: the store is looked at every store_interval and
-- the brand read every fallback_interval (the first read only after one: no read at all
-- while the webhook works), or at once when a notification without a verdict came.
local function run(self, ctx, brand_id, o)
  o = o or {}
  local store = o.store
  local interval = store and (o.fallback_interval or WAIT.fallback_interval) or o.interval or DEFAULT_INTERVAL
  local tick = store and (o.store_interval or WAIT.store_interval) or math.huge
  local timeout = o.timeout or DEFAULT_TIMEOUT
  local since = o.since or webhook.now()  -- the clock the handler stamps verdicts with
  local t_end = core.now() + timeout
  -- seconds of sleep before the next read: counted down by what ctx.sleep was asked for, as
  -- the reads without a store always trusted it (a host's sleep, a test's)
  local until_read = store and interval or 0
  local reads, last, acted = 0, nil, nil
  while true do
    if store then  -- a store that fails is passed over: the reads still end the wait
      local v = webhook.verdict(store, "brand", brand_id)
      local news = v and v.at >= since and (v.at .. " " .. v.method) ~= acted
      if news and M.NOTIFIED[v.method] ~= nil and not o.confirm then return notified(v, reads) end
      if news then acted, until_read = v.at .. " " .. v.method, 0 end
    end
    local after
    if until_read <= 0 then
      ctx.deadline = core.now() + self.deadline  -- each read gets the client's whole deadline
      local res, err, raw = brands.fetch_brand(self, ctx, brand_id)
      reads = reads + 1
      local wait = interval
      if res then
        last = res.brand.status
        res.source = "get_brand"
        if M.APPROVED[last] then return verdict(res, true, reads) end
        if M.REJECTED[last] then return verdict(res, false, reads) end
      elseif err.retryable or TRANSIENT_READ[err.kind == "http" and (err.http_status or err.status) or false] then
        after = client.retry_after(raw)  -- of a 429/503 answer
        wait = math.max(interval, after or 0)
      else
        return nil, err
      end
      until_read = wait
    end
    local left = t_end - core.now()
    if left <= 0 then return nil, timeout_error(brand_id, last, timeout, reads) end
    if self.closed then return nil, self:closed_error(false) end
    local nap = math.min(until_read, tick, left)
    ctx.sleep(nap)
    until_read = until_read - nap
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
--
-- **Listening instead of polling:** given `store`, the store `bizreg.webhook.handle` (or its
-- `ngx_handler`) records notifications in, it looks there every `store_interval` seconds (a
-- local look, no network) and returns as soon as a `brand` notification for this brand,
-- received at or after `since`, gives a verdict: `rejected` (with its `reason`), or `modified`
-- / `created`, taken as the approval ([G]: the spec announces only "브랜드 수정/반려", and a
-- brand in review cannot be edited; `confirm = true` reads the brand instead). Then
-- `reads` is 0. Another method (`deleted`) makes it read the brand at once. Reads happen only as
-- the fallback, every `fallback_interval` seconds, the first one after one interval: an
-- OpenResty host follows many brands without a GET while the webhook works, and a
-- notification that never comes still ends in a read. A store that fails is passed over.
-- @function rcs:wait_for_approval
-- @string brandId the brand (≤ 13 characters)
-- @tparam[opt] table opts
-- @tparam[opt=60] number opts.interval seconds between reads (> 0), without a store
-- @tparam[opt=86400] number opts.timeout seconds to wait in all (> 0)
-- @param[opt] opts.store the webhook's store (`ngx.shared.DICT` or a table with `get`)
-- @tparam[opt=300] number opts.fallback_interval with a store: seconds between reads (> 0)
-- @tparam[opt=1] number opts.store_interval with a store: seconds between looks at it (> 0)
-- @tparam[opt] number opts.since with a store: epoch seconds; notifications received before
--   it are not this review's (default: when the wait starts, by the clock the handler stamps
--   them with: `ngx.time()` under OpenResty, else `os.time()`; give the time you submitted to
--   also take a verdict that came in between). Never earlier than the submission that started
--   this review: a `modified` sent for an edit applied at once before it would read as the approval
-- @tparam[opt=false] boolean opts.confirm with a store: a notification makes it read the brand
--   at once instead of trusting the notification
-- @treturn table `{ approved = true|false, brand_status = "승인"|"반려"|"반려(수정)",`
--   `reason = approvalReason (rejected, when the server gives one), brand = BrandDetail,`
--   `reads = n, source = "get_brand", code =, status = }`; from a notification
--   `{ approved, brand_status = "승인"|"반려", reason, reads, source = "webhook",`
--   `notification = { notiType, method, reason, at } }` (no `brand`: it was not read)
-- @return or nil and an error; on timeout `kind = "transport"`, `code = "WAIT_TIMEOUT"`,
--   `sent = false`, `retryable = true`, `brand_status` = the last status read
-- @raise on a wrong argument type or option, without `person_id` (static token), on a closed client
-- @usage local res, err = rcs:wait_for_approval(brandId, { interval = 300, timeout = 3 * 86400 })
-- if not res then print(err) elseif res.approved then print("approved")
-- else print("rejected: " .. tostring(res.reason)) end
-- -- in nginx, with bizreg.webhook's ngx_handler writing to the same shared dict:
-- res, err = rcs:wait_for_approval(brandId, { store = ngx.shared.bizreg_webhook, since = submitted_at })
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
    seconds(o and o.fallback_interval, "fallback_interval")
    seconds(o and o.store_interval, "store_interval")
    local store = o and o.store
    if store ~= nil and not ((type(store) == "table" or type(store) == "userdata") and client.callable(store.get)) then
      raise("wait_for_approval: 'store' must have a get method (the store bizreg.webhook writes to)")
    end
    local since = o and o.since
    if since ~= nil and (type(since) ~= "number" or not (since >= 0 and since < math.huge)) then
      raise("wait_for_approval: 'since' must be epoch seconds (a number >= 0)")
    end
    if o and o.confirm ~= nil and type(o.confirm) ~= "boolean" then raise("wait_for_approval: 'confirm' must be a boolean") end
  end,
  run = run,
}

return M
