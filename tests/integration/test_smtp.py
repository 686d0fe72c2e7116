"""smtp(8) and lmtp(8): the delivery agents, driven as qmgr drives them.

A real instance (master, smtpd, cleanup, smtp, lmtp) receives a message
through smtpd; the test moves the queue file to active/ (qmgr's job) and
sends one delivery request with tests/fixtures/deliver_send, which reads
the queue file as qmgr does and prints the agent's per-recipient answer.
The next hop is an aiosmtpd sink on 127.0.0.1 (tests/integration/
mailsinks.py), the status logs go to a stand-in bounce service that
records the requests. No DNS: every next hop is an address literal and
smtp_dns_support_level = disabled, except in the DNS test, which runs the
instance inside its own network namespace with its own dnsmasq.
"""

import ctypes
import os
import pwd
import shutil
import smtplib
import subprocess
import time

import pytest

from conftest import TOP, IS_ROOT, free_port, wait_for
import queue_util
from mailsinks import BounceFake, GreetSink, ScriptSink, Sink

SMTPD = os.path.join(TOP, "smtpd", "smtpd")
CLEANUP = os.path.join(TOP, "cleanup", "cleanup")
SMTP = os.path.join(TOP, "smtp", "smtp")
SEND = os.path.join(TOP, "tests", "fixtures", "deliver_send")

SENT, DEFERRED, BOUNCED = 1, 2, 3
DELIVER_FLAG_8BIT = 4


def read_records(path):
    """[(type_char, offset, payload)] of a queue file (doc/queue.md)."""
    return [(t, off, p) for t, p, off in queue_util.read_records(path)]


def content_lines(records):
    lines, cur, on = [], b"", False
    for t, _, p in records:
        if t == "M":
            on = True
        elif t == "X":
            break
        elif on and t == "L":
            cur += p
        elif on and t == "N":
            lines.append(cur + p)
            cur = b""
    return lines


class Agent:
    """The instance plus helpers to queue a message and deliver it."""

    def __init__(self, inst):
        self.inst = inst
        self.bounce = None

    def start(self, extra=""):
        inst = self.inst
        inst.write_main("myhostname = mx.test.example\n"
                        "mydomain = test.example\n"
                        "smtpd_peername_lookup = no\n"
                        "smtp_dns_support_level = disabled\n"
                        "lmtp_dns_support_level = disabled\n"
                        "smtp_connect_timeout = 5s\n"
                        "smtp_helo_timeout = 10s\n"
                        "ipc_timeout = 30s\n" + extra)
        inst.start()
        wait_for(lambda: os.path.exists(os.path.join(inst.queue, "private", "smtp")),
                 what="private/smtp")
        self.bounce = BounceFake(inst)
        return self

    def submit(self, body, sender="sender@test.example", rcpts=("rcpt@dest.example",),
               mail_options=(), rcpt_options=()):
        with smtplib.SMTP("127.0.0.1", self.inst.port, timeout=20) as s:
            s.ehlo("client.test")
            code, msg = s.mail(sender, list(mail_options))
            assert code == 250, msg
            for r in rcpts:
                code, msg = s.rcpt(r, list(rcpt_options))
                assert code == 250, msg
            code, msg = s.data(body)
            assert code == 250, msg
        qid = msg.decode().rsplit(" ", 1)[-1]
        incoming = os.path.join(self.inst.queue, "incoming", qid)
        active_dir = os.path.join(self.inst.queue, "active")
        if not os.path.isdir(active_dir):
            os.makedirs(active_dir, mode=0o700)
            if IS_ROOT:
                pw = pwd.getpwnam(self.inst.owner)
                os.chown(active_dir, pw.pw_uid, pw.pw_gid)
        os.rename(incoming, os.path.join(active_dir, qid))
        return qid

    def deliver(self, qid, nexthop, service="smtp", flags=0, timeout=60):
        args = [SEND, "-F", str(flags), self.inst.queue, qid, nexthop,
                os.path.join(self.inst.queue, "private", service)]
        r = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
        assert r.returncode == 0, f"{r.stdout}{r.stderr}\nlog:\n{self.inst.log()}"
        out = {"rcpt": {}}
        for line in r.stdout.splitlines():
            if line.startswith("rcpt="):
                f = dict(kv.split("=", 1) for kv in line.split(" ")[1:])
                out["rcpt"][line.split(" ")[0][5:]] = (int(f["outcome"]), f["dsn"])
            elif line.startswith("status="):
                head, _, reason = line.partition(" site_reason=")
                f = dict(kv.split("=", 1) for kv in head.split(" "))
                out["status"] = int(f["status"])
                out["site_dsn"] = f["site_dsn"]
                out["site_reason"] = reason
        return out

    def records(self, qid):
        return read_records(os.path.join(self.inst.queue, "active", qid))


