-- pool_stats, list_pools, scale_pool, broadcast, lease, kernelspecs, serve_metrics, shutdown_pool.
local t = require("testing")

local specs = carpo.kernelspecs()
t.eq(specs.python3.language, "python", "kernelspecs() finds python3")
t.eq(type(specs.python3.argv), "table", "argv is a list")
t.contains(specs.python3.resource_dir, "python3", "resource_dir")

-- A spec may be a directory or a kernel.json as well as a name.
carpo.create_pool("py", specs.python3.resource_dir .. "/kernel.json",
  {min = 1, max = 3, env = {CARPO_TEST = "yes", CARPO_NUMBER = "42"}, cwd = "/tmp", init = "7"})
local s = carpo.pool_stats("py")
for _, key in ipairs({"size", "idle", "busy", "starting", "queued", "min", "max", "strategy", "submitted", "ok",
                      "errors", "timeouts", "cancelled", "rejected", "kernel_died", "restarts", "kernels_started"}) do
  t.eq(s[key] ~= nil, true, "pool_stats has " .. key)
end
t.eq(s.min, 1, "min")
t.eq(s.max, 3, "max")
t.eq(s.size, 1, "starts at min")
t.eq(s.instances[1].instance, 1, "instances numbered from 1")
t.eq(s.instances[1].state, "idle", "an instance's state is InstanceState's lower-case name")
t.eq(carpo.execute_code("import os; os.environ['CARPO_TEST'], os.environ['CARPO_NUMBER'], os.getcwd()").result,
  "('yes', '42', '/tmp')", "env (numeric strings too) and cwd")

-- broadcast reaches every instance, and kernels started later.
local b = carpo.broadcast("py", "GREETING = 'hi'")
t.eq(#b, 1, "broadcast result per instance")
t.eq(b[1].status, "ok", "broadcast status")

s = carpo.scale_pool("py", 3)
t.eq(s.size, 3, "scale_pool returns the new stats")
local lists = carpo.list_pools()
t.eq(#lists, 1, "list_pools")
t.eq(lists[1], "py", "list_pools name")
t.eq(carpo.execute_code("GREETING", {instance = 3}).result, "'hi'", "broadcast reached a kernel started later")

-- lease: exclusive and stateful; a job aimed at the leased instance waits for the release.
local lease = carpo.lease({timeout = 30})   -- one pool: the language may be left out
t.eq(type(lease.instance), "number", "lease.instance")
t.contains(tostring(lease), "carpo.lease(py[", "tostring of a lease")
lease:execute("counter = 41")
t.eq(lease:execute("counter + 1").result, "42", "state kept on the lease")
local aimed = carpo.submit("'after the lease'", {instance = lease.instance})
t.raises({"no result within"}, function() local x = aimed:wait(0.5) return x end)
lease:release()
lease:release() -- idempotent
t.eq(aimed:wait().result, "'after the lease'", "the aimed job ran once the lease ended")
t.raises({"lease:execute", "was released"}, function() local x = lease:execute("1") return x end)

-- Scale down: retired kernels go, the rest keep working.
s = carpo.scale_pool("py", 1)
t.eq(#s.instances, 1, "one instance after scaling down")
t.eq(carpo.execute_code("1 + 1", {language = "py"}).result, "2", "works after scaling down")

-- Metrics: served for Prometheus; the kernel itself fetches them over loopback.
local url = carpo.serve_metrics(0)
t.contains(url, "http://127.0.0.1:", "metrics url")
t.eq(carpo.serve_metrics(0), url, "serve_metrics again gives the same endpoint")
local scrape = carpo.execute_code("import urllib.request; print(urllib.request.urlopen('" .. url .. "').read().decode())")
t.contains(scrape.stdout, 'carpo_kernels{language="python",location="local",pool="py",state="idle"}', "kernel gauge in the scrape")
t.contains(scrape.stdout, 'carpo_executions_total{language="python",location="local",outcome="ok",pool="py"}', "execution counter in the scrape")

carpo.shutdown_pool("py")
t.eq(#carpo.list_pools(), 0, "no pool after shutdown_pool")
