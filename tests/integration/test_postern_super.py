"""postern-super(1): queues filled by a real smtpd + cleanup; hold and
release, delete (one, ALL, from stdin), requeue through cleanup with a
canonical map that applies only the second time, purge of stale
temporary files (also at "postern start"), and the structure check."""

import os
import pwd
import re
import shutil
import subprocess
import tempfile
import time

import pytest

from conftest import IS_ROOT
from queue_helpers import (CAT, SUPER, cat, find_file, queue_files,
                           setup_receive, submit, super_)

DAY = 24 * 3600


def started(instance, extra=""):
    setup_receive(instance, extra)
    instance.start()
    return instance


def raw_records(instance, path):
    """[(offset, type, payload)] from postern-cat -r."""
    r = cat(instance, "-r", path)
    assert r.returncode == 0, r.stderr
    out = []
    for line in r.stdout.splitlines():
        off, typ, rest = line.split(None, 2)
        out.append((int(off), typ, rest.split(": ", 1)[1] if ": " in rest else ""))
    return out


def test_hold_and_release(instance):
    started(instance)
    a = submit(instance)
    b = submit(instance)
    r = super_(instance, "-h", a)
    assert r.returncode == 0, r.stderr
    assert "postern-super: Placed on hold: 1 message" in r.stderr
    assert queue_files(instance, "hold") == [a]
    assert queue_files(instance, "incoming") == [b]
    instance.wait_log(rf"postern/postern-super\[\d+\]: {a}: placed on hold")
    # Make the held file look old: release must give it the time "now".
    _, path = find_file(instance, a)
    os.utime(path, (time.time() - 5 * DAY, time.time() - 5 * DAY))
    r = super_(instance, "-H", "ALL")
    assert r.returncode == 0, r.stderr
    assert "Released from hold: 1 message" in r.stderr
    queue, path = find_file(instance, a)
    assert queue == "deferred"
    # deferred/ is hashed (hash_queue_names = deferred, defer).
    assert os.path.dirname(path) != os.path.join(instance.queue, "deferred")
    assert abs(os.stat(path).st_mtime - time.time()) < 60
    instance.wait_log(rf"{a}: released from hold")


def test_delete_one_all_and_from_stdin(instance):
    started(instance)
    ids = [submit(instance) for _ in range(4)]
    assert super_(instance, "-h", ids[0]).returncode == 0
    # A status log of a message goes with it.
    os.makedirs(os.path.join(instance.queue, "trace"), exist_ok=True)
    log = os.path.join(instance.queue, "trace", ids[1])
    open(log, "w").close()
    r = super_(instance, "-d", ids[1])
    assert "postern-super: Deleted: 1 message" in r.stderr, r.stderr
    assert not os.path.exists(log)
    r = super_(instance, "-d", "-", input=ids[2] + "\n")
    assert "Deleted: 1 message" in r.stderr
    r = super_(instance, "-d", "ALL")
    assert r.returncode == 0, r.stderr
    assert "Deleted: 2 messages" in r.stderr
    assert queue_files(instance, "incoming") == []
    assert queue_files(instance, "hold") == []
    for qid in ids:
        instance.wait_log(rf"postern-super\[\d+\]: {qid}: removed")
    # Nothing left to delete; an unknown ID is not an error, a bad one is.
    r = super_(instance, "-d", ids[0])
    assert r.returncode == 0 and "Deleted: 0 messages" in r.stderr
    r = super_(instance, "-d", "../../etc/passwd")
    assert r.returncode == 1 and "invalid mail queue ID" in r.stderr


def test_delete_only_in_the_named_queue(instance):
    started(instance)
    a = submit(instance)
    r = super_(instance, "-d", a, "hold")
    assert "Deleted: 0 messages" in r.stderr
    assert queue_files(instance, "incoming") == [a]
    r = super_(instance, "-d", "ALL", "incoming")
    assert "Deleted: 1 message" in r.stderr
    r = super_(instance, "-d", a, "nosuchqueue")
    assert r.returncode == 64 and "unknown queue" in r.stderr


