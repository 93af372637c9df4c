-- The batch journal of `bizreg register images`: a ledger with one owner. JSON Lines,
-- append-only, mode 0600. Each record is written and fsync'd before the command goes on, so
-- a crash, a kill or Ctrl-C loses nothing it already wrote. A batch is marked "sending"
-- BEFORE its request leaves: a "sending" with no outcome after it means the process died
-- while the request may have arrived, which is an unknown outcome, never "not registered".
--
--   {"bizreg_journal":3,"kind":"visitor-images","file":"x.jsonl","images":1000,"batch":100,
--    "size":81234,"sha256":"…","created":"…"}
--   {"owner":4242,"at":"…"}                              (each run that holds it)
--   {"batch":3,"first":201,"last":300,"hash":"…","state":"sending","at":"…"}
--   {"batch":3,…,"state":"registered","at":"…"}          (or "failed" / "unknown", with "error")
--
-- One owner: the run holds an exclusive lock (flock, src/cli.c) on the journal from before
-- it reads it until it ends; a second run on the same journal stops at once (exit 2). A new
-- journal is created with O_EXCL, so of two runs starting together only one gets it.
-- Nothing is trusted: every field of every record is checked (types, ranges, the batch's
-- place in the file) before anything is sent; a journal that does not fit is refused, never
-- repaired.
local core = require "bizreg.core"
local json = require "bizreg.cli.json"
local load = require "bizreg.cli.load"

local M = {}

M.VERSION = 3   -- 3: a batch's hash is the SHA-256 of its request body
M.MAX_IMAGES = 2 ^ 31 - 1   -- header ranges: anything beyond is not a journal bizreg wrote
M.MAX_BATCH = 1000000

local os_cli = core.cli and core.cli() or {}

local function now() return os.date("!%Y-%m-%dT%H:%M:%SZ") end


