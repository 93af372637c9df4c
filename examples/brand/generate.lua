-- Regenerates the example brand files with the project's fixture generator:
--   LUA_PATH="./lua/?.lua;;" lua5.4 examples/brand/generate.lua
-- profile.png: 512x512 PNG (RCS: PNG only, square, 388-1080 px, <= 1 MiB);
-- background.jpg: 800x800 progressive JPEG; certificate.pdf: a small PDF (<= 20 MiB).
-- The images are checkerboards: valid files, not pictures anyone should publish.
local images = require "bizreg.sandbox.images"
local dir = (arg[0]:match("^(.*)/[^/]*$") or ".") .. "/"
images.write(dir .. "profile.png", images.png(512, 512))
images.write(dir .. "background.jpg", images.jpeg(800, 800, { progressive = true }))
images.write(dir .. "certificate.pdf", images.pdf(2048))
print("wrote " .. dir .. "profile.png, background.jpg, certificate.pdf")
