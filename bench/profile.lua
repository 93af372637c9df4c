-- Reads callgrind dump parts (one per measured region, see bench/shim.c) and tells where the
-- instructions went: self and inclusive cost per function.
--
-- Why not callgrind_annotate's own figures: the region starts deep inside the interpreter, so
-- every frame above it (main, lua_pcallk, luaV_execute, ...) shows 100 %, and with recursion
-- (walk_typed -> walk_typed'2) its inclusive column double counts (172 %). Here:
--   self(f)      = sum of f's own cost lines over every recursion level (f, f'2, ...)
--   inclusive(f) = sum of the call arcs into f's outermost level (callgrind names a call made
--                  while f is already on the stack f'2), so nested activations count once
-- and functions whose inclusive cost is the whole region (the frames above it) are marked.
local M = {}

local function base(name) return (name:gsub("'%d+$", "")) end

local function short_obj(path)
  local b = (path or "?"):match("([^/]+)$") or path
  if b:find("^lua5%.4%-sym") then return "lua" end
  if b:find("cjson") then return "cjson" end
  if b:find("socket") or b:find("mime") then return "luasocket" end
  return (b:gsub("%.so[%.%d]*$", ".so"))
end

-- label -> { file, total } for every dump part in dir (files cg.out.N).
function M.index(dir)
  local out = {}
  local p = assert(io.popen("ls " .. dir .. " 2>/dev/null"))
  for f in p:lines() do
    if f:match("^cg%.out%.%d+$") then
      local path = dir .. "/" .. f
      local label, total
      for line in io.lines(path) do
        label = label or line:match("^desc: Trigger: Client Request: (.+)$")
        local t = line:match("^totals: (%d+)")
        if t then total = tonumber(t) end
      end
      if label then out[label] = { file = path, total = total or 0 } end
    end
  end
  p:close()
  return out
end

-- Parses one dump part: { total, self = {base -> Ir}, incl = {base -> Ir}, obj = {base -> short},
-- calls = {base -> number of calls into it, every recursion level counted},
-- files = {source file -> self Ir of its lines, inlined code counted in the header it came from} }.
function M.parse(path)
  local fn_names, ob_names = {}, {}
  local self, incl, obj, calls, files = {}, {}, {}, {}, {}
  local fl_names, cur_fl, cur_file = {}, nil, nil
  local total = 0
  local cur_ob, cur_fn, call_ob, callee, in_call
  local function named(tbl, id, name)
    if name and name ~= "" then tbl[id] = name end
    return tbl[id]
  end
  for line in io.lines(path) do
    local key, id, name = line:match("^(%a+)=%((%d+)%)%s?(.*)$")
    if key == "ob" then
      cur_ob = named(ob_names, id, name)
    elseif key == "cob" then
      call_ob = named(ob_names, id, name)
    elseif key == "fn" then
      cur_fn = named(fn_names, id, name)
      cur_file = cur_fl
      local b = base(cur_fn)
      obj[b] = obj[b] or short_obj(cur_ob)
    elseif key == "cfn" then
      callee = named(fn_names, id, name)
      local b = base(callee)
      obj[b] = obj[b] or short_obj(call_ob or cur_ob)
    elseif key == "fl" then
      cur_fl = named(fl_names, id, name)
      cur_file = cur_fl
    elseif key == "fi" or key == "fe" then  -- inlined code from another file (a header)
      cur_file = named(fl_names, id, name)
    elseif key == "cfi" or key == "cfl" then
      named(fl_names, id, name)
    elseif line:find("^calls=") then
      in_call = true
      local b = callee and base(callee)
      if b then calls[b] = (calls[b] or 0) + (tonumber(line:match("^calls=(%d+)")) or 0) end
    elseif line:find("^[%d%+%-%*]") then
      local cost = tonumber(line:match("^%S+%s+(%d+)")) or 0
      if in_call then
        if callee and not callee:find("'%d+$") then incl[callee] = (incl[callee] or 0) + cost end
        in_call, callee, call_ob = false, nil, nil
      elseif cur_fn then
        local b = base(cur_fn)
        self[b] = (self[b] or 0) + cost
        if cur_file then files[cur_file] = (files[cur_file] or 0) + cost end
      end
    else
      local t = line:match("^totals: (%d+)")
      if t then total = tonumber(t) end
    end
  end
  local incl_b = {}
  for name, v in pairs(incl) do incl_b[base(name)] = v end
  for b, v in pairs(self) do incl_b[b] = math.max(incl_b[b] or 0, v) end
  return { total = total, self = self, incl = incl_b, obj = obj, calls = calls, files = files }
