-- submit, futures, wait_all (failures among successes), map (parallel, in order), cancel.
local t = require("testing")
local specs = carpo.kernelspecs()
local stats = carpo.create_pool("python", specs.python3.resource_dir, {size = 2})   -- a spec directory
t.eq(stats.strategy, "least_busy", "default strategy")

local f = carpo.submit("import time; time.sleep(0.5); 'slow'")
t.eq(f:done(), false, "a running job is not done")
t.contains(tostring(f), "carpo.future(python", "tostring of a future")
local r = f:wait()
t.eq(r.result, "'slow'", "wait gives the result")
t.eq(f:done(), true, "done after wait")
t.eq(f:wait(), r, "wait again gives the same table")

-- wait with its own timeout: raises while the job keeps running, and a later wait gets it.
local long = carpo.submit("import time; time.sleep(1.5); 'later'")
t.raises({"future:wait: no result within 0.2 s", "still running"}, function() local x = long:wait(0.2) return x end)
t.eq(long:wait().result, "'later'", "the job finished after the short wait")

-- wait_all: failures become entries, never errors; order is kept.
local futures = {
  carpo.submit("1 + 1"),
  carpo.submit("import time; time.sleep(10)", {timeout = 0.5}),
  carpo.submit("raise ValueError('bad')"),
  carpo.submit("2 + 2"),
}
local cancelled = carpo.submit("import time; time.sleep(10)")
t.eq(cancelled:cancel(), true, "cancel a job")
table.insert(futures, cancelled)
local all = carpo.wait_all(futures)
t.eq(#all, 5, "one entry per future")
t.eq(all[1].result, "2", "first")
t.eq(all[2].status, "timeout", "timed-out entry status")
t.contains(all[2].message, "within 500 ms", "timed-out entry message")
t.eq(all[3].status, "error", "kernel error stays a result")
t.eq(all[3].error.ename, "ValueError", "its ename")
t.eq(all[4].result, "4", "fourth")
t.eq(all[5].status, "cancelled", "cancelled entry status")
t.raises({"future:wait: cancelled"}, function() local x = cancelled:wait() return x end)
t.raises({"future:wait: timeout: pool 'python'"}, function() local x = futures[2]:wait() return x end)

-- map: 100 jobs in parallel over both kernels, results in order.
local codes = {}
for i = 1, 100 do codes[i] = tostring(i) .. " * 2" end
local results = carpo.map("python", codes)
t.eq(#results, 100, "map result count")
local used = {}
for i = 1, 100 do
  t.eq(results[i].result, tostring(i * 2), "map result " .. i)
  used[results[i].instance] = true
end
t.eq(used[1] and used[2], true, "map used both instances")
-- With one pool the language may be left out; a failed job is an entry.
local mixed = carpo.map({"'a'", "import time; time.sleep(5)", "'c'"}, {timeout = 0.5})
t.eq(mixed[1].result, "'a'", "mixed 1")
t.eq(mixed[2].status, "timeout", "mixed 2")
t.eq(mixed[3].result, "'c'", "mixed 3")
