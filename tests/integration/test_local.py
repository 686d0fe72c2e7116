"""local(8) end to end: mail through smtpd, cleanup and qmgr to the real
local delivery agent, into test users' mbox files and Maildirs, through
aliases (users, files, commands, :include:), .forward and address
extensions; loops, planted symlinks, failed deliveries and LMTP to
Dovecot through mailbox_transport. Run as root (users are created and
removed by the tests); skipped otherwise.
"""

import mailbox
import os
import re
import stat

import pytest

from conftest import IS_ROOT
from local_helpers import (HOST, SMTP, Users, build_aliases, configure, need_root,
                           owned_by_root_under, send, start, wait_for)


@pytest.fixture
def users():
    need_root()
    u = Users()
    yield u
    u.remove()


@pytest.fixture
def spool(instance):
    d = os.path.join(instance.base, "spool")
    os.makedirs(d)
    os.chmod(d, 0o755)
    return d


def mbox_messages(path):
    box = mailbox.mbox(path, create=False)
    try:
        return [box[k] for k in box.keys()]
    finally:
        box.close()


def test_mbox_in_spool_owned_locked_and_quoted(instance, users, spool):
    alice = users.add("al")
    configure(instance, f"mail_spool_directory = {spool}\n")
    start(instance)
    send(instance, [f"{alice.pw_name}@{HOST}"],
         body="first\nFrom the start of a line\n>From quoted already\n")
    send(instance, [f"{alice.pw_name}@{HOST}"], body="second\n")
    box = os.path.join(spool, alice.pw_name)
    wait_for(instance, lambda: os.path.exists(box) and
             len(mbox_messages(box)) == 2, what="two messages in the mbox")
    st = os.stat(box)
    assert st.st_uid == alice.pw_uid and stat.S_IMODE(st.st_mode) == 0o600
    assert not os.path.exists(box + ".lock")
    raw = open(box).read()
    assert raw.startswith("From sender@example.com ")
    # mboxrd quoting: every From_-like line gets one more '>'.
    assert "\n>From the start of a line\n" in raw
    assert "\n>>From quoted already\n" in raw
    assert raw.endswith("\n\n")
    msgs = mbox_messages(box)
    assert msgs[0]["Return-Path"] == "<sender@example.com>"
    assert msgs[0]["Delivered-To"] == f"{alice.pw_name}@{HOST}"
    assert msgs[1].get_payload().strip() == "second"
    instance.wait_log(r"to=<%s@%s>, relay=local, .*status=sent "
                      r"\(delivered to mailbox\)" % (alice.pw_name,
                                                     re.escape(HOST)))
    # root's mail: the spool file is root's (nothing to switch to).
    send(instance, [f"root@{HOST}"], body="for root\n")
    rbox = os.path.join(spool, "root")
    wait_for(instance, lambda: os.path.exists(rbox) and
             "for root" in open(rbox).read(), what="root's mbox")
    assert os.stat(rbox).st_uid == 0


def test_maildir_in_home_made_as_the_user(instance, users):
    bob = users.add("bo")
    configure(instance, "home_mailbox = Maildir/\n")
    start(instance)
    for i in range(3):
        send(instance, [f"{bob.pw_name}@{HOST}"], body=f"message {i}\n")
    md = os.path.join(bob.pw_dir, "Maildir")
    wait_for(instance, lambda: os.path.isdir(os.path.join(md, "new")) and
             len(os.listdir(os.path.join(md, "new"))) == 3,
             what="three messages in Maildir/new")
    names = os.listdir(os.path.join(md, "new"))
    assert len(set(names)) == 3
    assert os.listdir(os.path.join(md, "tmp")) == []
    box = mailbox.Maildir(md, create=False)
    bodies = sorted(m.get_payload().strip() for m in box)
    assert bodies == ["message 0", "message 1", "message 2"]
    for p in [md] + [os.path.join(md, d) for d in ("tmp", "new", "cur")] + \
            [os.path.join(md, "new", n) for n in names]:
        assert os.stat(p).st_uid == bob.pw_uid, p
    assert owned_by_root_under(bob.pw_dir) == []


