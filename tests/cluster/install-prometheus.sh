#!/usr/bin/env bash
# Install prometheus and promtool from Debian's package when either is missing (`make prometheus`).
#
# The tests run a real Prometheus on loopback and check the alert rules with promtool. Debian's package is used
# rather than a Go build (minutes of CPU) because it ships both binaries. Its postinst would start the packaged
# service (listening on every address) through invoke-rc.d: a policy-rc.d that refuses every start is in place
# for the install, and recommended packages (node-exporter, another daemon) are not installed.
set -euo pipefail

if command -v prometheus >/dev/null && command -v promtool >/dev/null; then
    exit 0
fi
if ! command -v apt-get >/dev/null; then
    echo "prometheus and promtool (>= 2.42) are not on PATH and this is not a Debian system: install them" >&2
    echo "from your distribution or from https://prometheus.io/download/, then run make again." >&2
    exit 1
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
    sudo=(sudo)
fi

policy=/usr/sbin/policy-rc.d
saved="$policy.maintenance-operator-saved"
restore() {
    "${sudo[@]}" rm -f "$policy"
    if [ -e "$saved" ]; then
        "${sudo[@]}" mv "$saved" "$policy"
    fi
}
if [ -e "$policy" ]; then
    "${sudo[@]}" mv "$policy" "$saved"
fi
trap restore EXIT
printf '#!/bin/sh\n# maintenance-operator: no service starts while Prometheus is installed.\nexit 101\n' |
    "${sudo[@]}" tee "$policy" >/dev/null
"${sudo[@]}" chmod 755 "$policy"

echo "[prometheus] installing Debian's prometheus package (prometheus and promtool)" >&2
"${sudo[@]}" apt-get update -q
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends prometheus
prometheus --version 2>&1 | head -1 >&2
