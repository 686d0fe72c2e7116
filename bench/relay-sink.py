#!/usr/bin/python3
"""A minimal, fast SMTP sink for relay benchmarks.

Usage: bench/relay-sink.py PORT COUNTFILE

Accepts every message on 127.0.0.1:PORT (ESMTP with PIPELINING, 8BITMIME,
SIZE), throws the content away and keeps the number of messages received
so far in COUNTFILE (rewritten at most every 50 ms), so that a benchmark
can wait for "all N arrived" without slowing the sink down.
"""
import asyncio
import os
import sys
import time

port = int(sys.argv[1])
countfile = sys.argv[2]
count = 0
last_write = 0.0


def save(force=False):
    global last_write
    now = time.monotonic()
    if force or now - last_write > 0.05:
        tmp = countfile + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{count}\n")
        os.replace(tmp, countfile)
        last_write = now


async def session(reader, writer):
    global count
    writer.write(b"220 sink ESMTP\r\n")
    try:
        while True:
            line = await reader.readline()
            if not line:
                break
            verb = line[:4].upper()
            if verb in (b"EHLO", b"LHLO"):
                writer.write(b"250-sink\r\n250-PIPELINING\r\n250-8BITMIME\r\n"
                             b"250 SIZE 100000000\r\n")
            elif verb == b"HELO":
                writer.write(b"250 sink\r\n")
            elif verb == b"DATA":
                writer.write(b"354 go\r\n")
                while True:
                    data = await reader.readline()
                    if not data or data == b".\r\n":
                        break
                count += 1
                writer.write(b"250 2.0.0 Ok\r\n")
                save()
            elif verb == b"QUIT":
                writer.write(b"221 bye\r\n")
                await writer.drain()
                break
            else:
                writer.write(b"250 2.0.0 Ok\r\n")
            if not reader._buffer:  # nothing pipelined left: flush now
                await writer.drain()
    finally:
        save(force=True)
        writer.close()


async def main():
    save(force=True)
    server = await asyncio.start_server(session, "127.0.0.1", port,
                                        backlog=256)
    async with server:
        await server.serve_forever()

asyncio.run(main())