def test_aliases_users_file_command_include(instance, users, spool):
    a = users.add("a")
    b = users.add("b")
    data = configure(instance, f"mail_spool_directory = {spool}\n")
    # Not under pytest's private directory: nobody must reach it.
    out = os.path.join(users.top, "out")
    os.makedirs(out)
    os.chmod(out, 0o777)  # commands and files run as nobody
    inc = os.path.join(out, "list.inc")  # read as default_privs
    with open(inc, "w") as f:
        f.write(f"# the list\n{b.pw_name}\n")
    os.chmod(inc, 0o644)
    aliases = os.path.join(data, "aliases")
    build_aliases(instance, aliases,
                  f"# test aliases\n"
                  f"team: {a.pw_name},\n  {b.pw_name}\n"
                  f"tofile: {out}/file.mbox\n"
                  f"topipe: \"|echo \\\"$RECIPIENT $SENDER $USER\\\" > {out}/env; "
                  f"cat > {out}/pipe.out\"\n"
                  f"inc: :include:{inc}\n")
    instance.write_main(open(os.path.join(instance.etc, "main.cf")).read()
                        .replace("alias_maps =\n", "")
                        + f"alias_maps = hash:{aliases}\n")
    start(instance)
    send(instance, [f"team@{HOST}"], body="to the team\n")
    for u in (a, b):
        p = os.path.join(spool, u.pw_name)
        wait_for(instance, lambda p=p: os.path.exists(p) and
                 "to the team" in open(p).read(), what=f"team mail in {p}")
    # The copy was forwarded as a new message with Delivered-To: team.
    msg = mbox_messages(os.path.join(spool, a.pw_name))[0]
    assert f"team@{HOST}" in msg.get_all("Delivered-To")
    instance.wait_log(r"to=<team@%s>.*status=sent \(forwarded as " % re.escape(HOST))

    send(instance, [f"tofile@{HOST}"], body="to a file\n")
    wait_for(instance, lambda: os.path.exists(f"{out}/file.mbox") and
             "to a file" in open(f"{out}/file.mbox").read(), what="file")
    assert os.stat(f"{out}/file.mbox").st_uid == 65534  # default_privs

    send(instance, [f"topipe@{HOST}"], body="to a pipe\n")
    wait_for(instance, lambda: os.path.exists(f"{out}/pipe.out") and
             "to a pipe" in open(f"{out}/pipe.out").read(), what="pipe")
    env = open(f"{out}/env").read().split()
    assert env == [f"topipe@{HOST}", "sender@example.com", "nobody"]
    assert os.stat(f"{out}/pipe.out").st_uid != 0
    assert open(f"{out}/pipe.out").read().startswith("From sender@example.com ")
    instance.wait_log(r"to=<topipe@%s>.*status=sent \(delivered to command: "
                      % re.escape(HOST))

    send(instance, [f"inc@{HOST}"], body="included\n")
    p = os.path.join(spool, b.pw_name)
    wait_for(instance, lambda: "included" in open(p).read(), what="include")


def test_forward_and_extension(instance, users, spool):
    a = users.add("a")
    b = users.add("b")
    configure(instance, f"mail_spool_directory = {spool}\n"
                    "recipient_delimiter = +\n")
    fwd = os.path.join(b.pw_dir, ".forward")
    with open(fwd, "w") as f:
        f.write(f"\\{b.pw_name}, {a.pw_name}\n")
    os.chown(fwd, b.pw_uid, b.pw_gid)
    start(instance)
    send(instance, [f"{b.pw_name}@{HOST}"], body="for b\n")
    for u in (a, b):
        p = os.path.join(spool, u.pw_name)
        wait_for(instance, lambda p=p: os.path.exists(p) and
                 "for b" in open(p).read(), what=f"forwarded mail in {p}")
    # Naming oneself with the domain also means one's own mailbox.
    c = users.add("c")
    fwd = os.path.join(c.pw_dir, ".forward")
    with open(fwd, "w") as f:
        f.write(f"# keep a copy\n{c.pw_name}@{HOST}\n{a.pw_name}\n")
    os.chown(fwd, c.pw_uid, c.pw_gid)
    send(instance, [f"{c.pw_name}@{HOST}"], body="for c\n")
    for u in (a, c):
        p = os.path.join(spool, u.pw_name)
        wait_for(instance, lambda p=p: os.path.exists(p) and
                 "for c" in open(p).read(), what=f"c's mail in {p}")
    send(instance, [f"{a.pw_name}+lists@{HOST}"], body="with extension\n")
    p = os.path.join(spool, a.pw_name)
    wait_for(instance, lambda: "with extension" in open(p).read(),
             what="user+ext delivered")
    last = mbox_messages(p)[-1]
    assert last["Delivered-To"] == f"{a.pw_name}+lists@{HOST}"


