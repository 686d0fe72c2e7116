"""Helpers for the local(8) and virtual(8) tests: a whole system in one
Instance (smtpd, cleanup, qmgr, local, virtual, bounce, discard), test
users created with useradd (homes in a temporary directory) and removed
afterwards, and mail sent through smtpd with smtplib.

Everything the services read as the mail owner (alias and mailbox
tables) lives inside the queue directory, which that user can traverse;
pytest's own temporary directories are private to root.
"""

import os
import pwd
import secrets
import shutil
import smtplib
import subprocess
import tempfile

import pytest

from conftest import IS_ROOT, TOP
from conftest import wait_for as _wait_for

SMTPD = os.path.join(TOP, "smtpd", "smtpd")
CLEANUP = os.path.join(TOP, "cleanup", "cleanup")
QMGR = os.path.join(TOP, "qmgr", "qmgr")
LOCAL = os.path.join(TOP, "local", "local")
VIRTUAL = os.path.join(TOP, "virtual", "virtual")
BOUNCE = os.path.join(TOP, "bounce", "bounce")
DISCARD = os.path.join(TOP, "discard", "discard")
SMTP = os.path.join(TOP, "smtp", "smtp")
POSTERN_MAP = os.path.join(TOP, "cmd", "postern-map")
HOST = "mx.test.example"

BASE_MAIN = (f"myhostname = {HOST}\n"
             "mydomain = test.example\n"
             "mydestination = $myhostname, localhost\n"
             "smtpd_peername_lookup = no\n"
             "inet_interfaces = 127.0.0.1\n"
             # Notices to remote senders go nowhere.
             "default_transport = discard\n"
             "relay_transport = discard\n"
             "queue_run_delay = 1s\n"
             "minimal_backoff_time = 1s\n"
             "maximal_backoff_time = 2s\n"
             "deliver_lock_attempts = 3\n")


def need_root():
    if not IS_ROOT:
        pytest.skip("local and virtual delivery switch users: run as root")
    for prog in (SMTPD, CLEANUP, QMGR, LOCAL, VIRTUAL, BOUNCE, DISCARD):
        if not os.access(prog, os.X_OK):
            pytest.fail(f"{prog} is not built")
    if not shutil.which("useradd"):
        pytest.skip("useradd is missing")


class Users:
    """Test users with homes under one temporary directory."""

    def __init__(self):
        self.top = tempfile.mkdtemp(prefix="postern-homes-")
        os.chmod(self.top, 0o755)
        self.names = []

    def add(self, short):
        name = f"pt{short}{secrets.token_hex(3)}"
        home = os.path.join(self.top, name)
        subprocess.run(["useradd", "-m", "-d", home, "-s", "/bin/sh",
                        "-K", "MAIL_DIR=/nonexistent", name],
                       check=True, capture_output=True, timeout=30)
        self.names.append(name)
        os.chmod(home, 0o755)
        return pwd.getpwnam(name)

    def remove(self):
        for name in self.names:
            subprocess.run(["userdel", name], capture_output=True, timeout=30)
        shutil.rmtree(self.top, ignore_errors=True)


def link(inst, prog, name=None):
    dst = os.path.join(inst.libexec, name or os.path.basename(prog))
    if not os.path.exists(dst):
        os.symlink(prog, dst)


def configure(inst, extra="", master_extra=""):
    """Write main.cf and master.cf; returns the shared data directory
    (inside the queue directory, 0755)."""
    for prog in (SMTPD, CLEANUP, QMGR, LOCAL, VIRTUAL, BOUNCE, DISCARD):
        link(inst, prog)
    data = os.path.join(inst.queue, "testdata")
    os.makedirs(data, exist_ok=True)
    os.chmod(inst.queue, 0o755)
    os.chmod(data, 0o755)
    inst.write_main(BASE_MAIN + extra)
    inst.write_master(
        f"127.0.0.1:{inst.port} inet n - n - - smtpd\n"
        "cleanup unix n - n - 0 cleanup\n"
        "qmgr unix n - n 300 1 qmgr\n"
        "local unix - n n - - local\n"
        "virtual unix - n n - - virtual\n"
        "bounce unix - - n - 0 bounce\n"
        "defer unix - - n - 0 bounce\n"
        "trace unix - - n - 0 bounce\n"
        "discard unix - - n - - discard\n"
        + master_extra)
    return data


def build_aliases(inst, path, text):
    with open(path, "w") as f:
        f.write(text)
    r = subprocess.run([POSTERN_MAP, "-c", inst.etc, "-a", f"hash:{path}"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
    os.chmod(path + ".db", 0o644)


def start(inst):
    inst.start()
    wait_for(inst, lambda: os.path.exists(os.path.join(inst.queue, "public",
                                                       "cleanup")),
             what="public/cleanup")


def wait_for(inst, cond, timeout=15.0, what="condition"):
    try:
        return _wait_for(cond, timeout, what=what)
    except AssertionError as e:
        raise AssertionError(f"{e}\nlog:\n{inst.log()}") from None


def send(inst, rcpts, body="hello\n", sender="sender@example.com",
         subject="test"):
    msg = (f"From: {sender}\r\nTo: {', '.join(rcpts)}\r\n"
           f"Subject: {subject}\r\n\r\n" + body.replace("\n", "\r\n"))
    with smtplib.SMTP("127.0.0.1", inst.port, timeout=15) as c:
        c.ehlo("client.test.example")
        c.sendmail(sender, rcpts, msg)


def owned_by_root_under(top):
    """Paths under top (not top) owned by root."""
    out = []
    for dirpath, dirs, files in os.walk(top):
        for n in dirs + files:
            p = os.path.join(dirpath, n)
            if os.lstat(p).st_uid == 0:
                out.append(p)
    return out
