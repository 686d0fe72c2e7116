"""Local submission, end to end: sendmail(1) -> postdrop(1) -> maildrop/
-> pickup(8) -> cleanup -> qmgr -> smtp -> an SMTP sink (aiosmtpd).

Run as root, the submitting user is "nobody" and postdrop is a copy made
set-gid postdrop, as "make install" installs it. A set-gid postdrop
only accepts a configuration directory that the default main.cf lists in
alternate_config_directories, so those tests give the default
configuration directory a throw-away main.cf inside a private mount
namespace (unshare -m): nothing outside the test sees it."""

import grp
import os
import pwd
import re
import shutil
import subprocess
import tempfile

import pytest

from conftest import IS_ROOT, TOP, Instance, pid_alive, wait_for
from mailsinks import Sink

SENDMAIL = os.path.join(TOP, "cmd", "sendmail")
POSTDROP = os.path.join(TOP, "cmd", "postdrop")
QUEUE = os.path.join(TOP, "cmd", "postern-queue")
POSTCONF = os.path.join(TOP, "cmd", "postern-conf")
DAEMONS = [os.path.join(TOP, d, d) for d in
           ("smtpd", "cleanup", "qmgr", "pickup", "smtp", "bounce", "showq")]


def default_config_dir():
    out = subprocess.run([POSTCONF, "-d", "config_directory"], capture_output=True,
                         text=True, timeout=10).stdout
    return out.split("=", 1)[1].strip()


class System:
    """A whole postern in one Instance, relaying everything to a sink."""

    def __init__(self, inst, sink, extra=""):
        self.inst = inst
        self.sink = sink
        self.bin = os.path.join(inst.base, "bin")
        os.makedirs(self.bin)
        os.chmod(self.bin, 0o755)
        for prog in DAEMONS:
            if not os.access(prog, os.X_OK):
                pytest.fail(f"{prog} is not built")
            os.symlink(prog, os.path.join(inst.libexec, os.path.basename(prog)))
        for prog in (SENDMAIL, POSTDROP, QUEUE):
            dst = os.path.join(self.bin, os.path.basename(prog))
            shutil.copy(prog, dst)
            os.chmod(dst, 0o755)
        if IS_ROOT:
            # What make install does: root:postdrop 2755.
            for name in ("postdrop", "postern-queue"):
                pd = os.path.join(self.bin, name)
                os.chown(pd, 0, grp.getgrnam("postdrop").gr_gid)
                os.chmod(pd, 0o2755)
        for name in ("postern-map",):
            os.symlink(os.path.join(TOP, "cmd", name), os.path.join(self.bin, name))
        for name in ("mailq", "newaliases"):
            os.symlink("sendmail", os.path.join(self.bin, name))
        inst.write_main("myhostname = mx.test.example\n"
                        "mydomain = test.example\n"
                        "smtpd_peername_lookup = no\n"
                        "inet_interfaces = 127.0.0.1\n"
                        f"command_directory = {self.bin}\n"
                        f"relayhost = [127.0.0.1]:{sink.port}\n"
                        "default_transport = smtp\n"
                        "relay_transport = smtp\n"
                        "smtp_dns_support_level = disabled\n"
                        "smtp_connect_timeout = 5s\n"
                        "queue_run_delay = 1s\n"
                        "minimal_backoff_time = 1s\n" + extra)
        inst.write_master(
            f"127.0.0.1:{inst.port} inet n - n - - smtpd\n"
            "pickup unix n - n 60 1 pickup\n"
            "cleanup unix n - n - 0 cleanup\n"
            "qmgr unix n - n 300 1 qmgr\n"
            "smtp unix - - n - - smtp\n"
            "bounce unix - - n - 0 bounce\n"
            "defer unix - - n - 0 bounce\n"
            "trace unix - - n - 0 bounce\n"
            "showq unix n - n - - showq\n")

    def start(self):
        self.inst.start()
        wait_for(lambda: os.path.exists(os.path.join(self.inst.queue, "public", "pickup")),
                 what="public/pickup")

    def sendmail(self, *args, input=b"", as_nobody=False, prog="sendmail", timeout=30):
        """Run sendmail; as_nobody (root only): as nobody, with the set-gid
        postdrop and the default main.cf trusting this instance."""
        cmd = [os.path.join(self.bin, prog), "-C", self.inst.etc, *args]
        if as_nobody:
            cmd = self.unprivileged(cmd)
        return subprocess.run(cmd, input=input, capture_output=True, timeout=timeout)

    def unprivileged(self, cmd):
        conf = default_config_dir()
        if os.path.isdir(conf):
            mnt, mk = conf, ""
        else:
            mnt = os.path.dirname(conf)
            if mnt in ("/", "/etc", "/usr") or not os.path.isdir(mnt):
                pytest.skip(f"cannot shadow {conf} safely")
            mk = f"mkdir {conf} && "
        script = (f"mount -t tmpfs postern-test {mnt} && {mk}"
                  f"printf 'alternate_config_directories = {self.inst.etc}\\n' "
                  f"> {conf}/main.cf && exec \"$@\"")
        nobody = pwd.getpwnam("nobody")
        return ["unshare", "-m", "sh", "-c", script, "sh",
                "setpriv", f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}",
                "--clear-groups", "--", *cmd]

    def wait_messages(self, n):
        try:
            return self.sink.wait_messages(n)
        except AssertionError as e:
            raise AssertionError(f"{e}\nlog:\n{self.inst.log()}")

    def maildrop(self):
        return sorted(os.listdir(os.path.join(self.inst.queue, "maildrop")))

    def corrupt(self):
        return sorted(os.listdir(os.path.join(self.inst.queue, "corrupt")))


