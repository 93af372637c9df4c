--- Validated, safe calls to the KOS clinic CRM and RCS Biz Center APIs.
--
-- `require "bizreg"` gives this module. Calls **return `nil, err`** for anything about the
-- payload, the network or the server (see `bizreg.errors`), and **raise only for programmer
-- errors** (a payload that is not a table, an unknown or out-of-range option, a closed
-- client). Every payload is validated completely before anything is sent; a request that
-- may have reached the server is never sent again (docs/reliability.md).
--
-- Sections: the functions below; `kos_client` (a KOS client's methods); `rcs_client` (an
-- RCS client's methods); `client` (what both have: `start`, `close`); `options` (every
-- client option); `job` (non-blocking calls); debug events are in `bizreg.events`, error
-- fields in `bizreg.errors`, the nginx transport in `bizreg.transport.ngx`.
-- @module bizreg
-- @usage
-- local bizreg = require "bizreg"
-- local kos = bizreg.kos { base_url = "https://crm.example", api_key = os.getenv("KOS_API_KEY") }
-- local res, err = kos:register_visitor_images { images = { {
--   fileName = "2026/11/22/before.jpg", visitorId = "65a1b2c3d4e5f6a7b8c9d0e1",
--   shootingDateTimeUtc = "2026-11-22T16:00:00+09:00", memo = "시술 전 사진" } } }
-- if not res then print(err) end   -- one line: kind, status, code, message, violations
-- kos:close()

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

local bizreg = {}

--- The library's version (`"0.1.0"`); also in the default `User-Agent` (`bizreg/0.1.0`).
-- @usage print(bizreg.VERSION)
bizreg.VERSION = client.VERSION

-- (documented in options.lua, where every default lives)
bizreg.DEFAULTS = require("bizreg.options").DEFAULTS

--- The error module (`bizreg.errors`): `bizreg.errors.is_error(v)` and the error fields.
-- @usage if bizreg.errors.is_error(err) and err.kind == "transport" and not err.sent then retry_later() end
bizreg.errors = errors

--- The outcome table (`bizreg.outcome`): `bizreg.outcome.of(err)` says whether a failed call
-- was `"not_processed"`, `"refused"` or `"maybe_processed"` (look before sending it again).
-- @usage if bizreg.outcome.of(err) == bizreg.outcome.MAYBE then reconcile() end
bizreg.outcome = require "bizreg.outcome"

--- The routes table (`bizreg.routes`): `bizreg.routes.of(route)` says whether a repeat of a
-- request can change the outcome (`"once"`, sent at most once) or not (`"repeat"`, sent again
-- after a broken connection or a 502/503/504); docs/reliability.md shows the table.
-- @usage print(bizreg.routes.of("GET /corp/{personId}/brand/{brandId}"))  --> repeat
bizreg.routes = require "bizreg.routes"

--- A KOS clinic CRM client.
-- Credentials: a fixed `token`, **or** an `api_key` exchanged for a token at
-- `POST /open/authorization/commands/exchange-token` (cached; exchanged once more after a 401).
-- Every option is checked here: a wrong name, type or range raises at the caller's line.
-- @function kos
-- @tparam table opts the common `options`, plus:
-- @tparam string opts.base_url the API's base URL (required; `http://` or `https://`)
-- @tparam[opt] string opts.token a token to send as is
-- @tparam[opt] string opts.api_key the API key (a UUID) to exchange for tokens
-- @tparam[opt="Authorization"] string opts.auth_header the header the token goes in
-- @tparam[opt="Bearer"] string opts.auth_scheme the scheme before the token (`""`: the bare token)
-- @treturn client a client with `register_visitor_images` and `search_visitors`
-- @raise on a wrong option, no credential, both credentials, or an empty one
-- @usage local kos = bizreg.kos { base_url = "https://crm.example", api_key = os.getenv("KOS_API_KEY"),
--   timeout = 10, on_event = function(ev) io.stderr:write(ev.type, "\n") end }
bizreg.kos = kos.new

