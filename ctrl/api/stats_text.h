// The stats message (meshplane.v1.GetStatsResponse) as text: JSON for
// scripts (the --stats-file and `meshctl -o json stats`) and tables for
// people (SIGUSR1, the final counters, `meshctl stats` and `get`). The daemon
// and meshctl both use these, so the two cannot drift apart.
#pragma once

#include <string>

#include "meshplane.pb.h"

namespace meshplane::ctrl {

// Any message as JSON: fields by their proto names, 64-bit numbers as JSON
// numbers (not strings, as protobuf's own printer writes them), unset
// optional fields left out, and each map named `counters` written into its
// enclosing object (so a counter is stats.ports[0].rx_packets).
std::string message_json(const google::protobuf::Message& m);
// `s` as a JSON string, quotes included.
std::string json_quote(const std::string& s);

std::string stats_table(const v1::GetStatsResponse& s);
// What changed from `before` to `now`, per second (`meshctl stats --watch`):
// ports' packets and bits, forwarding, drops by reason, workers' packets
// and cycles per packet, services' new connections and packets.
std::string rates_table(const v1::GetStatsResponse& now, const v1::GetStatsResponse& before);
std::string services_table(const v1::GetStatsResponse& s);
// `meshctl get patterns`: each pattern set with its counters, then its patterns with their matches.
std::string patterns_table(const v1::GetStatsResponse& s);
// Endpoints of `service` (all when empty).
std::string endpoints_table(const v1::GetStatsResponse& s, const std::string& service);
// One row per SA: peer, direction, SPI, algorithm, age, sequence number,
// packets, bytes, replay and authentication drops. Never keys.
std::string sas_table(const v1::GetStatsResponse& s);
// Peers keyed by IKE: state, role, ages, the identity their certificate proved, Child SAs.
std::string ike_table(const v1::GetStatsResponse& s);
// `meshctl get policies`: the access rules in order, with hits, and the default.
std::string access_table(const v1::GetStatsResponse& s);

// A counter by name, 0 when absent.
uint64_t counter(const google::protobuf::Map<std::string, uint64_t>& counters, const std::string& name);

}  // namespace meshplane::ctrl
