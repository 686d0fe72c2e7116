"""postern-cat(1): queue files made by a real smtpd + cleanup, shown by
queue ID and by path, in postcat's layout; malformed and incomplete files
give a precise error and a non-zero exit, never a crash."""

import os
import re
import shutil
import time

from queue_helpers import (cat, envelope_records, find_file, setup_receive,
                           submit)

BODY = ("Subject: cat test\n"
        "From: alice@example.com\n"
        "X-Long: " + "x" * 5000 + "\n"
        "\n"
        "first body line\n"
        "second body line\n")


def queued(instance, **kw):
    setup_receive(instance)
    instance.start()
    qid = submit(instance, body=BODY, **kw)
    return qid


def test_default_shows_envelope_contents_and_end(instance):
    qid = queued(instance, rcpts=("bob@example.org", "carol@example.org"),
                 rcpt_options=("NOTIFY=SUCCESS,FAILURE",))
    r = cat(instance, "-q", qid)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    label = f"incoming/{qid}"
    banners = [l for l in out.splitlines() if l.startswith("***")]
    assert banners == [f"*** ENVELOPE RECORDS {label} ***",
                       f"*** MESSAGE CONTENTS {label} ***",
                       f"*** HEADER EXTRACTED {label} ***",
                       f"*** MESSAGE FILE END {label} ***"]
    env = envelope_records(out)
    names = [n for n, _ in env]
    assert names[0] == "message_size"
    assert ("sender", "alice@example.com") in env
    assert [v for n, v in env if n == "recipient"] == \
        ["bob@example.org", "carol@example.org"]
    assert ("dsn_notify_flags", "6 (SUCCESS,FAILURE)") in env
    # The arrival time is a date, not "sec usec".
    arrival = dict(env)["message_arrival_time"]
    assert re.match(r"\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}$", arrival), arrival
    assert time.strftime("%Y") in arrival
    assert any(n == "named_attribute" and v.startswith("client_address=")
               for n, v in env)
    # The long header was split into L pieces in the file; shown whole.
    assert "X-Long: " + "x" * 5000 + "\n" in out
    assert "first body line\nsecond body line\n" in out


def test_header_and_body_selection(instance):
    qid = queued(instance)
    h = cat(instance, "-h", "-q", qid)
    assert h.returncode == 0, h.stderr
    assert "Subject: cat test" in h.stdout
    assert "first body line" not in h.stdout
    assert "***" not in h.stdout and "sender:" not in h.stdout
    b = cat(instance, "-b", "-q", qid)
    assert b.stdout == "first body line\nsecond body line\n"
    e = cat(instance, "-e", "-q", qid)
    assert "sender: alice@example.com" in e.stdout
    assert "Subject:" not in e.stdout and "first body line" not in e.stdout


def test_path_and_raw_records_with_offsets(instance):
    qid = queued(instance)
    _, path = find_file(instance, qid)
    r = cat(instance, "-r", path)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert re.match(r"\s+0 v queue_file_version: postern-queue-1$", lines[0])
    assert re.match(r"\s+17 C message_size: ", lines[1])
    types = [l.split()[1] for l in lines]
    assert types[-1] == "E" and "M" in types and "X" in types
    assert "L" in types  # the long header, piece by piece
    offsets = [int(l.split()[0]) for l in lines]
    assert offsets == sorted(offsets)
    rcpt = [l for l in lines if l.split()[1] == "R"][0]
    with open(path, "rb") as f:
        f.seek(int(rcpt.split()[0]))
        assert f.read(1) == b"R"


def test_unknown_id_and_bad_id(instance):
    setup_receive(instance)
    instance.start()
    r = cat(instance, "-q", "4hQJmW0Bcdz5Tr")
    assert r.returncode == 1
    assert "not found" in r.stderr
    r = cat(instance, "-q", "../../etc/passwd")
    assert r.returncode == 1
    assert "malformed queue ID" in r.stderr


def test_malformed_file_names_the_offset(instance, tmp_path):
    qid = queued(instance)
    _, path = find_file(instance, qid)
    data = bytearray(open(path, "rb").read())
    # Replace the type byte of the sender record with an unknown type.
    raw = cat(instance, "-r", path).stdout.splitlines()
    off = int([l for l in raw if l.split()[1] == "S"][0].split()[0])
    bad = tmp_path / "bad"
    data[off] = 0x01
    bad.write_bytes(bytes(data))
    os.chmod(bad, 0o700)
    r = cat(instance, str(bad))
    assert r.returncode == 1
    assert f"record at offset {off}: unknown record type 0x01" in r.stderr, r.stderr
    assert "malformed" in r.stderr
    # What came before the bad record is still shown.
    assert "*** ENVELOPE RECORDS" in r.stdout
    # A CR inside the sender: the reader refuses it, with the offset.
    data[off] = ord("S")
    data[off + 2] = ord("\r")
    bad.write_bytes(bytes(data))
    r = cat(instance, str(bad))
    assert r.returncode == 1
    assert f"CR, LF or NUL in sender record at offset {off}" in r.stderr


def test_truncated_and_incomplete_file(instance, tmp_path):
    qid = queued(instance)
    _, path = find_file(instance, qid)
    data = open(path, "rb").read()
    cut = tmp_path / "cut"
    cut.write_bytes(data[:len(data) // 2])
    os.chmod(cut, 0o600)
    r = cat(instance, str(cut))
    assert r.returncode == 1
    assert "not marked complete" in r.stderr
    assert "incomplete" in r.stderr
    # Not a queue file at all.
    junk = tmp_path / "junk"
    junk.write_bytes(b"hello world\n")
    r = cat(instance, str(junk))
    assert r.returncode == 1 and "offset 0" in r.stderr
    # Garbage never crashes it.
    for n in range(0, len(data), max(1, len(data) // 40)):
        g = tmp_path / "g"
        g.write_bytes(data[:n] + bytes([0xff]) + data[n + 1:])
        r = cat(instance, str(g))
        assert r.returncode in (0, 1), r
        assert "panic" not in r.stderr and "fatal" not in r.stderr


def test_held_file_is_found_by_id(instance):
    qid = queued(instance)
    os.makedirs(os.path.join(instance.queue, "hold"), exist_ok=True)
    os.rename(os.path.join(instance.queue, "incoming", qid),
              os.path.join(instance.queue, "hold", qid))
    r = cat(instance, "-e", "-q", qid)
    assert r.returncode == 0, r.stderr
    assert f"*** ENVELOPE RECORDS hold/{qid} ***" in r.stdout
