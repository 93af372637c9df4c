-- Reads back the multipart body bizreg.prepare_brand built, to report what would go
-- out: each part's name, filename, Content-Type and size, and for files the type and
-- dimensions detected from the bytes (bizreg.core.sniff, the library's own sniffer).
local core = require "bizreg.core"

local M = {}

-- Returns a list of { name, filename?, content_type?, size, data, detected?, width?, height? }.
function M.parts(body, content_type)
  local boundary = content_type:match("boundary=\"?([^\";]+)\"?")
  if not boundary then return {} end
  local delim = "--" .. boundary
  local parts = {}
  local pos = body:find(delim, 1, true)
  while pos do
    local head_start = pos + #delim
    if body:sub(head_start, head_start + 1) == "--" then break end  -- closing delimiter
    local head_end = body:find("\r\n\r\n", head_start, true)
    if not head_end then break end
    local next_pos = body:find("\r\n" .. delim, head_end + 4, true)
    if not next_pos then break end
    local head = body:sub(head_start + 2, head_end - 1)
    local data = body:sub(head_end + 4, next_pos - 1)
    local p = {
      name = head:match(';%s*[Nn]ame="([^"]*)"'),  -- a parameter of its own, not the tail of filename=
      filename = head:match(';%s*[Ff]ilename="([^"]*)"'),
      content_type = head:match("[Cc]ontent%-[Tt]ype: *([^\r\n]+)"),
      size = #data, data = data,
    }
    if p.filename then
      local kind, w, h = core.sniff(data)
      p.detected = kind ~= "unknown" and kind or nil
      p.width, p.height = w, h
    end
    parts[#parts + 1] = p
    pos = next_pos + 2
  end
  return parts
end

return M
