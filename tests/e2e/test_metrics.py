"""Prometheus metrics with real components: the exposition passes promtool's
checks; a real Prometheus server (Debian's) scrapes the gateway while
clients in the namespaces use a service, and a PromQL query returns the
packet count that traffic produced, as meshctl counts it; a scrape storm
during a download leaves the download intact."""
import json
import os
import subprocess
import tempfile
import threading
import time
import urllib.parse
import urllib.request

import pytest

from testbed import lb_policy, lb_rig, service
from testbed.topology import SlowDownload

WEB = "10.30.0.10"
POLICY = lb_policy(service("web", WEB, ["10.10.2.11", "10.10.2.12"])) + "api: {metrics: 127.0.0.1:0}\n"


@pytest.fixture(scope="module")
def rig():
    with lb_rig("mpm", POLICY) as r:
        yield r


def metrics_url(d):
    status = json.loads(d.meshctl("-o", "json", "status", check=True).stdout)
    return status["metrics"]


def get(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.read().decode()


def test_the_exposition_passes_promtool(rig):
    topo, d = rig
    answers, errors = topo.lb_client("http", WEB, 80, 10, parallel=2)
    assert errors == [] and sum(answers.values()) == 10
    url = metrics_url(d)
    assert url.startswith("http://127.0.0.1:") and url.endswith("/metrics")
    status, text = get(url)
    assert status == 200
    r = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert 'meshplane_service_new_flows_total{service="web"} 10' in text
    assert "meshplane_worker_rx_burst_packets_bucket" in text and "meshplane_policy_apply_seconds_count" in text


def prometheus(target, port):
    work = tempfile.mkdtemp(prefix="mp-prom-")
    config = os.path.join(work, "prometheus.yml")
    with open(config, "w") as f:
        f.write(f"""global:
  scrape_interval: 1s
scrape_configs:
  - job_name: meshplane
    static_configs:
      - targets: ['{target}']
""")
    return subprocess.Popen(["prometheus", f"--config.file={config}", f"--storage.tsdb.path={work}/data",
                             f"--web.listen-address=127.0.0.1:{port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def query(port, promql):
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    try:
        _, body = get(url, timeout=2)
    except OSError:
        return None  # not up yet
    result = json.loads(body)["data"]["result"]
    return float(result[0]["value"][1]) if result else None


def test_a_real_prometheus_scrapes_the_traffic_counted(rig):
    topo, d = rig
    target = metrics_url(d)[len("http://"):-len("/metrics")]
    server = prometheus(target, 19491)
    try:
        answers, errors = topo.lb_client("http", WEB, 80, 20, parallel=4)
        assert errors == [] and sum(answers.values()) == 20
        promql = 'sum(meshplane_service_packets_total{service="web"})'

        def counted():
            return next(s for s in d.stats()["services"] if s["name"] == "web")["packets"]

        # Until the last packets of the connections are counted and a scrape after them is stored.
        deadline = time.time() + 30
        while (stored := query(19491, promql)) != (now := counted()) or now < 20 * 6:
            assert time.time() < deadline, f"Prometheus says {stored}, meshctl {now}"
            time.sleep(0.2)
        assert query(19491, 'up{job="meshplane"}') == 1
    finally:
        server.terminate()
        server.wait(10)


def test_a_scrape_storm_leaves_forwarding_alone(rig):
    topo, d = rig
    url = metrics_url(d)
    download = SlowDownload(topo, f"{WEB}:80", size=3_000_000, rate=1_500_000)
    stop, scrapes, failures = threading.Event(), [], []

    def scrape():
        while not stop.is_set():
            try:
                status, _ = get(url)
                scrapes.append(status)
            except OSError as e:
                failures.append(str(e))

    threads = [threading.Thread(target=scrape) for _ in range(8)]
    for t in threads:
        t.start()
    try:
        rc, digest, err = download.finish()
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert rc == 0 and digest == download.expected_digest(), err
    assert failures == [] and len(scrapes) > 100 and set(scrapes) == {200}
    s = d.stats()
    assert s["drops"]["tx_queue_full"] == 0 and s["drops"]["punt_ring_full"] == 0
