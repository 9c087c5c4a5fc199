-- carpo.create_pool, execute_code and the result table, against real ipykernels.
local t = require("testing")
local carpo_module = require("carpo")
t.eq(carpo_module, carpo, "require('carpo') is the global carpo")

local stats = carpo.create_pool("python", "python3", {size = 2, init = "import os, sys, time", timeout = 30,
                                                      strategy = "round_robin"})
t.eq(stats.size, 2, "size after create_pool")
t.eq(stats.strategy, "round_robin", "strategy")

-- The four lines of the design doc work as written.
local r = carpo.execute_code("print(6*7)", {language = "python"})
t.eq(r.status, "ok", "status")
t.eq(r.stdout, "42\n", "stdout")
t.eq(r.result, nil, "print has no result")
t.eq(type(r.duration_ms), "number", "duration_ms")
t.eq(type(r.wait_ms), "number", "wait_ms")
t.eq(type(r.execution_count), "number", "execution_count")

-- result, data, stderr
r = carpo.execute_code("sys.stderr.write('warn\\n'); {'a': 1}")
t.eq(r.result, "{'a': 1}", "result text/plain")
t.eq(r.data["text/plain"], "{'a': 1}", "data mime bundle")
t.eq(r.stderr, "warn\n", "stderr")
r = carpo.execute_code("from IPython.display import HTML; HTML('<b>x</b>')")
t.eq(r.data["text/html"], "<b>x</b>", "html in data")

-- A kernel-side error is a result, not a Lua error.
r = carpo.execute_code("1 / 0")
t.eq(r.status, "error", "status of a raising job")
t.eq(r.error.ename, "ZeroDivisionError", "ename")
t.eq(r.error.evalue, "division by zero", "evalue")
t.eq(type(r.error.traceback), "table", "traceback is a list")
t.eq(#r.error.traceback > 0, true, "traceback has lines")

-- instance is 1-based both ways: instance = 2 runs on the second kernel and says so.
-- (Kernels are told apart by kernel id: os.getpid() is 2 in every kernel's PID namespace.)
local ids = {}
for i = 1, 2 do
  local p = carpo.execute_code("1", {language = "python", instance = i})
  t.eq(p.instance, i, "instance reported")
  ids[i] = p.kernel_id
end
t.eq(ids[1] ~= ids[2], true, "instances 1 and 2 are different kernels")
t.eq(carpo.execute_code("1", {instance = 2}).kernel_id, ids[2], "instance 2 again")
local s = carpo.pool_stats("python")
t.eq(s.instances[2].kernel_id, ids[2], "pool_stats instance 2 is the kernel that ran")

-- round_robin: submission i goes to instance (i mod 2) + 1, busy or not.
local placed = {}
local rr = {}
for i = 1, 4 do rr[i] = carpo.submit("import time; time.sleep(0.05)") end
for i, r in ipairs(carpo.wait_all(rr)) do placed[i] = r.instance end
t.eq(placed[1] ~= placed[2] and placed[1] == placed[3] and placed[2] == placed[4], true,
  "round robin placement " .. table.concat(placed, ","))

-- Execution counts grow per kernel.
local c1 = carpo.execute_code("1", {instance = 1}).execution_count
local c2 = carpo.execute_code("1", {instance = 1}).execution_count
t.eq(c2, c1 + 1, "execution_count on one instance")

-- A job that fails outside the kernel raises, naming the cause and the instance from 1.
local err = t.raises({"execute_code: timeout: pool 'python' instance 2", "within 300 ms"}, function()
  local x = carpo.execute_code("time.sleep(30)", {instance = 2, timeout = 0.3})
  return x
end)
-- The pool interrupts the timed-out job: instance 2 takes work again.
t.eq(carpo.execute_code("'back'", {instance = 2}).result, "'back'", "instance 2 after a timeout")

-- Unicode both ways.
t.eq(carpo.execute_code("print('héllo ✓')").stdout, "héllo ✓\n", "unicode stdout")
