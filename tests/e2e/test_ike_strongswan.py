"""IKEv2 against strongSwan, the reference implementation: charon (5.9.8, its
userspace ESP) initiates to ctrl/ike's responder (tests/tools/ike_probe.cc,
on kernel UDP sockets until the daemon carries IKE itself). Each side
derives the IKE SA's keys on its own, so an IKE_SA that strongSwan reports
established proves the whole of IKE_SA_INIT and IKE_AUTH agree: proposal
choice, both DH groups, the PRFs and prf+, SK payloads sealed with AES-GCM
both ways, the move to UDP 4500 with the non-ESP marker, and each side's
AUTH over the other's first message, and a CHILD_SA from the ESP proposal and
traffic selectors the responder returns. Also: the INVALID_KE_PAYLOAD
round when strongSwan guesses another group, and a cookie round trip."""
import json
import subprocess

import pytest

from testbed import sh
from testbed.paths import ROOT
from testbed.strongswan import Charon

PROBE = f"{ROOT}/build/tests/ike_probe"
A, B = "192.0.2.1", "192.0.2.2"


def swanctl_conf(proposals):
    return f"""connections {{
  gw {{
    local_addrs = {A}
    remote_addrs = {B}
    proposals = {proposals}
    local {{
      auth = psk
      id = gw-a.example
    }}
    remote {{
      auth = psk
      id = gw-b.example
    }}
    children {{
      net {{
        local_ts = 10.1.0.0/16
        remote_ts = 10.2.0.0/16
        esp_proposals = aes128gcm16
      }}
    }}
  }}
}}
secrets {{
  ike-gw {{
    id-a = gw-a.example
    id-b = gw-b.example
    secret = "secretsecretsecret"
  }}
}}
"""


@pytest.fixture
def link():
    """Two namespaces on a veth: mpike-a (strongSwan) and mpike-b (our responder)."""
    for ns in ("mpike-a", "mpike-b"):
        sh(["ip", "netns", "del", ns], check=False)
        sh(["ip", "netns", "add", ns])
    sh(["ip", "link", "add", "mpike0", "netns", "mpike-a", "type", "veth", "peer", "name", "mpike1", "netns", "mpike-b"])
    for ns, ifname, address in (("mpike-a", "mpike0", A), ("mpike-b", "mpike1", B)):
        sh(["ip", "-n", ns, "addr", "add", f"{address}/24", "dev", ifname])
        sh(["ip", "-n", ns, "link", "set", ifname, "up"])
        sh(["ip", "-n", ns, "link", "set", "lo", "up"])
    sh(["ip", "-n", "mpike-a", "addr", "add", "10.1.0.1/32", "dev", "lo"])  # charon's source for its local_ts route
    yield
    for ns in ("mpike-a", "mpike-b"):
        sh(["ip", "netns", "del", ns], check=False)


def handshake(tmp_path, proposals, *probe_args):
    """Runs the responder and lets charon initiate; (the responder's report, charon's log)."""
    probe = subprocess.Popen(["ip", "netns", "exec", "mpike-b", PROBE, B, "gw-b.example", "secretsecretsecret",
                              *probe_args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert probe.stdout.readline().strip() == "ready"
    charon = Charon("mpike-a", tmp_path / "charon", swanctl_conf(proposals)).start()
    try:
        charon.swanctl("--initiate", "--child", "net", "--timeout", "10", check=False, timeout=30)
        out, err = probe.communicate(timeout=30)
        return json.loads(out.strip().splitlines()[-1]), charon.log()
    finally:
        charon.stop()
        if probe.poll() is None:
            probe.kill()
            probe.wait()


def established(log):
    return ("authentication of 'gw-b.example' with pre-shared key successful" in log and
            "IKE_SA gw[1] established between 192.0.2.1[gw-a.example]...192.0.2.2[gw-b.example]" in log and
            "CHILD_SA net{1} established" in log)


@pytest.mark.parametrize("proposals,prf,group,bits", [
    ("aes128gcm16-prfsha256-x25519", 5, 31, 128),
    ("aes256gcm16-prfsha384-ecp256", 6, 19, 256),
    ("aes256gcm16-prfsha512-x25519", 7, 31, 256),
])
def test_strongswan_establishes_an_ike_sa_with_our_responder(link, tmp_path, proposals, prf, group, bits):
    report, log = handshake(tmp_path, proposals)
    assert report["ok"], report
    assert (report["prf"], report["group"], report["encr_bits"]) == (prf, group, bits)
    assert report["auth_over_4500"], "charon's userspace ESP moves IKE to 4500 (the non-ESP marker)"
    assert {35, 39, 33, 44, 45} <= set(report["auth_payloads"]), "IDi, AUTH, SA, TSi, TSr decrypted"
    assert established(log), log[-3000:]


def test_another_group_is_asked_for_with_invalid_ke_payload(link, tmp_path):
    # charon sends a P-256 share first; the responder prefers Curve25519 from the same proposal.
    report, log = handshake(tmp_path, "aes128gcm16-prfsha256-ecp256-x25519")
    assert report["refusals"] == ["key exchange in another group than the one chosen"], report
    assert report["group"] == 31
    assert "peer didn't accept DH group ECP_256, it requested CURVE_25519" in log, log[-3000:]
    assert established(log), log[-3000:]


def test_a_cookie_is_returned_before_any_state(link, tmp_path):
    report, log = handshake(tmp_path, "aes128gcm16-prfsha256-x25519", "--cookies")
    assert report["refusals"] == ["cookie required"], report
    assert "parsed IKE_SA_INIT response 0 [ N(COOKIE) ]" in log, log[-3000:]
    assert established(log), log[-3000:]
