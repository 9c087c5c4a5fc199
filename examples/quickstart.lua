-- The four lines of carpo: a pool of three Python kernels, code on it, code on one instance, scaling.
carpo.create_pool("python", "python3", {size = 3})            -- kernelspec name, directory, or kernel.json
local r = carpo.execute_code("print(6*7)", {language = "python"})
local r2 = carpo.execute_code("import os; os.getpid()", {language = "python", instance = 2})  -- instances count from 1
carpo.scale_pool("python", 5)

io.write("stdout:     ", r.stdout)
print(("status:     %s on instance %d in %.2f ms"):format(r.status, r.instance, r.duration_ms))
print("instance 2: kernel pid " .. r2.result)
local err = carpo.execute_code("1 / 0")                       -- with one pool, the language may be left out
print("error:      " .. err.error.ename .. ": " .. err.error.evalue)
local s = carpo.pool_stats("python")
print(("pool:       size %d, idle %d, busy %d, ok %d, errors %d"):format(s.size, s.idle, s.busy, s.ok, s.errors))
