"""bounce(8) end to end: master + smtpd + cleanup + bounce (as the bounce,
defer and trace services). A message is queued through smtpd; the test
then speaks the bounce protocol itself (what delivery agents and qmgr do)
over private/bounce, private/defer and private/trace, and reads the
notification cleanup queued in incoming/ with Python's email module."""

import email
import os

import pytest

from conftest import wait_for
from queue_util import (HOST, AttrConn, content_text, envelope, queue_files,
                        queue_path, read_records, send_mail, start_instance)

REQ_APPEND, REQ_FLUSH, REQ_EXPIRE, REQ_WARN, REQ_TRACE = 1, 2, 3, 4, 5
NOTIFY_SUCCESS, NOTIFY_FAILURE, NOTIFY_DELAY = 2, 4, 8


def call(inst, service, attrs):
    """One request; the reply's status as an int (None: no reply)."""
    c = AttrConn(os.path.join(inst.queue, "private", service))
    try:
        assert c.read_list() == {"protocol": "bounce_protocol"}
        c.send(attrs)
        reply = c.read_list()
    finally:
        c.close()
    return None if reply is None else int(reply["status"])


def append(inst, service, qid, rcpt, status="5.1.1", action="failed",
           reason="host mx.example.org[192.0.2.7] said: 550 5.1.1 no such user",
           dtype="smtp", dtext="550 5.1.1 no such user", mname="mx.example.org",
           **extra):
    attrs = {"request": REQ_APPEND, "queue_id": qid, "rcpt_address": rcpt,
             "rcpt_offset": 0, "rcpt_notify": 0, "dsn_status": status,
             "dsn_action": action, "dsn_reason": reason, "dsn_dtype": dtype,
             "dsn_dtext": dtext, "dsn_mtype": "dns" if mname else "",
             "dsn_mname": mname}
    attrs.update(extra)
    return call(inst, service, attrs)


def request(inst, service, req, qid, sender="sender@example.com", ret=0,
            envid=""):
    return call(inst, service, {"request": req, "queue_name": "incoming",
                                "queue_id": qid, "sender": sender,
                                "dsn_envid": envid, "dsn_ret": ret})


def notices(inst, exclude):
    return [q for q in queue_files(inst, "incoming") if q not in exclude]


def parse_notice(inst, qid):
    recs = read_records(queue_path(inst, "incoming", qid))
    msg = email.message_from_string(content_text(recs))
    return recs, msg


def dsn_groups(msg):
    """The message/delivery-status part as a list of header dicts."""
    part = [p for p in msg.walk() if p.get_content_type() == "message/delivery-status"]
    assert len(part) == 1
    groups = part[0].get_payload()
    return [dict(g.items()) for g in groups]


@pytest.fixture
def inst(instance):
    return start_instance(instance)


def test_append_then_flush_sends_bounce(inst):
    qid = send_mail(inst, rcpts=("gone@example.org", "ok@example.org"),
                    mail_options=("ENVID=env-42",),
                    rcpt_options=("ORCPT=rfc822;Gone@Example.org",))
    assert append(inst, "bounce", qid, "gone@example.org",
                  rcpt_orcpt="rfc822;Gone@Example.org") == 0
    log = queue_path(inst, "bounce", qid)
    text = open(log).read()
    assert "recipient=gone@example.org\n" in text and "status=5.1.1\n" in text
    assert request(inst, "bounce", REQ_FLUSH, qid, envid="env-42") == 0
    new = notices(inst, {qid})
    assert len(new) == 1
    recs, msg = parse_notice(inst, new[0])
    # Envelope: null sender, to the original sender.
    assert envelope(recs, "S") == [""]
    assert envelope(recs, "R") == ["sender@example.com"]
    assert msg["Subject"] == "Undelivered Mail Returned to Sender"
    assert msg["From"] == f"MAILER-DAEMON@{HOST} (Mail Delivery System)"
    assert msg["To"] == "sender@example.com"
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg["Message-Id"] and new[0] in msg["Message-Id"]
    assert msg.get_content_type() == "multipart/report"
    assert msg.get_param("report-type") == "delivery-status"
    parts = msg.get_payload()
    assert [p.get_content_type() for p in parts] == [
        "text/plain", "message/delivery-status", "message/rfc822"]
    text = parts[0].get_payload()
    assert f"This is the mail system at host {HOST}." in text
    assert "could not" in text and "be delivered to one or more recipients" in text
    assert "<gone@example.org>: host mx.example.org[192.0.2.7] said: 550 5.1.1" in text
    assert "ok@example.org" not in text
    groups = dsn_groups(msg)
    assert groups[0]["Reporting-MTA"] == f"dns; {HOST}"
    assert groups[0]["X-Postern-Queue-ID"] == qid
    assert groups[0]["Original-Envelope-Id"] == "env-42"
    assert "Arrival-Date" in groups[0]
    assert len(groups) == 2
    r = groups[1]
    assert r["Final-Recipient"] == "rfc822; gone@example.org"
    assert r["Original-Recipient"] == "rfc822; Gone@Example.org"
    assert r["Action"] == "failed" and r["Status"] == "5.1.1"
    assert r["Remote-MTA"] == "dns; mx.example.org"
    assert r["Diagnostic-Code"] == "smtp; 550 5.1.1 no such user"
    original = parts[2].get_payload()[0]
    assert original["Subject"] == "test message"
    assert "hello" in original.get_payload()
    # The log is gone once the notice is queued; the log line names it.
    assert not os.path.exists(log)
    inst.wait_log(rf"{qid}: sender non-delivery notification: {new[0]}")