@pytest.fixture
def agent(instance):
    for prog in (SMTPD, CLEANUP, SMTP, SEND):
        if not os.access(prog, os.X_OK):
            pytest.fail(f"{prog} is not built")
    for name, prog in (("smtpd", SMTPD), ("cleanup", CLEANUP), ("smtp", SMTP),
                       ("lmtp", SMTP)):
        os.symlink(prog, os.path.join(instance.libexec, name))
    # maxproc 1: consecutive requests reach the same process (reuse).
    instance.write_master(
        f"127.0.0.1:{instance.port} inet n - n - - smtpd\n"
        "cleanup unix n - n - 0 cleanup\n"
        "smtp unix - - n - 1 smtp\n"
        "lmtp unix - - n - 1 lmtp\n")
    a = Agent(instance)
    yield a
    if a.bounce:
        a.bounce.stop()


@pytest.fixture
def sinks():
    made = []

    def make(**kw):
        s = Sink(**kw).start()
        made.append(s)
        return s
    yield make
    for s in made:
        s.stop()


MSG = ("From: sender@test.example\r\n"
       "To: rcpt@dest.example\r\n"
       "Subject: delivery\r\n"
       "\r\n"
       "first line\r\n")


def test_content_byte_exact_pipelined(agent, sinks):
    agent.start("smtp_line_length_limit = 0\nline_length_limit = 1000\n")
    sink = sinks(line_length_limit=10000)
    long_line = "x" * 2500
    body = (MSG + ".leading dot\r\n..two dots\r\n.\r\n" + long_line + "\r\n"
            "trailing blanks   \r\nlast\r\n")
    qid = agent.submit(body)
    lines = content_lines(agent.records(qid))
    # The long line was stored in pieces (L records): joined again on output.
    assert any(t == "L" for t, _, _ in agent.records(qid))
    res = agent.deliver(qid, f"[127.0.0.1]:{sink.port}")
    assert res["rcpt"]["rcpt@dest.example"] == (SENT, "2.0.0")
    assert res["status"] == 0
    msg = sink.wait_messages(1)[0]
    assert msg["data"] == b"".join(l + b"\r\n" for l in lines)
    assert long_line.encode() + b"\r\n" in msg["data"]
    assert b"\r\n.leading dot\r\n..two dots\r\n.\r\n" in msg["data"]
    assert msg["pipelined"] is True
    assert msg["helo"] == "mx.test.example"
    assert msg["mail_from"] == "sender@test.example"
    assert msg["rcpt_tos"] == ["rcpt@dest.example"]
    # The recipient is marked done in place; the log says where it went.
    types = [t for t, _, _ in agent.records(qid)]
    assert "R" not in types and "D" in types
    agent.inst.wait_log(rf"{qid}: to=<rcpt@dest.example>, "
                        rf"relay=127\.0\.0\.1\[127\.0\.0\.1\]:{sink.port}, .*"
                        r"dsn=2\.0\.0, status=sent \(250 2\.0\.0 Ok: queued as SINK1\)")


def test_long_lines_folded_and_no_pipelining(agent, sinks):
    agent.start()
    sink = sinks(pipelining=False)
    qid = agent.submit(MSG + "y" * 2100 + "\r\n")
    res = agent.deliver(qid, f"[127.0.0.1]:{sink.port}")
    assert res["rcpt"]["rcpt@dest.example"][0] == SENT
    data = sink.wait_messages(1)[0]["data"]
    # smtp_line_length_limit = 998: broken with CR LF SPACE.
    assert b"y" * 998 + b"\r\n " + b"y" * 997 + b"\r\n " in data
    assert all(len(l) <= 998 for l in data.split(b"\r\n"))
    assert sink.messages[0]["pipelined"] is False


