"""strongSwan's charon as an independent IKEv2 peer in a network namespace
(see ../shared/platform-notes.md): its own strongswan.conf, swanctl.conf,
VICI socket and log under a work directory, and a private /run (a tmpfs in a
mount namespace of its own: charon writes a fixed pid file there). ESP runs
in userspace (kernel-libipsec, before kernel-netlink), which moves IKE to
UDP 4500 after IKE_SA_INIT and encapsulates ESP there."""
import os
import shutil
import subprocess
import time

from testbed.paths import sh

PLUGINS = ("random nonce kdf x509 revocation constraints pubkey pkcs1 pkcs8 pem openssl "
           "kernel-libipsec kernel-netlink socket-default vici updown")
CHARON = "/usr/lib/ipsec/charon"


class Charon:
    def __init__(self, ns, workdir, swanctl_conf, credentials=None, log_levels="ike = 2\n      cfg = 2"):
        """`credentials`: {"x509": [certificate files], "pkcs8": [key files], "x509ca": [CA files]},
        copied where swanctl looks for them (beside its swanctl.conf). `log_levels`: filelog
        lines; "chd = 4" logs the Child SAs' keys (a test's own throwaway keys)."""
        self.ns, self.dir = ns, str(workdir)
        os.makedirs(self.dir, exist_ok=True)
        for kind, files in (credentials or {}).items():
            os.makedirs(os.path.join(self.dir, kind), exist_ok=True)
            for f in files:
                shutil.copy(f, os.path.join(self.dir, kind))
        self.vici = f"unix://{self.dir}/charon.vici"
        self.log_path = os.path.join(self.dir, "charon.log")
        self.conf = os.path.join(self.dir, "swanctl.conf")
        with open(self.conf, "w") as f:
            f.write(swanctl_conf)
        with open(os.path.join(self.dir, "strongswan.conf"), "w") as f:
            f.write(f"""charon {{
  load = {PLUGINS}
  plugins {{
    vici {{ socket = {self.vici} }}
  }}
  filelog {{
    test {{
      path = {self.log_path}
      flush_line = yes
      default = 1
      {log_levels}
    }}
  }}
}}
""")
        self.proc = None

    def start(self):
        env = dict(os.environ, STRONGSWAN_CONF=os.path.join(self.dir, "strongswan.conf"))
        self.proc = subprocess.Popen(["ip", "netns", "exec", self.ns, "unshare", "-m", "sh", "-c",
                                      f"mount -t tmpfs tmpfs /run && exec {CHARON}"],
                                     env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while not os.path.exists(self.vici[len("unix://"):]):
            if time.time() > deadline or self.proc.poll() is not None:
                raise RuntimeError("charon did not start: " + self.log())
            time.sleep(0.05)
        self.swanctl("--load-all", "--file", self.conf)
        return self

    def swanctl(self, command, *args, check=True, timeout=30):
        return sh(["ip", "netns", "exec", self.ns, "swanctl", command, "--uri", self.vici] + list(args),
                  check=check, timeout=timeout)

    def log(self):
        return open(self.log_path).read() if os.path.exists(self.log_path) else ""

    def kill(self):
        """Gone without a word (no deletes sent): what a crash or a cut link looks like to its peer."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
