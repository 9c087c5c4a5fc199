-- The four lines of carpo: a pool of three kernels, code on it, code on one instance, scaling.
-- Python (ipykernel) when it is installed, else carpo's built-in Lua kernel, which needs only the JDK.
-- `./carpo run examples/quickstart.lua lua` picks the Lua kernel either way.
local python = carpo.kernelspecs().python3 ~= nil and arg[1] ~= "lua"
if not python and arg[1] ~= "lua" then
  local searched = {}
  for _, p in ipairs(carpo.kernelspec_paths()) do searched[#searched + 1] = p.dir .. "/kernels" end
  io.stderr:write("carpo: no python3 kernelspec in " .. table.concat(searched, ", ") .. "; using carpo-lua instead\n")
end
local lang = python and "python" or "lua"
local code = python
    and {pid = "import os; os.getpid()", fail = "1 / 0"}
    or {pid = "tostring(luajava.bindClass('java.lang.ProcessHandle'):current())", fail = "error('division by zero')"}

carpo.create_pool(lang, python and "python3" or "carpo-lua", {size = 3})   -- kernelspec name, directory, or kernel.json
local r = carpo.execute_code("print(6*7)", {language = lang})
local r2 = carpo.execute_code(code.pid, {language = lang, instance = 2})    -- instances count from 1
carpo.scale_pool(lang, 5)

io.write("stdout:     ", r.stdout)
print(("status:     %s on instance %d in %.2f ms"):format(r.status, r.instance, r.duration_ms))
local err = carpo.execute_code(code.fail)                      -- with one pool, the language may be left out
local s = carpo.pool_stats(lang)
-- Each local kernel runs in a PID namespace of its own (where bubblewrap works): all its processes end with it.
print(("instance 2: pid %s in its PID namespace, %d outside"):format(r2.result, s.instances[2].pid))
print("error:      " .. err.error.ename .. ": " .. err.error.evalue)
print(("pool:       size %d, idle %d, busy %d, ok %d, errors %d"):format(s.size, s.idle, s.busy, s.ok, s.errors))
