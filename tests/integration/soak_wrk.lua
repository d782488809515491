-- wrk's part of soak_test: keep-alive GETs of two files in turn, every response checked to be a
-- 200 whose body is one of the two files byte for byte (wrk's connections share a thread's Lua
-- state, so a response is matched by content, not by its request). Usage:
--   wrk -s soak_wrk.lua URL -- ROOT
local paths = {"/small.html", "/text.txt"}
local expected = {}
local threads = {}
local next_path = 0

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  for k, p in ipairs(paths) do
    local f = assert(io.open(args[1] .. p, "rb"))
    expected[k] = f:read("*a")
    f:close()
  end
  checked = 0
  bad = 0
end

function request()
  next_path = next_path % #paths + 1
  return wrk.format("GET", paths[next_path])
end

function response(status, headers, body)
  checked = checked + 1
  if status ~= 200 or (body ~= expected[1] and body ~= expected[2]) then
    bad = bad + 1
  end
end

function done(summary, latency, requests)
  local all, wrong = 0, 0
  for _, t in ipairs(threads) do
    all = all + t:get("checked")
    wrong = wrong + t:get("bad")
  end
  io.write(string.format("wrk-check: %d responses, %d bad\n", all, wrong))
end