@pytest.fixture
def system():
    """An instance under /tmp that nobody can traverse, and a sink."""
    if IS_ROOT:
        try:
            pwd.getpwnam("postern")
            grp.getgrnam("postdrop")
        except KeyError:
            pytest.skip("needs the postern user and the postdrop group")
    base = tempfile.mkdtemp(prefix="postern-sendmail-", dir="/tmp")
    os.chmod(base, 0o755)
    inst = Instance(base)
    sink = Sink(dsn=True).start()
    sys_ = System(inst, sink)
    yield sys_
    sink.stop()
    if inst.master_pid is not None and pid_alive(inst.master_pid):
        inst.postern("stop", check=False)
        try:
            wait_for(lambda: not inst.processes(), 15, what="instance to stop")
        except AssertionError:
            pass
    left = inst.processes() if inst.master_pid else []
    inst.cleanup()
    shutil.rmtree(base, ignore_errors=True)
    assert not left


MSG = (b"From: Some One <someone@test.example>\n"
       b"To: a@example.org\n"
       b"Cc: b@example.org\n"
       b"Bcc: hidden@example.org\n"
       b"Subject: sendmail -t\n"
       b"\n"
       b"first line\n"
       b".\n"
       b"after a lone dot\n")


def test_sendmail_t_as_unprivileged_user(system):
    """echo ... | sendmail -t -i from nobody: recipients from To/Cc/Bcc,
    Bcc: removed, the lone dot kept (-i), the sender is the user, and
    pickup logs the kernel's uid."""
    if not IS_ROOT:
        pytest.skip("switching to nobody needs root")
    system.start()
    r = system.sendmail("-t", "-i", input=MSG, as_nobody=True)
    assert r.returncode == 0, r.stderr.decode()
    msg = system.wait_messages(1)[0]
    assert sorted(msg["rcpt_tos"]) == ["a@example.org", "b@example.org",
                                       "hidden@example.org"]
    assert msg["mail_from"] == "nobody@mx.test.example"
    data = msg["data"].replace(b"\r\n", b"\n")
    assert b"hidden" not in data and b"Bcc" not in data
    assert b"\n.\nafter a lone dot\n" in data.replace(b"\n..\n", b"\n.\n")
    assert b"Cc: b@example.org" in data
    nobody = pwd.getpwnam("nobody").pw_uid
    system.inst.wait_log(rf"pickup\[\d+\]: \w+: uid={nobody} from=<nobody>")
    assert system.maildrop() == []


def test_dot_ends_message_without_i_and_crlf_input(system):
    """Without -i a lone '.' ends the message; CRLF input is accepted."""
    system.start()
    r = system.sendmail("x@example.org",
                        input=b"Subject: crlf\r\n\r\nline one\r\n.\r\nnot sent\r\n")
    assert r.returncode == 0, r.stderr.decode()
    msg = system.wait_messages(1)[0]
    data = msg["data"].replace(b"\r\n", b"\n")
    assert b"line one\n" in data and b"not sent" not in data
    assert b"\r" not in msg["data"].replace(b"\r\n", b"")


