-- Two languages side by side: a Python pool and an R pool (IRkernel), the same question to both.
carpo.create_pool("python", "python3", {size = 2})
carpo.create_pool("r", "ir", {size = 1})

local py = carpo.execute_code("import statistics; statistics.mean([2, 4, 4, 4, 5, 5, 7, 9])", {language = "python"})
local r = carpo.execute_code("mean(c(2, 4, 4, 4, 5, 5, 7, 9))", {language = "r"})
print("python mean: " .. py.result)
print("r mean:      " .. r.result)

-- Errors are results in both languages.
local py_err = carpo.execute_code("undefined_name", {language = "python"})
local r_err = carpo.execute_code("stop('no such thing')", {language = "r"})
print(("python error: %s: %s"):format(py_err.error.ename, py_err.error.evalue))
print(("r error:      %s"):format((r_err.error.evalue:gsub("%s+$", ""))))

-- Jobs in both pools at once.
local futures = {}
for i = 1, 4 do
  futures[#futures + 1] = carpo.submit(("%d ** 2"):format(i), {language = "python"})
  futures[#futures + 1] = carpo.submit(("%d^2"):format(i), {language = "r"})
end
local line = {}
for _, res in ipairs(carpo.wait_all(futures)) do line[#line + 1] = res.result end
print("squares: " .. table.concat(line, ", "))

for _, lang in ipairs(carpo.list_pools()) do
  local s = carpo.pool_stats(lang)
  print(("%s: size %d, ok %d, errors %d"):format(lang, s.size, s.ok, s.errors))
end
