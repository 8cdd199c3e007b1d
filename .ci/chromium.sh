#!/usr/bin/env bash
# Browser-test prerequisites for CI (run as root; idempotent):
#  - Debian's chromium at /usr/bin/chromium (Playwright drives it; it never downloads browsers);
#  - axe-core (pinned by tests/browser/package-lock.json) for the accessibility check.
# With CI=true the browser tests fail if chromium is missing; without npm they fall back to
# their own accessibility checks.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/bin/chromium ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core
fi
/usr/bin/chromium --version 2>/dev/null || true

if command -v npm >/dev/null 2>&1; then
  if [ ! -f tests/browser/node_modules/axe-core/axe.min.js ]; then
    npm ci --prefix tests/browser --no-audit --no-fund --silent \
      || echo "chromium.sh: could not install axe-core; browser tests will use their own checks" >&2
  fi
else
  echo "chromium.sh: npm not found; browser tests will use their own accessibility checks" >&2
fi
