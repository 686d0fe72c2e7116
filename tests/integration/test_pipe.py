"""pipe(8) end to end: smtpd -> cleanup -> qmgr -> pipe -> a command.

transport_maps routes domains to pipe services whose command is a small
Python script (record.py, in a scratch directory under /tmp that the test
user can reach). Each run of it writes one JSON record: its argv, ids,
groups, working directory, environment and the bytes it read on stdin; the
recipient's user part (${user}) says what it does next: "ok" exits 0,
"tempfail" exits 75 until a "release" file appears, "nouser" prints two
lines and exits 67, "hang" starts a child and sleeps. Bounce notices go,
by default_transport, to another pipe service running the same script, so
their text can be read too.

Needs root (pipe switches to user=): a system user is created for the
module and removed afterwards. Timers are short (1s backoff, 2s command
time limit) so every test takes seconds.
"""

import glob
import json
import os
import pwd
import shutil
import smtplib
import subprocess
import tempfile
import time

import pytest

from conftest import IS_ROOT, TOP
from conftest import wait_for as _wait_for

SMTPD = os.path.join(TOP, "smtpd", "smtpd")
CLEANUP = os.path.join(TOP, "cleanup", "cleanup")
QMGR = os.path.join(TOP, "qmgr", "qmgr")
BOUNCE = os.path.join(TOP, "bounce", "bounce")
PIPE = os.path.join(TOP, "pipe", "pipe")
USER = "postern-pipetest"

pytestmark = pytest.mark.skipif(not IS_ROOT,
                                reason="pipe(8) switches users: needs root")

RECORD = r'''#!/usr/bin/python3
import json, os, subprocess, sys, time
here = os.path.dirname(os.path.abspath(sys.argv[0]))
data = sys.stdin.buffer.read()
mode = sys.argv[1]
rec = {"argv": sys.argv[1:], "uid": os.getuid(), "euid": os.geteuid(),
       "gid": os.getgid(), "egid": os.getegid(), "groups": os.getgroups(),
       "cwd": os.getcwd(), "env": dict(os.environ),
       "stdin": data.decode("latin-1"), "pid": os.getpid()}
if mode == "hang":
    rec["child"] = subprocess.Popen(["sleep", "300"]).pid
name = "%.6f-%d" % (time.time(), os.getpid())
tmp = os.path.join(here, "out", name + ".tmp")
with open(tmp, "w") as f:
    json.dump(rec, f)
os.rename(tmp, os.path.join(here, "out", name + ".json"))
if mode == "tempfail" and not os.path.exists(os.path.join(here, "release")):
    print("mailbox busy, try later")
    sys.exit(75)
if mode == "nouser":
    print("no such mailbox here")
    sys.stdout.flush()
    sys.stderr.write("second line\n")
    sys.exit(67)
if mode == "hang":
    time.sleep(300)
sys.exit(0)
'''

_current = []


def wait_for(cond, timeout=10.0, what="condition"):
    try:
        return _wait_for(cond, timeout, what=what)
    except AssertionError as e:
        log = _current[-1].log() if _current else ""
        raise AssertionError(f"{e}\nlog:\n{log}") from None


@pytest.fixture(scope="module")
def pipe_user():
    if shutil.which("useradd") is None:
        pytest.skip("useradd is not installed")
    subprocess.run(["userdel", USER], capture_output=True)
    subprocess.run(["useradd", "--system", "--user-group", "--no-create-home",
                    "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin",
                    USER], check=True, capture_output=True, timeout=30)
    pw = pwd.getpwnam(USER)
    yield pw
    subprocess.run(["userdel", USER], capture_output=True, timeout=30)
    subprocess.run(["groupdel", USER], capture_output=True, timeout=30)


