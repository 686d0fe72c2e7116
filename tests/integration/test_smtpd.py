"""smtpd(8) end to end: a real master + smtpd + cleanup on 127.0.0.1:<free
port>, driven with smtplib, swaks and raw sockets.

Every test sets smtpd_peername_lookup = no (no DNS), so the client is
"unknown[127.0.0.1]". Queue files are read back with a small record reader
(the framing of doc/queue.md) to check what was queued, not just what the
server said.
"""

import os
import re
import shutil
import smtplib
import socket
import stat
import subprocess
import time

import pytest

from conftest import TOP, wait_for
import queue_util

SMTPD = os.path.join(TOP, "smtpd", "smtpd")
CLEANUP = os.path.join(TOP, "cleanup", "cleanup")
HOST = "mx.test.example"


# --- queue files -------------------------------------------------------------

def read_records(path):
    """[(type_char, payload_bytes)] of a queue file."""
    return [(t, p) for t, p, _off in queue_util.read_records(path)]


def content_text(records):
    """The message content as text (N ends a line, L continues one)."""
    lines, cur = [], b""
    in_content = False
    for t, p in records:
        if t == "M":
            in_content = True
        elif t == "X":
            break
        elif in_content and t == "L":
            cur += p
        elif in_content and t == "N":
            lines.append((cur + p).decode("utf-8", "replace"))
            cur = b""
    return "\n".join(lines)


def envelope(records, rtype):
    return [p.decode() for t, p in records if t == rtype]


# --- the instance ------------------------------------------------------------

def need_daemons():
    for prog in (SMTPD, CLEANUP):
        if not os.access(prog, os.X_OK):
            pytest.fail(f"{prog} is not built")


def setup_instance(inst, extra=""):
    need_daemons()
    for prog in (SMTPD, CLEANUP):
        link = os.path.join(inst.libexec, os.path.basename(prog))
        if not os.path.exists(link):
            os.symlink(prog, link)
    inst.write_main(f"myhostname = {HOST}\n"
                    "mydomain = test.example\n"
                    "smtpd_peername_lookup = no\n"
                    "inet_interfaces = 127.0.0.1\n"
                    # Any local recipient exists (test_smtpd_recipients.py
                    # tests smtpd_reject_unlisted_recipient).
                    "local_recipient_maps =\n"
                    + extra)
    inst.write_master(f"127.0.0.1:{inst.port} inet n - n - - smtpd\n"
                      "cleanup unix n - n - 0 cleanup\n")


def start(inst, extra=""):
    setup_instance(inst, extra)
    inst.start()
    return inst


def incoming(inst):
    d = os.path.join(inst.queue, "incoming")
    if not os.path.isdir(d):
        return []
    return sorted(os.listdir(d))


def queue_file(inst, qid):
    return os.path.join(inst.queue, "incoming", qid)


class Raw:
    """A raw SMTP client that reads whole replies."""

    def __init__(self, port, timeout=10.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else data.encode())

    def line(self):
        while b"\n" not in self.buf:
            d = self.sock.recv(65536)
            if not d:
                raise EOFError(f"closed; have {self.buf!r}")
            self.buf += d
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r").decode()

    def reply(self):
        """One (possibly multi-line) reply as a list of lines."""
        lines = [self.line()]
        while len(lines[-1]) > 3 and lines[-1][3] == "-":
            lines.append(self.line())
        return lines

    def cmd(self, text):
        self.send(text + "\r\n")
        return self.reply()[-1]

    def closed(self, timeout=5.0):
        """True if the server closes the connection (after any data)."""
        self.sock.settimeout(timeout)
        try:
            while True:
                d = self.sock.recv(65536)
                if not d:
                    return True
                self.buf += d
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False

    def close(self):
        self.sock.close()


def session(inst, helo="EHLO client.test.example"):
    c = Raw(inst.port)
    assert c.reply()[0].startswith("220 ")
    if helo:
        r = c.cmd(helo)
        assert r.startswith("250"), r
    return c


def send_message(c, sender, rcpts, body):
    assert c.cmd(f"MAIL FROM:<{sender}>").startswith("250")
    for r in rcpts:
        assert c.cmd(f"RCPT TO:<{r}>").startswith("250")
    assert c.cmd("DATA").startswith("354")
    c.send(body + "\r\n.\r\n")
    return c.reply()[-1]


QUEUED = re.compile(r"^250 2\.0\.0 Ok: queued as (\S+)$")


