// The traffic generator's own logic: packets checked with the independent
// RFC 1071 code the other tests use, the pacer's schedule, and the latency
// histogram against exact percentiles of the same samples.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "bench/gen/latency.h"
#include "bench/gen/pacer.h"
#include "bench/gen/packet.h"
#include "tests/support/packet_builder.h"

namespace meshplane::gen {
namespace {

FlowSpec spec(uint8_t proto) {
  FlowSpec s;
  s.src_ip = 0x0a010001;
  s.dst_ip = 0x0a1e000a;
  s.proto = proto;
  s.flows = 3000;
  s.ports_per_ip = 1000;
  s.dst_port = 80;
  return s;
}

uint32_t be32(const uint8_t* p) { return uint32_t{p[0]} << 24 | p[1] << 16 | p[2] << 8 | p[3]; }
uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

TEST(Generator, PacketsHaveValidHeadersAndChecksums) {
  for (uint8_t proto : {uint8_t{17}, uint8_t{6}}) {
    for (size_t size : {proto == 6 ? kMinTcpFrame : kMinUdpFrame, size_t{60}, size_t{74}, size_t{1514}}) {
      if (size < (proto == 6 ? kMinTcpFrame : kMinUdpFrame)) continue;
      std::vector<uint8_t> buf(size);
      ASSERT_EQ(build_packet(buf.data(), size, spec(proto), 2345, 77, 123456789, 0x02, 4242), size);
      const uint8_t* ip = buf.data() + 14;
      EXPECT_EQ(be16(buf.data() + 12), 0x0800);
      EXPECT_EQ(be16(ip + 2), size - 14);
      EXPECT_EQ(testing::rfc1071(ip, 20), 0) << "IP header checksum";
      EXPECT_EQ(be32(ip + 12), 0x0a010001u + 2) << "flow 2345: third source address";
      EXPECT_EQ(be16(ip + 20), 1024 + 345) << "flow 2345: port 345 of that address";
      EXPECT_EQ(testing::l4_sum(be32(ip + 12), be32(ip + 16), proto, ip + 20, size - 34), 0) << "L4 checksum";
      if (proto == 6) {
        EXPECT_EQ(ip[20 + 13], 0x02) << "TCP flags";
        EXPECT_EQ(be32(ip + 24), 4242u) << "TCP sequence number";
      }
      Stamp s{};
      ASSERT_TRUE(read_stamp(buf.data(), size, s));
      EXPECT_EQ(s.sequence, 77u);
      EXPECT_EQ(s.tx_tsc, 123456789u);
    }
  }
  std::vector<uint8_t> small(kMinTcpFrame - 1);
  EXPECT_EQ(build_packet(small.data(), small.size(), spec(6), 0, 0, 0), 0u);
  EXPECT_EQ(build_packet(small.data(), kMinUdpFrame - 1, spec(17), 0, 0, 0), 0u);
  EXPECT_EQ(build_packet(small.data(), kMinUdpFrame, spec(17), 0, 0, 0), kMinUdpFrame);
}

TEST(Generator, StampSurvivesNatAndIpipButNotForeignFrames) {
  std::vector<uint8_t> buf(100);
  build_packet(buf.data(), buf.size(), spec(17), 1, 9, 5);
  buf[14 + 12] = 10, buf[14 + 20] = 0x55;  // rewritten address and port
  Stamp s{};
  EXPECT_TRUE(read_stamp(buf.data(), buf.size(), s));
  // Wrapped in an outer IPv4 header (protocol 4), as direct return sends it.
  std::vector<uint8_t> ipip(buf.begin(), buf.begin() + 14);
  std::vector<uint8_t> outer(20, 0);
  outer[0] = 0x45, outer[9] = 4;
  ipip.insert(ipip.end(), outer.begin(), outer.end());
  ipip.insert(ipip.end(), buf.begin() + 14, buf.end());
  EXPECT_TRUE(read_stamp(ipip.data(), ipip.size(), s));
  EXPECT_EQ(s.sequence, 9u);
  buf[14 + 28 + 12] ^= 0xff;  // corrupt the magic
  EXPECT_FALSE(read_stamp(buf.data(), buf.size(), s));
  EXPECT_FALSE(read_stamp(buf.data(), 40, s));
}

TEST(Generator, PacerKeepsTheRateWithoutDrift) {
  const uint64_t hz = 2'000'000'000;
  Pacer p(hz, 1'000'000, 1000);  // 1 Mpps: one packet per 2000 ticks
  EXPECT_EQ(p.allowed(1000, 32), 1u) << "the first packet goes at once";
  p.sent(1);
  EXPECT_EQ(p.allowed(1000 + 1999, 32), 0u);
  EXPECT_EQ(p.allowed(1000 + 2000, 32), 1u);
  // A stall: the schedule catches up, a burst at a time.
  EXPECT_EQ(p.allowed(1000 + 2000 * 100, 32), 32u);
  uint64_t now = 1000;
  Pacer q(hz, 1'000'000, now);
  for (int step = 0; step < 1'000'000; ++step) {
    now += 777;  // polls at an odd interval
    q.sent(q.allowed(now, 32));
  }
  const uint64_t expected = (now - 1000) / 2000 + 1;
  EXPECT_EQ(q.total(), expected) << "after ~0.39 s exactly the scheduled count";
  Pacer unlimited(hz, 0, 0);
  EXPECT_EQ(unlimited.allowed(5, 32), 32u);
}

TEST(Generator, HistogramPercentilesWithinOneAndAHalfPercent) {
  std::mt19937_64 rng(3);
  std::lognormal_distribution<double> dist(9.0, 1.2);  // ~8 us median, a long tail
  std::vector<uint64_t> samples;
  LatencyHistogram h;
  for (int i = 0; i < 200000; ++i) {
    const auto v = static_cast<uint64_t>(dist(rng));
    samples.push_back(v);
    h.record(v);
  }
  std::sort(samples.begin(), samples.end());
  for (double p : {50.0, 90.0, 99.0, 99.9}) {
    const uint64_t exact = samples[static_cast<size_t>(p / 100.0 * (samples.size() - 1))];
    const uint64_t got = h.percentile(p);
    EXPECT_GE(got, exact) << p;
    EXPECT_LE(static_cast<double>(got), exact * (1 + 1.0 / 32) + 1) << p;
  }
  EXPECT_EQ(h.count(), samples.size());
  EXPECT_EQ(h.max(), samples.back());
  EXPECT_EQ(h.percentile(100), samples.back());
  for (uint64_t v : {0ull, 1ull, 63ull, 64ull, 65ull, 1000ull, 123456789ull, ~0ull >> 1}) {
    const uint32_t b = LatencyHistogram::bucket(v);
    ASSERT_LT(b, LatencyHistogram::kBuckets);
    EXPECT_GE(LatencyHistogram::upper_edge(b), v) << v;
    if (b > 0) {
      EXPECT_LT(LatencyHistogram::upper_edge(b - 1), v) << v;
    }
  }
}

TEST(Generator, ConnectionsNumberTheirBytesAsARealSenderDoes) {
  // SYN at 1000 takes one number; each 1400-byte frame carries 1346 bytes after it.
  EXPECT_EQ(connection_seq(1000, 0, 1400), 1000u);
  EXPECT_EQ(connection_seq(1000, 1, 1400), 1001u);
  EXPECT_EQ(connection_seq(1000, 2, 1400), 1001u + 1346);
  EXPECT_EQ(connection_seq(1000, 5, 70), 1001u + 4 * 16);
}

}  // namespace
}  // namespace meshplane::gen
