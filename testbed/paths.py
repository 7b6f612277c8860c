"""Where things are: the build, the programs, the helper programs tests start
in namespaces, and the EAL arguments every test daemon uses."""
import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("MESHPLANE_BUILD", os.path.join(ROOT, "build"))
MESHPLANE = os.path.join(BUILD, "ctrl", "meshplane")
MESHCTL = os.path.join(BUILD, "ctrl", "meshctl")
# Programs started in the namespaces (servers, clients, traffic), apart from the tests.
HELPERS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "helpers")
NAMED_SERVER = os.path.join(HELPERS, "named_server.py")
LB_CLIENT = os.path.join(HELPERS, "lb_client.py")
IPIP_DECAP = os.path.join(HELPERS, "ipip_decap.py")
UDP_FLOOD = os.path.join(HELPERS, "udp_flood.py")
SPLIT_REQUEST = os.path.join(HELPERS, "split_request.py")
TLS_SERVER = os.path.join(HELPERS, "tls_server.py")
# No hugepages, no PCI, no shared runtime files: tests never depend on system set-up.
# Shared by every test daemon so the per-port locks are exercised for real.
RUN_DIR = "/run/meshplane-test"
EAL_ARGS = ["-l", "0,1", "--no-huge", "-m", "512", "--no-pci", "--no-shconf", "--log-level", "lib.eal:warning"]


def sh(cmd, check=True, **kw):
    return subprocess.run(cmd, shell=isinstance(cmd, str), check=check, text=True, capture_output=True, **kw)
