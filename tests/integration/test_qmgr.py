"""qmgr(8) end to end: a real master + smtpd + cleanup + qmgr, with the
test-only delivery agent tests/fixtures/agent_sink in place of smtp.

The sink appends one line per delivery request to a log
(id=, nexthop=, sender=, rcpts=, orig=, action=, conc=) and does what its
control file says per next hop (deliver, defer, bounce, sitefail, with an
optional wait), so each test can watch batching, retries, concurrency and
dead destinations. Timers are short (queue_run_delay = 1s,
minimal_backoff_time = 1s) so every test takes seconds.
"""

import os
import re
import signal
import smtplib
import socket
import stat
import subprocess
import time

import pytest

from conftest import TOP, pid_alive
from conftest import wait_for as _wait_for

SMTPD = os.path.join(TOP, "smtpd", "smtpd")
CLEANUP = os.path.join(TOP, "cleanup", "cleanup")
QMGR = os.path.join(TOP, "qmgr", "qmgr")
SINK = os.path.join(TOP, "tests", "fixtures", "agent_sink")
SEND = os.path.join(TOP, "tests", "fixtures", "cleanup_send")
BOUNCE_SINK = os.path.join(TOP, "tests", "fixtures", "bounce_sink")
BOUNCE = os.path.join(TOP, "bounce", "bounce")
ERROR = os.path.join(TOP, "error", "error")
DISCARD = os.path.join(TOP, "discard", "discard")
SMTP = os.path.join(TOP, "smtp", "smtp")
HOST = "mx.test.example"

MSG = "Subject: test\nFrom: a@example.com\n\nbody\n"
FLAGS = 3  # CLEANUP_FLAG_FILTER | CLEANUP_FLAG_MAP_OK

BASE_MAIN = ("myhostname = mx.test.example\n"
             "mydomain = test.example\n"
             "smtpd_peername_lookup = no\n"
             "inet_interfaces = 127.0.0.1\n"
             "default_transport = sink\n"
             "relay_transport = sink\n"
             "queue_run_delay = 1s\n"
             "minimal_backoff_time = 1s\n"
             "maximal_backoff_time = 2s\n"
             "transport_retry_time = 2s\n")


_current = []


def wait_for(cond, timeout=10.0, what="condition"):
    """conftest's wait_for, with the instance's log in the failure."""
    try:
        return _wait_for(cond, timeout, what=what)
    except AssertionError as e:
        log = _current[-1].log() if _current else ""
        raise AssertionError(f"{e}\nlog:\n{log}") from None


class Sink:
    def __init__(self, inst):
        # Inside the queue directory, named relative to it (the agent's
        # working directory): as root, services run as the mail owner,
        # which may not traverse pytest's private temporary directory.
        self.dir = os.path.join(inst.queue, "sink")
        os.makedirs(self.dir, exist_ok=True)
        os.chmod(self.dir, 0o777)
        self.log = os.path.join(self.dir, "log")
        self.control = os.path.join(self.dir, "control")
        self.arg_log = "sink/log"
        self.arg_control = "sink/control"
        self.set("")

    def set(self, text):
        tmp = self.control + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.rename(tmp, self.control)

    def requests(self):
        try:
            with open(self.log) as f:
                lines = f.read().splitlines()
        except FileNotFoundError:
            return []
        out = []
        for line in lines:
            d = dict(kv.split("=", 1) for kv in line.split(" "))
            d["rcpts"] = d["rcpts"].split(",")
            d["orig"] = d["orig"].split(",")
            d["conc"] = int(d["conc"])
            d["t"] = float(d["t"])
            out.append(d)
        return out

    def delivered(self):
        return [r for r in self.requests() if r["action"] == "deliver"]


def bounce_services(inst, sink):
    """master.cf lines for the test-only bounce service."""
    link(inst, BOUNCE_SINK)
    return "".join(f"{s} unix - - n - 0 bounce_sink log=sink/bounce.log "
                   f"control=sink/bounce.control\n"
                   for s in ("bounce", "defer", "trace"))


