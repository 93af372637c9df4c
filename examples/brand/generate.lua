-- Regenerates the example brand files with the specs' fixture generator (spec/helpers/images.lua),
-- from the repository root:  lua5.4 examples/brand/generate.lua
-- profile.png: 512x512 PNG (RCS: PNG only, square, 388-1080 px, <= 1 MiB);
-- background.jpg: 800x800 progressive JPEG; certificate.pdf: a small PDF (<= 20 MiB).
-- The images are checkerboards: valid files, not pictures anyone should publish.
package.path = "./?.lua;" .. package.path
local images = require "spec.helpers.images"
local dir = (arg[0]:match("^(.*)/[^/]*$") or ".") .. "/"
images.write(dir .. "profile.png", images.png(512, 512))
images.write(dir .. "background.jpg", images.jpeg(800, 800, { progressive = true }))
images.write(dir .. "certificate.pdf", images.pdf(2048))
print("wrote " .. dir .. "profile.png, background.jpg, certificate.pdf")
