-- Bad input is refused with an error naming it, and a refused call has no effect.
local t = require("testing")

-- Pool options, before any kernel starts.
t.raises({"create_pool: pool 'x': option 'max' must be at most 1024 (the most kernels a pool may hold), got 2000"}, function()
  local r = carpo.create_pool("x", "python3", {min = 1, max = 2000}) return r end)
t.raises({"create_pool: pool 'x': option 'size' must be at most 1024 (the most kernels a pool may hold), got 1025"}, function()
  local r = carpo.create_pool("x", "python3", {size = 1025}) return r end)
t.raises({"create_pool: pool 'x': option 'max_queued' must be at least 1, got 0"}, function()
  local r = carpo.create_pool("x", "python3", {max_queued = 0}) return r end)
t.raises({"create_pool: pool 'x': option 'max_concurrent_starts' must be at least 1, got 0"}, function()
  local r = carpo.create_pool("x", "python3", {max_concurrent_starts = 0}) return r end)
t.raises({"create_pool: pool 'x': PoolOptions.env: variable name \"A=B\" must be non-empty, without '=' or NUL"}, function()
  local r = carpo.create_pool("x", "python3", {env = {["A=B"] = "1"}}) return r end)
t.raises({"create_pool: option 'env' must map names to strings; entry string \"A\" = boolean true does not"}, function()
  local r = carpo.create_pool("x", "python3", {env = {A = true}}) return r end)
t.raises({"create_pool: option 'init' is not valid UTF-8: byte 0xFF at offset 4 (line 1, byte 5 of the line);"
  .. " code is sent to the kernel as UTF-8"}, function()
  local r = carpo.create_pool("x", "python3", {init = "x = \255"}) return r end)
t.raises({"create_pool: option 'startup_timeout' must be a positive number of seconds (at most 1000000), got number inf"}, function()
  local r = carpo.create_pool("x", "python3", {startup_timeout = math.huge}) return r end)
t.eq(#carpo.list_pools(), 0, "no pool left behind by refused create_pool calls")

carpo.create_pool("a", "python3", {size = 1, max_queued = 1, max_concurrent_starts = 1})
local submitted = carpo.pool_stats("a").submitted

-- Code that is not UTF-8 never reaches the kernel. ED A0 80 is U+D800 as CESU-8, which LuaJ's own
-- decoding would turn into the lone surrogate ipykernel crashes on.
t.raises({"execute_code: argument #1 (code) is not valid UTF-8: byte 0xED at offset 7 (line 1, byte 8 of the line);"
  .. " code is sent to the kernel as UTF-8"}, function()
  local r = carpo.execute_code("print('\237\160\128')") return r end)
t.raises({"submit: argument #1 (code) is not valid UTF-8: byte 0xC3 at offset 11 (line 2, byte 6 of the line)"}, function()
  local r = carpo.submit("x = 1\ny = '\195('") return r end)
t.raises({"map: entry 2 is not valid UTF-8: byte 0x80 at offset 0 (line 1, byte 1 of the line)"}, function()
  local r = carpo.map("a", {"1", "\128"}) return r end)
t.raises({"broadcast: argument #2 (code) is not valid UTF-8: byte 0xFF"}, function()
  local r = carpo.broadcast("a", "import os \255") return r end)
local lease = carpo.lease("a")
t.raises({"lease:execute: argument #2 (code) is not valid UTF-8: byte 0xFE at offset 0"}, function()
  local r = lease:execute("\254") return r end)
t.eq(lease:execute("6 * 7").result, "42", "the lease still works")
lease:release()
local s = carpo.pool_stats("a")
t.eq(s.submitted, submitted + 1, "only the lease's good job was submitted")
t.eq(s.restarts, 0, "the kernel was never sent the bad code")

-- Valid UTF-8 of every length arrives intact (LuaJ's own decoding mangles 4-byte sequences); what
-- comes back (LuaJ encodes an emoji as a CESU-8 pair) can be sent again.
local text = carpo.execute_code("print('h\195\169llo \226\130\172 \240\159\152\128')").stdout
local word = text:sub(1, -2)
t.eq(carpo.execute_code("w = '" .. word .. "'; print(len(w), ord(w[1]), ord(w[6]), ord(w[-1]))").stdout,
  "9 233 8364 128512\n", "the kernel got the text, with the euro sign and the emoji, from output sent back as code")
t.raises({"execute_code: argument #1 (code) is not valid UTF-8: byte 0xED at offset 0"}, function()
  local r = carpo.execute_code("\237\184\128") return r end) -- a low surrogate alone

-- A refused scale changes nothing.
t.raises({"scale_pool: pool 'a': size must be at most 1024 (the most kernels a pool may hold), got 1000000"}, function()
  local r = carpo.scale_pool("a", 1000000) return r end)
s = carpo.pool_stats("a")
t.eq(s.size, 1, "size after a refused scale")
t.eq(s.max, 1, "max after a refused scale")

-- Lease and job timeouts must be positive and bounded.
t.raises({"lease: option 'timeout' must be a positive number of seconds (at most 1000000), got number -1"}, function()
  local r = carpo.lease("a", {timeout = -1}) return r end)
t.raises({"execute_code: option 'timeout' must be a positive number of seconds (at most 1000000), got number 0"}, function()
  local r = carpo.execute_code("1", {timeout = 0}) return r end)
t.eq(carpo.execute_code("1 + 1", {timeout = 1000000}).result, "2", "the longest timeout works")
