-- Property fuzzing of the journal reader (issue 16): random and mutated journals never make
-- it raise or hang, and a single damaged byte never makes a batch that may be at the server
-- (registered, or of unknown outcome) look unsent, which is what would make --resume send it
-- again. One exception, by design: damage to the LAST record that leaves a proper prefix of a
-- JSON object is exactly what a crash while appending leaves, and is read as one (the record
-- was not written; a "sending" record is on disk before its request leaves, so a torn one was
-- never sent). Those cases are counted apart. Then a sample of the mutated journals through the real command against the sandbox:
-- no crash, and no body sent for a journal whose batches were all registered.
-- BIZREG_FUZZ_SEED / BIZREG_FUZZ_N choose the seed and the number of cases.
local journal = require "bizreg.cli.journal"
local json = require "bizreg.cli.json"
local sandbox = require "spec.helpers.sandbox"
local cli = require "spec.cli.run"

local SEED = tonumber(os.getenv("BIZREG_FUZZ_SEED") or "") or os.time()
local N = tonumber(os.getenv("BIZREG_FUZZ_N") or "") or 1000

local function hash(n) return string.format("%016x", n * 2654435761 % 2 ^ 48):rep(4) end  -- 64 hex digits

-- A journal as bizreg writes it: images/batch, and each batch's records by state.
local function make(images, batch, states)
  local lines = { json.encode(json.obj("bizreg_journal", 3, "kind", "visitor-images", "file", "x.jsonl",
    "images", images, "batch", batch, "size", 100, "sha256", ("ab"):rep(32), "created", "2026-12-07T00:00:00Z")),
    json.encode(json.obj("owner", 42, "at", "2026-12-07T00:00:00Z")) }
  for n, st in ipairs(states) do
    local first, last = (n - 1) * batch + 1, math.min(n * batch, images)
    local function rec(state, err)
      return json.encode(json.obj("batch", n, "first", first, "last", last, "hash", hash(n), "state", state,
        "error", err, "at", "2026-12-07T00:00:01Z"))
    end
    if st ~= "none" then lines[#lines + 1] = rec("sending") end
    if st == "registered" then lines[#lines + 1] = rec("registered") end
    if st == "failed" then lines[#lines + 1] = rec("failed", json.obj("kind", "http", "status", 400, "message", "x}{\"")) end
    if st == "unknown" then lines[#lines + 1] = rec("unknown", json.obj("kind", "http", "status", 504)) end
  end
  return table.concat(lines, "\n") .. "\n"
end

local STATES = { "registered", "failed", "unknown", "sending", "none" }
local BYTES = { "{", "}", "\"", ",", ":", "\n", "0", "9", "-", ".", "e", "a", "\\", " ", "\0", "\255", "[", "]" }

local function one_mutation(s, rnd)
  local i = rnd(1, #s)
  local kind = rnd(1, 4)
  local b = rnd(1, 2) == 1 and BYTES[rnd(1, #BYTES)] or string.char(rnd(0, 255))
  if kind == 1 then return s:sub(1, i - 1) .. b .. s:sub(i + 1), "replace " .. i end
  if kind == 2 then return s:sub(1, i - 1) .. b .. s:sub(i), "insert " .. i end
  if kind == 3 then return s:sub(1, i - 1) .. s:sub(i + 1), "delete " .. i end
  -- a line repeated next to itself, or two neighbours swapped
  local lines = {}
  for l in s:gmatch("[^\n]*\n") do lines[#lines + 1] = l end
  local k = rnd(2, #lines)
  if rnd(1, 2) == 1 then table.insert(lines, k, lines[k]) return table.concat(lines), "repeat line " .. k end
  if k < #lines then lines[k], lines[k + 1] = lines[k + 1], lines[k] end
  return table.concat(lines), "swap lines " .. k
end

-- The fuzzer's finding (seed 1796672374 under lua5.1, case 462): a newline replaced by a NUL
-- joined two records on one line, lua-cjson decoded the first and stopped at the NUL, the
-- second (batch 17's "sending") was lost, and batch 17's "unknown" then read as never sent.
describe("journal reader, a NUL byte", function()
  it("refuses a journal whose line holds a NUL (two records joined), never reads an unknown batch as unsent", function()
    local good = make(3, 1, { "unknown", "unknown", "unknown" })
    local cut = good:find("\n", good:find('"state":"unknown"', 1, true), true)  -- after batch 1's unknown
    local bad = good:sub(1, cut - 1) .. "\0" .. good:sub(cut + 1)
    local r, err = journal.parse(bad, "J")
    assert.is_nil(r)
    assert.truthy(err:find("damaged record", 1, true), err)
  end)

  it("refuses any JSON text with a NUL byte in the command's reader (files and journal lines)", function()
    for _, text in ipairs { '{"images":[]}\0{"x":1}', '{"a":1}\0', '\0' } do
      local v, err = json.decode(text)
      assert.is_nil(v)
      assert.truthy(err:find("NUL", 1, true), err)
    end
  end)
end)

describe("journal reader fuzz (seed " .. SEED .. ")", function()
  it("random text, random JSON lines and mutated journals: no raise, no hang; one damaged byte never unsends a batch", function()
    math.randomseed(SEED)
    local rnd = math.random
    local counts = { accepted = 0, refused = 0, random = 0, crash_like = 0 }
    for case = 1, N do
      local images, batch = rnd(1, 40), rnd(1, 8)
      local count = math.ceil(images / batch)
      local states = {}
      for n = 1, count do states[n] = STATES[rnd(1, #STATES)] end
      local good = make(images, batch, states)
      local r0 = assert(journal.parse(good, "J"))
      local text, what = one_mutation(good, rnd)
      local ok, r = pcall(journal.parse, text, "J")
      assert(ok, string.format("case %d (%s) raised: %s", case, what, tostring(r)))
      local last_start = good:sub(1, -2):match(".*\n()")
      if r and #r.warnings > 0 and text:sub(1, last_start - 1) == good:sub(1, last_start - 1)
        and not text:sub(last_start):find("\n.") then
        counts.crash_like = counts.crash_like + 1  -- the last record reads as cut short by a crash
      elseif r then
        counts.accepted = counts.accepted + 1
        for n = 1, count do
          local was = r0.batches[n] and r0.batches[n].state
          if was == "registered" or was == "unknown" then
            local now = r.batches[n] and r.batches[n].state
            assert(now == "registered" or now == "unknown", string.format("seed %d case %d (%s): batch %d was %s, "
              .. "reads as %s:\n%s", SEED, case, what, n, was, tostring(now), text))
          end
        end
      else
        counts.refused = counts.refused + 1
      end
      -- and text that was never a journal: random bytes, random JSON-ish lines, deep nesting
      local junk = {}
      for k = 1, rnd(1, 6) do
        local pick = rnd(1, 4)
        if pick == 1 then
          local t = {}
          for m = 1, rnd(0, 60) do t[m] = string.char(rnd(0, 255)) end
          junk[k] = table.concat(t)
        elseif pick == 2 then
          junk[k] = good:match("^[^\n]*"):gsub('"images":%d+', '"images":' .. ({ "0", "-1", "1e-300", "1e400", "null", '"2"', "2.5",
            "[]", "{}", "9007199254740993" })[rnd(1, 10)])
        elseif pick == 3 then
          junk[k] = ("["):rep(rnd(1, 3000))
        else
          junk[k] = json.encode(json.obj("batch", rnd(-2, 50), "first", rnd(-2, 9), "last", rnd(0, 9),
            "hash", ({ "ab", 7, false, "" })[rnd(1, 4)], "state", STATES[rnd(1, 5)], "owner", rnd(1, 2) == 1 and 5 or nil))
        end
      end
      local jok, jr = pcall(journal.parse, table.concat(junk, "\n"), "J")
      assert(jok, "junk raised: " .. tostring(jr))
      counts.random = counts.random + 1
    end
    print(string.format("\n  journal fuzz seed %d: %d mutated journals (%d accepted, %d refused, %d with the last record "
      .. "cut as by a crash), %d random texts; 0 findings", SEED, N, counts.accepted, counts.refused, counts.crash_like,
      counts.random))
  end)
end)

describe("mutated journals through the command", function()
  local sb
  setup(function()
    cli.setup()
    sb = sandbox.start {}
  end)
  teardown(function() if sb then sb:stop() end end)

  it("a journal whose batches were all registered, damaged anywhere by one byte: nothing is sent, no crash", function()
    local env = { BIZREG_KOS_BASE_URL = sb.url, BIZREG_KOS_API_KEY = "11111111-2222-4333-8444-555555555555" }
    local out = {}
    for i = 1, 4 do
      out[i] = json.encode(json.obj("fileName", "fz/" .. i .. ".jpg", "visitorId", "65a1b2c3d4e5f6a7b8c9d0e1", "source", "HOSPITAL"))
    end
    local f = cli.write(cli.dir .. "/fuzz.jsonl", table.concat(out, "\n") .. "\n")
    local r = cli.run({ "register", "images", f, "--batch", "2" }, env)
    assert.equal(0, r.code, r.err)
    local good = cli.read(f .. ".journal")
    math.randomseed(SEED)
    local codes = {}
    for case = 1, 25 do
      sb:reset()
      local text, what = one_mutation(good, math.random)
      cli.write(f .. ".journal", text)
      r = cli.run({ "register", "images", f, "--resume", f .. ".journal" }, env)
      assert.is_true(r.code == 0 or r.code == 2 or r.code == 4, what .. ": " .. r.code .. r.out .. r.err)
      assert.is_false(r.err:find("internal error", 1, true) ~= nil, r.err)
      assert.equal(0, sb:stats().received["kos.register_visitor_images"], string.format("seed %d case %d (%s)", SEED, case, what))
      codes[r.code] = (codes[r.code] or 0) + 1
    end
    print(string.format("\n  25 damaged journals through bizreg: exit 0 x%d, 2 x%d, 4 x%d; 0 bodies sent",
      codes[0] or 0, codes[2] or 0, codes[4] or 0))
  end)
end)
