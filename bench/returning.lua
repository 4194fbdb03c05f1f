-- Returning visitors: each request carries the cookies of the next client
-- in the file named by COOKIES (one Cookie header per line).
local jars = {}
for line in io.lines(os.getenv("COOKIES")) do
  jars[#jars + 1] = line
end
local counter = 0

function setup(thread)
  thread:set("offset", counter * 7919)
  counter = counter + 1
end

function init()
  i = offset or 0
end

function request()
  i = i + 1
  local jar = jars[(i % #jars) + 1]
  return wrk.format("GET", "/", {
    ["Cookie"] = jar,
    ["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64) caddy-session-bench " .. ((i % #jars) + 1),
  })
end