def test_forward_owned_by_someone_else_is_refused(instance, users, spool):
    a = users.add("a")
    configure(instance, f"mail_spool_directory = {spool}\n")
    fwd = os.path.join(a.pw_dir, ".forward")
    with open(fwd, "w") as f:
        f.write("|touch /tmp/should-not-run\n")
    # Left owned by root: not the user's own file.
    start(instance)
    send(instance, [f"{a.pw_name}@{HOST}"])
    instance.wait_log(r"to=<%s@%s>.*status=deferred" % (a.pw_name,
                                                        re.escape(HOST)))
    assert not os.path.exists("/tmp/should-not-run")


def test_unknown_user_refused_at_rcpt(instance, users):
    import smtplib
    configure(instance)
    start(instance)
    with smtplib.SMTP("127.0.0.1", instance.port, timeout=15) as c:
        c.ehlo("client.test.example")
        c.mail("sender@example.com")
        code, text = c.rcpt(f"no-such-user-xyz@{HOST}")
    assert code == 550 and b"5.1.1" in text


def test_forwarding_loop_is_stopped(instance, users, spool):
    a = users.add("a")
    data = configure(instance, f"mail_spool_directory = {spool}\n")
    aliases = os.path.join(data, "aliases")
    build_aliases(instance, aliases, "loopa: loopb\nloopb: loopa\n")
    instance.write_main(open(os.path.join(instance.etc, "main.cf")).read()
                        .replace("alias_maps =\n", "")
                        + f"alias_maps = hash:{aliases}\n")
    start(instance)
    send(instance, [f"loopa@{HOST}"], sender=f"{a.pw_name}@{HOST}")
    instance.wait_log(r"to=<loopa@%s>.*dsn=5\.4\.6, status=bounced "
                      r"\(mail forwarding loop" % re.escape(HOST), 30)
    # The sender (a local user) gets the notice.
    p = os.path.join(spool, a.pw_name)
    wait_for(instance, lambda: os.path.exists(p) and
             "forwarding loop" in open(p).read(), 30, what="the notice")


def test_planted_symlinks_are_not_followed(instance, users):
    c = users.add("c")
    d = users.add("d")
    configure(instance, "home_mailbox = Maildir/\n")
    # Planted by the user: a link they own.
    os.symlink("/etc", os.path.join(c.pw_dir, "Maildir"))
    os.lchown(os.path.join(c.pw_dir, "Maildir"), c.pw_uid, c.pw_gid)
    before = set(os.listdir("/etc"))
    start(instance)
    send(instance, [f"{c.pw_name}@{HOST}"])
    instance.wait_log(r"to=<%s@%s>.*status=(bounced|deferred)" %
                      (c.pw_name, re.escape(HOST)), 30)
    assert set(os.listdir("/etc")) == before
    assert not os.path.exists("/etc/new")

    # An mbox in the home that points at /etc/passwd.
    instance.stop()
    configure(instance, "home_mailbox = mbox\n")
    os.symlink("/etc/passwd", os.path.join(d.pw_dir, "mbox"))
    os.lchown(os.path.join(d.pw_dir, "mbox"), d.pw_uid, d.pw_gid)
    passwd = open("/etc/passwd").read()
    start(instance)
    send(instance, [f"{d.pw_name}@{HOST}"])
    instance.wait_log(r"to=<%s@%s>.*status=(bounced|deferred)" %
                      (d.pw_name, re.escape(HOST)), 30)
    assert open("/etc/passwd").read() == passwd
    for u in (c, d):
        assert owned_by_root_under(u.pw_dir) == []


def test_failed_delivery_leaves_the_mbox_as_it_was(instance, users, spool):
    a = users.add("a")
    configure(instance, f"mail_spool_directory = {spool}\n")
    start(instance)
    send(instance, [f"{a.pw_name}@{HOST}"], body="small\n")
    box = os.path.join(spool, a.pw_name)
    wait_for(instance, lambda: os.path.exists(box), what="first message")
    before = open(box, "rb").read()
    instance.stop()
    configure(instance, f"mail_spool_directory = {spool}\n"
                    f"mailbox_size_limit = {len(before) + 2000}\n")
    start(instance)
    send(instance, [f"{a.pw_name}@{HOST}"], body="x" * 70 + "\n" * 1 +
         ("y" * 70 + "\n") * 200)
    instance.wait_log(r"to=<%s@%s>.*dsn=5\.2\.2, status=bounced" %
                      (a.pw_name, re.escape(HOST)), 30)
    assert open(box, "rb").read() == before
    assert len(mbox_messages(box)) == 1


# --- mailbox_transport to Dovecot LMTP ----------------------------------------



