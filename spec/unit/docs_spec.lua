-- The docs split by reader (issue 18): a short README that points into docs/, and guides whose
-- links lead somewhere. Links into the generated LDoc reference (doc/…) are checked against
-- the rendered HTML by spec/checks/docs_html.sh, after `make docs`.
local cli = require "spec.cli.run"

local README_MAX_LINES = 250

local function read(path) return assert(cli.read(path), "cannot read " .. path) end

local function guides()
  local list = {}
  local p = assert(io.popen("ls docs/*.md 2>/dev/null"))
  for path in p:lines() do list[#list + 1] = path end
  p:close()
  table.sort(list)
  return list
end

-- GitHub's heading anchors: lower case, markup and punctuation dropped (non-ASCII letters kept),
-- each space a hyphen; a repeated heading gets -1, -2, …
local function anchors(text)
  local set, seen, in_code = {}, {}, false
  for line in (text .. "\n"):gmatch("(.-)\n") do
    if line:match("^```") then in_code = not in_code end
    local title = not in_code and line:match("^#+%s+(.-)%s*$")
    if title then
      local slug = title:lower():gsub("[^%w%s%-_\128-\255]", ""):gsub("%s", "-")
      local n = seen[slug]
      seen[slug] = (n or 0) + 1
      set[n and (slug .. "-" .. n) or slug] = true
    end
  end
  return set
end

local function dirname(path) return path:match("^(.*)/[^/]*$") or "." end

-- Joins a relative link to the directory of the file it is in, folding "x/.." away.
local function resolve(from, target)
  local parts = {}
  for seg in (dirname(from) .. "/" .. target):gmatch("[^/]+") do
    if seg == ".." and #parts > 0 and parts[#parts] ~= ".." then parts[#parts] = nil
    elseif seg ~= "." then parts[#parts + 1] = seg end
  end
  return table.concat(parts, "/")
end

-- Every relative link of a markdown file (outside code blocks and code spans) as { target, anchor }.
local function links(text)
  local list, in_code = {}, false
  for line in (text .. "\n"):gmatch("(.-)\n") do
    if line:match("^```") then in_code = not in_code
    elseif not in_code then
      for target in line:gsub("`[^`]*`", "``"):gmatch("%]%(([^)%s]+)%)") do
        if not target:match("^%a[%w+.-]*:") then            -- not http:, https:, mailto:
          local file, anchor = target:match("^([^#]*)#?(.*)$")
          list[#list + 1] = { target = target, file = file, anchor = anchor ~= "" and anchor or nil }
        end
      end
    end
  end
  return list
end

-- The problems of one file's relative links: a file that does not exist, an anchor its target
-- (a markdown file) does not have. Links into the generated reference (doc/) are left out.
local function broken(path, only_docs)
  local bad = {}
  for _, l in ipairs(links(read(path))) do
    local target = l.file == "" and path or resolve(path, l.file)
    -- skipped: the generated LDoc reference (spec/checks/docs_html.sh checks those links) and,
    -- with only_docs, links outside docs/
    local skip = target:match("^doc/") or (only_docs and not target:match("^docs/"))
    if not skip then
      local body = cli.read(target)
      if not body then
        bad[#bad + 1] = path .. ": " .. l.target .. " (no file " .. target .. ")"
      elseif l.anchor and target:match("%.md$") and not anchors(body)[l.anchor] then
        bad[#bad + 1] = path .. ": " .. l.target .. " (no heading #" .. l.anchor .. " in " .. target .. ")"
      end
    end
  end
  return bad
end

describe("docs", function()
  it("README.md is at most " .. README_MAX_LINES .. " lines and keeps the two commands on its first screen", function()
    local text = read("README.md")
    local n = select(2, text:gsub("\n", "\n"))
    assert.is_true(n <= README_MAX_LINES, "README.md has " .. n .. " lines")
    local first = table.concat({ text:match(("[^\n]*\n"):rep(24)) }, "")
    assert.truthy(first:find("make demo", 1, true), "make demo is not on the first screen")
    assert.truthy(first:find("make test", 1, true), "make test is not on the first screen")
  end)

  it("has at least four guides under docs/, each linked from the README", function()
    local list = guides()
    assert.is_true(#list >= 4, #list .. " guides")
    local text = read("README.md")
    for _, g in ipairs(list) do
      assert.truthy(text:find("](" .. g, 1, true), g .. " is not linked from README.md")
    end
  end)

  it("every docs/*.md link in the README resolves (file and #anchor)", function()
    assert.same({}, broken("README.md", true))
  end)

  it("every relative link in README.md, CHANGELOG.md and docs/*.md resolves (file and #anchor)", function()
    local bad = broken("README.md")
    for _, b in ipairs(broken("CHANGELOG.md")) do bad[#bad + 1] = b end
    for _, g in ipairs(guides()) do
      for _, b in ipairs(broken(g)) do bad[#bad + 1] = b end
    end
    assert.same({}, bad)
  end)

  it("the link checker finds a missing file and a missing anchor", function()
    cli.setup()
    local dir = cli.dir .. "/docs-check"
    assert(os.execute("mkdir -p " .. dir))
    local p = cli.write(dir .. "/a.md", "# A guide\n\n## Some `code` here\n\n"
      .. "[ok](#some-code-here) [ok](b.md#b-title) [gone](c.md) [no anchor](b.md#nowhere)\n"
      .. "`[in a span](x.md)`\n```\n[in a block](y.md)\n```\n[web](https://example.kr/x.md)\n")
    cli.write(dir .. "/b.md", "# B title\n")
    local bad = broken(p)
    assert.equal(2, #bad, table.concat(bad, "\n"))
    assert.truthy(bad[1]:find("c.md (no file", 1, true))
    assert.truthy(bad[2]:find("no heading #nowhere", 1, true))
  end)

  -- The routes table (bizreg.routes) and the reliability guide's copy of it cannot drift.
  local function doc_routes(text)
    local rows = {}
    for line in (text .. "\n"):gmatch("(.-)\n") do
      local route, v = line:match("^| `([A-Z]+ /[^`]*)` | (%a+) |")
      if route then rows[route] = v end
    end
    return rows
  end

  it("docs/reliability.md shows bizreg.routes: the same routes, each once or repeat alike", function()
    local rows = doc_routes(read("docs/reliability.md"))
    assert.same(require("bizreg.routes").ROUTES, rows)
  end)

  it("the routes check sees a changed, a missing and an extra row", function()
    local text = "| `GET /a` | repeat | x |\n| `POST /b` | once | y |\n"
    assert.same({ ["GET /a"] = "repeat", ["POST /b"] = "once" }, doc_routes(text))
    assert.are_not.same({ ["GET /a"] = "once", ["POST /b"] = "once" }, doc_routes(text))
    assert.are_not.same({ ["GET /a"] = "repeat" }, doc_routes(text))
  end)
end)