# --- tests -------------------------------------------------------------------

def test_greeting_ehlo_and_simple_commands(instance):
    start(instance)
    c = Raw(instance.port)
    assert c.reply() == [f"220 {HOST} ESMTP postern"]
    c.send("EHLO client.test.example\r\n")
    ehlo = c.reply()
    assert ehlo[0] == f"250-{HOST}"
    keywords = [l[4:] for l in ehlo[1:]]
    assert keywords == ["PIPELINING", "SIZE 10240000", "ENHANCEDSTATUSCODES",
                        "8BITMIME", "DSN", "SMTPUTF8", "CHUNKING"]
    assert ehlo[-1].startswith("250 ")
    assert c.cmd("HELO again.test.example") == f"250 {HOST}"
    assert c.cmd("NOOP") == "250 2.0.0 Ok"
    assert c.cmd("RSET") == "250 2.0.0 Ok"
    assert c.cmd("VRFY root") == "502 5.5.1 VRFY command is disabled"
    assert c.cmd("XYZZY") == "502 5.5.2 Error: command not recognized"
    assert c.cmd("STARTTLS") == "502 5.5.1 Error: command not implemented"
    assert c.cmd("HELP").startswith("214 2.0.0")
    assert c.cmd("RCPT TO:<a@localhost>") == "503 5.5.1 Error: need MAIL command"
    assert c.cmd("DATA") == "503 5.5.1 Error: need RCPT command"
    assert c.cmd("MAIL FROM:<a@test.example>") == "250 2.1.0 Ok"
    assert c.cmd("MAIL FROM:<a@test.example>") == "503 5.5.1 Error: nested MAIL command"
    assert c.cmd("DATA") == "554 5.5.1 Error: no valid recipients"
    assert c.cmd("QUIT") == "221 2.0.0 Bye"
    assert c.closed()
    instance.wait_log(r"disconnect from unknown\[127\.0\.0\.1\] helo=1 ehlo=1 "
                      r"starttls=0/1 mail=1/2 rcpt=0/1 data=0/2 rset=1 noop=1 vrfy=0/1 "
                      r"help=1 quit=1 unknown=0/1 commands=7/14")
    # Nothing half-made is left behind by the aborted transaction.
    wait_for(lambda: incoming(instance) == [], 10, what="incoming/ empty")


def test_vrfy_enabled_and_helo_required(instance):
    start(instance, "disable_vrfy_command = no\nsmtpd_helo_required = yes\n")
    c = session(instance, helo=None)
    assert c.cmd("MAIL FROM:<a@test.example>") == "503 5.5.1 Error: send HELO/EHLO first"
    c.send("EHLO client.test.example\r\n")
    assert "250-VRFY" in c.reply()
    assert c.cmd("VRFY") == "501 5.5.4 Syntax: VRFY address"
    assert c.cmd("VRFY someone").startswith("252 2.0.0")
    assert c.cmd("EHLO") == "501 5.5.4 Syntax: EHLO hostname"
    assert c.cmd("EHLO a\rb.example") == "501 5.5.4 Syntax: EHLO hostname"
    assert c.cmd("HELO a\tb.example") == "501 5.5.4 Syntax: HELO hostname"
    c.cmd("QUIT")


def test_message_is_queued_complete_with_received_header(instance):
    start(instance)
    with smtplib.SMTP("127.0.0.1", instance.port, timeout=20) as s:
        s.ehlo("client.test.example")
        code, resp = s.mail("sender@test.example")
        assert code == 250
        code, resp = s.rcpt("friend@elsewhere.example")  # relay: we are in mynetworks
        assert code == 250
        code, resp = s.data(b"Subject: hello\r\n\r\nline one\r\n.leading dot\r\n")
        assert code == 250
        m = re.match(r"2\.0\.0 Ok: queued as (\S+)$", resp.decode())
        assert m, resp
        qid = m.group(1)
    path = queue_file(instance, qid)
    assert os.path.exists(path), os.listdir(os.path.dirname(path))
    assert stat.S_IMODE(os.stat(path).st_mode) & 0o700 == 0o700
    recs = read_records(path)
    assert envelope(recs, "S") == ["sender@test.example"]
    assert envelope(recs, "R") == ["friend@elsewhere.example"]
    attrs = envelope(recs, "A")
    assert "client_address=127.0.0.1" in attrs
    assert "client_name=unknown" in attrs
    assert "helo_name=client.test.example" in attrs
    assert "protocol_name=ESMTP" in attrs
    assert "rewrite_context=remote" in attrs
    text = content_text(recs)
    assert re.match(
        r"Received: from client\.test\.example \(unknown \[127\.0\.0\.1\]\)\n"
        rf"\tby {re.escape(HOST)} \(postern\) with ESMTP id {qid}\n"
        r"\tfor <friend@elsewhere\.example>; \w\w\w, \d\d \w\w\w \d{4} ", text), text
    # cleanup adds the headers that are missing after the client's own.
    assert "\nSubject: hello\n" in text
    assert text.endswith("\n\nline one\n.leading dot")
    instance.wait_log(r"connect from unknown\[127\.0\.0\.1\]")
    instance.wait_log(rf"{qid}: client=unknown\[127\.0\.0\.1\]")
    instance.wait_log(r"disconnect from unknown\[127\.0\.0\.1\] ehlo=1 mail=1 "
                      r"rcpt=1 data=1 quit=1 commands=5")


