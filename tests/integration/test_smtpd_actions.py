"""smtpd(8): the access table actions that cleanup carries out (PREPEND,
REDIRECT, FILTER, BCC) reach the queue file; the hop count reply."""


from conftest import wait_for
from test_smtpd import (QUEUED, content_text, envelope, incoming, queue_file,
                        read_records, send_message, session, start)


def segment(records, start_type, end_type):
    """The records after start_type up to end_type."""
    out, inside = [], False
    for t, p in records:
        if t == start_type:
            inside = True
        elif t == end_type and inside:
            break
        elif inside:
            out.append((t, p))
    return out


def test_delegated_access_actions_reach_the_queue_file(instance, tmp_path):
    table = tmp_path / "rcpt_access"
    table.write_text("prep@localhost     PREPEND X-Tag: one\n"
                     "prep2@localhost    PREPEND X-Tag: two\n"
                     "redir@localhost    REDIRECT other@elsewhere.example\n"
                     "filt@localhost     FILTER smtp:[127.0.0.1]:10025\n"
                     "bcc@localhost      BCC archive@elsewhere.example\n"
                     "badprep@localhost  PREPEND not a header\n"
                     "badfilt@localhost  FILTER nocolon\n"
                     "badredir@localhost REDIRECT\n")
    start(instance, "smtpd_recipient_restrictions = check_recipient_access "
                    f"texthash:{table}, permit\n")
    c = session(instance)
    for bad in ("badprep", "badfilt", "badredir"):
        c.cmd("MAIL FROM:<s@test.example>")
        assert c.cmd(f"RCPT TO:<{bad}@localhost>") == \
            "451 4.3.5 Server configuration error"
        c.cmd("RSET")
    r = send_message(c, "s@test.example",
                     ["prep@localhost", "prep2@localhost", "redir@localhost",
                      "filt@localhost", "bcc@localhost"],
                     "Subject: actions\r\n\r\nbody")
    qid = QUEUED.match(r).group(1)
    # The next transaction starts clean.
    r2 = send_message(c, "s@test.example", ["plain@localhost"],
                      "Subject: plain\r\n\r\nbody")
    qid2 = QUEUED.match(r2).group(1)
    c.cmd("QUIT")

    recs = read_records(queue_file(instance, qid))
    text = content_text(recs)
    # PREPEND: in the order they fired, before our Received header.
    assert text.startswith("X-Tag: one\nX-Tag: two\nReceived: from "), text
    # BCC: one more recipient, NOTIFY=NEVER (bit 1).
    env = segment(recs, "T", "M")
    i = env.index(("R", b"archive@elsewhere.example"))
    assert env[i - 1] == ("n", b"1"), env
    assert "prep@localhost" in envelope(recs, "R")
    # REDIRECT and FILTER: in the extracted segment, for qmgr.
    ext = segment(recs, "X", "E")
    assert (">", b"other@elsewhere.example") in ext, ext
    assert ("A", b"content_filter=smtp:[127.0.0.1]:10025") in ext, ext

    recs2 = read_records(queue_file(instance, qid2))
    assert content_text(recs2).startswith("Received: ")
    assert envelope(recs2, "R") == ["plain@localhost"]
    assert not [p for t, p in recs2 if t == ">"]
    assert not [p for t, p in recs2 if t == "A" and p.startswith(b"content_filter=")]

    instance.wait_log(rf"{qid}: redirect: RCPT from unknown\[127\.0\.0\.1\]: "
                      r"<redir@localhost>: Recipient address triggers REDIRECT "
                      r"other@elsewhere\.example; from=<s@test\.example> "
                      r"to=<redir@localhost> proto=ESMTP helo=<client\.test\.example>")
    instance.wait_log(rf"{qid}: filter: RCPT from .*: <filt@localhost>: Recipient "
                      r"address triggers FILTER smtp:\[127\.0\.0\.1\]:10025;")
    instance.wait_log(rf"{qid}: bcc: RCPT from .*: <bcc@localhost>: Recipient "
                      r"address triggers BCC archive@elsewhere\.example;")
    instance.wait_log(r"warning: texthash:.*: bad PREPEND not a header action "
                      r'argument for key "badprep@localhost"')


def test_too_many_hops_is_refused_with_postfix_wording(instance):
    start(instance, "hopcount_limit = 5\n")
    c = session(instance)
    hops = "".join(f"Received: from hop{i}.example by x; Thu, 1 Jan 2026 00:00:00 +0000\r\n"
                   for i in range(6))
    r = send_message(c, "s@test.example", ["a@localhost"],
                     hops + "Subject: loop\r\n\r\nbody")
    # Six of the client's plus our own: past the limit.
    assert r == "554 5.4.0 Error: too many hops", r
    c.cmd("QUIT")
    wait_for(lambda: incoming(instance) == [], 10, what="nothing queued")
    instance.wait_log(r"reject: too many hops")


def size_flags(records):
    """The flags field of the size record (the fifth number)."""
    return int([p for t, p in records if t == "C"][0].split()[4])


def test_body_and_smtputf8_reach_the_size_record(instance):
    start(instance)
    c = session(instance)
    cases = [
        ("MAIL FROM:<s@test.example>", "Subject: plain\r\n\r\nascii", 0),
        ("MAIL FROM:<s@test.example> BODY=8BITMIME",
         "Subject: declared\r\n\r\nascii", 1),
        ("MAIL FROM:<s@test.example>", "Subject: x\r\n\r\ncaf\u00e9", 1),
        ("MAIL FROM:<s\u00e9@test.example> SMTPUTF8",
         "Subject: x\r\n\r\nascii", 2),
        ("MAIL FROM:<s@test.example> SMTPUTF8 BODY=8BITMIME",
         "Subject: gr\u00fc\u00dfe\r\n\r\nascii", 3),
    ]
    for mail, body, want in cases:
        assert c.cmd(mail).startswith("250"), mail
        assert c.cmd("RCPT TO:<a@localhost>").startswith("250")
        assert c.cmd("DATA").startswith("354")
        c.send(body.encode() + b"\r\n.\r\n")
        qid = QUEUED.match(c.reply()[-1]).group(1)
        assert size_flags(read_records(queue_file(instance, qid))) == want, mail
    c.cmd("QUIT")
