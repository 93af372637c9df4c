-- Everything the command writes goes through here: result lines (stdout), messages and
-- --verbose events (stderr), and the progress display (a bar on a terminal, plain
-- periodic lines otherwise). Every string is scrubbed of the secrets first, so no code
-- path can print a token or key by accident.
local core = require "bizreg.core"
local fmt = require "bizreg.cli.fmt"
local safe_text = require "bizreg.cli.text"

local M = {}

local UI = {}
UI.__index = UI

local REDRAW = 0.1       -- seconds between bar redraws
M.LINE_EVERY = 2         -- seconds between plain progress lines

local os_cli = core.cli and core.cli() or {}

-- o: json, verbose, progress ("auto" | "bar" | "lines" | "off"), secrets (list),
--    stdout, stderr (file handles; tests may pass their own), now (clock)
function M.new(o)
  o = o or {}
  local self = setmetatable({
    json = o.json, verbose_on = o.verbose, secrets = {},
    stdout = o.stdout or io.stdout, stderr = o.stderr or io.stderr,
    now = o.now or core.now,
  }, UI)
  for _, s in ipairs(o.secrets or {}) do
    if type(s) == "string" and #s >= 4 then self.secrets[#self.secrets + 1] = s end
  end
  -- --json keeps stdout machine-readable: progress then goes to stderr
  local fd = o.json and 2 or 1
  self.pstream = o.json and self.stderr or self.stdout
  local mode = o.progress or "auto"
  if mode == "auto" then
    local tty = os_cli.isatty and os_cli.isatty(fd)
    mode = tty and "bar" or "lines"
  end
  self.pmode = mode
  self.columns = (os_cli.columns and os_cli.columns(fd)) or tonumber(os.getenv("COLUMNS") or "") or 80
  return self
end