def test_recipients_sent_bounced_deferred(agent, sinks):
    agent.start()
    sink = sinks(rcpt_replies={
        "bad@dest.example": "550 5.1.1 <bad@dest.example>: no such user",
        "later@dest.example": "451 4.3.0 try again later"})
    qid = agent.submit(MSG, rcpts=("good@dest.example", "bad@dest.example",
                                   "later@dest.example"))
    res = agent.deliver(qid, f"[127.0.0.1]:{sink.port}")
    assert res["rcpt"] == {"good@dest.example": (SENT, "2.0.0"),
                           "bad@dest.example": (BOUNCED, "5.1.1"),
                           "later@dest.example": (DEFERRED, "4.3.0")}
    assert sink.wait_messages(1)[0]["rcpt_tos"] == ["good@dest.example"]
    b = agent.bounce.find("bounce", "bad@dest.example")
    assert len(b) == 1
    assert b[0]["dsn_status"] == "5.1.1"
    assert b[0]["dsn_dtype"] == "smtp"
    assert b[0]["dsn_dtext"] == "550 5.1.1 <bad@dest.example>: no such user"
    assert b[0]["dsn_mtype"] == "dns" and b[0]["dsn_mname"] == "127.0.0.1"
    assert b[0]["dsn_reason"] == ("host 127.0.0.1[127.0.0.1] said: 550 5.1.1 "
                                  "<bad@dest.example>: no such user (in reply to "
                                  "RCPT TO command)")
    d = agent.bounce.find("defer", "later@dest.example")
    assert len(d) == 1 and d[0]["dsn_status"] == "4.3.0"
    assert "said: 451 4.3.0 try again later (in reply to RCPT TO command)" in \
        d[0]["dsn_reason"]
    assert not agent.bounce.find("defer", "good@dest.example")
    # Sent and bounced are done; the deferred one stays to be tried again.
    rcpts = {p.decode(): t for t, _, p in agent.records(qid) if t in "RD"}
    assert rcpts == {"good@dest.example": "D", "bad@dest.example": "D",
                     "later@dest.example": "R"}
    agent.inst.wait_log(r"to=<later@dest\.example>, .*status=deferred \(host "
                        r"127\.0\.0\.1\[127\.0\.0\.1\] said: 451")


def test_mail_from_reply_applies_to_all(agent, sinks):
    agent.start()
    sink = sinks(mail_reply="554 5.7.1 sender refused")
    qid = agent.submit(MSG, rcpts=("a@dest.example", "b@dest.example"))
    res = agent.deliver(qid, f"[127.0.0.1]:{sink.port}")
    assert res["rcpt"] == {"a@dest.example": (BOUNCED, "5.7.1"),
                           "b@dest.example": (BOUNCED, "5.7.1")}
    assert all("(in reply to MAIL FROM command)" in r["dsn_reason"]
               for r in agent.bounce.find("bounce"))
    assert sink.messages == []


def test_data_4xx_defers_all(agent, sinks):
    agent.start()
    sink = sinks(data_reply="452 4.3.1 insufficient storage")
    qid = agent.submit(MSG, rcpts=("a@dest.example", "b@dest.example"))
    res = agent.deliver(qid, f"[127.0.0.1]:{sink.port}")
    assert res["rcpt"] == {"a@dest.example": (DEFERRED, "4.3.1"),
                           "b@dest.example": (DEFERRED, "4.3.1")}
    assert len(agent.bounce.find("defer")) == 2


def test_size_limit_of_server_bounces(agent, sinks):
    agent.start()
    sink = sinks(size=200)
    qid = agent.submit(MSG + "z" * 400 + "\r\n")
    res = agent.deliver(qid, f"[127.0.0.1]:{sink.port}")
    assert res["rcpt"]["rcpt@dest.example"] == (BOUNCED, "5.3.4")
    b = agent.bounce.find("bounce")
    assert len(b) == 1
    assert "exceeds size limit 200 of server 127.0.0.1[127.0.0.1]" in b[0]["dsn_reason"]
    assert sink.messages == []