def test_two_recipients_received_has_no_for_clause(instance):
    start(instance)
    c = session(instance)
    r = send_message(c, "s@test.example", ["a@localhost", "b@localhost"],
                     "Subject: two\r\n\r\nbody")
    qid = QUEUED.match(r).group(1)
    c.cmd("QUIT")
    text = content_text(read_records(queue_file(instance, qid)))
    assert re.match(rf"Received: from client\.test\.example \(unknown \[127\.0\.0\.1\]\)\n"
                    rf"\tby {re.escape(HOST)} \(postern\) with ESMTP id {qid};\n\t\w\w\w, ",
                    text), text
    assert "for <" not in text.split("Subject")[0]


def test_relay_from_outside_mynetworks_is_refused(instance):
    start(instance, "mynetworks = 192.0.2.0/24\n")
    c = session(instance)
    assert c.cmd("MAIL FROM:<s@outside.example>") == "250 2.1.0 Ok"
    assert c.cmd("RCPT TO:<victim@elsewhere.example>") == \
        "454 4.7.1 <victim@elsewhere.example>: Relay access denied"
    # Our own domains are still accepted from anyone.
    assert c.cmd("RCPT TO:<postmaster@localhost>") == "250 2.1.5 Ok"
    assert c.cmd(f"RCPT TO:<postmaster@{HOST}>") == "250 2.1.5 Ok"
    assert c.cmd("RCPT TO:<postmaster@localhost.test.example>") == "250 2.1.5 Ok"
    assert c.cmd("RCPT TO:<x%elsewhere.example@localhost.example>").startswith("454 4.7.1")
    c.cmd("QUIT")
    instance.wait_log(r": reject: RCPT from unknown\[127\.0\.0\.1\]: 454 4\.7\.1 "
                      r"<victim@elsewhere\.example>: Relay access denied; "
                      r"from=<s@outside\.example> to=<victim@elsewhere\.example> "
                      r"proto=ESMTP helo=<client\.test\.example>")


def test_reject_unauth_destination_and_relay_domains(instance):
    start(instance, "mynetworks = 192.0.2.0/24\n"
                    "relay_domains = relayed.example\n"
                    "smtpd_relay_restrictions = permit_mynetworks, "
                    "reject_unauth_destination\n")
    c = session(instance)
    c.cmd("MAIL FROM:<s@outside.example>")
    assert c.cmd("RCPT TO:<v@elsewhere.example>") == \
        "554 5.7.1 <v@elsewhere.example>: Relay access denied"
    assert c.cmd("RCPT TO:<v@relayed.example>") == "250 2.1.5 Ok"
    assert c.cmd("RCPT TO:<v@sub.relayed.example>") == "250 2.1.5 Ok"
    assert c.cmd("RCPT TO:<a%b@relayed.example>").startswith("554 5.7.1")
    assert c.cmd("RCPT TO:<v@[192.0.2.77]>").startswith("554 5.7.1")
    assert c.cmd("RCPT TO:<v@[127.0.0.1]>") == "250 2.1.5 Ok"
    c.cmd("QUIT")


def test_a_list_without_relay_control_refuses_everything(instance):
    start(instance, "smtpd_relay_restrictions = permit_mynetworks\n")
    c = session(instance)
    c.cmd("MAIL FROM:<s@test.example>")
    assert c.cmd("RCPT TO:<a@localhost>") == "451 4.3.5 Server configuration error"
    c.cmd("QUIT")
    instance.wait_log(r"warning: in parameter smtpd_relay_restrictions or "
                      r"smtpd_recipient_restrictions")


