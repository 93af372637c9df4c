--- Routes: whether repeating a request can change what the server holds.
--
-- The one table of it. Every request bizreg sends names its route (`req.route`, the key below:
-- the method and the path template of the RCS OpenAPI 1.1.12, without `/api/1.1`, or the KOS
-- path). Neither API has an idempotency key, so:
--
-- * `"once"`: a repeat may change the outcome (a second registration, a second review, a
--   second answer that hides the first). Sent at most once: only a failure where nothing can
--   have reached the server (connect phase) or an answer that refused it (429) is retried.
-- * `"repeat"`: a repeat leaves the server as one request does (a read; a cancel or delete of
--   the same ID). Besides the above, bizreg sends it again after a transport failure where
--   bytes may have left (`RESEND_CODES`) and after a 502, 503 or 504 answer (`RESEND_STATUS`),
--   within the client's `retries`, back-off and `deadline`.
--
-- A request without a route, or with a route not below, is `"once"`: the safe default.
-- docs/reliability.md shows this table (spec/unit/docs_spec.lua keeps the two equal).
-- @module bizreg.routes
-- @usage
-- local routes = require "bizreg.routes"
-- print(routes.of("GET /corp/{personId}/brand/{brandId}"))  --> repeat
-- print(routes.of("POST /corp/brand"))                      --> once
local M = {}

M.ONCE, M.REPEAT = "once", "repeat"

--- route -> `"once"` or `"repeat"`, with why.
-- @table ROUTES
M.ROUTES = {
  -- ---- tokens: a token call registers nothing; a second token at most replaces the first
  -- (RCS tokens cannot be refreshed, a new one is simply issued: api-notes, S1/S5).
  ["POST /token"] = "repeat",
  ["POST /open/authorization/commands/exchange-token"] = "repeat",  -- KOS: the same, key -> token

  -- ---- KOS
  -- each arrival registers every image again (no idempotency key): at most once
  ["POST /image/open/v1/commands/register-visitor-images"] = "once",
  -- a query: a POST by its method, but it changes nothing on the server
  ["POST /visitor/open/v1/queries/search-visitors"] = "repeat",

  -- ---- RCS brands
  -- each arrival is a new brand and an approval request an operator reviews by hand
  ["POST /corp/brand"] = "once",
  -- resubmit (반려/저장 -> 승인대기): a repeat finds the brand under review and is refused,
  -- an answer that would hide the first one's success (or queues a second review)
  ["PUT /corp/brand/{brandId}"] = "once",
  -- cancel a pending request: once cancelled, a repeat changes nothing (it is refused: no
  -- longer 승인대기); brandIds are never reused
  ["PUT /corp/brand/{brandId}/cancel"] = "repeat",
  -- the same for the cancel of a running brand's pending edit review
  ["PUT /corp/{personId}/brand/{brandId}/cancel"] = "repeat",
  -- delete a brand never approved (반려/저장): gone after the first, a repeat can only be
  -- refused; no other brand can take its ID
  ["DELETE /corp/brand/{brandId}"] = "repeat",
  -- delete an approved brand: processed only once its numbers and templates are gone, and it
  -- ends a brand that is live at the three carriers. A first attempt refused (numbers still
  -- there) whose answer was lost, repeated after they were removed, would delete it at a
  -- moment the caller did not choose: the caller reads the first answer, at most once
  ["DELETE /corp/{personId}/brand/{brandId}"] = "once",
  -- edit a running brand: a new name or profile sends it back to review; a repeat then finds
  -- it 승인대기 (not editable) and is refused, hiding the first one's success; the body may
  -- carry images (multipart like the POST)
  ["PUT /corp/{personId}/brand/{brandId}"] = "once",
  -- reads (one brand, a page of the account's brands, the category list)
  ["GET /corp/{personId}/brand/{brandId}"] = "repeat",
  ["GET /corp/{personId}/brand"] = "repeat",
  ["GET /corp/brand/categories"] = "repeat",

  -- ---- RCS sender numbers (chatbots)
  -- each arrival adds the numbers again and asks for their review
  ["POST /brand/{brandId}/chatbot"] = "once",
  -- reads (a page of a brand's numbers, one number)
  ["GET /brand/{brandId}/chatbot"] = "repeat",
  ["GET /brand/{brandId}/chatbot/{chatbotId}"] = "repeat",
  -- edit a number: a new chatbot name goes to review; a repeat meets that review (refused, or
  -- a second one): at most once
  ["PUT /brand/{brandId}/chatbot/{chatbotId}"] = "once",
  -- delete a number (저장/반려/승인): gone after the first; a number added again meanwhile
  -- would be 승인대기, which a delete cannot touch, so a repeat deletes nothing else
  ["DELETE /brand/{brandId}/chatbot/{chatbotId}"] = "repeat",
  -- cancel a number's pending review: a repeat finds it no longer pending, changes nothing
  ["PUT /brand/{brandId}/chatbot/{chatbotId}/cancel"] = "repeat",
}

--- Transport failures after which a `"repeat"` route is sent again although bytes may have
-- left (`sent = true`): the connection broke or went silent. Not: a deadline, a closed
-- client, a file changed under upload, an answer over the limits, a TLS or URL problem
-- (the same request would fail the same way).
-- @table RESEND_CODES
M.RESEND_CODES = {
  CONNECTION_DIED = true, RECV_ERROR = true, SEND_ERROR = true, GOT_NOTHING = true,
  OPERATION_TIMEDOUT = true, PARTIAL_FILE = true, HTTP2 = true, HTTP2_STREAM = true,
}

--- HTTP statuses after which a `"repeat"` route is sent again: a gateway or an overloaded
-- server that may pass the next one on. Not 500: an application failure usually repeats, and
-- the deadline is better spent on the caller's decision.
-- @table RESEND_STATUS
M.RESEND_STATUS = { [502] = true, [503] = true, [504] = true }

--- What a repeat of the route means: `"once"` or `"repeat"` (`"once"` for nil or an unknown route).
-- @tparam[opt] string route `"<METHOD> <path template>"`
-- @treturn string
function M.of(route)
  return M.ROUTES[route] == M.REPEAT and M.REPEAT or M.ONCE
end

--- Whether the route may be sent again after bytes may have left.
-- @tparam[opt] string route
-- @treturn boolean
function M.repeatable(route)
  return route ~= nil and M.ROUTES[route] == M.REPEAT
end

return M
