-- The one SHA-256 of the C core (OpenSSL's libcrypto through EVP): core.sha256 gives the
-- standard digests, the same as coreutils' sha256sum for large inputs; and a file given by
-- path goes out byte for byte as the same bytes given as data (the digest recorded at
-- validation and the one computed while streaming agree on unchanged files).
local bizreg = require "bizreg"
local core = require "bizreg.core"
local fx = require "spec.helpers.fixtures"
local shell = require "spec.helpers.shell"

local function hex(s) return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end)) end

local dir = fx.dir .. "/sha256"
shell.execute("rm -rf '" .. dir .. "' && mkdir -p '" .. dir .. "'")

local function sha256sum(bytes)
  local path = dir .. "/in"
  fx.images.write(path, bytes)
  local p = assert(shell.popen("sha256sum '" .. path .. "'"))
  local out = p:read("*a")
  p:close()
  return assert(out:match("^(%x+)"), out)
end

describe("core.sha256", function()
  it("gives the FIPS 180-2 test digests", function()
    assert.equal("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", hex(core.sha256("")))
    assert.equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", hex(core.sha256("abc")))
    assert.equal("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
                 hex(core.sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")))
    assert.equal("cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
                 hex(core.sha256(string.rep("a", 1000000))))
  end)

  it("returns 32 raw bytes, the digest sha256sum gives for large and odd-sized inputs (NUL bytes too)", function()
    local big = fx.images.pdf(3 * 1024 * 1024 + 17):gsub("%%", "\0")
    for _, n in ipairs { 55, 56, 64, 65, #big } do
      local bytes = big:sub(-n)
      local d = core.sha256(bytes)
      assert.equal(32, #d)
      assert.equal(sha256sum(bytes), hex(d), "length " .. n)
    end
  end)

  it("raises for a non-string argument (programmer error)", function()
    assert.has_error(function() core.sha256({}) end)
  end)
end)

describe("a file by path", function()
  it("goes out byte for byte as the same bytes given as data (PNG, JPEG, 3 MiB PDF)", function()
    local files = {
      brandProfile = { fx.png(400, 400), "p.png" },
      brandBackground = { fx.jpeg(600, 600), "b.jpg" },
      subNumCertificate = { fx.images.pdf(3 * 1024 * 1024 + 5), "c.pdf" },
    }
    local by_path = fx.brand { chatbots = { { mdn = "0212345678", subTitle = "t" } } }
    local as_data = fx.brand { chatbots = { { mdn = "0212345678", subTitle = "t" } } }
    for name, f in pairs(files) do
      local path = dir .. "/" .. f[2]
      fx.images.write(path, f[1])
      by_path[name] = path
      as_data[name] = { data = f[1], filename = f[2] }
    end
    local opts = { boundary = "bizreg-test-boundary-sha256" }
    local a = assert(bizreg.prepare_brand(by_path, opts)).body
    local b = assert(bizreg.prepare_brand(as_data, opts)).body
    a = type(a) == "string" and a or assert(a:tostring())
    b = type(b) == "string" and b or assert(b:tostring())
    assert.equal(#b, #a)
    assert.is_true(a == b, "the bodies differ")
  end)
end)