def test_requeue_runs_cleanup_again(instance):
    started(instance)
    qid = submit(instance, rcpts=("bob@example.org", "carol@example.org"),
                 mail_options=("RET=HDRS", "ENVID=env42"),
                 rcpt_options=("NOTIFY=SUCCESS,DELAY",
                               "ORCPT=rfc822;orig@example.org"))
    _, path = find_file(instance, qid)
    before = raw_records(instance, path)
    # carol was delivered already: her R becomes D, as an agent does it.
    off = [o for o, t, d in before if t == "R" and d == "carol@example.org"][0]
    with open(path, "r+b") as f:
        f.seek(off)
        f.write(b"D")
    # The canonical map exists only from now on.
    instance.stop()
    setup_receive(instance, "recipient_canonical_maps = "
                  "inline:{ bob@example.org=robert@example.net }\n")
    instance.start()
    r = super_(instance, "-r", qid)
    assert r.returncode == 0, r.stderr + instance.log()
    assert "Requeued: 1 message" in r.stderr
    m = instance.wait_log(rf"postern-super\[\d+\]: {qid}: requeued as (\S+)")
    new = m[0]
    assert new != qid
    assert not os.path.exists(path)
    queue, new_path = find_file(instance, new)
    assert queue == "incoming"
    after = raw_records(instance, new_path)

    def get(recs, typ):
        return [d for _, t, d in recs if t == typ]

    assert get(after, "T") == get(before, "T")  # arrival time kept
    assert get(after, "S") == ["alice@example.com"]
    assert get(after, "R") == ["robert@example.net"]  # carol was done
    assert "bob@example.org" in get(after, "O")
    assert get(after, "n") == get(before, "n")[:1]
    assert get(after, "o") == ["rfc822;orig@example.org"]
    assert get(after, "i") == ["env42"]
    assert get(after, "<") == get(before, "<")
    assert any(d.startswith("client_address=") for d in get(after, "A"))
    assert get(after, "N") == get(before, "N")


def test_requeue_keeps_a_file_cleanup_refuses(instance):
    started(instance)
    qid = submit(instance)
    _, path = find_file(instance, qid)
    # Mark the only recipient done: nothing to requeue.
    off = [o for o, t, d in raw_records(instance, path) if t == "R"][0]
    with open(path, "r+b") as f:
        f.seek(off)
        f.write(b"D")
    r = super_(instance, "-r", qid)
    assert r.returncode == 1
    assert "not requeued" in r.stderr
    assert os.path.exists(path)


def test_purge_stale_temporary_files(instance):
    started(instance)
    done = submit(instance)
    inc = os.path.join(instance.queue, "incoming")
    old = time.time() - 8 * DAY
    stale = os.path.join(inc, "123456.789")
    fresh = os.path.join(inc, "654321.987")
    for p in (stale, fresh):
        with open(p, "w") as f:
            f.write("partial")
        os.chmod(p, 0o600)
    os.utime(stale, (old, old))
    _, done_path = find_file(instance, done)
    os.utime(done_path, (old, old))  # complete: never purged, however old
    r = super_(instance, "-p")
    assert r.returncode == 0, r.stderr
    assert "Deleted: 1 stale temporary file" in r.stderr
    assert not os.path.exists(stale)
    assert os.path.exists(fresh) and os.path.exists(done_path)
    instance.wait_log(r"incoming/123456\.789: removed stale temporary file")


def test_postern_start_purges(instance):
    setup_receive(instance)
    instance.postern("check")
    stale = os.path.join(instance.queue, "incoming", "111111.222")
    with open(stale, "w") as f:
        f.write("x")
    os.chmod(stale, 0o600)
    old = time.time() - 30 * DAY
    os.utime(stale, (old, old))
    instance.start()
    assert not os.path.exists(stale)