def test_ret_hdrs_returns_headers_only(inst):
    qid = send_mail(inst, mail_options=("RET=HDRS",),
                    body="Subject: secret\n\nthe body is not returned\n")
    assert append(inst, "bounce", qid, "rcpt@example.org") == 0
    assert request(inst, "bounce", REQ_FLUSH, qid, ret=2) == 0
    _, msg = parse_notice(inst, notices(inst, {qid})[0])
    part = msg.get_payload()[2]
    assert part.get_content_type() == "text/rfc822-headers"
    assert "Subject: secret" in part.get_payload()
    assert "not returned" not in content_text(read_records(
        queue_path(inst, "incoming", notices(inst, {qid})[0])))


def test_size_limit_returns_headers_only(instance):
    inst = start_instance(instance, "bounce_size_limit = 100\n")
    qid = send_mail(inst, body="Subject: big\n\n" + "x" * 80 + "\n" + "y" * 80 + "\n")
    assert append(inst, "bounce", qid, "rcpt@example.org") == 0
    assert request(inst, "bounce", REQ_FLUSH, qid) == 0
    _, msg = parse_notice(inst, notices(inst, {qid})[0])
    assert msg.get_payload()[2].get_content_type() == "text/rfc822-headers"


def test_notify_never_gets_no_notice(inst):
    qid = send_mail(inst, rcpt_options=("NOTIFY=NEVER",))
    assert append(inst, "bounce", qid, "rcpt@example.org", rcpt_notify=1) == 0
    assert request(inst, "bounce", REQ_FLUSH, qid) == 0
    assert notices(inst, {qid}) == []
    assert queue_files(inst, "bounce") == []


def test_null_sender_double_bounce(instance):
    # Default notify_classes: a bounce of a bounce is dropped.
    inst = start_instance(instance)
    qid = send_mail(inst, sender="")
    assert append(inst, "bounce", qid, "rcpt@example.org") == 0
    assert request(inst, "bounce", REQ_FLUSH, qid, sender="") == 0
    assert notices(inst, {qid}) == []
    inst.wait_log(rf"{qid}: undeliverable notification to the null sender discarded")


def test_null_sender_double_bounce_to_postmaster(instance):
    inst = start_instance(instance, "notify_classes = 2bounce\n")
    qid = send_mail(inst, sender="")
    assert append(inst, "bounce", qid, "rcpt@example.org") == 0
    assert request(inst, "bounce", REQ_FLUSH, qid, sender="") == 0
    new = notices(inst, {qid})
    assert len(new) == 1
    recs, msg = parse_notice(inst, new[0])
    assert envelope(recs, "S") == [f"double-bounce@{HOST}"]
    assert envelope(recs, "R") == [f"postmaster@{HOST}"]
    assert msg["Subject"] == "Postmaster Copy: Undelivered Mail"
    inst.wait_log(rf"{qid}: postmaster non-delivery notification: {new[0]}")
    # That notice failing in turn is dropped: no triple bounce.
    assert append(inst, "bounce", new[0], f"postmaster@{HOST}") == 0
    assert request(inst, "bounce", REQ_FLUSH, new[0], sender=f"double-bounce@{HOST}") == 0
    assert notices(inst, {qid, new[0]}) == []
    inst.wait_log(rf"{new[0]}: undeliverable postmaster notification discarded")


def test_notify_classes_bounce_copies_postmaster(instance):
    inst = start_instance(instance, "notify_classes = bounce\n")
    qid = send_mail(inst)
    assert append(inst, "bounce", qid, "rcpt@example.org") == 0
    assert request(inst, "bounce", REQ_FLUSH, qid) == 0
    new = notices(inst, {qid})
    assert len(new) == 2
    by_rcpt = {}
    for n in new:
        recs, msg = parse_notice(inst, n)
        by_rcpt[envelope(recs, "R")[0]] = (recs, msg)
    recs, msg = by_rcpt[f"postmaster@{HOST}"]
    assert envelope(recs, "S") == [f"double-bounce@{HOST}"]
    assert msg.get_payload()[2].get_content_type() == "text/rfc822-headers"
    assert "sender@example.com" in by_rcpt


