#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Builds the Flatpak manifest offline (flathub is not reachable) against a
# stand-in org.gnome.Platform/org.gnome.Sdk made from Debian packages, runs
# the app under Xvfb and checks that its window shows, and checks the
# daemon inside the sandbox: directly, and started by D-Bus activation
# through the service file Flatpak exports.
#
# Usage: build-test.sh [WORKDIR]
#   WORKDIR  where the app build, logs and the screenshot go
#            (default: ./flatpak-test; meson passes its build dir)
# Environment:
#   CF_FLATPAK_CACHE   where the stand-in runtime, its .deb files and the
#                      private Flatpak installation are kept between runs
#                      (default /var/cache/contextforge-flatpak-test); a run
#                      reuses the runtime when its package lists match
#   CF_DEBIAN_MIRROR   Debian mirror (default http://deb.debian.org/debian:
#                      apt checks the signatures; plain http also works
#                      behind a TLS-intercepting proxy the chroot does
#                      not trust)
#
# Needs root (debootstrap, chroot) and the packages tests/setup-debian
# installs in test mode. Everything Flatpak writes goes to private
# directories: the machine's own Flatpak installations are not touched.
set -euo pipefail

srcdir=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mkdir -p "${1:-flatpak-test}" && cd "${1:-flatpak-test}" && pwd)
cache=${CF_FLATPAK_CACHE:-/var/cache/contextforge-flatpak-test}
mirror=${CF_DEBIAN_MIRROR:-http://deb.debian.org/debian}
app_id=org.contextforge.Gateway
manifest=$srcdir/$app_id.json
window_title="ContextForge Gateway"
# Bounds of the waits below, in seconds.
window_wait=90
dbus_wait=60

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*"; }
die() { log "FAIL: $*" >&2; exit 1; }

phase_start=$SECONDS
timings=()
phase_done() {
  timings+=("$1: $((SECONDS - phase_start)) s")
  log "phase $1 took $((SECONDS - phase_start)) s"
  phase_start=$SECONDS
}

[ "$(id -u)" -eq 0 ] || { echo "build-test.sh: needs root (debootstrap, chroot)"; exit 77; }
for tool in flatpak flatpak-builder ostree eu-strip debootstrap flock xvfb-run dbus-run-session xdotool import python3 gdbus; do
  command -v "$tool" >/dev/null || die "$tool is not installed (sh tests/setup-debian test)"
done

branch=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["runtime-version"])' "$manifest")
arch=$(flatpak --default-arch)

# What the GNOME Platform ships that the app uses, as Debian packages; the
# Sdk adds the headers and tools. Not libargon2: the runtime lacks it, so
# the manifest's own module must build it. dbus-x11 is there for dconf's
# "a session bus" dependency, which apt would otherwise meet with
# dbus-user-session and so systemd (and through cryptsetup, libargon2).
platform_packages=(
  libglib2.0-0 glib-networking gsettings-desktop-schemas
  libgtk-4-1 libadwaita-1-0 libsecret-1-0
  libsoup-3.0-0 libjson-glib-1.0-0 libsqlite3-0 libgnutls30
  libavahi-client3 libavahi-glib1 ca-certificates librsvg2-common
  shared-mime-info hicolor-icon-theme adwaita-icon-theme
  fonts-cantarell fonts-dejavu-core fontconfig
  dbus-x11
)
sdk_packages=(
  gcc libc6-dev make pkg-config meson ninja-build gettext
  libglib2.0-dev libglib2.0-bin libgtk-4-dev libgtk-4-bin libadwaita-1-dev
  libsecret-1-dev libsoup-3.0-dev libjson-glib-dev libsqlite3-dev libgnutls28-dev
  libavahi-client-dev libavahi-glib-dev
  desktop-file-utils appstream appstream-util
)