--- An RCS Biz Center client.
-- Credentials: `client_id` (the RBC account ID) + `client_secret` (the API key `SK.…`), exchanged
-- at `POST /token` for a bearer token (cached until 60 s before it expires; renewed once after
-- a 401 with code 61003 or 61004), **or** a fixed `token`.
-- @function rcs
-- @tparam table opts the common `options`, plus:
-- @tparam string opts.base_url e.g. `https://api.rcsbizcenter.com/api/1.1` (staging:
--   `https://api-qa.rcsbizcenter.com/api/1.1`)
-- @tparam[opt] string opts.client_id the RBC account ID
-- @tparam[opt] string opts.client_secret the RBC API key
-- @tparam[opt] string opts.token a bearer token to send as is
-- @tparam[opt] string opts.json_content_type a `Content-Type` line for the JSON parts
--   (`regBrand`, `chatbots`); none by default, like the documented curl sample
-- @tparam[opt] string opts.person_id the RBC account ID in the brand paths (`/corp/{personId}/brand`):
--   1–20 characters, not `.` or `..`; default `client_id`; **needed with a static `token`** for `get_brand`,
--   `list_brands`, `each_brand`, `find_brands`, `wait_for_approval`
-- @tparam[opt] string opts.brand_key agency accounts: the `X-RCS-Brandkey` sent where the spec
--   defines it (`register_chatbots` and the other chatbot calls, the `/brand/{brandId}/…` operations;
--   not the `/corp/…` calls), 1–18
--   visible ASCII characters (a call's own `brand_key` wins)
-- @tparam[opt=false] boolean opts.check_categories `register_brand` checks `categoryId` /
--   `subCategoryId` against `brand_categories()` before sending (64337 `InvalidEnum`)
-- @tparam[opt=3600] number opts.categories_ttl seconds the categories list is cached (0: never)
-- @tparam[opt=3600] number opts.token_lifetime seconds a token is kept when the server's `expiresIn`
--   is in the past, absurdly far away or unreadable (a `token` event says so)
-- @tparam[opt="refuse"] string opts.unknown_fields `"send"`: keys of the JSON parts bizreg does not
--   know (a field newer than the library) are sent as given, if JSON can carry them (else still
--   64397); also a call option of `register_brand`, `resubmit_brand`, `register_chatbots` and the
--   `prepare_brand` / `prepare_chatbots` opts
-- @treturn client a client with `register_brand`, `resubmit_brand`, `get_brand`, `list_brands`,
--   `each_brand`, `find_brands`, `wait_for_approval`, `brand_categories`, `register_chatbots`,
--   `cancel_brand`, `delete_brand`, `update_brand`
--   `list_chatbots`, `each_chatbot`, `get_chatbot`, `update_chatbot`, `delete_chatbot`, `cancel_chatbot`
-- @raise on a wrong option or credential, a `json_content_type` with control characters, a
--   `brand_key` or `person_id` out of shape
-- @usage local rcs = bizreg.rcs { base_url = "https://api.rcsbizcenter.com/api/1.1",
--   client_id = "myaccount", client_secret = os.getenv("RBC_API_KEY") }
bizreg.rcs = rcs.new

--- The exact request `register_visitor_images` would send, without sending it.
-- @tparam table payload `{ images = { {...}, ... } }`
-- @treturn table `{ method = "POST", path = "/image/open/v1/commands/register-visitor-images",`
--   `headers = { ["Content-Type"] = "application/json" }, body = "<the JSON>" }`
-- @return or nil and a validation error listing every violation
-- @raise when payload is not a table
-- @usage local req, err = bizreg.prepare_visitor_images { images = { { fileName = "a.jpg", visitorId = "v1" } } }
-- print(req.body)   --> {"images":[{"fileName":"a.jpg","visitorId":"v1"}]}
function bizreg.prepare_visitor_images(payload) return kos.prepare(payload) end

--- The exact request `search_visitors` would send, without sending it.
-- `dateOfBirth` is sent in the API's documented form (`1990-05-01 00:00:00.000Z`, see
-- `kos:search_visitors`), the fields in the schema's order.
-- @tparam table payload as for `kos:search_visitors`
-- @treturn table `{ method = "POST", path = "/visitor/open/v1/queries/search-visitors",`
--   `headers = { ["Content-Type"] = "application/json" }, body = "<the JSON>" }`
-- @return or nil and a validation error listing every violation
-- @raise when payload is not a table
-- @usage local req = assert(bizreg.prepare_search_visitors { chartNumber = "12345", dateOfBirth = "1990-05-01" })
-- print(req.body)   --> {"dateOfBirth":"1990-05-01 00:00:00.000Z","chartNumber":"12345"}
function bizreg.prepare_search_visitors(payload) return kos.prepare_search(payload) end