end

local function display(b)
  if b:find("^0x%x+$") then return "(unnamed)" end
  return b
end

-- Self cost per object (core.so, lua, libc.so, libcurl.so, cjson, ...).
function M.by_object(p)
  local t = {}
  for b, v in pairs(p.self) do
    local o = p.obj[b] or "?"
    t[o] = (t[o] or 0) + v
  end
  return t
end

-- Self cost per kind of work, for the encode regions: kinds is a list of { name, patterns };
-- a function goes to the first kind one of whose Lua patterns matches "object:name" (object
-- as by_object names it: core.so, lua, cjson, libc.so, ...), else to "other".
-- Returns rows { name, ir } in the kinds' order (the kinds with no cost left out).
function M.by_kind(p, kinds)
  local sum = {}
  for b, v in pairs(p.self) do
    local kind, full = "other", (p.obj[b] or "?") .. ":" .. b
    for _, k in ipairs(kinds) do
      for _, pat in ipairs(k[2]) do
        if full:find(pat) then kind = k[1] break end
      end
      if kind ~= "other" then break end
    end
    sum[kind] = (sum[kind] or 0) + v
  end
  local rows = {}
  for _, k in ipairs(kinds) do
    if sum[k[1]] then rows[#rows + 1] = { name = k[1], ir = sum[k[1]] } end
  end
  if sum.other then rows[#rows + 1] = { name = "other", ir = sum.other } end
  return rows
end

-- Top functions: rows { name, obj, incl, self } (fractions of the total), the union of the
-- `n` largest by inclusive cost (frames above the region left out) and the `n` largest by
-- self cost. Unnamed functions of one object (stripped libraries) are summed into one row.
function M.top(p, n)
  local rows, seen = {}, {}
  local agg = {}
  for b, v in pairs(p.self) do
    if display(b) == "(unnamed)" then
      local o = p.obj[b] or "?"
      agg[o] = (agg[o] or 0) + v
    end
  end
  local function add(b, on_stack)
    if seen[b] then return end
    seen[b] = true
    rows[#rows + 1] = { name = b, obj = p.obj[b] or "?", incl = (p.incl[b] or 0) / p.total,
                        self = (p.self[b] or 0) / p.total, on_stack = on_stack }
  end
  local by_incl, by_self = {}, {}
  for b, v in pairs(p.incl) do
    if display(b) ~= "(unnamed)" and v < p.total * 0.9999 then by_incl[#by_incl + 1] = b end
  end
  for b in pairs(p.self) do if display(b) ~= "(unnamed)" then by_self[#by_self + 1] = b end end
  table.sort(by_incl, function(a, b) return p.incl[a] > p.incl[b] end)
  table.sort(by_self, function(a, b) return p.self[a] > p.self[b] end)
  for i = 1, math.min(n, #by_incl) do add(by_incl[i], false) end
  for i = 1, math.min(n, #by_self) do add(by_self[i], (p.incl[by_self[i]] or 0) >= p.total * 0.9999) end
  for o, v in pairs(agg) do
    rows[#rows + 1] = { name = "(unnamed functions)", obj = o, self = v / p.total, incl = nil }
  end
  table.sort(rows, function(a, b)
    local ai, bi = a.on_stack and 2 or (a.incl or a.self), b.on_stack and 2 or (b.incl or b.self)
    if ai ~= bi then return ai > bi end
    return a.self > b.self
  end)
  return rows
end

return M
