#!/bin/sh
# Build an OCI bundle from Debian's busybox-static: DIR/rootfs and a default
# DIR/config.json (pyrunc spec, without a terminal), running ARGS (default:
# sh -c 'echo hello from pyrunc; uname -n').  No image is pulled.
#   scripts/make-bundle.sh DIR [ARGS...]
set -eu
dir=${1:?usage: make-bundle.sh DIR [ARGS...]}
shift
busybox=$(command -v busybox) || { echo "busybox not found: apt-get install busybox-static" >&2; exit 1; }
mkdir -p "$dir/rootfs/bin" "$dir/rootfs/proc" "$dir/rootfs/sys" "$dir/rootfs/dev" \
         "$dir/rootfs/etc" "$dir/rootfs/tmp" "$dir/rootfs/root"
cp "$busybox" "$dir/rootfs/bin/busybox"
for applet in $("$busybox" --list); do
    [ -e "$dir/rootfs/bin/$applet" ] || ln -s busybox "$dir/rootfs/bin/$applet"
done
echo "root:x:0:0:root:/root:/bin/sh" > "$dir/rootfs/etc/passwd"
echo "root:x:0:" > "$dir/rootfs/etc/group"
rm -f "$dir/config.json"
pyrunc spec --bundle "$dir"
python3 - "$dir/config.json" "$@" <<'PY'
import json, sys
path, args = sys.argv[1], sys.argv[2:] or ["sh", "-c", "echo hello from pyrunc; uname -n"]
with open(path) as f:
    spec = json.load(f)
spec["process"]["terminal"] = False
spec["process"]["args"] = args
with open(path, "w") as f:
    json.dump(spec, f, indent="\t")
PY
echo "bundle ready: $dir"
