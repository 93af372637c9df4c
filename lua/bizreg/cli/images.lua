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

local os_cli = core.cli and core.cli() or {}

M.DEFAULT_BATCH = require("bizreg.options").DEFAULTS.batch

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

-- Checks a journal against the file as it is now: true | nil, message. The journal must be
-- this file's: the same name and number of images (so every batch holds the same image
-- numbers); a batch it calls registered, or of unknown outcome, must still hold exactly the
-- same images. Only batches that failed (nothing registered) may have been fixed since.
local function check_journal(j, o, file, data, batches)
  local nitems = #data.items
  local h = j.header
  if o.batch and o.batch ~= h.batch then
    return nil, "the journal was written with --batch " .. h.batch .. ": resume with the same size (or leave --batch out)"
  end
  local base = function(p) return (p:match("[^/]*$")) end
  if base(h.file) ~= base(file) then
    return nil, "the journal is for " .. h.file .. ", not " .. file .. ": not guessing which images were sent"
  end
  if h.images ~= nitems then
    return nil, string.format("the journal is for %d images, %s now holds %d: not guessing which were sent "
      .. "(use a new journal for a new file)", h.images, file, nitems)
  end
  for n, rec in pairs(j.batches) do
    local b = batches[n]
    if (rec.state == "registered" or rec.state == "unknown") and (not b or b.hash ~= rec.hash) then
      return nil, string.format("the journal says batch %d (images %d-%d) was %s, but those images "
        .. "changed since; not guessing which were sent (use a new journal for a new file)", n,
        rec.first, rec.last, rec.state == "unknown" and "perhaps registered (unknown outcome)" or "registered")
    end
  end
  if data.size ~= h.size or data.sha256 ~= h.sha256 then  -- fine by the batches above: say so
    return true, file .. " changed since the journal was written (size, SHA-256); the batches it records as "
      .. "registered or unknown still hold the same images"
  end
  return true
end

