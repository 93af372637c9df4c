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