def bounce_requests(sink):
    """[(service, request, id)] the bounce service received."""
    try:
        with open(os.path.join(sink.dir, "bounce.log")) as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        return []
    out = []
    for line in lines:
        d = dict(kv.split("=", 1) for kv in line.split(" "))
        out.append((d["service"], int(d["request"]), d["id"], int(d["status"])))
    return out


def bounce_fail(sink, on):
    path = os.path.join(sink.dir, "bounce.control")
    with open(path + ".tmp", "w") as f:
        f.write("fail\n" if on else "")
    os.chmod(path + ".tmp", 0o644)
    os.rename(path + ".tmp", path)


APPEND, FLUSH, EXPIRE, WARN, TRACE = 1, 2, 3, 4, 5


def link(inst, prog):
    if not os.access(prog, os.X_OK):
        pytest.fail(f"{prog} is not built")
    dst = os.path.join(inst.libexec, os.path.basename(prog))
    if not os.path.exists(dst):
        os.symlink(prog, dst)


def configure(inst, extra="", with_qmgr=True, master_extra=""):
    for prog in (SMTPD, CLEANUP, QMGR, SINK, SEND):
        link(inst, prog)
    sink = Sink(inst)
    inst.write_main(BASE_MAIN + extra)
    inst.write_master(
        f"127.0.0.1:{inst.port} inet n - n - - smtpd\n"
        "cleanup unix n - n - 0 cleanup\n"
        + ("qmgr unix n - n 300 1 qmgr\n" if with_qmgr else "")
        + f"sink unix - - n - - agent_sink log={sink.arg_log} "
        f"control={sink.arg_control}\n"
        + master_extra)
    inst.sink = sink
    _current.append(inst)
    return sink


def start(inst):
    inst.start()
    wait_for(lambda: os.path.exists(os.path.join(inst.queue, "public", "cleanup")),
             what="public/cleanup")
    return inst


def send(inst, rcpts, sender="sender@example.com", msg=MSG):
    """Submit through cleanup (as smtpd does); return the queue ID."""
    r = subprocess.run([SEND, "-F", str(FLAGS),
                        os.path.join(inst.queue, "public", "cleanup"),
                        sender, *rcpts],
                       input=msg, capture_output=True, text=True, timeout=30)
    out = dict(l.split("=", 1) for l in r.stdout.splitlines() if "=" in l)
    assert out.get("status") == "0", r.stdout + r.stderr
    return out["queue_id"]


def files(inst, queue):
    """IDs in a queue, hashed subdirectories included."""
    top = os.path.join(inst.queue, queue)
    out = []
    for dirpath, _dirs, names in os.walk(top):
        out += names
    return sorted(out)


def find(inst, queue, qid):
    top = os.path.join(inst.queue, queue)
    for dirpath, _dirs, names in os.walk(top):
        if qid in names:
            return os.path.join(dirpath, qid)
    return None


def trigger(inst, text):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(os.path.join(inst.queue, "public", "qmgr"))
    s.sendall(text.encode())
    s.close()


def queue_empty(inst):
    return not any(files(inst, q) for q in ("incoming", "active", "deferred"))


def qmgr_pids(inst):
    out = []
    for pid in inst.children():
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv0 = f.read().split(b"\0")[0]
        except OSError:
            continue
        if argv0.endswith(b"qmgr"):
            out.append(pid)
    return out


# --- tests -------------------------------------------------------------------

