#!/usr/bin/env bash
# The system packages the test suite uses, and whether they are here.
# --install (as root, Debian): install what is missing, non-interactively.
# Without it: name what is missing. Tests that need a missing tool skip
# themselves, except under CI, where they fail.
set -euo pipefail
# tool:package pairs
needs=(
  "tshark:tshark"       # independent ISO 8583 decoder for the wire check
  "text2pcap:tshark"
  "softhsm2-util:softhsm2" # the PKCS#11 token the keys package tests against
  "pcscd:pcscd"         # the PC/SC daemon cardcenter reader's tests run against
  "pcsc_scan:pcsc-tools" # independent check that a reader and card are seen
  "pkg-config:pkg-config" # cgo finds libpcsclite with it
  "gcc:gcc"             # cgo
  "socat:socat"         # pty pairs for the serial terminal tests
)
# file:package pairs: rigs that are files, not commands
files=(
  "/usr/lib/softhsm/libsofthsm2.so:softhsm2"
  "/usr/lib/pcsc/drivers/serial/libifdvpcd.so:vsmartcard-vpcd" # the virtual reader a Go card plugs into
  "/usr/include/PCSC/winscard.h:libpcsclite-dev"            # github.com/ebfe/scard builds against it
  "/usr/include/stdio.h:libc6-dev"
)
missing=()
for n in "${needs[@]}"; do
  tool=${n%%:*} pkg=${n#*:}
  command -v "$tool" >/dev/null 2>&1 || missing+=("$pkg")
done
for n in "${files[@]}"; do
  file=${n%%:*} pkg=${n#*:}
  [ -e "$file" ] || missing+=("$pkg")
done
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u | sed '/^$/d')
if [ "${#missing[@]}" = 0 ]; then
  exit 0
fi
if [ "${1:-}" = --install ] || { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; }; then
  echo "rigs: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # wireshark-common asks whether non-root may capture; answer no.
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections 2>/dev/null || true
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  exit 0
fi
echo "rigs: missing system packages: ${missing[*]} (tests needing them will skip; run as root to install)"
