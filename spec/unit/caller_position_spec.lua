-- Programmer errors raise at the caller's file:line on every interpreter, whatever the
-- nesting inside the library and even after a tail call (errors.raise walks the stack).
local bizreg = require "bizreg"

local THIS = debug.getinfo(1, "S").short_src

local function raised_at(f)
  local ok, e = pcall(f)
  assert.is_false(ok)
  local file, line = tostring(e):match("^(.-):(%d+): bizreg: ")
  return file, tonumber(line), e
end

describe("programmer errors", function()
  local rcs = bizreg.rcs { base_url = "http://127.0.0.1:1", token = "token-t1" }
  local kos = bizreg.kos { base_url = "http://127.0.0.1:1", token = "token-t1" }

  it("name the calling line (plain calls)", function()
    local cases = {
      { function() rcs:register_brand("x") end, debug.getinfo(1, "l").currentline },
      { function() kos:register_visitor_images(5) end, debug.getinfo(1, "l").currentline },
      { function() rcs:resubmit_brand(5, {}) end, debug.getinfo(1, "l").currentline },
      { function() bizreg.prepare_brand("x") end, debug.getinfo(1, "l").currentline },
      { function() rcs:start("nope") end, debug.getinfo(1, "l").currentline },
      { function() bizreg.kos { base_url = 5 } end, debug.getinfo(1, "l").currentline },
      { function() bizreg.rcs { base_url = "http://x" } end, debug.getinfo(1, "l").currentline },
      { function() bizreg.register_brand({ base_url = "http://x", token = "token-t1" }, "x") end, debug.getinfo(1, "l").currentline },
      { function() rcs:get_chatbot("BR.1", 5) end, debug.getinfo(1, "l").currentline },
      { function() rcs:each_chatbot(5) end, debug.getinfo(1, "l").currentline },
      { function() rcs:each_chatbot("BR.1", { max_chatbots = 0 }) end, debug.getinfo(1, "l").currentline },
      { function() bizreg.prepare_update_chatbot("BR.1", "1", 5) end, debug.getinfo(1, "l").currentline },
      { function() bizreg.delete_chatbot({ base_url = "http://x", token = "token-t1" }, "BR.1") end, debug.getinfo(1, "l").currentline },
    }
    for i, c in ipairs(cases) do
      local file, line, e = raised_at(c[1])
      assert.are.equal(THIS, file, "case " .. i .. ": " .. tostring(e))
      assert.are.equal(c[2], line, "case " .. i .. ": " .. tostring(e))
    end
  end)

  it("name this file even after a tail call", function()
    local file, _, e = raised_at(function() return rcs:register_brand("x") end)
    assert.are.equal(THIS, file, tostring(e))
  end)

  it("a closed client raises at the caller too", function()
    local c = bizreg.kos { base_url = "http://127.0.0.1:1", token = "token-t1" }
    c:close()
    local file, line = raised_at(function() c:register_visitor_images({ images = {} }) end)
    assert.are.equal(THIS, file)
    assert.are.equal(debug.getinfo(1, "l").currentline - 2, line)
  end)
end)