def test_unknown_restriction_is_a_config_error(instance):
    start(instance, "smtpd_recipient_restrictions = reject_everything_bad\n")
    c = session(instance)
    c.cmd("MAIL FROM:<s@test.example>")
    assert c.cmd("RCPT TO:<a@localhost>") == "451 4.3.5 Server configuration error"
    c.cmd("QUIT")
    instance.wait_log(r'warning: smtpd_recipient_restrictions: unknown smtpd '
                      r'restriction: "reject_everything_bad"')


def test_access_tables(instance, tmp_path):
    rcpt = tmp_path / "rcpt_access"
    rcpt.write_text("reject@localhost   REJECT go away\n"
                    "defer@localhost    DEFER\n"
                    "temp@localhost     450 4.2.0 try later\n"
                    "perm@localhost     550 no such user here\n"
                    "ok@localhost       OK\n"
                    "num@localhost      12345\n"
                    "dunno@localhost    DUNNO\n"
                    "weird@localhost    FROB\n"
                    "hold@localhost     HOLD\n"
                    "discard@localhost  DISCARD\n")
    sender = tmp_path / "sender_access"
    sender.write_text("spammer.example  REJECT\n<>  OK\n")
    start(instance,
          f"smtpd_sender_restrictions = check_sender_access texthash:{sender}\n"
          f"smtpd_recipient_restrictions = check_recipient_access texthash:{rcpt}, "
          "reject\n")
    c = session(instance)
    c.cmd("MAIL FROM:<s@test.example>")
    assert c.cmd("RCPT TO:<reject@localhost>") == \
        "554 5.7.1 <reject@localhost>: Recipient address rejected: go away"
    assert c.cmd("RCPT TO:<defer@localhost>") == \
        "450 4.7.1 <defer@localhost>: Recipient address rejected: Access denied"
    assert c.cmd("RCPT TO:<temp@localhost>") == \
        "450 4.2.0 <temp@localhost>: Recipient address rejected: try later"
    assert c.cmd("RCPT TO:<perm@localhost>") == \
        "550 5.7.1 <perm@localhost>: Recipient address rejected: no such user here"
    assert c.cmd("RCPT TO:<ok@localhost>") == "250 2.1.5 Ok"
    assert c.cmd("RCPT TO:<num@localhost>") == "250 2.1.5 Ok"
    assert c.cmd("RCPT TO:<dunno@localhost>") == \
        "554 5.7.1 <dunno@localhost>: Recipient address rejected: Access denied"
    assert c.cmd("RCPT TO:<weird@localhost>") == "451 4.3.5 Server configuration error"
    # HOLD: accepted here; the message is checked below to land in hold/.
    assert c.cmd("RCPT TO:<hold@localhost>") == "250 2.1.5 Ok"
    # DISCARD: the client hears "queued", nothing is queued.
    assert c.cmd("RCPT TO:<discard@localhost>") == "250 2.1.5 Ok"
    assert c.cmd("DATA").startswith("354")
    c.send("Subject: gone\r\n\r\nx\r\n.\r\n")
    m = QUEUED.match(c.reply()[-1])
    assert m
    instance.wait_log(r"discard: RCPT from unknown\[127\.0\.0\.1\]: "
                      r"<discard@localhost>: Recipient address triggers DISCARD action")
    wait_for(lambda: incoming(instance) == [], 10, what="discarded: no file")
    # HOLD alone: queued, but into hold/ where qmgr never looks.
    assert c.cmd("MAIL FROM:<s@test.example>") == "250 2.1.0 Ok"
    assert c.cmd("RCPT TO:<hold@localhost>") == "250 2.1.5 Ok"
    assert c.cmd("DATA").startswith("354")
    c.send("Subject: held\r\n\r\nx\r\n.\r\n")
    m = QUEUED.match(c.reply()[-1])
    assert m
    held = os.path.join(instance.queue, "hold", m.group(1))
    assert os.path.exists(held)
    assert os.stat(held).st_mode & 0o777 == 0o700
    assert incoming(instance) == []
    instance.wait_log(r"hold: RCPT from unknown\[127\.0\.0\.1\]: "
                      r"<hold@localhost>: Recipient address triggers HOLD action")
    # smtpd_delay_reject: the sender is refused at RCPT time.
    assert c.cmd("MAIL FROM:<bad@spammer.example>") == "250 2.1.0 Ok"
    assert c.cmd("RCPT TO:<ok@localhost>") == \
        "554 5.7.1 <bad@spammer.example>: Sender address rejected: Access denied"
    c.cmd("QUIT")


