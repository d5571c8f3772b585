-- wrk script: POST questions to ragd's query route.
-- QUERY_MODE=unique makes every question distinct (never cached);
-- QUERY_MODE=same repeats one question (always cached after the first).
local mode = os.getenv("QUERY_MODE") or "unique"
local collection = os.getenv("COLLECTION") or "bench"
-- RETRIEVAL=dense (default here), sparse or hybrid.
local retrieval = os.getenv("RETRIEVAL") or "dense"
local subjects = {"reservoir", "night shift", "billing service", "warehouse", "river dam",
  "telescope", "cache cluster", "harbour crane", "bakery oven", "wind farm"}
local counter = 0
local thread_id = 0

function setup(thread)
  thread_id = thread_id + 1
  thread:set("tid", thread_id)
end

function init(args)
  math.randomseed(os.time() + (tid or 0) * 7919)
  wrk.method = "POST"
  wrk.path = "/v1/collections/" .. collection .. "/query"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  local q
  if mode == "same" then
    q = "What happened to the river dam during the migration?"
  else
    counter = counter + 1
    q = string.format("What did the %s report (%d-%d-%d)?",
      subjects[math.random(#subjects)], tid or 0, counter, math.random(1000000))
  end
  -- Dense mode: every uncached query pays for one embedding, which is the
  -- cost docs/BENCHMARKS.md compares with the embedder alone.
  return wrk.format(nil, nil, nil, '{"question":"' .. q .. '","top_k":5,"mode":"' .. retrieval .. '"}')
end

local errors = 0
function response(status, headers, body)
  if status ~= 200 then errors = errors + 1 end
end
