-- pktgen-dpdk scenarios for meshplane on bare metal: L3 forwarding and load
-- balancing of established flows. Port 0 of pktgen is cabled to meshplane's
-- port "a", port 1 to its port "b" (config/examples/bench-bare-metal.yaml).
--
--   pktgen -l 0-4 -n 4 -a PCI0 -a PCI1 -- -P -m "[1:2].0,[3:4].1" -f bench/pktgen/meshplane.lua
--
-- Uses only the `pktgen` table pktgen's Lua binding provides (not pktgen's
-- Pktgen.lua helper, which pktgen does not install), so it runs from any
-- directory. Results are printed and appended to meshplane-pktgen.csv; pktgen
-- quits at the end.
--
-- What pktgen 23.03 can measure (docs/pktgen.md): in range mode it builds its
-- packets once, into a pool of about 24,576 buffers, and resends that pool,
-- so no scenario can have more distinct flows than the pool holds, and after
-- the first pass every packet belongs to a flow meshplane already tracks. The
-- flow counts below fit the pool; new-flow rates need a generator that builds
-- packets as it sends (bench/run.py's meshplane-gen).

-- Edit these for the lab.
local MESHPLANE_MAC_A = "02:00:00:00:00:0a"  -- meshplane port "a" (pktgen port 0's peer)
local SECONDS = 10                           -- measured time per scenario
local WARMUP_MS = 2000                       -- every flow of the pool sent once before measuring
local SIZE = 64                              -- frame size including FCS
local CSV = "meshplane-pktgen.csv"

local TX, RX = "0", "1"

local function say(fmt, ...) io.write(string.format(fmt, ...)) end

-- `count` values of an address range starting at `start`.
local function ip_range(port, field, start, count)
  pktgen.range[field](port, "start", start)
  pktgen.range[field](port, "min", start)
  local a, b, c, d = start:match("(%d+)%.(%d+)%.(%d+)%.(%d+)")
  local last = ((tonumber(a) * 256 + tonumber(b)) * 256 + tonumber(c)) * 256 + tonumber(d) + count - 1
  pktgen.range[field](port, "max", string.format("%d.%d.%d.%d", last >> 24 & 255, last >> 16 & 255,
                                                 last >> 8 & 255, last & 255))
  pktgen.range[field](port, "inc", count > 1 and "0.0.0.1" or "0.0.0.0")
end

local function port_range(port, field, start, count)
  assert(start >= 0 and start + count - 1 <= 65535, field .. ": a port range must fit 16 bits")
  pktgen.range[field](port, "start", start)
  pktgen.range[field](port, "min", start)
  pktgen.range[field](port, "max", start + count - 1)
  pktgen.range[field](port, "inc", count > 1 and 1 or 0)
end

-- pktgen steps every range field on every packet, so source addresses x
-- source ports give ips * ports distinct flows when the two are coprime
-- (23 and 1049 are primes: 24,127 flows, within the pool).
local SCENARIOS = {
  { name = "l3_1k",      dst = "10.20.0.1",  ips = 1,  ports = 1024, what = "L3 forwarding, 1,024 flows" },
  { name = "lb_est_1",   dst = "10.30.0.10", ips = 1,  ports = 1,    what = "LB full NAT, established, 1 flow" },
  { name = "lb_est_1k",  dst = "10.30.0.10", ips = 1,  ports = 1024, what = "LB full NAT, established, 1,024 flows" },
  { name = "lb_est_24k", dst = "10.30.0.10", ips = 23, ports = 1049, what = "LB full NAT, established, 24,127 flows" },
}

local function configure(s)
  pktgen.stop("all")
  pktgen.set_range(TX, "on")
  pktgen.range.dst_mac(TX, "start", MESHPLANE_MAC_A)
  pktgen.range.ip_proto(TX, "udp")
  ip_range(TX, "src_ip", "10.1.0.1", s.ips)
  ip_range(TX, "dst_ip", s.dst, 1)
  port_range(TX, "src_port", 1024, s.ports)
  port_range(TX, "dst_port", 80, 1)
  pktgen.range.pkt_size(TX, "start", SIZE)
  pktgen.range.pkt_size(TX, "min", SIZE)
  pktgen.range.pkt_size(TX, "max", SIZE)
  pktgen.range.pkt_size(TX, "inc", 0)
  pktgen.set(TX, "rate", 100)
  pktgen.set(TX, "count", 0)
end

local function counters()
  local tx = pktgen.portStats(TX, "port")[tonumber(TX)]
  local rx = pktgen.portStats(RX, "port")[tonumber(RX)]
  return tx.opackets, rx.ipackets
end

local existing = io.open(CSV, "r")
local fresh = existing == nil or existing:read(1) == nil
if existing then existing:close() end
local csv = assert(io.open(CSV, "a"))
if fresh then csv:write("scenario,flows,seconds,tx_packets,rx_packets,rx_mpps,loss_percent\n") end
for _, s in ipairs(SCENARIOS) do
  configure(s)
  pktgen.clr()
  pktgen.start(TX)
  pktgen.delay(WARMUP_MS)
  local tx0, rx0 = counters()
  pktgen.delay(SECONDS * 1000)
  local tx1, rx1 = counters()
  pktgen.stop(TX)
  local tx, rx = tx1 - tx0, rx1 - rx0
  local loss = tx > 0 and 100 * (tx - rx) / tx or 0
  say("%-42s %8.2f Mpps received, loss %.3f%%\n", s.what, rx / SECONDS / 1e6, loss)
  csv:write(string.format("%s,%d,%d,%d,%d,%.3f,%.4f\n", s.name, s.ips * s.ports, SECONDS, tx, rx,
                          rx / SECONDS / 1e6, loss))
  pktgen.delay(1000)
end
csv:close()
pktgen.quit()