def test_client_and_helo_access_inline(instance):
    start(instance,
          "smtpd_client_restrictions = check_client_access "
          "inline:{ 127.0.0.1=DEFER_IF_PERMIT }\n"
          "smtpd_helo_restrictions = reject_invalid_helo_hostname, "
          "reject_non_fqdn_helo_hostname, check_helo_access inline:{ bad.example=REJECT }\n"
          "smtpd_sender_restrictions = reject_non_fqdn_sender\n"
          "smtpd_recipient_restrictions = reject_non_fqdn_recipient\n")
    c = session(instance, helo="EHLO bad.example")
    c.cmd("MAIL FROM:<s@test.example>")
    assert c.cmd("RCPT TO:<a@localhost.test.example>") == \
        "554 5.7.1 <bad.example>: Helo command rejected: Access denied"
    assert c.cmd("EHLO nodots").startswith("250")
    c.cmd("MAIL FROM:<s@test.example>")
    assert c.cmd("RCPT TO:<a@localhost.test.example>") == \
        "504 5.5.2 <nodots>: Helo command rejected: need fully-qualified hostname"
    assert c.cmd("EHLO bad!name").startswith("250")
    c.cmd("MAIL FROM:<s@test.example>")
    assert c.cmd("RCPT TO:<a@localhost.test.example>") == \
        "501 5.5.2 <bad!name>: Helo command rejected: Invalid name"
    assert c.cmd("EHLO good.test.example").startswith("250")
    c.cmd("MAIL FROM:<s@localhost>")
    assert c.cmd("RCPT TO:<a@localhost.test.example>") == \
        "504 5.5.2 <s@localhost>: Sender address rejected: need fully-qualified address"
    c.cmd("RSET")
    c.cmd("MAIL FROM:<s@test.example>")
    assert c.cmd("RCPT TO:<a@localhost>") == \
        "504 5.5.2 <a@localhost>: Recipient address rejected: need fully-qualified address"
    # Everything passes: DEFER_IF_PERMIT from the client table now defers.
    assert c.cmd("RCPT TO:<a@localhost.test.example>") == \
        "450 4.7.1 <unknown[127.0.0.1]>: Client host rejected: Access denied"
    c.cmd("QUIT")


def test_client_reject_without_delay(instance):
    start(instance, "smtpd_delay_reject = no\n"
                    "smtpd_client_restrictions = check_client_access "
                    "inline:{ 127.0.0.1=REJECT }\n")
    c = Raw(instance.port)
    assert c.reply()[0].startswith("220")
    msg = "554 5.7.1 <unknown[127.0.0.1]>: Client host rejected: Access denied"
    assert c.cmd("EHLO x.test.example") == msg
    assert c.cmd("MAIL FROM:<a@test.example>") == msg
    c.cmd("QUIT")
    instance.wait_log(r"NOQUEUE: reject: CONNECT from unknown\[127\.0\.0\.1\]: 554 5\.7\.1")


def test_size_parameter_over_limit(instance):
    start(instance, "message_size_limit = 1000\n")
    c = session(instance)
    assert c.cmd("MAIL FROM:<a@test.example> SIZE=1001") == \
        "552 5.3.4 Message size exceeds fixed limit"
    assert c.cmd("MAIL FROM:<a@test.example> SIZE=999") == "250 2.1.0 Ok"
    c.cmd("QUIT")


def test_data_over_limit_is_refused_and_not_queued(instance):
    start(instance, "message_size_limit = 1000\n")
    c = session(instance)
    body = "Subject: big\r\n\r\n" + ("x" * 70 + "\r\n") * 100
    assert send_message(c, "a@test.example", ["b@localhost"], body) == \
        "552 5.3.4 Message size exceeds fixed limit"
    # The session goes on in step.
    assert c.cmd("NOOP") == "250 2.0.0 Ok"
    r = send_message(c, "a@test.example", ["b@localhost"], "Subject: small\r\n\r\nok")
    qid = QUEUED.match(r).group(1)
    c.cmd("QUIT")
    wait_for(lambda: incoming(instance) == [qid], 10,
             what=f"only {qid} in incoming/: {incoming(instance)}")


