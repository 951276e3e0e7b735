# Sourced by scripts/serve and scripts/test: a .venv with the project installed.
# Re-installs only when pyproject.toml changed since the last install.

find_python() {
  local candidate
  for candidate in ${PYTHON:-} python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  echo "pasdienst needs Python 3.11 or newer; none found on PATH" >&2
  return 1
}

ensure_venv() {  # ensure_venv [extras]
  local extras=${1:-} py stamp
  py=$(find_python)
  if [ ! -x .venv/bin/python ]; then
    if ! "$py" -m venv .venv 2>/dev/null; then
      # Debian ships venv separately; install it when we are allowed to.
      if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "installing python3-venv ..." >&2
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
        rm -rf .venv && "$py" -m venv .venv
      else
        echo "cannot create .venv: install the venv module for $py" >&2; return 1
      fi
    fi
  fi
  stamp=".venv/.pasdienst-installed${extras:+-$extras}"
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    echo "installing pasdienst${extras:+ with [$extras]} into .venv ..." >&2
    .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
    .venv/bin/python -m pip install -q --disable-pip-version-check -e ".${extras:+[$extras]}"
    touch "$stamp"
  fi
  # The Dutch catalogue (pasdienst/catalogue.py): compiled here, and by the app when a .po is newer.
  local po
  for po in pasdienst/translations/*/LC_MESSAGES/messages.po; do
    if [ ! -f "${po%.po}.mo" ] || [ "$po" -nt "${po%.po}.mo" ]; then
      .venv/bin/pybabel -q compile -d pasdienst/translations -D messages
      break
    fi
  done
}
