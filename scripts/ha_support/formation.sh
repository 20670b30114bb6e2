# shellcheck shell=bash
# A pg_auto_failover formation on this machine, for scripts/ha-test: a monitor
# and two data nodes on loopback ports, run as the unprivileged postgres user
# (as root; as the caller otherwise), with the failover timeouts of
# deploy/ha/monitor-settings.sql. Sourced; expects HA_DIR (an empty directory
# the postgres user can reach) and the ports MONITOR_PORT NODE1_PORT
# NODE2_PORT. Every process it starts is stopped by formation_stop (by PID
# when pg_autoctl stop does not do it).

PG_BIN="$(pg_config --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)"
HA_PG="$HA_DIR/pg" # data dirs, XDG dirs, logs: all the postgres user's

# pg_autoctl keeps its config, state and pid files under the XDG directories:
# every command about a node must see the same ones.
as_pg_autoctl() {
  local -a env=(XDG_CONFIG_HOME="$HA_PG/xdg/config" XDG_DATA_HOME="$HA_PG/xdg/data"
    XDG_RUNTIME_DIR="$HA_PG/xdg/run" PATH="$PG_BIN:/usr/bin:/bin" PG_CONFIG="$PG_BIN/pg_config")
  if ((EUID == 0)); then
    (cd / && runuser -u postgres -- env "${env[@]}" "$@")
  else
    (cd / && env "${env[@]}" "$@")
  fi
}

formation_init() {
  mkdir -p "$HA_PG/xdg/config" "$HA_PG/xdg/data" "$HA_PG/xdg/run"
  chmod 0700 "$HA_PG/xdg/run"
  if ((EUID == 0)); then chown -R postgres: "$HA_PG"; fi
}

monitor_url() { echo "postgres://autoctl_node@127.0.0.1:$MONITOR_PORT/pg_auto_failover?sslmode=disable"; }
monitor_sql() { psql -X -q -A -t -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$MONITOR_PORT" -U postgres -d pg_auto_failover "$@"; }
node_sql() { # PORT SQL...
  local port="$1"
  shift
  psql -X -q -A -t -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d leadhook "$@"
}

# `pg_autoctl run` in the background; its PID is in the pid file it writes.
formation_run() { # NAME
  as_pg_autoctl nohup pg_autoctl run --pgdata "$HA_PG/$1" >>"$HA_PG/$1.log" 2>&1 &
}

keeper_pid() { # NAME
  local f="$HA_PG/xdg/run/pg_autoctl$HA_PG/$1/pg_autoctl.pid"
  [[ -f "$f" ]] && head -1 "$f"
}
postmaster_pid() { # NAME
  [[ -f "$HA_PG/$1/postmaster.pid" ]] && head -1 "$HA_PG/$1/postmaster.pid"
}

monitor_create() {
  as_pg_autoctl pg_autoctl create monitor --pgdata "$HA_PG/monitor" --pgport "$MONITOR_PORT" \
    --hostname 127.0.0.1 --listen 127.0.0.1 --auth trust --no-ssl >>"$HA_PG/monitor.log" 2>&1 ||
    leadhook_die "pg_autoctl create monitor failed (see $HA_PG/monitor.log)"
  formation_run monitor
  wait_until 30 "the monitor accepts connections" monitor_sql -c "SELECT 1"
  monitor_sql -f "$LEADHOOK_ROOT/deploy/ha/monitor-settings.sql" -c "SELECT pg_reload_conf()" >/dev/null
}

node_create() { # NAME PORT
  as_pg_autoctl pg_autoctl create postgres --pgdata "$HA_PG/$1" --pgport "$2" \
    --hostname 127.0.0.1 --listen 127.0.0.1 --name "$1" --monitor "$(monitor_url)" \
    --auth trust --no-ssl --dbname leadhook >>"$HA_PG/$1.log" 2>&1 ||
    leadhook_die "pg_autoctl create postgres $1 failed (see $HA_PG/$1.log)"
  as_pg_autoctl pg_autoctl config set --pgdata "$HA_PG/$1" timeout.network_partition_timeout 5 \
    >>"$HA_PG/$1.log" 2>&1
  formation_run "$1"
}

# "node1:primary node2:secondary": each node's state as the monitor last saw it.
formation_states() {
  monitor_sql -c "SELECT string_agg(nodename || ':' || reportedstate, ' ' ORDER BY nodeid)
                  FROM pgautofailover.node" 2>/dev/null
}

formation_is() { [[ "$(formation_states)" == "$1" ]]; }

wait_until() { # SECONDS WHAT COMMAND...
  local seconds="$1" what="$2" deadline
  shift 2
  deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || leadhook_die "timed out after ${seconds}s waiting until $what"
    sleep 0.2
  done
}

# A base backup waits for a checkpoint, which pg_auto_failover spreads over
# minutes; asking for one now lets the standby start at once.
nudge_checkpoint() {
  node_sql "$NODE1_PORT" -c CHECKPOINT >/dev/null 2>&1 || true
  formation_is "node1:primary node2:secondary"
}

formation_start() {
  formation_init
  monitor_create
  node_create node1 "$NODE1_PORT"
  wait_until 60 "node1 is the only node" formation_is "node1:single"
  node_create node2 "$NODE2_PORT"
  wait_until 120 "node2 follows node1 synchronously" nudge_checkpoint
  # The database leadhook writes belongs to its own role (PostgreSQL 15:
  # only the owner may create in schema public).
  node_sql "$NODE1_PORT" -c "CREATE ROLE leadhook LOGIN" \
    -c "ALTER DATABASE leadhook OWNER TO leadhook" -c "ALTER SCHEMA public OWNER TO leadhook"
}

# pg_autoctl's own URI for the formation, with leadhook's role.
formation_uri() {
  local uri
  uri="$(as_pg_autoctl pg_autoctl show uri --formation default --pgdata "$HA_PG/monitor")"
  echo "$uri&user=leadhook"
}

# A process and its children (pg_autoctl run's services), one PID a line.
with_children() { # PID
  echo "$1"
  pgrep -P "$1" || true
}

# SIGKILL a node's keeper and its postmaster (and what they started).
kill_node() { # NAME
  local keeper postmaster
  local -a pids=()
  keeper="$(keeper_pid "$1" || true)" postmaster="$(postmaster_pid "$1" || true)"
  [[ -z "$keeper" ]] || mapfile -t pids < <(with_children "$keeper")
  [[ -z "$postmaster" ]] || pids+=("$postmaster")
  ((${#pids[@]})) || leadhook_die "no process of $1 to kill"
  kill -KILL "${pids[@]}" 2>/dev/null || true
}

formation_stop() {
  local name pid
  for name in node2 node1 monitor; do
    [[ -d "$HA_PG/$name" ]] || continue
    as_pg_autoctl timeout 20 pg_autoctl stop --pgdata "$HA_PG/$name" >/dev/null 2>&1 || true
  done
  sleep 1
  local -a pids
  for name in node2 node1 monitor; do
    for pid in $(keeper_pid "$name") $(postmaster_pid "$name"); do
      mapfile -t pids < <(with_children "$pid")
      kill -KILL "${pids[@]}" 2>/dev/null || true
    done
  done
}