def test_recipient_limit(instance):
    start(instance, "smtpd_recipient_limit = 2\n")
    c = session(instance)
    c.cmd("MAIL FROM:<a@test.example>")
    assert c.cmd("RCPT TO:<a@localhost>") == "250 2.1.5 Ok"
    assert c.cmd("RCPT TO:<b@localhost>") == "250 2.1.5 Ok"
    assert c.cmd("RCPT TO:<c@localhost>") == "452 4.5.3 Error: too many recipients"
    c.cmd("QUIT")


def test_error_limits_tarpit_then_disconnect(instance):
    start(instance, "smtpd_soft_error_limit = 1\nsmtpd_hard_error_limit = 3\n"
                    "smtpd_error_sleep_time = 1s\n")
    c = session(instance)
    t0 = time.monotonic()
    assert c.cmd("BOGUS1") == "502 5.5.2 Error: command not recognized"
    t1 = time.monotonic()
    assert c.cmd("BOGUS2") == "502 5.5.2 Error: command not recognized"
    t2 = time.monotonic()
    assert t1 - t0 < 0.9        # below the soft limit: no delay
    assert t2 - t1 >= 0.9       # past it: tarpit
    assert c.cmd("BOGUS3") == "502 5.5.2 Error: command not recognized"
    assert c.reply()[-1] == f"421 4.7.0 {HOST} Error: too many errors"
    assert c.closed()
    instance.wait_log(r"too many errors after UNKNOWN from unknown\[127\.0\.0\.1\]")


SMUGGLE = [b"\n.\n", b"\r\n.\n", b"\n.\r\n", b"\r.\r", b"\r\n.\r\r\n", b"\r\n\x00.\r\n"]


@pytest.mark.parametrize("seq", SMUGGLE, ids=[repr(s) for s in SMUGGLE])
def test_smuggling_is_one_message(instance, seq):
    start(instance)
    c = session(instance)
    assert c.cmd("MAIL FROM:<good@test.example>").startswith("250")
    assert c.cmd("RCPT TO:<victim@localhost>").startswith("250")
    assert c.cmd("DATA").startswith("354")
    c.send(b"Subject: real\r\n\r\nhello" + seq +
           b"MAIL FROM:<admin@test.example>\r\nRCPT TO:<victim@localhost>\r\n"
           b"DATA\r\nSubject: smuggled\r\n\r\nsmuggled text\r\n.\r\n")
    r = c.reply()[-1]
    assert QUEUED.match(r), r
    qid = QUEUED.match(r).group(1)
    assert c.cmd("QUIT") == "221 2.0.0 Bye"   # no extra replies in between
    assert c.closed()
    assert incoming(instance) == [qid]
    text = content_text(read_records(queue_file(instance, qid)))
    assert "smuggled text" in text
    assert "MAIL FROM:<admin@test.example>" in text


def test_bare_lf_reject_mode(instance):
    start(instance, "smtpd_forbid_bare_newline = reject\n"
                    "smtpd_forbid_bare_newline_exclusions =\n")
    c = session(instance)
    c.send("NOOP\n")
    assert c.reply()[-1] == "550 5.5.2 Error: bare <LF> received"
    assert c.cmd("MAIL FROM:<a@test.example>").startswith("250")
    assert c.cmd("RCPT TO:<b@localhost>").startswith("250")
    assert c.cmd("DATA").startswith("354")
    c.send("Subject: x\r\n\r\nbare\nline\r\n.\r\n")
    assert c.reply()[-1] == "550 5.5.2 Error: bare <LF> received"
    assert c.cmd("QUIT") == "221 2.0.0 Bye"
    wait_for(lambda: incoming(instance) == [], 10, what="no queue file")


def test_bare_lf_reject_521_disconnects_and_exclusions(instance):
    start(instance, "smtpd_forbid_bare_newline = reject\n"
                    "smtpd_forbid_bare_newline_reject_code = 521\n"
                    "smtpd_forbid_bare_newline_exclusions = 192.0.2.0/24\n")
    c = session(instance)
    c.send("NOOP\n")
    assert c.reply()[-1] == "521 5.5.2 Error: bare <LF> received"
    assert c.closed()


