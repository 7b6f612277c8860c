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
import hashlib
import json
import os
import re
import subprocess
import time

import pytest

from testbed import sh
from testbed.paths import ROOT
from testbed.pki import ED25519, P256, RSA, make_ca, make_cert
from testbed.strongswan import Charon

PROBE = f"{ROOT}/build/tests/ike_probe"
A, B = "192.0.2.1", "192.0.2.2"
PSK = ("psk", "secretsecretsecret")


def swanctl_conf(proposals, certs=None):
    """charon's connection to us: a pre-shared key, or with `certs` (its
    certificate, key and the CA file) certificates both ways."""
    if certs:  # its certificate, key and CA: files in its x509, pkcs8 and x509ca directories
        local = f"auth = pubkey\n      certs = {os.path.basename(certs[0])}\n      id = gw-a.example"
        remote = "auth = pubkey\n      id = gw-b.example"
        secrets = ""
    else:
        local, remote = "auth = psk\n      id = gw-a.example", "auth = psk\n      id = gw-b.example"
        secrets = 'ike-gw {\n    id-a = gw-a.example\n    id-b = gw-b.example\n    secret = "secretsecretsecret"\n  }'
    return f"""connections {{
  gw {{
    local_addrs = {A}
    remote_addrs = {B}
    proposals = {proposals}
    send_cert = always
    local {{
      {local}
    }}
    remote {{
      {remote}
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
  {secrets}
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


def handshake(tmp_path, proposals, *probe_args, certs=None):
    """Runs our side (tests/tools/ike_probe) and charon: charon initiates, or,
    with --initiate among `probe_args`, we do; (our side's report, charon's log)."""
    we_initiate = "--initiate" in probe_args
    credentials = {"x509": [certs[0]], "pkcs8": [certs[1]], "x509ca": [certs[2]]} if certs else None
    charon = Charon("mpike-a", tmp_path / "charon", swanctl_conf(proposals, certs), credentials,
                    log_levels="ike = 2\n      cfg = 2\n      chd = 4")
    probe = None
    try:
        if we_initiate:
            charon.start()  # listening before we send
        probe = subprocess.Popen(["ip", "netns", "exec", "mpike-b", PROBE, B, "gw-b.example", *probe_args],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert probe.stdout.readline().strip() == "ready"
        if not we_initiate:
            charon.start()
            charon.swanctl("--initiate", "--child", "net", "--timeout", "10", check=False, timeout=30)
        out, err = probe.communicate(timeout=30)
        if we_initiate:  # charon logs its side a moment after answering: wait for the Child SA's line
            deadline = time.time() + 10
            while "CHILD_SA net{1} established" not in charon.log() and time.time() < deadline:
                time.sleep(0.05)
        return json.loads(out.strip().splitlines()[-1]), charon.log()
    finally:
        charon.stop()
        if probe and probe.poll() is None:
            probe.kill()
            probe.wait()


def logged_key(log, which):
    """The ESP key (with salt) charon logged at chd = 4: `which` is "initiator" or "responder"."""
    lines = log.splitlines()
    start = next(i for i, line in enumerate(lines) if f"encryption {which} key => " in line)
    size = int(re.search(r"=> (\d+) bytes", lines[start]).group(1))
    key = bytearray()
    for line in lines[start + 1:]:
        if len(key) >= size:
            break
        key += bytes.fromhex(" ".join(re.match(r"\S+\s+\d+: ((?:[0-9A-F]{2} ?)+)", line).group(1).split()))
    return bytes(key[:size])


def fingerprint(key):
    return hashlib.sha256(key).digest()[:8].hex()


def same_child_sa(report, log, we_initiate=False):
    """Both sides hold the same Child SA: SPIs crossed, keys equal (compared by fingerprint)."""
    spis = re.search(r"CHILD_SA net\{1\} established with SPIs ([0-9a-f]{8})_i ([0-9a-f]{8})_o", log)
    ours_in, ours_out = ("responder", "initiator") if we_initiate else ("initiator", "responder")
    return (spis and (spis.group(1), spis.group(2)) == (report["spi_out"], report["spi_in"]) and
            fingerprint(logged_key(log, ours_in)) == report["key_in"] and
            fingerprint(logged_key(log, ours_out)) == report["key_out"])


def established(log, method="pre-shared key"):
    return (f"authentication of 'gw-b.example' with {method} successful" in log and
            "IKE_SA gw[1] established between 192.0.2.1[gw-a.example]...192.0.2.2[gw-b.example]" in log and
            "CHILD_SA net{1} established" in log)


@pytest.mark.parametrize("proposals,prf,group,bits", [
    ("aes128gcm16-prfsha256-x25519", 5, 31, 128),
    ("aes256gcm16-prfsha384-ecp256", 6, 19, 256),
    ("aes256gcm16-prfsha512-x25519", 7, 31, 256),
])
def test_strongswan_establishes_an_ike_sa_with_our_responder(link, tmp_path, proposals, prf, group, bits):
    report, log = handshake(tmp_path, proposals, *PSK)
    assert report["ok"], report
    assert (report["prf"], report["group"], report["encr_bits"]) == (prf, group, bits)
    assert report["auth_over_4500"], "charon's userspace ESP moves IKE to 4500 (the non-ESP marker)"
    assert report["peer"] == "gw-a.example"
    assert established(log), log[-3000:]
    assert same_child_sa(report, log), "the Child SA's keys and SPIs agree: " + json.dumps(report)


def test_another_group_is_asked_for_with_invalid_ke_payload(link, tmp_path):
    # charon sends a P-256 share first; the responder prefers Curve25519 from the same proposal.
    report, log = handshake(tmp_path, "aes128gcm16-prfsha256-ecp256-x25519", *PSK)
    assert report["refusals"] == ["key exchange in another group than the one chosen"], report
    assert report["group"] == 31
    assert "peer didn't accept DH group ECP_256, it requested CURVE_25519" in log, log[-3000:]
    assert established(log), log[-3000:]


def test_a_cookie_is_returned_before_any_state(link, tmp_path):
    report, log = handshake(tmp_path, "aes128gcm16-prfsha256-x25519", *PSK, "--cookies")
    assert report["refusals"] == ["cookie required"], report
    assert "parsed IKE_SA_INIT response 0 [ N(COOKIE) ]" in log, log[-3000:]
    assert established(log), log[-3000:]


GW_A = "spiffe://mesh.example/gateway/gw-a"
GW_B_NAMES = "DNS:gw-b.example, URI:spiffe://mesh.example/gateway/gw-b"


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """A test CA with certificates for gw-a (strongSwan, Ed25519) and gw-b (us,
    ECDSA P-256), each with its DNS name and SPIFFE URI; and another CA's
    certificate for gw-a. Made with openssl: strongSwan's pki cannot write URI SANs."""
    d = tmp_path_factory.mktemp("pki")
    ca, other = make_ca(d, "mesh-ca"), make_ca(d, "other-ca")
    return {"ca": f"{ca}.crt",
            "a": make_cert(d, "gw-a", P256, ca, f"DNS:gw-a.example, URI:{GW_A}"),
            "b": make_cert(d, "gw-b", P256, ca, GW_B_NAMES),
            "b-ed25519": make_cert(d, "gw-b-ed25519", ED25519, ca, GW_B_NAMES),
            "b-rsa": make_cert(d, "gw-b-rsa", RSA, ca, GW_B_NAMES),
            "rogue": make_cert(d, "gw-a-rogue", P256, other, f"DNS:gw-a.example, URI:{GW_A}")}