--- The exact request `register_brand` would send, without sending it.
-- `body` is the whole multipart body as a string (files read into it): the reference for what
-- every transport sends. File parts are named
-- by their path's stem with the extension of the type detected from the bytes
-- (PNG `.png`, JPEG `.jpg`, PDF `.pdf`, TIFF `.tif`, ZIP `.zip`): a PNG at `logo.jpg` is sent
-- as `filename="logo.png"`; `"`, CR, LF and backslash in the stem become `_`.
-- @tparam table payload `regBrand`, `chatbots`, the files `brandProfile`, `brandBackground`,
--   `subNumCertificate` (each a path, `{ path = … }` or `{ data = bytes, filename = … }`)
-- @tparam[opt] table opts
-- @tparam[opt] string opts.boundary a fixed multipart boundary (reproducible bodies; random by default)
-- @tparam[opt] string opts.json_content_type `Content-Type` of the JSON parts (as the client option)
-- @treturn table `{ method = "POST", path = "/corp/brand", headers = { ["Content-Type"] =`
--   `"multipart/form-data; boundary=…" }, body = "<the multipart body>" }`
-- @return or nil and a validation error listing every violation (with RCS codes)
-- @raise when payload is not a table, or the boundary is not a valid RFC 2046 boundary
-- @usage local req = assert(bizreg.prepare_brand(payload, { boundary = "test-0001" }))
-- assert(req.body:find('filename="profile.png"', 1, true))
function bizreg.prepare_brand(payload, opts) return rcs.prepare(payload, opts) end

--- The exact request `register_chatbots` would send, without sending it: as `prepare_brand`,
-- for the chatbot form.
-- @string brandId the brand (≤ 13 characters of letters, digits, `.`, `-`, `_`, not `.` or `..`; else `nil, err`
--   with code 64316)
-- @tparam table payload `{ chatbots = { {...}, ... }, subNumCertificate = … }`
-- @tparam[opt] table opts as for `prepare_brand` (`boundary`, `json_content_type`)
-- @treturn table `{ method = "POST", path = "/brand/{brandId}/chatbot", headers = { ["Content-Type"] =`
--   `"multipart/form-data; boundary=…" }, body = "<the multipart body>" }`
-- @return or nil and a validation error listing every violation (with RCS codes)
-- @raise when brandId is not a string, payload is not a table, or the boundary is invalid
-- @usage local req = assert(bizreg.prepare_chatbots("BR.abc123", { chatbots = { { mdn = "0212345678",
--   subTitle = "대표번호" } }, subNumCertificate = "cert.pdf" }, { boundary = "test-0001" }))
function bizreg.prepare_chatbots(brandId, payload, opts) return rcs.prepare_chatbots(brandId, payload, opts) end


-- Programmer errors point at the caller of the one-shot function (errors.raise).
local function one_shot(new, method)
  return function(opts, ...)
    local c = new(opts)
    local res, err = c[method](c, ...)
    c:close()
    return res, err
  end
end

--- One-shot: a KOS client, one `register_visitor_images` call, `close()`.
-- @function register_visitor_images
-- @tparam table opts as for `kos`
-- @tparam table payload as for `kos:register_visitor_images`
-- @treturn table the decoded answer (`{}`), as `kos:register_visitor_images`
-- @return or nil and an error (`bizreg.errors`: validation, http, transport, decode)
-- @usage local res, err = bizreg.register_visitor_images({ base_url = url, token = t }, { images = list })
bizreg.register_visitor_images = one_shot(kos.new, "register_visitor_images")

--- One-shot: a KOS client, one `search_visitors` call, `close()`.
-- @function search_visitors
-- @tparam table opts as for `kos`
-- @tparam table payload as for `kos:search_visitors`
-- @treturn table `{ visitors = {...}, data = {...} }`, as `kos:search_visitors`
-- @return or nil and an error (`bizreg.errors`)
-- @usage local res, err = bizreg.search_visitors({ base_url = url, token = t }, { chartNumber = "12345" })
bizreg.search_visitors = one_shot(kos.new, "search_visitors")

--- One-shot: an RCS client, one `register_brand` call, `close()`.
-- @function register_brand
-- @tparam table opts as for `rcs`
-- @tparam table payload as for `rcs:register_brand`
-- @treturn table `{ brandId = "BR.…", code = "20000000", status = 200, result = {...} }`
-- @return or nil and an error (`bizreg.errors`; `err.sent`: it may have arrived)
-- @usage local res, err = bizreg.register_brand({ base_url = url, token = t }, payload)
bizreg.register_brand = one_shot(rcs.new, "register_brand")

