-- Files between validation and sending: what leaves is what was judged. A file swapped
-- for a FIFO fails at once (no blocking open inside libcurl's read callback), and a file
-- whose bytes changed (same size) aborts the upload before its end: BODY_READ_ERROR, and
-- the server registers nothing.
local bizreg = require "bizreg"
local core = require "bizreg.core"
local sandbox = require "spec.helpers.sandbox"
local fx = require "spec.helpers.fixtures"
local shell = require "spec.helpers.shell"

local ID, SECRET = "sandbox", "SK.sandboxsecret1"
local dir = fx.dir .. "/file-send"
shell.execute("rm -rf '" .. dir .. "' && mkdir -p '" .. dir .. "'")

local function write(path, bytes) fx.images.write(path, bytes) end

local unblocker = shell.unblocker

-- A PDF certificate of `size` bytes written at dir/name, and a brand payload naming it by path.
local function cert_brand(name, size)
  local path, pdf = dir .. "/" .. name, fx.images.pdf(size)
  write(path, pdf)
  return path, pdf, fx.brand { chatbots = { { mdn = "0212345678", subTitle = "t" } }, subNumCertificate = path }
end

describe("files between validation and sending", function()
  local sb
  setup(function() sb = sandbox.start {} end)
  teardown(function() sb:stop() end)
  before_each(function() sb:reset() end)

  local function client()
    return bizreg.rcs { base_url = sb.rcs_url, client_id = ID, client_secret = SECRET, retries = 0, timeout = 20 }
  end

  -- Starts register_brand (validated and encoded at once), runs change(), then waits.
  local function send_after(payload, change)
    local rcs = client()
    local job = rcs:start("register_brand", payload)
    assert.is_false(job.done, "validation failed before the change")
    change()
    local t0 = core.now()
    local res, err = job:wait(30)
    local elapsed = core.now() - t0
    rcs:close()
    return res, err, elapsed
  end

  it("sends the judged file unchanged (sanity)", function()
    local path = dir .. "/same.png"
    write(path, fx.png(400, 400))
    local res, err = send_after(fx.brand { brandProfile = path }, function() write(path, fx.png(400, 400)) end)
    assert.is_nil(err and tostring(err))
    assert.matches("^BR%.", res.brandId)
    assert.equal(1, sb:stats().registered.brands)
  end)

  it("aborts when the content changed but not the size: another valid image", function()
    local path = dir .. "/swap.png"
    local size = 200000
    write(path, fx.png(400, 400, size))
    local other = fx.png(1080, 1080, size)
    local res, err = send_after(fx.brand { brandProfile = path }, function() write(path, other) end)
    assert.is_nil(res)
    assert.equal("BODY_READ_ERROR", err and err.code, err and tostring(err))
    assert.truthy(err.message:find("changed since validation", 1, true), err.message)
    assert.equal(0, sb:stats().registered.brands)
  end)

  it("aborts when one byte in the middle of the file changed", function()
    local path = dir .. "/flip.png"
    local png = fx.png(400, 400)
    write(path, png)
    local mid = math.floor(#png / 2)
    local flipped = png:sub(1, mid) .. string.char((png:byte(mid + 1) + 1) % 256) .. png:sub(mid + 2)
    local res, err = send_after(fx.brand { brandProfile = path }, function() write(path, flipped) end)
    assert.is_nil(res)
    assert.equal("BODY_READ_ERROR", err and err.code, err and tostring(err))
    assert.equal(0, sb:stats().registered.brands)
  end)

  it("aborts when the certificate's header changed (same size)", function()
    local path, pdf, p = cert_brand("cert.pdf", 50000)
    local res, err = send_after(p, function() write(path, "GIF89a" .. pdf:sub(7)) end)
    assert.is_nil(res)
    assert.equal("BODY_READ_ERROR", err and err.code, err and tostring(err))
    assert.equal(0, sb:stats().registered.brands)
  end)

  it("fails at once when the file was replaced by a FIFO (no hang in the read callback)", function()
    local path = dir .. "/fifo.png"
    write(path, fx.png(400, 400))
    local pid
    local res, err, elapsed = send_after(fx.brand { brandProfile = path }, function()
      os.remove(path)
      assert.is_true(shell.execute("mkfifo '" .. path .. "'"))
      pid = unblocker(path, 10)
    end)
    if pid then shell.execute("kill " .. pid .. " 2>/dev/null") end
    os.remove(path)
    assert.is_true(elapsed < 5, "the upload blocked for " .. elapsed .. " s")
    assert.is_nil(res)
    assert.equal("BODY_READ_ERROR", err and err.code, err and tostring(err))
    assert.truthy(err.message:find("not a regular file", 1, true), err.message)
    assert.equal(0, sb:stats().registered.brands)
  end)

  it("fails at once when the file was replaced by a directory", function()
    local path = dir .. "/dir.png"
    write(path, fx.png(400, 400))
    local res, err = send_after(fx.brand { brandProfile = path }, function()
      os.remove(path)
      assert.is_true(shell.execute("mkdir '" .. path .. "'"))
    end)
    shell.execute("rmdir '" .. path .. "'")
    assert.is_nil(res)
    assert.equal("BODY_READ_ERROR", err and err.code, err and tostring(err))
    assert.equal(0, sb:stats().registered.brands)
  end)

  it("fails body:tostring() (prepare path, custom transports) the same way", function()
    local path = dir .. "/tostring.png"
    local png = fx.png(400, 400)
    write(path, png)
    local body = assert(core.encode_brand(fx.brand { brandProfile = path }))
    assert.truthy(body:tostring())
    write(path, png:sub(1, 40) .. string.char((png:byte(41) + 1) % 256) .. png:sub(42))
    local s, msg = body:tostring()
    assert.is_nil(s)
    assert.truthy(msg:find("changed since validation", 1, true), msg)
  end)

  it("body:chunks() gives the same bytes as :tostring(), in pieces of at most the asked size", function()
    local path = dir .. "/chunks.pdf"
    write(path, fx.images.pdf(200000))
    local p = fx.brand { brandProfile = fx.png(400, 400) }
    p.brandProfile = { data = p.brandProfile, filename = "p.png" }
    p.chatbots, p.subNumCertificate = { { mdn = "0212345678", subTitle = "t" } }, path
    local body = assert(core.encode_brand(p))
    local whole = assert(body:tostring())
    for _, size in ipairs { 1000, 65536, 1024 * 1024 } do
      local parts = {}
      for chunk in assert(body:chunks(size)) do
        assert.is_true(#chunk >= 1 and #chunk <= size)
        parts[#parts + 1] = chunk
      end
      assert.equal(math.ceil(#whole / size), #parts)
      assert.is_true(table.concat(parts) == whole, "chunks of " .. size .. " differ")
    end
    assert.has_error(function() body:chunks(0) end)
  end)

  it("body:chunks() stops before the file's end when it changed (nil, message), and stays stopped", function()
    local path, pdf, p = cert_brand("chunks-flip.pdf", 300000)
    local body = assert(core.encode_brand(p))
    local total = body:size()
    write(path, pdf:sub(1, 150000) .. "X" .. pdf:sub(150002))
    local it = body:chunks(4096)
    local n, chunk, msg = 0
    repeat
      chunk, msg = it()
      if chunk then n = n + #chunk end
    until chunk == nil
    assert.truthy(msg and msg:find("changed since validation", 1, true), tostring(msg))
    assert.is_true(n < total, "the whole body came out")
    local again, msg2 = it()
    assert.is_nil(again)
    assert.equal(msg, msg2)
  end)

  it("body:chunks() refuses a freed body, also mid-way", function()
    local body = assert(core.encode_brand(fx.brand { brandProfile = { data = fx.png(400, 400), filename = "p.png" } }))
    local it = assert(body:chunks(100))
    assert.truthy(it())
    body:free()
    local c, msg = it()
    assert.is_nil(c)
    assert.equal("body was freed", msg)
    c, msg = body:chunks()
    assert.is_nil(c)
    assert.equal("body was freed", msg)
  end)
end)
