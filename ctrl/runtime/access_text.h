// Access rules as the control side prints them: the records workers send
// for packets a rule with `log` matched (dataplane/stages/access.h), one
// line each for the daemon's log and the `access_log` event, and what a
// rule matches, for `meshctl get policies`.
#pragma once

#include <string>
#include <vector>

#include "config/model.h"
#include "ctrl/compile/access_compiler.h"
#include "ctrl/compile/compiled_snapshot.h"
#include "dataplane/stages/access.h"

namespace meshplane::ctrl {

// "rule 'no-telnet' (line 12) rejected tcp 10.1.0.5:40000 -> 10.2.0.9:23 from port lan". `table`:
// the running rules; a record from rules since replaced names its rule by number.
std::string describe(const dataplane::AccessLogRecord& r, const AccessTable& table,
                     const std::vector<config::Port>& ports);

// "service 'web': audit rule 'watch' (line 40) matched tcp 10.2.0.5:40000 -> 10.30.0.10:80 (allowed)".
std::string describe_audit(const dataplane::AccessLogRecord& r, const CompiledSnapshot& running,
                           const config::Policy& policy);

// "tcp 10.1.0.0/16 port 1024-65535 -> 10.2.0.0/24 port 23 from lan", "any": what `r` matches.
std::string describe_match(const config::AccessRule& r);

}  // namespace meshplane::ctrl
