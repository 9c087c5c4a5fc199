-- Multi-tenant pools from Lua: fresh_leases, max_executions, max_lifetime, leak detection, the
-- sandbox table, and why kernels went (pool_stats' retirements and death_reasons).
local t = require("testing")

t.raises({"create_pool: option 'fresh_leases' must be true or false, got string \"yes\""}, function()
  local r = carpo.create_pool("x", "python3", {fresh_leases = "yes"}) return r end)
t.raises({"create_pool: option 'max_executions' must be a whole number, at least 0, got number -1"}, function()
  local r = carpo.create_pool("x", "python3", {max_executions = -1}) return r end)
t.raises({"create_pool: option 'max_lifetime' must be a positive number of seconds"}, function()
  local r = carpo.create_pool("x", "python3", {max_lifetime = 0}) return r end)
t.raises({"create_pool: option 'leak_detection_threshold' must be a positive number of seconds"}, function()
  local r = carpo.create_pool("x", "python3", {leak_detection_threshold = "1s"}) return r end)
t.raises({"create_pool: option 'sandbox' must be a table, got boolean"}, function()
  local r = carpo.create_pool("x", "python3", {sandbox = true}) return r end)
t.raises({"create_pool: option 'sandbox' has unknown key 'net'; its keys are: network, read_only, writable"}, function()
  local r = carpo.create_pool("x", "python3", {sandbox = {net = false}}) return r end)
t.raises({"option 'sandbox.read_only': path \"data\" is not absolute"}, function()
  local r = carpo.create_pool("x", "python3", {sandbox = {read_only = {"data"}}}) return r end)
t.raises({"create_pool: option 'sandbox.read_only' must be a list of strings; item 1 is number 3"}, function()
  local r = carpo.create_pool("x", "python3", {sandbox = {read_only = {3}}}) return r end)
t.raises({"sandbox is for kernels carpo runs as local processes"}, function()
  local r = carpo.create_pool("x", "python3", {sandbox = {}, gateway = "http://127.0.0.1:1"}) return r end)

-- Fresh leases: the second tenant sees nothing of the first.
carpo.create_pool("fresh", "python3", {size = 2, fresh_leases = true})
local a = carpo.lease("fresh")
a:execute("x = 1")
local first = a.kernel_id
a:release()
local b = carpo.lease("fresh")
t.eq(b.kernel_id ~= first, true, "a different kernel for the next lease")
local r = b:execute("x")
t.eq(r.status, "error", "x is gone")
t.eq(r.error.ename, "NameError", "x is a NameError")
b:release()

-- max_executions: three jobs, the third kernel's first job sees a count of 1 again.
carpo.create_pool("recycled", "python3", {size = 1, max_executions = 2, leak_detection_threshold = 60})
local seen = {}
for i = 1, 5 do
  local res = carpo.execute_code("n = globals().get('n', 0) + 1; n", {language = "recycled"})
  seen[#seen + 1] = res.result
end
t.eq(table.concat(seen, ","), "1,2,1,2,1", "each kernel ran two jobs")
local s = carpo.pool_stats("recycled")
t.eq(s.retirements.executions, 2, "retirements.executions")
t.eq(s.retirements.lifetime, 0, "every reason is present, zero where none")
t.eq(s.death_reasons.crash, 0, "death_reasons.crash")
t.eq(s.leases_leaked, 0, "leases_leaked")
local fs = carpo.pool_stats("fresh")
t.eq(fs.retirements.lease_end, 2, "retirements.lease_end")
