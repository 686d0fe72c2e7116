"""cleanup(8): a real instance with master and cleanup, driven by the
test-only client tests/fixtures/cleanup_send (what smtpd and pickup will
do) and read back with postern-cat -r, which reads queue files with the
reader qmgr uses."""

import os
import re
import signal
import stat
import subprocess
import time

import pytest

from conftest import TOP, wait_for, pid_alive

CLEANUP = os.path.join(TOP, "cleanup", "cleanup")
SEND = os.path.join(TOP, "tests", "fixtures", "cleanup_send")
CAT = os.path.join(TOP, "cmd", "postern-cat")

FLAG_FILTER = 1
FLAG_MAP_OK = 2
FLAGS = FLAG_FILTER | FLAG_MAP_OK
STAT_WRITE = 1 << 1
STAT_SIZE = 1 << 2
STAT_CONT = 1 << 3
STAT_HOPS = 1 << 4
STAT_RCPT = 1 << 6
STAT_DEFER = 1 << 8

MSG = ("Subject: hello\n"
       "From: a@example.com\n"
       "\n"
       "body line\n")


@pytest.fixture
def cleanup(instance):
    for prog in (CLEANUP, SEND, CAT):
        if not os.access(prog, os.X_OK):
            pytest.fail(f"{prog} is not built")
    os.symlink(CLEANUP, os.path.join(instance.libexec, "cleanup"))
    # Postfix's default master.cf line: public, unlimited.
    instance.write_master("cleanup unix n - n - 0 cleanup\n")

    def start(extra=""):
        instance.write_main("myhostname = mx.example.com\n"
                            "mydomain = example.com\n" + extra)
        instance.start()
        wait_for(lambda: os.path.exists(sock()), what="public/cleanup")
        return instance

    def sock():
        return os.path.join(instance.queue, "public", "cleanup")

    instance.start_cleanup = start
    instance.sock = sock
    return instance


def send(inst, msg=MSG, sender="sender@example.com", rcpts=("rcpt@example.org",),
         flags=FLAGS, attrs=(), opts=(), timeout=30):
    args = [SEND, "-F", str(flags)]
    for a in attrs:
        args += ["-A", a]
    args += list(opts) + [inst.sock(), sender, *rcpts]
    r = subprocess.run(args, input=msg, capture_output=True, text=True,
                       timeout=timeout)
    out = {}
    for line in r.stdout.splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            out[k] = v
    out["rc"] = r.returncode
    return out


def files(inst, queue):
    d = os.path.join(inst.queue, queue)
    return sorted(os.listdir(d)) if os.path.isdir(d) else []


def unescape(text):
    """postern-cat -r payloads: \\xHH and \\\\ back to bytes."""
    return re.sub(r"\\(\\|x[0-9a-f]{2})",
                  lambda m: "\\" if m.group(1) == "\\" else chr(int(m.group(1)[1:], 16)),
                  text)


def cat_raw(inst, qid):
    return subprocess.run([CAT, "-c", inst.etc, "-r", "-q", qid],
                          capture_output=True, text=True, errors="replace",
                          timeout=30)


def dump(inst, queue, qid):
    """[(type letter, payload)] of every record after v and C (postern-cat
    finds the file in whichever queue holds it; queue says where the test
    expects it)."""
    r = cat_raw(inst, qid)
    assert r.returncode == 0 and r.stderr == "", r.stdout + r.stderr
    out = []
    for line in r.stdout.split("\n")[:-1]:
        m = re.match(r" *\d+ (\S) [a-z_]+: (.*)$", line)
        assert m, line
        out.append((m.group(1), unescape(m.group(2))))
    # Records as queue_file_read returns them after the open.
    assert out[0][0] == "v" and out[1][0] == "C", out[:2]
    assert os.path.exists(os.path.join(inst.queue, queue, qid))
    return out[2:]


def content(recs):
    return [d for t, d in recs if t == "N"]


def recipients(recs):
    return [d for t, d in recs if t == "R"]