def test_smtp_mail_reaches_agent_in_one_batch_per_destination(instance):
    sink = configure(instance)
    start(instance)
    rcpts = ["a@example.org", "b@example.org", "c@example.org", "d@example.net"]
    with smtplib.SMTP("127.0.0.1", instance.port, timeout=10) as c:
        c.ehlo("client.test.example")
        c.sendmail("sender@example.com", rcpts, MSG.replace("\n", "\r\n"))
    wait_for(lambda: len(sink.requests()) >= 2, 15, what="two requests")
    wait_for(lambda: queue_empty(instance), 10, what="empty queue")
    reqs = sorted(sink.requests(), key=lambda r: r["nexthop"])
    assert len(reqs) == 2, reqs
    net, org = reqs
    assert org["nexthop"] == "example.org"
    assert org["rcpts"] == ["a@example.org", "b@example.org", "c@example.org"]
    assert net["nexthop"] == "example.net" and net["rcpts"] == ["d@example.net"]
    assert org["sender"] == net["sender"] == "<sender@example.com>"
    qid = org["id"]
    instance.wait_log(rf"{qid}: from=<sender@example\.com>, size=\d+, "
                      rf"nrcpt=4 \(queue active\)")
    instance.wait_log(rf"{qid}: removed")
    assert instance.log().count(f"{qid}: removed") == 1


def test_per_transport_recipient_limit(instance):
    sink = configure(instance, "sink_destination_recipient_limit = 2\n")
    start(instance)
    rcpts = [f"r{i}@example.org" for i in range(5)]
    qid = send(instance, rcpts)
    instance.wait_log(rf"{qid}: removed", 15)
    reqs = sink.requests()
    # Batches run in parallel: they may finish in any order.
    batches = sorted(r["rcpts"] for r in reqs)
    assert batches == [rcpts[0:2], rcpts[2:4], rcpts[4:5]], reqs
    # A transport-prefixed parameter is not an unknown one.
    assert "unknown parameter sink_destination" not in instance.log()


def test_deferred_then_retried_after_backoff(instance):
    sink = configure(instance)
    sink.set("* defer\n")
    start(instance)
    qid = send(instance, ["x@example.org"])
    wait_for(lambda: find(instance, "deferred", qid), 15, what="file in deferred/")
    path = find(instance, "deferred", qid)
    try:
        assert os.stat(path).st_mtime > time.time() - 0.5  # retry time ahead
    except FileNotFoundError:
        pass  # already being retried: the log below still proves it
    n = len(sink.requests())
    assert n >= 1 and sink.requests()[0]["action"] == "defer"
    sink.set("* deliver\n")
    wait_for(lambda: sink.delivered(), 15, what="delivery after the backoff")
    instance.wait_log(rf"{qid}: removed", 10)
    assert queue_empty(instance)
    assert [r["id"] for r in sink.delivered()] == [qid]


def test_flush_triggers_ignore_retry_time(instance):
    sink = configure(instance, "minimal_backoff_time = 60s\n"
                           "maximal_backoff_time = 60s\n"
                           "queue_run_delay = 60s\n")
    sink.set("* defer\n")
    start(instance)
    qid = send(instance, ["x@example.org"])
    wait_for(lambda: find(instance, "deferred", qid), 15, what="deferred")
    assert os.stat(find(instance, "deferred", qid)).st_mtime > time.time() + 30
    sink.set("* deliver\n")
    time.sleep(1.5)
    trigger(instance, "D")  # retry time not reached: nothing happens
    time.sleep(1.5)
    assert not sink.delivered()
    instance.postern("flush")  # F, A and D
    wait_for(lambda: sink.delivered(), 10, what="delivery after postern flush")
    instance.wait_log(rf"{qid}: removed", 10)


def test_files_left_in_active_are_delivered_once(instance):
    sink = configure(instance, with_qmgr=False)
    start(instance)
    ids = [send(instance, [f"u{i}@example.org"]) for i in range(3)]
    instance.stop()
    # A qmgr that died left them in active/.
    for qid in ids:
        os.rename(os.path.join(instance.queue, "incoming", qid),
                  os.path.join(instance.queue, "active", qid))
    configure(instance)
    start(instance)
    wait_for(lambda: len(sink.delivered()) >= 3, 15, what="three deliveries")
    wait_for(lambda: queue_empty(instance), 10, what="empty queue")
    time.sleep(1)
    assert sorted(r["id"] for r in sink.delivered()) == sorted(ids)


