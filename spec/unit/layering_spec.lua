-- The layering of the C core: the generic machinery (walker, JSON and multipart writers,
-- forms, media sniffing, transport) knows no API. Each API's field names, codes and
-- paths live in its own file (src/api_kos.c, src/api_rcs.c); core.c only binds them.
local API_WORDS = {
  "regBrand", "chatbot", "brandProfile", "brandBackground", "subNumCertificate", "menus", "buttonType",
  "mdn", "subNum", "weblink", "portalsearch", "initFeedItem", "visitor", "fileName", "equipment",
  "register", "exchange", "KOS", "RCS", "brand",
}

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

local function generic_sources()
  local p = io.popen("ls src/*.c src/*.h")
  local out = {}
  for path in p:lines() do
    if not path:match("^src/api") and path ~= "src/core.c" then out[#out + 1] = path end
  end
  p:close()
  return out
end

-- Code only: comments are dropped (they may name an example).
local function code_of(src)
  return (src:gsub("/%*.-%*/", " "):gsub("//[^\n]*", " "))
end

-- The call graph between the C files: file -> { files it calls } (functions and data it
-- uses that another file defines), read with nm from objects compiled into a temporary
-- directory. Self-contained (cc, nm, pkg-config), like /work/shared/hooks/c-cycles.
local function c_call_graph()
  local flags
  for _, pkg in ipairs { "lua5.4", "lua5.3", "lua5.2", "lua5.1", "luajit" } do
    local p = io.popen("pkg-config --cflags " .. pkg .. " libcurl libcrypto 2>/dev/null")
    local out = p:read("*a")
    local ok = p:close()
    if ok and out:find("%S") then flags = out:gsub("%s+$", "") break end
  end
  assert(flags, "pkg-config finds no Lua headers (lua5.4 .. luajit) with libcurl and libcrypto")
  local dir = os.tmpname()
  os.remove(dir)
  local src = io.popen("pwd"):read("*l") .. "/src"
  -- the compiler without the suite's sanitizer preload (the ASan run sets LD_PRELOAD and
  -- ASAN_OPTIONS=detect_leaks=1: cc1's own leaks then fail the compile)
  local cmd = ("mkdir %s && cd %s && env -u LD_PRELOAD -u ASAN_OPTIONS -u UBSAN_OPTIONS cc -c -O0 -w -std=c99 -D_POSIX_C_SOURCE=200809L %s -I%s %s/*.c 2>&1")
    :format(dir, dir, flags, src, src)
  local p = io.popen(cmd)
  local log = p:read("*a")
  local compiled = p:close()
  local defs, uses = {}, {}
  if compiled then
    p = io.popen(("cd %s && nm -A --defined-only -g *.o && echo '--' && nm -A -u *.o"):format(dir))
    local undefined = false
    for line in p:lines() do
      if line == "--" then undefined = true
      else
        local file, kind, sym = line:match("^(%S+)%.o:%x*%s+(%a)%s+(%S+)$")
        if file and undefined and kind == "U" then
          uses[file] = uses[file] or {}
          uses[file][#uses[file] + 1] = sym
        elseif file and not undefined and kind:match("[TDBR]") then
          defs[sym] = file
        end
      end
    end
    p:close()
  end
  os.execute("rm -rf " .. dir)
  assert(compiled, "compiling src/*.c failed:\n" .. log)
  local graph = {}
  for file, syms in pairs(uses) do
    local seen = {}
    graph[file] = {}
    for _, s in ipairs(syms) do
      local d = defs[s]
      if d and d ~= file and not seen[d] then
        seen[d] = true
        graph[file][#graph[file] + 1] = d
      end
    end
    table.sort(graph[file])
  end
  for _, file in pairs(defs) do graph[file] = graph[file] or {} end
  return graph
end

-- The loops of a graph: its strongly connected components of more than one node
-- (Tarjan), each as "a.c <-> b.c", sorted.
local function loops_of(graph)
  local index, low, on, stack, out, n = {}, {}, {}, {}, {}, 0
  local function visit(v)
    n = n + 1
    index[v], low[v] = n, n
    stack[#stack + 1], on[v] = v, true
    for _, w in ipairs(graph[v] or {}) do
      if not index[w] then
        visit(w)
        low[v] = math.min(low[v], low[w])
      elseif on[w] then
        low[v] = math.min(low[v], index[w])
      end
    end
    if low[v] == index[v] then
      local comp = {}
      repeat
        local w = table.remove(stack)
        on[w] = nil
        comp[#comp + 1] = w .. ".c"
      until w == v
      if #comp > 1 then
        table.sort(comp)
        out[#out + 1] = table.concat(comp, " <-> ")
      end
    end
  end
  local names = {}
  for v in pairs(graph) do names[#names + 1] = v end
  table.sort(names)
  for _, v in ipairs(names) do
    if not index[v] then visit(v) end
  end
  table.sort(out)
  return out
end

describe("layering of the C core", function()
  it("finds the generic sources", function()
    assert.is_true(#generic_sources() >= 15)
  end)

  it("keeps API field names, paths and codes out of the generic C files", function()
    local found = {}
    for _, path in ipairs(generic_sources()) do
      local code = code_of(read(path))
      for _, word in ipairs(API_WORDS) do
        if code:find(word, 1, true) then found[#found + 1] = path .. ": " .. word end
      end
      for lit in code:gmatch('"(6%d%d%d%d)"') do found[#found + 1] = path .. ": code " .. lit end
    end
    assert.are.same({}, found)
  end)

  it("can fail: the API file itself is full of them", function()
    local code = code_of(read("src/api_rcs.c"))
    assert.truthy(code:find("regBrand", 1, true) and code:find('"64341"', 1, true))
  end)

  -- issue 18: the C core is a tree of layers (src/README.md); files split along a line
  -- count rather than a seam call each other back.
  it("has no two C files that call each other, directly or in a loop", function()
    local graph = c_call_graph()
    assert.is_true(#(graph.validate or {}) >= 2, "the graph reads the walk's calls")
    assert.are.same({}, loops_of(graph))
  end)

  it("can fail: a loop, direct or through a third file, is named", function()
    assert.are.same({ "a.c <-> b.c" }, loops_of { a = { "b" }, b = { "a" }, c = { "a" } })
    assert.are.same({ "easy.c <-> multi.c <-> request.c" },
      loops_of { easy = { "request" }, request = { "multi" }, multi = { "easy" }, buf = {} })
    assert.are.same({}, loops_of { a = { "b", "c" }, b = { "c" }, c = {} })
  end)

  it("keeps every source file within ~400 lines", function()
    local long = {}
    local p = io.popen("wc -l src/*.c src/*.h lua/bizreg/*.lua lua/bizreg/*/*.lua sandbox/lua/*/*.lua bin/bizreg")
    for line in p:lines() do
      local n, path = line:match("^%s*(%d+)%s+(%S+)$")
      if n and path ~= "total" and tonumber(n) > 420 then long[#long + 1] = path .. " " .. n end
    end
    p:close()
    assert.are.same({}, long)
  end)

  -- A new Lua module that only the checkout knows works here and fails in every LuaRocks install.
  it("lists every C source and Lua module in its rockspec (the sandbox's in its own)", function()
    local missing = {}
    for rockspec, files in pairs {
      -- (its C sources: the Makefile's rock target builds src/*.c)
      ["bizreg-scm-1.rockspec"] = "lua/bizreg/*.lua lua/bizreg/*/*.lua",
      ["bizreg-sandbox-scm-1.rockspec"] = "sandbox/lua/bizreg_sandbox/*.lua",
    } do
      local spec = read(rockspec)
      local p = io.popen("ls " .. files)
      for path in p:lines() do
        if not spec:find('"' .. path .. '"', 1, true) then missing[#missing + 1] = rockspec .. ": " .. path end
      end
      p:close()
    end
    assert.are.same({}, missing)
  end)
end)

-- The Lua modules: a tree of plain requires (issue 18). No module installs its functions into
-- another or keeps a back-reference to it, and no two modules require each other, directly or
-- in a loop, not even through a require inside a function (which `require` never reports, and
-- which makes behaviour depend on which file ran first).
local LUA_TREES = {
  { prefix = "bizreg", ls = "lua/bizreg/*.lua lua/bizreg/*/*.lua", root = "lua/" },
  { prefix = "bizreg_sandbox", ls = "sandbox/lua/bizreg_sandbox/*.lua", root = "sandbox/lua/" },
}

-- module name -> { module names it requires } for the files `ls` lists (its own modules only).
local function require_graph(tree)
  local files = {}
  local p = io.popen("ls " .. tree.ls)
  for path in p:lines() do
    local name = path:sub(#tree.root + 1):gsub("%.lua$", ""):gsub("/init$", ""):gsub("/", ".")
    files[name] = path
  end
  p:close()
  local graph = {}
  for name, path in pairs(files) do
    local code = read(path):gsub("%-%-%[%[.-%]%]", " "):gsub("%-%-[^\n]*", " ")
    local deps = {}
    for dep in code:gmatch("require%s*%(?%s*[\"']([%w_%.]+)[\"']") do
      if files[dep] and dep ~= name then deps[#deps + 1] = dep end
    end
    table.sort(deps)
    graph[name] = deps
  end
  return graph
end

-- The first loop found, as "a -> b -> a", or nil.
local function find_cycle(graph)
  local state, stack = {}, {}
  local function visit(n)
    state[n] = "open"
    stack[#stack + 1] = n
    for _, d in ipairs(graph[n] or {}) do
      if state[d] == "open" then
        local from = 1
        while stack[from] ~= d do from = from + 1 end
        local loop = {}
        for i = from, #stack do loop[#loop + 1] = stack[i] end
        loop[#loop + 1] = d
        return table.concat(loop, " -> ")
      elseif not state[d] then
        local c = visit(d)
        if c then return c end
      end
    end
    stack[#stack] = nil
    state[n] = "done"
  end
  local names = {}
  for n in pairs(graph) do names[#names + 1] = n end
  table.sort(names)
  for _, n in ipairs(names) do
    if not state[n] then
      local c = visit(n)
      if c then return c end
    end
  end
end

describe("layering of the Lua modules", function()
  it("has no module that installs into another (no .install( in lua/ or the sandbox)", function()
    local found = {}
    local p = io.popen("grep -rnE '\\.install *\\(|function [A-Za-z_]+\\.install' lua sandbox/lua")
    for line in p:lines() do found[#found + 1] = line end
    p:close()
    assert.are.same({}, found)
  end)

  for _, tree in ipairs(LUA_TREES) do
    it("keeps " .. tree.prefix .. "'s require graph a tree (no loop, requires inside functions too)", function()
      local graph = require_graph(tree)
      assert.truthy(graph[tree.prefix .. ".rcs"], "the graph has the rcs module")
      assert.is_nil(find_cycle(graph))
    end)
  end

  it("can fail: a loop through three modules is found", function()
    assert.equal("b -> c -> d -> b", find_cycle { a = { "b" }, b = { "c" }, c = { "d" }, d = { "b" }, e = {} })
    assert.is_nil(find_cycle { a = { "b", "c" }, b = { "c" }, c = {} })
  end)

  -- Before issue 18 rcs_brands.lua and rcs_categories.lua worked only after rcs.lua had
  -- installed them: required on their own, their answer readers raised.
  it("lets each RCS operation file work when it is required alone, bizreg.rcs never loaded", function()
    local saved = {}
    for name in pairs(package.loaded) do
      if name:match("^bizreg%.rcs") then saved[name] = package.loaded[name] package.loaded[name] = nil end
    end
    local ok, err = pcall(function()
      local res = { status = 200, headers = {}, body = '{"code":"20000000","status":200,"result":'
        .. '[{"brandId":"BR.1","name":"n","categoryId":"c1","subCategories":[{"subCategoryId":"s1"}]}]}' }
      local detail = assert(require("bizreg.rcs_brands").map_detail(res, "BR.1"))
      assert.equal("n", detail.brand.name)
      local cats = assert(require("bizreg.rcs_categories").map_categories(res))
      assert.equal("s1", cats.categories[1].subCategories[1].subCategoryId)
      assert.equal("BR.1", assert(require("bizreg.rcs_walk").map_page(res, 0, 100)).brands[1].brandId)
      assert.equal("function", type(require("bizreg.rcs_chatbots").prepare_chatbots))
      assert.is_nil(package.loaded["bizreg.rcs"])
    end)
    for name in pairs(package.loaded) do
      if name:match("^bizreg%.rcs") then package.loaded[name] = nil end
    end
    for name, mod in pairs(saved) do package.loaded[name] = mod end
    assert(ok, err)
  end)
end)
