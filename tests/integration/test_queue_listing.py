"""showq(8) and postern-queue(1)/mailq(1): queues populated through smtpd
and cleanup (incoming/, hold/ through header_checks, a file moved to
active/ and one to deferred/ with a defer log written by the bounce
service), listed with -p, -j and as mailq; the empty queue; listing as an
unprivileged user in the setgid group; -f, -i and -s."""

import grp
import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

from conftest import IS_ROOT, Instance, pid_alive, wait_for
from queue_util import (BOUNCE, CLEANUP, POSTQUEUE, SHOWQ, SMTPD, AttrConn,
                        queue_files, queue_path, send_mail, start_instance)

DAEMONS = (SMTPD, CLEANUP, BOUNCE, SHOWQ)


def postqueue(inst, *args, argv0=None, user=None, timeout=30):
    exe = POSTQUEUE
    if argv0 is not None:
        exe = os.path.join(inst.base, argv0)
        if not os.path.exists(exe):
            os.symlink(POSTQUEUE, exe)
    preexec = None
    if user is not None:
        uid, gid = user

        def preexec():
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
    return subprocess.run([exe, "-c", inst.etc, *args], capture_output=True,
                          text=True, timeout=timeout, preexec_fn=preexec)


def fnv_dir(qid):
    """The hashed subdirectory (hash_queue_depth 1) of qid."""
    h = 2166136261
    for ch in qid.encode():
        h ^= ch
        h = (h * 16777619) & 0xFFFFFFFF
    return "0123456789ABCDEF"[h & 0xF]


def move(inst, qid, src, dst, hashed=False):
    d = os.path.join(inst.queue, dst, fnv_dir(qid)) if hashed else \
        os.path.join(inst.queue, dst)
    os.makedirs(d, exist_ok=True)
    st = os.stat(os.path.join(inst.queue, dst))
    os.chown(d, st.st_uid, st.st_gid)
    os.rename(queue_path(inst, src, qid), os.path.join(d, qid))


def defer_append(inst, qid, rcpt, reason):
    c = AttrConn(os.path.join(inst.queue, "private", "defer"))
    assert c.read_list() == {"protocol": "bounce_protocol"}
    c.send({"request": 1, "queue_id": qid, "rcpt_address": rcpt,
            "dsn_status": "4.4.1", "dsn_action": "delayed",
            "dsn_reason": reason})
    assert c.read_list() == {"status": "0"}
    c.close()


def populate(inst):
    """incoming: one; active: one; deferred: one (defer log); hold: one."""
    ids = {}
    ids["incoming"] = send_mail(inst, sender="in@example.com",
                                rcpts=("a@example.org", "b@example.org"))
    ids["active"] = send_mail(inst, sender="")
    move(inst, ids["active"], "incoming", "active")
    ids["deferred"] = send_mail(inst, sender="def@example.com",
                                rcpts=("slow@example.net", "slow2@example.net"))
    move(inst, ids["deferred"], "incoming", "deferred", hashed=True)
    defer_append(inst, ids["deferred"], "slow@example.net",
                 "connect to mx.example.net[192.0.2.9]:25: Connection refused")
    defer_append(inst, ids["deferred"], "slow2@example.net",
                 "connect to mx.example.net[192.0.2.9]:25: Connection refused")
    ids["hold"] = send_mail(inst, sender="held@example.com",
                            body="Subject: hold me\n\nx\n")
    assert queue_files(inst, "hold") == [ids["hold"]]
    return ids


def header_table(inst):
    path = os.path.join(inst.etc, "header_checks")
    with open(path, "w") as f:
        f.write("/^Subject: hold me/ HOLD\n")
    return f"header_checks = regexp:{path}\n"


@pytest.fixture
def inst(instance):
    return start_instance(instance, header_table(instance), daemons=DAEMONS)


def test_empty_queue(inst):
    r = postqueue(inst, "-p")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "Mail queue is empty\n"
    r = postqueue(inst, "-j")
    assert r.returncode == 0 and r.stdout == ""