def test_qmgr_killed_midway_loses_nothing(instance):
    sink = configure(instance)
    sink.set("* deliver 1500\n")
    start(instance)
    ids = [send(instance, [f"k{i}@example.org"]) for i in range(4)]
    for qid in ids:
        instance.wait_log(rf"{qid}: from=<", 10)
    pids = qmgr_pids(instance)
    assert len(pids) == 1
    os.kill(pids[0], signal.SIGKILL)
    # master starts a new qmgr at the next wakeup or trigger.
    wait_for(lambda: not pid_alive(pids[0]), 5, what="qmgr to die")
    trigger(instance, "I")
    wait_for(lambda: qmgr_pids(instance) and qmgr_pids(instance) != pids, 20,
             what="master to restart qmgr")
    wait_for(lambda: queue_empty(instance), 30, what="empty queue")
    got = [r["id"] for r in sink.delivered()]
    # At least once: every message, and a second copy only of batches
    # that were in flight when qmgr died.
    assert set(got) == set(ids)
    assert len(got) <= 2 * len(ids)


def test_corrupt_file_goes_to_corrupt_and_incomplete_is_left(instance):
    configure(instance)
    start(instance)
    bad = "1000000000zB"
    partial = "1000000000zC"
    inc = os.path.join(instance.queue, "incoming")
    with open(os.path.join(inc, bad), "wb") as f:
        f.write(b"v\x0fpostern-queue-1garbage garbage")
    os.chmod(os.path.join(inc, bad), 0o700)
    with open(os.path.join(inc, partial), "wb") as f:
        f.write(b"v\x0fpostern-queue-1")
    os.chmod(os.path.join(inc, partial), 0o600)
    if os.geteuid() == 0:
        import pwd
        pw = pwd.getpwnam(instance.owner)
        for n in (bad, partial):
            os.chown(os.path.join(inc, n), pw.pw_uid, pw.pw_gid)
    trigger(instance, "I")
    wait_for(lambda: find(instance, "corrupt", bad), 10, what="corrupt/ file")
    instance.wait_log(rf'saving corrupt file "{bad}" from queue "active" '
                      r'to queue "corrupt"')
    time.sleep(0.5)
    assert find(instance, "incoming", partial)
    assert not find(instance, "corrupt", partial)


def test_damaged_content_goes_to_corrupt_on_the_first_pass(instance):
    """A complete file whose content is damaged is found when qmgr first
    takes it (not left to be retried until it expires)."""
    configure(instance, with_qmgr=False)
    start(instance)
    qid = send(instance, ["a@example.org"])
    path = find(instance, "incoming", qid)
    data = bytearray(open(path, "rb").read())
    i = data.index(b"body")
    assert data[i - 2:i] == b"N\x04"
    data[i - 2] = 0x01  # no such record type
    with open(path, "r+b") as f:
        f.write(data)
    instance.write_master(open(os.path.join(instance.etc, "master.cf")).read()
                          + "qmgr unix n - n 300 1 qmgr\n")
    instance.postern("reload")
    wait_for(lambda: find(instance, "corrupt", qid), 15, what="corrupt/ file")
    instance.wait_log(rf'saving corrupt file "{qid}" from queue "active" '
                      r'to queue "corrupt"')
    assert not instance.sink.requests()


def test_hold_is_never_scanned(instance):
    checks = os.path.join(instance.etc, "header_checks")
    with open(checks, "w") as f:
        f.write("/^Subject: holdme/ HOLD\n")
    sink = configure(instance, f"header_checks = regexp:{checks}\n")
    start(instance)
    qid = send(instance, ["h@example.org"], msg="Subject: holdme\n\nbody\n")
    assert find(instance, "hold", qid)
    trigger(instance, "AFDI")
    time.sleep(2)
    assert find(instance, "hold", qid)
    assert not sink.requests()