def test_dsn_parameters_passed_on(agent, sinks):
    agent.start()
    sink = sinks(dsn=True)
    qid = agent.submit(MSG, rcpts=("rcpt@dest.example",),
                       mail_options=("RET=HDRS", "ENVID=env+2Bid"),
                       rcpt_options=("NOTIFY=SUCCESS,FAILURE",
                                     "ORCPT=rfc822;orig+2Bx@dest.example"))
    res = agent.deliver(qid, f"[127.0.0.1]:{sink.port}")
    assert res["rcpt"]["rcpt@dest.example"][0] == SENT
    m = sink.wait_messages(1)[0]
    assert sorted(m["dsn_mail"]) == ["ENVID=env+2Bid", "RET=HDRS"]
    assert m["dsn_rcpt"] == [["NOTIFY=SUCCESS,FAILURE",
                              "ORCPT=rfc822;orig+2Bx@dest.example"]]
    # The server took NOTIFY: it sends the success notice, not us.
    assert not agent.bounce.find("trace")


def test_no_dsn_offered_no_parameters(agent, sinks):
    agent.start()
    sink = sinks(dsn=False)
    qid = agent.submit(MSG, mail_options=("RET=FULL", "ENVID=x"),
                       rcpt_options=("NOTIFY=SUCCESS",))
    res = agent.deliver(qid, f"[127.0.0.1]:{sink.port}")
    assert res["rcpt"]["rcpt@dest.example"][0] == SENT
    m = sink.wait_messages(1)[0]
    assert not any(o.startswith(("RET", "ENVID")) for o in m["mail_options"])
    assert m["rcpt_options"] == []
    # NOTIFY=SUCCESS and a server without DSN: we owe a "relayed" notice.
    t = agent.bounce.find("trace", "rcpt@dest.example")
    assert len(t) == 1 and t[0]["dsn_action"] == "relayed"


def test_8bitmime(agent, sinks):
    agent.start()
    sink = sinks()
    qid = agent.submit((MSG + "caf\u00e9\r\n").encode("utf-8"))
    agent.deliver(qid, f"[127.0.0.1]:{sink.port}", flags=DELIVER_FLAG_8BIT)
    m = sink.wait_messages(1)[0]
    assert "BODY=8BITMIME" in m["mail_options"]
    assert "caf\u00e9".encode() in m["data"]
    # A server without 8BITMIME gets no BODY parameter.
    plain = sinks(eightbit=False)
    qid = agent.submit((MSG + "caf\u00e9\r\n").encode("utf-8"))
    agent.deliver(qid, f"[127.0.0.1]:{plain.port}", flags=DELIVER_FLAG_8BIT)
    assert not any(o.startswith("BODY") for o in plain.wait_messages(1)[0]["mail_options"])


def test_smtputf8(agent, sinks):
    agent.start()
    sink = sinks()
    rcpt = "j\u00f6rg@dest.example"
    qid = agent.submit(MSG, rcpts=(rcpt,), mail_options=("SMTPUTF8",))
    res = agent.deliver(qid, f"[127.0.0.1]:{sink.port}", flags=2)
    assert res["rcpt"][rcpt][0] == SENT
    m = sink.wait_messages(1)[0]
    assert "SMTPUTF8" in m["mail_options"] and m["rcpt_tos"] == [rcpt]
    # A server without SMTPUTF8 cannot take an 8-bit envelope: bounced.
    plain = sinks(smtputf8=False)
    qid = agent.submit(MSG, rcpts=(rcpt,), mail_options=("SMTPUTF8",))
    res = agent.deliver(qid, f"[127.0.0.1]:{plain.port}", flags=2)
    assert res["rcpt"][rcpt] == (BOUNCED, "5.6.7")
    assert plain.messages == []


def test_many_recipients_pipelined_in_windows(agent, sinks):
    agent.start()
    refused = {f"r{i}@dest.example": "550 5.1.1 no" for i in range(0, 300, 7)}
    sink = sinks(rcpt_replies=refused)
    rcpts = [f"r{i}@dest.example" for i in range(300)]
    qid = agent.submit(MSG, rcpts=rcpts)
    res = agent.deliver(qid, f"[127.0.0.1]:{sink.port}")
    for r in rcpts:
        assert res["rcpt"][r][0] == (BOUNCED if r in refused else SENT), r
    m = sink.wait_messages(1)[0]
    assert m["rcpt_tos"] == [r for r in rcpts if r not in refused]