def test_expire_uses_defer_reasons(inst):
    qid = send_mail(inst, rcpts=("slow@example.org", "never@example.org"))
    assert append(inst, "defer", qid, "slow@example.org", status="4.4.1",
                  action="delayed", reason="connect to mx.example.org[192.0.2.7]:25: "
                  "Connection refused", dtype="", dtext="", mname="") == 0
    assert request(inst, "bounce", REQ_EXPIRE, qid) == 0
    _, msg = parse_notice(inst, notices(inst, {qid})[0])
    groups = {g["Final-Recipient"]: g for g in dsn_groups(msg)[1:]}
    slow = groups["rfc822; slow@example.org"]
    assert slow["Action"] == "failed" and slow["Status"] == "4.4.1"
    assert "Connection refused" in slow["Diagnostic-Code"]
    never = groups["rfc822; never@example.org"]
    assert never["Action"] == "failed" and never["Status"] == "4.4.7"
    assert "message expired" in msg.get_payload()[0].get_payload()
    assert queue_files(inst, "defer") == [] and queue_files(inst, "bounce") == []


def test_warn_sends_delay_notice(inst):
    qid = send_mail(inst, rcpts=("slow@example.org", "quiet@example.org"),
                    rcpt_options=())
    for r in ("slow@example.org", "quiet@example.org"):
        assert append(inst, "defer", qid, r, status="4.4.1", action="delayed",
                      reason="connection timed out", dtype="", dtext="", mname="",
                      rcpt_notify=NOTIFY_FAILURE if r.startswith("quiet") else 0) == 0
    assert request(inst, "defer", REQ_WARN, qid) == 0
    new = notices(inst, {qid})
    assert len(new) == 1
    _, msg = parse_notice(inst, new[0])
    assert msg["Subject"] == "Delayed Mail (still being retried)"
    groups = dsn_groups(msg)
    assert [g["Final-Recipient"] for g in groups[1:]] == ["rfc822; slow@example.org"]
    assert groups[1]["Action"] == "delayed"
    assert msg.get_payload()[2].get_content_type() == "text/rfc822-headers"
    # The defer log stays: the message is still being retried.
    assert queue_files(inst, "defer") == [qid]
    inst.wait_log(rf"{qid}: sender delay notification: {new[0]}")


def test_trace_sends_success_notice(inst):
    qid = send_mail(inst, rcpt_options=("NOTIFY=SUCCESS",))
    assert append(inst, "trace", qid, "rcpt@example.org", status="2.0.0",
                  action="relayed", reason="delivered via mx.example.org[192.0.2.7]:25: "
                  "250 ok", dtext="250 ok", rcpt_notify=NOTIFY_SUCCESS) == 0
    assert request(inst, "trace", REQ_TRACE, qid) == 0
    new = notices(inst, {qid})
    _, msg = parse_notice(inst, new[0])
    assert msg["Subject"] == "Successful Mail Delivery Report"
    g = dsn_groups(msg)[1]
    assert g["Action"] == "relayed" and g["Status"] == "2.0.0"
    assert queue_files(inst, "trace") == []


def test_malformed_requests_refused(inst):
    qid = send_mail(inst)
    # A notification request on the wrong service.
    assert request(inst, "defer", REQ_FLUSH, qid) == 1
    assert request(inst, "trace", REQ_EXPIRE, qid) == 1
    # Queue IDs and names that would leave the queue.
    assert append(inst, "bounce", "../../etc/passwd", "x@y") == 1
    assert call(inst, "bounce", {"request": REQ_FLUSH, "queue_name": "../incoming",
                                 "queue_id": qid}) == 1
    # A delivery status that is not one.
    assert append(inst, "bounce", qid, "x@example.org", status="9.9") == 1
    assert append(inst, "bounce", qid, "x@example.org", action="") == 1
    assert append(inst, "bounce", qid, "") == 1
    # An unknown request and an unknown attribute.
    assert call(inst, "bounce", {"request": 99, "queue_id": qid}) == 1
    assert call(inst, "bounce", {"request": REQ_APPEND, "queue_id": qid,
                                 "bogus": "1"}) == 1
    inst.wait_log(r"malformed request")
    assert queue_files(inst, "bounce") == []
    assert notices(inst, {qid}) == []
    # The service still works afterwards.
    assert append(inst, "bounce", qid, "x@example.org") == 0