def write_table(inst, name, text):
    path = os.path.join(inst.etc, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def test_message_is_queued_complete(cleanup):
    inst = cleanup.start_cleanup()
    r = send(inst)
    assert r["status"] == "0", r
    qid = r["queue_id"]
    assert files(inst, "incoming") == [qid]
    st = os.stat(os.path.join(inst.queue, "incoming", qid))
    assert stat.S_IMODE(st.st_mode) == 0o700
    recs = dump(inst, "incoming", qid)
    assert ("S", "sender@example.com") in recs
    assert recipients(recs) == ["rcpt@example.org"]
    body = content(recs)
    assert "Subject: hello" in body and "body line" in body
    inst.wait_log(rf"{qid}: message-id=<\d{{14}}\.{qid}@mx\.example\.com>")


def test_local_client_gets_missing_headers(cleanup):
    inst = cleanup.start_cleanup()
    r = send(inst, msg="Subject: x\n\nbody\n", attrs=["client_address=127.0.0.1"])
    assert r["status"] == "0", r
    body = content(dump(inst, "incoming", r["queue_id"]))
    hdrs = body[:body.index("")]
    assert any(h.startswith(f"Message-Id: <") and r["queue_id"] in h for h in hdrs)
    assert any(h.startswith("Date: ") for h in hdrs)
    assert "From: sender@example.com" in hdrs
    assert body[-1] == "body"


def test_remote_client_headers_unchanged(cleanup):
    inst = cleanup.start_cleanup()
    # 192.0.2.1 (TEST-NET-1) is not an interface address of this host.
    r = send(inst, msg="Subject: x\n\nbody\n", attrs=["client_address=192.0.2.1"])
    assert r["status"] == "0", r
    body = content(dump(inst, "incoming", r["queue_id"]))
    assert body == ["Subject: x", "", "body"]


def test_message_drop_headers(cleanup):
    # Postfix's default drops Bcc:, Content-Length: and Resent-Bcc:,
    # folded continuation lines included; other headers stay.
    inst = cleanup.start_cleanup()
    r = send(inst, msg="Subject: x\nBcc: hidden@example.net,\n two@example.net\n"
             "content-length: 12\nX-Keep: yes\n\nbody\n",
             attrs=["client_address=192.0.2.1"])
    assert r["status"] == "0", r
    body = content(dump(inst, "incoming", r["queue_id"]))
    assert body == ["Subject: x", "X-Keep: yes", "", "body"]


def test_always_add_missing_headers(cleanup):
    inst = cleanup.start_cleanup("always_add_missing_headers = yes\n")
    r = send(inst, msg="Subject: x\n\nbody\n", attrs=["client_address=192.0.2.1"])
    body = content(dump(inst, "incoming", r["queue_id"]))
    assert any(h.startswith("Message-Id:") for h in body)


def test_header_checks_reject(cleanup):
    table = write_table(cleanup, "header_checks",
                        "/^Subject: .*viagra/ REJECT no spam here\n")
    inst = cleanup.start_cleanup(f"header_checks = regexp:{table}\n")
    r = send(inst, msg="Subject: cheap viagra\n\nbody\n")
    assert int(r["status"]) & STAT_CONT, r
    assert r["reason"] == "5.7.1 no spam here"
    assert r["reply"] == "550 5.7.1 no spam here"
    assert files(inst, "incoming") == []
    inst.wait_log(rf"{r['queue_id']}: reject: header Subject: cheap viagra "
                  r"from local\[127\.0\.0\.1\]; from=<sender@example\.com> "
                  r"to=<rcpt@example\.org>: 5\.7\.1 no spam here")
    # Without CLEANUP_FLAG_FILTER (a bounce) the checks do not apply.
    r = send(inst, msg="Subject: cheap viagra\n\nbody\n", flags=FLAG_MAP_OK)
    assert r["status"] == "0"


def test_header_checks_hold_discard_and_edits(cleanup):
    table = write_table(cleanup, "header_checks",
                        "/^Subject: hold me/ HOLD\n"
                        "/^Subject: drop me/ DISCARD\n"
                        "/^X-Secret:/ IGNORE\n"
                        "/^X-Old: (.*)/ REPLACE X-New: $1\n"
                        "/^Subject: tag/ PREPEND X-Tagged: yes\n")
    inst = cleanup.start_cleanup(f"header_checks = regexp:{table}\n")
    r = send(inst, msg="Subject: hold me\n\nbody\n")
    assert r["status"] == "0"
    assert files(inst, "incoming") == []
    assert files(inst, "hold") == [r["queue_id"]]
    assert stat.S_IMODE(os.stat(os.path.join(inst.queue, "hold", r["queue_id"])).st_mode) == 0o700
    dump(inst, "hold", r["queue_id"])

    r = send(inst, msg="Subject: drop me\n\nbody\n")
    assert r["status"] == "0", r
    assert files(inst, "incoming") == []
    inst.wait_log(rf"{r['queue_id']}: discard: header Subject: drop me")

    r = send(inst, msg="Subject: tag\nX-Secret: 1\nX-Old: v\n\nbody\n",
             attrs=["client_address=192.0.2.1"])
    body = content(dump(inst, "incoming", r["queue_id"]))
    assert body == ["X-Tagged: yes", "Subject: tag", "X-New: v", "", "body"]


def test_body_checks_and_folded_headers(cleanup):
    hc = write_table(cleanup, "header_checks", "/^X-Long: a b c$/ REJECT folded\n")
    bc = write_table(cleanup, "body_checks", "/^evil line$/ REJECT 5.7.0 bad body\n")
    inst = cleanup.start_cleanup(f"header_checks = regexp:{hc}\nbody_checks = regexp:{bc}\n")
    r = send(inst, msg="X-Long: a\n b\n c\n\nbody\n")
    assert int(r["status"]) & STAT_CONT and "folded" in r["reason"], r
    r = send(inst, msg="Subject: x\n\nfine\nevil line\n")
    assert r["reason"] == "5.7.0 bad body" and r["reply"] == "550 5.7.0 bad body"
    assert files(inst, "incoming") == []


def test_virtual_alias_expansion(cleanup):
    table = write_table(cleanup, "virtual",
                        "list@example.org a@x.test, b@x.test\n"
                        "a@x.test a@x.test, c@x.test\n"
                        "loop1@x.test loop2@x.test\n"
                        "loop2@x.test loop1@x.test\n")
    inst = cleanup.start_cleanup(f"virtual_alias_maps = texthash:{table}\n")
    r = send(inst, rcpts=("list@example.org", "b@x.test", "loop1@x.test"))
    assert r["status"] == "0", r
    recs = dump(inst, "incoming", r["queue_id"])
    assert sorted(recipients(recs)) == ["a@x.test", "b@x.test", "c@x.test",
                                        "loop1@x.test"]
    assert ("O", "list@example.org") in recs


def test_canonical_and_myorigin(cleanup):
    inst = cleanup.start_cleanup(
        "myorigin = origin.example\n"
        "sender_canonical_maps = inline:{ old@origin.example=new@example.com }\n")
    r = send(inst, sender="old", rcpts=("bare",))
    recs = dump(inst, "incoming", r["queue_id"])
    assert ("S", "new@example.com") in recs
    assert recipients(recs) == ["bare@origin.example"]


def test_missing_table_defers(cleanup):
    inst = cleanup.start_cleanup("virtual_alias_maps = texthash:/nonexistent/virtual\n")
    r = send(inst)
    assert int(r["status"]) & STAT_WRITE and r["reason"] == "4.3.0 table lookup error", r
    assert files(inst, "incoming") == []


def test_table_error_defers(cleanup):
    # A pcre table whose pattern exceeds the match limit on this key.
    table = write_table(cleanup, "virtual", "/^(a+)+$/ x@y.test\n")
    inst = cleanup.start_cleanup(f"virtual_alias_maps = pcre:{table}\n")
    r = send(inst, rcpts=("a" * 40 + "!",))
    assert int(r["status"]) & STAT_WRITE, r
    assert r["reason"] == "4.3.0 table lookup error"
    assert r["reply"].startswith("451 4.3.0")
    assert files(inst, "incoming") == []


def test_no_recipients_and_size_and_hops(cleanup):
    inst = cleanup.start_cleanup("message_size_limit = 1000\nhopcount_limit = 3\n")
    r = send(inst, rcpts=())
    assert int(r["status"]) & STAT_RCPT and r["reply"].startswith("554 5.5.1"), r
    r = send(inst, msg="Subject: big\n\n" + ("x" * 100 + "\n") * 20)
    assert int(r["status"]) & STAT_SIZE and r["reply"].startswith("552 5.3.4"), r
    r = send(inst, msg="Received: 1\nReceived: 2\nReceived: 3\nReceived: 4\n\nb\n")
    assert int(r["status"]) & STAT_HOPS and r["reply"] == "554 5.4.0 Error: too many hops"
    assert files(inst, "incoming") == []


def test_client_disconnect_leaves_no_file(cleanup):
    inst = cleanup.start_cleanup()
    r = send(inst, opts=["-D", "2"])
    assert "status" not in r
    qid = r["queue_id"]
    inst.wait_log(rf"{qid}: lost connection with client")
    assert files(inst, "incoming") == []


def test_kill_cleanup_mid_message(cleanup):
    inst = cleanup.start_cleanup()
    p = subprocess.Popen([SEND, "-F", str(FLAGS), "-S", "20", inst.sock(),
                          "s@example.com", "r@example.com"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    p.stdin.write(MSG)
    p.stdin.close()
    qid = p.stdout.readline().strip().split("=", 1)[1]
    # The records before X are in the socket; let cleanup write them.
    time.sleep(0.5)
    kids = inst.children()
    assert kids
    for pid in kids:
        os.kill(pid, signal.SIGKILL)
    out = p.stdout.read()
    p.wait(timeout=30)
    assert "status=0" not in out
    left = files(inst, "incoming")
    assert left in ([], [qid])
    if left:
        mode = stat.S_IMODE(os.stat(os.path.join(inst.queue, "incoming", qid)).st_mode)
        assert mode == 0o600
        r = cat_raw(inst, qid)
        assert r.returncode == 1
        assert "not marked complete" in r.stderr and "incomplete" in r.stderr


def test_protocol_violation_leaves_no_file(cleanup):
    """A client that sends a record type cleanup does not take from
    clients (a size record) is dropped and its file removed."""
    import socket as so
    inst = cleanup.start_cleanup()
    s = so.socket(so.AF_UNIX, so.SOCK_STREAM)
    s.settimeout(10)
    s.connect(inst.sock())
    data = b""
    while data.count(b"\0\0") < 2:
        chunk = s.recv(4096)
        assert chunk
        data += chunk
    qid = data.split(b"queue_id\0")[1].split(b"\0")[0].decode()
    assert files(inst, "incoming") == [qid]
    s.sendall(b"flags\x000\x00\x00" + b"C\x00")
    s.settimeout(10)
    assert s.recv(4096) == b""   # closed without a reply
    s.close()
    inst.wait_log(rf"{qid}: unexpected size record")
    assert files(inst, "incoming") == []


def size_flags(inst, qid):
    """The flags field of the size record (postern-cat -r's second
    record: offsets, content size, recipients, flags)."""
    r = cat_raw(inst, qid)
    line = r.stdout.split("\n")[1]
    m = re.match(r" *\d+ C [a-z_]+: (.*)$", line)
    assert m, r.stdout
    return int(m.group(1).split()[4])


FLAG_8BIT = 1
FLAG_SMTPUTF8 = 2


def test_size_record_content_flags(cleanup):
    inst = cleanup.start_cleanup()
    cases = [
        # (message, sender, attributes, expected flags)
        (MSG, "sender@example.com", [], 0),
        ("Subject: x\n\ncaf\u00e9\n", "sender@example.com", [], FLAG_8BIT),
        (MSG, "sender@example.com", ["encoding=8bit"], FLAG_8BIT),
        # SMTPUTF8 requested but nothing needs it.
        (MSG, "sender@example.com", ["smtputf8=1"], 0),
        (MSG, "j\u00f6rg@example.com", ["smtputf8=1"], FLAG_SMTPUTF8),
        ("Subject: gr\u00fc\u00dfe\n\nbody\n", "sender@example.com",
         ["smtputf8=1"], FLAG_8BIT | FLAG_SMTPUTF8),
        # 8-bit only in the body: no SMTPUTF8 needed.
        ("Subject: x\n\ncaf\u00e9\n", "sender@example.com", ["smtputf8=1"],
         FLAG_8BIT),
    ]
    for msg, sender, attrs, want in cases:
        r = send(inst, msg=msg, sender=sender, attrs=attrs)
        assert r["status"] == "0", r
        assert size_flags(inst, r["queue_id"]) == want, (msg, sender, attrs)


def test_ipc_timeout_bounds_a_stalled_client(cleanup):
    inst = cleanup.start_cleanup("ipc_timeout = 2s\n")
    p = subprocess.Popen([SEND, "-F", str(FLAGS), "-S", "8", inst.sock(),
                          "s@example.com", "r@example.com"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        p.stdin.write(MSG)
        p.stdin.close()
        qid = p.stdout.readline().strip().split("=", 1)[1]
        t0 = time.monotonic()
        # cleanup gives up after ipc_timeout, long before the client's E.
        inst.wait_log(rf"{qid}: lost connection with client before the end "
                      r"of the message \(timeout\)", timeout=7)
        assert time.monotonic() - t0 < 6
        assert files(inst, "incoming") == []
    finally:
        p.kill()
        p.wait(timeout=10)


HDR_MSG = ("From: Alice <alice@example.com>\n"
           "To: bob@example.org, \"Doe, J\" <old@example.com>,\n"
           "\tfriends: joe, Kim <kim>;\n"
           "Cc: carl (Carl C)\n"
           "Subject: old@example.com is not an address header\n"
           "\n"
           "To: old@example.com in the body\n")


def header_block(recs):
    body = content(recs)
    return body[:body.index("")]


def rewrite_tables(inst):
    canon = write_table(inst, "canonical", "old@example.com new@example.net\n")
    scanon = write_table(inst, "sender_canonical",
                         "alice@example.com alice.smith@example.com\n"
                         "bob@example.org wrong-side@example.org\n")
    rcanon = write_table(inst, "recipient_canonical",
                         "bob@example.org robert@example.org\n")
    return (f"canonical_maps = texthash:{canon}\n"
            f"sender_canonical_maps = texthash:{scanon}\n"
            f"recipient_canonical_maps = texthash:{rcanon}\n")


def test_header_addresses_rewritten_for_local_clients(cleanup):
    inst = cleanup.start_cleanup(rewrite_tables(cleanup))
    r = send(inst, msg=HDR_MSG, attrs=["client_address=127.0.0.1"])
    assert r["status"] == "0", r
    recs = dump(inst, "incoming", r["queue_id"])
    hdrs = header_block(recs)
    assert hdrs[0] == "From: Alice <alice.smith@example.com>", hdrs
    # Folding kept; display names, groups and comments kept.
    assert hdrs[1:3] == [
        "To: robert@example.org, \"Doe, J\" <new@example.net>,",
        "\tfriends: joe@mx.example.com, Kim <kim@mx.example.com>;"], hdrs
    assert hdrs[3] == "Cc: carl@mx.example.com (Carl C)"
    assert hdrs[4] == "Subject: old@example.com is not an address header"
    assert content(recs)[-1] == "To: old@example.com in the body"


def test_header_addresses_of_remote_clients(cleanup):
    inst = cleanup.start_cleanup(rewrite_tables(cleanup))
    # 192.0.2.1 is not ours: headers as they came (Postfix's default).
    r = send(inst, msg=HDR_MSG, attrs=["client_address=192.0.2.1"])
    assert r["status"] == "0", r
    assert header_block(dump(inst, "incoming", r["queue_id"])) == \
        HDR_MSG.split("\n\n")[0].split("\n")


def test_remote_header_rewrite_domain(cleanup):
    inst = cleanup.start_cleanup(rewrite_tables(cleanup) +
                                 "remote_header_rewrite_domain = remote.example\n")
    r = send(inst, msg=HDR_MSG, attrs=["client_address=192.0.2.1"])
    assert r["status"] == "0", r
    hdrs = header_block(dump(inst, "incoming", r["queue_id"]))
    assert hdrs[0] == "From: Alice <alice.smith@example.com>"
    assert hdrs[2] == "\tfriends: joe@remote.example, Kim <kim@remote.example>;"
    assert hdrs[3] == "Cc: carl@remote.example (Carl C)"
    # Without the mapping flag (a bounce, say), nothing is rewritten.
    r = send(inst, msg=HDR_MSG, attrs=["client_address=127.0.0.1"],
             flags=FLAG_FILTER)
    assert header_block(dump(inst, "incoming", r["queue_id"]))[0] == \
        "From: Alice <alice@example.com>"
