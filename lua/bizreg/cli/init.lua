-- The bizreg command: argument handling and dispatch (bin/bizreg calls main).
local bizreg = require "bizreg"
local args = require "bizreg.cli.args"
local ui_mod = require "bizreg.cli.ui"
local env = require "bizreg.cli.env"
local outcome = require "bizreg.cli.outcome"
local core = require "bizreg.core"

local os_cli = core.cli and core.cli() or {}

local M = {}

M.HELP = [[
usage: bizreg check brand FILE          validate a brand package offline (no credentials)
       bizreg check images FILE         validate visitor images offline
       bizreg register brand FILE       register a brand with RCS Biz Center
       bizreg register images FILE      register visitor images with the KOS CRM, in batches
       bizreg register chatbots BRANDID FILE
                                        add sender numbers (chatbots) to a registered brand
       bizreg visitors search [--chart-number N] [--phone 010-1234-5678] [--name TEXT]
                              [--birth-date YYYY-MM-DD] [--email E] [--offset N] [--limit N]
                                        find KOS visitors (their visitorId); any criteria, all must match
       bizreg brand status BRAND_ID     an RCS brand's review status (and rejection reason)
       bizreg brand list                every RCS brand of the account, one per line
       bizreg sandbox [--port N]        run the local emulator of both APIs (default port 8089)
       bizreg webhook listen [--port N] [--count N]
                                        receive RCS Biz Center notifications on 127.0.0.1 (default
                                        port 8090), print each once; ends after --count of them
       bizreg --help | --version

FILE (brand): JSON, or a Lua file returning a table, with regBrand, chatbots and the files
  brandProfile, brandBackground, subNumCertificate (paths relative to FILE's directory).
FILE (images): {"images": [...]} JSON, a JSON array of images, or JSON Lines (.jsonl) with
  one image per line.
FILE (chatbots): JSON, or a Lua file returning a table, with chatbots (1 to 1,000) and the
  file subNumCertificate (a path relative to FILE's directory).

options:
  --json            one JSON object per batch / brand on stdout (check: one per file)
  --dry-run         print the HTTP request(s) that would be sent (Authorization redacted,
                    file parts summarised), send nothing
  --verbose, -v     print the library's debug events on stderr: each request (headers,
                    size, attempt), response, retry, token fetch and error (secrets redacted);
                    any command takes it (check and sandbox have no requests to show)
  --progress MODE   auto (a bar on a terminal, plain lines every 2 s otherwise), bar, lines, off
  --timeout S       seconds per attempt (default {timeout}); a call makes at most {attempts} attempts
  --batch N         images per request (default {batch})
  --journal FILE    where register images records each batch (default: FILE.journal)
  --resume FILE     continue from a journal: batches recorded as registered are skipped,
                    batches with an unknown outcome are held back until you decide:
  --skip LIST       record these unknown-outcome batches as registered (you checked: they
                    are), e.g. 3,5-7; refused (exit 2) for any other batch
  --resend LIST     send these unknown-outcome batches again (you checked: they are not)
  --resubmit ID     register brand: resubmit the rejected or saved brand ID (PUT)
  --port N          sandbox, webhook listen: port on 127.0.0.1 (0 = any free port)
  --count N         webhook listen: stop after N notifications
  --phone P         visitors search: 010-1234-5678 (Korea), or +81 90-1234-5678 (country code
                    first, set apart); sent without separators and the leading 0

environment (credentials and URLs are never taken from arguments, which show in `ps`):
  BIZREG_KOS_BASE_URL   and BIZREG_KOS_API_KEY or BIZREG_KOS_TOKEN
  BIZREG_RCS_BASE_URL   and BIZREG_RCS_CLIENT_ID + BIZREG_RCS_CLIENT_SECRET, or BIZREG_RCS_TOKEN
  BIZREG_RCS_PERSON_ID  the RBC account ID for brand status/list (default: BIZREG_RCS_CLIENT_ID;
                        needed with BIZREG_RCS_TOKEN); BIZREG_RCS_BRAND_KEY: an agency's X-RCS-Brandkey
  (for `bizreg sandbox`: BIZREG_KOS_BASE_URL=http://127.0.0.1:8089
   BIZREG_KOS_API_KEY=11111111-2222-4333-8444-555555555555
   BIZREG_RCS_BASE_URL=http://127.0.0.1:8089/api/1.1
   BIZREG_RCS_CLIENT_ID=sandbox BIZREG_RCS_CLIENT_SECRET=SK.sandboxsecret1)

exit codes:
  0  ok
  1  validation or HTTP error (the server answered with an error)
  2  usage: wrong arguments, missing environment variable, unreadable file, journal mismatch
  3  transport error: nothing reached the server (safe to run again)
  4  unknown outcome: a request may have been processed (no answer came back, a 5xx other
     than a 503 with Retry-After, an unreadable answer); check before sending it again (register images: see --resume, --skip, --resend)
     (visitors search changes nothing: its transport failures are always 3)
  130 interrupted (Ctrl-C), 143 terminated (SIGTERM); the journal keeps every batch
     recorded before it (the one in flight, if any, has an unknown outcome)

register images keeps a journal (FILE.journal, mode 0600) of every batch, created when the
first request is about to go and removed again if nothing was registered. One run at a
time per journal: a second one stops at once (exit 2). A batch whose outcome is unknown
(no answer, a 5xx, an unreadable answer) is never sent again by --resume until you say
--skip (it is registered) or --resend (it is not).
]]
-- Its numbers are the defaults' (bizreg.DEFAULTS, their one home).
M.HELP = M.HELP:gsub("{(%w+)}", {
  timeout = string.format("%g", bizreg.DEFAULTS.timeout), batch = string.format("%d", bizreg.DEFAULTS.batch),
  attempts = string.format("%d", bizreg.DEFAULTS.retries + 1),
})

-- --verbose is an option of every command (a newcomer adds -v anywhere); check and sandbox
-- send nothing through the library, so it shows nothing more there
local COMMON = { help = "flag", json = "flag", verbose = "flag" }
local SEND = { ["dry-run"] = "flag", progress = "choice:progress", timeout = "seconds" }

local function merge(...)
  local t = {}
  for _, s in ipairs { ... } do for k, v in pairs(s) do t[k] = v end end
  return t
end

local COMMANDS = {
  ["check brand"] = COMMON,
  ["check images"] = merge(COMMON, { batch = "count" }),
  ["register brand"] = merge(COMMON, SEND, { resubmit = "string" }),
  ["register images"] = merge(COMMON, SEND, { batch = "count", journal = "string", resume = "string",
    skip = "list", resend = "list" }),
  ["register chatbots"] = merge(COMMON, SEND),
  ["visitors search"] = merge(COMMON, SEND, { ["chart-number"] = "string", phone = "string", name = "string",
    ["birth-date"] = "string", email = "string", offset = "string", limit = "string" }),
  ["sandbox"] = { help = "flag", port = "port", verbose = "flag" },
  ["webhook listen"] = merge(COMMON, { port = "port", count = "count" }),
  ["brand status"] = merge(COMMON, { timeout = "seconds" }),
  ["brand list"] = merge(COMMON, { timeout = "seconds" }),
}

local function usage(ui, msg)
  ui:err("bizreg: " .. msg)
  ui:err("Try 'bizreg --help'.")
  return outcome.USAGE
end

local function all_options()
  local t = { version = "flag" }
  for _, spec in pairs(COMMANDS) do for k, v in pairs(spec) do t[k] = v end end
  return t
end

local function dispatch(ui, cmd, p, script_dir)
  local o, words = p.opts, p.words
  if cmd == "sandbox" then
    if #words > 1 then return usage(ui, "sandbox takes no FILE") end
    return require("bizreg.cli.sandbox").run(ui, o, script_dir)
  end
  if cmd == "webhook listen" then
    if #words > 2 then return usage(ui, "unexpected argument '" .. words[3] .. "'") end
    return require("bizreg.cli.webhook").listen(ui, o)
  end
  if cmd == "register chatbots" then  -- BRANDID FILE
    if #words ~= 4 then return usage(ui, cmd .. " needs a BRANDID and a FILE") end
    return require("bizreg.cli.chatbots").register(ui, words[3], words[4], o)
  end
  if cmd == "visitors search" then
    if #words > 2 then return usage(ui, "unexpected argument '" .. words[3] .. "'") end
    local code, msg = require("bizreg.cli.visitors").search(ui, o)
    return code or usage(ui, msg)
  end
  if cmd == "brand list" or cmd == "brand status" then return require("bizreg.cli.brands").dispatch(ui, cmd, p, usage) end
  local file = words[3]
  if not file then return usage(ui, cmd .. " needs a FILE") end
  if #words > 3 then return usage(ui, "unexpected argument '" .. words[4] .. "'") end
  if o.resume and o.journal then return usage(ui, "--resume continues a journal; --journal starts a new one: give one") end
  if cmd == "check brand" then return require("bizreg.cli.brand").check(ui, file) end
  if cmd == "register brand" then return require("bizreg.cli.brand").register(ui, file, o) end
  if cmd == "check images" then return require("bizreg.cli.images").check(ui, file, o) end
  return require("bizreg.cli.images").register(ui, file, o)
end

-- argv: the command's arguments (arg); script_dir: where bin/bizreg lives. Returns the exit code.
function M.main(argv, script_dir)
  if os_cli.on_term then os_cli.on_term() end  -- SIGTERM ends the run like Ctrl-C: journal closed, exit 143
  local list = {}
  for i = 1, #argv do list[i] = argv[i] end
  -- first pass with every option known, to find the command; second pass strict
  local p, perr = args.parse(list, all_options())
  local words = p and p.words or {}
  local cmd = words[1] == "sandbox" and "sandbox" or (words[1] and words[2] and (words[1] .. " " .. words[2]))
  if p and COMMANDS[cmd] then p, perr = args.parse(list, COMMANDS[cmd]) end
  local o = p and p.opts or {}
  local ui = ui_mod.new { json = o.json, verbose = o.verbose, progress = o.progress, secrets = env.secrets() }
  if not p then return usage(ui, perr) end
  if o.version then ui:out("bizreg " .. bizreg.VERSION) return outcome.OK end
  if o.help or #words == 0 or words[1] == "help" then
    if o.help or words[1] == "help" then io.stdout:write(M.HELP) return outcome.OK end
    io.stderr:write(M.HELP)
    return outcome.USAGE
  end
  if not COMMANDS[cmd] then
    if words[1] == "visitors" then return usage(ui, "visitors needs 'search'") end
    if words[1] == "webhook" then return usage(ui, "webhook needs 'listen'") end
    if words[1] == "brand" then
      return usage(ui, "brand needs 'status' or 'list'" .. (words[2] and (", not '" .. words[2] .. "'") or ""))
    end
    if words[1] == "check" or words[1] == "register" then
      local what = words[1] == "register" and "'brand', 'images' or 'chatbots'" or "'brand' or 'images'"
      return usage(ui, words[1] .. " needs " .. what .. (words[2] and (", not '" .. words[2] .. "'") or ""))
    end
    return usage(ui, "unknown command '" .. tostring(words[1]) .. "'")
  end
  local ok, code = xpcall(function() return dispatch(ui, cmd, p, script_dir) end, function(e)
    if tostring(e):find("interrupted!", 1, true) then return "interrupted" end
    return debug.traceback(tostring(e), 2)
  end)
  if ok then return code end
  ui:progress_abort()
  if code == "interrupted" then
    local term = os_cli.terminated and os_cli.terminated()
    ui:err("bizreg: " .. (term and "terminated" or "interrupted") .. ". A request that was in flight has an unknown "
      .. "outcome; register images: the journal has every batch recorded so far (see --resume).")
    return term and 143 or 130
  end
  ui:err("bizreg: internal error: " .. tostring(code))
  return outcome.FAILED
end

return M
