-- The batch journal of `bizreg register images`: JSON Lines, append-only. Each record is
-- flushed and fsync'd before the command goes on, so a crash, a kill or Ctrl-C loses
-- nothing it already wrote. A batch is marked "sending" BEFORE its request leaves: a
-- "sending" with no outcome after it means the process died while the request may have
-- arrived, which is an unknown outcome, never "not registered".
--
--   {"bizreg_journal":1,"kind":"visitor-images","file":"x.jsonl","images":1000,"batch":100,"created":"…"}
--   {"batch":3,"first":201,"last":300,"hash":"…","state":"sending","at":"…"}
--   {"batch":3,"state":"registered","at":"…"}           (or "failed" / "unknown", with "error")
local core = require "bizreg.core"
local json = require "bizreg.cli.json"
local load = require "bizreg.cli.load"

local M = {}

local os_cli = core.cli and core.cli() or {}

local function now() return os.date("!%Y-%m-%dT%H:%M:%SZ") end

local J = {}
J.__index = J

-- exists, size, last byte
local function exists(path)
  local f = io.open(path, "rb")
  if not f then return false end
  local size = f:seek("end")
  local last
  if size > 0 then
    f:seek("set", size - 1)
    last = f:read(1)
  end
  f:close()
  return true, size, last
end

-- Reads a journal. Returns { header, batches = { [n] = { state, first, last, hash, error } },
-- warnings } or nil, message. A torn line (a crash mid-write; appending goes on after it on a
-- new line) is skipped with a warning: a torn "registered" leaves that batch "sending", i.e.
-- unknown and held back; a torn "sending" means its request had not left yet.
function M.read(path)
  local text, err = load.read(path)
  if not text then return nil, err end
  local r = { batches = {}, warnings = {} }
  local lines = {}
  for line in text:gmatch("[^\n]+") do lines[#lines + 1] = line end
  for i, line in ipairs(lines) do
    local rec = json.decode(line)
    if type(rec) ~= "table" then
      if i == 1 then return nil, path .. ": not a bizreg image journal" end
      r.warnings[#r.warnings + 1] = path .. ": skipping line " .. i .. ", an incomplete record (a crash while writing it)"
    elseif i == 1 then
      if rec.bizreg_journal ~= 1 or rec.kind ~= "visitor-images" then
        return nil, path .. ": not a bizreg image journal"
      end
      r.header = rec
    elseif type(rec.batch) == "number" then
      local b = r.batches[rec.batch] or {}
      r.batches[rec.batch] = b
      b.state = rec.state
      if rec.hash then b.first, b.last, b.hash = rec.first, rec.last, rec.hash end
      b.error = rec.error
      b.by = rec.by
    end
  end
  if not r.header then return nil, path .. ": empty journal" end
  -- the process died during the request: it may have arrived
  for _, b in pairs(r.batches) do
    if b.state == "sending" then b.state, b.interrupted = "unknown", true end
  end
  return r
end

-- Opens path for appending. fresh: the file must not exist yet (or be empty).
-- scrub: applied to every line written (the journal never holds a secret either).
function M.open(path, fresh, scrub)
  local there, size, last = exists(path)
  if fresh and there and size > 0 then
    return nil, path .. " already exists: continue it with --resume " .. path .. ", or remove it to start over"
  end
  local f, err = io.open(path, "ab")
  if not f then return nil, err end
  local self = setmetatable({ path = path, f = f, scrub = scrub }, J)
  if last and last ~= "\n" then f:write("\n") end  -- a torn last line stays a line of its own
  if not there then
    -- the new directory entry must survive a crash too
    local ok, ferr = self:sync(load.dirname(path))
    if not ok then f:close() return nil, ferr end
  end
  return self
end

function J:sync(path)
  if not os_cli.fsync then return true end
  return os_cli.fsync(path or self.path)
end

-- Appends one record and makes it durable before returning.
function J:write(obj)
  local line = json.encode(obj)
  if self.scrub then line = self.scrub(line) end
  local ok, err = self.f:write(line, "\n")
  if ok then ok, err = self.f:flush() end
  if ok then ok, err = self:sync() end
  if not ok then return nil, self.path .. ": " .. tostring(err) end
  return true
end

function J:header(file, images, batch)
  return self:write(json.obj("bizreg_journal", 1, "kind", "visitor-images", "file", file,
    "images", images, "batch", batch, "created", now()))
end

function J:sending(b)
  return self:write(json.obj("batch", b.n, "first", b.first, "last", b.last, "hash", b.hash,
    "state", "sending", "at", now()))
end

function J:outcome(b, state, err_obj, by)
  return self:write(json.obj("batch", b.n, "first", b.first, "last", b.last, "hash", b.hash, "state", state,
    "by", by, "error", err_obj, "at", now()))
end

function J:close()
  if self.f then self.f:close() self.f = nil end
end

return M
