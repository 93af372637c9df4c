-- bizreg check brand FILE / bizreg register brand FILE: one RCS brand package. M.send
-- sends any RCS multipart package (register chatbots too: cli/chatbots.lua).
local bizreg = require "bizreg"
local core = require "bizreg.core"
local json = require "bizreg.cli.json"
local fmt = require "bizreg.cli.fmt"
local load = require "bizreg.cli.load"
local env = require "bizreg.cli.env"
local dryrun = require "bizreg.cli.dryrun"
local multipart = require "bizreg.cli.multipart"
local outcome = require "bizreg.cli.outcome"

local M = {}

-- "regBrand.menus[2].weblink  Required  64336  required value: [weblink]"
local function violation_line(p, paths)
  local s = tostring(p.key) .. "  " .. tostring(p.reason)
  if p.code then s = s .. "  " .. p.code end
  if p.message then s = s .. "  " .. p.message end
  if p.reason == "Unreadable" and paths[p.key] then s = s .. "  (" .. paths[p.key] .. ")" end
  return s
end

local function violations_json(props)
  local list = json.array()
  for _, p in ipairs(props) do
    list[#list + 1] = json.obj("key", p.key, "reason", p.reason, "code", p.code, "message", p.message)
  end
  return list
end

-- Loads and validates. Returns payload, req, paths or nil, exit code (after printing).
-- prep: payload -> req | nil, err (default bizreg.prepare_brand).
local function prepare(ui, file, prep)
  local payload, paths = load.brand(file)
  if not payload then
    ui:err("bizreg: " .. paths)
    return nil, paths:find("No such file", 1, true) and outcome.USAGE or outcome.FAILED
  end
  local req, err = (prep or bizreg.prepare_brand)(payload)
  if not req then
    local props = err.errorProperties or {}
    if #props == 0 then props = { { key = "(body)", reason = "Invalid", message = err.message } } end
    for _, p in ipairs(props) do ui:result(violation_line(p, paths)) end
    ui:result(nil, json.obj("ok", false, "file", file, "violations", violations_json(props)), json.encode)
    ui:err(string.format("bizreg: %s: %d violation%s; nothing was sent", file, #props, #props == 1 and "" or "s"))
    return nil, outcome.FAILED
  end
  return payload, req, paths
end

-- "  brandProfile        33,348 bytes  png   512x512    profile.png"
local function part_text(p)
  if not p.filename then return string.format("  %-18s %10s bytes  json", p.name, fmt.int(p.size)) end
  local dims = p.width and string.format("%dx%d", p.width, p.height) or ""
  return string.format("  %-18s %10s bytes  %-5s %-10s %s", p.name, fmt.int(p.size), p.detected or "?", dims, p.filename)
end

function M.check(ui, file)
  local _, req = prepare(ui, file)
  if not _ then return req end
  local ct = req.headers["Content-Type"]
  local parts = multipart.parts(req.body, ct)
  local list = json.array()
  ui:result("ok  " .. file)
  for _, p in ipairs(parts) do
    ui:result(part_text(p))
    list[#list + 1] = json.obj("name", p.name, "size", p.size, "filename", p.filename, "content_type", p.content_type,
      "detected", p.detected, "width", p.width, "height", p.height)
  end
  ui:result(string.format("  request body %s bytes (%s)", fmt.int(#req.body), ct:match("^[^;]+")))
  ui:result(nil, json.obj("ok", true, "file", file, "parts", list, "body_size", #req.body), json.encode)
  return outcome.OK
end

local function error_lines(ui, err)
  for _, p in ipairs(err.errorProperties or {}) do ui:result("    " .. violation_line(p, {})) end
end

-- Sends one package FILE. op: { label (dry-run note), method, path, prepare (as for
-- prepare()), call = fn(client, payload) -> res | nil, err, done = fn(res, elapsed, file) -> the
-- result line and its JSON object, unknown = what to check before sending again, client_opts =
-- options for the client (person_id: brand update) }.
function M.send(ui, file, o, op)
  local payload, req = prepare(ui, file, op.prepare)
  if not payload then return req end
  local copts, err = env.rcs(os.getenv, { timeout = o.timeout }, o["dry-run"])
  if not copts then ui:err("bizreg: " .. err) return outcome.USAGE end

  if o["dry-run"] then
    local r = dryrun.request(copts.base_url, req, op.method, op.path)
    dryrun.print(ui, r, { op.label .. " " .. file, dryrun.auth_note("rcs", copts) })
    ui:result(nil, json.obj("file", file, "request", dryrun.json(r)), json.encode)
    return outcome.OK
  end

  for k, v in pairs(op.client_opts or {}) do copts[k] = v end
  if ui.verbose_on then copts.on_event = function(ev) ui:event(ev) end end
  local total = #req.body
  ui:progress_start { unit = "bytes", total = total, label = "upload" }
  copts.on_progress = function(sent) ui:progress(sent) end
  local client, cerr = env.client(bizreg.rcs, copts, ui)
  if not client then ui:progress_end() ui:err("bizreg: " .. cerr) return outcome.USAGE end

  local t0 = core.now()
  local res, rerr = op.call(client, payload)
  local elapsed = math.floor((core.now() - t0) * 1000 + 0.5) / 1000
  client:close()
  ui:progress_end()
  if res then
    ui:result(op.done(res, elapsed, file))
    return outcome.OK
  end
  if outcome.interrupted(rerr) then error("interrupted!", 0) end
  return outcome.write_failed(ui, rerr, op.unknown, { key = "file", value = file, elapsed = elapsed, lines = error_lines })
end

function M.register(ui, file, o)
  local op = { label = "brand", method = "POST", path = "/corp/brand",
    call = function(client, payload) return client:register_brand(payload) end,
    unknown = "the brand may have been created. Check the brand list in RCS Biz Center before registering again." }
  if o.resubmit then
    op.method, op.path = "PUT", "/corp/brand/" .. o.resubmit
    op.call = function(client, payload) return client:resubmit_brand(o.resubmit, payload) end
  end
  function op.done(res, elapsed)
    return string.format("registered  brandId %s  (status %s, code %s, %s)", tostring(res.brandId),
      tostring(res.status), tostring(res.code), fmt.seconds(elapsed)),
      json.obj("file", file, "state", "registered", "brandId", res.brandId, "status", res.status, "code", res.code,
        "elapsed", elapsed), json.encode
  end
  return M.send(ui, file, o, op)
end

return M