def with_certs(tmp_path, pki, a, expected=GW_A, ours="b"):
    cert_b, key_b = pki[ours]
    return handshake(tmp_path, "aes128gcm16-prfsha256-x25519", "cert", cert_b, key_b, pki["ca"], expected,
                     certs=(*a, pki["ca"]))


@pytest.mark.parametrize("ours,signature", [("b", "ECDSA_WITH_SHA256_DER"), ("b-ed25519", "ED25519"),
                                            ("b-rsa", "RSA_EMSA_PKCS1_SHA2_256")])
def test_certificates_authenticate_both_gateways(link, tmp_path, pki, ours, signature):
    report, log = with_certs(tmp_path, pki, pki["a"], ours=ours)
    assert report["ok"], report
    assert "authentication of 'gw-a.example' (myself) with ECDSA_WITH_SHA256_DER successful" in log, log[-3000:]
    assert f'received end entity cert "CN=gw-{ours}"' in log, "our certificate reached it"
    assert established(log, signature), log[-3000:]
    assert report["peer"] == GW_A
    assert same_child_sa(report, log)


def test_a_certificate_from_another_ca_is_refused(link, tmp_path, pki):
    report, log = with_certs(tmp_path, pki, pki["rogue"])
    assert report == {"ok": False, "why": "certificate refused: unable to get local issuer certificate"}, report
    assert "received AUTHENTICATION_FAILED notify error" in log, log[-3000:]


def test_a_certificate_with_another_identity_is_refused(link, tmp_path, pki):
    report, log = with_certs(tmp_path, pki, pki["a"], expected="spiffe://mesh.example/gateway/gw-c")
    assert report == {"ok": False, "why": "certificate is not spiffe://mesh.example/gateway/gw-c"}, report
    assert "received AUTHENTICATION_FAILED notify error" in log, log[-3000:]


@pytest.mark.parametrize("auth", ["psk", "cert"])
def test_we_initiate_to_strongswan(link, tmp_path, pki, auth):
    if auth == "psk":
        report, log = handshake(tmp_path, "aes128gcm16-prfsha256-x25519", *PSK, "--initiate", A)
        method = "pre-shared key"
    else:
        cert_b, key_b = pki["b"]
        report, log = handshake(tmp_path, "aes128gcm16-prfsha256-x25519", "cert", cert_b, key_b, pki["ca"], GW_A,
                                "--initiate", A, certs=(*pki["a"], pki["ca"]))
        method = "ECDSA_WITH_SHA256_DER"
    assert report["ok"] and report["role"] == "initiator", report
    assert report["natt"], "charon pretends a NAT (its userspace ESP needs UDP encapsulation): we move to 4500"
    assert f"authentication of 'gw-b.example' with {method} successful" in log, log[-3000:]
    assert "IKE_SA gw[1] established between 192.0.2.1[gw-a.example]...192.0.2.2[gw-b.example]" in log
    assert same_child_sa(report, log, we_initiate=True), json.dumps(report)
