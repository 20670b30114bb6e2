# shellcheck shell=bash
# The original Flask app as scripts/bench's peer (sourced by scripts/bench,
# whose globals it uses: ROOT, WORK, KEY, LEADS, DB, DEV_KEEPALIVE, and
# leadhook_say/die from lib/deps.sh). The app, its schema and how it was
# deployed are in ../shared/peers/flask-seed/ (LEADHOOK_BENCH_PEER_DIR to
# point elsewhere): gunicorn with 5 sync workers on a loopback port, behind an
# nginx of its own (1 worker, proxy_pass with upstream keepalive), on a
# database of its own (`peer`) on the stack's PostgreSQL.
#
#   peer_locate        set PEER_DIR; die when the app or its schema is missing
#   peer_start         create and load the database, start gunicorn and nginx
#   peer_counts        "events 0 0": the peer's event rows (as counts() gives leadhook's)
#   peer_check         PEER_CHECK: its event rows against its 202 answers; 1 when they fit
#   peer_stop          stop gunicorn and its nginx (by PID; safe to call twice)
#   peer_versions      gunicorn, Flask, Flask-SQLAlchemy, SQLAlchemy, psycopg2

# Debian's packages: gunicorn runs Debian's python3 with these modules.
# shellcheck disable=SC2034 # scripts/bench installs them
PEER_PACKAGES=(gunicorn python3-flask python3-flask-sqlalchemy python3-psycopg2)
PEER_WORKERS=5
PEER_DIR="" PEER_PID="" PEER_NGINX_PID="" PEER_URL="" PEER_DSN=""
PEER_STORED=0          # 202 "success" answers: the peer's events table must hold at least these
PEER_SENT_MINUS_REFUSED=0 # bodies posted minus non-2xx answers: and at most these

peer_locate() {
  PEER_DIR="${LEADHOOK_BENCH_PEER_DIR:-$(dirname "$ROOT")/shared/peers/flask-seed}"
  [[ -f "$PEER_DIR/app.py" && -f "$PEER_DIR/schema.sql" ]] ||
    leadhook_die "the original app is not in $PEER_DIR (app.py and schema.sql expected; set LEADHOOK_BENCH_PEER_DIR to its directory, or pass --no-peer)"
  PEER_DIR="$(cd "$PEER_DIR" && pwd -P)"
}

peer_pick_port() { # a free port below 32768 that none of the ports given uses
  local p
  while :; do
    p="$(python3 "$SUPPORT/bench.py" free-port)"
    [[ " $* " == *" $p "* ]] || { echo "$p"; return; }
  done
}

