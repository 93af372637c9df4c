-- Tally and findings of a hostile-payload run, and the verbose replay of one payload.
local Rep = {}

local function split(line)
  local f = {}
  for v in (line .. "\t"):gmatch("([^\t]*)\t") do f[#f + 1] = v end
  return f
end

-- Signature of a violation, to group the ones with one cause: its class and the mutations that
-- made the payload anything but valid (file oddities and file changes by name).
local function signature(verdict, culprits, code, detail)
  if verdict:match("^bad_error") then return "bad_error: " .. detail end
  local c = verdict:match("sandbox") and code ~= "-" and (" " .. code:match("^[^ ]+")) or ""
  -- the GC-in-__index case corrupts what is sent, whatever else the payload holds
  if culprits:find("meta_gc_index", 1, true) then culprits = "meta_gc_index" end
  return verdict .. " [" .. culprits .. "]" .. c
end

local function asan_excerpt(stderr)
  local lines, out = {}, {}
  for l in stderr:gmatch("[^\n]+") do lines[#lines + 1] = l end
  for idx, l in ipairs(lines) do
    if l:find("ERROR: AddressSanitizer", 1, true) or l:find("runtime error:", 1, true) or l:find("SUMMARY:", 1, true)
      or l:find("ERROR: LeakSanitizer", 1, true) then
      out[#out + 1] = l
      for j = idx + 1, math.min(idx + 8, #lines) do
        if lines[j]:match("^%s+#%d") then out[#out + 1] = lines[j] end
      end
    end
  end
  if #out == 0 then for j = math.max(1, #lines - 5), #lines do out[#out + 1] = lines[j] end end
  return out
end

-- Prints the tally and findings; returns the exit code (0 pass, 1 violations).
function Rep.summary(o)
  local n, by_api, by_outcome, sent, accepted_units = 0, { kos = 0, rcs = 0 }, {}, 0, { kos = 0, rcs = 0 }
  local findings, order, violations, all_sent, lines = {}, {}, 0, 0, {}
  -- bodies (and their units) that may have arrived: a transport error after sending (sent = true)
  local maybe, all_maybe, maybe_units = 0, 0, { kos = 0, rcs = 0 }
  local function add(sig, example)
    violations = violations + 1
    if not findings[sig] then findings[sig] = { count = 0, example = example }; order[#order + 1] = sig end
    findings[sig].count = findings[sig].count + 1
  end
  for line in o.results:gmatch("[^\n]+") do
    local f = split(line)
    if f[1] == "R" then
      local i, api, mode, expect, outcome, code, ans, units, verdict, detail, descr, tags = tonumber(f[2]), f[3], f[4], f[5],
        f[6], f[7], f[8] == "1", tonumber(f[9]), f[10], f[11], f[12], f[13] or "-"  -- tags: the culprits
      local label = f[14] or tostring(i)  -- seed:index, what --seed S --only I replays
      n = n + 1
      by_api[api] = by_api[api] + 1
      by_outcome[outcome] = (by_outcome[outcome] or 0) + 1
      local perhaps = f[8] == "?"
      if ans then all_sent = all_sent + 1 end
      if perhaps then all_maybe = all_maybe + 1 end
      lines[i] = line
      if i >= o.since then  -- judged by the last sandbox's counters
        if ans then sent = sent + 1 end
        if perhaps then maybe, maybe_units[api] = maybe + 1, maybe_units[api] + units end
        if outcome == "accepted" then accepted_units[api] = accepted_units[api] + units end
      end
      if verdict ~= "-" then
        add(signature(verdict, tags, code, detail), string.format("%s (%s %s, expected %s): got %s %s%s\n      payload: %s",
          label, api, mode, expect, outcome, code, detail ~= "-" and (" — " .. detail) or "", descr))
      end
    elseif f[1] == "M" then
      add("sandbox-count-mismatch", string.format("payloads %s..%s: bizreg sent %s (and %s may have arrived), the sandbox received %s",
        f[2], f[3], f[4], f[6] or "0", f[5]))
    end
  end
  for _, c in ipairs(o.crashes) do
    local kind = c.hung and "hang" or (c.done and "exit-failure" or "crash")
    by_outcome[kind] = (by_outcome[kind] or 0) + 1
    if c.index then n = n + 1 end
    -- grouped by the sanitizer's summary when there is one (one memory bug, many payloads)
    local summary = c.stderr:match("SUMMARY: %w+Sanitizer: ([^\n]+)")
    add(kind .. " " .. (summary and (summary:gsub("0x%x+", "")) or ("[" .. tostring(c.tags) .. "]")), string.format("%s (exit status %s)\n      %s",
      o.label(c.index),
      tostring(c.rc), table.concat(asan_excerpt(c.stderr), "\n      ")))
  end
  for _, w in ipairs(o.wedges) do
    local f = split(lines[w.index] or "")
    local what = lines[w.index] and string.format("%s %s, %s %s; %s", f[3], f[4], f[6], f[7], f[12] or "")
      or ("killed, tags " .. tostring(w.tags))
    add("sandbox-wedged (component: sandbox)", string.format("after %s (%s): the sandbox stopped answering "
      .. "(spec/property/sandbox_abort.lua reproduces it); later payloads went to a new sandbox", o.label(w.index), what))
  end
  local st = o.stats
  local by = st.received or {}  -- complete bodies, not heads (an aborted upload sends a head)
  local bodies = (by["kos.register_visitor_images"] or 0) + (by["rcs.register_brand"] or 0)
  local reg = st.registered or {}
  local function within(v, lo, extra) return v >= lo and v <= lo + extra end
  if not within(bodies, sent, maybe) then
    add("sandbox-count-mismatch", string.format("whole run: bizreg sent %d (and %d may have arrived), the sandbox received %d",
      sent, maybe, bodies))
  end
  if not within(reg.images or 0, accepted_units.kos, maybe_units.kos) or not within(reg.brands or 0, accepted_units.rcs, maybe_units.rcs) then
    add("sandbox-registrations-mismatch", string.format("bizreg reported %d images and %d brands registered (and %d, %d may "
      .. "have been), the sandbox %s and %s", accepted_units.kos, accepted_units.rcs, maybe_units.kos, maybe_units.rcs,
      tostring(reg.images), tostring(reg.brands)))
  end

  local outs = {}
  for _, k in ipairs { "invalid", "accepted", "sandbox_only", "sandbox_rejected", "transport", "raised", "bad_error",
    "decode", "weird", "prepare_mismatch", "stale_regression", "hang", "crash", "exit-failure", "skipped" } do
    if by_outcome[k] then outs[#outs + 1] = k .. " " .. by_outcome[k] end
  end
  print(string.format("hostile: %s: %d payloads (kos %d, rcs %d) in %.1f s", o.pairs and ("regressions in " .. o.pairs)
    or ("seed " .. o.seed), n, by_api.kos, by_api.rcs, o.seconds))
  print("  by outcome: " .. table.concat(outs, ", "))
  print(string.format("  sent %d (and %d may have arrived: transport errors after sending), sandbox-accepted %d; last sandbox "
    .. "(payloads %d..): bizreg sent %d (+%d maybe), it received %d bodies, registered %s images, %s brands", all_sent, all_maybe,
    by_outcome.accepted or 0, o.since, sent, maybe, bodies, tostring(reg.images), tostring(reg.brands)))
  print(string.format("  findings %d (%d violations); results in %s", #order, violations, o.run_dir))
  for k, sig in ipairs(order) do
    local fnd = findings[sig]
    print(string.format("FINDING %d: %s  x%d\n    e.g. %s", k, sig, fnd.count, fnd.example))
  end
  if #order > 0 then
    print("  replay one: lua5.4 spec/property/hostile.lua --seed <S> --only <I>   (examples above are S:I)")
  end
  print(string.format("hostile: %s (%s)", violations == 0 and "PASS" or "FAIL", o.pairs or ("seed " .. o.seed)))
  io.stdout:flush()
  return violations == 0 and 0 or 1
end

---------------------------------------------------------------- replay

local function show(v, depth, seen)
  local t = type(v)
  if t == "string" then
    if #v > 80 then return string.format("%q..(%d bytes)", v:sub(1, 60), #v) end
    return (string.format("%q", v):gsub("\\\n", "\\n"))
  end
  if t ~= "table" then return tostring(v) end
  if seen[v] then return "<cycle>" end
  if depth > 6 then return "{...}" end
  seen[v] = true
  local parts, keys = {}, {}
  for k in next, v do keys[#keys + 1] = k end
  for idx, k in ipairs(keys) do
    if idx > 12 then parts[#parts + 1] = "+" .. (#keys - 12) .. " more"; break end
    parts[#parts + 1] = "[" .. show(k, 7, seen) .. "]=" .. show(rawget(v, k), depth + 1, seen)
  end
  seen[v] = nil
  local mt = getmetatable(v) and " <metatable>" or ""
  return "{" .. table.concat(parts, ", ") .. "}" .. mt
end

function Rep.replay(seed, i, sb, run_dir, bound)
  local W = require "spec.property.worker"
  local F = require "spec.property.oddfiles"
  local G = require "spec.property.gen"
  os.execute("mkdir -p '" .. run_dir .. "/files'")
  F.init(run_dir .. "/files", G)
  local bizreg = require "bizreg"
  local ctx = W.build(seed, i)
  print(string.format("payload #%d (seed %d): %s, %s, expected %s", i, seed, ctx.api, ctx.mode or "-", ctx.expect))
  for _, d in ipairs(ctx.descr) do print("  mutation: " .. d) end
  print("  payload: " .. show(ctx.payload, 0, {}))
  local clients = {
    kos = bizreg.kos { base_url = sb.url, token = "sandbox-kos-token", timeout = 5, retries = 0 },
    rcs = bizreg.rcs { base_url = sb.rcs_url, token = "sandbox-rcs-token", timeout = 5, retries = 0 },
  }
  local outcome, code, detail, ans = W.call(ctx, clients, bound)
  if ctx.midflight then ctx.midflight.cleanup() end
  local verdict = W.judge(ctx, outcome, code, ans == "maybe")
  print(string.format("  outcome: %s %s %s", outcome, tostring(code), tostring(detail or "")))
  print("  verdict: " .. (verdict or "ok"))
  local st = sb:stats()
  print(string.format("  sandbox: %d API requests, registered %d images, %d brands", (st.by_endpoint["kos.register_visitor_images"] or 0)
    + (st.by_endpoint["rcs.register_brand"] or 0), st.registered.images, st.registered.brands))
end

return Rep
