#!/bin/sh
# Run one load test split over N hosts with ssh: the k-th host (counting from 0) runs shard k/N
# (0-based, like a Kubernetes Indexed Job's JOB_COMPLETION_INDEX), all start measuring
# at the same instant (--start-at, clocks synchronised by NTP), then the results are copied
# back and merged here.
#
#   deploy/ssh_shards.sh [-c load_test.toml] [-w SECONDS] host1 host2 ...
#
# Each host needs this repository at $REMOTE_DIR (default: ~/monkey-d-tcp) and deno 2.9.6 on
# PATH (npm install -g deno@2.9.6). The scenario file is copied to every host first.
set -eu

config=load_test.toml
wait_secs=30
while getopts c:w: opt; do
  case $opt in
    c) config=$OPTARG ;;
    w) wait_secs=$OPTARG ;;
    *) echo "usage: $0 [-c load_test.toml] [-w SECONDS] host..." >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || { echo "usage: $0 [-c load_test.toml] [-w SECONDS] host..." >&2; exit 2; }

remote_dir=${REMOTE_DIR:-monkey-d-tcp}
count=$#
start_at=$(date -u -d "+${wait_secs} seconds" +%Y-%m-%dT%H:%M:%SZ)
out=$(mktemp -d)
echo "$count shards of $config, measuring from $start_at; results in $out" >&2

index=0
pids=""
for host in "$@"; do
  scp -q "$config" "$host:$remote_dir/shard_scenario.toml"
  ssh "$host" "cd $remote_dir && deno task load-test --config shard_scenario.toml \
    --shard $index/$count --start-at $start_at --progress=false \
    --format json --out /tmp/monkey-shard-$index.json" &
  pids="$pids $!"
  index=$((index + 1))
done

failed=0
for pid in $pids; do wait "$pid" || failed=1; done

index=0
files=""
for host in "$@"; do
  scp -q "$host:/tmp/monkey-shard-$index.json" "$out/shard-$index.json" || failed=1
  files="$files $out/shard-$index.json"
  index=$((index + 1))
done

# shellcheck disable=SC2086 # $files is a list of paths without spaces (mktemp -d)
deno task load-test merge $files --config /dev/null
# shellcheck disable=SC2086
deno task load-test merge $files --config /dev/null --format json --out "$out/merged.json"
echo "merged JSON: $out/merged.json" >&2
exit $failed
