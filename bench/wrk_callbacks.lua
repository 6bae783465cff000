-- wrk script: send pre-signed Dintero callbacks, one line of the file per request.
-- Each line: path-with-query <TAB> Dintero-Signature <TAB> event-delivery id.
-- Threads take interleaved lines (thread k sends lines k, k+T, k+2T, ...), so no
-- two requests of a run share an event-delivery id until the file wraps around.
-- The file is named by the BENCH_CALLBACKS environment variable.

local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  table.insert(threads, thread)
  counter = counter + 1
end

function init(args)
  requests = {}
  local path = os.getenv("BENCH_CALLBACKS")
  for line in io.lines(path) do
    local target, signature, delivery = line:match("([^\t]+)\t([^\t]+)\t([^\t]+)")
    table.insert(requests, wrk.format("GET", target, {
      ["Dintero-Signature"] = signature,
      ["event-delivery"] = delivery,
      ["User-Agent"] = "Dintero",
    }))
  end
  step = tonumber(os.getenv("BENCH_THREADS") or "1")
  index = id + 1
end

function request()
  local req = requests[index]
  index = index + step
  if index > #requests then
    index = id + 1
  end
  return req
end
