-- Writes a JSON Lines batch of N visitor images (default 1,000), one image per line:
--   lua5.4 examples/images/generate.lua [N] > examples/images/batch-1000.jsonl
-- Every line is valid and distinct (file names and shooting times differ), so a
-- registration of the whole file can be counted image by image.
local n = tonumber(arg[1]) or 1000
for i = 1, n do
  local day, minute = 1 + (i - 1) % 28, (i - 1) % 60
  io.write(string.format('{"fileName":"2026/11/%02d/visit-%04d.jpg","visitorId":"65a1b2c3d4e5f6a7b8c9%04x",'
    .. '"source":"HOSPITAL","equipment":{"id":"eq-camera-1"},"category":{"id":"cat-before"},'
    .. '"shootingDateTimeUtc":"2026-11-%02dT%02d:%02d:00.000Z","memo":"시술 사진 %d"}\n',
    day, i, i % 65536, day, 9 + (i - 1) % 9, minute, i))
end
