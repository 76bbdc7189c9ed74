#!/usr/bin/env bash
# Installs what tandem's tests, lab and benchmarks need on a fresh Debian
# machine: the Debian packages (only those missing) and the npm dependencies,
# then builds. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(g++ make python3 iproute2 keepalived tcpdump iputils-arping iputils-ping ndisc6 procps psmisc systemd openssl nbdkit libnbd-bin python3-libnbd qemu-utils fio rsync)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: these Debian packages are missing and installing them needs root: ${missing[*]}" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# keepalived's package starts its service where systemd runs; the lab starts its own.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  systemctl disable --now keepalived >/dev/null 2>&1 || true
fi

# raw-socket and lib/net/native (IPv6 receive with hop limit and destination; a TCP
# socket's congestion control) are native addons: node-gyp builds them with g++, make
# and python3 (above); npm ci builds ours too. Rebuilt when a source is newer than its build.
stale_addon() {
  local src out
  for src in lib/net/native/recv6.c:tandem_recv6 lib/net/native/tcp-congestion.c:tandem_tcp_congestion; do
    out=lib/net/native/build/Release/${src#*:}.node
    if [ ! -f "$out" ] || [ "${src%%:*}" -nt "$out" ] || [ lib/net/native/binding.gyp -nt "$out" ]; then return 0; fi
  done
  return 1
}
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
elif stale_addon; then
  npm run install
fi
npm run build
