#!/usr/bin/env bash
# Install the system packages the test suite needs (browser tests):
#   - Debian's chromium (driven by Python playwright via executable_path)
#   - a CJK font so Chinese pages render (fonts-wqy-microhei)
# Idempotent: does nothing when both are already present.
# Never runs `playwright install` (no browser downloads on this machine).
set -euo pipefail

need=()
if [ ! -x /usr/bin/chromium ]; then
    need+=(chromium)
fi
if ! command -v fc-list >/dev/null 2>&1 || ! fc-list 2>/dev/null | grep -qi wqy; then
    need+=(fonts-wqy-microhei)
fi
# pdftotext (with the CJK maps of poppler-data) lets the printing tests read the Chinese text
if ! command -v pdftotext >/dev/null 2>&1 || [ ! -d /usr/share/poppler/cMap ]; then
    need+=(poppler-utils poppler-data)
fi

if [ "${#need[@]}" -eq 0 ]; then
    echo "install_ci_deps: chromium, fonts-wqy-microhei and poppler-utils already present"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "install_ci_deps: missing ${need[*]}; run as root to install them" >&2
    exit 1
fi

echo "install_ci_deps: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# fontconfig brings fc-list, which the check above relies on next time.
apt-get install -y -qq --no-install-recommends "${need[@]}" fontconfig >/dev/null
fc-cache -f >/dev/null 2>&1 || true

/usr/bin/chromium --version
fc-list | grep -i wqy | head -n 1