def test_bare_lf_excluded_client_is_normalized(instance):
    start(instance, "smtpd_forbid_bare_newline = reject\n")  # exclusions = $mynetworks
    c = session(instance)
    c.send("NOOP\n")
    assert c.reply()[-1] == "250 2.0.0 Ok"
    c.cmd("QUIT")


def test_unauth_pipelining_disconnects(instance):
    start(instance)
    c = session(instance, helo="HELO client.test.example")
    c.send("MAIL FROM:<a@test.example>\r\nRCPT TO:<b@localhost>\r\n")
    assert c.reply()[-1] == "554 5.5.0 Error: SMTP protocol synchronization"
    assert c.closed()
    instance.wait_log(r"improper command pipelining after MAIL from "
                      r"unknown\[127\.0\.0\.1\]: RCPT TO:<b@localhost>")


def test_pipelining_after_data_disconnects(instance):
    start(instance)
    c = session(instance)
    c.send("MAIL FROM:<a@test.example>\r\nRCPT TO:<b@localhost>\r\nDATA\r\n"
           "Subject: x\r\n\r\nbody\r\n.\r\n")
    assert c.reply()[-1] == "250 2.1.0 Ok"
    assert c.reply()[-1] == "250 2.1.5 Ok"
    assert c.reply()[-1] == "554 5.5.0 Error: SMTP protocol synchronization"
    assert c.closed()
    wait_for(lambda: incoming(instance) == [], 10, what="no queue file")


def test_pregreeting_client_is_refused(instance):
    start(instance)
    s = socket.create_connection(("127.0.0.1", instance.port), timeout=10)
    s.sendall(b"EHLO early.example\r\nMAIL FROM:<a@test.example>\r\n")
    data = b""
    s.settimeout(10)
    while True:
        d = s.recv(4096)
        if not d:
            break
        data += d
    s.close()
    assert b"554 5.5.0 Error: SMTP protocol synchronization\r\n" in data