def test_redirect_and_content_filter(instance):
    checks = os.path.join(instance.etc, "header_checks")
    with open(checks, "w") as f:
        f.write("/^Subject: redirect/ REDIRECT other@example.net\n"
                "/^Subject: filter/ FILTER sink2:[192.0.2.1]:10025\n")
    sink = configure(instance, f"header_checks = regexp:{checks}\n",
                 master_extra="sink2 unix - - n - - agent_sink "
                              "log={log} control={control}\n")
    # sink2 logs to the same file.
    instance.write_master(open(os.path.join(instance.etc, "master.cf")).read()
                          .replace("{log}", sink.arg_log)
                          .replace("{control}", sink.arg_control))
    start(instance)
    q1 = send(instance, ["r1@example.org", "r2@example.org"],
              msg="Subject: redirect\n\nbody\n")
    q2 = send(instance, ["f1@example.org"], msg="Subject: filter\n\nbody\n")
    instance.wait_log(rf"{q1}: removed", 15)
    instance.wait_log(rf"{q2}: removed", 15)
    reqs = {r["id"]: r for r in sink.requests()}
    assert reqs[q1]["nexthop"] == "example.net"
    assert reqs[q1]["rcpts"] == ["other@example.net", "other@example.net"]
    assert reqs[q1]["orig"] == ["r1@example.org", "r2@example.org"]
    assert reqs[q2]["nexthop"] == "[192.0.2.1]:10025"
    assert reqs[q2]["rcpts"] == ["f1@example.org"]


def test_concurrency_stays_within_limit(instance):
    sink = configure(instance, "default_destination_concurrency_limit = 3\n"
                           "initial_destination_concurrency = 2\n")
    sink.set("* deliver 300\n")
    start(instance)
    ids = [send(instance, [f"c{i}@example.org"]) for i in range(12)]
    wait_for(lambda: len(sink.delivered()) >= 12, 30, what="12 deliveries")
    conc = [r["conc"] for r in sink.requests()]
    assert max(conc) <= 3, conc
    assert max(conc) >= 2, conc  # the window was used, not serialised
    assert sorted(r["id"] for r in sink.delivered()) == sorted(ids)


def test_rate_delay_spaces_deliveries(instance):
    sink = configure(instance, "sink_destination_rate_delay = 1s\n")
    start(instance)
    ids = [send(instance, [f"s{i}@example.org"]) for i in range(3)]
    other = send(instance, ["o@example.net"])
    wait_for(lambda: len(sink.delivered()) >= 4, 15, what="4 deliveries")
    slow = [r for r in sink.delivered() if r["nexthop"] == "example.org"]
    assert sorted(r["id"] for r in slow) == sorted(ids)
    assert all(r["conc"] == 1 for r in slow)
    gaps = [b["t"] - a["t"] for a, b in zip(slow, slow[1:])]
    assert all(g >= 0.9 for g in gaps), gaps
    # The delay is per destination: example.net did not wait its turn.
    fast = [r for r in sink.delivered() if r["nexthop"] == "example.net"]
    assert fast[0]["id"] == other and fast[0]["t"] < slow[-1]["t"]


def test_dead_destination_does_not_delay_others(instance):
    sink = configure(instance, "initial_destination_concurrency = 1\n"
                           "transport_retry_time = 60s\n")
    sink.set("dead.example sitefail 1500\n* deliver\n")
    start(instance)
    dead = [send(instance, [f"d{i}@dead.example"]) for i in range(3)]
    time.sleep(0.3)
    good = send(instance, ["g@good.example"])
    wait_for(lambda: any(r["id"] == good for r in sink.delivered()), 5,
             what="good.example delivered while dead.example hangs")
    # The first dead.example delivery is still in its 1.5 s wait.
    assert not [r for r in sink.requests() if r["nexthop"] == "dead.example"]
    # One failed cohort (window 1) kills it: the rest are deferred
    # without a connection.
    instance.wait_log(r"status=deferred \(delivery temporarily suspended: "
                      r"connect to sink: Connection refused\)", 10)
    for qid in dead:
        wait_for(lambda: find(instance, "deferred", qid), 10, what=f"{qid} deferred")
    time.sleep(1.5)  # several deferred-queue runs; still dead: no new tries
    assert len([r for r in sink.requests() if r["nexthop"] == "dead.example"]) == 1
    # F forgets dead destinations.
    sink.set("* deliver\n")
    trigger(instance, "AFD")
    wait_for(lambda: len(sink.delivered()) >= 4, 10, what="dead ones after F")


