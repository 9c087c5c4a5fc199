-- Scaling under load while Prometheus metrics are served.
-- Run with ./carpo run examples/scaling_metrics.lua [--metrics-port 9464] and scrape the URL it prints.
local url = carpo.serve_metrics(0)           -- the port --metrics-port chose, or any free one
print("metrics at " .. url)
carpo.create_pool("python", "python3", {size = 1})

local function show(moment)
  local s = carpo.pool_stats("python")
  print(("%s size %d, busy %d, queued %d, starting %d"):format(moment, s.size, s.busy, s.queued, s.starting))
end

-- 24 jobs of 0.25 s on one kernel would take 6 s ...
local futures = {}
for i = 1, 24 do futures[i] = carpo.submit("import time; time.sleep(0.25); " .. i) end
show("under load:")
-- ... so scale to 4 while they run; new kernels take queued jobs as soon as they are ready.
carpo.scale_pool("python", 4)
show("after scale_pool(4):")
local results = carpo.wait_all(futures)
local used = {}
for _, r in ipairs(results) do used[r.instance] = true end
local n = 0
for _ in pairs(used) do n = n + 1 end
print(("24 jobs done on %d instances"):format(n))
show("load finished:")

-- What Prometheus sees: the kernel fetches the endpoint itself, over loopback.
local scrape = carpo.execute_code(([[
import urllib.request
for line in urllib.request.urlopen('%s').read().decode().splitlines():
    if line.startswith(('carpo_kernels{', 'carpo_executions_total{', 'carpo_pool_target')):
        print(line)
]]):format(url))
io.write(scrape.stdout)

carpo.scale_pool("python", 2)
show("after scale_pool(2):")
