-- Assertions for the Lua test scripts: each failure names what was expected and what came.
local testing = {}

-- LuaJ ignores error()'s level argument for positions, so failures name the caller's line themselves.
local function fail(message)
  local caller = debug.getinfo(3, "Sl")
  error(("%s:%d: %s"):format(caller.short_src, caller.currentline, message), 0)
end

function testing.eq(actual, expected, what)
  if actual ~= expected then
    fail(("%s: expected %s, got %s"):format(what or "value", tostring(expected), tostring(actual)))
  end
end

function testing.contains(haystack, needle, what)
  if type(haystack) ~= "string" or not haystack:find(needle, 1, true) then
    fail(("%s: expected text containing %q, got %s"):format(what or "text", needle, tostring(haystack)))
  end
end

-- Runs fn, which must raise; the message must contain every fragment and point at a line of
-- the script that made the call ("<script>.lua:<line>").
function testing.raises(fragments, fn, ...)
  local ok, err = pcall(fn, ...)
  if ok then
    fail("expected an error containing " .. table.concat(fragments, " ... ") .. ", but the call succeeded")
  end
  for _, f in ipairs(fragments) do
    if not tostring(err):find(f, 1, true) then
      fail(("expected an error containing %q, got: %s"):format(f, tostring(err)))
    end
  end
  local script = debug.getinfo(2, "S").short_src
  if not tostring(err):find(script .. ":%d+") then
    fail(("error does not point at the script (%s): %s"):format(script, tostring(err)))
  end
  return err
end

return testing
