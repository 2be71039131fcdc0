#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# Checks the Flatpak manifest offline: flatpak-builder must read it (and
# the modules it includes from flatpak/) without a single warning, and the
# sandbox must stay as narrow as the app needs.
# Usage: validate-manifest.sh MANIFEST
set -eu

manifest=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# --show-manifest accepts no --state-dir: it would leave a .flatpak-builder
# directory in the working directory, so it runs in a scratch one.
status=0
(cd "$tmp" && flatpak-builder --show-manifest "$manifest") \
  >"$tmp/manifest.out" 2>"$tmp/manifest.err" || status=$?
if [ "$status" -ne 0 ] || [ -s "$tmp/manifest.err" ]; then
  echo "flatpak-builder --show-manifest failed (exit $status) or warned:" >&2
  cat "$tmp/manifest.err" >&2
  exit 1
fi

# The checks below read the expanded manifest (with included modules).
python3 - "$tmp/manifest.out" <<'PY'
import json
import sys

m = json.load(open(sys.argv[1]))
errors = []

def need(cond, msg):
    if not cond:
        errors.append(msg)

need(m.get("id") == "org.contextforge.Gateway", "id is not org.contextforge.Gateway")
need(m.get("runtime") == "org.gnome.Platform", "runtime is not org.gnome.Platform")
need(m.get("sdk") == "org.gnome.Sdk", "sdk is not org.gnome.Sdk")
need(str(m.get("runtime-version", "")).isdigit(), "runtime-version is not a GNOME release number")
need(m.get("command") == "contextforge-gateway-admin", "command is not contextforge-gateway-admin")

# What the app needs and nothing broader: a new permission must be added
# here too, with the reason next to it.
allowed = {
    "--share=network",          # the gateway serves HTTP and reaches upstreams
    "--share=ipc",              # X11 shared memory (fallback-x11)
    "--socket=wayland",
    "--socket=fallback-x11",
    "--device=dri",             # GL rendering of GTK 4
    "--system-talk-name=org.freedesktop.Avahi",  # mDNS announcements
}
args = m.get("finish-args", [])
need(len(args) == len(set(args)), "finish-args has duplicates")
for a in args:
    need(a in allowed, f"finish-arg {a} is not in the allowed list")
for a in ("--share=network", "--socket=wayland", "--socket=fallback-x11"):
    need(a in args, f"finish-arg {a} is missing")

modules = m.get("modules", [])
names = [mod.get("name") for mod in modules if isinstance(mod, dict)]
need(len(names) == len(modules), "a module was not expanded to an object")
need("libargon2" in names, "no libargon2 module")
need(names and names[-1] == "contextforge-gateway", "the project is not the last module")
# The app is the command: a missing GTK must fail the build, not drop it.
project = modules[-1] if modules and isinstance(modules[-1], dict) else {}
need("-Dgui=enabled" in project.get("config-opts", []), "the project is not built with -Dgui=enabled")

for mod in modules:
    for src in mod.get("sources", []):
        kind = src.get("type")
        if kind in ("archive", "file"):
            url = src.get("url", "")
            need(url.startswith("https://"), f"{mod.get('name')}: {url} is not https")
            sha = src.get("sha256", "")
            need(len(sha) == 64 and all(c in "0123456789abcdef" for c in sha),
                 f"{mod.get('name')}: no valid sha256 for {url}")
        elif kind == "dir":
            need(src.get("path") == ".", f"{mod.get('name')}: dir source is not the project")
        else:
            errors.append(f"{mod.get('name')}: unexpected source type {kind}")

for e in errors:
    print("manifest:", e, file=sys.stderr)
sys.exit(1 if errors else 0)
PY
echo "manifest ok: $manifest"
