-- Output limits from Lua: max_output per pool and per job, truncated results, refused messages.
local t = require("testing")

t.raises({"create_pool: option 'max_output' must be a whole number of bytes, at least 1024, got number 10"}, function()
  local r = carpo.create_pool("x", "python3", {max_output = 10}) return r end)
t.raises({"create_pool: option 'max_output' must be a whole number of bytes, at least 1024, got string \"1k\""}, function()
  local r = carpo.create_pool("x", "python3", {max_output = "1k"}) return r end)

carpo.create_pool("py", "python3", {size = 1, max_output = 4096, init = "import sys"})

local r = carpo.execute_code("for i in range(10000):\n    print(i)\n    if i % 100 == 0: sys.stdout.flush()")
t.eq(r.status, "ok", "a truncated job still ran")
t.eq(r.truncated, true, "truncated")
t.eq(r.stdout:sub(1, 6), "0\n1\n2\n", "the head is kept")
t.eq(r.stdout:sub(-10), "9998\n9999\n", "the tail is kept")
t.contains(r.stdout, "bytes of output dropped]", "the cut is marked")
t.eq(r.dropped_bytes > 40000, true, "dropped_bytes counts the middle (" .. r.dropped_bytes .. ")")

local small = carpo.execute_code("print('x' * 3000)")
t.eq(small.truncated, false, "3000 bytes fit the pool's 4096")
t.eq(small.dropped_bytes, 0, "nothing dropped")
local cut = carpo.execute_code("print('x' * 3000)", {max_output = 1024})
t.eq(cut.truncated, true, "a job's own max_output")
t.raises({"execute_code: option 'max_output' must be a whole number of bytes, at least 1024, got number 1.5"}, function()
  local x = carpo.execute_code("1", {max_output = 1.5}) return x end)

-- One message within the pool's bound (twice max_output plus 64 KiB, at least 2 MiB + 64 KiB) is received and cut.
local burst = carpo.execute_code("print('y' * 1_000_000)")
t.eq(burst.truncated, true, "a 1 MB print on a 4 KiB pool is kept head and tail")
t.eq(#burst.stdout < 5000, true, "kept within the limit (" .. #burst.stdout .. ")")
-- One past it is refused unread: the job ends with the reason.
t.raises({"execute_code: output_limit: pool 'py' instance 1", "on iopub", "refused unread"}, function()
  local x = carpo.execute_code("print('y' * 3_000_000)") return x end)
t.eq(carpo.execute_code("6 * 7").result, "42", "the kernel serves the next job")
t.eq(carpo.pool_stats("py").output_limited, 1, "counted in pool_stats")
