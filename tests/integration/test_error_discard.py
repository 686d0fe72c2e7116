"""error(8) and discard(8): the pseudo delivery agents of a real instance,
driven over private/error and private/discard with the delivery request
protocol spoken from Python (what qmgr will do), against a message that
smtpd and cleanup queued. The bounce, defer and trace services are a
small fake here that records each APPEND and answers "done" (or is left
out, to see that an agent then leaves the recipient alone)."""

import os
import re
import socket
import threading

import pytest

from conftest import TOP, wait_for
from queue_helpers import cat, find_file, setup_receive, submit

ERROR = os.path.join(TOP, "error", "error")
DISCARD = os.path.join(TOP, "discard", "discard")

SENT, DEFERRED, BOUNCED = 1, 2, 3


# --- the attribute list wire format (util/attr.h) ----------------------------

def attr_list(**attrs):
    out = b""
    for k, v in attrs.items():
        out += k.encode() + b"\0" + str(v).encode() + b"\0"
    return out + b"\0"


class Lists:
    """Reads attribute lists from a socket."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def read(self, timeout=20):
        self.sock.settimeout(timeout)
        while True:
            parsed = self._parse()
            if parsed is not None:
                return parsed
            data = self.sock.recv(65536)
            if not data:
                raise EOFError(f"connection closed; have {self.buf!r}")
            self.buf += data

    def _parse(self):
        out, i = {}, 0
        while True:
            if i >= len(self.buf):
                return None
            if self.buf[i] == 0:
                self.buf = self.buf[i + 1:]
                return out
            n = self.buf.find(b"\0", i)
            if n < 0:
                return None
            v = self.buf.find(b"\0", n + 1)
            if v < 0:
                return None
            out[self.buf[i:n].decode()] = self.buf[n + 1:v].decode()
            i = v + 1


# --- a fake bounce/defer/trace service ---------------------------------------

class FakeBounce:
    def __init__(self, inst, services=("bounce", "defer", "trace")):
        self.requests = []
        self.socks = []
        self.stop = False
        for name in services:
            path = os.path.join(inst.queue, "private", name)
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.bind(path)
            os.chmod(path, 0o666)
            s.listen(8)
            s.settimeout(0.2)
            self.socks.append(s)
            threading.Thread(target=self.serve, args=(name, s),
                             daemon=True).start()

    def serve(self, name, s):
        while not self.stop:
            try:
                c, _ = s.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with c:
                c.sendall(attr_list(protocol="bounce_protocol"))
                req = Lists(c).read()
                req["service"] = name
                self.requests.append(req)
                c.sendall(attr_list(status=0))

    def close(self):
        self.stop = True
        for s in self.socks:
            s.close()


# --- the instance and the request --------------------------------------------

@pytest.fixture
def agents(instance):
    for prog in (ERROR, DISCARD):
        if not os.access(prog, os.X_OK):
            pytest.fail(f"{prog} is not built")
        os.symlink(prog, os.path.join(instance.libexec, os.path.basename(prog)))
    setup_receive(instance, master_extra=(
        "error unix - - n - - error\n"
        "retry unix - - n - - error\n"
        "discard unix - - n - - discard\n"))
    instance.start()
    for name in ("error", "retry", "discard"):
        wait_for(lambda: os.path.exists(
            os.path.join(instance.queue, "private", name)), what=name)
    fakes = []

    def fake(*services):
        f = FakeBounce(instance, *services) if services else FakeBounce(instance)
        fakes.append(f)
        return f

    instance.fake_bounce = fake
    yield instance
    for f in fakes:
        f.close()


def records(inst, path):
    r = cat(inst, "-r", path)
    assert r.returncode == 0, r.stderr
    out = []
    for line in r.stdout.splitlines():
        off, typ, rest = line.split(None, 2)
        out.append((int(off), typ, rest.split(": ", 1)[1]))
    return out


def queued_in_active(inst, rcpts, rcpt_options=()):
    """A message from smtpd + cleanup, moved to active/ as qmgr would."""
    qid = submit(inst, rcpts=rcpts, rcpt_options=rcpt_options)
    active = os.path.join(inst.queue, "active")
    os.makedirs(active, exist_ok=True)
    path = os.path.join(active, qid)
    os.rename(os.path.join(inst.queue, "incoming", qid), path)
    return qid, path


def deliver(inst, service, qid, path, nexthop, timeout=30):
    """Send one delivery request for every R of the file; return
    (per-recipient results, final status, the request's recipients)."""
    recs = records(inst, path)
    size = [r for r in recs if r[1] == "C"][0][2].split()
    rcpts = [(off, data) for off, typ, data in recs if typ == "R"]
    notify = {}
    last_n = None
    for off, typ, data in recs:
        if typ == "n":
            last_n = int(data)
        elif typ == "R":
            notify[off] = last_n or 0
            last_n = None
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(os.path.join(inst.queue, "private", service))
    lists = Lists(s)
    assert lists.read() == {"protocol": "delivery_request_protocol"}
    now_us = int(__import__("time").time() * 1e6)
    req = attr_list(flags=0, queue_name="active", queue_id=qid,
                    data_offset=int(size[0]), data_size=int(size[2]),
                    nexthop=nexthop, sender="alice@example.com",
                    arrival_us=now_us - 2000000, active_us=now_us - 1000000,
                    rcpt_count=len(rcpts))
    for off, addr in rcpts:
        req += attr_list(address=addr, offset=off, dsn_notify=notify[off])
    s.sendall(req)
    results = [lists.read(timeout) for _ in rcpts]
    status = lists.read(timeout)
    s.close()
    return results, status, rcpts


def types_at(inst, path, offsets):
    recs = {off: typ for off, typ, _ in records(inst, path)}
    return [recs[o] for o in offsets]


def test_error_bounces_every_recipient(agents):
    fake = agents.fake_bounce()
    qid, path = queued_in_active(agents, ("bob@example.org", "carol@example.org"))
    results, status, rcpts = deliver(agents, "error", qid, path,
                                     "5.1.1 User unknown")
    assert [int(r["outcome"]) for r in results] == [BOUNCED, BOUNCED]
    assert [r["dsn"] for r in results] == ["5.1.1", "5.1.1"]
    assert [int(r["offset"]) for r in results] == [o for o, _ in rcpts]
    assert status["status"] == "0"
    # Marked done in place (R -> D), after the bounce log has them.
    assert types_at(agents, path, [o for o, _ in rcpts]) == ["D", "D"]
    got = [(r["service"], r["rcpt_address"], r["dsn_status"], r["dsn_reason"],
            r["dsn_action"]) for r in fake.requests]
    assert got == [("bounce", "bob@example.org", "5.1.1", "User unknown", "failed"),
                   ("bounce", "carol@example.org", "5.1.1", "User unknown", "failed")]
    for addr in ("bob@example.org", "carol@example.org"):
        agents.wait_log(rf"postern/error\[\d+\]: {qid}: to=<{re.escape(addr)}>, "
                        r"relay=none, delay=[\d.]+, delays=[\d.]+/[\d.]+/[\d.]+/[\d.]+, "
                        r"dsn=5\.1\.1, status=bounced \(User unknown\)")


def test_error_without_code_and_with_a_4xx_code(agents):
    fake = agents.fake_bounce()
    qid, path = queued_in_active(agents, ("bob@example.org",))
    results, _, rcpts = deliver(agents, "error", qid, path, "")
    assert results[0]["dsn"] == "5.0.0" and int(results[0]["outcome"]) == BOUNCED
    qid, path = queued_in_active(agents, ("dave@example.org",))
    results, _, rcpts = deliver(agents, "error", qid, path, "4.2.1 Mailbox busy")
    assert int(results[0]["outcome"]) == DEFERRED
    assert results[0]["dsn"] == "4.2.1"
    assert types_at(agents, path, [rcpts[0][0]]) == ["R"]  # not done
    assert fake.requests[-1]["service"] == "defer"
    agents.wait_log(rf"{qid}: to=<dave@example\.org>, relay=none, .*dsn=4\.2\.1, "
                    r"status=deferred \(Mailbox busy\)")
    # The retry service (error(8) by another name) defers by default.
    qid, path = queued_in_active(agents, ("erin@example.org",))
    results, _, _ = deliver(agents, "retry", qid, path, "")
    assert int(results[0]["outcome"]) == DEFERRED and results[0]["dsn"] == "4.0.0"


def test_error_leaves_recipients_when_the_bounce_log_fails(agents):
    # Only defer and trace are there: the bounce record cannot be written.
    agents.fake_bounce(("defer", "trace"))
    qid, path = queued_in_active(agents, ("bob@example.org",))
    results, _, rcpts = deliver(agents, "error", qid, path, "5.1.1 User unknown")
    assert int(results[0]["outcome"]) == DEFERRED
    assert types_at(agents, path, [rcpts[0][0]]) == ["R"]
    agents.wait_log(rf"{qid}: cannot record the bounce of <bob@example\.org>")


def test_discard_marks_delivered(agents):
    fake = agents.fake_bounce()
    qid, path = queued_in_active(agents, ("bob@example.org", "carol@example.org"))
    # Nobody asked for a success notice: no trace record.
    results, status, rcpts = deliver(agents, "discard", qid, path, "spam trap")
    assert [int(r["outcome"]) for r in results] == [SENT, SENT]
    assert [r["dsn"] for r in results] == ["2.0.0", "2.0.0"]
    assert types_at(agents, path, [o for o, _ in rcpts]) == ["D", "D"]
    assert fake.requests == []
    agents.wait_log(rf"postern/discard\[\d+\]: {qid}: to=<bob@example\.org>, "
                    r"relay=none, .*dsn=2\.0\.0, status=sent \(discarded: spam trap\)")


def test_discard_success_notice(agents):
    fake = agents.fake_bounce()
    qid, path = queued_in_active(agents, ("bob@example.org",),
                                 rcpt_options=("NOTIFY=SUCCESS",))
    results, _, rcpts = deliver(agents, "discard", qid, path, "")
    assert int(results[0]["outcome"]) == SENT
    assert [(r["service"], r["rcpt_address"], r["dsn_action"])
            for r in fake.requests] == [("trace", "bob@example.org", "delivered")]
    agents.wait_log(rf"{qid}: to=<bob@example\.org>, relay=none, .*"
                    r"status=sent \(discarded\)")


def test_missing_queue_file_is_deferred(agents):
    agents.fake_bounce()
    qid, path = queued_in_active(agents, ("bob@example.org",))
    # Build the request from the file, then remove it before delivery
    # (postern-super -d while qmgr has it in active/).
    recs = records(agents, path)
    os.unlink(path)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(20)
    s.connect(os.path.join(agents.queue, "private", "error"))
    lists = Lists(s)
    lists.read()
    off = [o for o, t, _ in recs if t == "R"][0]
    m = [o for o, t, _ in recs if t == "M"][0]
    s.sendall(attr_list(flags=0, queue_name="active", queue_id=qid,
                        data_offset=m, data_size=10, nexthop="5.1.1 x",
                        sender="", arrival_us=1, active_us=1, rcpt_count=1)
              + attr_list(address="bob@example.org", offset=off))
    result = lists.read()
    status = lists.read()
    assert int(result["outcome"]) == DEFERRED
    # A missing file is not the destination's fault: no site failure.
    assert "site_dsn" not in status
    s.close()
