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