@pytest.fixture
def dovecot_for(users):
    """Dovecot LMTP (conftest.dovecot_lmtp) knowing one test user."""
    from conftest import _dovecot_usable, dovecot_lmtp
    _dovecot_usable()
    u = users.add("dv")
    ids = (u.pw_uid, u.pw_gid)
    with dovecot_lmtp([(u.pw_name, *ids)], ids) as dv:
        yield dict(dv, user=u)


def test_mailbox_transport_lmtp_to_dovecot(instance, dovecot_for):
    from local_helpers import link
    u = dovecot_for["user"]
    if not os.access(SMTP, os.X_OK):
        pytest.fail(f"{SMTP} is not built")
    configure(instance, f"mailbox_transport = lmtp:unix:{dovecot_for['sock']}\n"
                    "lmtp_dns_support_level = disabled\n",
          master_extra="lmtp unix - - n - - lmtp\n")
    link(instance, SMTP, "lmtp")
    start(instance)
    send(instance, [f"{u.pw_name}@{HOST}"], body="via dovecot\n")
    new = dovecot_for["mail"] / u.pw_name / "new"
    wait_for(instance, lambda: new.exists() and len(list(new.iterdir())) == 1,
             20, what="the message in Dovecot's Maildir")
    assert b"via dovecot" in list(new.iterdir())[0].read_bytes()
    instance.wait_log(r"postern/lmtp\[\d+\]: .*to=<%s@%s>.*status=sent" %
                      (u.pw_name, re.escape(HOST)))
    # Settled once, by lmtp; the message leaves the queue.
    instance.wait_log(r": removed", 15)


def test_luser_relay_and_mailbox_command(instance, users, spool):
    a = users.add("a")
    b = users.add("b")
    configure(instance, f"mail_spool_directory = {spool}\n"
                        "local_recipient_maps =\n"
                        f"luser_relay = {a.pw_name}+$user\n"
                        "recipient_delimiter = +\n"
                        # Runs as the recipient, message on stdin.
                        "mailbox_command = /bin/sh -c 'cat > \"$HOME/cmd.out\"'\n")
    start(instance)
    send(instance, [f"ghost@{HOST}"], body="for nobody here\n")
    out = os.path.join(a.pw_dir, "cmd.out")
    wait_for(instance, lambda: os.path.exists(out) and
             "for nobody here" in open(out).read(), what="relayed to a")
    text = open(out).read()
    assert f"Delivered-To: {a.pw_name}+ghost@{HOST}" in text
    assert os.stat(out).st_uid == a.pw_uid
    send(instance, [f"{b.pw_name}@{HOST}"], body="to b's command\n")
    out = os.path.join(b.pw_dir, "cmd.out")
    wait_for(instance, lambda: os.path.exists(out) and
             "to b's command" in open(out).read(), what="b's command")
    assert os.stat(out).st_uid == b.pw_uid


def test_command_exit_status_and_restrictions(instance, users, spool):
    a = users.add("a")
    data = configure(instance, f"mail_spool_directory = {spool}\n")
    aliases = os.path.join(data, "aliases")
    build_aliases(instance, aliases,
                  "tempfail: |\"exit 75\"\n"
                  "nouser: |\"echo no such mailbox; exit 67\"\n")
    instance.write_main(open(os.path.join(instance.etc, "main.cf")).read()
                        .replace("alias_maps =\n", "")
                        + f"alias_maps = hash:{aliases}\n")
    # Commands from .forward are not allowed with this setting.
    instance.write_main(open(os.path.join(instance.etc, "main.cf")).read()
                        + "allow_mail_to_commands = alias\n")
    fwd = os.path.join(a.pw_dir, ".forward")
    with open(fwd, "w") as f:
        f.write(f"|touch {a.pw_dir}/ran\n")
    os.chown(fwd, a.pw_uid, a.pw_gid)
    start(instance)
    send(instance, [f"tempfail@{HOST}"])
    instance.wait_log(r"to=<tempfail@%s>.*dsn=4\.3\.0, status=deferred "
                      r"\(command exit 75: exit status 75\)" % re.escape(HOST))
    send(instance, [f"nouser@{HOST}"])
    instance.wait_log(r"to=<nouser@%s>.*dsn=5\.1\.1, status=bounced "
                      r"\(command .*exit status 67: no such mailbox" %
                      re.escape(HOST))
    send(instance, [f"{a.pw_name}@{HOST}"])
    instance.wait_log(r"to=<%s@%s>.*dsn=5\.7\.1, status=bounced \(mail to "
                      r"command is restricted" % (a.pw_name, re.escape(HOST)))
    assert not os.path.exists(os.path.join(a.pw_dir, "ran"))