def test_lost_connection_and_timeout_defer(agent):
    closer = ScriptSink(["220 hi", "250 ok", None])
    hanger = ScriptSink(["220 hi", "250 ok", "HANG"])
    try:
        agent.start("smtp_mail_timeout = 1s\n")
        qid = agent.submit(MSG)
        res = agent.deliver(qid, f"[127.0.0.1]:{closer.port}")
        assert res["rcpt"]["rcpt@dest.example"] == (DEFERRED, "4.4.2")
        assert res["site_reason"] == ("lost connection with 127.0.0.1[127.0.0.1] "
                                      "while sending MAIL FROM")
        assert closer.lines[0].startswith(b"EHLO mx.test.example")
        res = agent.deliver(qid, f"[127.0.0.1]:{hanger.port}")
        assert res["rcpt"]["rcpt@dest.example"] == (DEFERRED, "4.4.2")
        assert res["site_reason"] == ("conversation with 127.0.0.1[127.0.0.1] "
                                      "timed out while sending MAIL FROM")
        assert [t for t, _, _ in agent.records(qid) if t in "RD"] == ["R"]
    finally:
        closer.stop()
        hanger.stop()


def test_bind_address_and_inet_protocols(agent, sinks):
    agent.start("smtp_bind_address = 127.0.0.2\n")
    sink = sinks()
    qid = agent.submit(MSG)
    assert agent.deliver(qid, f"[127.0.0.1]:{sink.port}")["rcpt"]["rcpt@dest.example"][0] == SENT
    assert sink.wait_messages(1)[0]["peer"] == "127.0.0.2"
    # An IPv4 next hop when only IPv6 is enabled: our configuration, so
    # the mail waits (deferred), it does not bounce.
    agent.inst.write_main(open(os.path.join(agent.inst.etc, "main.cf")).read()
                          .replace("inet_protocols = ipv4", "inet_protocols = ipv6"))
    agent.inst.postern("reload")
    time.sleep(0.5)
    qid = agent.submit(MSG)
    res = agent.deliver(qid, f"[127.0.0.1]:{sink.port}")
    assert res["rcpt"]["rcpt@dest.example"][0] == DEFERRED
    assert "inet_protocols" in res["site_reason"]


def test_connection_reuse(agent, sinks):
    agent.start("smtp_connection_cache_time_limit = 2s\n")
    sink = sinks()
    nexthop = f"[127.0.0.1]:{sink.port}"
    for i in range(2):
        qid = agent.submit(MSG)
        assert agent.deliver(qid, nexthop)["rcpt"]["rcpt@dest.example"][0] == SENT
    m = sink.wait_messages(2)
    # One TCP connection, one EHLO (aiosmtpd's controller makes a probe
    # connection of its own at start, so count sessions by EHLO).
    assert m[0]["conn"] == m[1]["conn"]
    assert len(sink.ehlo_names) == 1
    assert sink.rsets >= 1  # the cached session was tested before reuse
    # After the time limit the session is closed; the next one is new.
    time.sleep(3)
    qid = agent.submit(MSG)
    assert agent.deliver(qid, nexthop)["rcpt"]["rcpt@dest.example"][0] == SENT
    m = sink.wait_messages(3)
    assert m[2]["conn"] != m[0]["conn"]
    assert len(sink.ehlo_names) == 2


def test_unreachable_deferred_with_site_failure(agent):
    agent.start()
    port = free_port()
    qid = agent.submit(MSG)
    res = agent.deliver(qid, f"[127.0.0.1]:{port}")
    assert res["rcpt"]["rcpt@dest.example"] == (DEFERRED, "4.4.1")
    assert res["site_dsn"] == "4.4.1"
    assert f"connect to 127.0.0.1[127.0.0.1]:{port}: Connection refused" in res["site_reason"]
    agent.inst.wait_log(rf"connect to 127\.0\.0\.1\[127\.0\.0\.1\]:{port}: Connection refused")
    agent.inst.wait_log(rf"{qid}: to=<rcpt@dest\.example>, relay=none, .*status=deferred")
    d = agent.bounce.find("defer")
    assert len(d) == 1 and d[0]["dsn_status"] == "4.4.1"