def test_envelope_options_carried_through(system):
    """-f, -F, -N, -R, -V and -B reach the next hop (MAIL FROM RET/ENVID,
    RCPT NOTIFY, BODY) and the From: header cleanup adds."""
    system.start()
    r = system.sendmail("-f", "<sender@example.com>", "-F", "Ann Example",
                        "-N", "success,failure", "-R", "hdrs", "-V", "env-42",
                        "-B", "8BITMIME", "-oi", "-odb", "-oem", "--",
                        "rcpt@example.org",
                        input=b"Subject: dsn\n\nbody\n")
    assert r.returncode == 0, r.stderr.decode()
    msg = system.wait_messages(1)[0]
    assert msg["mail_from"] == "sender@example.com"
    assert msg["rcpt_tos"] == ["rcpt@example.org"]
    assert "RET=HDRS" in msg["dsn_mail"]
    assert "ENVID=env-42" in msg["dsn_mail"]
    assert msg["dsn_rcpt"][0][0].upper().startswith("NOTIFY=")
    assert set(msg["dsn_rcpt"][0][0].split("=", 1)[1].upper().split(",")) == \
        {"SUCCESS", "FAILURE"}
    assert "BODY=8BITMIME" in [o.upper() for o in msg["mail_options"]]
    assert b'From: "Ann Example" <sender@example.com>' in msg["data"]


def test_notify_for_recipients_from_headers(system):
    """sendmail -t -N: the NOTIFY reaches the recipients cleanup found in
    the headers; a command-line recipient gets it too."""
    system.start()
    r = system.sendmail("-t", "-N", "delay,failure", "cmd@example.org",
                        input=b"To: hdr@example.org\nSubject: t N\n\nx\n")
    assert r.returncode == 0, r.stderr.decode()
    msg = system.wait_messages(1)[0]
    assert sorted(msg["rcpt_tos"]) == ["cmd@example.org", "hdr@example.org"]
    for taken in msg["dsn_rcpt"]:
        assert set(taken[0].split("=", 1)[1].upper().split(",")) == \
            {"DELAY", "FAILURE"}, msg["dsn_rcpt"]


def test_usage_errors(system):
    r = system.sendmail(input=b"Subject: x\n\n")
    assert r.returncode == 64 and b"Recipient addresses must be specified" in r.stderr
    r = system.sendmail("-N", "sometimes", "a@example.org", input=b"")
    assert r.returncode == 64 and b"-N" in r.stderr
    r = system.sendmail("-bd")
    assert r.returncode == 64


def test_bs_dialogue(system):
    system.start()
    script = (b"EHLO client\r\n"
              b"RCPT TO:<early@example.org>\r\n"
              b"MAIL FROM:<bs@example.com> RET=FULL\r\n"
              b"RCPT TO:<one@example.org> NOTIFY=NEVER\r\n"
              b"DATA\r\n"
              b"Subject: -bs\r\n\r\n..dot stuffed\r\nplain\r\n.\r\n"
              b"QUIT\r\n")
    r = system.sendmail("-bs", input=script)
    assert r.returncode == 0, r.stderr.decode()
    codes = [l[:4] for l in r.stdout.decode().split("\r\n") if l]
    assert codes[0] == "220 "
    assert codes[-1] == "221 "
    replies = [l for l in r.stdout.decode().split("\r\n") if l and l[3] == " "]
    assert [x[:3] for x in replies] == ["220", "250", "503", "250", "250", "354",
                                        "250", "221"], r.stdout
    msg = system.wait_messages(1)[0]
    assert msg["mail_from"] == "bs@example.com"
    assert msg["rcpt_tos"] == ["one@example.org"]
    assert "RET=FULL" in msg["dsn_mail"]
    assert b"\r\n.dot stuffed\r\nplain\r\n" in msg["data"].replace(b"\r\n..", b"\r\n.")


