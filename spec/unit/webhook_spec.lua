-- bizreg.webhook (issue 19, item 3): the RCS Biz Center notifications (POST /{webhookUrl},
-- schemas Noti*) read by their rows, the answer to send, de-duplication in a store with the
-- token_store contract, the verdicts wait_for_approval reads. The rows are held to the OpenAPI
-- document itself (spec/fixtures/rcs-openapi-1.1.12.yaml), read here by a small block reader.
-- spec/checks/nginx_webhook.sh runs ngx_handler in a real nginx.
local webhook = require "bizreg.webhook"
local cjson = require "cjson.safe"

local YAML = "spec/fixtures/rcs-openapi-1.1.12.yaml"

-- The lines of a block: from the line equal to `head` to the next line indented at most
-- as much as it.
local function block(text, head)
  local a = assert(text:find("\n" .. head .. "\n", 1, true), head)
  local indent = #head:match("^ *")
  local lines = {}
  for line in text:sub(a + #head + 2):gmatch("([^\n]*)\n") do
    if line:match("%S") and #line:match("^ *") <= indent then break end
    lines[#lines + 1] = line
  end
  return lines
end

-- schema name -> { required = { name = true }, props = { name = { type, enum = { ... }, example } } }
local function noti_schema(text, name)
  local out, section, prop, in_enum = { required = {}, props = {} }, nil, nil, false
  for _, line in ipairs(block(text, "    " .. name .. ":")) do
    local ind, rest = line:match("^( *)(.*)$")
    ind = #ind
    if ind == 6 then section, prop = rest:match("^(%w+):"), nil
    elseif section == "required" and ind == 8 then out.required[rest:match("^%- (%w+)")] = true
    elseif section == "properties" and ind == 8 then
      prop = rest:match("^(%w+):")
      out.props[prop] = { enum = nil }
      in_enum = false
    elseif section == "properties" and prop and ind == 10 then
      local k, v = rest:match("^(%w+):%s*(.-)%s*$")
      in_enum = k == "enum"
      if k == "type" then out.props[prop].type = v
      elseif k == "example" or k == "default" then out.props[prop][k] = v:gsub("^'(.*)'$", "%1") end
      if in_enum then out.props[prop].enum = {} end
    elseif in_enum and ind == 12 and rest:match("^%- ") then
      table.insert(out.props[prop].enum, rest:match("^%- (%S+)"))
    end
  end
  return out
end

-- notiType -> schema name: the requestBody's list ("- contract: 브랜드 계약", …) zipped with
-- the oneOf list, both in the document's order; and the one example body the path gives.
local function noti_types(text)
  local post = block(text, "  /{webhookUrl}:")
  local types, schemas, example, in_example = {}, {}, {}, false
  for _, line in ipairs(post) do
    local t = line:match("^%s+%- (%l+): ")
    if t and t ~= "in" then types[#types + 1] = t end  -- ("- in: path" is a parameter)
    local s = line:match("%$ref: '#/components/schemas/(Noti%w+)'")
    if s then schemas[#schemas + 1] = s end
    if line:match("^%s+example:$") then in_example = true
    elseif in_example then
      local k, v = line:match("^%s+(%w+): (.*)$")
      if not k then in_example = false
      else example[k] = v == "null" and cjson.null or v:gsub("^'(.*)'$", "%1") end
    end
  end
  assert.equal(#types, #schemas)
  local map = {}
  for i, t in ipairs(types) do map[t] = schemas[i] end
  return map, example
end

local yaml_file = assert(io.open(YAML, "rb"))
local TEXT = yaml_file:read("*a")
yaml_file:close()
local TYPES, EXAMPLE = noti_types(TEXT)

-- A body with every field of the schema: its example or default, else a made-up string;
-- method: the first value of its enum.
local function sample(noti_type)
  local s = noti_schema(TEXT, TYPES[noti_type])
  local body = {}
  for name, p in pairs(s.props) do
    body[name] = p.enum and p.enum[1] or p.example or ("x-" .. name)
  end
  body.notiType = noti_type
  return body
end

-- ngx.shared.DICT's get/set/add over a table (exptime ignored: the module must not rely on it)
local function table_store()
  local data = {}
  local s = { data = data, adds = 0 }
  function s.get(_, k) return data[k] end
  function s.set(_, k, v) data[k] = v return true end
  function s.add(self, k, v)
    self.adds = self.adds + 1
    if data[k] ~= nil then return false, "exists" end
    data[k] = v
    return true
  end
  return s
end

local function count(t) local n = 0 for _ in pairs(t) do n = n + 1 end return n end

describe("bizreg.webhook rows", function()
  it("have one row set per notiType of the document, with its fields, required fields and method enum", function()
    assert.equal(10, count(TYPES))
    assert.equal(count(TYPES), count(webhook.SCHEMAS))
    for noti_type, schema in pairs(TYPES) do
      local rows = webhook.SCHEMAS[noti_type]
      assert.truthy(rows, noti_type)
      assert.equal(schema, rows.schema)
      local s = noti_schema(TEXT, schema)
      assert.truthy(s.required.notiType, schema)
      local names = {}
      for _, row in ipairs(rows) do
        local name = row[1]
        names[name] = true
        local p = s.props[name]
        assert.truthy(p, schema .. "." .. name .. " is not in the document")
        assert.equal("string", p.type, schema .. "." .. name)
        assert.equal(s.required[name] or false, row.required or false, schema .. "." .. name .. " required")
        local want = {}
        for _, v in ipairs(p.enum or {}) do want[v] = true end
        assert.same(p.enum and want or nil, row.enum, schema .. "." .. name .. " enum")
      end
      for name in pairs(s.props) do
        assert.truthy(name == "notiType" or names[name], schema .. "." .. name .. " has no row")
      end
    end
  end)
end)

describe("bizreg.webhook.decode", function()
  it("reads every notiType's sample with every field, under the spec's names", function()
    for noti_type, schema in pairs(TYPES) do
      local body = sample(noti_type)
      local ev, err = webhook.decode(cjson.encode(body))
      assert.is_nil(err and tostring(err))
      assert.is_true(ev.known)
      assert.equal(schema, ev.schema)
      assert.is_nil(ev.odd)
      for k, v in pairs(body) do assert.equal(v, ev[k], noti_type .. "." .. k) end
    end
  end)

  it("reads the document's example: null is absent, a number sent for a string is its decimal text", function()
    assert.equal("contract", EXAMPLE.notiType)
    local ev = assert(webhook.decode(cjson.encode(EXAMPLE)))
    assert.same({ notiType = "contract", method = "created", corpId = "CO.lR4JLOeOn3", corpRegNum = "1148196221",
      brandId = "BR.7EU1Ea9Bxb", known = true, schema = "NotiContract" }, ev)
    ev = assert(webhook.decode('{"notiType":"contract","corpRegNum":1148196221,"reason":null,"brandId":1e3}'))
    assert.equal("1148196221", ev.corpRegNum)
    assert.equal("1000", ev.brandId)
    assert.is_nil(ev.reason)
  end)

  it("returns a validation error naming each required field that is missing or null", function()
    for noti_type in pairs(TYPES) do
      local body = sample(noti_type)
      for _, row in ipairs(webhook.SCHEMAS[noti_type]) do
        if row.required then
          for _, gone in ipairs { "absent", "null" } do
            local b = sample(noti_type)
            b[row[1]] = gone == "null" and cjson.null or nil
            local ev, err = webhook.decode(cjson.encode(b))
            assert.is_nil(ev)
            assert.equal("validation", err.kind)
            assert.equal("INVALID_NOTIFICATION", err.code)
            assert.same({ { key = row[1], reason = "Required" } }, err.errorProperties)
          end
        end
      end
      body.notiType = nil
      local ev, err = webhook.decode(cjson.encode(body))
      assert.is_nil(ev)
      assert.same({ { key = "notiType", reason = "Required" } }, err.errorProperties)
    end
    assert.truthy(webhook.SCHEMAS.agencykey[1].required)  -- the one required field beside notiType
  end)

  it("refuses a field that is an object, an array, a boolean or not finite; names each", function()
    local ev, err = webhook.decode('{"notiType":"chatbot","brandId":{"a":1},"chatbotId":[1],"method":true,"reason":1e999}')
    assert.is_nil(ev)
    table.sort(err.errorProperties, function(a, b) return a.key < b.key end)
    assert.same({ { key = "brandId", reason = "NotAString" }, { key = "chatbotId", reason = "NotAString" },
      { key = "method", reason = "NotAString" }, { key = "reason", reason = "NotFinite" } }, err.errorProperties)
    assert.matches("NotiChatbot does not match its schema", tostring(err), 1, true)
  end)

  it("keeps a method outside the schema's enum, and names it in odd", function()
    local ev = assert(webhook.decode('{"notiType":"brand","brandId":"BR.1","method":"created"}'))
    assert.equal("created", ev.method)
    assert.same({ "method" }, ev.odd)
  end)

  it("keeps fields the schema does not name, and an unknown notiType whole (known = false)", function()
    local ev = assert(webhook.decode('{"notiType":"brand","brandId":"BR.1","method":"modified","newField":{"x":[1,2]},"gone":null}'))
    assert.same({ x = { 1, 2 } }, ev.newField)
    assert.is_nil(ev.gone)
    ev = assert(webhook.decode('{"notiType":"registration","value":{"brandId":"BR.Q63creSjku","chatbotId":"bd"}}'))
    assert.is_false(ev.known)
    assert.equal("registration", ev.notiType)
    assert.same({ brandId = "BR.Q63creSjku", chatbotId = "bd" }, ev.value)
    assert.is_nil(ev.schema)
  end)

  it("never raises on garbage: not JSON, not an object, huge, deep, binary (a validation error each)", function()
    local bodies = { "", " ", "null", "true", "123", '"brand"', "[]", "[1,2]", "{", '{"notiType":', "\0\1\2\255",
      "\239\187\191{}", '{"notiType":"brand","brandId":"\255\254"}', string.rep("[", 100000), string.rep("{\"a\":", 50) .. "1"
      .. string.rep("}", 50), '{"notiType":"brand","reason":"' .. string.rep("x", 70000) .. '"}', "{}", '{"notiType":7}',
      '{"notiType":""}' }
    for i, b in ipairs(bodies) do
      local ok, ev, err = pcall(webhook.decode, b)
      assert.is_true(ok, "body " .. i .. ": " .. tostring(ev))
      if ev then  -- only a notification with a string notiType may decode
        assert.equal("string", type(ev.notiType), "body " .. i)
      else
        assert.equal("INVALID_NOTIFICATION", err.code, "body " .. i)
      end
    end
    -- a deterministic stream of random bytes and of mutated notifications: never a raise
    local seed = 12345
    local function rnd(n) seed = (seed * 1103515245 + 12345) % 2147483648 return seed % n end
    local base = cjson.encode(sample("chatbot"))
    for _ = 1, 3000 do
      local b
      if rnd(2) == 0 then
        local t = {}
        for j = 1, rnd(64) do t[j] = string.char(rnd(256)) end
        b = table.concat(t)
      else
        local p = rnd(#base) + 1
        b = base:sub(1, p - 1) .. string.char(rnd(256)) .. base:sub(p + 1)
      end
      local ok, ev, answer = pcall(webhook.handle, b)
      assert.is_true(ok, tostring(ev))
      assert.truthy(answer.status == 200 or answer.status == 400)
      assert.truthy(ev or answer.status == 400)
    end
  end)

  it("keeps its own keys (known, schema, odd) its own when a body sends fields of those names", function()
    -- a hostile body: "odd" as a string or a number made the enum check index it (a raise,
    -- a 500 from the handler); "known"/"schema" passed for the module's own judgement
    for _, odd in ipairs { '"x"', "5", '{"a":1}', "[1]", "true" } do
      local body = '{"notiType":"brand","brandId":"BR.1","method":"weird","odd":' .. odd .. '}'
      local ok, ev, answer = pcall(webhook.handle, body)
      assert.is_true(ok, tostring(ev))
      assert.equal(200, answer.status)
      assert.same({ "odd", "method" }, ev.odd)
    end
    local ev = assert(webhook.decode('{"notiType":"brand","brandId":"BR.1","method":"rejected","odd":["reason"],'
      .. '"known":false,"schema":"NotiChatbot"}'))
    assert.is_true(ev.known)
    assert.equal("NotiBrand", ev.schema)
    assert.same({ "known", "odd", "schema" }, ev.odd)
    ev = assert(webhook.decode('{"notiType":"zzz","known":true,"schema":"NotiBrand"}'))
    assert.is_false(ev.known)
    assert.is_nil(ev.schema)
    assert.same({ "known", "schema" }, ev.odd)
    -- an ordinary notification has no odd at all
    assert.is_nil(assert(webhook.decode('{"notiType":"brand","brandId":"BR.1","method":"rejected"}')).odd)
  end)

  it("refuses a body longer than max_bytes before decoding it", function()
    local _, err = webhook.decode(cjson.encode(sample("brand")), { max_bytes = 10 })
    assert.same({ { key = "(body)", reason = "TooLong" } }, err.errorProperties)
  end)

  it("raises at the caller's line for a body that is not a string", function()
    local ok, msg = pcall(webhook.decode, nil)
    assert.is_false(ok)
    assert.matches("body must be a string", msg, 1, true)
    assert.has_error(function() webhook.handle("{}", { nope = 1 }) end)
  end)
end)

describe("bizreg.webhook.handle", function()
  local function body_of(answer) return cjson.decode(answer.body) end

  it("answers 200 with an empty body and returns the event", function()
    local ev, answer, note = webhook.handle(cjson.encode(sample("chatbot")))
    assert.equal("chatbot", ev.notiType)
    assert.same({ status = 200, headers = {}, body = "" }, answer)
    assert.is_nil(note)
  end)

  it("answers 400 with a WebhookErrorInfo body for what it cannot read, and returns the error", function()
    local ev, answer, note, err = webhook.handle("not json")
    assert.is_nil(ev)
    assert.equal(400, answer.status)
    assert.equal("application/json", answer.headers["Content-Type"])
    assert.same({ status = "400", error = { code = "64302", message = "Invalid JSON format" } }, body_of(answer))
    assert.equal("invalid", note)
    assert.equal("INVALID_NOTIFICATION", err.code)
    answer = select(2, webhook.handle('{"notiType":"agencykey","method":"created"}'))
    assert.same({ status = "400", error = { code = "64303", message = "Invalid type of Attribute" } }, body_of(answer))
    answer = select(2, webhook.handle(string.rep("[", 17) .. string.rep("]", 17)))  -- deeper than max_depth
    assert.same({ status = "400", error = { code = "64302", message = "Invalid JSON format" } }, body_of(answer))
    answer = select(2, webhook.handle(string.rep(" ", 70000)))
    assert.same({ status = "400", error = { code = "64304", message = "Over specified size" } }, body_of(answer))
  end)

  it("answers the spec's 400 69999 No Subscription for a contract accept_contract refuses, and forgets it", function()
    local store = table_store()
    local subscribed = false
    local o = { store = store, accept_contract = function(ev) return subscribed and ev.corpRegNum == "1148196221" end }
    local body = cjson.encode(EXAMPLE)
    local ev, answer, note = webhook.handle(body, o)
    assert.is_nil(ev)
    assert.equal(400, answer.status)
    assert.same({ status = "400", error = { code = "69999", message = "No Subscription" } }, body_of(answer))
    assert.equal("no_subscription", note)
    subscribed = true  -- the subscription is processed; RCS delivers the contract again
    ev, answer = webhook.handle(body, o)
    assert.equal("contract", ev.notiType)
    assert.equal(200, answer.status)
    -- a hook that raises: no subscription confirmed, and the message comes back
    local _, a2, n2, why = webhook.handle(body, { accept_contract = function() error("db down") end })
    assert.equal(400, a2.status)
    assert.equal("no_subscription", n2)
    assert.matches("db down", why, 1, true)
    -- other notiTypes never ask it
    ev = webhook.handle(cjson.encode(sample("brand")), { accept_contract = function() error("asked") end })
    assert.equal("brand", ev.notiType)
  end)

  it("with a store, returns a repeat as a duplicate (200, no event), also with its keys in another order", function()
    local store = table_store()
    local first = '{"notiType":"brand","brandId":"BR.dup","method":"rejected","reason":"로고 불량"}'
    local again = '{"reason":"로고 불량","method":"rejected","brandId":"BR.dup","notiType":"brand"}'
    local ev, answer, note = webhook.handle(first, { store = store })
    assert.equal("BR.dup", ev.brandId)
    assert.equal(200, answer.status)
    assert.is_nil(note)
    for _, b in ipairs { first, again } do
      ev, answer, note = webhook.handle(b, { store = store })
      assert.is_nil(ev)
      assert.same({ status = 200, headers = {}, body = "" }, answer)
      assert.equal("duplicate", note)
    end
    -- many fields (the order a table keeps them in can depend on the order they came in)
    local a, b = {}, {}
    for i = 1, 40 do a[#a + 1] = string.format('"f%d":"%d"', i, i) b[41 - i] = a[i] end
    local wide = '{"notiType":"chatbot","chatbotId":"c1",'
    assert.truthy(webhook.handle(wide .. table.concat(a, ",") .. "}", { store = store }))
    ev, answer, note = webhook.handle(wide .. table.concat(b, ",") .. "}", { store = store })
    assert.is_nil(ev)
    assert.equal(200, answer.status)
    assert.equal("duplicate", note)
    -- another reason is another notification
    ev = webhook.handle('{"notiType":"brand","brandId":"BR.dup","method":"rejected","reason":"다른 사유"}', { store = store })
    assert.equal("다른 사유", ev.reason)
    local keys = 0
    for k in pairs(store.data) do
      if k:match("^bizreg:noti:") then
        keys = keys + 1
        assert.matches("^bizreg:noti:%x+$", k)  -- hashed (the C core's SHA-256 is loaded here)
        assert.equal(12 + 64, #k)
      end
    end
    assert.equal(3, keys)
  end)

  it("records the latest brand and chatbot verdict for wait_for_approval, and only those", function()
    local store = table_store()
    local before = os.time()
    webhook.handle('{"notiType":"brand","brandId":"BR.v","method":"modified"}', { store = store })
    webhook.handle('{"notiType":"brand","brandId":"BR.v","method":"rejected","reason":"r"}', { store = store })
    webhook.handle('{"notiType":"chatbot","brandId":"BR.v","chatbotId":"0212345678","method":"created"}', { store = store })
    webhook.handle(cjson.encode(sample("logo")), { store = store })
    webhook.handle(cjson.encode(EXAMPLE), { store = store })
    local v = webhook.verdict(store, "brand", "BR.v")
    assert.same({ notiType = "brand", method = "rejected", reason = "r", at = v.at }, v)
    assert.truthy(v.at >= before and v.at <= os.time())
    assert.equal("created", webhook.verdict(store, "chatbot", "0212345678").method)
    assert.is_nil(webhook.verdict(store, "brand", "BR.7EU1Ea9Bxb"))  -- a contract is no brand verdict
    local n = 0
    for k in pairs(store.data) do if not k:match("^bizreg:noti:") then n = n + 1 end end
    assert.equal(2, n)
  end)

  it("works with a store whose methods are called through a metatable (ngx.shared.DICT style)", function()
    local data = {}
    local Dict = {}
    Dict.__index = Dict
    function Dict:get(k) return data[k] end
    function Dict:set(k, v) data[k] = v return true, nil, false end
    function Dict:add(k, v) if data[k] then return false, "exists", false end data[k] = v return true, nil, false end
    local dict = setmetatable({}, Dict)
    local body = cjson.encode(sample("chatbot"))
    assert.truthy(webhook.handle(body, { store = dict }))
    local ev, _, note = webhook.handle(body, { store = dict })
    assert.is_nil(ev)
    assert.equal("duplicate", note)
  end)

  it("delivers the event when the store fails or is full (a repeat beats a loss), saying so", function()
    local raising = { get = function() error("boom") end, set = function() error("boom") end,
      add = function() error("boom") end }
    local ev, answer, note = webhook.handle(cjson.encode(sample("brand")), { store = raising })
    assert.equal("brand", ev.notiType)
    assert.equal(200, answer.status)
    assert.matches("store failed: .*boom", note)
    local full = { get = function() end, set = function() return false, "no memory" end,
      add = function() return false, "no memory" end }
    ev, answer, note = webhook.handle(cjson.encode(sample("brand")), { store = full })
    assert.equal("brand", ev.notiType)
    assert.equal(200, answer.status)
    assert.matches("no memory", note, 1, true)
    assert.is_nil(webhook.verdict(raising, "brand", "x"))
  end)

  it("raises on a store without get, set and add, and on wrong options", function()
    assert.has_error(function() webhook.handle("{}", { store = { get = print, add = print } }) end,
      "bizreg.webhook: option 'store' must have get, set and add methods (e.g. an ngx.shared.DICT)")
    assert.has_error(function() webhook.handle("{}", { seen_ttl = 0 }) end)
    assert.has_error(function() webhook.handle("{}", { accept_contract = 1 }) end)
    assert.has_error(function() webhook.ngx_handler { on_event = "x" } end)
  end)

  it("redact masks the agencyKey (a secret) and leaves the event as it was", function()
    local ev = assert(webhook.decode('{"notiType":"agencykey","agencyKey":"AK.0123456789","method":"created"}'))
    local shown = webhook.redact(ev)
    assert.equal("***", shown.agencyKey)
    assert.equal("AK.0123456789", ev.agencyKey)
    assert.equal("created", shown.method)
    assert.equal("failed on *** twice: ***", webhook.log_text("failed on AK.0123456789\ntwice: AK.0123456789", ev))
  end)
end)
