-- A stand-in for pktgen-dpdk 23.03's Lua environment (pktgen is not packaged
-- for Debian 12), loaded with dofile before the script, as pktgen's binding
-- defines the global `pktgen` table. No module named "Pktgen" exists here,
-- as none exists where pktgen is installed. What it models, from running the
-- real pktgen 23.03 against meshplane (issue 9, item 7):
--   * range mode builds its packets once, into a pool of 24,576 buffers,
--     stepping every range field on every packet (wrapping max -> min), and
--     resends the pool: `flows` holds the distinct 5-tuples of the last pool;
--   * a port value beyond 16 bits is an error;
--   * quit() ends pktgen: nothing may follow it.
-- Ports "send" 10 Mpps and 9.9 Mpps come back, so the arithmetic can be checked.
calls = {}
flows = {}  -- per started scenario: distinct (src ip, src port, dst ip, dst port) in the pool
POOL = 24576
local sending, quit, tx, rx = false, false, 0, 0
local ranges = {}

local function record(name, ...)
  assert(not quit, name .. " after quit()")
  local args = { ... }
  for i = 1, #args do args[i] = tostring(args[i]) end
  calls[#calls + 1] = name .. "(" .. table.concat(args, ",") .. ")"
end

local function ip_value(s)
  local a, b, c, d = s:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
  assert(a, "not an IPv4 address: " .. tostring(s))
  return ((tonumber(a) * 256 + tonumber(b)) * 256 + tonumber(c)) * 256 + tonumber(d)
end

local function field(name, is_ip)
  return function(port, what, value)
    record("range." .. name, port, what, value)
    ranges[name] = ranges[name] or {}
    local v = is_ip and ip_value(value) or tonumber(value)
    if not is_ip and what ~= "inc" then assert(v >= 0 and v <= 65535, name .. " " .. what .. " beyond 16 bits") end
    ranges[name][what] = v
  end
end

local function build_pool()
  local seen, n, cur = {}, 0, {}
  local names = { "src_ip", "src_port", "dst_ip", "dst_port" }
  for _, f in ipairs(names) do cur[f] = ranges[f].start end
  for _ = 1, POOL do
    local key = cur.src_ip .. ":" .. cur.src_port .. ">" .. cur.dst_ip .. ":" .. cur.dst_port
    if not seen[key] then seen[key], n = true, n + 1 end
    for _, f in ipairs(names) do
      local r = ranges[f]
      cur[f] = cur[f] + r.inc
      if cur[f] > r.max then cur[f] = r.min end
    end
  end
  flows[#flows + 1] = n
end

pktgen = { range = {} }
for _, f in ipairs({ "src_ip", "dst_ip" }) do pktgen.range[f] = field(f, true) end
for _, f in ipairs({ "src_port", "dst_port" }) do pktgen.range[f] = field(f, false) end
for _, f in ipairs({ "dst_mac", "pkt_size", "ip_proto" }) do
  pktgen.range[f] = function(...) record("range." .. f, ...) end
end
for _, f in ipairs({ "set", "set_range", "clr" }) do pktgen[f] = function(...) record(f, ...) end end
pktgen.start = function(p) record("start", p); build_pool(); sending = true end
pktgen.stop = function(p) record("stop", p); sending = false end
pktgen.quit = function() record("quit"); quit = true end
pktgen.delay = function(ms)
  record("delay", ms)
  if sending then
    tx = tx + ms * 10000
    rx = rx + ms * 9900
  end
end
pktgen.portStats = function(port, kind)
  assert(kind == "port")
  local n = tonumber(port)
  return { [n] = { opackets = tx, ipackets = rx } }
end
