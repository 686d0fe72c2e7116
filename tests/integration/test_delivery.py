"""The whole mail system, as an admin runs it: every daemon real.

smtpd -> cleanup -> qmgr -> smtp/lmtp -> a real SMTP server (aiosmtpd)
or Debian's Dovecot LMTP, with bounce/defer/trace making the
notifications, which travel back through cleanup and qmgr like any other
mail. Everything routes to the test's sink through relayhost (no DNS:
smtp_dns_support_level = disabled, smtpd_peername_lookup = no); timers
are short so retries and expiry take seconds.
"""

import email
import email.policy
import os
import re
import smtplib
import subprocess
import time

import pytest

from conftest import TOP, wait_for
from mailsinks import Sink

DAEMONS = ("smtpd", "cleanup", "qmgr", "smtp", "bounce", "error",
           "discard", "showq")
QUEUE_CMD = os.path.join(TOP, "cmd", "postern-queue")

MASTER_CF = """\
cleanup unix n - n - 0 cleanup
qmgr    unix n - n 300 1 qmgr
smtp    unix - - n - - smtp
relay   unix - - n - - smtp
lmtp    unix - - n - - lmtp
bounce  unix - - n - 0 bounce
defer   unix - - n - 0 bounce
trace   unix - - n - 0 bounce
error   unix - - n - - error
discard unix - - n - - discard
showq   unix n - n - - showq
"""


def system(inst, sink, extra=""):
    """Configure inst as a full mail system relaying to sink; start it."""
    for d in DAEMONS:
        prog = os.path.join(TOP, d, d)
        if not os.access(prog, os.X_OK):
            pytest.fail(f"{prog} is not built")
        os.symlink(prog, os.path.join(inst.libexec, d))
    os.symlink(os.path.join(TOP, "smtp", "lmtp"),
               os.path.join(inst.libexec, "lmtp"))
    inst.write_main("myhostname = mx.test.example\n"
                    "mydomain = test.example\n"
                    "mydestination = $myhostname, localhost\n"
                    "inet_interfaces = 127.0.0.1\n"
                    "smtpd_peername_lookup = no\n"
                    "smtp_dns_support_level = disabled\n"
                    f"relayhost = [127.0.0.1]:{sink.port}\n"
                    "queue_run_delay = 1s\n"
                    "minimal_backoff_time = 1s\n"
                    "maximal_backoff_time = 2s\n"
                    + extra)
    inst.write_master(f"127.0.0.1:{inst.port} inet n - n - - smtpd\n"
                      + MASTER_CF)
    inst.start()


def submit(inst, rcpts, sender="sender@sender.example", body="hello\r\n",
           rcpt_options=()):
    msg = ("From: Sender <sender@sender.example>\r\nTo: someone\r\n"
           "Subject: delivery test\r\nMessage-ID: <t1@sender.example>\r\n\r\n"
           + body)
    with smtplib.SMTP("127.0.0.1", inst.port, timeout=10) as c:
        c.ehlo("client.example")
        c.sendmail(sender, rcpts, msg, rcpt_options=list(rcpt_options))


def queue_empty(inst):
    for q in ("incoming", "active", "deferred"):
        for _dir, _sub, names in os.walk(os.path.join(inst.queue, q)):
            if names:
                return False
    return True


def null(sink_msg):
    """Whether the sink got it from the null sender (aiosmtpd says <>)."""
    return sink_msg["mail_from"] in ("", "<>")


def notice(sink_msg):
    """The notification a sink got, parsed."""
    return email.message_from_bytes(sink_msg["data"], policy=email.policy.default)


def status_fields(report):
    """Per-recipient groups of the message/delivery-status part."""
    for part in report.walk():
        if part.get_content_type() == "message/delivery-status":
            groups = part.get_payload()
            return [dict((k.lower(), str(v)) for k, v in g.items())
                    for g in groups[1:]]
    raise AssertionError("no message/delivery-status part")


@pytest.fixture
def sink():
    s = Sink().start()
    yield s
    s.stop()


def test_relay_and_bounce_back_to_the_sender(instance, sink):
    """One recipient accepted, one refused with 550: the good one is
    relayed, the sender gets an RFC 3464 report naming the bad one with
    the remote server's reply, and the queue empties."""
    sink.rcpt_replies["bad@remote.example"] = \
        "550 5.1.1 <bad@remote.example>: no such user"
    system(instance, sink)
    submit(instance, ["good@remote.example", "bad@remote.example"])
    msgs = sink.wait_messages(2, timeout=30)
    relayed = [m for m in msgs if m["mail_from"] == "sender@sender.example"]
    bounces = [m for m in msgs if null(m)]
    assert len(relayed) == 1 and relayed[0]["rcpt_tos"] == ["good@remote.example"]
    assert len(bounces) == 1 and bounces[0]["rcpt_tos"] == ["sender@sender.example"]
    report = notice(bounces[0])
    assert report.get_content_type() == "multipart/report"
    assert report.get_param("report-type") == "delivery-status"
    assert report["Subject"] == "Undelivered Mail Returned to Sender"
    assert report["Auto-Submitted"].startswith("auto-replied")
    (group,) = status_fields(report)
    assert group["final-recipient"] == "rfc822; bad@remote.example"
    assert group["action"] == "failed"
    assert group["status"] == "5.1.1"
    assert group["diagnostic-code"].startswith("smtp; 550 5.1.1")
    assert "127.0.0.1" in group["remote-mta"]
    # The original message comes back with it.
    assert b"Message-ID: <t1@sender.example>" in bounces[0]["data"]
    instance.wait_log(r"to=<good@remote\.example>, relay=127\.0\.0\.1\[127\.0\.0\.1\]"
                      r":\d+, delay=[\d.]+, delays=[\d./]+, dsn=2\.0\.0, status=sent")
    instance.wait_log(r"to=<bad@remote\.example>, .*dsn=5\.1\.1, status=bounced "
                      r"\(host 127\.0\.0\.1\[127\.0\.0\.1\] said: 550 5\.1\.1")
    instance.wait_log(r"sender non-delivery notification: \w+")
    wait_for(lambda: queue_empty(instance), 15, what="an empty queue")


