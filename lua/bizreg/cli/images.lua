-- bizreg check images FILE / bizreg register images FILE: visitor images in batches.
local bizreg = require "bizreg"
local core = require "bizreg.core"
local json = require "bizreg.cli.json"
local fmt = require "bizreg.cli.fmt"
local load = require "bizreg.cli.load"
local batches_mod = require "bizreg.cli.batches"
local journal = require "bizreg.cli.journal"
local env = require "bizreg.cli.env"
local dryrun = require "bizreg.cli.dryrun"
local outcome = require "bizreg.cli.outcome"

local M = {}

M.DEFAULT_BATCH = 100

-- Loads, splits and validates; prints every violation. Returns data, batches, count or
-- nil, exit code.
local function prepare(ui, file, size)
  local data, err = load.images(file)
  if not data then
    ui:err("bizreg: " .. err)
    return nil, outcome.USAGE
  end
  local batches, violations, count = batches_mod.split(data.items, size, data.lines)
  for i = #data.problems, 1, -1 do table.insert(violations, 1, data.problems[i]) end
  if #data.items == 0 and #data.problems == 0 then
    violations[#violations + 1] = { key = "images", reason = "Required", message = "no images in " .. file }
  end
  if #violations > 0 then
    local list = json.array()
    for _, v in ipairs(violations) do
      ui:result(batches_mod.line(v))
      list[#list + 1] = json.obj("key", v.key, "reason", v.reason, "message", v.message, "image", v.image, "line", v.line)
    end
    ui:result(nil, json.obj("ok", false, "file", file, "violations", list), json.encode)
    ui:err(string.format("bizreg: %s: %d violation%s; nothing was sent", file, #violations, #violations == 1 and "" or "s"))
    return nil, outcome.FAILED
  end
  return data, batches, count
end

function M.check(ui, file, o)
  local size = o.batch or M.DEFAULT_BATCH
  local data, batches, count = prepare(ui, file, size)
  if not data then return batches end
  local total, largest = 0, 0
  for _, b in ipairs(batches) do
    total = total + #b.req.body
    largest = math.max(largest, #b.req.body)
  end
  ui:result(string.format("ok  %s: %s images in %d request%s of up to %d (%s of JSON, largest request %s)",
    file, fmt.int(#data.items), count, count == 1 and "" or "s", size, fmt.bytes(total), fmt.bytes(largest)),
    json.obj("ok", true, "file", file, "images", #data.items, "batches", count, "batch", size,
      "bytes", total, "largest", largest), json.encode)
  return outcome.OK
end

---------------------------------------------------------------- resume

-- Checks a journal against the file as it is now. Returns the batch size to use, or
-- nil and a message: a batch the journal calls registered must still hold the same images.
local function check_journal(j, o, batches_for)
  local size = j.header.batch
  if o.batch and o.batch ~= size then
    return nil, "the journal was written with --batch " .. size .. ": resume with the same size (or leave --batch out)"
  end
  local batches = batches_for(size)
  for n, rec in pairs(j.batches) do
    local b = batches[n]
    if rec.state == "registered" and rec.hash then
      if not b or b.hash ~= rec.hash then
        return nil, string.format("the journal says batch %d (images %d-%d) was registered, but those images "
          .. "changed since; not guessing which were sent (use a new journal for a new file)", n,
          rec.first or 0, rec.last or 0)
      end
    end
  end
  return size
end

---------------------------------------------------------------- register

local function note(counts, lists, state, b)
  counts[state] = (counts[state] or 0) + 1
  lists[state][#lists[state] + 1] = b.n
end

local function label(b, count)
  return string.format("batch %d/%d  images %d-%d", b.n, count, b.first, b.last)
end

local function batch_json(b, state, extra)
  extra = extra or {}
  return json.obj("batch", b.n, "first", b.first, "last", b.last, "images", b.last - b.first + 1,
    "state", state, "elapsed", extra.elapsed, "error", extra.error, "reason", extra.reason)
end

-- A failed batch's violations, with image numbers relative to the whole file.
local function error_lines(ui, b, err, lines)
  for _, p in ipairs(err.errorProperties or {}) do
    local key = p.key
    if p.index then
      local n = b.first + p.index - 1
      key = "images[" .. n .. "]" .. (p.key ~= "" and ("." .. p.key) or "")
      if lines and lines[n] then key = key .. " (line " .. lines[n] .. ")" end
    end
    ui:result("    " .. key .. "  " .. tostring(p.reason))
  end
end

-- Sends one batch; returns state ("registered" | "failed" | "unknown"), err, elapsed.
-- --verbose: the client's on_event prints what goes over the wire; a header line says which batch.
local function send(ui, client, b, count)
  if ui.verbose_on then ui:err("# " .. label(b, count)) end
  local t0 = core.now()
  local res, err = client:register_visitor_images { images = b.items }
  local elapsed = math.floor((core.now() - t0) * 1000 + 0.5) / 1000
  if res then return "registered", nil, elapsed end
  if outcome.interrupted(err) then error("interrupted!", 0) end
  return (outcome.classify(err)), err, elapsed
end

local function summary(ui, counts, lists, file, jpath)
  local function part(name, key)
    local n = counts[key] or 0
    if n == 0 then return nil end
    local s = n .. " " .. name
    if lists[key] and #lists[key] > 0 and key ~= "registered" and key ~= "skipped" then
      s = s .. " (batch " .. table.concat(lists[key], ",") .. ")"
    end
    return s
  end
  local parts = {}
  for _, p in ipairs { { "registered", "registered" }, { "skipped (registered earlier)", "skipped" },
    { "failed", "failed" }, { "unknown outcome", "unknown" }, { "held back (unknown outcome earlier)", "held" },
    { "not sent", "not_sent" } } do
    parts[#parts + 1] = part(p[1], p[2])
  end
  ui:result("batches: " .. table.concat(parts, ", ") .. "; journal " .. jpath)
  local unknown = {}
  for _, n in ipairs(lists.unknown) do unknown[#unknown + 1] = n end
  for _, n in ipairs(lists.held) do unknown[#unknown + 1] = n end
  if #unknown > 0 then
    table.sort(unknown)
    local l = table.concat(unknown, ",")
    ui:err("bizreg: batch " .. l .. ": unknown outcome: the request may have been registered. Check in KOS whether "
      .. "those images exist, then run `bizreg register images " .. file .. " --resume " .. jpath .. " --skip " .. l
      .. "` if they do, or `... --resend " .. l .. "` if they do not.")
  end
  if #lists.failed > 0 or #lists.not_sent > 0 then
    ui:err("bizreg: fix what failed, then `bizreg register images " .. file .. " --resume " .. jpath
      .. "`: batches recorded as registered are skipped.")
  end
end

-- The batches to send (a resumed run keeps the journal's batch size) and what an earlier
-- run recorded: data, batches, count, done | nil, exit code.
local function plan(ui, file, o)
  local size, prior = o.batch or M.DEFAULT_BATCH, nil
  if o.resume then
    local err
    prior, err = journal.read(o.resume)
    if not prior then ui:err("bizreg: " .. err) return nil, outcome.USAGE end
    for _, w in ipairs(prior.warnings) do ui:err("bizreg: " .. w) end
    size = prior.header.batch
  end
  local data, batches, count = prepare(ui, file, size)
  if not data then return nil, batches end
  for _, b in ipairs(batches) do
    b.items = {}
    for i = b.first, b.last do b.items[#b.items + 1] = data.items[i] end
  end
  if prior then
    local ok, why = check_journal(prior, o, function() return batches end)
    if not ok then ui:err("bizreg: " .. why) return nil, outcome.USAGE end
  end
  return data, batches, count, prior and prior.batches or {}, size
end

local function dry_run(ui, o, batches, count, done, copts)
  for _, b in ipairs(batches) do
    local r = dryrun.request(copts.base_url, b.req)
    local state = done[b.n] and done[b.n].state
    if state == "registered" or (o.skip and o.skip[b.n]) then
      ui:result("# " .. label(b, count) .. ": registered, would be skipped", batch_json(b, "skipped"), json.encode)
    elseif state == "unknown" and not (o.resend and o.resend[b.n]) then
      ui:result("# " .. label(b, count) .. ": unknown outcome earlier, would be held back", batch_json(b, "held"), json.encode)
    else
      dryrun.print(ui, r, { label(b, count), dryrun.auth_note("kos", copts) })
      ui:result(nil, json.obj("batch", b.n, "first", b.first, "last", b.last, "request", dryrun.json(r)), json.encode)
    end
  end
  return outcome.OK
end

-- The journal, opened (and headed, for a new run): j | nil.
local function open_journal(ui, file, o, jpath, nitems, size)
  local j, open_err = journal.open(jpath, not o.resume, function(s) return ui:scrub(s) end)
  if not j then ui:err("bizreg: " .. open_err) return nil end
  if not o.resume then
    local ok, herr = j:header(file, nitems, size)
    if not ok then ui:err("bizreg: " .. herr) j:close() return nil end
  end
  return j
end

-- Sends batch b (recorded as sending first): state, text, extra, jok, jerr | nil when the
-- journal cannot be written before sending (nothing was sent).
local function send_batch(run, b)
  local ok, jwerr = run.j:sending(b)
  if not ok then
    run.ui:err("bizreg: cannot write the journal: " .. jwerr)
    run.code = outcome.worst(run.code, outcome.FAILED)
    return nil
  end
  local st, serr, elapsed = send(run.ui, run.client, b, run.count)
  local extra = { elapsed = elapsed }
  local jok, jerr, text
  if st == "registered" then
    jok, jerr = run.j:outcome(b, "registered")
    text = "registered  " .. fmt.seconds(elapsed)
  else
    extra.error, extra.err = outcome.error_json(serr), serr
    jok, jerr = run.j:outcome(b, st, extra.error)
    run.code = outcome.worst(run.code, select(2, outcome.classify(serr)))
    text = (st == "unknown" and "UNKNOWN OUTCOME  " or "failed  ") .. outcome.describe(serr)
    if outcome.stops(serr) then run.stopped = b.n end
  end
  run.processed = run.processed + b.last - b.first + 1
  return st, text, extra, jok, jerr
end

-- One batch: skipped, held back, not sent, or sent. false: stop the run.
local function one_batch(run, b)
  local o, prev = run.o, run.done[b.n] and run.done[b.n].state
  local text, state, extra, jok, jerr
  run.current = b.n
  run.ui:progress(run.processed, true)  -- the bar names the batch being sent
  if prev == "registered" then
    state, text = "skipped", "skipped (registered in an earlier run)"
  elseif o.skip and o.skip[b.n] then
    state, text = "skipped", "skipped (--skip: recorded as registered)"
    jok, jerr = run.j:outcome(b, "registered", nil, "operator")
    run.processed = run.processed + b.last - b.first + 1
  elseif prev == "unknown" and not (o.resend and o.resend[b.n]) then
    state, text = "held", "held back: unknown outcome in an earlier run (--skip or --resend it)"
    run.code = outcome.worst(run.code, outcome.UNKNOWN)
  elseif run.stopped then
    state, text = "not_sent", "not sent (stopped after batch " .. run.stopped .. ")"
  else
    state, text, extra, jok, jerr = send_batch(run, b)
    if not state then return false end
  end
  note(run.counts, run.lists, state, b)
  run.ui:progress(run.processed)  -- counted before the line, whose redraw of the bar then shows it
  run.ui:result(label(b, run.count) .. "  " .. text, batch_json(b, state, extra), json.encode)
  if extra and extra.err then error_lines(run.ui, b, extra.err, run.data.lines) end
  if jok == nil and jerr then  -- the outcome happened but is not on disk: the operator must know
    run.ui:err("bizreg: cannot write the journal: " .. jerr .. "; batch " .. b.n .. " was " .. state)
    run.code = outcome.worst(run.code, outcome.UNKNOWN)
    return false
  end
  return true
end

function M.register(ui, file, o)
  local data, batches, count, done, size = plan(ui, file, o)
  if not data then return batches end
  local copts, err = env.kos(os.getenv, { timeout = o.timeout }, o["dry-run"])
  if not copts then ui:err("bizreg: " .. err) return outcome.USAGE end
  if o["dry-run"] then return dry_run(ui, o, batches, count, done, copts) end

  local jpath = o.resume or o.journal or (file .. ".journal")
  local j = open_journal(ui, file, o, jpath, #data.items, size)
  if not j then return outcome.USAGE end
  if ui.verbose_on then copts.on_event = function(ev) ui:event(ev) end end
  local client, cerr = env.client(bizreg.kos, copts, ui)
  if not client then ui:err("bizreg: " .. cerr) j:close() return outcome.USAGE end

  local run = { ui = ui, o = o, j = j, client = client, data = data, done = done, count = count,
    counts = {}, lists = { registered = {}, skipped = {}, failed = {}, unknown = {}, held = {}, not_sent = {} },
    code = outcome.OK, current = 0, processed = 0 }  -- processed: images this run (and earlier ones)
  for _, b in ipairs(batches) do
    if done[b.n] and done[b.n].state == "registered" then run.processed = run.processed + b.last - b.first + 1 end
  end
  ui:progress_start { unit = "images", total = #data.items, label = "images", done = run.processed,
    detail = function() return string.format("batch %d/%d", run.current, count) end }
  for _, b in ipairs(batches) do
    if not one_batch(run, b) then break end
  end
  ui:progress_end()
  client:close()
  j:close()
  summary(ui, run.counts, run.lists, file, jpath)
  if #run.lists.not_sent > 0 then run.code = outcome.worst(run.code, outcome.FAILED) end
  return run.code
end

return M
