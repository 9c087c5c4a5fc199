-- The four lines of carpo: a pool of three Python kernels, code on it, on one instance, and scaling.
carpo.create_pool("python", "python3", {size = 3})            -- kernelspec name, directory, or kernel.json
local r = carpo.execute_code("print(6*7)", {language = "python"})
carpo.execute_code("import os; print(os.getpid())", {language = "python", instance = 2})
carpo.scale_pool("python", 5)

io.write("stdout: ", r.stdout)
print("status: " .. r.status .. ", instance " .. r.instance .. ", " .. r.duration_ms .. " ms")
local err = carpo.execute_code("1 / 0")                       -- with one pool, language may be left out
print("error:  " .. err.error.ename .. ": " .. err.error.evalue)
local s = carpo.pool_stats("python")
print(("pool:   size %d, idle %d, busy %d, ok %d, errors %d"):format(s.size, s.idle, s.busy, s.ok, s.errors))