# Private Flatpak state: the installation the runtime and app go to, and
# the home and runtime directories of the sandboxed runs.
export FLATPAK_USER_DIR=$cache/installation
export HOME=$work/home
export XDG_RUNTIME_DIR=$work/run
export XDG_DATA_HOME=$HOME/.local/share
export XDG_CONFIG_HOME=$HOME/.config
export XDG_CACHE_HOME=$HOME/.cache
export LANG=C.UTF-8
# Meson's test environment is not the app's: keep GLib and malloc
# debugging switches out of the sandbox.
unset G_DEBUG G_SLICE MALLOC_CHECK_ MALLOC_PERTURB_ GSETTINGS_BACKEND \
  GIO_USE_PROXY_RESOLVER G_TEST_SRCDIR G_TEST_BUILDDIR DBUS_SESSION_BUS_ADDRESS \
  DISPLAY WAYLAND_DISPLAY ASAN_OPTIONS LSAN_OPTIONS UBSAN_OPTIONS
mkdir -p "$cache"
# One run at a time per cache (two build directories may share it).
exec 9>"$cache/lock"
flock -w 1800 9 || die "$cache is locked by another run"
rm -rf "$HOME" "$XDG_RUNTIME_DIR"
mkdir -p "$HOME"
mkdir -m 0700 "$XDG_RUNTIME_DIR"

log "source $srcdir, work $work, cache $cache, runtime $branch/$arch"

# ---------------------------------------------------------------------------
# 1. The stand-in runtime, rebuilt only when its recipe changes.
# ---------------------------------------------------------------------------
recipe="bookworm $mirror $branch $arch
platform: ${platform_packages[*]}
sdk: ${sdk_packages[*]}
$(sed -n '/^make_runtime()/,/^}/p' "$0")"
recipe_hash=$(printf '%s' "$recipe" | sha256sum | cut -d' ' -f1)

root=$cache/root
mounted=()
cleanup_mounts() {
  local i
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
    umount "${mounted[i]}" 2>/dev/null || umount -l "${mounted[i]}" || true
  done
  mounted=()
}

in_root() {
  chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
    DEBIAN_FRONTEND=noninteractive "$@"
}

# Exports the chroot's /usr (and /etc) as a runtime called $1.
export_runtime() {
  local name=$1 stage=$cache/stage-$1
  rm -rf "$stage"
  mkdir -p "$stage/files"
  # Hard links: ostree reads them once; the chroot is not changed after.
  cp -al "$root/usr/." "$stage/files/"
  cp -a "$root/etc" "$stage/files/etc"
  # Flatpak makes these itself in the sandbox.
  rm -f "$stage/files/etc/"{passwd,group,hosts,resolv.conf,machine-id,localtime,timezone,host.conf,hostname}
  cat >"$stage/metadata" <<EOF
[Runtime]
name=$name
runtime=org.gnome.Platform/$arch/$branch
sdk=org.gnome.Sdk/$arch/$branch

[Environment]
PKG_CONFIG_PATH=/app/lib/pkgconfig:/app/share/pkgconfig
XDG_DATA_DIRS=/app/share:/usr/share:/usr/share/runtime/share:/run/host/share
EOF
  flatpak build-export --runtime --files=files --disable-sandbox \
    --subject="Debian bookworm stand-in for $name" \
    "$cache/repo" "$stage" "$branch" >/dev/null
  rm -rf "$stage"
}