def test_structure_check(instance):
    started(instance)
    a = submit(instance)
    b = submit(instance)
    # a: a corrupt file (marked complete, an unknown record type inside).
    _, pa = find_file(instance, a)
    data = bytearray(open(pa, "rb").read())
    off = [o for o, t, d in raw_records(instance, pa) if t == "S"][0]
    data[off] = 0x01
    with open(pa, "wb") as f:
        f.write(data)
    # b: in deferred/ but not in its hashed subdirectory.
    _, pb = find_file(instance, b)
    os.makedirs(os.path.join(instance.queue, "deferred"), exist_ok=True)
    misplaced = os.path.join(instance.queue, "deferred", b)
    os.rename(pb, misplaced)
    r = super_(instance, "-s")
    assert r.returncode == 0, r.stderr
    assert queue_files(instance, "corrupt") == [a]
    assert re.search(rf"{a}: moved to the corrupt queue: .*offset {off}",
                     r.stderr), r.stderr
    q, pb2 = find_file(instance, b)
    assert q == "deferred" and pb2 != misplaced
    assert "Moved: 1 file" in r.stderr
    # The corrupt file cannot be requeued: it stays, with a reason.
    r = super_(instance, "-r", a, "corrupt")
    assert r.returncode == 1 and "not requeued" in r.stderr
    assert queue_files(instance, "corrupt") == [a]


def test_requeue_all_releases_held_mail(instance):
    started(instance)
    a = submit(instance)
    assert super_(instance, "-h", a).returncode == 0
    # A file cleanup is still writing is not a message: skipped quietly.
    partial = os.path.join(instance.queue, "incoming", "4hQJmW0Bcdz5Tr")
    with open(partial, "wb") as f:
        f.write(b"v\x0fpostern-queue-1")
    os.chmod(partial, 0o600)
    st = os.stat(os.path.join(instance.queue, "incoming"))
    os.chown(partial, st.st_uid, st.st_gid)
    r = super_(instance, "-r", "ALL")
    assert r.returncode == 0, r.stderr
    assert "Requeued: 1 message" in r.stderr
    assert queue_files(instance, "hold") == []
    new = instance.wait_log(rf"{a}: requeued as (\S+)")[0]
    assert sorted(queue_files(instance, "incoming")) == sorted([new, "4hQJmW0Bcdz5Tr"])
    # -d ALL leaves the file being written alone, too.
    r = super_(instance, "-d", "ALL")
    assert "Deleted: 1 message" in r.stderr
    assert queue_files(instance, "incoming") == ["4hQJmW0Bcdz5Tr"]
    # -H never moves deferred mail onto itself, -h never hold onto itself.
    r = super_(instance, "-H", "ALL", "hold", "deferred")
    assert r.returncode == 0 and "Released" not in r.stderr


def test_only_root_and_mail_owner(instance):
    if not IS_ROOT:
        pytest.skip("needs root to run the commands as another user")
    started(instance)
    qid = submit(instance)
    nobody = pwd.getpwnam("nobody")
    # The test's own directories are root's alone: a readable main.cf.
    etc = tempfile.mkdtemp()
    os.chmod(etc, 0o755)
    shutil.copy(os.path.join(instance.etc, "main.cf"), etc)
    os.chmod(os.path.join(etc, "main.cf"), 0o644)
    for prog, args in ((SUPER, ["-d", "ALL"]), (CAT, ["-q", qid])):
        r = subprocess.run([prog, "-c", etc, *args],
                           capture_output=True, text=True, timeout=30,
                           preexec_fn=lambda: (os.setgid(nobody.pw_gid),
                                               os.setuid(nobody.pw_uid)))
        assert r.returncode == 77, r
        assert "only root and mail_owner" in r.stderr
    shutil.rmtree(etc)
    assert queue_files(instance, "incoming") == [qid]
