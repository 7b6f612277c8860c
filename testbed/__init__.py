"""The harness the end-to-end tests, the demo and the benchmarks share: real
hosts in network namespaces (topology), the meshplane daemon under test
(daemon), load-balancing rigs (rig), policy text (policies), and the helper
programs started inside the namespaces (helpers/)."""
from testbed.daemon import Daemon
from testbed.paths import EAL_ARGS, HELPERS, MESHCTL, MESHPLANE, ROOT, sh
from testbed.policies import endpoint, lb_policy, service, service_stats
from testbed.rig import lb_rig
from testbed.topology import SlowDownload, Topology

__all__ = ["Daemon", "EAL_ARGS", "HELPERS", "MESHCTL", "MESHPLANE", "ROOT", "SlowDownload", "Topology", "endpoint",
           "lb_policy", "lb_rig", "service", "service_stats", "sh"]
