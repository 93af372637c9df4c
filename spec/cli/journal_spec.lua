-- `bizreg register images`' journal as a ledger with one owner, and the outcome table the
-- command follows (issue 16): a batch the server may hold is never sent again by --resume;
-- one run per journal; --skip/--resend only for batches of unknown outcome; a journal that
-- does not fit its file is refused, never repaired; the journal is created only when the run
-- can start, mode 0600; faults under it (a full disk, EIO, SIGINT/SIGTERM); and what the
-- command prints is safe for a terminal and --json is JSON. Spawned processes, a sandbox.
local sandbox = require "spec.helpers.sandbox"
local shell = require "spec.helpers.shell"
local cli = require "spec.cli.run"
local socket = require "socket"

local json = sandbox.json
local API_KEY = "11111111-2222-4333-8444-555555555555"
local RCS_SECRET = "SK.sandboxsecret1"
local EP = "kos.register_visitor_images"

local has, count = cli.has, cli.count

-- Polls fn until it returns a value (a generous cap only so a broken build cannot hang the suite).
local function wait_for(fn, what)
  for _ = 1, 3000 do
    local v = fn()
    if v then return v end
    socket.sleep(0.02)
  end
  error("never happened: " .. what)
end

-- <name>.jsonl of n images named after the file (so a body on the server tells whose it is)
local function images_file(name, n, bad) return cli.images_file(name .. ".jsonl", n, bad, name) end

-- Valid UTF-8 (strict), for --json lines: lua-cjson decodes invalid UTF-8 without a word.
local function valid_utf8(s)
  local i, n = 1, #s
  while i <= n do
    local c = s:byte(i)
    local len = c < 0x80 and 1 or (c >= 0xC2 and c <= 0xDF) and 2 or (c >= 0xE0 and c <= 0xEF) and 3
      or (c >= 0xF0 and c <= 0xF4) and 4 or nil
    if not len then return false end
    for k = 1, len - 1 do
      local d = s:byte(i + k)
      if not d or d < 0x80 or d > 0xBF then return false end
    end
    if (c == 0xE0 and s:byte(i + 1) < 0xA0) or (c == 0xED and s:byte(i + 1) > 0x9F)
      or (c == 0xF0 and s:byte(i + 1) < 0x90) or (c == 0xF4 and s:byte(i + 1) > 0x8F) then return false end
    i = i + len
  end
  return true
end

-- No byte a terminal would act on: C0 controls but newline, DEL, C1 (U+0080..U+009F), invalid UTF-8.
local function terminal_safe(s)
  return not s:find("[%z\1-\9\11-\31\127]") and not s:find("\194[\128-\159]") and valid_utf8(s)
end

local function every_line_json(s)
  local n = 0
  for _, l in ipairs(cli.lines(s)) do
    assert.is_true(valid_utf8(l), l)
    assert.is_table(json.decode(l), l)
    n = n + 1
  end
  return n
end