make_runtime() {
  rm -rf "$root" "$cache/repo" "$FLATPAK_USER_DIR" "$cache/stamp"
  mkdir -p "$cache/debs"
  # Uncompressed objects: exporting the Sdk to an archive repo spends
  # minutes compressing what is only read back from the same disk.
  ostree --repo="$cache/repo" init --mode=bare-user-only
  trap cleanup_mounts EXIT
  log "debootstrap --variant=minbase bookworm"
  debootstrap --variant=minbase --cache-dir="$cache/debs" bookworm "$root" "$mirror" \
    >"$cache/debootstrap.log" 2>&1 || { tail -n 30 "$cache/debootstrap.log"; die "debootstrap failed"; }
  # Lean: no documentation or translations of the tools; no services; no
  # Mesa drivers (the GNOME runtime has none either: they come from the
  # GL extension, and GTK falls back to drawing with cairo).
  cat >"$root/etc/dpkg/dpkg.cfg.d/01-lean" <<'EOF'
path-exclude /usr/share/doc/*
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/gtk-doc/*
path-exclude /usr/share/help/*
path-exclude /usr/lib/*/dri/*
path-exclude /usr/lib/*/libLLVM-*
path-exclude /usr/lib/*/libz3.so*
EOF
  printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
  chmod +x "$root/usr/sbin/policy-rc.d"
  printf 'APT::Install-Recommends "false";\nAcquire::Retries "3";\n' \
    >"$root/etc/apt/apt.conf.d/01-lean"
  echo "deb $mirror bookworm main" >"$root/etc/apt/sources.list"
  echo "deb $mirror bookworm-updates main" >>"$root/etc/apt/sources.list"
  mount --bind "$cache/debs" "$root/var/cache/apt/archives"
  mounted+=("$root/var/cache/apt/archives")
  mount -t proc proc "$root/proc"
  mounted+=("$root/proc")
  in_root apt-get update -qq
  log "installing the Platform packages"
  in_root apt-get install -y -qq "${platform_packages[@]}" >"$cache/apt-platform.log" 2>&1 ||
    { tail -n 30 "$cache/apt-platform.log"; die "installing the Platform packages failed"; }
  ! in_root dpkg-query -W 'libargon2*' >/dev/null 2>&1 || die "the Platform pulled in libargon2"
  in_root fc-cache -s >/dev/null 2>&1 || true
  in_root glib-compile-schemas /usr/share/glib-2.0/schemas 2>/dev/null || true
  log "exporting org.gnome.Platform"
  export_runtime org.gnome.Platform
  log "installing the Sdk packages"
  in_root apt-get install -y -qq "${sdk_packages[@]}" >"$cache/apt-sdk.log" 2>&1 ||
    { tail -n 30 "$cache/apt-sdk.log"; die "installing the Sdk packages failed"; }
  ! in_root dpkg-query -W 'libargon2*' >/dev/null 2>&1 || die "the Sdk pulled in libargon2"
  cleanup_mounts
  trap - EXIT
  log "exporting org.gnome.Sdk"
  export_runtime org.gnome.Sdk
  log "installing both into the private installation"
  flatpak build-update-repo "$cache/repo" >/dev/null
  flatpak --user remote-add --no-gpg-verify --if-not-exists standin "file://$cache/repo"
  flatpak --user install -y --noninteractive standin \
    "org.gnome.Platform/$arch/$branch" "org.gnome.Sdk/$arch/$branch" >/dev/null
  # The chroot is only needed to make the runtime.
  rm -rf "$root"
  echo "$recipe_hash" >"$cache/stamp"
}

if [ "$(cat "$cache/stamp" 2>/dev/null)" = "$recipe_hash" ] &&
   flatpak --user info "org.gnome.Sdk/$arch/$branch" >/dev/null 2>&1 &&
   flatpak --user info "org.gnome.Platform/$arch/$branch" >/dev/null 2>&1; then
  log "stand-in runtime: reusing $cache (recipe $recipe_hash)"
else
  log "stand-in runtime: making it (recipe $recipe_hash)"
  make_runtime
fi
phase_done runtime

# ---------------------------------------------------------------------------
# 2. Build the manifest, as flathub would, and install the app.
# ---------------------------------------------------------------------------
# The source tree as git sees it (tracked files and new ones that are not
# ignored), so that no build directory is copied into the sandbox.
stage=$work/source
rm -rf "$stage"
mkdir -p "$stage"
(cd "$srcdir" && git ls-files -z --cached --others --exclude-standard |
  while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
  tar --null --no-recursion -T - -cf - | tar -xf - -C "$stage")
[ -f "$stage/$app_id.json" ] || die "the staged source has no manifest"

flatpak --user uninstall -y --noninteractive "$app_id" >/dev/null 2>&1 || true
builder_log=$work/flatpak-builder.log
(cd "$stage" && flatpak-builder --user --install --force-clean --disable-rofiles-fuse \
   --state-dir="$cache/builder-state" --repo="$work/repo" \
   "$work/app" "$app_id.json") >"$builder_log" 2>&1 ||
  { tail -n 40 "$builder_log"; die "flatpak-builder failed (log: $builder_log)"; }
grep -q "Running: make .*libs" "$builder_log" || grep -q "libargon2" "$builder_log" ||
  die "the libargon2 module was not built"
flatpak --user info "$app_id" >/dev/null || die "the app is not installed"
phase_done build

# ---------------------------------------------------------------------------
# 3. Run it: the daemon, then the app's window.
# ---------------------------------------------------------------------------
files=$(flatpak --user info --show-location "$app_id")/files
[ -f "$files/lib/libargon2.so.1" ] || die "the app has no libargon2.so.1"
ldd_out=$(flatpak run --command=ldd "$app_id" /app/bin/contextforge-gateway 2>&1) || true
grep -q 'libargon2.so.1 => /app/lib/libargon2.so.1' <<<"$ldd_out" ||
  die "contextforge-gateway does not load /app/lib/libargon2.so.1: $ldd_out"

version_out=$(flatpak run --command=contextforge-gateway "$app_id" --version 2>&1) ||
  die "contextforge-gateway --version failed in the sandbox: $version_out"
grep -q '0\.[0-9]' <<<"$version_out" || die "unexpected --version output: $version_out"
log "daemon in the sandbox: $version_out"

# D-Bus activation, as the app starts the daemon: the session bus reads the
# service file Flatpak exported, which runs the daemon in the sandbox, where
# it may own its name (the app id). PORT=0 picks a free loopback port.
exports=$FLATPAK_USER_DIR/exports/share
service=$exports/dbus-1/services/$app_id.service
[ -f "$service" ] || die "Flatpak exported no D-Bus service file ($service)"
grep -q '^Exec=.*flatpak run .*--command=[^ ]*contextforge-gateway .*--daemon' "$service" ||
  die "the exported D-Bus service does not run the daemon in the sandbox: $(cat "$service")"
# Flatpak exports no systemd unit: a SystemdService line would send a
# systemd-activated session bus (dbus-broker) after a unit that is not there.
! grep -q '^SystemdService=' "$service" ||
  die "the exported D-Bus service names a systemd unit: $(cat "$service")"
mkdir -p "$HOME/.var/app/$app_id/config/contextforge"
printf 'HOST=127.0.0.1\nPORT=0\n' >"$HOME/.var/app/$app_id/config/contextforge/gateway.env"

export XDG_DATA_DIRS=$exports:/usr/local/share:/usr/share
export CF_TEST_APP_ID=$app_id CF_TEST_WINDOW_TITLE=$window_title CF_TEST_WORK=$work
export CF_TEST_WINDOW_WAIT=$window_wait CF_TEST_DBUS_WAIT=$dbus_wait
# The manifest builds with -Dgui=enabled: no admin app is a failure.
[ -x "$files/bin/contextforge-gateway-admin" ] || die "the app has no contextforge-gateway-admin"
rm -f "$work/screenshot.png"
xvfb-run -a -s "-screen 0 1280x800x24" \
  dbus-run-session -- bash "$srcdir/tests/flatpak/run-in-session.sh" ||
  die "the sandboxed run failed (logs in $work)"
phase_done run

log "timings: ${timings[*]}"
log "PASS: built, daemon activated over D-Bus in the sandbox, window shown ($work/screenshot.png)"
