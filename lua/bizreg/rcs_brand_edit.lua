-- RCS Biz Center: the changes to an existing brand (issue 19): cancel_brand (withdraw a review
-- request), delete_brand, update_brand (the edit of a running brand, multipart) and
-- prepare_update_brand. Ops merged by rcs.lua; built on rcs_common.lua (checks, the form
-- request, envelopes) and rcs_brands.lua (the BrandDetail reader). The edit's form is the brand
-- form's rows in a variant layout (src/api_rcs.c, bz_rcs_brand_edit_form).
-- The `---` comments below are part of the `bizreg` module's reference (config.ld, merge).
local core = require "bizreg.core"
local C = require "bizreg.rcs_common"
local brands = require "bizreg.rcs_brands"

local M = {}

--- RCS brand changes
-- @module bizreg

--- The exact request `update_brand` would send, without sending it: as `prepare_brand`, for the
-- brand edit form (every part optional; `brandBackground = false` is an empty part).
-- @string brandId the brand (the rule of `prepare_chatbots`)
-- @tparam table payload as for `rcs:update_brand`
-- @tparam table opts `{ person_id = "myaccount" }` (required: the path's personId, the client's
--   `person_id` / `client_id`) and `boundary`, `json_content_type`, `unknown_fields` as for `prepare_brand`
-- @treturn table `{ method = "PUT", path = "/corp/{personId}/brand/{brandId}", headers = { ["Content-Type"] =`
--   `"multipart/form-data; boundary=…" }, body = "<the multipart body>" }`
-- @return or nil and a validation error listing every violation (with RCS codes; 64323 for no part)
-- @raise when brandId is not a string, payload is not a table, opts.person_id is missing, or the boundary is invalid
-- @usage local req = assert(bizreg.prepare_update_brand("BR.abc123", { brandBackground = false },
--   { person_id = "myaccount", boundary = "test-0001" }))
-- @function prepare_update_brand

--- One-shot: an RCS client, one `cancel_brand` call, `close()`.
-- @function cancel_brand
-- @tparam table opts as for `rcs`
-- @string brandId the brand whose review request to withdraw
-- @tparam[opt] table call_opts as for `rcs:cancel_brand` (`approved`)
-- @treturn table `{ brandId = "BR.…", code = "20000000", status = 200, result = {...} }`
-- @return or nil and an error (`bizreg.errors`; `err.sent`: it may have arrived)
-- @usage local res, err = bizreg.cancel_brand({ base_url = url, token = t }, "BR.abc123")

--- One-shot: an RCS client, one `delete_brand` call, `close()`.
-- @function delete_brand
-- @tparam table opts as for `rcs`
-- @string brandId the brand to delete
-- @tparam[opt] table call_opts as for `rcs:delete_brand` (`approved`)
-- @treturn table `{ brandId = "BR.…", code = "20000000", status = 200, result = {...} }`
-- @return or nil and an error (`bizreg.errors`; `err.sent`: it may have arrived)
-- @usage local res, err = bizreg.delete_brand({ base_url = url, client_id = id, client_secret = s }, "BR.abc123", { approved = true })

