#!/bin/sh
# `mlockctl metrics` is valid Prometheus text (promtool check metrics: parse and lint),
# against a real supervisor with a child on a private system-like bus; and the textfile
# script writes it atomically: the complete text or the old file, mode 0644, nothing left
# behind, `mlock_supervisor_up 0` when no supervisor answers.
# Usage: check_metrics.sh SUPERVISOR MLOCKCTL_DIR PRELOAD BUS_CONF_IN POLICY TEXTFILE_SCRIPT
# Needs root (the supervisor owns its bus name only as root) and promtool; skips (77) else.
set -eu
supervisor=$1 ctl_dir=$2 preload=$3 conf_in=$4 policy=$5 textfile=$6
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (the bus policy lets only root own the name)"; exit 77; }
command -v promtool >/dev/null 2>&1 || {
  echo "SKIP: promtool not found (Debian 12: apt-get install prometheus, or scripts/install-deps)"
  exit 77
}
command -v gdbus >/dev/null 2>&1 || { echo "SKIP: gdbus not found (libglib2.0-bin)"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }

work=$(mktemp -d /tmp/mlock-metrics-test.XXXXXX)
bus_pid="" sup_pid=""
cleanup() {
  [ -z "$sup_pid" ] || { kill -TERM "$sup_pid" 2>/dev/null || true; wait "$sup_pid" || true; }
  [ -z "$bus_pid" ] || { kill -TERM "$bus_pid" 2>/dev/null || true; wait "$bus_pid" || true; }
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

sed -e "s|@SOCKET@|$work/bus|" -e "s|@POLICY@|$policy|" "$conf_in" >"$work/bus.conf"
mkfifo "$work/address"
dbus-daemon --config-file="$work/bus.conf" --nofork --print-address=3 3>"$work/address" &
bus_pid=$!
read -r address <"$work/address"  # printed once it listens
export DBUS_SYSTEM_BUS_ADDRESS="$address"

mkdir "$work/run" "$work/conf.d"
cat >"$work/config.json" <<EOC
{ "children": { "sleeper": { "exec": ["/bin/sleep", "3600"], "ready": "locked" } } }
EOC
RUNTIME_DIRECTORY=$work/run "$supervisor" --config "$work/config.json" \
  --config-dir "$work/conf.d" --preload "$preload" >"$work/supervisor.log" 2>&1 &
sup_pid=$!
gdbus wait --system --timeout 30 org.duende.MlockSupervisor1 ||
  { cat "$work/supervisor.log"; fail "the supervisor did not take its bus name"; }

echo "== promtool check metrics < mlockctl metrics"
"$ctl_dir/mlockctl" metrics >"$work/metrics.txt"
grep -qx 'mlock_supervisor_up 1' "$work/metrics.txt" || { cat "$work/metrics.txt"; fail "no mlock_supervisor_up 1"; }
grep -q '^mlock_supervisor_child_state{child="sleeper",state="[a-z]*"} 1$' "$work/metrics.txt" ||
  { cat "$work/metrics.txt"; fail "no child samples for sleeper"; }
promtool check metrics <"$work/metrics.txt" || fail "promtool check metrics rejected the output above"

echo "== the textfile script: complete file, 0644, nothing left behind"
mkdir "$work/textfile"
prom=$work/textfile/mlock-supervisor.prom
PATH=$ctl_dir:$PATH "$textfile" "$prom"
grep -qx 'mlock_supervisor_up 1' "$prom" || fail "the textfile lacks mlock_supervisor_up 1"
grep -q '^mlock_supervisor_child_locked{child="sleeper"} [01]$' "$prom" || fail "the textfile lacks the child"
[ "$(stat -c %a "$prom")" = 644 ] || fail "mode $(stat -c %a "$prom"), expected 644"
[ "$(ls -A "$work/textfile")" = mlock-supervisor.prom ] || fail "left behind: $(ls -A "$work/textfile")"
promtool check metrics <"$prom" || fail "promtool check metrics rejected the textfile"

echo "== a failing mlockctl keeps the old file and leaves nothing behind"
mkdir "$work/fake"
printf '#!/bin/sh\necho mlock_supervisor_up 1\necho half-written\nexit 1\n' >"$work/fake/mlockctl"
chmod +x "$work/fake/mlockctl"
cp "$prom" "$work/before.prom"
if PATH=$work/fake:$PATH "$textfile" "$prom"; then fail "the script succeeded although mlockctl failed"; fi
cmp -s "$prom" "$work/before.prom" || fail "the old file was changed"
[ "$(ls -A "$work/textfile")" = mlock-supervisor.prom ] || fail "left behind: $(ls -A "$work/textfile")"

echo "== no supervisor on the bus: mlock_supervisor_up 0"
kill -TERM "$sup_pid"
wait "$sup_pid" || fail "the supervisor exited $? on SIGTERM"
sup_pid=""
PATH=$ctl_dir:$PATH "$textfile" "$prom"
grep -qx 'mlock_supervisor_up 0' "$prom" || { cat "$prom"; fail "expected mlock_supervisor_up 0"; }
promtool check metrics <"$prom" || fail "promtool check metrics rejected the up-0 file"
echo "metrics check: passed"