def test_queued_while_down_then_delivered_and_planted_files_refused(system):
    """postdrop works with master down and says so; at start pickup
    delivers the real submission and moves to corrupt/ a file postdrop
    did not write (a recipient record forged as 'done') and garbage."""
    system.start()
    system.inst.stop()
    wait_for(lambda: not system.inst.processes(), 15, what="instance down")
    r = system.sendmail("down@example.org", input=b"Subject: while down\n\nwaited\n",
                        as_nobody=IS_ROOT)
    assert r.returncode == 0, r.stderr.decode()
    assert b"mail queued; it will be delivered when the mail system is started" in r.stderr
    r = system.sendmail("forged@example.org", input=b"Subject: forged\n\nx\n")
    assert r.returncode == 0, r.stderr.decode()
    files = system.maildrop()
    assert len(files) == 2
    md = os.path.join(system.inst.queue, "maildrop")
    if IS_ROOT:
        st = os.stat(os.path.join(md, files[0]))
        owners = {os.stat(os.path.join(md, f)).st_uid for f in files}
        assert pwd.getpwnam("nobody").pw_uid in owners
        assert st.st_mode & 0o777 == 0o744
    # Forge: the second file's R record becomes D (same length, so every
    # offset still agrees): a record no user may write.
    forged = None
    for f in files:
        data = open(os.path.join(md, f), "rb").read()
        if b"forged@example.org" in data:
            forged = f
            i = data.index(b"forged@example.org")
            assert data[i - 2:i - 1] == b"R"
            with open(os.path.join(md, f), "r+b") as fh:
                fh.seek(i - 2)
                fh.write(b"D")
    assert forged
    garbage = "4hQJmW0Bcdz5Tr"
    with open(os.path.join(md, garbage), "wb") as fh:
        fh.write(b"not a queue file\n")
    os.chmod(os.path.join(md, garbage), 0o744)
    system.start()
    msg = system.wait_messages(1)[0]
    assert msg["rcpt_tos"] == ["down@example.org"]
    wait_for(lambda: sorted(system.corrupt()) == sorted([forged, garbage]), 15,
             what="corrupt/ files\n" + system.inst.log())
    log = system.inst.log()
    assert re.search(rf"maildrop/{forged}: uid=\d+: .*done_recipient.*moved to corrupt/", log)
    assert re.search(rf"maildrop/{garbage}: uid=\d+: .*moved to corrupt/", log)
    assert system.maildrop() == []
    assert len(system.sink.messages) == 1


def rec(t, payload=b""):
    out = bytearray(t.encode())
    n = len(payload)
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            break
    return bytes(out) + payload


def postdrop(system, data, as_nobody=False, prog=None):
    cmd = [prog or os.path.join(system.bin, "postdrop"), "-c", system.inst.etc]
    if as_nobody:
        cmd = system.unprivileged(cmd)
    return subprocess.run(cmd, input=data, capture_output=True, timeout=30)


def test_postdrop_refuses_malformed_input(system):
    system.start()
    system.inst.stop()
    good_env = rec("S", b"u@example.com") + rec("R", b"r@example.org")
    body = rec("M") + rec("N", b"Subject: x") + rec("N") + rec("N", b"hi") + rec("X")
    cases = {
        "client attribute": rec("A", b"client_address=10.0.0.1") + good_env + body + rec("E"),
        "content filter": good_env + rec("A", b"content_filter=smtp:evil") + body + rec("E"),
        "done record": good_env + rec("D", b"x@example.org") + body + rec("E"),
        "arrival time": rec("T", b"1 0") + good_env + body + rec("E"),
        "two senders": good_env + rec("S", b"v@example.com") + body + rec("E"),
        "no end": good_env + body,
        "bad length": good_env + b"R\xff\xff\xff\xff\xff\x01",
        "CR in address": rec("S", b"u@example.com") + rec("R", b"r@example.org\r\nX") + body + rec("E"),
        "after end": good_env + body + rec("E") + rec("R", b"more@example.org"),
    }
    for what, data in cases.items():
        r = postdrop(system, data, as_nobody=IS_ROOT)
        assert r.returncode == 65, (what, r.returncode, r.stderr)
        assert b"message not queued" in r.stderr, (what, r.stderr)
        assert system.maildrop() == [], what
    r = postdrop(system, good_env + body + rec("E"), as_nobody=IS_ROOT)
    assert r.returncode == 0, r.stderr
    assert len(system.maildrop()) == 1
    # The build itself, not set-gid (in a sanitizer build LeakSanitizer
    # only works there), refusing and accepting.
    r = postdrop(system, cases["client attribute"], prog=POSTDROP)
    assert r.returncode == 65, r.stderr
    r = postdrop(system, good_env + body + rec("E"), prog=POSTDROP)
    assert r.returncode == 0, r.stderr
    assert len(system.maildrop()) == 2


