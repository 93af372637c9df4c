-- The Lua-level fuzzers (spec/property/fuzz_lua.lua) with a small count, and the inputs they
-- found, pinned. `make fuzz-lua` runs the same fuzzers with a bigger count.
-- BIZREG_FUZZ_SEED=S replays a run; without it every run draws a new seed (printed on failure).
local F = require "spec.property.fuzz_lua"

local SEED = tonumber(os.getenv("BIZREG_FUZZ_SEED") or "") or F.random_seed()
local COUNT = tonumber(os.getenv("BIZREG_FUZZ_COUNT") or "") or 300

describe("fuzz-lua findings", function()
  local args = require "bizreg.cli.args"
  local ALLOWED = { batch = "count", skip = "list", timeout = "seconds", port = "port" }

  -- 20+ digits became a float (1e20): `--skip` then looped forever (1e20 + 1 == 1e20) and
  -- `--batch` ended in "number has no integer representation" (an internal error).
  it("refuses whole numbers too long to be exact instead of hanging or crashing later", function()
    local long, huge = "99999999999999999999", string.rep("9", 400)
    for _, argv in ipairs { { "--skip", long }, { "--skip", huge }, { "--skip", long .. "-" .. long }, { "--skip", "1-" .. long }, { "--skip", long .. "-1" },
      { "--batch", long }, { "--batch", huge }, { "--port", huge } } do
      local ok, res, err = F.bounded(args.parse, argv, ALLOWED)
      assert(ok, type(res) == "table" and res.finding or tostring(res))
      assert.is_nil(res, table.concat(argv, " "))
      assert.matches("^%-%-%a+ needs ", err)
    end
    assert.same({ [7] = true }, args.parse({ "--skip", "0000000000000000007" }, ALLOWED).opts.skip)
    assert.equal(999999999999999, args.parse({ "--batch", "999999999999999" }, ALLOWED).opts.batch)
  end)

  it("refuses an infinite --timeout", function()
    for _, v in ipairs { "1e999", string.rep("9", 400), "0x1p99999" } do
      local res, err = args.parse({ "--timeout", v }, ALLOWED)
      assert.is_nil(res, v)
      assert.equal("--timeout needs a number of seconds > 0 (got '" .. v .. "')", err)
    end
    assert.equal(1.5, args.parse({ "--timeout", "1.5" }, ALLOWED).opts.timeout)
  end)

  it("reads no Retry-After of infinite seconds", function()
    local client = require "bizreg.client"
    for _, v in ipairs { "1e999", string.rep("9", 400) } do
      assert.is_nil(client.retry_after { headers = { ["retry-after"] = v } }, v)
    end
    assert.equal(120, client.retry_after { headers = { ["retry-after"] = "120" } })
  end)

  it("keeps no infinite or NaN number from a brand list's pagination or status", function()
    local walk = require "bizreg.rcs_walk"  -- the list's pages (no load order: spec/layering_spec.lua)
    local page = assert(walk.map_page({ status = 200, headers = {},
      body = '{"result":[{"brandId":"B1"}],"pagination":{"total":NaN,"offset":1e999,"limit":100}}' }, 0, 100))
    assert.same({ offset = 0, limit = 100 }, page.pagination)  -- unreadable: the asked-for values
    page = assert(walk.map_page({ status = 200, headers = {},
      body = '{"result":[{"brandId":"B1"}],"pagination":{"total":7,"offset":0,"limit":100}}' }, 0, 100))
    assert.same({ total = 7, offset = 0, limit = 100 }, page.pagination)
    -- the envelope's own status (rcs.lua): the HTTP status when it is no finite number
    for _, v in ipairs { "NaN", "Infinity", "1e999" } do
      page = assert(walk.map_page({ status = 200, headers = {}, body = '{"result":[],"status":' .. v .. '}' }, 0, 100))
      assert.equal(200, page.status, v)
    end
  end)

  -- Lua 5.1's string.format refuses nil for %s: a part head without a name raised there;
  -- and the name was read from the tail of filename="...".
  it("summarises a multipart part without a name on every interpreter", function()
    local dryrun = require "bizreg.cli.dryrun"
    local body = "--b\r\nContent-Disposition: form-data\r\n\r\n{}\r\n--b\r\nContent-Disposition: form-data; "
      .. "filename=\"x.bin\"\r\n\r\nxyz\r\n--b--\r\n"
    local lines = {}
    dryrun.print({ out = function(_, l) lines[#lines + 1] = l end },
      { method = "POST", url = "http://h/x", headers = { ["Content-Type"] = "multipart/form-data; boundary=b" }, body = body })
    assert.equal("--- part nil: 2 bytes", lines[4])
    assert.equal('--- part nil: file "x.bin", nil, 3 bytes (unknown type)', lines[6])
  end)

  it("takes no token-store value whose time can never pass", function()
    local ts = require "bizreg.token_store"
    local values = { ["token"] = string.rep("9", 400) .. " tok-abcdefgh", ["lock"] = string.rep("9", 400) .. " owner" }
    local store = {
      get = function(_, k) return k:find("token", 1, true) and values.token or values.lock end,
      set = function() return true end, delete = function(_, k) values[k:find("token", 1, true) and "token" or "lock"] = nil end,
      add = function(_, _, v) if values.lock then return false, "exists" end values.lock = v return true end,
    }
    local shared = ts.new(store, { "rcs", "http://127.0.0.1:9", "cid", "secret-12345" })
    assert.is_nil(shared:read())  -- unreadable: fetch a fresh one
    -- a lock that says it never expires is not a lock another client holds: it is taken over
    assert.is_string((shared:lock(5)))
  end)
end)

describe("fuzz-lua (seed " .. SEED .. ", " .. COUNT .. " cases per target)", function()
  for _, name in ipairs(F.order) do
    it(name, function()
      local found = F.run({ name }, SEED, COUNT)
      assert(#found == 0, "\n" .. table.concat(found, "\n"))
    end)
  end
end)
