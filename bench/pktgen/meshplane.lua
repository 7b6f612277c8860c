-- pktgen-dpdk scenarios for meshplane on bare metal, the same as bench/run.py
-- runs over memif: L3 forwarding and load balancing (established flows 1, 1k,
-- 1M; new flows). Port 0 of pktgen is cabled to meshplane's port "a", port 1
-- to its port "b" (config/examples/bench-bare-metal.yaml).
--
--   pktgen -l 0-4 -n 4 -- -P -m "[1:2].0,[3:4].1" -f bench/pktgen/meshplane.lua
--
-- Results are printed and appended to meshplane-pktgen.csv. Written against
-- pktgen-dpdk 23.x's Lua API; pktgen is not packaged for Debian 12, so this
-- file has not been run on the project's development machines (docs/pktgen.md).
package.path = package.path .. ";?.lua;test/?.lua;app/?.lua;"
require "Pktgen"

-- Edit these for the lab.
local MESHPLANE_MAC_A = "02:00:00:00:00:0a"  -- meshplane port "a" (pktgen port 0's peer)
local SECONDS = 10                           -- measured time per scenario
local WARMUP_MS = 2000                       -- flows get established before measuring
local SIZE = 64                              -- frame size including FCS

local TX, RX = "0", "1"

-- count values of a range starting at `start` (an address or a port).
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
  pktgen.range[field](port, "start", start)
  pktgen.range[field](port, "min", start)
  pktgen.range[field](port, "max", start + count - 1)
  pktgen.range[field](port, "inc", count > 1 and 1 or 0)
end

-- Flows are the product of source addresses and source ports when the two
-- counts are coprime (pktgen steps every range field on every packet).
local SCENARIOS = {
  { name = "l3_1k",     dst = "10.20.0.1",  ips = 1,     ports = 1024,  what = "L3 forwarding, 1k flows" },
  { name = "lb_est_1",  dst = "10.30.0.10", ips = 1,     ports = 1,     what = "LB full NAT, established, 1 flow" },
  { name = "lb_est_1k", dst = "10.30.0.10", ips = 1,     ports = 1024,  what = "LB full NAT, established, 1k flows" },
  { name = "lb_est_1m", dst = "10.30.0.10", ips = 1000,  ports = 1001,  what = "LB full NAT, established, 1M flows" },
  { name = "lb_new",    dst = "10.30.0.10", ips = 65536, ports = 65521, what = "LB full NAT, new flows", warmup = 0 },
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

local csv = io.open("meshplane-pktgen.csv", "a")
csv:write("scenario,seconds,tx_packets,rx_packets,rx_mpps,loss_percent\n")
for _, s in ipairs(SCENARIOS) do
  configure(s)
  pktgen.clr()
  pktgen.start(TX)
  pktgen.delay(s.warmup or WARMUP_MS)
  local tx0, rx0 = counters()
  pktgen.delay(SECONDS * 1000)
  local tx1, rx1 = counters()
  pktgen.stop(TX)
  local tx, rx = tx1 - tx0, rx1 - rx0
  local loss = tx > 0 and 100 * (tx - rx) / tx or 0
  printf("%-40s %8.2f Mpps received, loss %.3f%%\n", s.what, rx / SECONDS / 1e6, loss)
  csv:write(string.format("%s,%d,%d,%d,%.3f,%.4f\n", s.name, SECONDS, tx, rx, rx / SECONDS / 1e6, loss))
  pktgen.delay(1000)
end
csv:close()
