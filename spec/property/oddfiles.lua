-- File arguments that are not plain readable files, and files that change between
-- validation and sending. Everything lives under one per-run directory.
--
-- Unreadable: the tests run as root, so chmod 000 does not stop a read. Two /proc files
-- do: /proc/sys/vm/compact_memory is write-only even for root (open gives EACCES) and
-- /proc/self/mem opens but its first read fails (EIO). Never /proc/kmsg: reading it
-- blocks and consumes the kernel log.
local images = require "spec.helpers.images"

local F = {}

local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end
local function sh(cmd) return os.execute("env -u LD_PRELOAD " .. cmd .. " >/dev/null 2>&1") end

local function write(path, bytes)
  local f = assert(io.open(path, "wb"))
  assert(f:write(bytes))
  assert(f:close())
end

-- Sets up the static oddities once per process. dir must exist and be private to the run.
function F.init(dir, G)
  F.dir, F.G = dir, G
  local png = G.png(400)
  F.valid_png = dir .. "/valid.png"
  write(F.valid_png, png)
  sh("mkdir -p " .. q(dir .. "/adir"))
  sh("test -p " .. q(dir .. "/fifo") .. " || mkfifo " .. q(dir .. "/fifo"))  -- (opening it to test would block)
  sh("ln -sfn loop2 " .. q(dir .. "/loop1") .. " && ln -sfn loop1 " .. q(dir .. "/loop2"))
  sh("ln -sfn valid.png " .. q(dir .. "/link.png"))
  -- a name that needs escaping in the multipart header (quote, backslash, CR, LF, UTF-8)
  F.weird_png = dir .. "/we\"ird\\ 이름\r\n.png"
  write(F.weird_png, png)
  -- 30 bytes: signature + IHDR 400x400, no IDAT/IEND (issue 7, part 1.7)
  F.short_png = dir .. "/short.png"
  write(F.short_png, png:sub(1, 33):sub(1, 30))
  F.ihdr_only = dir .. "/ihdr-only.png"
  write(F.ihdr_only, png:sub(1, 33))
  F.empty = dir .. "/empty.png"
  write(F.empty, "")
  -- sparse: a PNG/PDF header followed by a hole, over the size limits
  F.big_png = dir .. "/big.png"
  write(F.big_png, png)
  sh("truncate -s 1048577 " .. q(F.big_png))
  F.big_pdf = dir .. "/big.pdf"
  write(F.big_pdf, images.pdf())
  sh("truncate -s 20971521 " .. q(F.big_pdf))
  F.long_path = dir .. "/" .. string.rep("x/", 2100) .. "p.png"
end

-- { name, value = file argument, expect } for a file slot. kinds: what the slot accepts.
function F.static(R, slot_name)
  local d = F.dir
  local list = {
    { "missing", d .. "/nope.png", "invalid" },
    { "directory", d .. "/adir", "invalid" },
    { "fifo", d .. "/fifo", "invalid" },
    { "dev_zero", "/dev/zero", "invalid" },
    { "dev_null", "/dev/null", "invalid" },
    { "symlink_loop", d .. "/loop1", "invalid" },
    { "unreadable_eacces", "/proc/sys/vm/compact_memory", "invalid" },
    { "unreadable_eio", "/proc/self/mem", "invalid" },
    { "nul_in_path", F.valid_png .. "\0.pdf", "invalid" },
    { "nul_in_table_path", { path = F.valid_png .. "\0x" }, "invalid" },
    { "empty_path", "", "invalid" },
    { "name_too_long", F.long_path, "invalid" },
    { "trailing_slash", F.valid_png .. "/", "invalid" },
    { "empty_file", F.empty, "invalid" },
    { "png_30_bytes", F.short_png, "invalid" },
    { "png_ihdr_only", F.ihdr_only, "invalid" },
    { "path_and_data", { path = F.valid_png, data = "x" }, "invalid" },
    { "path_not_string", { path = 42 }, "invalid" },
    { "data_not_string", { data = true }, "invalid" },
    { "filename_only", { filename = "p.png" }, "invalid" },
    { "empty_data", { data = "" }, "invalid" },
    { "number_arg", 42, "invalid" },
  }
  if slot_name ~= "subNumCertificate" then
    list[#list + 1] = { "sparse_over_1mib", F.big_png, "invalid" }
  else
    list[#list + 1] = { "sparse_over_20mib", F.big_pdf, "invalid" }
  end
  -- Valid ones: the oddity is in the name or the route to the bytes, not in the bytes.
  list[#list + 1] = { "symlink_to_valid", d .. "/link.png", "valid" }
  list[#list + 1] = { "weird_name", F.weird_png, "valid" }
  list[#list + 1] = { "weird_filename", { data = F.G.png(400), filename = "a\"b\\c\r\nd;e=f 가.png" }, "valid" }
  list[#list + 1] = { "nul_filename", { data = F.G.png(400), filename = "a\0b.png" }, "any" }
  list[#list + 1] = { "dotdot_path", d .. "/adir/../valid.png", "valid" }
  return R.pick(list)
end

-- Per payload: a fresh copy of a valid profile, and a change applied after validation
-- (client:start() has validated and queued the request) and before bizreg.poll() sends.
-- expect: "body_error" (must fail with BODY_READ_ERROR) or "body_error_or_valid".
function F.midflight(R, G, i)
  local d = F.dir
  local path = string.format("%s/mid-%d.png", d, i)
  -- a valid 400x400 PNG with a private ancillary chunk (prVt) of 52 zero bytes before IEND
  local png = images.png(400, 400, { size = #G.png(400) + 64 })
  write(path, png)
  local at = png:find("prVt", 1, true)
  local pad = string.rep("\1", 52)
  local repainted = png:sub(1, at + 3) .. pad .. string.pack(">I4", images.crc32("prVt" .. pad)) .. png:sub(at + 60)
  assert(#repainted == #png)
  local kinds = {
    { "grow", "body_error", function() local f = io.open(path, "ab"); f:write("x"); f:close() end },
    { "shrink", "body_error", function() write(path, png:sub(1, #png - 1)) end },
    { "truncate_to_zero", "body_error", function() write(path, "") end },
    { "delete", "body_error", function() os.remove(path) end },
    { "replace_by_dir", "body_error", function() os.remove(path); sh("mkdir " .. q(path)) end },
    { "replace_by_fifo", "body_error", function()
      sh("mkfifo " .. q(path .. ".fifo"))
      os.rename(path .. ".fifo", path)
    end },
    -- same size, different header: another valid PNG (388x388 padded to the same size)
    { "same_size_other_png", "body_error", function() write(path, images.png(388, 388, { size = #png })) end },
    -- same size, not a PNG at all (a JPEG padded to the same size)
    { "same_size_jpeg", "body_error", function() write(path, images.jpeg(400, 400, { size = #png })) end },
    -- same size, signature damaged
    { "same_size_bad_magic", "body_error", function() write(path, "\0" .. png:sub(2)) end },
    -- same size, only the private chunk repainted (valid CRC): validation never judged those
    -- bytes, so they may go out, or the stream may refuse them
    { "same_size_private_chunk", "body_error_or_valid", function() write(path, repainted) end },
  }
  local k = R.pick(kinds)
  return { name = k[1], path = path, expect = k[2], apply = k[3],
    cleanup = function() sh("rm -rf " .. q(path) .. " " .. q(path .. ".fifo")) end }
end

return F
