-- RCS Biz Center emulation: what rcs.lua and rcs_chatbots.lua share (the answers, a handler
-- run that turns the first violation into the error answer, random ids, auth, form parts).
-- It requires neither of them, so the sandbox's require graph stays a tree
-- (spec/unit/layering_spec.lua).
local json = require "bizreg_sandbox.json"
local multipart = require "bizreg_sandbox.multipart"
local rules = require "bizreg_sandbox.rcs_rules"
local rand = require "openssl.rand"
local cqueues = require "cqueues"

local M = {}

local JSON_HEADERS = { ["content-type"] = "application/json;charset=UTF-8" }
local Violation, violation, bad = rules.Violation, rules.violation, rules.bad

local function err_reply(status, code, message)
  return status, JSON_HEADERS, json.encode(json.obj(
    "error", json.obj("code", code, "message", message), "status", status))
end

local function ok_reply(result)
  return 200, JSON_HEADERS, json.encode(json.obj(
    "code", "20000000", "desc", json.null, "result", json.array(result), "status", 200))
end

-- A handler run; the first violation its rules raised becomes the error answer.
local function run(fn, ...)
  local ok, a, b, c = pcall(fn, ...)
  if ok then return a, b, c end
  if getmetatable(a) == Violation then return err_reply(a.status, a.code, a.message) end
  error(a, 0)
end

---------------------------------------------------------------- random ids

local ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

local function random_alnum(n)
  local out = {}
  while #out < n do
    for _, b in ipairs({ rand.bytes(n):byte(1, n) }) do
      if b < 248 and #out < n then -- 248 = 4*62: rejection keeps the choice uniform
        local k = b % 62 + 1
        out[#out + 1] = ALNUM:sub(k, k)
      end
    end
  end
  return table.concat(out)
end


---------------------------------------------------------------- auth

-- Returns the caller's account: the clientId a token was issued to (static token: rcs_client_id).
local function check_auth(state, headers)
  local value = headers["authorization"]
  if value == nil then violation(401, "61001", "Missing Authorization header") end
  local token = value:match("^[Bb][Ee][Aa][Rr][Ee][Rr] +(%S+)%s*$")
  if not token then violation(401, "61002", "Missing Token") end
  if token == state.config.rcs_token then
    if state.expired_static["rcs:" .. token] then violation(401, "61004", "Token has expired") end
    return state.config.rcs_client_id
  end
  local t = state.rcs_tokens[token]
  if not t then violation(401, "61003", "Invalid token") end
  if t.expired or cqueues.monotime() >= t.expires_at then violation(401, "61004", "Token has expired") end
  return t.account
end


-- The parts of a multipart body by name; each name known (names: a set) and given once.
local function form_parts(req, names)
  local boundary = multipart.boundary(req.headers["content-type"])
  local list = boundary and multipart.parse(req.body, boundary)
  if not list then bad("64301", "Missing Body data") end
  local parts = {}
  for _, part in ipairs(list) do
    if not names[part.name] or parts[part.name] then bad("64397", "invalid body " .. part.name) end
    parts[part.name] = part
  end
  return parts
end

M.JSON_HEADERS, M.err_reply, M.ok_reply, M.run, M.random_alnum, M.check_auth, M.form_parts =
  JSON_HEADERS, err_reply, ok_reply, run, random_alnum, check_auth, form_parts

return M
