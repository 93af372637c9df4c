-- RCS Biz Center emulation: the changes to an existing brand (issue 19).
--   PUT    /corp/brand/{brandId}/cancel             withdraw a new brand's review   -> 저장
--   PUT    /corp/{personId}/brand/{brandId}/cancel  withdraw a review (an edit's too) -> as before
--   DELETE /corp/brand/{brandId}                    a never-approved brand (저장, 반려)
--   DELETE /corp/{personId}/brand/{brandId}         also an approved one, once it has no chatbots
--   PUT    /corp/{personId}/brand/{brandId}         edit (multipart): a new name or profile image
--                                                   goes back to 승인대기, the rest applies at once
-- Which status allows which call, and each refusal's code and message: rcs_rules.lua
-- (ALLOWED_STATUS, STATE_ERRORS). Every status change and deletion goes through
-- rcs_brands.set_status. First violation wins, in the order: auth, personId (63002), brandId
-- (64316 unknown or deleted, 63001 another account's), status, then (edit) the form's rules
-- (rcs_rules.lua, as the brand POST's) and 64323 when nothing would change.
-- [G] The yaml names no status after a cancel: a new brand goes back to 저장 (saved, as a brand
-- the RBC web saved without asking for review); an edit's cancel restores the brand as it was
-- before the edit. A cancel on /corp/brand/{id} of an approved brand's edit: 64321 (that path is
-- for newly opened brands).
local json = require "bizreg_sandbox.json"
local rules = require "bizreg_sandbox.rcs_rules"
local common = require "bizreg_sandbox.rcs_common"
local brands = require "bizreg_sandbox.rcs_brands"
local digest = require "openssl.digest"

local M = {}

local run, check_auth, ok_reply = common.run, common.check_auth, common.ok_reply

-- The brand of a call, after auth, personId (when the path has one) and access.
local function brand_of(state, req, person, id)
  local account = check_auth(state, req.headers)
  if person then brands.check_person(person, account) end
  return brands.check_access(state, req.headers, id, account)
end

local function id_reply(rec) return ok_reply({ json.obj("brandId", rec.brandId) }) end

---------------------------------------------------------------- cancel

-- person: nil on /corp/brand/{id}/cancel.
local function cancel(state, req, person, id)
  local rec = brand_of(state, req, person, id)
  rules.check_status("cancel", rec.status)
  local before = rec.before_edit
  if before and not person then rules.refuse("cancel") end
  if before then  -- the edit is withdrawn: the brand as it was
    rec.reg, rec.name, rec.profile, rec.background, rec.before_edit = before.reg, before.name, before.profile,
      before.background, nil
    brands.set_status(state, rec, before.status, "cancel")
  else
    brands.set_status(state, rec, "저장", "cancel")
  end
  return id_reply(rec)
end

-- The two handlers of a call with two paths: /corp/brand/{id}<suffix> (the route captures id)
-- and /corp/{personId}/brand/{id}<suffix> (both read from the path).
local function both_paths(fn, suffix)
  local pattern = "^/api/1%.1/corp/([^/]+)/brand/([^/]+)" .. suffix .. "$"
  return function(state, req, id) return run(fn, state, req, nil, id) end,
    function(state, req)
      local person, id = req.path:match(pattern)
      return run(fn, state, req, person, id)
    end
end

M.cancel, M.cancel_owner = both_paths(cancel, "/cancel")

---------------------------------------------------------------- delete

local function delete(state, req, person, id)
  local rec = brand_of(state, req, person, id)
  rules.check_status(person and "delete_owner" or "delete", rec.status)
  -- the yaml: an approved brand only after its numbers are gone; a never-approved one (반려,
  -- 저장) "즉시 삭제 가능": at once, its numbers with it (set_status)
  local numbers = state.chatbots[id]
  if rules.APPROVED_STATUS[rec.status] and numbers and #numbers.list > 0 then rules.refuse("has_chatbots") end
  brands.set_status(state, rec, false, "delete")
  return id_reply(rec)
end

M.delete, M.delete_owner = both_paths(delete, "")

---------------------------------------------------------------- edit

-- The edit's parts (the yaml's PUT: no chatbots, no subNumCertificate, none required).
local PART_NAMES = rules.set_of { "regBrand", "brandProfile", "brandBackground", "mainMdn" }

-- regBrand fields compared as the JSON they encode to (the same client sends the same bytes).
local function same(a, b)
  if a == nil or a == json.null then return b == nil or b == json.null end
  return b ~= nil and json.encode(a) == json.encode(b)
end

local function reg_changed(old, new)
  for _, k in ipairs(json.keys(new)) do if not same(new[k], old[k]) then return true end end
  for k in pairs(old) do if type(k) == "string" and new[k] == nil then return true end end
  return false
end

local function hash(data) return digest.new("sha256"):final(data) end

local function update(state, req)
  local person, id = req.path:match("^/api/1%.1/corp/([^/]+)/brand/([^/]+)$")
  local rec = brand_of(state, req, person, id)
  rules.check_status("update", rec.status)
  local parts = common.form_parts(req, PART_NAMES)
  local rb
  if parts.regBrand then
    rb = rules.json_part(parts.regBrand, "regBrand")
    if json.type(rb) ~= "object" then rules.type_error("regBrand") end
    rules.check_reg_brand(rb)
  end
  if parts.mainMdn and rules.chars(parts.mainMdn.data) > 40 then rules.size_error("mainMdn") end
  local profile = parts.brandProfile and parts.brandProfile.data
  if profile then rules.check_brand_image(profile, false) end
  local bg = parts.brandBackground and parts.brandBackground.data
  if bg and bg ~= "" then rules.check_brand_image(bg, true) end  -- "": the part alone removes it

  local new_profile = profile and hash(profile) or rec.profile
  local new_bg = rec.background
  if bg then new_bg = bg ~= "" and hash(bg) or nil end
  local review = (rb and rb.name ~= rec.name) or new_profile ~= rec.profile
  if not review and new_bg == rec.background and not (rb and reg_changed(rec.reg, rb)) then
    rules.refuse("no_changes")
  end
  if review and not rec.before_edit then
    rec.before_edit = { reg = rec.reg, name = rec.name, profile = rec.profile, background = rec.background,
      status = rec.status }
  end
  if rb then rec.reg, rec.name = rb, rb.name end
  rec.profile, rec.background = new_profile, new_bg
  brands.set_status(state, rec, review and "승인대기" or rec.status, "update")
  return ok_reply({ brands.detail(rec) })
end

function M.update(state, req)
  return run(update, state, req)
end

return M
