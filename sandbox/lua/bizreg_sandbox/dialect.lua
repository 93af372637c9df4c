-- The looser dialect of the RCS OpenAPI document (and of mocks driven by it, e.g. Prism),
-- spoken by the sandbox's RCS endpoints when a test asks for it (POST /_sandbox/dialect):
--
--   codes       "string" (default) | "integer" | "float": how `code`, `error.code` and
--               `expiresIn` are written ("61004", 61004, 61004.0; the spec's own examples
--               are integers)
--   fail_status an HTTP status (e.g. 200) every Fail envelope is sent with; the envelope
--               keeps its own `status` field (the spec's `default` answer has no status)
--   empty_list  "200" (default: an empty result) | "204" (HTTP 204, no body) | "60004" (HTTP 200
--               with the Fail envelope {"status":204,"error":{"code":"60004",...}}): an empty
--               brand or chatbot list
--   no_result   { endpoint, count = 1, shape = "empty" | "absent" }: the next `count` 2xx answers
--               of that endpoint lose their result (`"result":[]`, or no result at all). The
--               request is processed as usual (a brand IS registered): the outcome is unknown
--   answer      { endpoint, code, message?, status?, count = 1 } (or a list of them, armed in
--               that order): the next `count` requests of
--               that endpoint (their bodies read and counted) get the Fail envelope with that
--               code; status defaults to the one documented for the code's range (a 204
--               envelope comes with HTTP 200: an HTTP 204 has no body)
--
-- expiresIn's form is the config key rcs_expires_in ("absolute", "relative", "past" = the
-- spec's example 1568694883, "epoch_ms"). Every setting holds until /_sandbox/reset, or
-- until changed; a POST changes only the keys it names.
local json = require "bizreg_sandbox.json"

local dialect = {}

local RCS_JSON = { ["content-type"] = "application/json;charset=UTF-8" }

function dialect.defaults()
  return { codes = "string", fail_status = nil, empty_list = "200", no_result = {}, answers = {} }
end

local function is_int(v) return type(v) == "number" and v == math.floor(v) end

-- The status documented for a code (its range: 60xxx 204, 61xxx 401, 63xxx 403, else 400).
local function documented_status(code)
  local p = code:sub(1, 2) == "60" and 204 or code:sub(1, 2) == "61" and 401 or code:sub(1, 2) == "63" and 403 or 400
  return p
end

local function counted(v, what)
  local count = v.count == nil and 1 or v.count
  if not is_int(count) or count < 1 then return nil, what .. ".count must be an integer >= 1" end
  return count
end

-- One armed answer { endpoint, code, message?, status?, count? }: nil, or what is wrong.
local function check_answer(d, v, endpoint_ok)
  if json.type(v) ~= "object" or not endpoint_ok(v.endpoint) or type(v.code) ~= "string" or not v.code:match("^%d+$") then
    return "answer needs { endpoint, code = \"64316\", message?, status?, count? }"
  end
  local count, why = counted(v, "answer")
  if not count then return why end
  if v.status ~= nil and (not is_int(v.status) or v.status < 100 or v.status > 599) then return "answer.status must be an HTTP status" end
  if v.message ~= nil and type(v.message) ~= "string" then return "answer.message must be a string" end
  d.answers[#d.answers + 1] = { endpoint = v.endpoint, code = v.code, message = v.message or ("error " .. v.code),
    status = v.status or documented_status(v.code), left = count }
end

local CHECK = {
  codes = function(d, v)
    if v ~= "string" and v ~= "integer" and v ~= "float" then return "codes must be \"string\", \"integer\" or \"float\"" end
    d.codes = v
  end,
  fail_status = function(d, v)
    if v == json.null then d.fail_status = nil return end
    if not is_int(v) or v < 200 or v > 599 then return "fail_status must be an HTTP status (200..599) or null" end
    d.fail_status = v
  end,
  empty_list = function(d, v)
    if v ~= "200" and v ~= "204" and v ~= "60004" then return "empty_list must be \"200\", \"204\" or \"60004\"" end
    d.empty_list = v
  end,
  no_result = function(d, v, endpoint_ok)
    if json.type(v) ~= "object" or not endpoint_ok(v.endpoint) then return "no_result needs { endpoint, count?, shape? }" end
    local count, why = counted(v, "no_result")
    if not count then return why end
    local shape = v.shape == nil and "empty" or v.shape
    if shape ~= "empty" and shape ~= "absent" then return "no_result.shape must be \"empty\" or \"absent\"" end
    d.no_result[v.endpoint] = { left = count, shape = shape }
  end,
  answer = function(d, v, endpoint_ok)
    if json.type(v) ~= "array" then return check_answer(d, v, endpoint_ok) end
    for _, one in ipairs(v) do  -- several, armed in this order
      local why = check_answer(d, one, endpoint_ok)
      if why then return why end
    end
  end,
}

