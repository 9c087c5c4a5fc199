-- One tenant per kernel: each session gets a fresh, sandboxed kernel; graders recycle theirs; every
-- kernel that goes says why.
carpo.create_pool("python", "python3", {size = 2, fresh_leases = true, sandbox = {network = false}})

local alice = carpo.lease()
alice:execute("secret = 'alice'; open('notes.txt', 'w').write('alice was here')")
alice:release()

local bob = carpo.lease()
print("bob:     secret is a " .. bob:execute("secret").error.ename .. ", files here: " .. bob:execute("import os; os.listdir()").result)
local net = bob:execute([[
import socket
try:
    socket.create_connection(("1.1.1.1", 53), timeout=2)
    print("connected")
except OSError as e:
    print(type(e).__name__, e.strerror or e)]])
io.write("network: " .. net.stdout)
local home = os.getenv("HOME") or "/root"
print("home:    " .. home .. " visible: " .. bob:execute(("import os; os.path.exists(%q)"):format(home)).result)
bob:release()

carpo.create_pool("grader", "python3", {size = 1, max_executions = 2})
for i = 1, 5 do
  carpo.execute_code("n = globals().get('n', 0) + 1", {language = "grader"})
end

local p, g = carpo.pool_stats("python"), carpo.pool_stats("grader")
print(("python:  lease_end %d, deaths %d"):format(p.retirements.lease_end, p.deaths))
print(("grader:  executions %d, kernels started %d"):format(g.retirements.executions, g.kernels_started))
