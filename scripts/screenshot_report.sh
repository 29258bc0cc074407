#!/usr/bin/env bash
# Screenshot a report.html in headless Chromium (Debian's `chromium` package) and report console errors.
# Usage: scripts/screenshot_report.sh results/quickstart/report.html docs/report.png [width height]
set -euo pipefail
report=$(realpath "$1"); out=$2; width=${3:-1280}; height=${4:-2400}
command -v chromium >/dev/null || { echo "chromium is not installed (apt-get install chromium)" >&2; exit 2; }
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking
       --disable-component-update --disable-sync --user-data-dir="$profile" --hide-scrollbars)
chromium "${flags[@]}" --window-size="$width,$height" --screenshot="$(realpath -m "$out")" "file://$report" 2>/dev/null
# console errors: load the page with logging to stderr and keep the console lines
errors=$(chromium "${flags[@]}" --enable-logging=stderr --v=0 --dump-dom "file://$report" 2>&1 >/dev/null \
         | grep -i "console" | grep -iv "devtools" || true)
if [ -n "$errors" ]; then echo "console errors:"; echo "$errors"; exit 1; fi
echo "screenshot: $out (no console errors)"