def test_oversized_message_refused(system):
    system.inst.write_main(open(os.path.join(system.inst.etc, "main.cf")).read()
                           + "message_size_limit = 2000\n")
    system.start()
    big = b"Subject: big\n\n" + b"x" * 70 + b"\n"
    r = system.sendmail("a@example.org", input=big * 40, as_nobody=IS_ROOT)
    assert r.returncode == 65, r.stderr
    assert b"message file too big" in r.stderr
    # postdrop enforces it too, whoever writes its input.
    env = rec("S", b"u@example.com") + rec("R", b"r@example.org") + rec("M")
    r = postdrop(system, env + rec("N", b"y" * 3000) + rec("X") + rec("E"),
                 as_nobody=IS_ROOT)
    assert r.returncode == 65 and b"message_size_limit" in r.stderr
    assert system.maildrop() == []


def test_unprivileged_user_cannot_reach_maildrop(system):
    if not IS_ROOT:
        pytest.skip("needs root to switch to nobody")
    system.start()
    md = os.path.join(system.inst.queue, "maildrop")
    st = os.stat(md)
    assert st.st_mode & 0o777 == 0o730
    nobody = pwd.getpwnam("nobody")
    for cmd in (["touch", os.path.join(md, "x")], ["ls", md]):
        r = subprocess.run(["setpriv", f"--reuid={nobody.pw_uid}",
                            f"--regid={nobody.pw_gid}", "--clear-groups", *cmd],
                           capture_output=True, timeout=10)
        assert r.returncode != 0 and b"Permission denied" in r.stderr, cmd
    # A set-gid postdrop does not take a configuration it was not told
    # to trust.
    r = subprocess.run(["setpriv", f"--reuid={nobody.pw_uid}",
                        f"--regid={nobody.pw_gid}", "--clear-groups",
                        os.path.join(system.bin, "postdrop"), "-c", system.inst.etc],
                       input=b"", capture_output=True, timeout=10)
    assert r.returncode == 77 and b"may not use configuration directory" in r.stderr


def test_mailq_as_unprivileged_user(system):
    """mailq from nobody (no postdrop group): the set-gid postern-queue
    reaches showq, and refuses a configuration directory the default
    main.cf does not trust."""
    if not IS_ROOT:
        pytest.skip("switching to nobody needs root")
    system.start()
    hold = os.path.join(system.inst.etc, "hold_checks")
    with open(hold, "w") as f:
        f.write("/^Subject: keep me/ HOLD\n")
    with open(os.path.join(system.inst.etc, "main.cf"), "a") as f:
        f.write(f"header_checks = regexp:{hold}\n")
    system.inst.postern("reload")
    r = system.sendmail("-i", "someone@remote.example",
                        input=b"Subject: keep me\n\nx\n")
    assert r.returncode == 0, r.stderr
    wait_for(lambda: os.listdir(os.path.join(system.inst.queue, "hold")), 20,
             what="a held message")
    r = subprocess.run(system.unprivileged([os.path.join(system.bin, "mailq"),
                                            "-C", system.inst.etc]),
                       capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert b"someone@remote.example" in r.stdout
    assert b"!" in r.stdout.splitlines()[1]  # held
    nobody = pwd.getpwnam("nobody")
    r = subprocess.run(["setpriv", f"--reuid={nobody.pw_uid}",
                        f"--regid={nobody.pw_gid}", "--clear-groups",
                        os.path.join(system.bin, "postern-queue"), "-c",
                        system.inst.etc, "-p"],
                       capture_output=True, timeout=10)
    assert r.returncode == 77 and b"may not use configuration directory" in r.stderr


def test_mailq_and_newaliases_personalities(system):
    system.start()
    r = system.sendmail(prog="mailq")
    assert r.returncode == 0, r.stderr
    assert b"Mail queue is empty" in r.stdout or r.stdout == b""
    aliases = os.path.join(system.inst.etc, "aliases")
    with open(aliases, "w") as f:
        f.write("postmaster: root\n")
    with open(os.path.join(system.inst.etc, "main.cf"), "a") as f:
        f.write(f"alias_database = hash:{aliases}\n")
    r = system.sendmail(prog="newaliases")
    assert r.returncode == 0, r.stderr
    assert os.path.exists(aliases + ".db")
