#!/usr/bin/env bash
# The browser tests drive Debian's Chromium through Playwright (no browser download is possible offline).
# Installs the apt package when running as root on Debian/Ubuntu; elsewhere the tests skip with a reason.
set -uo pipefail
if [ -x /usr/bin/chromium ]; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
    || echo "could not install chromium; browser tests will be skipped" >&2
else
  echo "chromium not found at /usr/bin/chromium; browser tests will be skipped (apt-get install chromium)" >&2
fi
exit 0