--- One-shot: an RCS client, one `resubmit_brand` call, `close()`.
-- @function resubmit_brand
-- @tparam table opts as for `rcs`
-- @string brandId the brand to resubmit
-- @tparam table payload as for `rcs:register_brand`
-- @treturn table `{ brandId = "BR.…", code = "20000000", status = 200, result = {...} }`
-- @return or nil and an error (`bizreg.errors`; `err.sent`: it may have arrived)
-- @usage local res, err = bizreg.resubmit_brand({ base_url = url, token = t }, "BR.abc123", payload)
bizreg.resubmit_brand = one_shot(rcs.new, "resubmit_brand")

--- One-shot: an RCS client, one `register_chatbots` call, `close()`.
-- @function register_chatbots
-- @tparam table opts as for `rcs`
-- @string brandId the brand to add the sender numbers to
-- @tparam table payload as for `rcs:register_chatbots`
-- @treturn table `{ brandId = "BR.…", code = "20000000", status = 200, result = { Chatbot, … } }`
-- @return or nil and an error (`bizreg.errors`; `err.sent`: it may have arrived)
-- @usage local res, err = bizreg.register_chatbots({ base_url = url, token = t }, "BR.abc123", payload)
bizreg.register_chatbots = one_shot(rcs.new, "register_chatbots")

-- cancel_brand, delete_brand, update_brand (one-shots) and prepare_update_brand: their reference
-- is in rcs_brand_edit.lua, beside the calls.
for _, name in ipairs { "cancel_brand", "delete_brand", "update_brand" } do bizreg[name] = one_shot(rcs.new, name) end
function bizreg.prepare_update_brand(brandId, payload, opts) return rcs.prepare_update_brand(brandId, payload, opts) end
-- The sender-number one-shots and prepare_update_chatbot: their reference is in
-- rcs_chatbot_ops.lua, beside the calls.
function bizreg.prepare_update_chatbot(brandId, chatbotId, payload, opts)
  return rcs.prepare_update_chatbot(brandId, chatbotId, payload, opts)
end
for _, name in ipairs { "list_chatbots", "get_chatbot", "update_chatbot", "delete_chatbot", "cancel_chatbot" } do
  bizreg[name] = one_shot(rcs.new, name)
end

