# Sourced by scripts/test: make sure the PostgreSQL the tests use answers.
# Order: already reachable -> start a local cluster that is installed but
# stopped -> install it with apt (as root) and start it. Never touches a
# server that already answers.

PG_URL=${PASDIENST_TEST_POSTGRES_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test}

pg_reachable() {
  .venv/bin/python - "$PG_URL" <<'PY' >/dev/null 2>&1
import sys
import psycopg
from sqlalchemy.engine import make_url
u = make_url(sys.argv[1])
psycopg.connect(host=u.host or "127.0.0.1", port=u.port or 5432, user=u.username or "postgres",
                password=u.password, dbname=u.database or "postgres", connect_timeout=3).close()
PY
}

pg_url_part() {  # host | port | database
  .venv/bin/python - "$PG_URL" "$1" <<'PY'
import sys
from sqlalchemy.engine import make_url
u = make_url(sys.argv[1])
print({"host": u.host or "127.0.0.1", "port": u.port or 5432, "database": u.database or "postgres"}[sys.argv[2]])
PY
}

pg_start_clusters() {
  command -v pg_lsclusters >/dev/null || return 1
  local version name port status
  while read -r version name port status _; do
    [ "$version" = "Ver" ] && continue
    case "$status" in
      online*) ;;
      *) echo "starting PostgreSQL cluster $version/$name ..." >&2
         pg_ctlcluster --skip-systemctl-redirect "$version" "$name" start >&2 || true ;;
    esac
  done < <(pg_lsclusters 2>/dev/null)
  for _ in $(seq 1 20); do pg_reachable && return 0; sleep 0.5; done
  return 1
}

pg_install() {
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null || return 1
  echo "installing PostgreSQL with apt-get ..." >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null || return 1
  # A fresh Debian cluster asks TCP clients for a password; the tests connect
  # as postgres over 127.0.0.1 without one, as on the development machines.
  local hba
  for hba in /etc/postgresql/*/main/pg_hba.conf; do
    grep -q '^host all postgres 127.0.0.1/32 trust' "$hba" ||
      sed -i '1i host all postgres 127.0.0.1/32 trust\nhost all postgres ::1/128 trust' "$hba"
  done
  pg_start_clusters || return 1
  local db
  db=$(pg_url_part database)
  su postgres -c "psql -tAc \"SELECT 1 FROM pg_database WHERE datname = '$db'\" | grep -q 1 || createdb '$db'" >&2
}

ensure_postgres() {
  pg_reachable && return 0
  pg_start_clusters && return 0
  if ! command -v pg_ctlcluster >/dev/null && ! command -v postgres >/dev/null; then
    pg_install && pg_reachable && return 0
  fi
  echo "PostgreSQL at $PG_URL is not reachable and could not be started or installed." >&2
  echo "Start it, or set PASDIENST_TEST_POSTGRES_URL to one that is." >&2
  return 1
}
