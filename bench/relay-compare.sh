#!/bin/sh
# Relay throughput of postern next to Postfix on this machine.
#
# Usage (as root, from the top of a built checkout):
#     bench/relay-compare.sh [N] [CLIENTS]        (defaults 2000 4)
#
# Starts bench/relay-sink.py on 127.0.0.1:2600, then for each MTA an
# instance of its own in a temporary directory (postern from this build on
# 127.0.0.1:2625, Debian's Postfix on 127.0.0.1:2626), both relaying
# everything to the sink (relayhost = [127.0.0.1]:2600, no DNS, no client
# name lookup), and runs bench/smtp-relay.py against each twice.
# Everything it starts is stopped at the end; the directories are removed
# unless KEEP=1 (then the maillogs are left for reading delays=).
set -eu
n=${1:-2000}
clients=${2:-4}
top=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/relay-compare.XXXXXX)
chmod 755 "$work"
sinkpid=

stop_all() {
	[ -n "$sinkpid" ] && kill "$sinkpid" 2>/dev/null || true
	"$top/cmd/postern" -c "$work/postern/etc" stop >/dev/null 2>&1 || true
	postfix -c "$work/postfix/etc" stop >/dev/null 2>&1 || true
	sleep 1
	if [ "${KEEP:-0}" = 1 ]; then echo "kept: $work"; else rm -rf "$work"; fi
}
trap stop_all EXIT INT TERM

common="relayhost = [127.0.0.1]:2600
smtp_dns_support_level = disabled
smtpd_peername_lookup = no
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8"

python3 "$top/bench/relay-sink.py" 2600 "$work/count" &
sinkpid=$!

# postern: every built daemon in one daemon directory.
p=$work/postern
mkdir -p "$p/etc" "$p/libexec"
for d in master smtpd cleanup qmgr smtp bounce showq error discard; do
	ln -s "$top/$d/$d" "$p/libexec/$d"
done
cat > "$p/etc/main.cf" <<EOT
queue_directory = $p/queue
daemon_directory = $p/libexec
mail_owner = postern
setgid_group = postdrop
maillog_file = $p/maillog
$common
EOT
cat > "$p/etc/master.cf" <<EOT
127.0.0.1:2625 inet n - n - - smtpd
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
smtp      unix  - - n - - smtp
relay     unix  - - n - - smtp
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
error     unix  - - n - - error
discard   unix  - - n - - discard
showq     unix  n - n - - showq
EOT
"$top/cmd/postern" -c "$p/etc" start

# Postfix: Debian's master.cf with smtpd moved to 127.0.0.1:2626.
f=$work/postfix
mkdir -p "$f/etc" "$f/queue" "$f/data"
sed 's/^smtp      inet/127.0.0.1:2626 inet/' /etc/postfix/master.cf \
    > "$f/etc/master.cf"
cat > "$f/etc/main.cf" <<EOT
compatibility_level = 3.6
queue_directory = $f/queue
data_directory = $f/data
mail_owner = postfix
setgid_group = postdrop
maillog_file = $f/maillog
maillog_file_prefixes = /tmp
alias_maps =
alias_database =
myhostname = bench.localdomain
$common
EOT
chown postfix "$f/data"
postfix -c "$f/etc" check
postfix -c "$f/etc" start
sleep 2

for run in 1 2; do
	printf 'postern run %s: ' "$run"
	python3 "$top/bench/smtp-relay.py" 127.0.0.1:2625 "$work/count" "$n" "$clients"
	printf 'Postfix run %s: ' "$run"
	python3 "$top/bench/smtp-relay.py" 127.0.0.1:2626 "$work/count" "$n" "$clients"
done