def test_expiry_returns_message_and_keeps_it_while_bounce_fails(instance):
    sink = configure(instance, "maximal_queue_lifetime = 2s\n")
    instance.write_master(open(os.path.join(instance.etc, "master.cf")).read()
                          + bounce_services(instance, sink))
    sink.set("* defer\n")
    bounce_fail(sink, True)
    start(instance)
    qid = send(instance, ["e@example.org"])
    # The notice cannot be sent: the message is kept and tried again,
    # never dropped.
    instance.wait_log(rf"{qid}: message expired but not returned", 20)
    assert (EXPIRE in [r for _s, r, i, _st in bounce_requests(sink) if i == qid])
    wait_for(lambda: find(instance, "deferred", qid), 5, what="kept in deferred/")
    bounce_fail(sink, False)
    instance.wait_log(rf"{qid}: from=<sender@example\.com>, "
                      r"status=expired, returned to sender", 20)
    instance.wait_log(rf"{qid}: removed", 10)
    assert queue_empty(instance)
    ok = [(svc, r) for svc, r, i, st in bounce_requests(sink) if i == qid and st == 0]
    assert ("bounce", EXPIRE) in ok


def test_bounced_recipient_gets_a_notice_before_removal(instance):
    sink = configure(instance)
    instance.write_master(open(os.path.join(instance.etc, "master.cf")).read()
                          + bounce_services(instance, sink))
    sink.set("* bounce\n")
    bounce_fail(sink, True)
    start(instance)
    qid = send(instance, ["b@example.org"])
    instance.wait_log(rf"{qid}: non-delivery notice not sent", 15)
    wait_for(lambda: find(instance, "deferred", qid), 5, what="kept in deferred/")
    assert find(instance, "bounce", qid)
    bounce_fail(sink, False)
    instance.wait_log(rf"{qid}: removed", 15)
    reqs = [(svc, r, st) for svc, r, i, st in bounce_requests(sink) if i == qid]
    assert reqs[0] == ("bounce", APPEND, 0)
    assert ("bounce", FLUSH, 0) in reqs
    # The agent bounced it once; later passes only retried the notice.
    assert len(sink.requests()) == 1
    assert not find(instance, "bounce", qid)


def test_delay_warning_is_sent_once(instance):
    sink = configure(instance, "delay_warning_time = 1s\n")
    instance.write_master(open(os.path.join(instance.etc, "master.cf")).read()
                          + bounce_services(instance, sink))
    sink.set("* defer\n")
    start(instance)
    qid = send(instance, ["w@example.org"])
    wait_for(lambda: [r for _s, r, i, _st in bounce_requests(sink)
                      if i == qid and r == WARN], 15, what="delay warning")
    tries = len(sink.requests())
    wait_for(lambda: len(sink.requests()) >= tries + 2, 15,
             what="two more delivery attempts")
    warns = [svc for svc, r, i, st in bounce_requests(sink) if i == qid and r == WARN]
    assert warns == ["defer"]
    # A null sender is never warned.
    q2 = send(instance, ["n@example.org"], sender="")
    wait_for(lambda: len([r for r in sink.requests() if r["id"] == q2]) >= 3,
             15, what="three attempts for the bounce")
    assert not [r for _s, r, i, _st in bounce_requests(sink) if i == q2 and r == WARN]


def test_double_bounce_failure_is_discarded(instance):
    sink = configure(instance)
    sink.set("* defer\n")
    start(instance)
    qid = send(instance, ["postmaster@example.org"],
               sender="double-bounce@mx.test.example")
    instance.wait_log(rf"{qid}: undeliverable postmaster notification "
                      r"discarded", 15)
    instance.wait_log(rf"{qid}: removed", 5)
    assert queue_empty(instance)


