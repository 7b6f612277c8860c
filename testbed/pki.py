"""Test certificates made with the openssl CLI (strongSwan's pki cannot write
URI SANs): a CA, and gateway certificates with DNS and SPIFFE URI names."""
import os

from testbed.paths import sh


def openssl(*args):
    sh(["openssl", *args])


def make_cert(d, name, key_algorithm, ca, sans, days=1):
    """A key (PKCS#8 PEM, mode 0600) and a certificate for it signed by `ca` (its .crt and .key)."""
    key, csr, cert, ext = (str(d / f"{name}.{x}") for x in ("key", "csr", "crt", "ext"))
    openssl("genpkey", *key_algorithm, "-out", key)
    os.chmod(key, 0o600)
    openssl("req", "-new", "-key", key, "-subj", f"/CN={name}", "-out", csr)
    with open(ext, "w") as f:
        f.write(f"subjectAltName = {sans}\nkeyUsage = critical, digitalSignature\n")
    openssl("x509", "-req", "-in", csr, "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key", "-CAcreateserial",
            "-days", str(days), "-extfile", ext, "-out", cert)
    return cert, key


def make_ca(d, name):
    key, cert = str(d / f"{name}.key"), str(d / f"{name}.crt")
    openssl("genpkey", *P256, "-out", key)
    openssl("req", "-x509", "-new", "-key", key, "-subj", f"/CN={name}", "-days", "2", "-out", cert,
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    return str(d / name)


ED25519 = ("-algorithm", "ed25519")
P256 = ("-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256")
RSA = ("-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048")
