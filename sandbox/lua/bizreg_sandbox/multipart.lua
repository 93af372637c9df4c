-- Strict multipart/form-data parser (RFC 7578 / RFC 2046), used by the RCS
-- sandbox to see exactly what a client sent. Anything malformed is an error
-- (nil, message) rather than a best guess, so client bugs surface as 64301.
local multipart = {}

local find, sub, lower = string.find, string.sub, string.lower

local TOKEN = "^[!#$%%&'*+%-.^_`|~%w]+"

-- Parses `; name=value` parameters (token or quoted-string values) starting at
-- pos. Returns a table of lower-cased names to values, or nil, err.
local function parse_params(s, pos)
  local params = {}
  while true do
    pos = find(s, "[^ \t]", pos) or #s + 1
    if pos > #s then return params end
    if sub(s, pos, pos) ~= ";" then return nil, "expected ';' in header parameters" end
    pos = find(s, "[^ \t]", pos + 1) or #s + 1
    if pos > #s then return params end -- tolerate a trailing ';'
    local a, b = find(s, TOKEN, pos)
    if not a then return nil, "bad parameter name" end
    local name = lower(sub(s, a, b))
    pos = b + 1
    if sub(s, pos, pos) ~= "=" then return nil, "expected '=' after " .. name end
    pos = pos + 1
    local value
    if sub(s, pos, pos) == '"' then
      -- quoted-string; only \" and \\ are escapes, because browsers and curl
      -- send other backslashes (Windows paths) literally
      local buf, i = {}, pos + 1
      while true do
        local j = find(s, '["\\]', i)
        if not j then return nil, "unterminated quoted string" end
        buf[#buf + 1] = sub(s, i, j - 1)
        if sub(s, j, j) == '"' then
          pos = j + 1
          break
        end
        local nxt = sub(s, j + 1, j + 1)
        if nxt == '"' or nxt == "\\" then
          buf[#buf + 1] = nxt
          i = j + 2
        else
          buf[#buf + 1] = "\\"
          i = j + 1
        end
      end
      value = table.concat(buf)
    else
      local va, vb = find(s, TOKEN, pos)
      if not va then return nil, "bad value for parameter " .. name end
      value = sub(s, va, vb)
      pos = vb + 1
    end
    if params[name] ~= nil then return nil, "duplicate parameter " .. name end
    params[name] = value
  end
end

-- Boundary from a Content-Type header value, or nil, err when the media type
-- is not multipart/form-data or the boundary is missing/invalid.
function multipart.boundary(content_type)
  if type(content_type) ~= "string" then return nil, "no Content-Type" end
  local a, b = find(content_type, "^[ \t]*[^;%s]+")
  if not a then return nil, "empty Content-Type" end
  local media = lower((sub(content_type, a, b):gsub("^[ \t]+", "")))
  if media ~= "multipart/form-data" then return nil, "media type is " .. media end
  local params, err = parse_params(content_type, b + 1)
  if not params then return nil, err end
  local bnd = params.boundary
  if not bnd or #bnd < 1 or #bnd > 70 then return nil, "missing or invalid boundary" end
  if find(bnd, "[^%w'()+_,%-./:=? ]") or sub(bnd, -1) == " " then
    return nil, "invalid characters in boundary"
  end
  return bnd
end

-- Header block of one part: lines "Name: value", no obs-fold.
local function parse_part_headers(block)
  local headers = {}
  if block == "" then return headers end
  local pos = 1
  while pos <= #block do
    local e = find(block, "\r\n", pos, true)
    local line = sub(block, pos, (e or #block + 1) - 1)
    pos = e and e + 2 or #block + 1
    if find(line, "^[ \t]") then return nil, "folded header lines are not allowed" end
    local name, value = line:match("^([!#$%%&'*+%-.^_`|~%w]+):[ \t]*(.-)[ \t]*$")
    if not name then return nil, "malformed part header" end
    name = lower(name)
    if headers[name] then return nil, "duplicate part header " .. name end
    headers[name] = value
  end
  return headers
end

-- Parses body; returns a list of parts {name, filename, content_type, headers, data}
-- or nil, err. Preamble and epilogue are allowed (RFC 2046); the close
-- delimiter is required and every part needs Content-Disposition: form-data; name=.
function multipart.parse(body, boundary)
  if type(body) ~= "string" or body == "" then return nil, "empty body" end
  local delim = "--" .. boundary
  local crlf_delim = "\r\n" .. delim
  local pos
  if sub(body, 1, #delim) == delim then
    pos = #delim + 1
  else
    local _, e = find(body, crlf_delim, 1, true)
    if not e then return nil, "no boundary delimiter" end
    pos = e + 1
  end
  local parts = {}
  while true do
    if sub(body, pos, pos + 1) == "--" then
      if #parts == 0 then return nil, "multipart body has no parts" end
      return parts
    end
    pos = find(body, "[^ \t]", pos) or #body + 1 -- transport padding
    if sub(body, pos, pos + 1) ~= "\r\n" then return nil, "delimiter not followed by CRLF" end
    pos = pos + 2
    local block, content_start
    if sub(body, pos, pos + 1) == "\r\n" then
      block, content_start = "", pos + 2
    else
      local he = find(body, "\r\n\r\n", pos, true)
      if not he then return nil, "unterminated part headers" end
      block, content_start = sub(body, pos, he - 1), he + 4
      if find(block, crlf_delim, 1, true) then return nil, "part without header terminator" end
    end
    local headers, herr = parse_part_headers(block)
    if not headers then return nil, herr end
    local cd = headers["content-disposition"]
    if not cd then return nil, "part without Content-Disposition" end
    local ta, tb = find(cd, TOKEN)
    if not ta or lower(sub(cd, ta, tb)) ~= "form-data" then return nil, "Content-Disposition is not form-data" end
    local params, perr = parse_params(cd, tb + 1)
    if not params then return nil, perr end
    if not params.name then return nil, "part without a name" end
    local ds, de = find(body, crlf_delim, content_start, true)
    if not ds then return nil, "unterminated part" end
    parts[#parts + 1] = {
      name = params.name,
      filename = params.filename,
      content_type = headers["content-type"],
      headers = headers,
      data = sub(body, content_start, ds - 1),
    }
    pos = de + 1
  end
end

return multipart
