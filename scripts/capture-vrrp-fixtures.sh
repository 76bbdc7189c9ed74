#!/usr/bin/env bash
# Capture VRRP adverts sent by a real keepalived into test/fixtures/vrrp/, so
# the codec is tested against bytes we did not write ourselves.
#
# Usage: sudo scripts/capture-vrrp-fixtures.sh [OUTDIR]   (default test/fixtures/vrrp)
# Needs root, ip(8), keepalived and tcpdump. Re-runnable: each run rewrites the
# fixtures; with fixed MACs (so fixed link-local sources) and no timestamps kept,
# a re-run reproduces them byte for byte (the IP id of the priority-0 advert may
# differ: it counts the adverts sent before the stop).
#
# Lab rules (shared/design/lab.md): two namespaces named with a per-run prefix,
# one veth pair created directly inside them (its ends never exist in the root
# namespace, so their fixed names cannot collide), documentation addresses only,
# and a cleanup on EXIT that also runs on failure or interrupt.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:-$REPO/test/fixtures/vrrp}
P=tdmcap$$
NSA=${P}a # keepalived runs here
NSB=${P}b # tcpdump listens here
IFA=vrrp-a
IFB=vrrp-b
MACA=02:00:5e:10:00:0a
MACB=02:00:5e:10:00:0b
TMP=$(mktemp -d "/tmp/${P}.XXXXXX")
KA_PID=''
TD_PIDS=()

log() { printf '[capture] %s\n' "$*" >&2; }

