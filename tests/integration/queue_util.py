"""Helpers shared by the bounce and queue listing tests: an instance with
smtpd + cleanup (+ bounce, showq), a reader of queue files (the record
framing of doc/queue.md), and a client of the NUL-framed attribute lists
postern's internal protocols use (util/attr.h)."""

import os
import smtplib
import socket

import pytest

from conftest import TOP, wait_for

SMTPD = os.path.join(TOP, "smtpd", "smtpd")
CLEANUP = os.path.join(TOP, "cleanup", "cleanup")
BOUNCE = os.path.join(TOP, "bounce", "bounce")
SHOWQ = os.path.join(TOP, "showq", "showq")
POSTQUEUE = os.path.join(TOP, "cmd", "postern-queue")
HOST = "mx.test.example"


def start_instance(inst, extra_main="", daemons=(SMTPD, CLEANUP, BOUNCE)):
    for prog in daemons:
        if not os.access(prog, os.X_OK):
            pytest.fail(f"{prog} is not built")
        link = os.path.join(inst.libexec, os.path.basename(prog))
        if not os.path.exists(link):
            os.symlink(prog, link)
    inst.write_main(f"myhostname = {HOST}\n"
                    "mydomain = test.example\n"
                    "smtpd_peername_lookup = no\n"
                    "inet_interfaces = 127.0.0.1\n" + extra_main)
    lines = [f"127.0.0.1:{inst.port} inet n - n - - smtpd",
             "cleanup unix n - n - 0 cleanup"]
    if BOUNCE in daemons:
        lines += ["bounce unix - - n - 0 bounce",
                  "defer unix - - n - 0 bounce",
                  "trace unix - - n - 0 bounce"]
    if SHOWQ in daemons:
        lines += ["showq unix n - n - - showq"]
    inst.write_master("\n".join(lines) + "\n")
    inst.start()
    wait_for(lambda: os.path.exists(os.path.join(inst.queue, "public", "cleanup")),
             what="public/cleanup")
    return inst


def queue_files(inst, queue):
    """IDs in a queue, hashed subdirectories included."""
    top = os.path.join(inst.queue, queue)
    out = []
    for dirpath, _dirs, names in os.walk(top):
        out += names
    return sorted(out)


def queue_path(inst, queue, qid):
    top = os.path.join(inst.queue, queue)
    for dirpath, _dirs, names in os.walk(top):
        if qid in names:
            return os.path.join(dirpath, qid)
    raise FileNotFoundError(f"{queue}/{qid}")


def send_mail(inst, sender="sender@example.com", rcpts=("rcpt@example.org",),
              body="Subject: test message\nFrom: sender@example.com\n\nhello\n",
              mail_options=(), rcpt_options=()):
    """Send through smtpd; return the new queue ID."""
    before = set(queue_files(inst, "incoming")) | set(queue_files(inst, "hold"))
    with smtplib.SMTP("127.0.0.1", inst.port, timeout=30) as s:
        s.ehlo("client.example")
        s.sendmail(sender, list(rcpts), body.encode(), list(mail_options),
                   list(rcpt_options))
    after = set(queue_files(inst, "incoming")) | set(queue_files(inst, "hold"))
    new = after - before
    assert len(new) == 1, (before, after)
    return new.pop()


def read_records(path):
    """[(type_char, payload_bytes, offset)] of a queue file."""
    with open(path, "rb") as f:
        data = f.read()
    out, i = [], 0
    while i < len(data):
        start = i
        rtype = chr(data[i])
        i += 1
        length, shift = 0, 0
        while True:
            b = data[i]
            i += 1
            length |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        out.append((rtype, data[i:i + length], start))
        i += length
    return out


def content_text(records):
    """The message content as text (N ends a line, L continues one)."""
    lines, cur = [], b""
    in_content = False
    for t, p, _ in records:
        if t == "M":
            in_content = True
        elif t == "X":
            break
        elif in_content and t == "L":
            cur += p
        elif in_content and t == "N":
            lines.append((cur + p).decode("utf-8", "replace"))
            cur = b""
    return "\n".join(lines) + "\n"


def envelope(records, rtype):
    return [p.decode() for t, p, _ in records if t == rtype]


# --- attribute lists ----------------------------------------------------

def attr_encode(attrs):
    out = b""
    for k, v in attrs.items():
        out += k.encode() + b"\0" + (v if isinstance(v, bytes) else str(v).encode()) + b"\0"
    return out + b"\0"


class AttrConn:
    def __init__(self, path, timeout=30):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buf = b""

    def read_list(self):
        """One list as a dict, or None at end of file."""
        while True:
            parsed = self._parse()
            if parsed is not None:
                return parsed
            data = self.sock.recv(65536)
            if not data:
                return None
            self.buf += data

    def _parse(self):
        out, i = {}, 0
        while True:
            j = self.buf.find(b"\0", i)
            if j < 0:
                return None
            name = self.buf[i:j]
            if name == b"":
                self.buf = self.buf[j + 1:]
                return out
            k = self.buf.find(b"\0", j + 1)
            if k < 0:
                return None
            out[name.decode()] = self.buf[j + 1:k].decode("utf-8", "replace")
            i = k + 1

    def send(self, attrs):
        self.sock.sendall(attrs if isinstance(attrs, bytes) else attr_encode(attrs))

    def close(self):
        self.sock.close()
