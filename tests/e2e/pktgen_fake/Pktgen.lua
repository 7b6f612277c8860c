-- A stand-in for pktgen-dpdk's Lua environment (pktgen is not packaged for
-- Debian 12): records every call, and makes the ports count packets while
-- "sending" so the script's arithmetic can be checked.
calls = {}
local sending, clock, tx, rx = false, 0, 0, 0

local function record(name)
  return function(...)
    local args = { ... }
    for i = 1, #args do args[i] = tostring(args[i]) end
    calls[#calls + 1] = name .. "(" .. table.concat(args, ",") .. ")"
  end
end

pktgen = { range = {} }
for _, f in ipairs({ "src_ip", "dst_ip", "src_port", "dst_port", "dst_mac", "pkt_size", "ip_proto" }) do
  pktgen.range[f] = record("range." .. f)
end
for _, f in ipairs({ "set", "set_range", "clr" }) do pktgen[f] = record(f) end
pktgen.start = function(p) record("start")(p); sending = true end
pktgen.stop = function(p) record("stop")(p); sending = false end
pktgen.delay = function(ms)
  if sending then  -- 10 Mpps offered, 9.9 Mpps back
    tx = tx + ms * 10000
    rx = rx + ms * 9900
  end
  clock = clock + ms
end
pktgen.portStats = function(port, kind)
  assert(kind == "port")
  local n = tonumber(port)
  return { [n] = { opackets = tx, ipackets = rx } }
end
printf = function(fmt, ...) io.write(string.format(fmt, ...)) end
