-- Code you did not write, on a pool with limits: output, memory, processes. Each limit ends the job
-- that broke it, and only that job; the pool heals and the other instance never notices.
local MiB = 1024 * 1024
carpo.create_pool("python", "python3", {size = 2, max_output = 64 * 1024, memory_limit = 256 * MiB, max_processes = 64})

local function why(f, ...)
  local ok, err = pcall(f, ...)
  return ok and "no error" or tostring(err):gsub("^[^:]*untrusted%.lua:%d+: ", ""):gsub("%-%x+%-%x+%-%x+%-%x+", "-…")
end

local flood = carpo.execute_code("for i in range(100_000): print(i)", {instance = 1})
print(("flood:   %s, truncated=%s, %d bytes dropped, %d kept"):format(flood.status, tostring(flood.truncated),
    flood.dropped_bytes, #flood.stdout))
print("         first line " .. flood.stdout:match("^[^\n]*") .. ", last line " .. flood.stdout:match("([^\n]*)\n$"))

print("huge:    " .. why(carpo.execute_code, "print('x' * 10_000_000)", {instance = 1}))

local other = carpo.submit("import time; time.sleep(2); 'instance 2 untouched'", {instance = 2})
print("memory:  " .. why(carpo.execute_code, "x = b'x' * (1024 * 1024 * 1024)", {instance = 1}))
print("         " .. other:wait().result)

local forks = carpo.execute_code([[
import os, time
n = 0
try:
    while n < 1000:
        if os.fork() == 0:
            time.sleep(3)
            os._exit(0)
        n += 1
except OSError as e:
    print(f"fork {n + 1} refused ({type(e).__name__}); the kernel lives on")]], {instance = 2})
io.write("forks:   " .. forks.stdout)

local s = carpo.pool_stats("python")
print(("stats:   ok %d, errors %d, output_limited %d, memory_limited %d, kernel_died %d, size %d"):format(
    s.ok, s.errors, s.output_limited, s.memory_limited, s.kernel_died, s.size))
