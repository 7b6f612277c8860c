"""A load-balancing rig: backends running self-naming servers behind a meshplane."""
import contextlib

from testbed.daemon import Daemon
from testbed.topology import Topology


@contextlib.contextmanager
def lb_rig(prefix, services, backends=3, eal_args=None, qpairs=1, direct_return_vip=None, http_ports=(8080,),
           udp_ports=()):
    """Backends running self-naming servers behind a meshplane with `services`
    (policy YAML); yields (topology, daemon) and tears everything down."""
    topo = Topology(prefix=prefix, backends=backends).up()
    procs = []
    try:
        if direct_return_vip:
            procs += [topo.direct_return(b, direct_return_vip) for b in topo.backends]
        procs += topo.named_servers(http_ports=http_ports, udp_ports=udp_ports)
        d = Daemon(topo.policy(services, qpairs=qpairs), name=prefix, eal_args=eal_args).start()
        try:
            yield topo, d
        finally:
            assert d.stop() == 0
    finally:
        for p in procs:
            p.kill()
            p.wait()
        topo.down()
