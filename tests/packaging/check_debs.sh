#!/bin/sh
# The Debian packages: built by packaging/build-deb (or taken from MLOCK_DEBS_DIR when
# set, e.g. the e2e test's build/e2e/debs), clean under lintian --pedantic, and holding
# what the README says where it says: the shim under the SONAME directory, the units in
# systemd's unit directory, the monitoring files, the man pages, an absolute .pc file.
# Usage: check_debs.sh SOURCE_DIR
set -eu
src=$1
if ! { command -v dpkg-buildpackage && command -v lintian; } >/dev/null 2>&1; then
  echo "SKIP: needs dpkg-dev and lintian (scripts/install-deps)"; exit 77
fi
fail() { echo "FAIL: $*"; exit 1; }
work=$(mktemp -d /tmp/mlock-debs-test.XXXXXX)
trap 'rm -rf "$work"' EXIT
debs=${MLOCK_DEBS_DIR:-}
if [ -z "$debs" ]; then
  debs=$work/debs
  "$src/packaging/build-deb" "$debs" >/dev/null || fail "packaging/build-deb failed"
fi
triplet=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
unit_dir=$(pkg-config --variable=systemdsystemunitdir systemd)

echo "== lintian --pedantic"
lintian --pedantic --fail-on none "$debs"/mlock-supervisor_*.changes >"$work/lintian" 2>&1 || true
cat "$work/lintian"
if grep -E '^(E|W|P): ' "$work/lintian"; then fail "lintian has errors, warnings or pedantic tags (above)"; fi

contents() { dpkg-deb -c "$debs/$1"_*.deb | awk '{print $6}' | sed 's|^\./|/|'; }
has() { grep -qx "$2" "$work/$1.list" || fail "$1 lacks $2"; }
for p in mlock-supervisor libduende-mlock1 libduende-mlock-dev; do contents "$p" >"$work/$p.list"; done

echo "== contents"
has libduende-mlock1 "/usr/lib/$triplet/duende-mlock1/libduende-mlock-preload.so"
if grep -q "^/usr/lib/$triplet/libduende-mlock-preload.so$" "$work/libduende-mlock1.list"; then
  fail "the shim is still unversioned in /usr/lib/$triplet/"
fi
has libduende-mlock1 "/usr/share/man/man7/libduende-mlock-preload.7.gz"
has libduende-mlock-dev "/usr/share/man/man3/libduende-mlock.3.gz"
for f in mlock-supervisor.service mlock-supervisor-metrics.service mlock-supervisor-metrics.timer; do
  has mlock-supervisor "$unit_dir/$f"
done
has mlock-supervisor /usr/libexec/mlock-supervisor/mlock-supervisor-metrics-textfile
has mlock-supervisor /usr/share/mlock-supervisor/mlock-supervisor.rules.yml
has mlock-supervisor /usr/share/bash-completion/completions/mlockctl
has mlock-supervisor /usr/share/polkit-1/actions/org.duende.MlockSupervisor1.policy
has mlock-supervisor /usr/share/dbus-1/system.d/org.duende.MlockSupervisor1.conf
for m in man1/mlockctl.1.gz man5/mlock-supervisor.json.5.gz man8/mlock-supervisor.8.gz; do
  has mlock-supervisor "/usr/share/man/$m"
done

echo "== maintainer scripts enable and start nothing"
dpkg-deb -e "$debs"/mlock-supervisor_*.deb "$work/ctrl"
# dh_installsystemd --no-enable re-enables a unit on upgrade only where the admin had it
# enabled: each enable sits under `deb-systemd-helper debian-installed UNIT` (without
# --no-enable, "was-enabled" defaults to true and a fresh install enables the unit).
for unit in mlock-supervisor.service mlock-supervisor-metrics.timer; do
  grep -q "deb-systemd-helper debian-installed '$unit'" "$work/ctrl/postinst" ||
    fail "the postinst enables $unit on a fresh install: $(grep -n "$unit" "$work/ctrl/postinst")"
done
if grep -n "mlock-supervisor-metrics.service" "$work/ctrl/postinst"; then
  fail "the postinst handles mlock-supervisor-metrics.service (a static unit, started by its timer only)"
fi
if grep -nE "deb-systemd-invoke (start|restart)|systemctl (start|restart|enable)" "$work/ctrl/postinst"; then
  fail "the postinst starts or enables a unit (above)"
fi
grep -q "Suggests: .*prometheus-node-exporter" "$work/ctrl/control" || fail "no Suggests: prometheus-node-exporter"

echo "== the daemon's default shim path and the .pc file, from the packages"
mkdir "$work/root"
for d in "$debs"/*.deb; do dpkg-deb -x "$d" "$work/root"; done
LD_LIBRARY_PATH=$work/root/usr/lib/$triplet "$work/root/usr/sbin/mlock-supervisor" --help >"$work/help"
grep -qF "(default /usr/lib/$triplet/duende-mlock1/libduende-mlock-preload.so" "$work/help" ||
  fail "mlock-supervisor --help does not name the packaged shim: $(grep -A1 -- --preload "$work/help")"
pc=$work/root/usr/lib/$triplet/pkgconfig/duende-mlock.pc
grep -qx 'prefix=/usr' "$pc" || fail "the .pc file's prefix is not /usr: $(cat "$pc")"
cflags=$(PKG_CONFIG_PATH=$(dirname "$pc") pkg-config --cflags duende-mlock | sed 's/ *$//')
[ -z "$cflags" ] || fail "pkg-config --cflags of the packaged .pc: \"$cflags\", expected nothing (/usr/include)"
libs=$(PKG_CONFIG_PATH=$(dirname "$pc") pkg-config --libs duende-mlock | sed 's/ *$//')
[ "$libs" = "-lduende-mlock" ] || fail "pkg-config --libs of the packaged .pc: \"$libs\""
echo "packages check: passed"