peer_psql() { psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$PEER_DSN" "$@"; }

peer_start() {
  local dir="$WORK/peer" app_port port url_pair
  mkdir -p "$dir"
  chmod 0755 "$dir"
  # shellcheck disable=SC2153 # PORT: scripts/bench's (the stack's nginx)
  app_port="$(peer_pick_port "$PORT" "$STATIC_PORT" "$HMAC_PORT")"
  port="$(peer_pick_port "$PORT" "$STATIC_PORT" "$HMAC_PORT" "$app_port")"
  # The stack's connection string (a libpq keyword string or a URL) with
  # dbname=peer, for psql; and as the URL SQLAlchemy takes (its libpq
  # settings, the socket directory among them, as query parameters).
  url_pair="$(/usr/bin/python3 - "$DB" <<'EOF_PY'
import sys
from psycopg2.extensions import make_dsn, parse_dsn
from sqlalchemy.engine import URL
params = parse_dsn(sys.argv[1])
params.pop("dbname", None)
print(make_dsn(sys.argv[1], dbname="peer"))
print(URL.create("postgresql+psycopg2", database="peer", query=params).render_as_string(hide_password=False))
EOF_PY
  )" || leadhook_die "cannot make the peer's database URL from the stack's ($DB)"
  PEER_DSN="$(sed -n 1p <<<"$url_pair")"
  local sa_url
  sa_url="$(sed -n 2p <<<"$url_pair")"
  leadhook_say "the original app: database peer ($LEADS leads, $PEER_DIR/schema.sql)"
  psql -X -q -v ON_ERROR_STOP=1 -d "$DB" -c "CREATE DATABASE peer" >"$dir/schema.log" 2>&1 ||
    { cat "$dir/schema.log" >&2; leadhook_die "CREATE DATABASE peer failed on the stack's PostgreSQL"; }
  peer_psql -v leads="$LEADS" -f "$PEER_DIR/schema.sql" >>"$dir/schema.log" 2>&1 ||
    { cat "$dir/schema.log" >&2; leadhook_die "loading $PEER_DIR/schema.sql failed"; }

  # gunicorn as the original ran: sync workers, as this user (like leadhook;
  # the stack's PostgreSQL trusts its unix socket). No bytecode written into
  # the shared directory. Its log (stderr): gunicorn.log.
  leadhook_say "the original app: gunicorn, $PEER_WORKERS sync workers on 127.0.0.1:$app_port, nginx on $port"
  (cd "$dir" && exec setsid env DATABASE_URL="$sa_url" MG_SIGNING_KEY="$KEY" PEER_WRITE_EVENT=1 \
    PYTHONDONTWRITEBYTECODE=1 /usr/bin/gunicorn --workers "$PEER_WORKERS" --worker-class sync \
    --bind "127.0.0.1:$app_port" --chdir "$PEER_DIR" app:app) \
    </dev/null >>"$dir/gunicorn.log" 2>&1 &
  PEER_PID=$!

  {
    echo "upstream peer_app { server 127.0.0.1:$app_port; keepalive ${DEV_KEEPALIVE:-64}; }"
    echo "server {"
    echo "    listen 127.0.0.1:$port;"
    echo "    server_name localhost;"
    echo "    client_max_body_size 25m;"
    echo "    location / {"
    echo "        proxy_pass http://peer_app;"
    echo "        proxy_http_version 1.1;"
    echo "        proxy_set_header Connection \"\";"
    echo "        proxy_set_header Host \$host;"
    echo "        proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;"
    echo "    }"
    echo "}"
  } >"$dir/site.conf"
  leadhook_nginx_start "$dir" "$dir/site.conf"
  PEER_NGINX_PID=$LEADHOOK_NGINX_PID
  PEER_URL="http://127.0.0.1:$port"

  # Up when a wrong signature gets the app's 409 through nginx (which
  # answers 502 while gunicorn is not listening yet).
  local status="" n
  for ((n = 0; n < 150; n++)); do
    status="$(curl -sS -o /dev/null -w '%{http_code}' --max-time 5 \
      --data 'event=delivered&recipient=lead1%40example.com&timestamp=1&token=t&signature=00' \
      "$PEER_URL/api/v1/wh/mg/lead/email/delivered" 2>/dev/null || true)"
    [[ "$status" == 409 ]] && break
    peer_alive "$PEER_PID" || break
    sleep 0.2
  done
  [[ "$status" == 409 ]] || {
    tail -n 30 "$dir/gunicorn.log" "$dir/nginx-error.log" >&2
    leadhook_die "the original app answers ${status:-nothing}, not 409, to a wrong signature"
  }
}

peer_counts() { echo "$(peer_psql -c "SELECT count(*) FROM events") 0 0"; }

# The same logic as leadhook's check: every 202 stored an event, and no
# event was stored without a body posted.
peer_check() {
  local stored delivered
  stored="$(peer_psql -c "SELECT count(*) FROM events")"
  delivered="$(peer_psql -c "SELECT count(*) FROM leads WHERE followup_email_delivered")"
  PEER_CHECK="event rows $stored; 202 answers $PEER_STORED; bodies posted minus non-2xx answers $PEER_SENT_MINUS_REFUSED; leads marked delivered $delivered"
  if ((stored >= PEER_STORED && stored <= PEER_SENT_MINUS_REFUSED)); then
    PEER_CHECK="**OK**: $PEER_CHECK."
    return 0
  fi
  PEER_CHECK="**FAIL**: $PEER_CHECK."
  return 1
}

peer_alive() { # PID: running (not gone, not a zombie)
  local s
  s="$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null)" || return 1
  [[ -n "$s" && "${s%% *}" != Z ]]
}

peer_stop() {
  local workers=() n
  if [[ -n "$PEER_NGINX_PID" ]]; then kill -QUIT "$PEER_NGINX_PID" 2>/dev/null || true; fi
  if [[ -n "$PEER_PID" ]]; then
    mapfile -t workers < <(ps -o pid= --ppid "$PEER_PID" 2>/dev/null | tr -d ' ')
    # gunicorn's master stops its workers on SIGTERM; SIGKILL after 15 s.
    kill -TERM "$PEER_PID" 2>/dev/null || true
    for ((n = 0; n < 150; n++)); do peer_alive "$PEER_PID" || break; sleep 0.1; done
    if peer_alive "$PEER_PID"; then
      leadhook_warn "gunicorn (pid $PEER_PID) still running 15 s after SIGTERM; sending SIGKILL"
      kill -KILL "$PEER_PID" "${workers[@]}" 2>/dev/null || true
    fi
    wait "$PEER_PID" 2>/dev/null || true
  fi
  if [[ -n "$PEER_NGINX_PID" ]]; then wait "$PEER_NGINX_PID" 2>/dev/null || true; fi
  PEER_PID="" PEER_NGINX_PID=""
}

peer_versions() {
  /usr/bin/python3 -c '
from importlib.metadata import version
print(", ".join(f"{n} {version(n)}" for n in ("gunicorn", "Flask", "Flask-SQLAlchemy", "SQLAlchemy", "psycopg2")))' 2>/dev/null ||
    echo "versions unknown"
}