describe("bizreg register images: the journal", function()
  local sb, kos_env

  setup(function()
    cli.setup()
    sb = sandbox.start {}
    kos_env = { BIZREG_KOS_BASE_URL = sb.url, BIZREG_KOS_API_KEY = API_KEY }
  end)
  teardown(function() if sb then sb:stop() end end)
  before_each(function() sb:reset() end)

  local function received() return sb:stats().received[EP] end

  describe("outcome table", function()
    it("a server that registers a batch and answers 504 sees each image once across the run and any --resume; exit 4", function()
      local f = images_file("gw504", 3)
      sb:fault { endpoint = EP, mode = "echo", status = 504, commit = true, count = 1 }
      local r = cli.run({ "register", "images", f, "--batch", "1" }, kos_env)
      assert.equal(4, r.code, r.out .. r.err)
      local lines = cli.lines(r.out)
      assert.truthy(lines[1]:find("^batch 1/3  images 1%-1  UNKNOWN OUTCOME  http 504"), lines[1])
      assert.is_true(has(r.out, "\nbatch 2/3  images 2-2  registered"), r.out)
      assert.is_true(has(r.err, "--skip 1"), r.err)
      for _ = 1, 3 do
        r = cli.run({ "register", "images", f, "--resume", f .. ".journal" }, kos_env)
        assert.equal(4, r.code, r.out .. r.err)
        assert.is_true(has(r.out, "batch 1/3  images 1-1  held back"), r.out)
      end
      r = cli.run({ "register", "images", f, "--resume", f .. ".journal", "--skip", "1" }, kos_env)
      assert.equal(0, r.code, r.out .. r.err)
      local st = sb:stats()
      assert.equal(3, st.received[EP])
      assert.equal(0, st.duplicates[EP])
      assert.equal(3, st.registered.images)
    end)

    it("register brand and register chatbots exit 4 on a 504", function()
      local env = { BIZREG_RCS_BASE_URL = sb.rcs_url, BIZREG_RCS_CLIENT_ID = "sandbox", BIZREG_RCS_CLIENT_SECRET = RCS_SECRET }
      sb:fault { endpoint = "rcs.register_brand", mode = "echo", status = 504, commit = true, count = 1 }
      local r = cli.run({ "register", "brand", "examples/brand/brand.json" }, env)
      assert.equal(4, r.code, r.out .. r.err)
      assert.truthy(r.out:find("^UNKNOWN OUTCOME  http 504"), r.out)
      local id = sb:brands()[1]
      sb:fault { endpoint = "rcs.register_chatbots", mode = "echo", status = 504, commit = true, count = 1 }
      r = cli.run({ "register", "chatbots", id, "examples/brand/chatbots.json" }, env)
      assert.equal(4, r.code, r.out .. r.err)
      assert.truthy(r.out:find("^UNKNOWN OUTCOME  http 504"), r.out)
    end)
  end)

  describe("one owner", function()
    it("a second run on a journal in use stops at once (exit 2) naming the holder; SIGTERM ends the first (143)", function()
      local f = images_file("owner", 3)
      local jpath = f .. ".journal"
      -- batch 1 is taken (and registered) but never answered while this test looks on
      sb:fault { endpoint = EP, mode = "hang", commit = true, hold_ms = 60000, count = 1 }
      local pid = cli.spawn({ "register", "images", f, "--batch", "1", "--timeout", "3" }, kos_env)
      wait_for(function() return received() == 1 end, "batch 1 to reach the server")
      local r = cli.run({ "register", "images", f, "--batch", "1" }, kos_env)
      assert.equal(2, r.code, r.out .. r.err)
      assert.is_true(has(r.err, "already exists"), r.err)
      r = cli.run({ "register", "images", f, "--resume", jpath }, kos_env)
      assert.equal(2, r.code, r.out .. r.err)
      assert.is_true(has(r.err, jpath .. " is in use by another bizreg run (pid " .. pid .. ","), r.err)
      assert.equal("", r.out)
      assert.equal(1, received())
      cli.kill(pid, "TERM")
      local rc = wait_for(function() return cli.exit_code(pid) end, "the first run to end")
      assert.equal(143, rc)
      -- batch 1 may have been registered: held back; the others go now; nothing twice
      r = cli.run({ "register", "images", f, "--resume", jpath }, kos_env)
      assert.equal(4, r.code, r.out .. r.err)
      assert.is_true(has(r.out, "batch 1/3  images 1-1  held back"), r.out)
      r = cli.run({ "register", "images", f, "--resume", jpath, "--skip", "1" }, kos_env)
      assert.equal(0, r.code, r.out .. r.err)
      local st = sb:stats()
      assert.equal(0, st.duplicates[EP])
      assert.equal(3, st.registered.images)
    end)

    it("two new runs started together on one file: exactly one runs, the other exits 2 (5 trials)", function()
      for trial = 1, 5 do
        sb:reset()
        local f = images_file("race" .. trial, 4)
        local a, a_out = cli.spawn({ "register", "images", f, "--batch", "1" }, kos_env)
        local b = cli.spawn({ "register", "images", f, "--batch", "1" }, kos_env)
        local ra = wait_for(function() return cli.exit_code(a) end, "run a")
        local rb = wait_for(function() return cli.exit_code(b) end, "run b")
        assert.same({ 0, 2 }, ra < rb and { ra, rb } or { rb, ra }, "trial " .. trial .. ": " .. (cli.read(a_out) or ""))
        local st = sb:stats()
        assert.equal(4, st.received[EP])
        assert.equal(0, st.duplicates[EP])
      end
    end)

    it("two --resume runs started together on one journal: the batches left are sent once (5 trials)", function()
      for trial = 1, 5 do
        sb:reset()
        local f = images_file("resumerace" .. trial, 4)
        sb:config { fail_next = { status = 503, count = 3, endpoint = EP } }  -- batches 1-3 not processed
        local r = cli.run({ "register", "images", f, "--batch", "1" }, kos_env)
        assert.equal(1, r.code, r.out .. r.err)
        assert.equal(1, sb:stats().registered.images)
        local a = cli.spawn({ "register", "images", f, "--resume", f .. ".journal" }, kos_env)
        local b = cli.spawn({ "register", "images", f, "--resume", f .. ".journal" }, kos_env)
        local ra = wait_for(function() return cli.exit_code(a) end, "run a")
        local rb = wait_for(function() return cli.exit_code(b) end, "run b")
        -- one sends; the other found it in use (2), or ran after it and skipped everything (0)
        assert.is_true((ra == 0 and (rb == 0 or rb == 2)) or (rb == 0 and ra == 2), ra .. " " .. rb)
        assert.equal(4, sb:stats().registered.images, "trial " .. trial)
      end
    end)

    it("a new journal is readable by its owner only (0600)", function()
      local f = images_file("mode", 1)
      local r = cli.run({ "register", "images", f }, kos_env)
      assert.equal(0, r.code, r.err)
      local p = shell.popen("stat -c %a " .. cli.q(f .. ".journal"))
      local mode = p:read("*a"):match("%d+")
      p:close()
      assert.equal("600", mode)
    end)
  end)

  describe("--skip and --resend", function()
    it("are refused (exit 2, nothing sent) for any batch whose outcome is not unknown", function()
      local f = images_file("decide", 3)
      local r = cli.run({ "register", "images", f, "--batch", "1", "--skip", "2" }, kos_env)
      assert.equal(2, r.code, r.out .. r.err)
      assert.is_true(has(r.err, "--skip needs --resume"), r.err)
      assert.equal(0, sb:stats().requests)
      assert.is_nil(cli.read(f .. ".journal"))
      -- batch 1 not processed (503 with Retry-After), 2 and 3 registered
      sb:config { fail_next = { status = 503, endpoint = EP } }
      r = cli.run({ "register", "images", f, "--batch", "1" }, kos_env)
      assert.equal(1, r.code, r.out .. r.err)
      local before = cli.read(f .. ".journal")
      for _, case in ipairs {
        { "--skip", "1", "batch 1 is failed" }, { "--resend", "2", "batch 2 is registered" },
        { "--skip", "3", "batch 3 is registered" }, { "--skip", "9", "there are only 3 batches" },
      } do
        r = cli.run({ "register", "images", f, "--resume", f .. ".journal", case[1], case[2] }, kos_env)
        assert.equal(2, r.code, r.out .. r.err)
        assert.is_true(has(r.err, case[3]), r.err)
        assert.equal("", r.out)
      end
      assert.equal(3, received())
      assert.equal(before, cli.read(f .. ".journal"))
      assert.equal(2, sb:stats().registered.images)
    end)
  end)

  describe("a journal that does not fit is refused, never repaired", function()
    local f, jpath, good
    before_each(function()
      f = images_file("header", 4)
      jpath = f .. ".journal"
      os.remove(jpath)
      sb:config { fail_next = { status = 503, endpoint = EP } }
      local r = cli.run({ "register", "images", f, "--batch", "2" }, kos_env)
      assert.equal(1, r.code, r.out .. r.err)  -- batch 1 failed (to resend), batch 2 registered
      good = cli.read(jpath)
      sb:reset()
    end)

    local function refused(text, why)
      cli.write(jpath, text)
      local r = cli.run({ "register", "images", f, "--resume", jpath }, kos_env)
      assert.equal(2, r.code, why .. ": " .. r.out .. r.err)
      assert.equal("", r.out, why)
      assert.equal(0, sb:stats().requests, why)
      assert.equal(text, cli.read(jpath), why)
      return r
    end

    it("a header field of the wrong type or out of range", function()
      local header = good:match("^[^\n]*")
      for _, case in ipairs {
        { '"batch":2', '"batch":0' }, { '"batch":2', '"batch":1e-300' }, { '"batch":2', '"batch":-1' },
        { '"batch":2', '"batch":null' }, { '"batch":2', '"batch":"2"' }, { '"batch":2', '"batch":1e400' },
        { '"batch":2', '"batch":2.5' }, { '"images":4', '"images":-4' }, { '"images":4', '"images":5' },
        { '"bizreg_journal":3', '"bizreg_journal":"3"' }, { '"bizreg_journal":3', '"bizreg_journal":2' }, { '"kind":"visitor-images"', '"kind":"brand"' },
        { '"sha256":"', '"sha256":"zz' }, { '"size":', '"sizes":' }, { 'header.jsonl"', 'other.jsonl"' },
      } do
        local a, b = case[1], case[2]
        assert.is_true(has(header, a), a)
        local bad = header:gsub(a:gsub("%p", "%%%0"), (b:gsub("%%", "%%%%")), 1)
        local r = refused(bad .. good:sub(#header + 1), b)
        assert.is_true(has(r.err, "bizreg: "), r.err)
      end
    end)

    it("a record that does not fit the header, or a batch registered twice", function()
      local lines = cli.lines(good)
      local rec = lines[#lines]  -- batch 2's outcome: registered
      assert.is_true(has(rec, '"batch":2,"first":3,"last":4,'), rec)
      for _, bad in ipairs {
        rec:gsub('"first":3', '"first":2'), rec:gsub('"batch":2', '"batch":3'), rec:gsub('"batch":2', '"batch":0'),
        rec:gsub('"state":"registered"', '"state":"bogus"'), rec:gsub('"hash":"%x+"', '"hash":7'), rec:gsub('"hash":"%x+"', '"hash":"1b86f2ef53877fb5"'),
        '{"owner":"me"}', "[1,2]", "7",
      } do
        refused(good .. bad .. "\n", bad)
      end
      -- sending a registered batch again is not something bizreg writes
      refused(good .. rec:gsub('"registered"', '"sending"') .. "\n", "sending after registered")
    end)

    it("batches recorded as registered or unknown that no longer hold the same images", function()
      images_file("header", 4, { [3] = { memo = "바뀜" } })
      local r = refused(good, "changed")
      assert.is_true(has(r.err, "batch 2 (images 3-4) was registered, but those images changed"), r.err)
      images_file("header", 5)
      r = refused(good, "longer")
      assert.is_true(has(r.err, "the journal is for 4 images"), r.err)
      -- the failed batch may be fixed: resuming sends it
      images_file("header", 4, { [1] = { memo = "고침" } })
      r = cli.run({ "register", "images", f, "--resume", jpath }, kos_env)
      assert.equal(0, r.code, r.out .. r.err)
      assert.is_true(has(r.err, "changed since the journal was written (size, SHA-256)"), r.err)
      assert.equal(1, received())
    end)
  end)

  describe("written only when the run can start (issue 17)", function()
    it("a refused credential leaves no journal and says bizreg: once", function()
      local f = images_file("short", 2)
      local r = cli.run({ "register", "images", f }, { BIZREG_KOS_BASE_URL = sb.url, BIZREG_KOS_API_KEY = "short" })
      assert.equal(2, r.code, r.out .. r.err)
      assert.is_false(has(r.err, "bizreg: bizreg:"), r.err)
      assert.is_true(has(r.err, "bizreg: option 'api_key'"), r.err)
      assert.is_nil(cli.read(f .. ".journal"))
      r = cli.run({ "register", "images", f }, { BIZREG_KOS_BASE_URL = sb.url })
      assert.equal(2, r.code)
      assert.is_nil(cli.read(f .. ".journal"))
      assert.equal(0, sb:stats().requests)
    end)

    it("a journal killed before its header was complete (nothing sent): --resume says so, a new run starts", function()
      local f = images_file("unstarted", 2)
      for _, left in ipairs { "", '{"bizreg_journal":3,"kind":"visit' } do
        sb:reset()
        cli.write(f .. ".journal", left)
        local r = cli.run({ "register", "images", f, "--resume", f .. ".journal" }, kos_env)
        assert.equal(2, r.code, r.out .. r.err)
        assert.is_true(has(r.err, "its run stopped before its first request, nothing was sent"), r.err)
        r = cli.run({ "register", "images", f, "--batch", "1" }, kos_env)
        assert.equal(0, r.code, r.out .. r.err)
        assert.is_true(has(r.err, "note: removed " .. f .. ".journal"), r.err)
        assert.equal(2, sb:stats().registered.images)
        os.remove(f .. ".journal")
      end
      -- a file that is not bizreg's is never removed
      cli.write(f .. ".journal", "my notes")
      local r = cli.run({ "register", "images", f }, kos_env)
      assert.equal(2, r.code, r.out .. r.err)
      assert.equal("my notes", cli.read(f .. ".journal"))
    end)

    it("a run that sent nothing (exit 3) leaves nothing to resume: the next run is not refused", function()
      local f = images_file("nothing", 2)
      local env = { BIZREG_KOS_BASE_URL = "http://127.0.0.1:" .. sandbox.refused_port(), BIZREG_KOS_TOKEN = "sandbox-kos-token" }
      for _ = 1, 2 do
        local r = cli.run({ "register", "images", f, "--batch", "1" }, env)
        assert.equal(3, r.code, r.out .. r.err)
        assert.is_true(has(r.out, "; no journal kept"), r.out)
        assert.is_true(has(r.err, "nothing was registered"), r.err)
        assert.is_nil(cli.read(f .. ".journal"))
      end
      local r = cli.run({ "register", "images", f, "--batch", "1" }, kos_env)
      assert.equal(0, r.code, r.out .. r.err)
      assert.equal(2, sb:stats().registered.images)
    end)
  end)

  describe("faults under the journal", function()
    local shim
    setup(function()
      -- write()/fsync() fail on the journal's descriptor from its Nth write on (a full disk:
      -- half the record written, then ENOSPC; or EIO from fsync), nothing else is touched
      shim = cli.dir .. "/jfault.so"
      local src = cli.write(cli.dir .. "/jfault.c", [[
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
static int is_journal(int fd) {
  char link[64], path[4096];
  ssize_t n;
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  n = readlink(link, path, sizeof path - 1);
  if (n < 8) return 0;
  path[n] = 0;
  return strcmp(path + n - 8, ".journal") == 0;
}
static int writes;
ssize_t write(int fd, const void *buf, size_t len) {
  static ssize_t (*real)(int, const void *, size_t);
  const char *after = getenv("JFAULT_WRITE");
  if (!real) real = (ssize_t (*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
  if (after && is_journal(fd) && ++writes > atoi(after)) {
    if (writes == atoi(after) + 1 && len > 1) return real(fd, buf, len / 2);
    errno = ENOSPC;
    return -1;
  }
  return real(fd, buf, len);
}
static int syncs;
int fsync(int fd) {
  static int (*real)(int);
  const char *after = getenv("JFAULT_FSYNC"), *log = getenv("JFAULT_LOG");
  if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
  if (log && is_journal(fd)) { FILE *f = fopen(log, "a"); if (f) { fputs("fsync\n", f); fclose(f); } }
  if (after && is_journal(fd) && ++syncs > atoi(after)) { errno = EIO; return -1; }
  return real(fd);
}
]])
      assert(shell.execute("cc -shared -fPIC -o " .. cli.q(shim) .. " " .. cli.q(src) .. " -ldl"), "cannot build the shim")
    end)

    local function faulty(env)
      local e = { LD_PRELOAD = shim }
      for k, v in pairs(kos_env) do e[k] = v end
      for k, v in pairs(env) do e[k] = v end
      return e
    end

    -- whatever the fault hit, --resume then sends every image exactly once (the batch the
    -- fault left undecided is held back until --skip/--resend)
    local function recovers(f, n)
      local r = cli.run({ "register", "images", f, "--resume", f .. ".journal" }, kos_env)
      assert.is_true(r.code == 0 or r.code == 4, r.out .. r.err)
      local held = r.out:match("batch (%d+)/%d+  images %d+%-%d+  held back")
      if held then
        -- the operator looks in KOS: did the server get that batch (batch size 1: image `held`)?
        local name = string.format("%s-%04d.jpg", f:match("([^/]*)%.jsonl$"), tonumber(held))
        local got = false
        for i = 1, sb:stats().requests do
          local ok, body = pcall(sb.body, sb, i)
          got = got or (ok and has(body, name))
        end
        r = cli.run({ "register", "images", f, "--resume", f .. ".journal", got and "--skip" or "--resend", held }, kos_env)
        assert.equal(0, r.code, r.out .. r.err)
      end
      local st = sb:stats()
      assert.equal(n, st.registered.images)
      assert.equal(0, st.duplicates[EP])
    end

    it("a full disk: the run stops with a clear error, the journal stays readable, --resume sends nothing twice", function()
      for _, after in ipairs { 1, 2, 3, 4 } do  -- header, sending 1, outcome 1, sending 2, ...
        sb:reset()
        local f = images_file("full" .. after, 3)
        local r = cli.run({ "register", "images", f, "--batch", "1" }, faulty { JFAULT_WRITE = tostring(after) })
        assert.is_true(r.code == 1 or r.code == 2 or r.code == 4, r.code .. r.out .. r.err)
        assert.is_true(has(r.err, "No space left on device"), r.err)
        assert.is_false(has(r.err, "traceback"), r.err)
        if after == 1 then
          -- not even the header could be written: nothing was sent, nothing left behind
          assert.equal(0, sb:stats().received[EP])
          assert.is_nil(cli.read(f .. ".journal"))
          r = cli.run({ "register", "images", f, "--batch", "1" }, kos_env)
          assert.equal(0, r.code, r.out .. r.err)
        else
          assert.is_true(sb:stats().received[EP] <= math.floor(after / 2), after)
          recovers(f, 3)
        end
      end
    end)

    it("each batch's hash is the SHA-256 of exactly the bytes the server received for it", function()
      local core = require "bizreg.core"
      local hex = function(b) return (b:gsub(".", function(c) return string.format("%02x", c:byte()) end)) end
      local f = images_file("sha", 3)
      local r = cli.run({ "register", "images", f, "--batch", "2" }, kos_env)
      assert.equal(0, r.code, r.out .. r.err)
      local bodies = {}
      for _, q in ipairs(sb:requests()) do
        if q.path:find("register%-visitor%-images$") then bodies[#bodies + 1] = sb:body(q.n) end
      end
      assert.equal(2, #bodies)
      local hashes = {}
      for l in cli.read(f .. ".journal"):gmatch("[^\n]+") do
        local rec = json.decode(l)
        if rec.state == "registered" then hashes[rec.batch] = rec.hash end
      end
      assert.equal(hex(core.sha256(bodies[1])), hashes[1])
      assert.equal(hex(core.sha256(bodies[2])), hashes[2])
    end)

    it("one fsync per batch (the outcome goes to disk with the next batch's sending record), one at the end", function()
      local f = images_file("fsyncs", 10)
      local log = cli.dir .. "/fsyncs.log"
      os.remove(log)
      local r = cli.run({ "register", "images", f, "--batch", "1" }, faulty { JFAULT_LOG = log })
      assert.equal(0, r.code, r.out .. r.err)
      assert.equal(11, count(cli.read(log) or "", "fsync\n"))
      -- and a kill -9 right after a batch's outcome loses nothing: the kernel has it
      assert.equal(10, count(cli.read(f .. ".journal"), '"state":"registered"'))
    end)

    it("EIO from fsync: the same", function()
      for _, after in ipairs { 2, 3 } do
        sb:reset()
        local f = images_file("eio" .. after, 3)
        local r = cli.run({ "register", "images", f, "--batch", "1" }, faulty { JFAULT_FSYNC = tostring(after) })
        assert.is_true(r.code == 1 or r.code == 4, r.code .. r.out .. r.err)
        assert.is_true(has(r.err, "Input/output error"), r.err)
        recovers(f, 3)
      end
    end)

    it("SIGINT while a batch is at the server: exit 130, the journal consistent, --resume sends nothing twice", function()
      local f = images_file("sigint", 4)
      sb:fault { endpoint = EP, mode = "hang", commit = true, hold_ms = 60000, count = 1 }
      local r0 = cli.run({ "register", "images", f, "--batch", "1", "--json" }, kos_env)  -- not this one: the fault
      assert.equal(4, r0.code)                                                            -- is on its batch 1
      assert.equal(4, every_line_json(r0.out))
      sb:reset()
      os.remove(f .. ".journal")
      sb:fault { endpoint = EP, mode = "hang", commit = true, hold_ms = 60000, count = 1 }
      local pid = cli.spawn({ "register", "images", f, "--batch", "1", "--timeout", "3" }, kos_env)
      wait_for(function() return received() == 1 end, "batch 1 at the server")
      cli.kill(pid, "INT")
      assert.equal(130, wait_for(function() return cli.exit_code(pid) end, "the run to end"))
      recovers(f, 4)
    end)
  end)

  describe("what it prints", function()
    it("keys from the input file: control characters and invalid UTF-8 escaped; --json lines are JSON", function()
      local f = cli.write(cli.dir .. "/hostile.jsonl", '{"fileName":"a.jpg","visitorId":"65a1b2c3d4e5f6a7b8c9d0e1",'
        .. '"source":"HOSPITAL","\\u001b]0;pwned\\u0007\\u001b[2J":1,"\255\254x":2,"\\u009b31m":3}\n')
      for _, cmd in ipairs { "check", "register" } do
        local r = cli.run({ cmd, "images", f }, kos_env)
        assert.equal(1, r.code, r.out .. r.err)
        assert.is_true(terminal_safe(r.out .. r.err), r.out .. r.err)
        assert.is_true(has(r.out, "\\x1B]0;pwned\\x07\\x1B[2J"), r.out)
        assert.is_true(has(r.out, "\\xFF\\xFEx"), r.out)
        r = cli.run({ cmd, "images", f, "--json" }, kos_env)
        assert.equal(1, r.code)
        assert.equal(1, every_line_json(r.out))
        assert.is_true(terminal_safe(r.out .. r.err), r.out .. r.err)
      end
      assert.equal(0, sb:stats().requests)
    end)

    it("a server's text: an ESC sequence in a 400 message cannot set the title or clear the screen", function()
      local f = images_file("srvtext", 1)
      local server = assert(socket.bind("127.0.0.1", 0))
      local _, port = server:getsockname()
      local hostile = "\27]0;owned\7\27[2J\194\155\255 bad"
      local answer = json.encode { status = 400, message = hostile, className = "InvalidCommandException",
        errorProperties = { { key = hostile, reason = "Invalid\27[31m" } } }
      for _, mode in ipairs { {}, { "--json" } } do
        local argv = { "register", "images", f, "--batch", "1" }
        for _, a in ipairs(mode) do argv[#argv + 1] = a end
        local pid, out, err = cli.spawn(argv, { BIZREG_KOS_BASE_URL = "http://127.0.0.1:" .. port, BIZREG_KOS_TOKEN = "tok-0123456789" })
        server:settimeout(30)  -- a cap so a broken build cannot hang the suite, not a timing assumption
        local c = assert(server:accept())
        local len = 0
        repeat
          local l = assert(c:receive("*l"))
          len = tonumber(l:lower():match("^content%-length:%s*(%d+)")) or len
        until l == ""
        assert(c:receive(len))
        c:send("HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: "
          .. #answer .. "\r\n\r\n" .. answer)
        c:close()
        assert.equal(1, wait_for(function() return cli.exit_code(pid) end, "the run to end"))
        local o, e = cli.read(out), cli.read(err)
        assert.is_true(terminal_safe(o .. e), o .. e)
        if mode[1] then
          assert.equal(1, every_line_json(o))
        else
          assert.is_true(has(o, "\\x1B]0;owned\\x07\\x1B[2J\\u009B\\xFF bad"), o)
        end
      end
      server:close()
    end)
  end)
end)
