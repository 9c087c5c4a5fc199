-- A parallel map: 100 jobs over a pool of 4 Python kernels, results in submission order.
local started = os.clock()
carpo.create_pool("python", "python3", {size = 4, init = "import math"})

local jobs = {}
for n = 1, 100 do
  -- Each job counts the primes below n * 1000 (a few ms of CPU each).
  jobs[n] = ("sum(1 for k in range(2, %d) if all(k %% d for d in range(2, math.isqrt(k) + 1)))"):format(n * 1000)
end
local results = carpo.map("python", jobs)

local per_instance, failed = {}, 0
for n, r in ipairs(results) do
  if r.status ~= "ok" then
    failed = failed + 1
    print(("job %d: %s %s"):format(n, r.status, r.message or (r.error and r.error.evalue) or ""))
  else
    per_instance[r.instance] = (per_instance[r.instance] or 0) + 1
  end
end
print(("primes below 1000: %s, below 100000: %s"):format(results[1].result, results[100].result))
for i = 1, 4 do print(("instance %d ran %d jobs"):format(i, per_instance[i] or 0)) end
print(("%d jobs, %d failed"):format(#results, failed))
local s = carpo.pool_stats("python")
print(("pool: ok %d, errors %d, kernels started %d"):format(s.ok, s.errors, s.kernels_started))
assert(failed == 0, "some jobs failed")