def test_error_and_discard_transports_with_the_real_bounce(instance):
    for prog in (BOUNCE, ERROR, DISCARD):
        if not os.access(prog, os.X_OK):
            pytest.skip(f"{prog} is not built")
    tmap = os.path.join(instance.etc, "transport")
    with open(tmap, "w") as f:
        f.write("bad.example error:5.1.2 no such domain here\n"
                "gone.example discard:thrown away\n")
    sink = configure(instance, f"transport_maps = texthash:{tmap}\n")
    for prog in (BOUNCE, ERROR, DISCARD):
        link(instance, prog)
    instance.write_master(open(os.path.join(instance.etc, "master.cf")).read()
                          + "bounce unix - - n - 0 bounce\n"
                            "defer unix - - n - 0 bounce\n"
                            "trace unix - - n - 0 bounce\n"
                            "error unix - - n - - error\n"
                            "discard unix - - n - - discard\n")
    start(instance)
    qid = send(instance, ["x@bad.example", "y@gone.example", "z@example.org"])
    instance.wait_log(rf"{qid}: to=<x@bad\.example>, .*status=bounced "
                      r"\(no such domain here\)", 15)
    instance.wait_log(rf"{qid}: to=<y@gone\.example>, .*status=sent", 15)
    instance.wait_log(rf"{qid}: removed", 15)
    # The non-delivery notice went back to the sender, from <>.
    wait_for(lambda: [r for r in sink.delivered()
                      if r["rcpts"] == ["sender@example.com"]], 15,
             what="the bounce delivered to the sender")
    notice = [r for r in sink.delivered() if r["rcpts"] == ["sender@example.com"]][0]
    assert notice["sender"] == "<>" and notice["id"] != qid
    assert [r["rcpts"] for r in sink.delivered() if r["id"] == qid] == [["z@example.org"]]
    wait_for(lambda: queue_empty(instance), 10, what="empty queue")


def test_end_to_end_through_the_real_smtp_agent(instance):
    """smtpd -> cleanup -> qmgr -> smtp -> an SMTP sink: one transaction
    per destination, the recipients of one message together."""
    from mailsinks import Sink as SmtpSink
    for prog in (SMTP, BOUNCE):
        if not os.access(prog, os.X_OK):
            pytest.skip(f"{prog} is not built")
    remote = SmtpSink().start()
    try:
        configure(instance, f"relayhost = [127.0.0.1]:{remote.port}\n"
                            "default_transport = smtp\n"
                            "relay_transport = smtp\n"
                            "smtp_dns_support_level = disabled\n"
                            "smtp_connect_timeout = 5s\n")
        for prog in (SMTP, BOUNCE):
            link(instance, prog)
        instance.write_master(
            open(os.path.join(instance.etc, "master.cf")).read()
            + "smtp unix - - n - - smtp\n"
              "bounce unix - - n - 0 bounce\n"
              "defer unix - - n - 0 bounce\n"
              "trace unix - - n - 0 bounce\n")
        start(instance)
        rcpts = ["a@example.org", "b@example.org", "c@example.org"]
        with smtplib.SMTP("127.0.0.1", instance.port, timeout=10) as c:
            c.ehlo("client.test.example")
            c.sendmail("sender@example.com", rcpts,
                       MSG.replace("\n", "\r\n"))
        msgs = remote.wait_messages(1, timeout=20)
        assert len(msgs) == 1
        assert msgs[0]["mail_from"] == "sender@example.com"
        assert msgs[0]["rcpt_tos"] == rcpts
        assert b"Subject: test" in msgs[0]["data"]
        instance.wait_log(r"to=<c@example\.org>, relay=127\.0\.0\.1\[127\.0\.0\.1\]"
                          r":\d+, .*status=sent", 10)
        wait_for(lambda: queue_empty(instance), 10, what="empty queue")
        assert re.search(r": removed", instance.log())
    finally:
        remote.stop()