-- --skip and --resend are the operator's word on a batch whose outcome is unknown, and on
-- nothing else: a registered batch is never sent again, one that failed or was never sent
-- is never marked registered. nil (fine) or the message.
local function check_decisions(o, prior, count)
  for _, opt in ipairs { "skip", "resend" } do
    local list = {}
    for n in pairs(o[opt] or {}) do list[#list + 1] = n end
    table.sort(list)
    for _, n in ipairs(list) do
      if o.skip and o.resend and o.skip[n] and o.resend[n] then
        return "batch " .. n .. " is in both --skip and --resend"
      end
      if not prior then return "--" .. opt .. " needs --resume JOURNAL: it decides batches of unknown outcome" end
      if n > count then return "--" .. opt .. " " .. n .. ": there are only " .. count .. " batches" end
      local b = prior.batches[n]
      if not b or b.state ~= "unknown" then
        return string.format("--%s %d: batch %d %s; --skip and --resend are only for batches whose outcome is "
          .. "unknown", opt, n, n, not b and "was never sent" or ("is " .. b.state))
      end
    end
  end
  return nil
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
    local v = batches_mod.violation(p, b.first, lines)
    ui:result("    " .. v.key .. (v.line and (" (line " .. v.line .. ")") or "") .. "  " .. tostring(p.reason))
  end
end

-- Sends one batch; returns state ("registered" | "failed" | "unknown"), err, elapsed.
-- --verbose: the client's on_event prints what goes over the wire; a header line says which batch.
local function send(ui, client, b, count)
  if ui.verbose_on then ui:err("# " .. label(b, count)) end
  local t0 = core.now()
  local res, err = client:send_prepared(b.req)  -- the bytes validated and hashed, encoded once
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
  -- jpath nil: this run created the journal and nothing was registered (nothing to resume)
  ui:result("batches: " .. table.concat(parts, ", ") .. (jpath and ("; journal " .. jpath) or "; no journal kept"))
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
  if (#lists.failed > 0 or #lists.not_sent > 0) and not jpath then
    ui:err("bizreg: nothing was registered: fix what failed, then run `bizreg register images " .. file .. "` again.")
  elseif #lists.failed > 0 or #lists.not_sent > 0 then
    ui:err("bizreg: fix what failed, then `bizreg register images " .. file .. " --resume " .. jpath
      .. "`: batches recorded as registered are skipped.")
  end
end

-- The batches to send (a resumed run keeps the journal's batch size) and what an earlier
-- run recorded: data, batches, count, prior (nil for a new run) | nil, exit code.
-- --resume: the journal is locked (j.resumed) before it is read, and stays locked.
local function plan(ui, file, o, run)
  local size, prior = o.batch or M.DEFAULT_BATCH, nil
  if o.resume then
    local j, err = journal.open(o.resume, function(s) return ui:scrub(s) end)
    if not j then ui:err("bizreg: " .. err) return nil, outcome.USAGE end
    run.j = j
    prior, err = journal.read(o.resume)
    if not prior then ui:err("bizreg: " .. err) return nil, outcome.USAGE end
    for _, w in ipairs(prior.warnings) do ui:err("bizreg: " .. w) end
    j.torn = prior.torn
    size = prior.header.batch
  else
    local jpath = o.journal or (file .. ".journal")
    local state, err = "absent", nil
    if not o["dry-run"] then state, err = journal.remove_unstarted(jpath) end
    if not state then ui:err("bizreg: " .. err) return nil, outcome.USAGE end
    if state == "removed" then ui:err("bizreg: note: removed " .. jpath .. ": " .. journal.UNSTARTED:match("^[^;]*")) end
    if state == "journal" then  -- early and friendly; journal.create's O_EXCL is the real check
      ui:err("bizreg: " .. jpath .. " already exists: continue it with --resume " .. jpath .. ", or remove it to start over")
      return nil, outcome.USAGE
    end
  end
  local data, batches, count = prepare(ui, file, size)
  if not data then return nil, batches end
  -- a batch is known by the SHA-256 of exactly the bytes that are sent for it; the file by
  -- those of the text its batches were made from (read once)
  for _, b in ipairs(batches) do b.hash = journal.digest(b.req.body) end
  data.size, data.sha256, data.text = #data.text, journal.digest(data.text), nil
  local why
  if prior then
    local ok
    ok, why = check_journal(prior, o, file, data, batches)
    if not ok then ui:err("bizreg: " .. why) return nil, outcome.USAGE end
    if why then ui:err("bizreg: note: " .. why) end
  end
  why = check_decisions(o, prior, count)
  if why then ui:err("bizreg: " .. why) return nil, outcome.USAGE end
  return data, batches, count, prior, size
end

local function dry_run(ui, o, batches, count, done, copts)
  done = done or {}
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

-- A new run's journal, created when its first request is about to go (so a run that could
-- not start leaves none behind): true | nil (said why; nothing was sent).
local function ensure_journal(run)
  if run.j then return true end
  local j, err = journal.create(run.jpath, function(s) return run.ui:scrub(s) end, { file = run.file,
    images = #run.data.items, batch = run.size, size = run.data.size, sha256 = run.data.sha256, pid = os_cli.getpid() })
  if not j then  -- before the first request of a new run: nothing was sent
    run.ui:err("bizreg: " .. err)
    run.code = outcome.USAGE
    return nil
  end
  run.j = j
  return true
end

-- Sends batch b (recorded as sending first): state, text, extra, jok, jerr | nil when the
-- journal cannot be written before sending (nothing was sent).
local function send_batch(run, b)
  if not ensure_journal(run) then return nil end
  local ok, jwerr = run.j:sending(b)
  if not ok then
    run.ui:err("bizreg: cannot write the journal, so batch " .. b.n .. " was not sent: " .. jwerr)
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
  elseif o.skip and o.skip[b.n] then  -- (only an unknown batch of a resumed run: check_decisions)
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
  run.ui:progress_count(run.processed)  -- counted before the line, whose redraw of the bar shows it
  run.ui:result(label(b, run.count) .. "  " .. text, batch_json(b, state, extra), json.encode)
  if extra and extra.err then error_lines(run.ui, b, extra.err, run.data.lines) end
  if jok == nil and jerr then  -- the outcome happened but is not on disk: the operator must know
    run.ui:err("bizreg: cannot write the journal: " .. jerr .. "; batch " .. b.n .. " was " .. state)
    run.code = outcome.worst(run.code, outcome.UNKNOWN)
    return false
  end
  return true
end

-- Runs the batches (run.j: the locked journal of --resume, or nil until the first send).
local function run_batches(ui, file, o, run, copts)
  local data, batches, count, prior, size = plan(ui, file, o, run)
  if not data then return batches end
  local done = prior and prior.batches or {}
  if o["dry-run"] then return dry_run(ui, o, batches, count, done, copts) end
  if ui.verbose_on then copts.on_event = function(ev) ui:event(ev) end end
  local client, cerr = env.client(bizreg.kos, copts, ui)
  if not client then ui:err("bizreg: " .. cerr) return outcome.USAGE end
  if run.j then
    local ok, oerr = run.j:owner(os_cli.getpid())
    if not ok then ui:err("bizreg: cannot write the journal: " .. oerr) client:close() return outcome.FAILED end
  end

  for k, v in pairs { file = file, size = size, client = client, data = data, done = done, count = count,
    counts = {}, lists = { registered = {}, skipped = {}, failed = {}, unknown = {}, held = {}, not_sent = {} },
    code = outcome.OK, current = 0, processed = 0 } do  -- processed: images this run (and earlier ones)
    run[k] = v
  end
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
  local kept = run.j and not (run.j.created and #run.lists.registered == 0 and #run.lists.unknown == 0)
  if run.j and not kept then run.j:discard() end
  summary(ui, run.counts, run.lists, file, kept and run.jpath)
  if #run.lists.not_sent > 0 then run.code = outcome.worst(run.code, outcome.FAILED) end
  return run.code
end

function M.register(ui, file, o)
  -- credentials and options are checked before anything else happens
  local copts, err = env.kos(os.getenv, { timeout = o.timeout }, o["dry-run"])
  if not copts then ui:err("bizreg: " .. err) return outcome.USAGE end
  local run = { ui = ui, o = o, jpath = o.resume or o.journal or (file .. ".journal") }
  -- the journal is closed (its lock let go) however the run ends, an interruption included
  local ok, code = pcall(run_batches, ui, file, o, run, copts)
  if run.j then
    local cok, cerr = run.j:close()
    if not cok and ok then
      ui:err("bizreg: cannot write the journal: " .. cerr .. "; the last batches may read as unknown outcome")
      code = outcome.worst(code, outcome.UNKNOWN)
    end
  end
  if not ok then error(code, 0) end
  return code
end

return M