--- One-shot: an RCS client, one `update_brand` call, `close()`.
-- @function update_brand
-- @tparam table opts as for `rcs` (with `person_id` or `client_id`: the path's personId)
-- @string brandId the brand to edit
-- @tparam table payload as for `rcs:update_brand`
-- @treturn table `{ brandId = "BR.…", code, status, brand = BrandDetail }`
-- @return or nil and an error (`bizreg.errors`; `err.sent`: it may have arrived)
-- @usage local res, err = bizreg.update_brand({ base_url = url, client_id = id, client_secret = s }, "BR.abc123",
--   { brandBackground = false })

--- RCS client methods (see `rcs_client`).
-- @type rcs_client

local raise = C.raise

-- What to do after the server refused one of these calls, by its code (api-notes' table):
-- added after the server's own message, which is kept as it came.
M.NEXT_STEP = {
  ["64321"] = "the brand is not in 승인대기 (review may have started): read its status with get_brand",
  ["64327"] = "this brand cannot be deleted in its status: read it with get_brand "
    .. "(approved brands: delete_brand(id, { approved = true }))",
  ["64328"] = "this brand cannot be edited in its status (승인 or 반려 of an edit only): read it with get_brand",
  ["64345"] = "the call does not fit the brand's status: read it with get_brand",
  ["64351"] = "delete the brand's sender numbers (chatbots) and templates first, then delete the brand",
}

-- What the caller can do when the answer does not say what became of the write.
local UNKNOWN = {
  cancel = "the review request may have been cancelled: read the brand's status with get_brand",
  delete = "the brand may have been deleted: look for it with get_brand before deleting it again",
  update = "the edit may have been applied: read the brand with get_brand before sending it again",
}

-- A refusal the server explains gets its next step (any other error is returned as it is).
local function with_next_step(err)
  local step = err.kind == "http" and M.NEXT_STEP[err.code]
  if step then err.message = (err.message or ("error " .. err.code)) .. ": " .. step end
  return err
end

-- An error of these calls: a refusal gets its next step; an answer that is no answer (decode)
-- leaves the outcome unknown, and says how to find out.
local function mapped_error(err, what)
  return C.unknown_outcome(with_next_step(err), UNKNOWN[what])
end

-- cancel and delete answer `result: [{ brandId }]`: success names the brand asked for.
local function id_mapper(brand_id, what)
  return function(res, c)
    local out, err = C.write_answer(res, c, "brand", brand_id, UNKNOWN[what])
    if not out then return nil, with_next_step(err) end
    out.brandId = brand_id
    return out
  end
end

-- The edit answers `result: [BrandDetail]`: the brand as it now is.
local function detail_mapper(brand_id)
  return function(res, c)
    local out, err = brands.map_detail(res, brand_id, c)
    if not out then return nil, mapped_error(err, "update") end
    out.brandId = out.brand.brandId
    return out
  end
end

-- ---- paths, by the yaml's templates (route: the template, for the retry table by meaning) --

local function corp_path(brand_id) return "/corp/brand/" .. brand_id end
local function person_path(self, brand_id) return C.person_path(self) .. "/brand/" .. brand_id end

-- ---- argument checks (raise at the caller's position) ------------------------------------

local APPROVED_OPTS = { approved = true }
local function check_id_opts(brand_id, o)
  if type(brand_id) ~= "string" then raise("brandId must be a string") end
  C.check_call_opts(o, APPROVED_OPTS)
  if o and o.approved ~= nil and type(o.approved) ~= "boolean" then raise("call option 'approved' must be a boolean") end
end

-- The /corp/{personId}/... path needs the account ID (a static token does not name it).
local function needs_person_if_approved(self, _, o)
  if type(o) == "table" and o.approved == true then C.needs_person(self) end
end

-- One call without a body on the brand: brandId's shape first (nothing sent when wrong).
local function id_call(self, ctx, method, brand_id, o, what, suffix)
  local bad = C.brand_id_error(brand_id)
  if bad then return nil, bad end
  local path, route
  if o and o.approved then
    path, route = person_path(self, brand_id) .. suffix, method .. " /corp/{personId}/brand/{brandId}" .. suffix
  else
    path, route = corp_path(brand_id) .. suffix, method .. " /corp/brand/{brandId}" .. suffix
  end
  local res, err = self:call(ctx, { method = method, path = path, route = route })
  if not res then return nil, err end
  return id_mapper(brand_id, what)(res, self)
end

local ops = {}

--- RCS (`bizreg.rcs`): withdraw a brand's review request while it is still `승인대기` (review not
-- started). A new brand: `PUT /corp/brand/{brandId}/cancel`, after which it is `저장` (saved: edit
-- it with `resubmit_brand`, or delete it). An edit of a running brand under review:
-- `{ approved = true }`, `PUT /corp/{personId}/brand/{brandId}/cancel` (personId: the `person_id`
-- option, by default `client_id`), after which the brand is as it was before the edit.
-- The caller says which: bizreg never tries the other path after a refusal (a second write).
-- @function rcs:cancel_brand
-- @string brandId the brand (the rule of `get_brand`: else a validation error 64316, nothing sent)
-- @tparam[opt] table opts `{ approved = true }`: the brand was approved before (its edit is under review)
-- @treturn table `{ brandId = "BR.…", code = "20000000", status = 200, result = {...} }`
-- @return or nil and an error: 400 `64321` "Invalid approval status" (not `승인대기`: review
--   started, or nothing to cancel; the message adds what to do), `64316`, 403 `63001`; `decode`
--   (a 2xx that does not name the brand: the outcome is unknown, `sent = true`)
-- @raise on a wrong argument type or call option, `approved` without `person_id` (static token), on a closed client
-- @usage local res, err = rcs:cancel_brand("BR.0a81DDlZjz")
ops.cancel_brand = {
  needs = needs_person_if_approved,
  check = check_id_opts,
  run = function(self, ctx, brand_id, o) return id_call(self, ctx, "PUT", brand_id, o, "cancel", "/cancel") end,
}

--- RCS (`bizreg.rcs`): delete a brand. Never approved (`반려`, `저장`): `DELETE /corp/brand/{brandId}`.
-- Approved: `{ approved = true }`, `DELETE /corp/{personId}/brand/{brandId}` (the master account
-- that is the brand's 대표운영자; this path also deletes `반려` and `저장` brands), which the server
-- refuses while the brand still has sender numbers or templates (`64351`: delete those first). The caller says which: bizreg never tries
-- the other path after a refusal (a second write). A deleted brand is gone from `get_brand` and
-- `list_brands`.
-- @function rcs:delete_brand
-- @string brandId the brand (the rule of `get_brand`: else a validation error 64316, nothing sent)
-- @tparam[opt] table opts `{ approved = true }`: an approved brand (the personId path)
-- @treturn table `{ brandId = "BR.…", code = "20000000", status = 200, result = {...} }`
-- @return or nil and an error: 400 `64327` "Not allowed delete" (a status this path does not
--   delete: `승인대기` — cancel it first —, or an approved brand without `approved = true`),
--   `64351` "chatbot exists. need to delete all chatbot before deleting the brand" (the message
--   adds what to do), `64316`, 403 `63001`/`63002`; `decode` (unknown outcome, `sent = true`)
-- @raise on a wrong argument type or call option, `approved` without `person_id`, on a closed client
-- @usage local res, err = rcs:delete_brand("BR.0a81DDlZjz", { approved = true })
-- if err and err.code == "64351" then print(err.message) end
ops.delete_brand = {
  needs = needs_person_if_approved,
  check = check_id_opts,
  run = function(self, ctx, brand_id, o) return id_call(self, ctx, "DELETE", brand_id, o, "delete", "") end,
}

--- RCS (`bizreg.rcs`): edit a running brand (`PUT /corp/{personId}/brand/{brandId}`, multipart
-- like `register_brand`; status `승인`, or `반려` of an edit). A new `regBrand.name` or
-- `brandProfile` sends the brand back to review (`승인대기`); the other fields apply at once.
-- Every part is optional (the yaml's edit has no required part): `regBrand`, when given, is the
-- whole `RegBrandInfo` with its required fields and the brand form's rules; `brandProfile` and
-- `brandBackground` as for `register_brand`; `brandBackground = false` sends the part empty,
-- which removes the stored background; no `chatbots` or `subNumCertificate` here.
-- @function rcs:update_brand
-- @string brandId the brand (the rule of `get_brand`)
-- @tparam table payload `{ regBrand = {...}, brandProfile = "p.png", brandBackground = "bg.jpg" | false }`
--   (none of them: validation error `64323` "No changes", nothing sent)
-- @tparam[opt] table opts `{ unknown_fields = }` as for `register_brand`
-- @treturn table `{ brandId = "BR.…", code, status, brand = BrandDetail }` (as `get_brand`: the
--   brand after the edit, its `status` `승인대기` when the edit went to review)
-- @return or nil and an error: validation (the brand form's codes, 64323), 400 `64323` "No
--   changes" (the server found nothing new), `64328` "Not allowed modification" (its status), 403
--   `63001`; `decode` (unknown outcome, `sent = true`: read the brand before sending again)
-- @raise on a wrong argument type or call option, without `person_id` (static token), on a closed client
-- @usage local res, err = rcs:update_brand("BR.0a81DDlZjz", { brandBackground = false })
local UPDATE_OPTS = { unknown_fields = true }
ops.update_brand = {
  needs = C.needs_person,
  check = function(brand_id, payload, o) C.check_brand_args(brand_id, payload, o, UPDATE_OPTS) end,
  run = function(self, ctx, brand_id, payload, o)
    local bad = C.brand_id_error(brand_id)
    if bad then return nil, bad end
    return C.form_request(self, ctx, "PUT", person_path(self, brand_id), payload,
      { encoder = core.encode_brand_edit, mapper = detail_mapper(brand_id), call_opts = o,
        route = "PUT /corp/{personId}/brand/{brandId}" })
  end,
}

M.ops = ops

-- bizreg.prepare_update_brand: opts are prepare_brand's plus person_id (required: the path's).
function M.prepare_update_brand(brand_id, payload, opts)
  C.check_brand_args(brand_id, payload)
  local pid = type(opts) == "table" and opts.person_id or nil
  if type(pid) ~= "string" or pid == "" then
    raise("prepare_update_brand needs opts.person_id (the RBC account ID of the path)")
  end
  local bad = C.brand_id_error(brand_id)
  if bad then return nil, bad end
  local eopts = { boundary = opts.boundary, json_content_type = opts.json_content_type, unknown_fields = opts.unknown_fields }
  return C.prepare_form(payload, eopts, core.encode_brand_edit, "PUT", person_path({ person_id = pid }, brand_id))
end

return M
