-- New visitors: no cookies, a User-Agent no other request has, so that the
-- bootstrap window never joins two of them.
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

function init()
  n = 0
end

function request()
  n = n + 1
  return wrk.format("GET", "/", {
    ["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64) caddy-session-bench new " .. id .. "-" .. n,
  })
end
