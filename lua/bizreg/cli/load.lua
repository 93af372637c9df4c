-- Reading the operator's files: a brand package (JSON, or Lua returning a table) whose
-- file entries are relative to the package's directory, and visitor images (a JSON
-- payload, a JSON array, or JSON Lines with one image per line).
local json = require "bizreg.cli.json"

local M = {}

-- The RCS multipart file parts (docs/validation.md).
M.FILE_KEYS = { "brandProfile", "brandBackground", "subNumCertificate" }

function M.read(path)
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  -- a regular file is read in one piece of its size (read("*a") grows a buffer 4 KiB at a
  -- time: a 5 MiB file was 1,300 reads and as many copies); anything else as a stream
  local size = f:seek("end")
  local s = size and f:seek("set") and f:read(size) or f:read("*a")
  if s and size and #s == size and f:read(0) then s = s .. f:read("*a") end  -- it grew meanwhile
  f:close()
  if not s then return nil, path .. ": cannot read" end
  return s
end

function M.dirname(path)
  return path:match("^(.*)/[^/]*$") or "."
end

function M.resolve(dir, p)
  if p:sub(1, 1) == "/" or dir == "." then return p end
  return dir .. "/" .. p
end

local function load_lua(path)
  local chunk, err = loadfile(path)
  if not chunk then return nil, err end
  local ok, v = pcall(chunk)
  if not ok then return nil, path .. ": " .. tostring(v) end
  if type(v) ~= "table" then return nil, path .. ": must return a table (got " .. type(v) .. ")" end
  return v
end

-- Returns payload, paths (file key -> path as resolved) or nil, message.
function M.brand(path)
  local payload, err
  if path:match("%.lua$") then
    payload, err = load_lua(path)
    if not payload then return nil, err end
  else
    local text
    text, err = M.read(path)
    if not text then return nil, err end
    payload, err = json.decode(text)
    if payload == nil then return nil, path .. ": invalid JSON: " .. tostring(err) end
    if type(payload) ~= "table" or payload[1] ~= nil then
      return nil, path .. ": must be a JSON object with regBrand, chatbots and the files"
    end
  end
  local dir, paths = M.dirname(path), {}
  for _, k in ipairs(M.FILE_KEYS) do
    local v = payload[k]
    if type(v) == "string" and v ~= "" then
      payload[k] = M.resolve(dir, v)
      paths[k] = payload[k]
    elseif type(v) == "table" and type(v.path) == "string" and v.path ~= "" then
      v.path = M.resolve(dir, v.path)
      paths[k] = v.path
    end
  end
  return payload, paths
end

local function is_array(v) return type(v) == "table" and (v[1] ~= nil or next(v) == nil) end

-- Returns { items = {...}, lines = {...} | nil, problems = {...}, text = the file's bytes as
-- read } or nil, message. problems are violations found while reading (bad JSON lines,
-- unknown top-level keys).
function M.images(path)
  local text, err = M.read(path)
  if not text then return nil, err end
  local r = { items = {}, problems = {}, text = text }
  local jsonl = path:match("%.jsonl$") or path:match("%.ndjson$")
  if not jsonl then
    local doc, derr = json.decode(text)
    local _, nl = text:gsub("\n%s*%S", "")
    if doc == nil and nl == 0 then return nil, path .. ": invalid JSON: " .. tostring(derr) end
    if doc ~= nil then
      if is_array(doc) then
        r.items = doc
      elseif type(doc) == "table" and doc.images == nil and (doc.fileName ~= nil or doc.visitorId ~= nil) then
        r.items = { doc }  -- JSON Lines with a single image
      elseif type(doc) == "table" then
        for k in pairs(doc) do
          if k ~= "images" then r.problems[#r.problems + 1] = { key = tostring(k), reason = "UnknownField" } end
        end
        if type(doc.images) == "table" then r.items = doc.images
        elseif doc.images == nil or doc.images == json.null then r.problems[#r.problems + 1] = { key = "images", reason = "Required" }
        else r.problems[#r.problems + 1] = { key = "images", reason = "InvalidType" } end
      else
        return nil, path .. ": must hold {\"images\": [...]}, a JSON array of images, or JSON Lines"
      end
      return r
    end
  end
  r.lines = {}
  local n = 0
  local pos, len = 1, #text
  while pos <= len do  -- line by line, without a copy of the text
    local nl = text:find("\n", pos, true) or len + 1
    local line = text:sub(pos, nl - 1)
    pos = nl + 1
    n = n + 1
    if line:find("%S") then
      local item, lerr = json.decode(line, "line")
      if type(item) == "table" and not is_array(item) then
        r.items[#r.items + 1] = item
        r.lines[#r.items] = n
      else
        local msg = item == nil and (tostring(lerr):gsub(" %(line 1, column", " (column")) or "not a JSON object"
        r.problems[#r.problems + 1] = { key = "line " .. n, reason = item == nil and "InvalidJSON" or "InvalidType",
          message = msg }
      end
    end
  end
  return r
end

return M