def test_legitimate_pipelining_with_swaks(instance):
    if shutil.which("swaks") is None:
        pytest.skip("swaks is not installed")
    start(instance)
    r = subprocess.run(["swaks", "--server", f"127.0.0.1:{instance.port}",
                        "--from", "a@test.example", "--to", "b@localhost",
                        "--ehlo", "client.test.example", "--pipeline",
                        "--body", "hello from swaks", "--timeout", "20"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    m = re.search(r"250 2\.0\.0 Ok: queued as (\S+)", r.stdout)
    assert m, r.stdout
    text = content_text(read_records(queue_file(instance, m.group(1))))
    assert "hello from swaks" in text


def test_nul_and_long_command(instance):
    start(instance)
    c = session(instance)
    assert c.cmd("NOOP\x00x") == "500 5.5.2 Error: NUL character in command"
    assert c.cmd("NOOP " + "x" * 5000) == "500 5.5.2 Error: command line too long"
    assert c.cmd("NOOP") == "250 2.0.0 Ok"
    c.cmd("QUIT")


def test_disconnect_mid_data_leaves_no_file(instance):
    start(instance)
    c = session(instance)
    c.cmd("MAIL FROM:<a@test.example>")
    c.cmd("RCPT TO:<b@localhost>")
    assert c.cmd("DATA").startswith("354")
    c.send("Subject: cut\r\n\r\npartial line\r\nQUIT\r\nRSET\r\n")
    time.sleep(0.3)
    c.close()
    instance.wait_log(r"lost connection after DATA from unknown\[127\.0\.0\.1\]")
    wait_for(lambda: incoming(instance) == [], 10,
             what=f"no queue file: {incoming(instance)}")


def test_bdat_chunking(instance):
    start(instance)
    c = session(instance)
    c.cmd("MAIL FROM:<a@test.example> BODY=8BITMIME")
    c.cmd("RCPT TO:<b@localhost>")
    part1 = b"Subject: chunks\r\n\r\nfirst "
    part2 = b"line\r\n.dot stays\r\nlast line no crlf"
    c.send(b"BDAT %d\r\n" % len(part1) + part1)
    assert c.reply()[-1] == f"250 2.0.0 Ok: {len(part1)} bytes"
    c.send(b"BDAT %d LAST\r\n" % len(part2) + part2)
    r = c.reply()[-1]
    qid = QUEUED.match(r).group(1)
    c.cmd("QUIT")
    recs = read_records(queue_file(instance, qid))
    text = content_text(recs)
    assert "\nSubject: chunks\n" in text
    assert text.endswith("\n\nfirst line\n.dot stays\nlast line no crlf")
    assert "encoding=8bit" in envelope(recs, "A")


def test_bdat_refused_and_rset_leaves_no_file(instance):
    start(instance)
    c = session(instance)
    c.send(b"BDAT 5\r\nabcde")
    assert c.reply()[-1] == "503 5.5.1 Error: need RCPT command"
    c.send(b"BDAT 3 LAST\r\nxyz")
    assert c.reply()[-1] == "503 5.5.1 Error: need RCPT command"
    c.cmd("MAIL FROM:<a@test.example>")
    c.cmd("RCPT TO:<b@localhost>")
    c.send(b"BDAT 5\r\nabcde")
    assert c.reply()[-1] == "250 2.0.0 Ok: 5 bytes"
    assert c.cmd("RSET") == "250 2.0.0 Ok"
    assert c.cmd("QUIT") == "221 2.0.0 Bye"
    wait_for(lambda: incoming(instance) == [], 10, what="no queue file")


def test_rcpt_after_bdat_is_refused(instance):
    """Found by fuzz_smtpd_session: once a BDAT chunk has gone to cleanup,
    a RCPT would land after the content. It is refused and the message
    keeps the recipients it had."""
    start(instance)
    c = session(instance)
    c.cmd("MAIL FROM:<a@test.example>")
    c.cmd("RCPT TO:<b@localhost>")
    c.send(b"BDAT 10\r\nSubject: x")
    assert c.reply()[-1] == "250 2.0.0 Ok: 10 bytes"
    assert c.cmd("RCPT TO:<c@localhost>") == "503 5.5.1 Error: RCPT after BDAT"
    c.send(b"BDAT 4 LAST\r\n\r\nab")
    qid = QUEUED.match(c.reply()[-1]).group(1)
    assert c.cmd("QUIT") == "221 2.0.0 Bye"
    recs = read_records(queue_file(instance, qid))
    assert [p for t, p in recs if t == "R"] == [b"b@localhost"]


def test_dsn_parameters_reach_the_queue_file(instance):
    start(instance)
    c = session(instance)
    assert c.cmd("MAIL FROM:<a@test.example> RET=HDRS ENVID=abc+2Bdef") == "250 2.1.0 Ok"
    assert c.cmd("RCPT TO:<b@localhost> NOTIFY=SUCCESS,FAILURE "
                 "ORCPT=rfc822;orig+2Bb@localhost") == "250 2.1.5 Ok"
    assert c.cmd("RCPT TO:<c@localhost> NOTIFY=NEVER") == "250 2.1.5 Ok"
    assert c.cmd("DATA").startswith("354")
    c.send("Subject: dsn\r\n\r\nx\r\n.\r\n")
    qid = QUEUED.match(c.reply()[-1]).group(1)
    c.cmd("QUIT")
    recs = read_records(queue_file(instance, qid))
    assert envelope(recs, "i") == ["abc+def"]
    assert envelope(recs, "<") == ["2"]
    assert envelope(recs, "n") == ["6", "1"]
    assert envelope(recs, "o") == ["rfc822;orig+b@localhost"]
    assert envelope(recs, "R") == ["b@localhost", "c@localhost"]


def test_timeout(instance):
    start(instance, "smtpd_timeout = 2s\n")
    c = session(instance)
    c.sock.settimeout(15)
    t0 = time.monotonic()
    assert c.reply()[-1] == f"421 4.4.2 {HOST} Error: timeout exceeded"
    assert time.monotonic() - t0 >= 1.5
    assert c.closed()
    instance.wait_log(r"timeout after EHLO from unknown\[127\.0\.0\.1\]")


def test_queue_minfree(instance):
    start(instance, "queue_minfree = 999999999999999\n")
    c = session(instance)
    assert c.cmd("MAIL FROM:<a@test.example>") == "452 4.3.1 Insufficient system storage"
    c.cmd("QUIT")


def test_mail_syntax_errors(instance):
    start(instance)
    c = session(instance)
    assert c.cmd("MAIL FROM:<a@test.example> FOO=BAR").startswith("555 5.5.4")
    assert c.cmd("MAIL FROM:<a b@test.example>").startswith("501 5.1.7")
    assert c.cmd("MAIL FROM:<a@test.example>") == "250 2.1.0 Ok"
    assert c.cmd("RCPT TO:<>").startswith("501 5.1.3")
    c.cmd("QUIT")