-- SHA-256 of s, in hex: a file's identity in the header (of the text its batches were made
-- from), a batch's (of its request body) in each record.
function M.digest(s)
  local d = core.sha256(s)
  return string.format(string.rep("%02x", #d), d:byte(1, -1))
end

local function int_in(v, lo, hi)
  return type(v) == "number" and v == math.floor(v) and v >= lo and v <= hi
end

local function str(v, pattern) return type(v) == "string" and v ~= "" and (not pattern or v:find(pattern) ~= nil) end

-- The header, field by field: nil (valid) or what is wrong.
local HEADER = {
  { "bizreg_journal", function(v) return v == M.VERSION end, "must be " .. M.VERSION },
  { "kind", function(v) return v == "visitor-images" end, "must be \"visitor-images\"" },
  { "file", function(v) return str(v) end, "must be the file's name" },
  { "images", function(v) return int_in(v, 1, M.MAX_IMAGES) end, "must be a whole number of images >= 1" },
  { "batch", function(v) return int_in(v, 1, M.MAX_BATCH) end, "must be a whole number 1.." .. M.MAX_BATCH },
  { "size", function(v) return int_in(v, 0, 2 ^ 53) end, "must be the file's size in bytes" },
  { "sha256", function(v) return str(v, "^%x+$") and #v == 64 end, "must be the file's SHA-256 (64 hex digits)" },
  { "created", function(v) return str(v) end, "must be a date" },
}

local function check_header(h)
  if type(h) ~= "table" or (h.bizreg_journal == nil and h.kind == nil) then return "not a bizreg image journal" end
  if h.bizreg_journal ~= M.VERSION and int_in(h.bizreg_journal, 1, M.VERSION - 1) then
    return "written by an older bizreg (journal version " .. h.bizreg_journal .. "): finish it with that version"
  end
  for _, row in ipairs(HEADER) do
    if not row[2](h[row[1]]) then return "header field " .. row[1] .. " " .. row[3] end
  end
  return nil
end

local STATES = { sending = true, registered = true, failed = true, unknown = true }

-- One batch record against the header: nil (valid) or what is wrong.
local function check_record(rec, h, count)
  if not int_in(rec.batch, 1, count) then return "batch must be a whole number 1.." .. count end
  if not STATES[rec.state] then return "state must be sending, registered, failed or unknown" end
  local first = (rec.batch - 1) * h.batch + 1
  local last = math.min(rec.batch * h.batch, h.images)
  if rec.first ~= first or rec.last ~= last then
    return string.format("batch %d must hold images %d-%d", rec.batch, first, last)
  end
  if not (str(rec.hash, "^%x+$") and #rec.hash == 64) then return "hash must be the body's SHA-256 (64 hex digits)" end
  if rec.by ~= nil and rec.by ~= "operator" then return "by must be \"operator\"" end
  if rec.error ~= nil and type(rec.error) ~= "table" then return "error must be an object" end
  if rec.at ~= nil and type(rec.at) ~= "string" then return "at must be a date" end
  return nil
end

-- A line that is not JSON is a record cut short by a crash only if it is the start of one:
-- a proper prefix of a JSON object. A changed byte, or two records run together, is damage.
local STOP = {}  -- raised when the text ends inside a value: a prefix
local function cut_short(line)
  local i, n = 1, #line
  local function peek()
    if i > n then error(STOP, 0) end
    return line:sub(i, i)
  end
  local function ws() i = line:find("[^ \t\r]", i) or n + 1 end
  local function expect(c)
    if peek() ~= c then error("damaged", 0) end
    i = i + 1
  end
  local value
  local function string_()
    expect('"')
    while true do
      local c = peek()
      i = i + 1
      if c == '"' then return end
      if c == "\\" then
        c = peek()
        i = i + 1
        if c == "u" then
          for _ = 1, 4 do if not peek():find("%x") then error("damaged", 0) end i = i + 1 end
        elseif not ('"\\/bfnrt'):find(c, 1, true) then error("damaged", 0) end
      elseif c:byte() < 32 then error("damaged", 0) end
    end
  end
  local function container(open, close, member)
    expect(open)
    ws()
    if peek() == close then i = i + 1 return end
    while true do
      ws()
      member()
      ws()
      local c = peek()
      i = i + 1
      if c == close then return end
      if c ~= "," then error("damaged", 0) end
    end
  end
  local function pair() string_() ws() expect(":") value() end
  function value()
    ws()
    local c = peek()
    if c == "{" then container("{", "}", pair)
    elseif c == "[" then container("[", "]", value)
    elseif c == '"' then string_()
    elseif c:find("[%-%d]") then
      local e = line:find("[^%-+%d%.eE]", i) or n + 1
      local token = line:sub(i, e - 1)
      i = e
      if i > n then error(STOP, 0) end
      if not token:find("^%-?%d+%.?%d*[eE]?[%-+]?%d*$") then error("damaged", 0) end
    else
      for _, word in ipairs { "true", "false", "null" } do
        if c == word:sub(1, 1) then
          for k = 1, #word do expect(word:sub(k, k)) end
          return
        end
      end
      error("damaged", 0)
    end
  end
  local ok, e = pcall(function()
    ws()
    if peek() ~= "{" then error("damaged", 0) end
    value()
  end)
  return not ok and e == STOP  -- (complete but not JSON, e.g. trailing bytes: damaged)
end

-- Reads a journal. Returns { header, count, batches = { [n] = { state, first, last, hash,
-- error, by, interrupted } }, owner, warnings, torn } or nil, message. A record cut short by a
-- crash is skipped with a warning: a torn "registered" leaves that batch "sending", i.e.
-- unknown and held back; a torn "sending" means its request had not left yet. Such a line can
-- only be the last one, or be followed by the owner record of the run that went on after the
-- crash; any other line must be a valid record, or the journal is refused.
M.UNSTARTED = "no complete header: its run stopped before its first request, nothing was sent; "
  .. "run the command without --resume to start over"

function M.parse(text, path)
  if not text:find("\n") then return nil, path .. ": " .. M.UNSTARTED end
  local r = { batches = {}, warnings = {} }
  local n, pending = 0, nil  -- pending: the line number of a torn record not yet accounted for
  for line in text:gmatch("[^\n]+") do
    n = n + 1
    local rec, derr = json.decode(line)
    local torn = derr ~= nil and n > 1 and cut_short(line)
    -- (a run that went on after a crash may itself have died writing its owner record)
    if pending and not torn and (derr or type(rec) ~= "table" or rec.owner == nil) then
      return nil, path .. ": line " .. pending .. ": a damaged record (only the last record can be cut short by a crash)"
    end
    pending = nil
    if n == 1 then
      local why = check_header(rec)
      if why then return nil, path .. ": " .. why end
      r.header, r.count = rec, math.ceil(rec.images / rec.batch)
    elseif torn then
      r.warnings[#r.warnings + 1] = path .. ": skipping line " .. n .. ", an incomplete record (a crash while writing it)"
      pending = n
    elseif derr then
      return nil, path .. ": line " .. n .. ": a damaged record"
    elseif type(rec) ~= "table" then
      return nil, path .. ": line " .. n .. ": not a journal record"
    elseif rec.owner ~= nil then
      if not int_in(rec.owner, 1, 2 ^ 31) then return nil, path .. ": line " .. n .. ": owner must be a process id" end
      r.owner = rec
    else
      local why = check_record(rec, r.header, r.count)
      if why then return nil, path .. ": line " .. n .. ": " .. why end
      local b = r.batches[rec.batch] or {}
      if b.state == "registered" then
        return nil, path .. ": line " .. n .. ": batch " .. rec.batch .. " was recorded as registered before"
      end
      r.batches[rec.batch] = b
      b.state, b.first, b.last, b.hash, b.error, b.by = rec.state, rec.first, rec.last, rec.hash, rec.error, rec.by
    end
  end
  if not r.header then return nil, path .. ": empty journal" end
  r.torn = text:sub(-1) ~= "\n"
  -- the process died during the request: it may have arrived
  for _, b in pairs(r.batches) do
    if b.state == "sending" then b.state, b.interrupted = "unknown", true end
  end
  return r
end

-- A journal whose header never got its line end was left by a run that stopped before its
-- first request (the header is written before any "sending" record, and that record is on
-- disk before its request leaves). For a new run: removed under its lock, so the run can
-- start: "removed" | "absent" | "journal" (a real one) | nil, message (in use).
local SIGN = '{"bizreg_journal":'

-- Only what bizreg itself may have left: empty, or the start of its header (never some other
-- file a --journal option happened to name).
local function unstarted(text)
  return text ~= nil and not text:find("\n") and text:sub(1, #SIGN) == SIGN:sub(1, #text)
end

function M.remove_unstarted(path)
  local text = load.read(path)
  if not text then return "absent" end
  if not unstarted(text) then return "journal" end
  local j, err = M.open(path)
  if not j then return nil, err end
  text = load.read(path)  -- again, now that no run can write it
  local state = "journal"
  if unstarted(text) then
    os.remove(path)
    state = "removed"
  end
  j:close()
  return state
end

function M.read(path)
  local text, err = load.read(path)
  if not text then return nil, err end
  return M.parse(text, path)
end

local J = {}
J.__index = J

local function busy(path)
  local r = M.read(path)
  local who = r and r.owner and string.format(" (pid %d, since %s)", r.owner.owner, tostring(r.owner.at)) or ""
  return path .. " is in use by another bizreg run" .. who .. ": one run per journal; wait for it to end"
end

local function lock(self)
  local ok, err = self.h:lock()
  if ok == nil then return nil, self.path .. ": " .. tostring(err) end
  if not ok then return nil, busy(self.path) end
  return true
end

-- Opens an existing journal for --resume and takes the lock: j | nil, message. Read it
-- (M.read) only after this returns: what it says cannot change while the lock is held.
function M.open(path, scrub)
  if not os_cli.journal then return nil, "this bizreg core has no journal support (rebuild it)" end
  local h, err = os_cli.journal(path, false)
  if not h then return nil, err end
  local self = setmetatable({ path = path, h = h, scrub = scrub }, J)
  local ok, lerr = lock(self)
  if not ok then h:close() return nil, lerr end
  return self
end

-- Creates a new journal (it must not exist), locks it and writes its header and owner:
-- j | nil, message. head: { file, images, batch, size, sha256 }.
function M.create(path, scrub, head)
  if not os_cli.journal then return nil, "this bizreg core has no journal support (rebuild it)" end
  local h, err, code = os_cli.journal(path, true)
  if not h then
    if code == "EEXIST" then
      return nil, path .. " already exists: continue it with --resume " .. path .. ", or remove it to start over"
    end
    return nil, err
  end
  local self = setmetatable({ path = path, h = h, scrub = scrub, created = true }, J)
  local ok, lerr = lock(self)  -- a --resume that opened it in between holds it
  if not ok then self:close() return nil, lerr end
  -- the new directory entry must survive a crash too
  ok, lerr = os_cli.fsync(load.dirname(path))
  if not ok then
    lerr = "cannot write the journal: " .. tostring(lerr)
  else
    -- (not fsync'd by itself: the first "sending" record's fsync takes it to disk before any
    -- request leaves; lost before that, nothing was sent)
    ok, lerr = self:write_lines({
      json.obj("bizreg_journal", M.VERSION, "kind", "visitor-images", "file", head.file, "images", head.images,
        "batch", head.batch, "size", head.size, "sha256", head.sha256, "created", now()),
      json.obj("owner", head.pid, "at", now()) }, true)
  end
  if not ok then self:discard() return nil, lerr end  -- nothing was sent: leave nothing behind
  return self
end

-- Appends records in one write and one fsync: true | nil, message. nosync: written to the
-- kernel only (it survives a kill of this process); the next synced write, or close, makes it
-- durable. An outcome may wait so: if a power loss takes it, its batch reads as "sending",
-- i.e. unknown and held back, never as unsent. A "sending" record may not: it must be on disk
-- before its request leaves. So one fsync per batch.
function J:write_lines(objs, nosync)
  local out = {}
  -- a torn last line (a crash mid-write) stays a line of its own
  if self.torn then out[1] = "" end
  for _, obj in ipairs(objs) do
    local line = json.encode(obj)
    if self.scrub then line = self.scrub(line) end
    out[#out + 1] = line
  end
  local ok, err = self.h:append(table.concat(out, "\n") .. "\n", not nosync)
  if not ok then return nil, self.path .. ": " .. tostring(err) end
  self.torn, self.dirty = false, nosync
  return true
end

function J:write(obj, nosync) return self:write_lines({ obj }, nosync) end

function J:owner(pid) return self:write(json.obj("owner", pid, "at", now())) end

function J:sending(b)
  return self:write(json.obj("batch", b.n, "first", b.first, "last", b.last, "hash", b.hash,
    "state", "sending", "at", now()))
end

function J:outcome(b, state, err_obj, by)
  return self:write(json.obj("batch", b.n, "first", b.first, "last", b.last, "hash", b.hash, "state", state,
    "by", by, "error", err_obj, "at", now()), true)
end

-- A journal this run created and that holds nothing to resume (no batch registered or of
-- unknown outcome) is removed, still under the lock: running the command again is then
-- the same as resuming it, and nothing is left to trip over.
function J:discard()
  if self.created then os.remove(self.path) end
  self:close()
end

-- Closes it (letting go of the lock), the last outcomes made durable first: true | nil, message.
function J:close()
  local ok, err = true, nil
  if self.h then
    if self.dirty then
      ok, err = self.h:sync()
      if not ok then err = self.path .. ": " .. tostring(err) end
    end
    self.h:close()
    self.h = nil
  end
  return ok, err
end

return M