def test_temporary_failure_is_retried_then_delivered_once(instance, sink):
    """A 451 defers the recipient (mailq shows why); once the server
    accepts, the retry after the backoff delivers it exactly once."""
    sink.rcpt_replies["later@remote.example"] = "451 4.3.0 try again later"
    system(instance, sink)
    submit(instance, ["later@remote.example"])
    instance.wait_log(r"to=<later@remote\.example>, .*dsn=4\.3\.0, "
                      r"status=deferred \(host 127\.0\.0\.1\[127\.0\.0\.1\] said: "
                      r"451 4\.3\.0 try again later", 20)
    out = subprocess.run([QUEUE_CMD, "-c", instance.etc, "-p"],
                         capture_output=True, text=True, timeout=20).stdout
    assert "later@remote.example" in out
    assert "451 4.3.0 try again later" in out
    assert len(sink.messages) == 0
    del sink.rcpt_replies["later@remote.example"]
    msgs = sink.wait_messages(1, timeout=30)
    instance.wait_log(r"to=<later@remote\.example>, .*status=sent", 10)
    wait_for(lambda: queue_empty(instance), 15, what="an empty queue")
    time.sleep(2.5)  # more retry rounds would show as a second copy
    assert len(msgs) == 1 and msgs[0]["rcpt_tos"] == ["later@remote.example"]


def test_expired_mail_is_returned_with_the_last_reason(instance, sink):
    """A recipient that keeps getting 4xx is returned when
    maximal_queue_lifetime is over, with the last deferral reason."""
    sink.rcpt_replies["stuck@remote.example"] = "452 4.2.2 mailbox full"
    system(instance, sink, "maximal_queue_lifetime = 3s\n")
    submit(instance, ["stuck@remote.example"])
    bounces = wait_for(lambda: [m for m in sink.messages if null(m)],
                       40, what="the expiry notice")
    (group,) = status_fields(notice(bounces[0]))
    assert group["final-recipient"] == "rfc822; stuck@remote.example"
    assert group["action"] == "failed"
    assert group["status"] == "4.2.2"
    assert "mailbox full" in group["diagnostic-code"]
    wait_for(lambda: queue_empty(instance), 15, what="an empty queue")
    assert not [m for m in sink.messages if not null(m)]


def test_notify_success_gets_a_relayed_notice(instance, sink):
    """NOTIFY=SUCCESS to a server without DSN: the mail is relayed and
    the sender is told so (Action: relayed)."""
    system(instance, sink)
    submit(instance, ["ok@remote.example"],
           rcpt_options=["NOTIFY=SUCCESS,FAILURE"])
    msgs = sink.wait_messages(2, timeout=30)
    reports = [m for m in msgs if null(m)]
    assert len(reports) == 1
    (group,) = status_fields(notice(reports[0]))
    assert group["action"] == "relayed"
    assert group["status"].startswith("2.")


def test_lmtp_to_dovecot_through_transport_maps(instance, sink, dovecot):
    """transport_maps sends one domain to Dovecot over LMTP: a known
    user's mail lands in its Maildir, an unknown one is bounced to the
    sender with Dovecot's reply."""
    tmap = os.path.join(instance.etc, "transport")
    with open(tmap, "w") as f:
        f.write(f"mail.example lmtp:unix:{dovecot['sock']}\n")
    system(instance, sink, f"transport_maps = texthash:{tmap}\n")
    submit(instance, ["alice@mail.example", "zed@mail.example"],
           body="to dovecot\r\n")
    wait_for(lambda: (dovecot["mail"] / "alice" / "new").exists()
             and list((dovecot["mail"] / "alice" / "new").iterdir()),
             20, what="alice's Maildir")
    (path,) = list((dovecot["mail"] / "alice" / "new").iterdir())
    assert b"to dovecot" in path.read_bytes()
    bounces = wait_for(lambda: [m for m in sink.messages if null(m)],
                       20, what="a bounce for zed")
    (group,) = status_fields(notice(bounces[0]))
    assert group["final-recipient"] == "rfc822; zed@mail.example"
    assert group["status"].startswith("5.")
    instance.wait_log(r"to=<alice@mail\.example>, relay=\S+, .*status=sent")
    wait_for(lambda: queue_empty(instance), 15, what="an empty queue")
