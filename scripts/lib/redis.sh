# Sourced by scripts/test: the Redis the rate-limit tests use.
# Reachable -> fine; installed but stopped -> start it; missing -> apt-get (root).

REDIS_URL=${PASDIENST_TEST_REDIS_URL:-redis://127.0.0.1:6379/15}

redis_reachable() {
  .venv/bin/python - "$REDIS_URL" <<'PY' >/dev/null 2>&1
import sys, redis
redis.Redis.from_url(sys.argv[1], socket_connect_timeout=2).ping()
PY
}

redis_start() {
  command -v redis-server >/dev/null || return 1
  echo "starting redis-server ..." >&2
  mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /tmp --logfile /tmp/pasdienst-redis.log >&2 || return 1
  for _ in $(seq 1 20); do redis_reachable && return 0; sleep 0.25; done
  return 1
}

ensure_redis() {
  redis_reachable && return 0
  redis_start && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing redis-server with apt-get ..." >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null &&
      redis_start && return 0
  fi
  echo "Redis at $REDIS_URL is not reachable and could not be started or installed." >&2
  return 1
}