def test_mailq_format(inst):
    ids = populate(inst)
    r = postqueue(inst, "-p")
    assert r.returncode == 0, r.stderr + inst.log()
    out = r.stdout
    lines = out.split("\n")
    assert lines[0] == ("-Queue ID-  --Size-- ----Arrival Time---- "
                        "-Sender/Recipient-------")
    # Queue order: incoming, active, deferred, hold.
    order = [l.split()[0].rstrip("*!") for l in lines if re.match(r"^[0-9A-Za-z]{10,}", l)]
    assert order == [ids["incoming"], ids["active"], ids["deferred"], ids["hold"]]
    line = re.compile(r"^(\S+?)([ *!]) +(\d+) (\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d)  (\S+)$")
    by_id = {}
    for l in lines:
        m = line.match(l)
        if m:
            by_id[m.group(1)] = m
    assert by_id[ids["active"]].group(2) == "*"
    assert by_id[ids["active"]].group(5) == "MAILER-DAEMON"
    assert by_id[ids["hold"]].group(2) == "!"
    assert by_id[ids["incoming"]].group(2) == " "
    assert by_id[ids["incoming"]].group(5) == "in@example.com"
    # Recipients at column 41; the deferral reason once, in parentheses,
    # before the recipients it applies to.
    block = out[out.index(ids["deferred"]):]
    block = block[:block.index("\n\n")].split("\n")
    assert block[1] == "(connect to mx.example.net[192.0.2.9]:25: Connection refused)"
    assert block[2] == " " * 41 + "slow@example.net"
    assert block[3] == " " * 41 + "slow2@example.net"
    assert (" " * 41 + "a@example.org") in lines
    assert re.search(r"\n\n-- \d+ Kbytes in 4 Requests\.\n$", out), out
    # mailq is postern-queue -p.
    assert postqueue(inst, argv0="mailq").stdout == out


def test_json_lines(inst):
    ids = populate(inst)
    r = postqueue(inst, "-j")
    assert r.returncode == 0, r.stderr
    msgs = [json.loads(l) for l in r.stdout.splitlines()]
    assert [m["queue_name"] for m in msgs] == ["incoming", "active", "deferred", "hold"]
    by = {m["queue_name"]: m for m in msgs}
    m = by["incoming"]
    assert m["queue_id"] == ids["incoming"]
    assert m["sender"] == "in@example.com"
    assert m["forced_expire"] is False
    assert isinstance(m["arrival_time"], int) and abs(m["arrival_time"] - time.time()) < 120
    assert m["message_size"] > 0
    assert m["recipients"] == [{"address": "a@example.org"}, {"address": "b@example.org"}]
    assert by["active"]["sender"] == ""
    d = by["deferred"]["recipients"]
    assert d[0] == {"address": "slow@example.net", "delay_reason":
                    "connect to mx.example.net[192.0.2.9]:25: Connection refused"}


def test_delivered_recipients_not_listed(inst):
    qid = send_mail(inst, rcpts=("done@example.org", "todo@example.org"))
    path = queue_path(inst, "incoming", qid)
    data = bytearray(open(path, "rb").read())
    # Mark the first recipient done in place (R -> D), as an agent does.
    i = data.index(b"done@example.org")
    j = data.rindex(b"R", 0, i)
    data[j:j + 1] = b"D"
    open(path, "wb").write(data)
    r = postqueue(inst, "-j")
    m = json.loads(r.stdout)
    assert m["recipients"] == [{"address": "todo@example.org"}]


def test_refuses_malformed_options(inst):
    r = postqueue(inst, "-p", "-j")
    assert r.returncode != 0 and "usage" in r.stderr
    r = postqueue(inst, "-i", "../../etc/passwd")
    assert r.returncode != 0 and "malformed queue ID" in r.stderr


