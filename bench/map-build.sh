#!/bin/sh
# Build and query a 100,000-entry lookup table with postern-map and, when
# Debian's postfix is installed, with postmap, for each table type both
# support. Uses hyperfine (Debian package hyperfine). Run from the checkout
# after tools/build. Prints hyperfine's tables; doc/performance.md has the
# figures from the last run.
set -eu
cd "$(dirname "$0")/.."
n=${N:-100000}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
awk -v n="$n" 'BEGIN { for (i = 0; i < n; i++) printf "user%d@example%d.com OK %d\n", i, i % 997, i }' > "$dir/src"
awk 'NR % 10 == 1 { print $1 }' "$dir/src" > "$dir/keys"
mkdir -p "$dir/pe" "$dir/pf"
cp "$dir/src" "$dir/pe/access"; cp "$dir/src" "$dir/pf/access"
: > "$dir/pe/main.cf"
pm=$(pwd)/cmd/postern-map
for type in hash btree lmdb cdb; do
	cmds="'MAIL_CONFIG=$dir/pe $pm $type:$dir/pe/access'"
	if command -v postmap >/dev/null && postconf -m | grep -qx "$type"; then
		hyperfine -N --warmup 1 --runs 5 -n "postern-map $type build" "env MAIL_CONFIG=$dir/pe $pm $type:$dir/pe/access" \
			-n "postmap $type build" "postmap $type:$dir/pf/access"
		hyperfine --warmup 1 --runs 5 -n "postern-map $type query 10k" "env MAIL_CONFIG=$dir/pe $pm -q - $type:$dir/pe/access < $dir/keys > /dev/null" \
			-n "postmap $type query 10k" "postmap -q - $type:$dir/pf/access < $dir/keys > /dev/null"
	else
		hyperfine -N --warmup 1 --runs 5 -n "postern-map $type build" "env MAIL_CONFIG=$dir/pe $pm $type:$dir/pe/access"
		hyperfine --warmup 1 --runs 5 -n "postern-map $type query 10k" "env MAIL_CONFIG=$dir/pe $pm -q - $type:$dir/pe/access < $dir/keys > /dev/null"
	fi
done
