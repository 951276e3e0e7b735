# Sourced by scripts/test: the browser tests (tests/browser) drive Debian's
# Chromium through the PyPI playwright package (executable_path, never
# `playwright install`, which downloads a browser build). Installs it with
# apt-get when missing and we may (root); otherwise the browser tests say so.

CHROMIUM=${PASDIENST_CHROMIUM:-/usr/bin/chromium}

ensure_chromium() {
  [ -x "$CHROMIUM" ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing Chromium with apt-get (browser tests) ..." >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null && return 0
  fi
  echo "Chromium is missing at $CHROMIUM and could not be installed; the browser tests will fail." >&2
  echo "Install Debian's chromium package, or set PASDIENST_CHROMIUM to a Chromium binary." >&2
  return 0
}