def test_next_host_after_refusal_and_421_greeting(agent, sinks):
    sink = sinks()
    busy = GreetSink("421 4.3.2 too busy")
    try:
        dead = free_port()
        agent.start(f"smtp_fallback_relay = [127.0.0.1]:{busy.port}, "
                    f"[127.0.0.1]:{sink.port}\n"
                    "smtp_mx_session_limit = 5\n")
        qid = agent.submit(MSG)
        # Not bracketed: the fallback relays apply after the destination.
        res = agent.deliver(qid, f"127.0.0.1:{dead}")
        assert res["rcpt"]["rcpt@dest.example"][0] == SENT
        assert busy.hits == 1
        sink.wait_messages(1)
        agent.inst.wait_log(rf"connect to 127\.0\.0\.1\[127\.0\.0\.1\]:{dead}: Connection refused")
        agent.inst.wait_log(r"host 127\.0\.0\.1\[127\.0\.0\.1\] refused to talk to me: "
                            r"421 4\.3\.2 too busy")
    finally:
        busy.stop()


def test_5xx_greeting_skipped_then_deferred(agent):
    busy = GreetSink("554 5.7.1 go away")
    try:
        agent.start()
        qid = agent.submit(MSG)
        res = agent.deliver(qid, f"[127.0.0.1]:{busy.port}")
        # smtp_skip_5xx_greeting = yes: not final.
        assert res["rcpt"]["rcpt@dest.example"][0] == DEFERRED
        assert "refused to talk to me: 554 5.7.1 go away" in res["site_reason"]
    finally:
        busy.stop()


# --- DNS, inside a network namespace with its own dnsmasq ---------------------

CLONE_NEWNET = 0x40000000


def _setns(fd):
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "setns")


