import os

import pytest

from testbed import MESHPLANE, Daemon, Topology


def pytest_collection_modifyitems(config, items):
    if os.geteuid() != 0:
        skip = pytest.mark.skip(reason="end-to-end tests need root (namespaces, veth, AF_PACKET)")
        for item in items:
            item.add_marker(skip)


@pytest.fixture(scope="module")
def topo():
    assert os.path.exists(MESHPLANE), f"build meshplane first: {MESHPLANE} is missing"
    t = Topology().up()
    yield t
    t.down()


@pytest.fixture(scope="module")
def gateway(topo):
    d = Daemon(topo.policy()).start()
    yield d
    d.stop()