def test_flush_triggers_qmgr(inst):
    # A stand-in for qmgr: a fifo at public/qmgr, read by the test.
    fifo = os.path.join(inst.queue, "public", "qmgr")
    os.mkfifo(fifo, 0o622)
    fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        r = postqueue(inst, "-f")
        assert r.returncode == 0, r.stderr
        assert os.read(fd, 100) == b"FAD"
        r = inst.postern("flush")
        assert os.read(fd, 100) == b"FAD"
        # -i: the deferred file becomes due now, and qmgr is told.
        ids = populate(inst)
        path = queue_path(inst, "deferred", ids["deferred"])
        os.utime(path, (time.time() + 3600, time.time() + 3600))
        r = postqueue(inst, "-i", ids["deferred"])
        assert r.returncode == 0, r.stderr
        assert abs(os.stat(path).st_mtime - time.time()) < 60
        assert os.read(fd, 100) == b"D"
        r = postqueue(inst, "-i", ids["incoming"])
        assert r.returncode != 0 and "not in the deferred queue" in r.stderr
        # -s: only mail for that site.
        os.utime(path, (time.time() + 3600, time.time() + 3600))
        r = postqueue(inst, "-s", "elsewhere.example")
        assert r.returncode == 0 and os.stat(path).st_mtime > time.time() + 600
        r = postqueue(inst, "-s", "EXAMPLE.net")
        assert r.returncode == 0, r.stderr
        assert abs(os.stat(path).st_mtime - time.time()) < 60
        assert os.read(fd, 100) == b"D"
    finally:
        os.close(fd)


def test_flush_without_qmgr_fails(inst):
    r = postqueue(inst, "-f")
    assert r.returncode != 0 and "cannot flush the mail queue" in r.stderr


def test_not_running(instance):
    # Configured, never started: a clear error, not an empty listing.
    instance.postern("check")
    r = postqueue(instance, "-p")
    assert r.returncode != 0 and "showq service" in r.stderr
    assert "Mail queue is empty" not in r.stdout


@pytest.fixture
def open_instance():
    """An instance under a directory other users may traverse (pytest's
    tmp_path is private to root), so that a user in the setgid group can
    read main.cf and reach public/showq."""
    if not IS_ROOT:
        pytest.skip("listing as another user needs root to switch users")
    base = tempfile.mkdtemp(prefix="postern-showq-", dir="/tmp")
    os.chmod(base, 0o755)
    inst = Instance(base)
    yield inst
    if inst.master_pid is not None and pid_alive(inst.master_pid):
        inst.postern("stop", check=False)
        try:
            wait_for(lambda: not inst.processes(), 15, what="instance to stop")
        except AssertionError:
            pass
    left = inst.processes() if inst.master_pid else []
    inst.cleanup()
    shutil.rmtree(base, ignore_errors=True)
    assert not left


def test_unprivileged_listing(open_instance):
    inst = start_instance(open_instance, header_table(open_instance), daemons=DAEMONS)
    ids = populate(inst)
    nobody = pwd.getpwnam("nobody").pw_uid
    postdrop = grp.getgrnam("postdrop").gr_gid
    # In the setgid group (what a setgid postern-queue will be): works,
    # without any access to the queue files themselves.
    r = postqueue(inst, "-j", user=(nobody, postdrop))
    assert r.returncode == 0, r.stderr
    assert {json.loads(l)["queue_id"] for l in r.stdout.splitlines()} == set(ids.values())
    st = os.stat(queue_path(inst, "incoming", ids["incoming"]))
    assert st.st_mode & 0o077 == 0 and st.st_uid != nobody
    # Not in the group: public/ is closed to it.
    r = postqueue(inst, "-p", user=(nobody, pwd.getpwnam("nobody").pw_gid))
    assert r.returncode != 0 and "showq service" in r.stderr
    # -i needs write access to the queue: refused for the unprivileged.
    r = postqueue(inst, "-i", ids["deferred"], user=(nobody, postdrop))
    assert r.returncode != 0 and "need root or mail_owner" in r.stderr
