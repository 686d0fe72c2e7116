#!/usr/bin/python3
"""Relay throughput: submit N messages and time until all reach the sink.

Usage: bench/smtp-relay.py HOST:PORT COUNTFILE [N] [CLIENTS]
        (defaults: N 2000, CLIENTS 4)

CLIENTS parallel SMTP connections submit N messages of 4,338 bytes (one
recipient each, spread over 10 recipient domains that all route to the
same sink) to the MTA at HOST:PORT; the MTA relays them to
bench/relay-sink.py, which keeps its running count in COUNTFILE. Prints
the submission time and the time until the sink had all N, from the first
submission. Stops by itself after 300 s.
"""
import smtplib
import sys
import threading
import time

hostport, countfile = sys.argv[1], sys.argv[2]
n = int(sys.argv[3]) if len(sys.argv) > 3 else 2000
clients = int(sys.argv[4]) if len(sys.argv) > 4 else 4
host, port = hostport.rsplit(":", 1)
msg = "Subject: bench\r\n\r\n" + ("x" * 70 + "\r\n") * 60


def sink_count():
    try:
        with open(countfile) as f:
            return int(f.read().strip() or 0)
    except (OSError, ValueError):
        return 0


base = sink_count()


def client(k):
    s = smtplib.SMTP(host, int(port), timeout=60)
    for i in range(k, n, clients):
        s.sendmail("bench@sender.example", [f"u{i}@d{i % 10}.example"], msg)
    s.quit()


start = time.monotonic()
threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
for t in threads:
    t.start()
for t in threads:
    t.join()
submitted = time.monotonic() - start
while sink_count() - base < n:
    if time.monotonic() - start > 300:
        sys.exit(f"timeout: sink has {sink_count() - base} of {n}")
    time.sleep(0.02)
done = time.monotonic() - start
print(f"{n} messages, {clients} clients: submitted in {submitted:.2f} s, "
      f"all relayed in {done:.2f} s, {n / done:.0f} msg/s end to end")