-- POST /_sandbox/dialect: every key checked first, so a bad request changes nothing.
function dialect.set(state, doc, endpoint_ok)
  local copy = {
    codes = state.dialect.codes, fail_status = state.dialect.fail_status, empty_list = state.dialect.empty_list,
    no_result = {}, answers = {}
  }
  for k, v in pairs(state.dialect.no_result) do copy.no_result[k] = v end
  for i, v in ipairs(state.dialect.answers) do copy.answers[i] = v end
  for _, k in ipairs(json.keys(doc)) do
    local check = CHECK[k]
    if not check then return nil, "unknown dialect key " .. k end
    local why = check(copy, doc[k], endpoint_ok)
    if why then return nil, why end
  end
  state.dialect = copy
  return true
end

function dialect.describe(state)
  local d = state.dialect
  local answers = json.array()
  for i, a in ipairs(d.answers) do
    answers[i] = json.obj("endpoint", a.endpoint, "code", a.code, "status", a.status, "count", a.left)
  end
  local no_result = json.obj()
  local names = {}
  for e in pairs(d.no_result) do names[#names + 1] = e end
  table.sort(names)
  for _, e in ipairs(names) do
    local n = d.no_result[e]
    no_result[e] = json.obj("count", n.left, "shape", n.shape)
    no_result[json.ORDER][#no_result[json.ORDER] + 1] = e
  end
  return json.obj("codes", d.codes, "fail_status", d.fail_status == nil and json.null or d.fail_status,
    "empty_list", d.empty_list, "no_result", no_result, "answers", answers)
end

local function fail_body(status, code, message)
  return json.encode(json.obj("error", json.obj("code", code, "message", message), "status", status))
end

-- The armed Fail answer for this request of endpoint, if any: status, headers, body.
function dialect.take_answer(state, endpoint)
  for i, a in ipairs(state.dialect.answers) do
    if a.endpoint == endpoint then
      a.left = a.left - 1
      if a.left <= 0 then table.remove(state.dialect.answers, i) end
      -- an HTTP 204 carries no body: the 60004 envelope comes in a 200 (its status field says 204)
      return a.status == 204 and 200 or a.status, RCS_JSON, fail_body(a.status, a.code, a.message)
    end
  end
  return nil
end

local function number_form(codes)
  if codes == "integer" then return "%1" end
  return "%1.0"
end

-- The dialect applied to an RCS answer the sandbox made: status, headers, body.
function dialect.apply(state, endpoint, status, headers, body)
  local d = state.dialect
  local ok = status >= 200 and status <= 299
  local nr = d.no_result[endpoint]
  if nr and ok then
    nr.left = nr.left - 1
    if nr.left <= 0 then d.no_result[endpoint] = nil end
    body = nr.shape == "absent" and '{"code":"20000000","desc":null,"status":200}'
      or '{"code":"20000000","desc":null,"result":[],"status":200}'
  end
  if (endpoint == "rcs.list_brands" or endpoint == "rcs.list_chatbots") and ok and d.empty_list ~= "200" and body:find('"result":[]', 1, true) then
    if d.empty_list == "204" then return 204, { ["content-type"] = headers["content-type"] }, "" end
    status, body = 200, fail_body(204, "60004", "No Content")
  end
  if d.fail_status and body:find('^{"error":{') then status = d.fail_status end
  if d.codes ~= "string" then
    local form = number_form(d.codes)
    body = body:gsub('"code":"(%d+)"', '"code":' .. form):gsub('"expiresIn":"(%d+)"', '"expiresIn":' .. form)
  end
  return status, headers, body
end

return dialect
