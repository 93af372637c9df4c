-- bizreg brand cancel BRAND_ID [--approved] / brand delete BRAND_ID [--approved] /
-- brand update BRAND_ID FILE: the RCS brand changes (cancel_brand, delete_brand, update_brand).
-- Writes: a failure after the request may have arrived is an unknown outcome (exit 4), and
-- nothing is ever tried a second time (not the other path after a refusal either).
-- update's FILE is a package like register brand's (cli/brand.lua, M.send: loading,
-- validation, --dry-run, progress and outcomes), every part optional.
local bizreg = require "bizreg"
local core = require "bizreg.core"
local json = require "bizreg.cli.json"
local fmt = require "bizreg.cli.fmt"
local env = require "bizreg.cli.env"
local dryrun = require "bizreg.cli.dryrun"
local outcome = require "bizreg.cli.outcome"
local brands = require "bizreg.cli.brands"
local brand = require "bizreg.cli.brand"

local M = {}

-- The account ID of the /corp/{personId}/... paths: BIZREG_RCS_PERSON_ID, else the client ID.
local function person_id()
  for _, var in ipairs { brands.VARS.person_id, "BIZREG_RCS_CLIENT_ID" } do
    local v = os.getenv(var)
    if v and v ~= "" then return v end
  end
end

local CALLS = {
  cancel = { method = "PUT", suffix = "/cancel", done = "cancelled", what = "the review request of",
    unknown = "the review request may have been cancelled: check with `bizreg brand status %s` before cancelling again." },
  delete = { method = "DELETE", suffix = "", done = "deleted", what = "brand",
    unknown = "the brand may have been deleted: check with `bizreg brand status %s` (64316: gone) before deleting again." },
}

local function failed(ui, err, id, unknown)
  return outcome.write_failed(ui, err, unknown:format(id), { key = "brandId", value = id })
end

-- cancel / delete: one request without a body; --approved takes the /corp/{personId}/... path.
function M.run(ui, name, id, o)
  local c = CALLS[name]
  local copts = { approved = o.approved or nil }
  if o["dry-run"] then
    local base, err = env.rcs(os.getenv, {}, true)
    if not base then ui:err("bizreg: " .. err) return outcome.USAGE end
    local bad = require("bizreg.rcs_common").brand_id_error(id)  -- as the call would: nothing to show
    if bad then return failed(ui, bad, id, c.unknown) end
    local pid = person_id()
    if o.approved and not pid then
      ui:err("bizreg: --approved needs BIZREG_RCS_PERSON_ID or BIZREG_RCS_CLIENT_ID (the path's personId)")
      return outcome.USAGE
    end
    local R = require "bizreg.rcs_common"
    local path = (o.approved and (R.person_path { person_id = pid } .. "/brand/") or "/corp/brand/") .. id .. c.suffix
    local r = dryrun.request(base.base_url, { method = c.method, path = path, body = "" })
    dryrun.print(ui, r, { name .. " " .. id, dryrun.auth_note("rcs", base) })
    ui:result(nil, json.obj("brandId", id, "request", dryrun.json(r)), json.encode)
    return outcome.OK
  end
  local client = brands.client(ui, o, not o.approved)
  if not client then return outcome.USAGE end
  local t0 = core.now()
  local res, err = client[name .. "_brand"](client, id, copts)
  local elapsed = math.floor((core.now() - t0) * 1000 + 0.5) / 1000
  client:close()
  if not res then
    if outcome.interrupted(err) then error("interrupted!", 0) end
    return failed(ui, err, id, c.unknown)
  end
  ui:result(string.format("%s  %s %s  (status %s, code %s, %s)", c.done, c.what, id, tostring(res.status),
    tostring(res.code), fmt.seconds(elapsed)),
    json.obj("brandId", id, "state", c.done, "status", res.status, "code", res.code, "elapsed", elapsed), json.encode)
  return outcome.OK
end

-- update: FILE as register brand's (regBrand, brandProfile, brandBackground; "brandBackground":
-- false removes it), sent as the edit form.
function M.update(ui, id, file, o)
  local pid = person_id()
  if not pid then
    ui:err("bizreg: brand update needs BIZREG_RCS_PERSON_ID or BIZREG_RCS_CLIENT_ID (the path's personId)")
    return outcome.USAGE
  end
  local op = { label = "brand update " .. id, method = "PUT",
    prepare = function(payload) return bizreg.prepare_update_brand(id, payload, { person_id = pid }) end,
    call = function(client, payload) return client:update_brand(id, payload) end,
    client_opts = { person_id = pid },
    unknown = "the edit may have been applied: check with `bizreg brand status " .. id .. "` before sending it again." }
  function op.done(res, elapsed, f)
    return string.format("updated  brand %s  (brand status %s; status %s, code %s, %s)", id,
      tostring(res.brand.status), tostring(res.status), tostring(res.code), fmt.seconds(elapsed)),
      json.obj("file", f, "state", "updated", "brandId", id, "brandStatus", res.brand.status, "status", res.status,
        "code", res.code, "elapsed", elapsed), json.encode
  end
  return brand.send(ui, file, o, op)
end

-- words: brand cancel|delete BRAND_ID, brand update BRAND_ID FILE.
function M.dispatch(ui, cmd, p, usage)
  local words, name = p.words, p.words[2]
  local want = name == "update" and 4 or 3
  if #words < want then return usage(ui, cmd .. " needs a BRAND_ID" .. (name == "update" and " and a FILE" or "")) end
  if #words > want then return usage(ui, "unexpected argument '" .. words[want + 1] .. "'") end
  if name == "update" then return M.update(ui, words[3], words[4], p.opts) end
  return M.run(ui, name, words[3], p.opts)
end

return M
