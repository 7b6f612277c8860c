#!/usr/bin/env bash
# Installs everything meshplane builds and tests with (Debian 12), idempotently,
# and reserves hugepages when the kernel lets us. Nothing in the tests needs
# hugepages; benchmarks do.
set -euo pipefail

[ "$(id -u)" -eq 0 ] || { echo "setup.sh: run as root (apt-get and hugepages need it)" >&2; exit 1; }

packages=(
  build-essential meson ninja-build pkg-config git
  libdpdk-dev dpdk dpdk-dev
  libipsec-mb-dev libhyperscan-dev libyaml-cpp-dev libyaml-dev libfmt-dev libssl-dev
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
  libgtest-dev libgmock-dev libbenchmark-dev prometheus-cpp-dev libcli11-dev
  libpcap-dev libnuma-dev
  curl wrk nginx-light haproxy tshark python3-scapy python3-cryptography python3-matplotlib python3-pytest
  iproute2 ethtool iputils-ping nftables prometheus valgrind lua5.4
  clang libclang-rt-14-dev
  strongswan-charon strongswan-swanctl strongswan-pki libcharon-extra-plugins libstrongswan-standard-plugins
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${#missing[@]} packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "setup: all ${#packages[@]} packages present"
fi

# Hugepages help benchmarks; tests run with --no-huge and never need them.
if [ -w /proc/sys/vm/nr_hugepages ]; then
  have=$(cat /proc/sys/vm/nr_hugepages)
  [ "$have" -ge 1024 ] || echo 1024 > /proc/sys/vm/nr_hugepages || true
  mountpoint -q /dev/hugepages || mount -t hugetlbfs nodev /dev/hugepages 2>/dev/null || true
fi
