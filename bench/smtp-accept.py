#!/usr/bin/python3
"""Queue N messages over one SMTP connection and print messages per second.

Usage: bench/smtp-accept.py [HOST:PORT] [N]   (default 127.0.0.1:2525 500)

Run it against the sandbox (tools/sandbox start) and, for comparison,
against a Postfix instance on another loopback port with its queue manager
disabled (master_service_disable = qmgr.fifo) so both only receive. Every
message is 4,338 bytes; both servers fsync each queue file before 250.
"""
import smtplib
import sys
import time

hostport = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:2525"
n = int(sys.argv[2]) if len(sys.argv) > 2 else 500
host, port = hostport.rsplit(":", 1)
msg = "Subject: bench\r\n\r\n" + ("x" * 70 + "\r\n") * 60
start = time.monotonic()
s = smtplib.SMTP(host, int(port), timeout=30)
for _ in range(n):
    s.sendmail("a@b.example", ["root@localhost"], msg)
s.quit()
d = time.monotonic() - start
print(f"{n} messages of {len(msg)} bytes over one connection: "
      f"{d:.2f} s, {n / d:.0f} msg/s")