-- Plain-text replacement of every secret (never a pattern: secrets may hold % or .).
function UI:scrub(s)
  s = tostring(s)
  for _, secret in ipairs(self.secrets) do
    local out, pos = {}, 1
    while true do
      local a, b = s:find(secret, pos, true)
      if not a then break end
      out[#out + 1] = s:sub(pos, a - 1)
      out[#out + 1] = "***"
      pos = b + 1
    end
    out[#out + 1] = s:sub(pos)
    s = table.concat(out)
  end
  return s
end

---------------------------------------------------------------- plain output

-- A bar occupies the current terminal line: wipe it before anything else is written.
function UI:clear_bar()
  if self.bar_shown then
    self.pstream:write("\r\27[K")
    self.pstream:flush()
    self.bar_shown = false
  end
end

local function write(self, stream, s)
  self:clear_bar()
  stream:write(safe_text.terminal(self:scrub(s)), "\n")  -- server text and input keys: no raw controls
  stream:flush()
  if self.active and self.pmode == "bar" then self:draw(true) end
end

function UI:out(s) write(self, self.stdout, s) end
function UI:err(s) write(self, self.stderr, s) end

-- Machine-readable mode prints only JSON lines on stdout; human mode only text.
function UI:result(text, obj, encode)
  if self.json then
    if obj then self:out(encode(obj)) end
  elseif text then
    self:out(text)
  end
end

---------------------------------------------------------------- --verbose events

local SECRET_HEADERS = { authorization = true, ["proxy-authorization"] = true, cookie = true, ["x-api-key"] = true }

-- Header value as printed: credentials redacted whatever they are (scheme kept).
function M.redact_header(name, value)
  if SECRET_HEADERS[tostring(name):lower()] then
    local scheme = tostring(value):match("^(%a+) ")
    return scheme and (scheme .. " ***") or "***"
  end
  return value
end

-- "k=v k=v" of an event's plain fields (for event types this command knows no layout of).
local function fields(ev)
  local keys, out = {}, {}
  for k, v in pairs(ev) do
    if k ~= "type" and type(v) ~= "table" and type(v) ~= "function" then keys[#keys + 1] = tostring(k) end
  end
  table.sort(keys)
  for _, k in ipairs(keys) do out[#out + 1] = k .. "=" .. tostring(ev[k]) end
  return table.concat(out, " ")
end

-- "fetched, expires in 3,600 s (at 2026-11-22T07:00:00Z)"; "renewed (rejected)" ...
local function token_text(ev)
  local s = tostring(ev.action) .. (ev.reason and (" (" .. tostring(ev.reason) .. ")") or "")
  if type(ev.expires_at) == "number" then
    s = s .. string.format(", expires in %s s (at %s)", fmt.int(ev.expires_in or 0), os.date("!%Y-%m-%dT%H:%M:%SZ", ev.expires_at))
  end
  return s
end

-- The library's debug events (bizreg.events: request, response, retry, token, error), one
-- or more lines each on stderr. The library has redacted them already; every line also
-- goes through scrub(), and credential headers through redact_header, all the same.
function UI:event(ev)
  if not self.verbose_on or type(ev) ~= "table" then return end
  local t = ev.type
  if t == "request" then
    local extra = { fmt.int(tonumber(ev.body_size) or 0) .. " bytes" }
    if ev.attempt and ev.attempt > 1 then extra[#extra + 1] = "attempt " .. ev.attempt end
    self:err("> " .. tostring(ev.method) .. " " .. tostring(ev.url) .. "  (" .. table.concat(extra, ", ") .. ")")
    local names = {}
    for k in pairs(ev.headers or {}) do names[#names + 1] = k end
    table.sort(names)
    for _, k in ipairs(names) do self:err(">   " .. k .. ": " .. M.redact_header(k, ev.headers[k])) end
  elseif t == "response" then
    self:err(string.format("< %s  %.3f s", tostring(ev.status), tonumber(ev.elapsed) or 0))
  elseif t == "retry" then
    self:err(string.format("~ retry: %s, attempt %s in %.2f s", tostring(ev.reason), tostring(ev.attempt), tonumber(ev.delay) or 0))
  elseif t == "token" then  -- never the token itself: the library leaves it out
    self:err("* token " .. token_text(ev))
  elseif t == "error" then
    self:err("! " .. tostring(ev.err))
  else
    self:err("* " .. tostring(t) .. " " .. fields(ev))
  end
end

---------------------------------------------------------------- progress

-- p: { unit = "bytes" | "images", total = n, label = text, detail = fn() -> text }
function UI:progress_start(p)
  if self.pmode == "off" then return end
  self.active = p
  p.start = self.now()
  p.done, p.base = p.done or 0, p.done or 0
  p.last_draw, p.last_line = 0, p.start
end

-- force: redraw the bar now (a batch starts or ends: never show the one before)
function UI:progress(done, force)
  local p = self.active
  if not p then return end
  if p.unit == "bytes" and not p.flowing then
    -- the rate counts from the first bytes on the wire, not from the token request before them
    p.flowing, p.start, p.base = true, self.now(), done
  end
  p.done = done
  if self.pmode == "bar" then
    self:draw(force)
  elseif self.now() - p.last_line >= M.LINE_EVERY then
    p.last_line = self.now()
    self.pstream:write(self:scrub("progress: " .. self:progress_text(false)), "\n")
    self.pstream:flush()
  end
end

-- Counts without drawing: a batch's images are counted before its result line, and that
-- line's redraw of the bar shows them; a redraw here, on a slow machine (> REDRAW since the
-- batch started), would show the count before the line that says why.
function UI:progress_count(done)
  if self.active then self.active.done = done end
end

-- Stops the display without a final redraw (errors, interrupts).
function UI:progress_abort()
  self.active = nil
  self:clear_bar()
end

function UI:progress_end()
  if not self.active then return end
  if self.pmode == "bar" then self:draw(true) end
  self:clear_bar()
  self.active = nil
end

local function amount(unit, n)
  if unit == "bytes" then return fmt.bytes(n) end
  return fmt.int(n)
end

-- "45%  450/1,000 images (5/10 batches)  312 images/s  ETA 0:02"
function UI:progress_text()
  local p = self.active
  local total = math.max(p.total, 1)
  local pct = math.floor(100 * math.min(p.done, total) / total)
  local elapsed = self.now() - p.start
  local rate = elapsed > 0.05 and (p.done - p.base) / elapsed or nil
  local parts = { string.format("%3d%%", pct) }
  if p.unit == "bytes" then
    parts[#parts + 1] = fmt.bytes(p.done) .. " / " .. fmt.bytes(p.total)
  else
    parts[#parts + 1] = fmt.int(p.done) .. "/" .. fmt.int(p.total) .. " " .. p.unit
  end
  if p.detail then parts[#parts + 1] = p.detail() end
  if rate and rate > 0 then
    parts[#parts + 1] = amount(p.unit, rate) .. (p.unit == "bytes" and "/s" or (" " .. p.unit .. "/s"))
    parts[#parts + 1] = "ETA " .. fmt.duration((p.total - p.done) / rate)
  else
    parts[#parts + 1] = "ETA --:--"
  end
  return table.concat(parts, "  ")
end

function UI:draw(force)
  local p = self.active
  if not p then return end
  local now = self.now()
  if not force and now - p.last_draw < REDRAW then return end
  p.last_draw = now
  local text = self:progress_text()
  local label = p.label and (p.label .. " ") or ""
  local width = math.max(10, math.min(40, self.columns - #label - #text - 4))
  if self.columns - #label - #text - 4 < 10 then width = 0 end  -- narrow terminal: text only
  local bar = ""
  if width > 0 then
    local fill = math.floor(width * math.min(p.done, p.total) / math.max(p.total, 1))
    bar = "[" .. string.rep("#", fill) .. string.rep(".", width - fill) .. "] "
  end
  local line = self:scrub(label .. bar .. text)
  if #line >= self.columns then line = line:sub(1, self.columns - 1) end  -- never wrap
  self.pstream:write("\r", line, "\27[K")
  self.pstream:flush()
  self.bar_shown = true
end

return M