@pytest.fixture
def work(pipe_user):
    """A scratch directory outside pytest's private tmp: the command runs as
    the test user and must be able to reach its script and output dir."""
    d = tempfile.mkdtemp(prefix="postern-pipe-", dir="/tmp")
    os.chmod(d, 0o755)
    script = os.path.join(d, "record.py")
    with open(script, "w") as f:
        f.write(RECORD)
    os.chmod(script, 0o755)
    out = os.path.join(d, "out")
    os.mkdir(out)
    os.chown(out, pipe_user.pw_uid, pipe_user.pw_gid)
    os.chmod(out, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def link(inst, prog):
    if not os.access(prog, os.X_OK):
        pytest.fail(f"{prog} is not built")
    dst = os.path.join(inst.libexec, os.path.basename(prog))
    if not os.path.exists(dst):
        os.symlink(prog, dst)


def configure(inst, work, main_extra="", master_extra=""):
    for prog in (SMTPD, CLEANUP, QMGR, BOUNCE, PIPE):
        link(inst, prog)
    script = os.path.join(work, "record.py")
    inst.write_main(
        "myhostname = mx.test.example\n"
        "mydomain = test.example\n"
        "smtpd_peername_lookup = no\n"
        "inet_interfaces = 127.0.0.1\n"
        "transport_maps = inline:{ pipe.test.example=testpipe, "
        "multi.test.example=multi, small.test.example=small }\n"
        # Everything else, bounce notices included, to the notice catcher.
        "default_transport = notices\n"
        "relay_transport = notices\n"
        "recipient_delimiter = +\n"
        "testpipe_destination_recipient_limit = 1\n"
        "testpipe_time_limit = 2s\n"
        "queue_run_delay = 1s\n"
        "minimal_backoff_time = 1s\n"
        "maximal_backoff_time = 2s\n"
        + main_extra)
    inst.write_master(
        f"127.0.0.1:{inst.port} inet n - n - - smtpd\n"
        "cleanup unix n - n - 0 cleanup\n"
        "qmgr unix n - n 300 1 qmgr\n"
        "bounce unix - - n - 0 bounce\n"
        "defer unix - - n - 0 bounce\n"
        "trace unix - - n - 0 bounce\n"
        "testpipe unix - n n - - pipe\n"
        f"  flags=DFOR.> user={USER} directory={work}\n"
        f"  argv={script} ${{user}} ${{sender}} ${{recipient}}\n"
        "  ${original_recipient} ${nexthop} ${mailbox} ${extension}\n"
        "  ${domain} ${queue_id} ${size} ${client_address}\n"
        "  x${sasl_username}y cost=$$5\n"
        f"multi unix - n n - - pipe flags=Xq user={USER}:{USER} "
        f"argv={script} multi ${{recipient}} ${{sender}}\n"
        f"small unix - n n - - pipe size=10 user={USER} argv={script} small\n"
        f"notices unix - n n - - pipe user={USER} "
        f"argv={script} notice ${{sender}} ${{recipient}}\n"
        + master_extra)
    _current.append(inst)


def start(inst):
    inst.start()
    wait_for(lambda: os.path.exists(os.path.join(inst.queue, "public", "cleanup")),
             what="public/cleanup")


def records(work):
    out = []
    for path in sorted(glob.glob(os.path.join(work, "out", "*.json"))):
        with open(path) as f:
            rec = json.load(f)
        rec["path"] = path
        out.append(rec)
    return out


def records_of(work, mode):
    return [r for r in records(work) if r["argv"][0] == mode]


def send(inst, sender, rcpts, msg, rcpt_options=()):
    with smtplib.SMTP("127.0.0.1", inst.port, timeout=10) as c:
        c.ehlo("client.test.example")
        c.sendmail(sender, rcpts, msg.replace("\n", "\r\n"),
                   rcpt_options=rcpt_options)


MSG = ("Subject: pipe test\n"
       "From: a@example.com\n"
       "\n"
       "first line\n"
       ".dotline\n"
       "From me to you\n"
       "last line\n")


def test_argv_macros_flags_and_user_switch(instance, work, pipe_user):
    """Every macro is one argv entry, as is; shell metacharacters in the
    sender are text; D/F/O/R/./> shape stdin; the command runs as user=
    in directory= with a clean environment."""
    configure(instance, work)
    start(instance)
    pwned = os.path.join(work, "pwned")
    # Quoted in SMTP; the queue (as Postfix's) holds the local part
    # unquoted, and that is what ${sender} shows without the q flag.
    sender = f'"a;$(touch {pwned});`touch {pwned}`"@example.com'
    internal = sender.replace('"', "")
    send(instance, sender, ["ok+tag@pipe.test.example"], MSG)
    wait_for(lambda: records_of(work, "ok"), 20, what="the command's record")
    instance.wait_log(r"to=<ok\+tag@pipe\.test\.example>, relay=testpipe, .*"
                      r"dsn=2\.0\.0, status=sent \(delivered via testpipe "
                      r"service\)", 10)
    rec = records_of(work, "ok")[0]
    qid = rec["argv"][8]
    assert f"{qid}: to=<ok+tag@pipe.test.example>" in instance.log()
    assert f"from=<{internal}>" in instance.log()
    assert rec["argv"] == [
        "ok", internal, "ok+tag@pipe.test.example", "ok+tag@pipe.test.example",
        "pipe.test.example", "ok+tag", "tag", "pipe.test.example", qid,
        rec["argv"][9], "127.0.0.1", "xy", "cost=$5"]
    assert not os.path.exists(pwned), "a shell ran the sender"

    assert rec["uid"] == rec["euid"] == pipe_user.pw_uid
    assert rec["gid"] == rec["egid"] == pipe_user.pw_gid
    assert set(rec["groups"]) <= {pipe_user.pw_gid}
    assert rec["cwd"] == work
    assert os.stat(rec["path"]).st_uid == pipe_user.pw_uid
    env = rec["env"]
    assert env["PATH"] == "/usr/bin:/bin"
    assert env["USER"] == env["LOGNAME"] == USER
    assert env["HOME"] == "/nonexistent"
    assert set(env) <= {"PATH", "HOME", "USER", "LOGNAME", "SHELL", "TZ",
                        "LANG", "LC_CTYPE"}, env

    lines = rec["stdin"].split("\n")
    assert lines[0].startswith(f"From {internal}  ")
    assert lines[1] == f"Return-Path: <{internal}>"
    assert lines[2] == "X-Original-To: ok+tag@pipe.test.example"
    assert lines[3] == "Delivered-To: ok+tag@pipe.test.example"
    body = rec["stdin"][rec["stdin"].index("\n\n") + 2:]
    assert body == "first line\n..dotline\n>From me to you\nlast line\n"
    assert "\r" not in rec["stdin"]
    # ${size} is the queued content: what came after our four headers,
    # less the "." and ">" the flags added.
    content = "\n".join(lines[4:])
    assert int(rec["argv"][9]) == len(content.encode("latin-1")) - 2


def test_recipient_macro_expands_per_recipient_and_q_quotes(instance, work):
    """${recipient} in an argument of its own becomes one argument per
    recipient of the request (one command run); q quotes local parts."""
    configure(instance, work)
    start(instance)
    rcpts = ["one@multi.test.example", "two@multi.test.example"]
    send(instance, '"some body"@example.com', rcpts, MSG)
    wait_for(lambda: records_of(work, "multi"), 20, what="multi record")
    instance.wait_log(r"to=<two@multi\.test\.example>, relay=multi, .*status=sent", 10)
    recs = records_of(work, "multi")
    assert len(recs) == 1, recs
    assert recs[0]["argv"] == ["multi", *rcpts, '"some body"@example.com']
    # No From_, Return-Path or Delivered-To without flags.
    assert not recs[0]["stdin"].startswith("From ")
    assert "Return-Path:" not in recs[0]["stdin"]
    assert "Delivered-To:" not in recs[0]["stdin"]
    assert "\nSubject: pipe test\n" in recs[0]["stdin"]


def test_success_notice_says_delivered_only_with_flag_x(instance, work):
    """NOTIFY=SUCCESS: a service with X made the final delivery
    (Action: delivered); one without it passed the mail on (relayed)."""
    configure(instance, work)
    start(instance)
    send(instance, "final@example.com", ["one@multi.test.example"], MSG,
         rcpt_options=("NOTIFY=SUCCESS",))
    send(instance, "onward@example.com", ["ok@pipe.test.example"], MSG,
         rcpt_options=("NOTIFY=SUCCESS",))
    wait_for(lambda: len(records_of(work, "notice")) >= 2, 20,
             what="two success notices")
    by_rcpt = {r["argv"][2]: r["stdin"] for r in records_of(work, "notice")}
    assert "Action: delivered" in by_rcpt["final@example.com"]
    assert "Action: relayed" in by_rcpt["onward@example.com"]


def test_tempfail_is_deferred_then_retried(instance, work):
    configure(instance, work)
    start(instance)
    send(instance, "sender@example.com", ["tempfail@pipe.test.example"], MSG)
    instance.wait_log(r"to=<tempfail@pipe\.test\.example>, relay=testpipe, .*"
                      r"dsn=4\.3\.0, status=deferred \(temporary failure\. "
                      r"Command output: mailbox busy, try later\)", 20)
    with open(os.path.join(work, "release"), "w"):
        pass
    instance.wait_log(r"to=<tempfail@pipe\.test\.example>, relay=testpipe, .*"
                      r"status=sent", 20)
    assert len(records_of(work, "tempfail")) >= 2
    # A deferral is not a bounce: no notice was sent.
    assert not records_of(work, "notice")


def test_nouser_bounces_with_the_command_output(instance, work):
    configure(instance, work)
    start(instance)
    send(instance, "sender@example.com", ["nouser@pipe.test.example"], MSG)
    instance.wait_log(r"to=<nouser@pipe\.test\.example>, relay=testpipe, .*"
                      r"dsn=5\.1\.1, status=bounced \(user unknown\. Command "
                      r"output: no such mailbox here second line\)", 20)
    # The notice to the sender (through the notices pipe service) says why.
    wait_for(lambda: records_of(work, "notice"), 20, what="bounce notice")
    notice = records_of(work, "notice")[0]
    assert notice["argv"][1:] == ["MAILER-DAEMON", "sender@example.com"]
    assert "no such mailbox here second line" in notice["stdin"]
    assert "5.1.1" in notice["stdin"]


def test_delivered_to_loop_is_bounced_without_running(instance, work):
    configure(instance, work)
    start(instance)
    send(instance, "sender@example.com", ["ok@pipe.test.example"],
         "Delivered-To: OK@pipe.test.example\n" + MSG)
    instance.wait_log(r"to=<ok@pipe\.test\.example>, relay=testpipe, .*"
                      r"dsn=5\.4\.6, status=bounced \(mail forwarding loop "
                      r"for ok@pipe\.test\.example\)", 20)
    assert not records_of(work, "ok")


def test_hanging_command_is_killed_and_deferred(instance, work):
    configure(instance, work)
    start(instance)
    t0 = time.monotonic()
    send(instance, "sender@example.com", ["hang@pipe.test.example"], MSG)
    instance.wait_log(r"to=<hang@pipe\.test\.example>, relay=testpipe, .*"
                      r"dsn=4\.3\.0, status=deferred \(Command time limit "
                      r"exceeded: \"" + os.path.join(work, "record.py") + r"\"\)",
                      20)
    assert time.monotonic() - t0 < 15
    rec = records_of(work, "hang")[0]
    # The command and what it started (its process group) are gone.
    for pid in (rec["pid"], rec["child"]):
        wait_for(lambda: not os.path.exists(f"/proc/{pid}")
                 or open(f"/proc/{pid}/stat").read().split(") ")[1][0] == "Z",
                 5, what=f"process {pid} to be killed")


def test_size_limit_and_refused_users(instance, work):
    """size= bounces a larger message; user=root and user=mail_owner are
    configuration errors (the service does not run)."""
    configure(instance, work,
              main_extra="transport_maps = inline:{ small.test.example=small, "
                         "root.test.example=rootpipe, "
                         "owner.test.example=ownerpipe }\n",
              master_extra=f"rootpipe unix - n n - - pipe user=root "
                           f"argv=/bin/true\n"
                           f"ownerpipe unix - n n - - pipe user={instance.owner} "
                           f"argv=/bin/true\n")
    start(instance)
    send(instance, "sender@example.com", ["x@small.test.example"], MSG)
    instance.wait_log(r"to=<x@small\.test\.example>, relay=small, .*"
                      r"dsn=5\.2\.3, status=bounced \(message too large\)", 20)
    assert not records_of(work, "small")
    send(instance, "sender@example.com", ["x@root.test.example"], MSG)
    instance.wait_log(r"fatal: service rootpipe: user= must not give root "
                      r"privileges", 20)
    send(instance, "sender@example.com", ["x@owner.test.example"], MSG)
    instance.wait_log(r"fatal: service ownerpipe: user=\S+ is the mail system "
                      r"owner", 20)
