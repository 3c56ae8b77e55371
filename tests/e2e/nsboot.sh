# shellcheck shell=bash disable=SC2016
# Boots this machine's own systemd as PID 1 in private namespaces, drives it, and takes it
# down again leaving nothing behind on the host. Sourced by the end-to-end tests.
#
#   e2e_boot                start the system; sets E2E_PID1 (host pid of its systemd)
#   e2e_in CMD...           run CMD inside (all its namespaces, its root), clean env
#   e2e_put FILE DEST       copy a host file to DEST inside, through nsenter: writing via
#                           /proc/PID/root would follow absolute symlinks onto the host
#   e2e_shutdown            SIGRTMIN+4 (poweroff) to its PID 1, SIGKILL as a fallback,
#                           then remove its cgroup and work directory
#   e2e_host_snapshot FILE  record what the host looks like: mounts, cgroups, sysctls,
#                           swaps, dpkg database, /run/mount/utab
#   e2e_host_compare A B    print every difference that matters; non-zero if any
#
# Facts this rests on (they shaped ns-init): the cgroup namespace is rooted at the group
# unshare runs in, so it gets a cgroup2 group of its own; cgroup2 is at
# /sys/fs/cgroup/unified on a hybrid host and at /sys/fs/cgroup on a pure-v2 one.

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
E2E_PID1=
E2E_UNSHARE=
E2E_CG=
E2E_WORK=

e2e_cgroup2_mount() {
  local m
  for m in /sys/fs/cgroup /sys/fs/cgroup/unified; do
    if [ "$(stat -f -c %T "$m" 2>/dev/null)" = cgroup2fs ]; then
      echo "$m"
      return 0
    fi
  done
  return 1
}

e2e_in() {
  nsenter -t "$E2E_PID1" -a -- env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
    TERM=dumb SYSTEMD_PAGER= SYSTEMD_COLORS=0 SYSTEMD_LOG_COLOR=0 "$@"
}

e2e_put() {
  e2e_in sh -c 'cat >"$1"' put "$2" <"$1"
}

# Waits until CONDITION (a command) succeeds, polling every 0.1 s for up to SECONDS.
e2e_wait_for() {
  local seconds=$1
  shift
  local deadline=$((SECONDS + seconds))
  until "$@"; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.1
  done
}

e2e_boot() {
  local cgroot
  cgroot=$(e2e_cgroup2_mount) || { echo "nsboot: no cgroup2 hierarchy mounted" >&2; return 1; }
  E2E_WORK=$(mktemp -d /tmp/mlock-e2e.XXXXXX)
  mkdir "$E2E_WORK/root" "$E2E_WORK/layers"
  : >"$E2E_WORK/console.log"
  E2E_CG=$cgroot/$(basename "$E2E_WORK")
  mkdir "$E2E_CG"
  # util-linux's mount would otherwise record some mounts in the host's /run/mount/utab.
  (
    echo "$BASHPID" >"$E2E_CG/cgroup.procs"
    export LIBMOUNT_UTAB=$E2E_WORK/utab
    exec unshare --pid --fork --kill-child --mount --propagation private --uts --ipc \
      --cgroup --net "$E2E_DIR/ns-init" "$E2E_WORK"
  ) >"$E2E_WORK/boot.log" 2>&1 </dev/null &
  E2E_UNSHARE=$!
  local pid=
  e2e_wait_for 10 _e2e_pid1_is_systemd || {
    echo "nsboot: systemd did not start; boot.log:" >&2
    cat "$E2E_WORK/boot.log" >&2
    return 1
  }
  # is-system-running --wait returns once the start-up transaction is done.
  local state
  state=$(e2e_in timeout 60 systemctl is-system-running --wait 2>&1) || true
  case $state in
    running | degraded) return 0 ;;
    *)
      echo "nsboot: system state \"$state\"" >&2
      return 1
      ;;
  esac
}

_e2e_pid1_is_systemd() {
  local pid
  pid=$(cat "/proc/$E2E_UNSHARE/task/$E2E_UNSHARE/children" 2>/dev/null) || return 1
  pid=${pid%% *}
  [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = systemd ] || return 1
  E2E_PID1=$pid
  # systemd creates its private socket once the manager is set up.
  [ -S "/proc/$pid/root/run/systemd/private" ]
}

_e2e_unshare_gone() { ! kill -0 "$E2E_UNSHARE" 2>/dev/null; }

e2e_shutdown() {
  local clean=0
  if [ -n "$E2E_UNSHARE" ] && kill -0 "$E2E_UNSHARE" 2>/dev/null; then
    [ -n "$E2E_PID1" ] && kill -s RTMIN+4 "$E2E_PID1" 2>/dev/null
    if ! e2e_wait_for 30 _e2e_unshare_gone; then
      echo "nsboot: poweroff did not finish in 30 s; SIGKILL" >&2
      clean=1
      kill -KILL "$E2E_PID1" "$E2E_UNSHARE" 2>/dev/null
      e2e_wait_for 10 _e2e_unshare_gone
    fi
    wait "$E2E_UNSHARE" 2>/dev/null
  fi
  if [ -n "$E2E_CG" ] && [ -d "$E2E_CG" ]; then
    # systemd leaves its (now empty) groups behind; the deepest go first.
    find "$E2E_CG" -depth -type d -exec rmdir {} + 2>/dev/null
    if [ -d "$E2E_CG" ]; then
      echo "nsboot: cannot remove $E2E_CG" >&2
      clean=1
    fi
  fi
  if [ -n "$E2E_WORK" ] && [ -d "$E2E_WORK" ]; then
    rm -rf "$E2E_WORK"
  fi
  E2E_PID1='' E2E_UNSHARE='' E2E_CG='' E2E_WORK=''
  return $clean
}

# Keys that change on their own (counters, entropy, random uuids).
_e2e_volatile_sysctl='^(fs\.(dentry-state|file-nr|inode-nr|inode-state|aio-nr|quota\.)|kernel\.(random\.|ns_last_pid|pty\.nr|sched_domain|perf_event_max_sample_rate)|net\.netfilter\.nf_conntrack_count)'

e2e_host_snapshot() {
  local out=$1 cgroot
  cgroot=$(e2e_cgroup2_mount)
  {
    echo "## mounts"
    findmnt -rn -o TARGET,SOURCE,FSTYPE,OPTIONS | sort
    echo "## cgroups"
    find "$cgroot" -maxdepth 3 -type d | sort
    echo "## sysctls"
    sysctl -a 2>/dev/null | grep -Ev "$_e2e_volatile_sysctl" | sort
    echo "## swaps"
    cat /proc/swaps
    echo "## dpkg"
    md5sum /var/lib/dpkg/status
    echo "## files"
    ls -d /run/mount/utab /etc/mlock-supervisor /lib/systemd/system/mlock-supervisor.service \
      /usr/sbin/mlock-supervisor /run/mlock-supervisor 2>/dev/null
  } >"$out"
}

e2e_host_compare() {
  diff -u "$1" "$2" | grep -E '^[-+][^-+]' && return 1
  return 0
}