@pytest.fixture
def netns():
    if not IS_ROOT:
        pytest.skip("network namespaces need root")
    if shutil.which("dnsmasq") is None or shutil.which("ip") is None:
        pytest.skip("dnsmasq (dnsmasq-base) and iproute2 are needed")
    name = f"postern-smtp-{os.getpid()}"
    etc = f"/etc/netns/{name}"
    subprocess.run(["ip", "netns", "add", name], check=True, timeout=10)
    subprocess.run(["ip", "netns", "exec", name, "ip", "link", "set", "lo", "up"],
                   check=True, timeout=10)
    os.makedirs(etc, exist_ok=True)
    with open(os.path.join(etc, "resolv.conf"), "w") as f:
        f.write("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
    with open(os.path.join(etc, "hosts"), "w") as f:
        f.write("127.0.0.1 localhost\n")
    home = os.open("/proc/self/ns/net", os.O_RDONLY)
    target = os.open(f"/run/netns/{name}", os.O_RDONLY)
    procs = []
    _setns(target)
    try:
        yield {"name": name, "procs": procs}
    finally:
        _setns(home)
        os.close(home)
        os.close(target)
        for p in procs:
            p.kill()
            p.wait(timeout=10)
        subprocess.run(["ip", "netns", "del", name], timeout=10)
        shutil.rmtree(etc, ignore_errors=True)


def test_dns_mx_order_fallback_nullmx_nxdomain(agent, sinks, netns, tmp_path):
    name = netns["name"]
    dns = subprocess.Popen(
        ["ip", "netns", "exec", name, "dnsmasq", "-k", "--no-resolv", "--no-hosts",
         "--listen-address=127.0.0.1", "--bind-interfaces", "--local=/test/",
         "--mx-host=multi.test,mx1.multi.test,10",
         "--mx-host=multi.test,mx2.multi.test,20",
         "--mx-host=multi.test,mx3.multi.test,30",
         "--host-record=mx1.multi.test,127.0.0.2",
         "--host-record=mx2.multi.test,127.0.0.3",
         "--host-record=mx3.multi.test,127.0.0.4",
         "--host-record=nomx.test,127.0.0.5",
         "--mx-host=nullmx.test,.,0",
         # Queries for servfail.test go to a server that is not there:
         # no answer, the resolver times out (1s, resolv.conf above).
         "--server=/servfail.test/127.0.0.9",
         f"--pid-file={tmp_path}/dnsmasq.pid"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    netns["procs"].append(dns)
    port = free_port()
    # mx1 (127.0.0.2) refuses; mx2 (127.0.0.3) takes the mail; mx3 must
    # not be used. nomx.test has only an A record (127.0.0.5).
    mx2 = sinks(host="127.0.0.3", port=port)
    mx3 = sinks(host="127.0.0.4", port=port)
    plain = sinks(host="127.0.0.5", port=port)
    inst = agent.inst
    inst.write_main("myhostname = mx.test.example\n"
                    "smtpd_peername_lookup = no\n"
                    "smtp_connect_timeout = 5s\n")
    # master must see the namespace's resolv.conf: ip netns exec binds it.
    subprocess.run(["ip", "netns", "exec", name, os.path.join(TOP, "cmd", "postern"),
                    "-c", inst.etc, "start"], check=True, timeout=60)
    inst.master_pid = inst.read_pid()
    wait_for(lambda: os.path.exists(os.path.join(inst.queue, "private", "smtp")),
             what="private/smtp")
    agent.bounce = BounceFake(inst)

    qid = agent.submit(MSG, rcpts=("a@multi.test",))
    res = agent.deliver(qid, f"multi.test:{port}")
    assert res["rcpt"]["a@multi.test"][0] == SENT, inst.log()
    assert len(mx2.wait_messages(1)) == 1 and mx3.messages == []
    inst.wait_log(rf"connect to mx1\.multi\.test\[127\.0\.0\.2\]:{port}: Connection refused")
    inst.wait_log(rf"to=<a@multi\.test>, relay=mx2\.multi\.test\[127\.0\.0\.3\]:{port}")

    qid = agent.submit(MSG, rcpts=("b@nomx.test",))
    assert agent.deliver(qid, f"nomx.test:{port}")["rcpt"]["b@nomx.test"][0] == SENT
    assert len(plain.wait_messages(1)) == 1

    qid = agent.submit(MSG, rcpts=("c@nullmx.test",))
    res = agent.deliver(qid, "nullmx.test")
    assert res["rcpt"]["c@nullmx.test"] == (BOUNCED, "5.1.10")
    assert "Domain nullmx.test does not accept mail" in \
        agent.bounce.find("bounce", "c@nullmx.test")[0]["dsn_reason"]

    qid = agent.submit(MSG, rcpts=("d@nx.test",))
    res = agent.deliver(qid, "nx.test")
    assert res["rcpt"]["d@nx.test"] == (BOUNCED, "5.4.4")
    assert "Host or domain name not found. Name service error for name=nx.test " \
        "type=MX: Host not found" in agent.bounce.find("bounce", "d@nx.test")[0]["dsn_reason"]

    qid = agent.submit(MSG, rcpts=("e@servfail.test",))
    res = agent.deliver(qid, "servfail.test")
    assert res["rcpt"]["e@servfail.test"] == (DEFERRED, "4.4.3")
    assert "Name service error for name=servfail.test type=MX: Host not found, " \
        "try again" in res["site_reason"]


# --- LMTP against Dovecot -------------------------------------------------------

# The dovecot fixture is in conftest.py (shared with test_delivery.py).


def test_lmtp_dovecot_per_recipient(agent, dovecot):
    agent.start()
    qid = agent.submit(MSG + "to dovecot\r\n",
                       rcpts=("alice@test.example", "nobody@test.example",
                              "bob@test.example"))
    # Dovecot knows users by local part here (passwd-file "alice").
    res = agent.deliver(qid, f"unix:{dovecot['sock']}", service="lmtp")
    # Two accepted recipients: two replies after the final dot.
    assert res["rcpt"]["alice@test.example"][0] == SENT, agent.inst.log()
    assert res["rcpt"]["bob@test.example"][0] == SENT
    assert res["rcpt"]["nobody@test.example"] == (BOUNCED, "5.1.1")
    for user in ("alice", "bob"):
        files = list((dovecot["mail"] / user / "new").iterdir())
        assert len(files) == 1
        assert b"to dovecot" in files[0].read_bytes()
    b = agent.bounce.find("bounce", "nobody@test.example")
    assert "(in reply to RCPT TO command)" in b[0]["dsn_reason"]
    agent.inst.wait_log(r"postern/lmtp\[\d+\]: .*to=<alice@test\.example>, "
                        r"relay=mx\.test\.example\[.*lmtp\].*status=sent")
