#!/bin/sh
# Peak memory of the built bin with one huge collect dir (issue: a million files in one dir).
#
#   sh bench/listing-memory.sh [FILES]    (default 1000000; run as root, after `npm run build`)
#
# Makes FILES small files in a fresh directory under /tmp once (a few minutes for a million),
# then runs, each under /usr/bin/time -v: `stage-peer --max-files 1000` (refused), `stage
# --dry-run`, and a full `stage-peer`; prints the peak RSS and the wall time of each, and removes
# everything it made. Figures, not assertions.
set -eu
FILES=${1:-1000000}
REPO=$(cd "$(dirname "$0")/.." && pwd)
BIN="$REPO/dist/cli/main.js"
DIR=$(mktemp -d /tmp/cedar-listing-memory-XXXXXX)
trap 'rm -rf "$DIR"' EXIT
mkdir "$DIR/collect" "$DIR/stage" "$DIR/work" "$DIR/target"
python3 - "$DIR/collect" "$FILES" <<'PY'
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)
for i in range(int(sys.argv[2])):
    f = os.open(f"file-{i:07d}.dat", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644, dir_fd=fd)
    os.write(f, b"x\n")
    os.close(f)
open(os.path.join(sys.argv[1], "cback.collect"), "w").close()
PY
cat > "$DIR/pool.conf" <<XML
<?xml version="1.0"?>
<cb_config>
  <options><starting_day>monday</starting_day><working_dir>$DIR/work</working_dir>
    <backup_user>root</backup_user><backup_group>root</backup_group></options>
  <stage><staging_dir>$DIR/stage</staging_dir>
    <peer><name>big</name><type>local</type><collect_dir>$DIR/collect</collect_dir></peer></stage>
</cb_config>
XML
measure() {
  label=$1
  shift
  /usr/bin/time -v "$@" > "$DIR/out" 2> "$DIR/err" || true
  rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$DIR/err")
  wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$DIR/err")
  printf '%-28s peak %4d MB  wall %s\n' "$label" $((rss / 1024)) "$wall"
}
echo "$FILES files, $(node --version), cedar-peer $(node "$BIN" --version)"
measure "stage-peer --max-files 1000" node "$BIN" stage-peer -c "$DIR/pool.conf" --peer big --target "$DIR/target" --max-files 1000
measure "stage --dry-run" node "$BIN" stage -c "$DIR/pool.conf" --dry-run
measure "stage-peer" node "$BIN" stage-peer -c "$DIR/pool.conf" --peer big --target "$DIR/target"
