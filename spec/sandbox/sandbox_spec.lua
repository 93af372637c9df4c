-- Tests of the sandbox itself (sandbox/bin/bizreg-sandbox and sandbox/lua/bizreg_sandbox/*),
-- driven with raw luasocket requests so they never depend on bizreg.
--   lua5.4 /usr/bin/busted spec/sandbox/sandbox_spec.lua      (also lua5.1, luajit)
package.path = "./?.lua;./sandbox/lua/?.lua;" .. package.path

local socket = require "socket"
local dkjson = require "dkjson"
local sandbox = require "spec.helpers.sandbox"
local images = require "spec.helpers.images"
local imageinfo = require "bizreg_sandbox.imageinfo"
local multipart = require "bizreg_sandbox.multipart"
local sjson = require "bizreg_sandbox.json"

local function decode(s)
  local v, _, err = dkjson.decode(s)
  assert(v ~= nil, "not JSON: " .. tostring(err) .. ": " .. tostring(s))
  return v
end
local encode = dkjson.encode
local null = dkjson.null

---------------------------------------------------------------- request builders

local BOUNDARY = "sbx-test-boundary-7d3a"

-- parts: { name, data, filename?, type? }
local function form(parts, boundary)
  boundary = boundary or BOUNDARY
  local out = {}
  for _, p in ipairs(parts) do
    local cd = 'Content-Disposition: form-data; name="' .. p.name .. '"'
    if p.filename then cd = cd .. '; filename="' .. p.filename .. '"' end
    out[#out + 1] = "--" .. boundary .. "\r\n" .. cd .. "\r\n"
    if p.type then out[#out + 1] = "Content-Type: " .. p.type .. "\r\n" end
    out[#out + 1] = "\r\n" .. p.data .. "\r\n"
  end
  out[#out + 1] = "--" .. boundary .. "--\r\n"
  return table.concat(out), "multipart/form-data; boundary=" .. boundary
end

local PROFILE = images.png(400, 400)

local function base_brand()
  return {
    name = "테스트브랜드", description = "신규브랜드등록승인요청", tel = "09046123177",
    categoryId = "EDU", subCategoryId = "EDU007", menus = { { buttonType = "call" } },
  }
end

-- o.set / o.unset tweak regBrand; o.regBrand (raw JSON text) replaces it;
-- o.chatbots (table list or raw string), o.profile (bytes or false),
-- o.background, o.cert, o.extra (more parts).
local function brand_parts(o)
  o = o or {}
  local rb = base_brand()
  for k, v in pairs(o.set or {}) do rb[k] = v end
  for _, k in ipairs(o.unset or {}) do rb[k] = nil end
  local parts = { { name = "regBrand", data = o.regBrand or encode({ regBrand = rb }) } }
  if o.chatbots then
    parts[#parts + 1] = { name = "chatbots",
      data = type(o.chatbots) == "string" and o.chatbots or encode({ chatbots = o.chatbots }) }
  end
  if o.profile ~= false then
    parts[#parts + 1] = { name = "brandProfile", filename = "profile.png", type = "image/png", data = o.profile or PROFILE }
  end
  if o.background then
    parts[#parts + 1] = { name = "brandBackground", filename = "bg.jpg", type = "image/jpeg", data = o.background }
  end
  if o.cert then
    parts[#parts + 1] = { name = "subNumCertificate", filename = "cert.pdf", type = "application/pdf", data = o.cert }
  end
  for _, p in ipairs(o.extra or {}) do parts[#parts + 1] = p end
  return parts
end

---------------------------------------------------------------- raw TCP client (keep-alive, concurrency)

local function raw_send(sock, method, path, body, headers)
  local lines = { method .. " " .. path .. " HTTP/1.1", "Host: 127.0.0.1", "Content-Length: " .. #body }
  for k, v in pairs(headers or {}) do lines[#lines + 1] = k .. ": " .. v end
  assert(sock:send(table.concat(lines, "\r\n") .. "\r\n\r\n" .. body))
end

local function raw_read(sock)
  local line = assert(sock:receive("*l"))
  local status = tonumber(line:match("^HTTP/1%.1 (%d+)"))
  local headers = {}
  while true do
    local h = assert(sock:receive("*l"))
    if h == "" then break end
    local k, v = h:match("^([^:]+):%s*(.*)$")
    headers[k:lower()] = v
  end
  local body = ""
  local len = tonumber(headers["content-length"] or "0")
  if len > 0 then body = assert(sock:receive(len)) end
  return status, body, headers
end

---------------------------------------------------------------- fixtures and parsers (no server)

describe("imageinfo", function()
  it("sniffs by magic bytes only", function()
    assert.equal("png", imageinfo.sniff(PROFILE))
    assert.equal("jpeg", imageinfo.sniff("\255\216\255\224"))
    assert.equal("pdf", imageinfo.sniff("%PDF-1.7"))
    assert.equal("tiff", imageinfo.sniff("II*\0...."))
    assert.equal("tiff", imageinfo.sniff("MM\0*...."))
    assert.equal("zip", imageinfo.sniff("PK\3\4...."))
    assert.equal("zip", imageinfo.sniff("PK\5\6...."))
    assert.is_nil(imageinfo.sniff("GIF89a"))
    assert.is_nil(imageinfo.sniff(""))
  end)

  it("walks JPEG markers: fill bytes, RSTn, DHT/DAC are not frames, no SOF before SOS", function()
    local sof = "\255\194\0\17\8\1\44\1\144\3\1\17\0\2\17\1\3\17\1"            -- SOF2 300x400
    local dht = "\255\196\0\20\0\1" .. string.rep("\0", 16)
    local dac = "\255\204\0\4\0\0"
    local j = "\255\216" .. dht .. dac .. "\255\255\255" .. sof:sub(2)
    assert.same({ 400, 300, 0xC2 }, { imageinfo.jpeg_size(j) })
    assert.is_nil(imageinfo.jpeg_size("\255\216\255\218\0\8\1\1\0\0\63\0"))
    assert.is_nil(imageinfo.jpeg_size("\255\216\255\224\0\16JF")) -- truncated
    assert.is_nil(imageinfo.png_size("\137PNG\r\n\26\n\0\0\0\13IHDR"))
  end)
end)

describe("imageinfo completeness (what a decoder needs)", function()
  local function be32s(n)
    return string.char(math.floor(n / 16777216) % 256, math.floor(n / 65536) % 256, math.floor(n / 256) % 256, n % 256)
  end
  local function chunk(kind, data) return be32s(#data) .. kind .. data .. be32s(images.crc32(kind .. data)) end
  local SIG = "\137PNG\r\n\26\n"
  local function ihdr(depth, color, interlace)
    return chunk("IHDR", be32s(1) .. be32s(1) .. string.char(depth, color, 0, 0, interlace or 0))
  end
  local IDAT, IEND = chunk("IDAT", "\120\1\1\2\0\253\255\0\0\0\2\0\1"), chunk("IEND", "")

  it("PNG: IHDR fields, PLTE for indexed colour, one IDAT run, IEND, chunk types, CRCs", function()
    assert.is_true(imageinfo.png_complete(SIG .. ihdr(8, 0) .. IDAT .. IEND))
    assert.is_true(imageinfo.png_complete(SIG .. ihdr(8, 0) .. IDAT .. IDAT .. chunk("tEXt", "k\0v") .. IEND .. "junk"))
    assert.is_true(imageinfo.png_complete(SIG .. ihdr(4, 3) .. chunk("PLTE", "\0\0\0") .. IDAT .. IEND))
    assert.is_true(imageinfo.png_complete(SIG .. ihdr(16, 6, 1) .. IDAT .. IEND))
    local bad = {
      SIG .. ihdr(8, 3) .. IDAT .. IEND,                                   -- indexed without PLTE
      SIG .. ihdr(16, 3) .. chunk("PLTE", "\0\0\0") .. IDAT .. IEND,       -- depth 16 indexed
      SIG .. ihdr(8, 5) .. IDAT .. IEND,                                   -- colour type 5
      SIG .. ihdr(8, 0, 2) .. IDAT .. IEND,                                -- interlace 2
      SIG .. ihdr(8, 2) .. chunk("PLTE", "\0\0") .. IDAT .. IEND,          -- PLTE not a multiple of 3
      SIG .. ihdr(8, 2) .. IDAT .. chunk("PLTE", "\0\0\0") .. IEND,        -- PLTE after IDAT
      SIG .. ihdr(8, 0) .. IDAT .. chunk("tEXt", "k\0v") .. IDAT .. IEND,   -- two IDAT runs
      SIG .. ihdr(8, 0) .. IEND,                                           -- no IDAT
      SIG .. ihdr(8, 0) .. IDAT .. chunk("IEND", "x"),                     -- IEND with data
      SIG .. ihdr(8, 0) .. IDAT .. chunk("t3Xt", "") .. IEND,              -- type not 4 letters
      SIG .. IDAT .. ihdr(8, 0) .. IEND,                                   -- IHDR not first
      SIG .. ihdr(8, 0) .. IDAT,                                           -- no IEND
      SIG .. ihdr(8, 0) .. IDAT .. IEND:sub(1, 11),                        -- IEND cut
    }
    for i, data in ipairs(bad) do assert.is_false(imageinfo.png_complete(data), "case " .. i) end
    local flipped = SIG .. ihdr(8, 0) .. IDAT:sub(1, -2) .. string.char((IDAT:byte(-1) + 1) % 256) .. IEND
    assert.same({ false, "bad CRC in IDAT" }, { imageinfo.png_complete(flipped) })
  end)

  it("JPEG: one frame header, a scan walked to its end, EOI", function()
    local function replace(str, old, new) -- first occurrence, plain
      local a, b = str:find(old, 1, true)
      return str:sub(1, a - 1) .. new .. str:sub(b + 1)
    end
    local j = images.jpeg(400, 400)
    assert.is_true(imageinfo.jpeg_complete(j))
    assert.is_true(imageinfo.jpeg_complete(images.jpeg(400, 400, { progressive = true, exif_pad = 100 })))
    local sof_at = j:find("\255\192", 1, true)
    local sof = j:sub(sof_at, sof_at + 12) -- SOF0 with one component: 13 bytes
    local bad = {
      j:sub(1, -3),                                          -- no EOI
      replace(j, "\255\218", "\255\216"),                     -- a second SOI
      replace(j, "\255\192", sof .. "\255\192"),               -- two frame headers
      replace(j:sub(1, -3), "\42\42\42\42", "\42\255\0\42"),   -- the data ends inside the scan
    }
    for i, data in ipairs(bad) do assert.is_false(imageinfo.jpeg_complete(data), "case " .. i) end
    -- stuffed zeros and RSTn inside a scan are data
    assert.is_true(imageinfo.jpeg_complete(replace(j, "\42\42\42\42", "\42\255\0\255\208\42")))
  end)
end)

describe("multipart parser", function()
  it("reads boundary, names, filenames, types and exact bytes", function()
    local data = "\0\1\2\r\n--not-the-boundary\r\n\255"
    local body = form({
      { name = "regBrand", data = '{"regBrand":{}}' },
      { name = "brandProfile", filename = 'a \\"q\\".png', type = "image/png", data = data },
      { name = "empty", data = "" },
    }, "b'()+_,-./:=?x")
    assert.equal("b'()+_,-./:=?x", multipart.boundary([[multipart/form-data; boundary="b'()+_,-./:=?x"]]))
    assert.equal("b", multipart.boundary('Multipart/Form-Data; charset=x; boundary="b"'))
    assert.equal("simple-1", multipart.boundary("multipart/form-data; boundary=simple-1"))
    local parts = assert(multipart.parse("preamble\r\n" .. body .. "epilogue", "b'()+_,-./:=?x"))
    assert.equal(3, #parts)
    assert.equal("regBrand", parts[1].name)
    assert.is_nil(parts[1].filename)
    assert.equal('a "q".png', parts[2].filename)
    assert.equal(data, parts[2].data)
    assert.equal("image/png", parts[2].content_type)
    assert.equal("", parts[3].data)
  end)

  it("rejects malformed bodies", function()
    local good = form({ { name = "a", data = "x" } }, "B")
    assert.truthy(multipart.parse(good, "B"))
    assert.is_nil(multipart.boundary("application/json"))
    assert.is_nil(multipart.boundary("multipart/form-data"))
    assert.is_nil(multipart.parse(good:sub(1, -5), "B"))                                   -- no close delimiter
    assert.is_nil(multipart.parse("--B\r\nContent-Type: x\r\n\r\nx\r\n--B--", "B"))        -- no disposition
    assert.is_nil(multipart.parse("--B\r\nContent-Disposition: form-data\r\n\r\nx\r\n--B--", "B")) -- no name
    assert.is_nil(multipart.parse("--B\r\nContent-Disposition: attachment; name=a\r\n\r\nx\r\n--B--", "B"))
    assert.is_nil(multipart.parse("--Bjunk\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--B--", "B"))
    assert.is_nil(multipart.parse("--B--\r\n", "B"))                                        -- no parts
    assert.is_nil(multipart.parse("", "B"))
  end)
end)

describe("sandbox JSON codec", function()
  it("tells [] from {}, keeps key order and rejects sloppy JSON", function()
    assert.equal("array", sjson.type(sjson.decode("[]")))
    assert.equal("object", sjson.type(sjson.decode("{}")))
    assert.same({ "b", "a" }, sjson.keys(sjson.decode('{"b":1,"a":2}')))
    assert.equal("\240\159\152\128", sjson.decode('"\\ud83d\\ude00"'))
    for _, bad in ipairs({ '{"a":1,"a":2}', "[1,]", "01", "1.", '{"a":1} x', "\"a\nb\"", "", "nul" }) do
      assert.is_nil(sjson.decode(bad), bad)
    end
    assert.equal('{"b":1,"a":[],"c":null}', sjson.encode(sjson.obj("b", 1, "a", sjson.array(), "c", sjson.null)))
    assert.equal(3, sjson.utf8_length("한글a"))
    assert.is_nil(sjson.utf8_length("\192\128"))   -- overlong
    assert.is_nil(sjson.utf8_length("\237\160\128")) -- surrogate
  end)
end)

---------------------------------------------------------------- the server

describe("sandbox server", function()
  local sb

  setup(function() sb = sandbox.start({ port = 0 }) end)
  teardown(function() if sb then sb:stop() end end)
  before_each(function() sb:reset() end)

  local function post_json(path, value, headers)
    local h = { ["content-type"] = "application/json" }
    for k, v in pairs(headers or {}) do h[k] = v end
    return sb:request("POST", path, { body = type(value) == "string" and value or encode(value), headers = h })
  end

  ------------------------------------------------------------ KOS

  describe("KOS", function()
    local EXCHANGE = "/open/authorization/commands/exchange-token"
    local REGISTER = "/image/open/v1/commands/register-visitor-images"
    local KEY = "11111111-2222-4333-8444-555555555555"
    local AUTH = { authorization = "Bearer sandbox-kos-token" }

    local function kos_error(status, body)
      local e = decode(body)
      assert.equal(status, e.status)
      assert.equal(e.className, e.message)
      return e.className, e.errorProperties
    end

    local function register(images_value, headers)
      return post_json(REGISTER, { images = images_value }, headers or AUTH)
    end

    local function item(over)
      local t = { fileName = "f.png", visitorId = "65f0c1a2b3c4d5e6f7a8b9c0" }
      for k, v in pairs(over or {}) do t[k] = v end
      return t
    end

    it("exchanges the API key for a fresh uuid v4 token", function()
      local st, body = post_json(EXCHANGE, { key = KEY })
      assert.equal(200, st)
      local tok = decode(body).token
      assert.truthy(tok:match("^%x%x%x%x%x%x%x%x%-%x%x%x%x%-4%x%x%x%-[89ab]%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x$"))
      assert.not_equal(tok, decode(select(2, post_json(EXCHANGE, { key = KEY }))).token)
      assert.equal(200, (register({ item() }, { authorization = "Bearer " .. tok })))
    end)

    it("answers 401 for a wrong key and 400 Required for a missing one", function()
      local st, body = post_json(EXCHANGE, { key = "00000000-2222-4333-8444-555555555555" })
      assert.equal(401, st)
      local class, props = kos_error(401, body)
      assert.equal("UnauthorizedException", class)
      assert.same({}, props)
      assert.equal('{"status":401,"message":"UnauthorizedException","className":"UnauthorizedException","errorProperties":[]}', body)
      for _, b in ipairs({ "{}", "not json", '{"key":5}', '{"key":""}' }) do
        st, body = post_json(EXCHANGE, b)
        assert.equal(400, st)
        assert.equal('{"status":400,"message":"InvalidRequestException","className":"InvalidRequestException",' ..
          '"errorProperties":[{"key":"key","reason":"Required"}]}', body)
      end
    end)

    it("requires a known Bearer token", function()
      for _, h in ipairs({ {}, { authorization = "Bearer nope" }, { authorization = "sandbox-kos-token" },
        { authorization = "Basic sandbox-kos-token" } }) do
        local st, body = register({ item() }, h)
        assert.equal(401, st)
        assert.equal("UnauthorizedException", (kos_error(401, body)))
      end
    end)

    it("uses the configured header name and scheme", function()
      sb:config({ kos_auth_header = "X-Kos-Token", kos_auth_scheme = "" })
      assert.equal(401, (register({ item() }, AUTH)))
      assert.equal(200, (register({ item() }, { ["x-kos-token"] = "sandbox-kos-token" })))
    end)

    it("requires an application/json body", function()
      local st, body = sb:request("POST", REGISTER, { body = encode({ images = { item() } }),
        headers = { authorization = AUTH.authorization, ["content-type"] = "text/plain" } })
      assert.equal(400, st)
      assert.equal("InvalidRequestException", (kos_error(400, body)))
      st, body = post_json(REGISTER, "{images:[]}", AUTH)
      assert.equal(400, st)
      assert.equal("InvalidRequestException", (kos_error(400, body)))
      st = sb:request("POST", REGISTER, { body = encode({ images = { item() } }),
        headers = { authorization = AUTH.authorization, ["content-type"] = "application/json; charset=utf-8" } })
      assert.equal(200, st)
    end)

    it("registers images and counts them", function()
      local st, body = register({ item({ source = "HOSPITAL", memo = string.rep("가", 150),
        shootingDateTimeUtc = "2024-05-01T03:00:00.000Z", scheduleId = "s",
        equipment = { id = "e1", category = "IMAGE_EQUIPMENT", name = "n", order = -2147483648,
          closed = false, color = "RED", default = true },
        category = { id = "c1", category = "IMAGE_CATEGORY" } }), item() })
      assert.equal(200, st)
      assert.equal("{}", body)
      local stats = sb:stats()
      assert.equal(2, stats.registered.images)
      assert.equal(1, stats.by_endpoint["kos.register_visitor_images"])
    end)

    it("reports images Required when missing or empty, InvalidType when not an array", function()
      for b, reason in pairs({ ["{}"] = "Required", ['{"images":[]}'] = "Required", ['{"images":null}'] = "Required",
        ['{"images":{}}'] = "InvalidType", ['{"images":"x"}'] = "InvalidType", ['{"images":1}'] = "InvalidType" }) do
        local st, body = post_json(REGISTER, b, AUTH)
        assert.equal(400, st)
        assert.equal('{"status":400,"message":"InvalidCommandException","className":"InvalidCommandException",' ..
          '"errorProperties":[{"key":"images","reason":"' .. reason .. '"}]}', body, b)
      end
    end)

    it("collects every violation with 0-based keys", function()
      local st, body = post_json(REGISTER, '{"images":[' ..
        '{"fileName":"","visitorId":5,"source":"CAMERA","memo":"' .. string.rep("x", 151) .. '",' ..
        '"shootingDateTimeUtc":"2024-02-30T00:00:00Z","equipment":{"order":1.5,"color":"PINK","closed":"no","x":1},' ..
        '"category":{"category":"NOPE","default":1},"extra":true},' ..
        '7,' ..
        '{"fileName":"a","scheduleId":[],"category":"c"}],"more":1}', AUTH)
      assert.equal(400, st)
      local class, props = kos_error(400, body)
      assert.equal("InvalidCommandException", class)
      assert.same({
        { key = "images[0].fileName", reason = "Required" },
        { key = "images[0].visitorId", reason = "InvalidType" },
        { key = "images[0].source", reason = "InvalidEnum" },
        { key = "images[0].equipment.order", reason = "InvalidType" },
        { key = "images[0].equipment.closed", reason = "InvalidType" },
        { key = "images[0].equipment.color", reason = "InvalidEnum" },
        { key = "images[0].equipment.x", reason = "UnknownField" },
        { key = "images[0].shootingDateTimeUtc", reason = "NotAvailable" },
        { key = "images[0].memo", reason = "TooLong" },
        { key = "images[0].category.category", reason = "InvalidEnum" },
        { key = "images[0].category.default", reason = "InvalidType" },
        { key = "images[0].extra", reason = "UnknownField" },
        { key = "images[1]", reason = "InvalidType" },
        { key = "images[2].visitorId", reason = "Required" },
        { key = "images[2].scheduleId", reason = "InvalidType" },
        { key = "images[2].category", reason = "InvalidType" },
        { key = "more", reason = "UnknownField" },
      }, props)
    end)

    it("counts memo length in code points and rejects invalid UTF-8", function()
      assert.equal(200, (register({ item({ memo = string.rep("😀", 150) }) })))
      local st, body = register({ item({ memo = string.rep("😀", 151) }) })
      assert.equal(400, st)
      assert.same({ { key = "images[0].memo", reason = "TooLong" } }, select(2, kos_error(400, body)))
      st, body = post_json(REGISTER, '{"images":[{"fileName":"a\255","visitorId":"v","memo":"\\ud800"}]}', AUTH)
      assert.equal(400, st)
      assert.same({ { key = "images[0].fileName", reason = "InvalidUtf8" },
        { key = "images[0].memo", reason = "InvalidUtf8" } }, select(2, kos_error(400, body)))
    end)

    it("checks int32 range of Code.order", function()
      assert.equal(200, (register({ item({ equipment = { order = 2147483647 } }) })))
      local st, body = register({ item({ equipment = { order = 2147483648 } }) })
      assert.equal(400, st)
      assert.same({ { key = "images[0].equipment.order", reason = "InvalidType" } }, select(2, kos_error(400, body)))
    end)

    it("accepts only RFC 3339 date-times", function()
      for _, ok in ipairs({ "2024-05-01T03:00:00Z", "2024-05-01T03:00:00.123456Z", "2024-02-29T23:59:60+09:00",
        "2000-02-29T00:00:00-00:30" }) do
        assert.equal(200, (register({ item({ shootingDateTimeUtc = ok }) })), ok)
      end
      for _, bad in ipairs({ "2024-05-01", "2024-05-01 03:00:00Z", "2024-05-01T03:00:00", "2023-02-29T00:00:00Z",
        "1900-02-29T00:00:00Z", "2024-13-01T00:00:00Z", "2024-05-01T24:00:00Z", "2024-05-01T03:00Z",
        "2024-05-01T03:00:00+0900", "2024-05-01T03:00:00.Z", "" }) do
        local st, body = register({ item({ shootingDateTimeUtc = bad }) })
        assert.equal(400, st, bad)
        assert.same({ { key = "images[0].shootingDateTimeUtc", reason = "NotAvailable" } }, select(2, kos_error(400, body)))
      end
    end)

    it("answers NotFoundException for the unknown visitor only when nothing else is wrong", function()
      local st, body = register({ item(), item({ visitorId = "000000000000000000000000" }) })
      assert.equal(400, st)
      assert.equal('{"status":400,"message":"NotFoundException","className":"NotFoundException",' ..
        '"errorProperties":[{"key":"images[1].visitorId","reason":"NotFound"}]}', body)
      body = select(2, register({ item({ fileName = "" }), item({ visitorId = "000000000000000000000000" }) }))
      assert.equal("InvalidCommandException", (kos_error(400, body)))
      assert.equal(0, sb:stats().registered.images)
    end)

    it("expires issued and static tokens on request; new tokens work", function()
      local tok = decode(select(2, post_json(EXCHANGE, { key = KEY }))).token
      sb:config({ expire_tokens = true })
      assert.equal(401, (register({ item() }, { authorization = "Bearer " .. tok })))
      assert.equal(401, (register({ item() })))
      local fresh = decode(select(2, post_json(EXCHANGE, { key = KEY }))).token
      assert.equal(200, (register({ item() }, { authorization = "Bearer " .. fresh })))
      sb:config({ expire_tokens = false }) -- static token back; issued ones stay expired
      assert.equal(200, (register({ item() })))
      assert.equal(401, (register({ item() }, { authorization = "Bearer " .. tok })))
    end)
  end)

  ------------------------------------------------------------ RCS

  describe("RCS", function()
    local AUTH = "Bearer sandbox-rcs-token"

    local function rcs_error(body)
      local e = decode(body)
      return e.status, e.error.code, e.error.message
    end

    local function post_brand(o, auth)
      local body, ct = form(brand_parts(o))
      return sb:request("POST", "/api/1.1/corp/brand", { body = body,
        headers = { authorization = auth or AUTH, ["content-type"] = ct } })
    end

    -- asserts a 400 (or given status) RCS error with code and message
    local function expect(code, message, st, body, status)
      status = status or 400
      assert.equal(status, st, body)
      local s, c, m = rcs_error(body)
      assert.equal(status, s)
      assert.equal(code, c)
      assert.equal(message, m)
    end

    local function get_token()
      local st, body = post_json("/api/1.1/token", { clientId = "sandbox", clientSecret = "SK.sandboxsecret1" })
      assert.equal(200, st, body)
      return decode(body)
    end

    it("issues TokenInfo (bare by default, enveloped on request)", function()
      local before = os.time()
      local info = get_token()
      assert.truthy(info.accessToken:match("^[%w_-]+%.[%w_-]+%.[%w_-]+$"))
      assert.equal("sandbox", info.userId)
      assert.same({ "127.0.0.1" }, info.allowedIp)
      local exp = tonumber(info.expiresIn)
      assert.is_true(type(info.expiresIn) == "string" and exp >= before + 3600 and exp <= os.time() + 3600)

      sb:config({ rcs_token_envelope = true, rcs_expires_in = "relative", rcs_token_ttl = 120 })
      local raw = select(2, post_json("/api/1.1/token", { clientId = "sandbox", clientSecret = "SK.sandboxsecret1" }))
      assert.truthy(raw:match('^{"code":"20000000","desc":null,"result":%[{"accessToken":'))
      local env = decode(raw)
      assert.equal(200, env.status)
      assert.equal("120", env.result[1].expiresIn)
      assert.equal(200, (post_brand({}, "Bearer " .. env.result[1].accessToken)))
    end)

    it("rejects wrong client id (61005) and secret (61006)", function()
      local st, body = post_json("/api/1.1/token", { clientId = "other", clientSecret = "SK.sandboxsecret1" })
      expect("61005", "Invalid client id", st, body, 401)
      st, body = post_json("/api/1.1/token", { clientId = "sandbox", clientSecret = "SK.wrong" })
      expect("61006", "Invalid secret key", st, body, 401)
      assert.equal('{"error":{"code":"61006","message":"Invalid secret key"},"status":401}', body)
    end)

    it("registers a brand: result [{brandId}] and counts it", function()
      local st, body = post_brand({})
      assert.equal(200, st, body)
      local r = decode(body)
      assert.equal("20000000", r.code)
      assert.equal(200, r.status)
      assert.truthy(r.result[1].brandId:match("^BR%.[A-Za-z0-9]+$"))
      assert.equal(13, #r.result[1].brandId)
      assert.truthy(body:match('^{"code":"20000000","desc":null,"result":%[{"brandId":"BR%.%w+"}%],"status":200}$'))
      assert.equal(1, sb:stats().registered.brands)
    end)

    it("accepts a full valid brand with chatbots, background and certificate", function()
      local st, body = post_brand({
        set = { menus = { { buttonType = "call" }, { buttonType = "web", weblink = "https://example.com" },
          { buttonType = "store", weblink = "http://s.example", applink = { packageName = "com.a", action = "android.intent.action.VIEW", uri = "abc://x" } } },
          categoryOpt = "", zipCode = "03924", email = "a.b@example.co.kr", webSiteUrl = "https://e.com",
          initTab = "FEED", initFeedItem = "TEL", initFeedItems = { "call", "web", "store", "portalsearch" },
          templateColor = "#A1b2C3", bizInfoYn = "Y", bizInfoTitle = "영업시간 안내", bizInfoContent = "9-18",
          roadAddress = "서울특별시", detailAddress = "17층" },
        chatbots = { { mdn = "0212345678", subNum = "0212345678", subTitle = "이십자까지의대화방이름입니다이십자까지", rcsReply = "0",
          display = "10", inputField = 0, subDescr = string.rep("설", 50), saftyStatusYn = "N" },
          { mdn = "15881234", subTitle = "b" } },
        background = images.jpeg(1080, 1080, { progressive = true, exif_pad = 5000 }),
        cert = images.tiff(),
      })
      assert.equal(200, st, body)
    end)

    it("checks Authorization: 61001, 61002, 61003, 61004", function()
      local body, ct = form(brand_parts())
      local function send(headers)
        headers["content-type"] = ct
        return sb:request("POST", "/api/1.1/corp/brand", { body = body, headers = headers })
      end
      local st, b = send({})
      expect("61001", "Missing Authorization header", st, b, 401)
      st, b = send({ authorization = "Token abc" })
      expect("61002", "Missing Token", st, b, 401)
      st, b = send({ authorization = "Bearer" })
      expect("61002", "Missing Token", st, b, 401)
      st, b = send({ authorization = "Bearer not-issued" })
      expect("61003", "Invalid token", st, b, 401)
      sb:config({ rcs_token_ttl = 0 })
      st, b = send({ authorization = "Bearer " .. get_token().accessToken })
      expect("61004", "Token has expired", st, b, 401)
    end)

    it("expires tokens after rcs_token_ttl seconds", function()
      sb:config({ rcs_token_ttl = 1 })
      local tok = "Bearer " .. get_token().accessToken
      assert.equal(200, (post_brand({}, tok)))
      socket.sleep(1.1)
      local st, body = post_brand({}, tok)
      expect("61004", "Token has expired", st, body, 401)
    end)

    it("expire_tokens expires issued and static tokens; new ones work", function()
      local tok = "Bearer " .. get_token().accessToken
      sb:config({ expire_tokens = true })
      local st, body = post_brand({}, tok)
      expect("61004", "Token has expired", st, body, 401)
      st, body = post_brand({})
      expect("61004", "Token has expired", st, body, 401)
      assert.equal(200, (post_brand({}, "Bearer " .. get_token().accessToken)))
    end)

    it("answers 64301 for non-multipart or unparsable bodies", function()
      local st, body = sb:request("POST", "/api/1.1/corp/brand", { body = '{"regBrand":{}}',
        headers = { authorization = AUTH, ["content-type"] = "application/json" } })
      expect("64301", "Missing Body data", st, body)
      local good = form(brand_parts())
      st, body = sb:request("POST", "/api/1.1/corp/brand", { body = good:sub(1, -10),
        headers = { authorization = AUTH, ["content-type"] = "multipart/form-data; boundary=" .. BOUNDARY } })
      expect("64301", "Missing Body data", st, body)
      st, body = sb:request("POST", "/api/1.1/corp/brand", { body = good,
        headers = { authorization = AUTH, ["content-type"] = "multipart/form-data" } })
      expect("64301", "Missing Body data", st, body)
    end)

    it("rejects unknown or repeated parts (64397) and a missing regBrand (64336)", function()
      local st, body = post_brand({ extra = { { name = "logo", data = "x" } } })
      expect("64397", "invalid body logo", st, body)
      st, body = post_brand({ extra = { { name = "brandProfile", data = PROFILE } } })
      expect("64397", "invalid body brandProfile", st, body)
      local b, ct = form({ { name = "brandProfile", data = PROFILE } })
      st, body = sb:request("POST", "/api/1.1/corp/brand", { body = b, headers = { authorization = AUTH, ["content-type"] = ct } })
      expect("64336", "required value: [regBrand]", st, body)
      assert.equal(200, (post_brand({ extra = { { name = "mainMdn", data = "15225739" } } })))
      -- mainMdn: at most 40 characters (code points, as every other limit)
      assert.equal(200, (post_brand({ extra = { { name = "mainMdn", data = string.rep("가", 40) } } })))
      st, body = post_brand({ extra = { { name = "mainMdn", data = string.rep("가", 41) } } })
      expect("64304", "Over specified size (mainMdn)", st, body)
    end)

    it("answers 64302 for a regBrand/chatbots part that is not {\"regBrand\":{...}} JSON", function()
      for _, raw in ipairs({ "not json", '{"name":"x"}', '{"regBrand":{},"x":1}', '["regBrand"]',
        '{"regBrand":{"name":"\255"}}' }) do
        local st, body = post_brand({ regBrand = raw })
        expect("64302", "Invalid JSON format", st, body)
      end
      -- well-formed, but regBrand is no object: a type error like any other attribute's
      for _, raw in ipairs({ '{"regBrand":[]}', '{"regBrand":"x"}', '{"regBrand":null}' }) do
        local st, body = post_brand({ regBrand = raw })
        expect("64303", "Invalid type of Attribute (regBrand)", st, body)
      end
      local st, body = post_brand({ chatbots = '{"chatbot":[]}', cert = images.pdf() })
      expect("64302", "Invalid JSON format", st, body)
    end)

    it("checks required fields (64336)", function()
      for _, f in ipairs({ "name", "description", "categoryId", "subCategoryId" }) do
        local st, body = post_brand({ unset = { f } })
        expect("64336", "required value: [" .. f .. "]", st, body)
        st, body = post_brand({ set = { [f] = "" } })
        expect("64336", "required value: [" .. f .. "]", st, body)
      end
      local st, body = post_brand({ set = { name = null } })
      expect("64336", "required value: [name]", st, body)
      st, body = post_brand({ set = { menus = { { weblink = "https://x" } } } })
      expect("64336", "required value: [menus[1].buttonType]", st, body)
      st, body = post_brand({ set = { menus = { { buttonType = "call" }, { buttonType = "web" } } } })
      expect("64336", "required value: [menus[2].weblink]", st, body)
      st, body = post_brand({ set = { menus = { { buttonType = "call", applink = { packageName = "p", uri = "u" } } } } })
      expect("64336", "required value: [menus[1].applink.action]", st, body)
      -- tel became optional in v1.1.15
      assert.equal(200, (post_brand({ unset = { "tel" } })))
    end)

    it("checks types (64303)", function()
      local cases = {
        { { name = 5 }, "name" }, { { tel = 9046123177 }, "tel" }, { { menus = { buttonType = "call" } }, "menus" },
        { { menus = { "call" } }, "menus[1]" }, { { menus = { { buttonType = true } } }, "menus[1].buttonType" },
        { { menus = { { buttonType = "call", applink = "x" } } }, "menus[1].applink" },
        { { initFeedItems = "call" }, "initFeedItems" }, { { initFeedItems = { 1 } }, "initFeedItems[1]" },
        { { bizInfoYn = false }, "bizInfoYn" },
      }
      for _, c in ipairs(cases) do
        local st, body = post_brand({ set = c[1] })
        expect("64303", "Invalid type of Attribute (" .. c[2] .. ")", st, body)
      end
    end)

    it("checks sizes in code points and item counts (64304)", function()
      local limits = { name = 20, description = 150, tel = 12, categoryOpt = 20, roadAddress = 200,
        detailAddress = 200, webSiteUrl = 128, bizInfoTitle = 20, bizInfoContent = 200 }
      for f, n in pairs(limits) do
        assert.equal(200, (post_brand({ set = { [f] = string.rep("가", n) } })), f)
        local st, body = post_brand({ set = { [f] = string.rep("가", n + 1) } })
        expect("64304", "Over specified size (" .. f .. ")", st, body)
      end
      local st, body = post_brand({ set = { zipCode = "123456" } })
      expect("64304", "Over specified size (zipCode)", st, body)
      st, body = post_brand({ set = { email = string.rep("a", 20) .. "@example.com" } })
      expect("64304", "Over specified size (email)", st, body)
      st, body = post_brand({ set = { templateColor = "#AABBCCDDEE0" } })
      expect("64304", "Over specified size (templateColor)", st, body)
      local m = { buttonType = "call" }
      st, body = post_brand({ set = { menus = { m, m, m, m } } })
      expect("64304", "Over specified size (menus)", st, body)
      st, body = post_brand({ set = { menus = { { buttonType = "web", weblink = "https://" .. string.rep("a", 121) } } } })
      expect("64304", "Over specified size (menus[1].weblink)", st, body)
      st, body = post_brand({ set = { menus = { { buttonType = "call", applink = { packageName = string.rep("p", 41), action = "a", uri = "u" } } } } })
      expect("64304", "Over specified size (menus[1].applink.packageName)", st, body)
      st, body = post_brand({ set = { initFeedItems = { "call", "call", "call", "call", "portalsearch" } } })
      expect("64304", "Over specified size (initFeedItems)", st, body)
    end)

    it("checks values and formats (64337)", function()
      local cases = {
        { { initTab = "HOME" }, "initTab" }, { { initFeedItem = "WEB" }, "initFeedItem" },
        { { bizInfoYn = "y" }, "bizInfoYn" }, { { zipCode = "1234a" }, "zipCode" }, { { zipCode = "1234" }, "zipCode" },
        { { email = "not-an-email" }, "email" }, { { email = "a@b" }, "email" },
        { { templateColor = "red" }, "templateColor" }, { { templateColor = "#12345" }, "templateColor" },
        { { categoryId = "XYZ" }, "categoryId" }, { { subCategoryId = "ITE001" }, "subCategoryId" },
        { { menus = { { buttonType = "chat" } } }, "menus[1].buttonType" },
        { { menus = { { buttonType = "web", weblink = "ftp://x" } } }, "menus[1].weblink" },
        { { initFeedItems = { "home" } }, "initFeedItems[1]" },
        { { initFeedItems = { "portalsearch", "web" } }, "initFeedItems[2]" },
      }
      for _, c in ipairs(cases) do
        local st, body = post_brand({ set = c[1] })
        expect("64337", "Brand Creation Property Value Error (" .. c[2] .. ")", st, body)
      end
      for cat, sub in pairs({ ITE = "ITE002", FIN = "FIN001", EDU = "EDU010", MED = "MED002" }) do
        assert.equal(200, (post_brand({ set = { categoryId = cat, subCategoryId = sub } })))
      end
      assert.equal(200, (post_brand({ set = { templateColor = "#abc" } })))
    end)

    it("takes email as RFC 5321 dot-atom @ LDH labels, weblink schemes in any case", function()
      for _, v in ipairs({ "a@b.c1", "a.b@c.com", "a+tag@x.kr", "o'neil@x.kr", "a_b@x-y.kr", "1@2.3" }) do
        local st, body = post_brand({ set = { email = v } })
        assert.equal(200, st, v .. ": " .. body)
      end
      for _, v in ipairs({ "a..b@x.kr", ".a@x.kr", "a.@x.kr", "<a>@x.kr", "a@-x.kr", "a@x-.kr", "a@x_y.kr",
        '"a"@x.kr', "a@[1.2.3.4]", "a@x.kr." }) do
        local st, body = post_brand({ set = { email = v } })
        expect("64337", "Brand Creation Property Value Error (email)", st, body)
      end
      for _, v in ipairs({ "HTTPS://x.kr", "Http://x.kr" }) do
        local st, body = post_brand({ set = { menus = { { buttonType = "web", weblink = v } } } })
        assert.equal(200, st, v .. ": " .. body)
      end
      local st, body = post_brand({ set = { menus = { { buttonType = "web", weblink = "HTTPS://" } } } })
      expect("64337", "Brand Creation Property Value Error (menus[1].weblink)", st, body)
    end)

    it("rejects buttonType app with a reason (64338)", function()
      local st, body = post_brand({ set = { menus = { { buttonType = "call" }, { buttonType = "app", weblink = "https://x" } } } })
      expect("64338", "Brand Creation Property Value Error With Reason (menus[2].buttonType): " ..
        "carriers no longer accept buttonType app", st, body)
    end)

    it("rejects unknown keys in regBrand, menus, applink and chatbots (64397)", function()
      local st, body = post_brand({ set = { mainMdn = "1" } })
      expect("64397", "invalid body mainMdn", st, body)
      st, body = post_brand({ set = { menus = { { buttonType = "call", label = "x" } } } })
      expect("64397", "invalid body menus[1].label", st, body)
      st, body = post_brand({ set = { menus = { { buttonType = "call", applink = { packageName = "p", action = "a", uri = "u", x = 1 } } } } })
      expect("64397", "invalid body menus[1].applink.x", st, body)
      st, body = post_brand({ chatbots = { { mdn = "0212345678", subTitle = "a", webhook = "x" } }, cert = images.pdf() })
      expect("64397", "invalid body chatbots[1].webhook", st, body)
    end)

    it("validates chatbots", function()
      local cert = images.pdf()
      local function cb(over)
        local t = { mdn = "0212345678", subTitle = "대화방" }
        for k, v in pairs(over) do t[k] = v end
        return t
      end
      local cases = {
        { { cb({ mdn = null }) }, "64307", "Missing MDN" },
        { { cb({ mdn = "" }) }, "64307", "Missing MDN" },
        { { cb({ mdn = "02-1234-5678" }) }, "64308", "Invalid MDN format" },
        { { cb({ mdn = "01012345678" }) }, "64308", "Invalid MDN format" },
        { { cb({ mdn = string.rep("1", 41) }) }, "64308", "Invalid MDN format" },
        -- a field with its own "bad value" code uses it for a wrong type too (as the client)
        { { cb({ mdn = 212345678 }) }, "64308", "Invalid MDN format" },
        { { cb({ subTitle = 5 }) }, "64374", "Invalid subTitle format" },
        { { cb({ subNum = 212345678 }) }, "64381", "Invalid subNum format" },
        { { cb({ subDescr = true }) }, "64303", "Invalid type of Attribute (chatbots[1].subDescr)" },
        { { cb({ saftyStatusYn = 1 }) }, "64303", "Invalid type of Attribute (chatbots[1].saftyStatusYn)" },
        { { cb({ subTitle = null }) }, "64309", "Missing chatbot name" },
        { { cb({ subTitle = string.rep("가", 21) }) }, "64374", "Invalid subTitle format" },
        { { cb({ rcsReply = "2" }) }, "64311", "Invalid rcsReply format" },
        { { cb({ rcsReply = 1 }) }, "64311", "Invalid rcsReply format" },
        { { cb({ display = "1" }) }, "64310", "Invalid display format" },
        { { cb({ inputField = "1" }) }, "64364", "Invalid inputField format" },
        { { cb({ inputField = 2 }) }, "64364", "Invalid inputField format" },
        { { cb({ subNum = "0299999999" }) }, "64381", "Invalid subNum format" },
        { { cb({ subDescr = string.rep("a", 51) }) }, "64304", "Over specified size (chatbots[1].subDescr)" },
        { { cb({ saftyStatusYn = "X" }) }, "64337", "Brand Creation Property Value Error (chatbots[1].saftyStatusYn)" },
        { { cb({}), cb({ mdn = "0212345678", subTitle = "b" }) }, "64341", "Duplicate MDN 0212345678 in chatbots" },
      }
      for _, c in ipairs(cases) do
        local st, body = post_brand({ chatbots = c[1], cert = cert })
        expect(c[2], c[3], st, body)
      end
      for _, raw in ipairs({ '{"chatbots":[]}', '{"chatbots":"x"}', '{"chatbots":{"mdn":"0212345678"}}' }) do
        local st, body = post_brand({ chatbots = raw, cert = cert })
        expect("64343", "Brand Creation Chatbots Array Error", st, body)
      end
      local st, body
      local many = {}
      for i = 1, 1001 do many[i] = cb({ mdn = tostring(15880000 + i) }) end
      st, body = post_brand({ chatbots = many, cert = cert })
      expect("64343", "Brand Creation Chatbots Array Error", st, body)
      many[1001] = nil
      assert.equal(200, (post_brand({ chatbots = many, cert = cert })))
    end)

    it("checks the brand images by content (64329, 64332, 64333, 64331, 64394, 64335)", function()
      local st, body = post_brand({ profile = false })
      expect("64329", "Missing profile image", st, body)
      st, body = post_brand({ profile = images.jpeg(400, 400) })
      expect("64332", "brand profile file is only png", st, body)
      st, body = post_brand({ profile = images.pdf() })
      expect("64332", "brand profile file is only png", st, body)
      st, body = post_brand({ background = images.pdf() })
      expect("64333", "Not Allowed Brand Image File Extension", st, body)
      st, body = post_brand({ profile = images.png(1080, 1080, { size = 1048577 }) })
      expect("64331", "brand Image File Capacity Overflow", st, body)
      assert.equal(200, (post_brand({ profile = images.png(1080, 1080, { size = 1048576 }) })))
      st, body = post_brand({ background = images.jpeg(1080, 1080, { size = 1048577 }) })
      expect("64331", "brand Image File Capacity Overflow", st, body)
      st, body = post_brand({ profile = images.png(400, 401) })
      expect("64394", "brand image must be 1:1 ratio", st, body)
      st, body = post_brand({ background = images.jpeg(600, 500) })
      expect("64394", "brand image must be 1:1 ratio", st, body)
      for _, side in ipairs({ 387, 1081 }) do
        st, body = post_brand({ profile = images.png(side, side) })
        expect("64335", "Brand Image File Image Size Error", st, body)
      end
      assert.equal(200, (post_brand({ profile = images.png(388, 388), background = images.png(1080, 1080) })))
    end)

    -- As the client (src/media.h) and a decoder: a PNG or JPEG must be complete, else it is
    -- refused with the code of a wrong file type for that part.
    it("refuses incomplete or corrupt PNG/JPEG images (64332, 64333, 64355)", function()
      local png, jpeg = images.png(400, 400), images.jpeg(400, 400)
      local function crc_off(data, at) -- one CRC byte changed (at = offset of the chunk's CRC)
        return data:sub(1, at - 1) .. string.char((data:byte(at) + 1) % 256) .. data:sub(at + 1)
      end
      local bad_png = {
        png:sub(1, 33),                           -- IHDR only
        png:sub(1, -13),                          -- no IEND
        png:sub(1, -2),                           -- IEND's CRC cut
        crc_off(png, 30),                         -- IHDR CRC wrong
        crc_off(png, #png),                       -- IEND CRC wrong
        png:sub(1, 33) .. png:sub(-12),           -- no IDAT
      }
      for i, data in ipairs(bad_png) do
        local st, body = post_brand({ profile = data })
        expect("64332", "brand profile file is only png", st, body)
        st, body = post_brand({ background = data })
        expect("64333", "Not Allowed Brand Image File Extension", st, body)
        st, body = post_brand({ chatbots = { { mdn = "0212345678", subTitle = "a" } }, cert = data })
        assert.equal(400, st, "png " .. i)
        expect("64355", "Not allowed file extension", st, body)
      end
      local bad_jpeg = {
        jpeg:sub(1, -3),                          -- no EOI
        jpeg:sub(1, -7),                          -- cut in the scan
        jpeg:gsub("\255\218.*$", "\255\217"),    -- no scan
      }
      for _, data in ipairs(bad_jpeg) do
        local st, body = post_brand({ background = data })
        expect("64333", "Not Allowed Brand Image File Extension", st, body)
      end
      -- bytes after IEND / EOI are no part of the image
      assert.equal(200, (post_brand({ profile = png .. "trailing", background = jpeg .. "\0\0" })))
    end)

    it("checks the certificate (64305, 64355, 64354)", function()
      local bots = { { mdn = "0212345678", subTitle = "a" } }
      local st, body = post_brand({ chatbots = bots })
      expect("64305", "Missing Certification document", st, body)
      st, body = post_brand({ chatbots = bots, cert = "GIF89a...." })
      expect("64355", "Not allowed file extension", st, body)
      -- "PK\7\8": the spanning signature a one-segment split archive starts with (APPNOTE 8.5.3)
      local spanned = "PK\7\8" .. images.zip()
      for _, cert in ipairs({ images.jpeg(10, 10), images.png(10, 10), images.pdf(), images.tiff(), images.zip(),
        images.empty_zip(), spanned }) do
        assert.equal(200, (post_brand({ chatbots = bots, cert = cert })))
      end
      st, body = post_brand({ chatbots = bots, cert = images.zip(20971521) })
      expect("64354", "Attached File Capacity Overflow", st, body)
      assert.equal(200, (post_brand({ chatbots = bots, cert = images.zip(20971520) })))
    end)

    it("returns the first violation in rule order", function()
      -- regBrand fields before chatbots before files; table order within regBrand
      local st, body = post_brand({ unset = { "description" }, set = { name = string.rep("x", 21) },
        chatbots = { { mdn = "x" } }, profile = false })
      expect("64304", "Over specified size (name)", st, body)
      st, body = post_brand({ set = { zipCode = "1" }, chatbots = { { mdn = "x" } }, profile = false })
      expect("64337", "Brand Creation Property Value Error (zipCode)", st, body)
      st, body = post_brand({ chatbots = { { mdn = "x" } }, profile = false })
      expect("64308", "Invalid MDN format", st, body)
      st, body = post_brand({ profile = images.pdf(), background = images.pdf() })
      expect("64332", "brand profile file is only png", st, body)
      -- auth comes before everything
      st, body = sb:request("POST", "/api/1.1/corp/brand", { body = "junk", headers = { ["content-type"] = "text/plain" } })
      expect("61001", "Missing Authorization header", st, body, 401)
    end)

    it("resubmits a known brand with PUT (64316 for others)", function()
      local id = decode(select(2, post_brand({}))).result[1].brandId
      local body, ct = form(brand_parts())
      local st, out = sb:request("PUT", "/api/1.1/corp/brand/" .. id, { body = body,
        headers = { authorization = AUTH, ["content-type"] = ct } })
      assert.equal(200, st, out)
      assert.equal(id, decode(out).result[1].brandId)
      for _, bad in ipairs({ "BR.unknown123", "BR.0123456789X" }) do
        st, out = sb:request("PUT", "/api/1.1/corp/brand/" .. bad, { body = body,
          headers = { authorization = AUTH, ["content-type"] = ct } })
        expect("64316", "Invalid brandId", st, out)
      end
      local stats = sb:stats()
      assert.equal(1, stats.registered.brands)
      assert.equal(3, stats.by_endpoint["rcs.resubmit_brand"])
    end)
  end)

  ------------------------------------------------------------ control API and transport

  describe("control API", function()
    it("counts API requests per endpoint, not control requests", function()
      post_json("/api/1.1/token", { clientId = "sandbox", clientSecret = "SK.sandboxsecret1" })
      post_json("/open/authorization/commands/exchange-token", { key = "nope" })
      sb:request("GET", "/nowhere")
      sb:stats()
      sb:requests()
      local s = sb:stats()
      assert.equal(3, s.requests)
      assert.equal(3, s.connections) -- luasocket's http closes every connection
      -- every other endpoint (more are added as the API grows) counts 0
      local want = { ["kos.exchange_token"] = 1, ["rcs.token"] = 1, ["kos.register_visitor_images"] = 0,
        ["rcs.register_brand"] = 0, ["rcs.resubmit_brand"] = 0,
        ["kos.search_visitors"] = 0, ["rcs.register_chatbots"] = 0 }
      for name, n in pairs(s.by_endpoint) do assert.equal(want[name] or 0, n, name) end
      for name in pairs(want) do assert.is_not_nil(s.by_endpoint[name], name) end
      assert.same({ images = 0, brands = 0, chatbots = 0 }, s.registered)
    end)

    it("records requests with their exact body bytes", function()
      local bin = "\0\1\2\255\r\n" .. images.png(10, 10)
      local body, ct = form({ { name = "regBrand", data = "x" }, { name = "brandProfile", filename = "p.png", data = bin } })
      sb:request("POST", "/api/1.1/corp/brand", { body = body, headers = { ["content-type"] = ct } })
      sb:request("PUT", "/open/x", { body = "abc" })
      local recs = sb:requests()
      assert.equal(2, #recs)
      assert.same({ n = 1, method = "POST", path = "/api/1.1/corp/brand", content_type = ct, length = #body, status = 401 }, recs[1])
      assert.equal(404, recs[2].status)
      assert.equal(body, sb:body(1))
      assert.equal("abc", sb:body())
      assert.equal("abc", sb:body(2))
      assert.has_error(function() sb:body(3) end)
    end)

    it("answers 404/405 for unknown paths and methods", function()
      assert.equal(404, (sb:request("POST", "/api/1.1/nothing", { body = "" })))
      assert.equal(405, (sb:request("GET", "/api/1.1/token")))
      assert.equal(404, (sb:request("GET", "/_sandbox/nothing")))
    end)

    it("rejects unknown or invalid config keys and changes nothing then", function()
      local st, body = sb:request("POST", "/_sandbox/config", { body = '{"delay_ms":5,"nope":1}' })
      assert.equal(400, st)
      assert.truthy(body:find("nope", 1, true))
      assert.equal(400, (sb:request("POST", "/_sandbox/config", { body = '{"rcs_expires_in":"soon"}' })))
      assert.equal(400, (sb:request("POST", "/_sandbox/config", { body = '{"fail_next":{"status":404}}' })))
      assert.equal(400, (sb:request("POST", "/_sandbox/config", { body = "[]" })))
      assert.equal(0, decode(select(2, sb:request("GET", "/_sandbox/config"))).delay_ms)
    end)

    it("fail_next answers N requests of one endpoint with the given status", function()
      sb:config({ fail_next = { status = 503, count = 2, endpoint = "rcs.token" } })
      local creds = { clientId = "sandbox", clientSecret = "SK.sandboxsecret1" }
      assert.equal(200, (post_json("/open/authorization/commands/exchange-token", { key = "11111111-2222-4333-8444-555555555555" })))
      local st, body = post_json("/api/1.1/token", creds)
      assert.equal(503, st)
      assert.equal('{"error":{"code":"50300","message":"Service Unavailable"},"status":503}', body)
      assert.equal(503, (post_json("/api/1.1/token", creds)))
      assert.equal(200, (post_json("/api/1.1/token", creds)))
      assert.equal(3, sb:stats().by_endpoint["rcs.token"])

      sb:config({ fail_next = { status = 429, endpoint = "kos.register_visitor_images" } })
      local headers
      st, body, headers = post_json("/image/open/v1/commands/register-visitor-images", "{}", {})
      assert.equal(429, st)
      assert.equal("0", headers["retry-after"])
      assert.equal("TooManyRequestsException", decode(body).className)
      assert.equal(401, (post_json("/image/open/v1/commands/register-visitor-images", "{}", {})))
    end)

    it("reset clears counters, records, registrations, tokens and config", function()
      sb:config({ delay_ms = 1, rcs_token = "other" })
      post_json("/api/1.1/token", {})
      sb:reset()
      local s = sb:stats()
      assert.equal(0, s.requests)
      assert.equal(0, s.connections)
      assert.same({}, sb:requests())
      assert.equal("sandbox-rcs-token", decode(select(2, sb:request("GET", "/_sandbox/config"))).rcs_token)
    end)
  end)

  describe("faults", function()
    local KOS = "/image/open/v1/commands/register-visitor-images"
    local AUTH = { authorization = "Bearer sandbox-kos-token", ["content-type"] = "application/json" }
    local ONE = '{"images":[{"fileName":"a.jpg","visitorId":"65a1b2c3d4e5f6a7b8c9d0e1"}]}'

    local function control(method, path, body)
      local st, out = sb:request(method, path, body and { body = body } or nil)
      return st, decode(out)
    end

    it("arms, lists and clears faults; rejects bad ones and changes nothing then", function()
      local st, list = control("POST", "/_sandbox/fault", '{"endpoint":"rcs.token","mode":"hang","count":2,"hold_ms":500}')
      assert.equal(200, st)
      assert.same({ { mode = "hang", endpoint = "rcs.token", count = 2, hold_ms = 500 } }, list)
      sb:config { fail_next = { status = 503 } }
      assert.same({ mode = "status", count = 1, status = 503 }, sb:faults()[2])
      local bad = {
        '{"endpoint":"rcs.token","mode":"explode"}', '{"endpoint":"nowhere","mode":"hang"}',
        '{"endpoint":"rcs.token","mode":"hang","count":0}', '{"endpoint":"rcs.token","mode":"hang","bytes":5}',
        '{"endpoint":"rcs.token","mode":"redirect_302"}', '{"endpoint":"rcs.token","mode":"echo","escape":"rot13"}',
        '{"endpoint":"rcs.token","mode":"reset_before_read","commit":true}', '[]',
      }
      for _, doc in ipairs(bad) do
        local bst, out = control("POST", "/_sandbox/fault", doc)
        assert.equal(400, bst, doc)
        assert.truthy(out.error, doc)
      end
      assert.equal(2, #sb:faults())
      assert.equal(2, sb:stats().faults_pending)
      assert.same({}, sb:clear_faults())
      assert.is_nil(decode(select(2, sb:request("GET", "/_sandbox/config"))).fail_next) -- null
    end)

    it("applies a fault to its endpoint only, count times, then answers normally", function()
      sb:fault { endpoint = "kos.register_visitor_images", mode = "html_500", count = 2 }
      assert.equal(200, (post_json("/open/authorization/commands/exchange-token", { key = "11111111-2222-4333-8444-555555555555" })))
      for _ = 1, 2 do
        local st, body, headers = post_json(KOS, ONE, AUTH)
        assert.equal(500, st)
        assert.equal("text/html", headers["content-type"])
        assert.truthy(body:find("<html>", 1, true))
      end
      assert.equal(200, (post_json(KOS, ONE, AUTH)))
      local s = sb:stats()
      assert.equal(1, s.registered.images)
      assert.equal(3, s.received["kos.register_visitor_images"])
      local recs = sb:requests()
      assert.equal("html_500", recs[2].fault)
      assert.is_nil(recs[4].fault)
    end)

    it("counts bodies read completely, and a body seen before as a duplicate", function()
      sb:fault { endpoint = "kos.register_visitor_images", mode = "reset_after_headers" }
      sb:fault { endpoint = "kos.register_visitor_images", mode = "reset_after_body" }
      for _ = 1, 4 do pcall(post_json, KOS, ONE, AUTH) end
      local s = sb:stats()
      assert.equal(4, s.by_endpoint["kos.register_visitor_images"])
      assert.equal(3, s.received["kos.register_visitor_images"]) -- the after_headers one was never read
      assert.equal(2, s.duplicates["kos.register_visitor_images"])
      assert.equal(2, s.registered.images) -- duplicates are still registered: the sandbox only counts
      local recs = sb:requests()
      assert.same({ false, false, true, true }, { recs[1].duplicate == true, recs[2].duplicate == true,
        recs[3].duplicate == true, recs[4].duplicate == true })
      assert.is_nil(recs[1].length) -- null: the body was not read
      assert.has_error(function() sb:body(1) end)
    end)

    it("marks requests on a reused connection, and close_idle ends idle connections", function()
      local sock = assert(socket.connect("127.0.0.1", sb.port))
      sock:settimeout(5)
      raw_send(sock, "POST", KOS, ONE, AUTH)
      assert.equal(200, (raw_read(sock)))
      raw_send(sock, "POST", KOS, ONE, AUTH)
      assert.equal(200, (raw_read(sock)))
      local recs = sb:requests()
      assert.is_nil(recs[1].reused)
      assert.is_true(recs[2].reused)
      assert.equal(1, sb:close_idle())
      assert.equal("closed", select(2, sock:receive(1)))
      sock:close()
    end)

    it("echoes the Authorization header and the body in the answer and its headers", function()
      sb:fault { endpoint = "kos.register_visitor_images", mode = "echo", status = 400 }
      local st, body, headers = post_json(KOS, ONE, AUTH)
      assert.equal(400, st)
      assert.equal("Bearer sandbox-kos-token", headers["x-echo-authorization"])
      assert.equal(ONE, headers["x-echo-body"])
      local doc = decode(body)
      assert.equal("Bearer sandbox-kos-token", doc.className)
      assert.equal(ONE, doc.message)
      assert.equal("Bearer sandbox-kos-token", sb:headers().authorization)
      sb:fault { endpoint = "kos.register_visitor_images", mode = "echo", escape = "unicode" }
      st, body = post_json(KOS, ONE, AUTH)
      assert.equal(200, st)
      assert.is_nil(body:find("sandbox-kos-token", 1, true))
      assert.equal("Bearer sandbox-kos-token", decode(body).className)
    end)

    it("redirects to another port without following, and breaks framing on request", function()
      sb:fault { endpoint = "kos.register_visitor_images", mode = "redirect_307", port = 9 }
      local st, _, headers = post_json(KOS, ONE, AUTH)
      assert.equal(307, st)
      assert.equal("http://127.0.0.1:9" .. KOS, headers.location)
      sb:fault { endpoint = "kos.register_visitor_images", mode = "truncate" }
      local sock = assert(socket.connect("127.0.0.1", sb.port))
      sock:settimeout(5)
      raw_send(sock, "POST", KOS, ONE, AUTH)
      local all = sock:receive("*a") -- until the server's FIN
      sock:close()
      local head, rest = all:match("^(.-\r\n\r\n)(.*)$")
      assert.truthy(head:find("Content-Length: 200", 1, true))
      assert.equal(100, #rest)
    end)

    it("commit registers before the fault", function()
      sb:fault { endpoint = "kos.register_visitor_images", mode = "fin_after_body", commit = true }
      assert.is_false(pcall(post_json, KOS, ONE, AUTH)) -- the connection closed without an answer
      assert.equal(1, sb:stats().registered.images)
    end)
  end)

  describe("transport", function()
    it("keeps one connection alive for sequential requests", function()
      local sock = assert(socket.connect("127.0.0.1", sb.port))
      sock:settimeout(5)
      raw_send(sock, "POST", "/open/authorization/commands/exchange-token", '{"key":"11111111-2222-4333-8444-555555555555"}')
      local st1 = raw_read(sock)
      raw_send(sock, "POST", "/api/1.1/token", '{"clientId":"sandbox","clientSecret":"SK.sandboxsecret1"}')
      local st2, body2 = raw_read(sock)
      sock:close()
      assert.equal(200, st1)
      assert.equal(200, st2)
      assert.truthy(decode(body2).accessToken)
      local s = sb:stats()
      assert.equal(2, s.requests)
      assert.equal(1, s.connections)
    end)

    it("answers Expect: 100-continue before the body arrives", function()
      local sock = assert(socket.connect("127.0.0.1", sb.port))
      sock:settimeout(5)
      local body = '{"key":"11111111-2222-4333-8444-555555555555"}'
      assert(sock:send("POST /open/authorization/commands/exchange-token HTTP/1.1\r\nHost: x\r\n" ..
        "Expect: 100-continue\r\nContent-Length: " .. #body .. "\r\n\r\n"))
      assert.equal("HTTP/1.1 100 Continue", (sock:receive("*l")))
      assert.equal("", (sock:receive("*l")))
      assert(sock:send(body))
      assert.equal(200, (raw_read(sock)))
      sock:close()
    end)

    it("delays answers by delay_ms", function()
      sb:config({ delay_ms = 400 })
      local t0 = socket.gettime()
      local a = assert(socket.connect("127.0.0.1", sb.port))
      a:settimeout(5)
      raw_send(a, "POST", "/api/1.1/token", "{}")
      assert.equal(401, (raw_read(a)))
      a:close()
      -- a lower bound only: a busy machine makes the wait longer, never shorter
      local elapsed = socket.gettime() - t0
      assert.is_true(elapsed >= 0.39, "elapsed " .. elapsed)
    end)

    it("holds delayed answers without blocking other requests or control requests", function()
      -- a delay no test outlives: while both requests wait in it, the sandbox has read both
      -- bodies (handled side by side, not one after the other) and still answers control requests
      sb:config({ delay_ms = 600000 })
      local a = assert(socket.connect("127.0.0.1", sb.port))
      local b = assert(socket.connect("127.0.0.1", sb.port))
      a:settimeout(5)
      b:settimeout(5)
      raw_send(a, "POST", "/api/1.1/token", "{}")
      raw_send(b, "POST", "/api/1.1/token", "{}")
      local recs
      for _ = 1, 500 do  -- bounded: each round is a control request, answered at once
        recs = sb:requests()
        if #recs == 2 and recs[1].length and recs[2].length then break end
        socket.select(nil, nil, 0.01)
      end
      assert.equal(2, #recs)
      assert.same({ 2, 2 }, { recs[1].length, recs[2].length })
      assert.same({ nil, nil }, { recs[1].status, recs[2].status })  -- neither answered yet
      for _, s in ipairs({ a, b }) do
        s:settimeout(0)
        local _, err = s:receive(1)
        assert.equal("timeout", err)
        s:close()
      end
      sb:config({ delay_ms = 0 })
    end)
  end)
end)

describe("sandbox command line", function()
  it("refuses hosts other than loopback", function()
    local p = require("spec.helpers.shell").popen("bin/bizreg-sandbox --host 0.0.0.0 --port 0 2>&1; echo rc=$?")
    local out = p:read("*a")
    p:close()
    assert.truthy(out:find("--host must be", 1, true))
    assert.truthy(out:find("rc=2", 1, true))
  end)

  -- every launcher of the sandbox: the checkout's, the library command's (`bizreg sandbox`
  -- execs the same launcher the sandbox rock installs), and the spec's echo server, on a port
  -- another socket holds
  local sb_hint = "is already in use; choose another with --port N"
  for _, c in ipairs({ { "bin/bizreg-sandbox --port ", "bizreg-sandbox", sb_hint },
      { "sandbox/bin/bizreg-sandbox --port ", "bizreg-sandbox", sb_hint }, { "bin/bizreg sandbox --port ", "bizreg-sandbox", sb_hint },
      { "lua5.1 spec/helpers/echo.lua ", "echo.lua", "is already in use; choose another PORT" } }) do
    it("answers a busy port with one line and exit 2: " .. c[1], function()
      local holder = assert(socket.bind("127.0.0.1", 0))
      local _, port = holder:getsockname()
      local p = require("spec.helpers.shell").popen(c[1] .. port .. " 2>&1; echo rc=$?")
      local out = p:read("*a")
      p:close()
      holder:close()
      assert.equal(c[2] .. ": port " .. port .. " on 127.0.0.1 " .. c[3] .. "\n" .. "rc=2\n", out)
    end)
  end

  it("starts on a fixed port and stops idempotently", function()
    -- a port that was free a moment ago, not a constant: make test's parts and the Debian
    -- roots (one network) run this spec at the same time, and 18991 once collided
    local probe = assert(socket.bind("127.0.0.1", 0))
    local _, port = probe:getsockname()
    probe:close()
    local sb = sandbox.start({ port = tonumber(port) })
    assert.equal("http://127.0.0.1:" .. port, sb.url)
    assert.equal("http://127.0.0.1:" .. port .. "/api/1.1", sb.rcs_url)
    assert.equal(0, sb:stats().requests)
    sb:stop()
    sb:stop()
    assert.has_error(function() sb:stats() end)
  end)
end)