--- Drives every job of this Lua state (see `job`), waiting at most `max_wait` seconds.
-- @function poll
-- @tparam[opt=0] number max_wait seconds, 0 to 86400 (0: never blocks)
-- @treturn number how many jobs are still running
-- @treturn {job,...} the jobs that finished since the previous poll, in the order they finished
--   (each listed once; a job whose result was already taken is left out)
-- @raise on a bad `max_wait`, or when called from inside a poll (a job's callback)
-- @usage -- every frame:
-- local running, finished = bizreg.poll(0)
-- for _, job in ipairs(finished) do local res, err = job:result() end
bizreg.poll = jobs.poll

--- A KOS clinic CRM client, made by `bizreg.kos`: the methods below, and `start` and `close`
-- (see `client`). It keeps one kept-alive connection and (with `api_key`) its token.
-- @type kos_client
-- @usage local kos = bizreg.kos { base_url = url, api_key = key }
-- local res, err = kos:register_visitor_images { images = list }
-- kos:close()

--- KOS (`bizreg.kos`): register visitor images (`POST /image/open/v1/commands/register-visitor-images`).
-- `images` must be a non-empty list; every image is validated (fileName, visitorId, enums,
-- memo ≤ 150 characters, RFC 3339 `shootingDateTimeUtc` sent as UTC with milliseconds, …).
-- @function kos:register_visitor_images
-- @tparam table payload `{ images = { { fileName =, visitorId =, source =, equipment =, category =,`
--   `scheduleId =, shootingDateTimeUtc =, memo =, order =, closed =, default = }, … } }`
-- @treturn table the decoded answer (`{}`: `protos.Empty`)
-- @return or nil and an error (`bizreg.errors`)
-- @raise when payload is not a table, or the client is closed
-- @usage local res, err = kos:register_visitor_images { images = { {
--   fileName = "2026/11/22/a.jpg", visitorId = "65a1b2c3d4e5f6a7b8c9d0e1", source = "HOSPITAL" } } }

--- KOS (`bizreg.kos`): search visitors (`POST /visitor/open/v1/queries/search-visitors`), e.g.
-- to find the `visitorId` of a chart number before `register_visitor_images`. Every criterion
-- is optional; the server returns the visitors matching all of those given. A query changes
-- nothing, but follows the same retry policy as every call.
--
-- Rules (the schema gives only types; the limits are bizreg's guards): `offset` an int32 ≥ 0,
-- `limit` an int32 ≥ 1 (`NotAvailable` below, `InvalidType` outside int32);
-- `partOfVisitorName` ≤ 100 characters, `chartNumber` ≤ 50, `email` ≤ 254;
-- `phone` needs both parts: `countryCode` 1–3 digits, `phoneNumber` digits **without the
-- trunk 0** (`010-1234-5678` is `"1012345678"`), ≤ 15 digits together (E.164);
-- `dateOfBirth` a date `"1990-05-01"`, or the documented form `"1990-05-01 00:00:00.000Z"`
-- (also with `T`): it is **sent in the documented form**; another time of day, an offset or an
-- impossible date is `NotAvailable` (the API's reason for a bad date); unknown keys `UnknownField`.
-- @function kos:search_visitors
-- @tparam table payload `{ chartNumber =, phone = { countryCode = "82", phoneNumber = "1012345678" },`
--   `partOfVisitorName =, dateOfBirth =, email =, offset =, limit = }`
-- @treturn table `{ visitors = { { id =, chartNumber =, name =, phoneNumber = { countryCode =,`
--   `phoneNumber = }, dateOfBirth =, gender = }, … }, data = <the answer's data list as decoded> }`
--   (`visitors` holds the documented fields of each entry; `{}` when none matched)
-- @return or nil and an error (`bizreg.errors`; `decode` when an entry has no `id`)
-- @raise when payload is not a table, or the client is closed
-- @usage local res = assert(kos:search_visitors { chartNumber = "12345" })
-- if #res.visitors == 1 then
--   kos:register_visitor_images { images = { { fileName = "a.jpg", visitorId = res.visitors[1].id } } }
-- end

--- KOS (`bizreg.kos`): send a request made by `prepare_visitor_images` or
-- `prepare_search_visitors`: exactly its bytes, through the same flow as the call that prepares
-- it (token exchange and one renewal on 401, the retry policy, at most once, the deadline,
-- events; the answer mapped and scrubbed as that call's). So a caller that validates, shows or
-- hashes a request before sending it (the CLI's journal) encodes it once. `req` is left as it
-- was; each send is a new request to the server.
-- @function kos:send_prepared
-- @tparam table req what `prepare_visitor_images` / `prepare_search_visitors` returned
-- @return what `register_visitor_images` / `search_visitors` return: the answer, or nil and an error
-- @raise when `req` was not made by a `prepare_*` function (a table built by hand, or a copy of
--   one), was made for the RCS client, or the client is closed. A body you replace in `req` is sent
--   as you replaced it: bizreg validated the one it wrote
-- @usage local req, err = bizreg.prepare_visitor_images { images = list }
-- if req then local res, serr = kos:send_prepared(req) end

--- An RCS Biz Center client, made by `bizreg.rcs`: the methods below, and `start` and `close`
-- (see `client`). It keeps one kept-alive connection and (with `client_id`) its token.
-- @type rcs_client
-- @usage local rcs = bizreg.rcs { base_url = url, client_id = id, client_secret = secret }
-- local res, err = rcs:register_brand(payload)
-- rcs:close()

--- RCS (`bizreg.rcs`): register a brand (`POST /corp/brand`, multipart). Files are judged by
-- their bytes (`brandProfile` PNG; `brandBackground` PNG/JPEG; square, 388–1080 px, ≤ 1 MiB;
-- `subNumCertificate` JPEG/PNG/PDF/TIFF/ZIP ≤ 20 MiB, required with `chatbots`), streamed from
-- disk when given by path, and sent with the filename described at `prepare_brand`.
-- @function rcs:register_brand
-- @tparam table payload `{ regBrand = {...}, chatbots = {...}, brandProfile = "profile.png",`
--   `brandBackground = { path = "bg.jpg" }, subNumCertificate = { data = bytes, filename = "cert.pdf" } }`
-- @tparam[opt] table opts `{ check_categories = true|false }` (overrides the client option): check the
--   categories first (fetched once per client, see `brand_categories`); a failed fetch fails the call
--   with `sent = false` (nothing of the brand was sent); `unknown_fields` as the client option
-- @treturn table `{ brandId = "BR.…", code = "20000000", status = 200, result = {...} }`
-- @return or nil and an error (`bizreg.errors`)
-- @raise when payload is not a table, or the client is closed
-- @usage local res, err = rcs:register_brand(payload)
-- if res then print(res.brandId) elseif err.sent then print("unknown outcome: look before sending again") end

--- RCS (`bizreg.rcs`): resubmit a rejected or saved brand (`PUT /corp/brand/{brandId}`), same
-- body and rules as `register_brand`.
-- @function rcs:resubmit_brand
-- @string brandId the brand's ID (≤ 13 characters of letters, digits, `.`, `-`, `_`, not `.` or `..`)
-- @tparam table payload as for `register_brand`
-- @tparam[opt] table opts `{ unknown_fields = … }` as the client option (no `X-RCS-Brandkey`: the
--   spec defines none here)
-- @treturn table as `register_brand`
-- @return or nil and an error
-- @usage local res, err = rcs:resubmit_brand("BR.abc123", payload)

--- RCS (`bizreg.rcs`): add sender numbers (chatbots) to an existing brand (`POST`
-- `/brand/{brandId}/chatbot`, multipart: the `chatbots` JSON part and the certificate). The
-- chatbot rows, the certificate rule (JPEG/PNG/PDF/TIFF/ZIP ≤ 20 MiB, required), the
-- duplicate-mdn rule (64341), the codes, streaming and at-most-once are `register_brand`'s;
-- `chatbots` is required here (1–1,000 items; an empty list is 64343). Each number is reviewed
-- by an RBC operator: `approvalResult` starts as `승인대기`. The server answers 400 64316 for
-- an unknown brand, 403 63001 for another account's, 400 64319 for an mdn the brand already has.
-- @function rcs:register_chatbots
-- @string brandId the brand's ID (≤ 13 characters of letters, digits, `.`, `-`, `_`, not `.` or `..`; else
--   `nil, err` with code 64316, nothing sent)
-- @tparam table payload `{ chatbots = { { mdn =, subTitle =, rcsReply =, display =, inputField =,`
--   `subDescr =, saftyStatusYn =, subNum = }, … }, subNumCertificate = "cert.pdf" }`
-- @tparam[opt] table opts `{ brand_key = …, unknown_fields = … }`, each overriding the client option
-- @treturn table `{ brandId = "BR.…", code = "20000000", status = 200, result = { { chatbotId =,`
--   `brandId =, approvalResult =, … }, … } }` (`result`: the spec's `Chatbot` objects)
-- @return or nil and an error (`bizreg.errors`)
-- @raise when brandId is not a string, payload is not a table, or the client is closed
-- @usage local res, err = rcs:register_chatbots("BR.abc123", { chatbots = { { mdn = "0212345678",
--   subTitle = "대표번호" } }, subNumCertificate = "cert.pdf" })
-- if not res and err.sent then print("unknown outcome: look at the brand's chatbots first") end

--- What every client has, KOS and RCS alike; `tostring(client)` never shows a secret.
-- @type client
-- @usage print(rcs)   --> bizreg.rcs (https://api.rcsbizcenter.com/api/1.1)

--- The non-blocking form of any method of `kos_client` or `rcs_client`: returns a `job` at once.
-- Wrong argument types raise here, like the blocking call; validation errors finish the job
-- at once. Not with a custom `transport` (call the method directly there).
-- @function client:start
-- @string name `"register_visitor_images"`, `"search_visitors"`, `"register_brand"`, `"resubmit_brand"`,
--   `"register_chatbots"`, `"get_brand"`, `"list_brands"`, `"find_brands"`, `"brand_categories"`,
--   `"wait_for_approval"`, `"list_chatbots"`, `"get_chatbot"`, `"update_chatbot"`, `"delete_chatbot"` or
--   `"cancel_chatbot"` (not `each_brand`, `each_chatbot`)
-- @param ... the method's arguments
-- @treturn job
-- @usage local job = rcs:start("register_brand", payload)
-- while not job.done do bizreg.poll(0.05) end
-- local res, err = job:result()

--- Releases the connection(s). Idempotent; also run by `__gc` and (Lua 5.4) `__close`.
-- A request already in flight finishes; a call waiting (back-off, a token fetch) ends with
-- `CLIENT_CLOSED` and sends nothing more: a sleeping job (a `wait_for_approval` interval, a
-- back-off) is woken and ends at the next `bizreg.poll`; `close()` from a callback
-- (`on_event`) makes that call return `nil, CLIENT_CLOSED`. Calling a method afterwards raises.
-- @function client:close
-- @usage do local kos <close> = bizreg.kos(opts) ... end   -- Lua 5.4
-- kos:close()

return bizreg