# Stop one process we started: SIGTERM, then SIGKILL after 5 s.
stop_pid() {
  local pid=$1
  [ -n "$pid" ] || return 0
  kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local rc=$?
  set +e
  stop_pid "$KA_PID"
  local pid
  for pid in "${TD_PIDS[@]}"; do stop_pid "$pid"; done
  ip netns del "$NSA" 2>/dev/null
  ip netns del "$NSB" 2>/dev/null
  rm -rf "$TMP"
  if ip netns list | grep -q "^${P}"; then
    log "ERROR: namespaces with prefix $P are still present"
    rc=1
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

for tool in ip keepalived tcpdump; do
  command -v "$tool" >/dev/null || { log "missing $tool"; exit 2; }
done
[ "$(id -u)" = 0 ] || { log "must run as root (network namespaces)"; exit 2; }

KA_VERSION=$(keepalived --version 2>&1 | head -n1)
log "using $KA_VERSION, namespaces $NSA/$NSB, temp $TMP"

setup_lab() {
  ip netns add "$NSA"
  ip netns add "$NSB"
  for ns in "$NSA" "$NSB"; do
    # No DAD: the link-local source of IPv6 adverts must be usable at once.
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
    ip -n "$ns" link set lo up
  done
  ip -n "$NSA" link add "$IFA" address "$MACA" type veth peer name "$IFB" address "$MACB" netns "$NSB"
  ip -n "$NSA" addr add 192.0.2.1/24 dev "$IFA"
  ip -n "$NSA" addr add 2001:db8:1::1/64 dev "$IFA" nodad
  ip -n "$NSB" addr add 192.0.2.2/24 dev "$IFB"
  ip -n "$NSB" addr add 2001:db8:1::2/64 dev "$IFB" nodad
  ip -n "$NSA" link set "$IFA" up
  ip -n "$NSB" link set "$IFB" up
  for _ in $(seq 50); do
    ip -n "$NSA" -6 addr show dev "$IFA" scope link | grep -q 'inet6 fe80' && return 0
    sleep 0.1
  done
  log "no link-local address on $IFA"
  return 1
}

# One vrrp_instance config, as keepalived reads it.
write_conf() { # name body
  {
    echo "# tandem fixture '$1': read by $KA_VERSION in namespace A (interface $IFA)"
    echo "global_defs {"
    echo "  router_id tandem-capture"
    echo "}"
    echo "$2"
  } >"$TMP/$1.conf"
}

# Convert a pcap to the fixture format: '#' comment lines with tcpdump's own
# verbose decode, then one line of hex per packet (IP header onwards).
pcap_to_hex() { # pcap name
  {
    echo "# case $2: captured by scripts/capture-vrrp-fixtures.sh from $KA_VERSION"
    echo "# one packet per hex line, starting at the IP header; comments are tcpdump -v"
    tcpdump -r "$1" -n -t -v -x 2>/dev/null | awk '
      function flush() { if (hex != "") print hex; hex = "" }
      /^[ \t]+0x[0-9a-f]+:/ { for (i = 2; i <= NF; i++) hex = hex $i; next }
      /^[^ \t]/ { flush() }
      { sub(/^[ \t]+/, ""); print "# " $0 }
      END { flush() }'
  }
}

# Start one tcpdump in B that ends after COUNT packets matching FILTER (or 40 s).
start_capture() { # pcap-name count filter
  ip netns exec "$NSB" timeout 40 tcpdump -i "$IFB" -n -U -c "$2" -w "$TMP/$1.pcap" "$3" 2>"$TMP/$1.tcpdump.log" &
  TD_PIDS+=("$!")
  for _ in $(seq 50); do
    grep -q 'listening on' "$TMP/$1.tcpdump.log" && return 0
    sleep 0.1
  done
  log "tcpdump for $1 did not start"
  return 1
}

# Run keepalived in A until every capture started for this case has its
# packets. With STOP=stop, keepalived gets SIGTERM once it is MASTER (it then
# sends a priority-0 advert, RFC 5798 6.4.2 "Shutdown" event).
run_case() { # name [stop]
  local name=$1 stop=${2:-}
  local klog="$TMP/$name.keepalived.log"
  log "case $name"
  ip netns exec "$NSA" keepalived -n -l -D -G -P -R -f "$TMP/$name.conf" \
    -p "$TMP/keepalived.pid" -r "$TMP/vrrp.pid" >"$klog" 2>&1 &
  KA_PID=$!
  if [ "$stop" = stop ]; then
    for _ in $(seq 200); do
      grep -q 'Entering MASTER STATE' "$klog" && break
      sleep 0.1
    done
    grep -q 'Entering MASTER STATE' "$klog" || { log "keepalived never became MASTER"; cat "$klog" >&2; return 1; }
    sleep 1.5
    stop_pid "$KA_PID"
    KA_PID=''
  fi
  local rc=0 pid
  for pid in "${TD_PIDS[@]}"; do
    wait "$pid" || rc=$?
  done
  TD_PIDS=()
  stop_pid "$KA_PID"
  KA_PID=''
  if [ "$rc" != 0 ]; then
    log "a capture ended with $rc (timeout?) for $name"
    cat "$klog" "$TMP"/*.tcpdump.log >&2
    return 1
  fi
}

# Split one capture into fixture files by a predicate on the hex packet.
save_case() { # name [awk-condition-on-hex]
  local name=$1 cond=${2:-1}
  pcap_to_hex "$TMP/$name.pcap" "$name" | awk -v c="$cond" '
    NR <= 2 { print; next }
    /^#/ { buf = buf $0 "\n"; next }
    { keep = 0; h = $0 }
    c == "1" { keep = 1 }
    c == "vrrp6" { keep = (substr(h, 13, 2) == "70") }
    c == "na6" { keep = (substr(h, 13, 2) == "3a" && substr(h, 81, 2) == "88") }
    c == "prio0" { keep = (substr(h, 1, 1) == "4" && substr(h, 45, 2) == "00") }
    { if (keep) printf "%s%s\n", buf, h; buf = "" }
  ' >"$TMP/$name.hex"
  grep -qv '^#' "$TMP/$name.hex" || { log "no packet kept for $name"; return 1; }
}

publish() { # case-name conf-name
  mkdir -p "$OUT"
  cp "$TMP/$1.hex" "$OUT/$1.hex"
  cp "$TMP/$2.conf" "$OUT/$1.conf"
  log "wrote $OUT/$1.hex ($(grep -cv '^#' "$OUT/$1.hex") packets)"
}

setup_lab

write_conf v2-ipv4-pass '
vrrp_instance VI_V2PASS {
  state BACKUP
  interface vrrp-a
  version 2
  virtual_router_id 51
  priority 150
  advert_int 1
  authentication {
    auth_type PASS
    auth_pass s3cret
  }
  virtual_ipaddress {
    192.0.2.100/24
    192.0.2.101/24
  }
}'
start_capture v2-ipv4-pass 3 'ip proto 112'
run_case v2-ipv4-pass
save_case v2-ipv4-pass
publish v2-ipv4-pass v2-ipv4-pass

write_conf v2-ipv4 '
vrrp_instance VI_V2 {
  state BACKUP
  interface vrrp-a
  version 2
  virtual_router_id 50
  priority 100
  advert_int 2
  virtual_ipaddress {
    192.0.2.100/24
  }
}'
start_capture v2-ipv4 2 'ip proto 112'
run_case v2-ipv4
save_case v2-ipv4
publish v2-ipv4 v2-ipv4

write_conf v3-ipv4 '
vrrp_instance VI_V3 {
  state BACKUP
  interface vrrp-a
  version 3
  virtual_router_id 60
  priority 100
  advert_int 1
  virtual_ipaddress {
    192.0.2.100/24
    192.0.2.102/24
    198.51.100.7/24
  }
}'
start_capture v3-ipv4 3 'ip proto 112'
run_case v3-ipv4
save_case v3-ipv4
publish v3-ipv4 v3-ipv4

write_conf v3-ipv4-checksum-as-v2 '
vrrp_instance VI_V3V2SUM {
  state BACKUP
  interface vrrp-a
  version 3
  v3_checksum_as_v2
  virtual_router_id 61
  priority 200
  advert_int 1
  virtual_ipaddress {
    192.0.2.100/24
  }
}'
# v3_checksum_as_v2 first appeared in keepalived 2.2.8; an older keepalived
# ignores the keyword and would send the pseudo-header form under this name.
# (Output into a variable first: grep -q closing the pipe early trips pipefail.)
CONF_TEST=$(keepalived -t -f "$TMP/v3-ipv4-checksum-as-v2.conf" 2>&1 || true)
if grep -q "Unknown keyword 'v3_checksum_as_v2'" <<<"$CONF_TEST"; then
  log "SKIPPED v3-ipv4-checksum-as-v2: $KA_VERSION does not know v3_checksum_as_v2 (added in 2.2.8)"
else
  start_capture v3-ipv4-checksum-as-v2 3 'ip proto 112'
  run_case v3-ipv4-checksum-as-v2
  save_case v3-ipv4-checksum-as-v2
  publish v3-ipv4-checksum-as-v2 v3-ipv4-checksum-as-v2
fi

write_conf v3-ipv6 '
vrrp_instance VI_V3V6 {
  state BACKUP
  interface vrrp-a
  version 3
  virtual_router_id 52
  priority 120
  advert_int 1
  virtual_ipaddress {
    2001:db8:1::100/64
    2001:db8:1:0:0:0:0:101/64
    fe80::52/64
  }
}'
# Adverts plus the unsolicited neighbour advertisements sent on becoming MASTER.
start_capture v3-ipv6 3 'ip6 and ip6[6] == 112'
start_capture ndisc-unsolicited-na 3 'icmp6 and ip6[6] == 58 and ip6[40] == 136'
run_case v3-ipv6
save_case v3-ipv6 vrrp6
publish v3-ipv6 v3-ipv6
save_case ndisc-unsolicited-na na6
publish ndisc-unsolicited-na v3-ipv6

write_conf v3-ipv4-unicast '
vrrp_instance VI_V3UNI {
  state BACKUP
  interface vrrp-a
  version 3
  virtual_router_id 62
  priority 254
  advert_int 1
  unicast_src_ip 192.0.2.1
  unicast_peer {
    192.0.2.2
  }
  virtual_ipaddress {
    192.0.2.100/24
  }
}'
start_capture v3-ipv4-unicast 3 'ip proto 112'
run_case v3-ipv4-unicast
save_case v3-ipv4-unicast
publish v3-ipv4-unicast v3-ipv4-unicast

write_conf v3-ipv4-priority0 '
vrrp_instance VI_V3STOP {
  state BACKUP
  interface vrrp-a
  version 3
  virtual_router_id 63
  priority 90
  advert_int 1
  virtual_ipaddress {
    192.0.2.100/24
  }
}'
start_capture v3-ipv4-priority0 1 'ip proto 112 and ip[22] == 0'
run_case v3-ipv4-priority0 stop
save_case v3-ipv4-priority0 prio0
publish v3-ipv4-priority0 v3-ipv4-priority0

write_conf v3-ipv4-fast '
vrrp_instance VI_V3FAST {
  state BACKUP
  interface vrrp-a
  version 3
  virtual_router_id 64
  priority 110
  advert_int 0.1
  virtual_ipaddress {
    192.0.2.100/24
  }
}'
start_capture v3-ipv4-fast 5 'ip proto 112'
run_case v3-ipv4-fast
save_case v3-ipv4-fast
publish v3-ipv4-fast v3-ipv4-fast

log "done"
