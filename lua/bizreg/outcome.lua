--- Outcomes: what a failed call means for what the server may now hold.
--
-- The one table of it, read by the library (an error's `retryable`) and by the `bizreg`
-- command (its exit codes, its journal and `--resume`). Every error falls in one of three:
--
-- * `"not_processed"`: nothing reached the server, or the server said it did not take the
--   request (429; 503 with `Retry-After`). Sending it again is safe.
-- * `"refused"`: the server (or bizreg's own validation) answered and refused the request:
--   nothing was registered. Fix what the error says, then send it again.
-- * `"maybe_processed"`: the request may have been registered and bizreg cannot know (any
--   other 5xx, a 2xx whose answer could not be read, a transport failure after the body
--   left, any answer to a resend: `err.resent`). Look before sending it again; never resend
--   it blindly — unless `err.retryable` says so.
--
-- The outcome says what the server may hold; `err.retryable` says whether sending the same
-- request again is safe. They agree except for a route whose repeat cannot change the outcome
-- (`bizreg.routes`: a read, a cancel, a delete by ID): there a `"maybe_processed"` error may
-- be `retryable`, since the request holds the same whether it arrives once or twice.
-- @module bizreg.outcome
-- @usage
-- local outcome = require "bizreg.outcome"
-- local res, err = kos:register_visitor_images(batch)
-- if not res and outcome.of(err) == outcome.MAYBE then print("look in KOS before sending again") end
local M = {}

M.NOT_PROCESSED, M.REFUSED, M.MAYBE = "not_processed", "refused", "maybe_processed"

-- HTTP statuses that say "not processed". 503 only with a Retry-After: the server then says
-- when to come back, i.e. it took nothing; a bare 503 (or 502/504) may come from a gateway
-- after the upstream took the request. Neither API has an idempotency key.
local NOT_PROCESSED_STATUS = { [429] = "always", [503] = "with Retry-After" }

--- What an HTTP answer's status means.
-- @tparam integer status the HTTP status (not 2xx)
-- @tparam[opt] number retry_after the answer's `Retry-After` in seconds, if it had one
-- @treturn string `NOT_PROCESSED`, `REFUSED` or `MAYBE`
function M.of_status(status, retry_after)
  local row = NOT_PROCESSED_STATUS[status]
  if row == "always" or (row and retry_after) then return M.NOT_PROCESSED end
  if type(status) == "number" and status >= 500 then return M.MAYBE end
  return M.REFUSED
end

--- What an error means (`nil, err` of any call).
-- @tparam table err a bizreg error
-- @treturn string `NOT_PROCESSED`, `REFUSED` or `MAYBE`
function M.of(err)
  local kind = err.kind
  if kind == "validation" then return M.REFUSED end               -- nothing was sent
  -- the token step failed: the call's own request never left; the token API refusing the
  -- credentials (a 4xx) is a refusal to fix, anything else (a 5xx, a broken connection) not
  -- processed — the token request registers nothing
  if err.step == "token" then
    if kind == "http" and M.of_status(err.http_status or err.status, err.retry_after) == M.REFUSED then return M.REFUSED end
    return M.NOT_PROCESSED
  end
  -- the answer is a resend's (a "repeat" route, bizreg.routes): the first attempt may have
  -- been processed whatever this one says
  if err.resent then return M.MAYBE end
  -- by the HTTP status: an RCS Fail envelope inside a 2xx (err.http_status 200) was refused
  -- whatever status it names; the library's retryable reads the same
  if kind == "http" then return M.of_status(err.http_status or err.status, err.retry_after) end
  if kind == "transport" and err.sent == false then return M.NOT_PROCESSED end
  return M.MAYBE  -- decode (a 2xx we could not read), transport after the body, anything new
end

return M
