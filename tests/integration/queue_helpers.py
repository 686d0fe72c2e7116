"""Helpers shared by the queue tool tests (postern-cat, postern-super, the
error and discard agents): an instance with smtpd and cleanup that fills
the queue the way real mail does, and runners for the commands."""

import os
import re
import smtplib
import subprocess

import pytest

from conftest import TOP, wait_for

SMTPD = os.path.join(TOP, "smtpd", "smtpd")
CLEANUP = os.path.join(TOP, "cleanup", "cleanup")
CAT = os.path.join(TOP, "cmd", "postern-cat")
SUPER = os.path.join(TOP, "cmd", "postern-super")
HOST = "mx.test.example"


def setup_receive(inst, extra="", master_extra=""):
    """smtpd on 127.0.0.1:<port> and cleanup; nothing else runs, so
    queued mail stays in incoming/ (there is no qmgr to take it)."""
    for prog in (SMTPD, CLEANUP):
        if not os.access(prog, os.X_OK):
            pytest.fail(f"{prog} is not built")
        link = os.path.join(inst.libexec, os.path.basename(prog))
        if not os.path.exists(link):
            os.symlink(prog, link)
    inst.write_main(f"myhostname = {HOST}\n"
                    "mydomain = test.example\n"
                    "smtpd_peername_lookup = no\n"
                    "inet_interfaces = 127.0.0.1\n"
                    + extra)
    inst.write_master(f"127.0.0.1:{inst.port} inet n - n - - smtpd\n"
                      "cleanup unix n - n - 0 cleanup\n" + master_extra)


def submit(inst, sender="alice@example.com", rcpts=("bob@example.org",),
           body="Subject: test\nFrom: alice@example.com\n\nhello\n",
           mail_options=(), rcpt_options=()):
    """Send one message over SMTP; return its queue ID (from the 250)."""
    with smtplib.SMTP("127.0.0.1", inst.port, timeout=20) as s:
        s.ehlo("client.example")
        s.mail(sender, list(mail_options))
        for r in rcpts:
            code, msg = s.rcpt(r, list(rcpt_options))
            assert code == 250, (r, code, msg)
        code, msg = s.data(body.replace("\n", "\r\n").encode())
        assert code == 250, (code, msg)
    m = re.search(r"queued as (\S+)", msg.decode())
    assert m, msg
    return m.group(1)


def queue_files(inst, queue):
    """IDs of the files in a queue, hashed subdirectories included."""
    top = os.path.join(inst.queue, queue)
    out = []
    for dirpath, _dirs, files in os.walk(top):
        out += files
    return sorted(out)


def find_file(inst, qid):
    """(queue, path) of a queue file, or (None, None)."""
    for dirpath, _dirs, files in os.walk(inst.queue):
        if qid in files:
            rel = os.path.relpath(dirpath, inst.queue)
            return rel.split(os.sep)[0], os.path.join(dirpath, qid)
    return None, None


def run(prog, inst, *args, input=None, timeout=30):
    return subprocess.run([prog, "-c", inst.etc, *args], capture_output=True,
                          text=True, errors="replace", input=input,
                          timeout=timeout)


def cat(inst, *args, **kw):
    return run(CAT, inst, *args, **kw)


def super_(inst, *args, **kw):
    return run(SUPER, inst, *args, **kw)


def envelope_records(out):
    """The "name: value" lines between the ENVELOPE and CONTENTS banners."""
    recs, on = [], False
    for line in out.splitlines():
        if line.startswith("*** ENVELOPE RECORDS"):
            on = True
        elif line.startswith("*** MESSAGE CONTENTS"):
            break
        elif on:
            name, _, value = line.partition(": ")
            recs.append((name, value))
    return recs


def wait_gone(path, timeout=10):
    wait_for(lambda: not os.path.exists(path), timeout, what=f"{path} to go")
