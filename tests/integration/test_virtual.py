"""virtual(8) end to end: mail through smtpd, cleanup and qmgr to the
real virtual delivery agent, into Maildirs and mbox files under
virtual_mailbox_base owned by the mapped uid and gid. Run as root (a test
user owns the mailboxes); skipped otherwise.
"""

import mailbox
import os
import re
import smtplib

import pytest

from local_helpers import (Users, configure, need_root, owned_by_root_under,
                           send, start, wait_for)

DOMAIN = "virt.example"


@pytest.fixture
def users():
    need_root()
    u = Users()
    yield u
    u.remove()


def virtual_setup(instance, users, extra=""):
    owner = users.add("vm")
    base = os.path.join(users.top, "vmail")
    os.makedirs(os.path.join(base, DOMAIN))
    for d in (base, os.path.join(base, DOMAIN)):
        os.chown(d, owner.pw_uid, owner.pw_gid)
    data = configure(instance)
    maps = os.path.join(data, "vmailbox")
    with open(maps, "w") as f:
        f.write(f"bob@{DOMAIN} {DOMAIN}/bob/\n"
                f"carol@{DOMAIN} {DOMAIN}/carol\n"
                f"dave@{DOMAIN} {DOMAIN}/deep/er/dave/\n")
    os.chmod(maps, 0o644)
    instance.write_main(open(os.path.join(instance.etc, "main.cf")).read()
                        + f"virtual_mailbox_domains = {DOMAIN}\n"
                        f"virtual_mailbox_maps = texthash:{maps}\n"
                        f"virtual_mailbox_base = {base}\n"
                        f"virtual_uid_maps = static:{owner.pw_uid}\n"
                        f"virtual_gid_maps = static:{owner.pw_gid}\n"
                        + extra)
    return owner, base, maps


def test_virtual_maildir_and_mbox_owned_by_the_mapped_uid(instance, users):
    owner, base, _ = virtual_setup(instance, users)
    start(instance)
    send(instance, [f"bob@{DOMAIN}"], body="for bob\n")
    send(instance, [f"carol@{DOMAIN}"], body="for carol\nFrom here on\n")
    new = os.path.join(base, DOMAIN, "bob", "new")
    wait_for(instance, lambda: os.path.isdir(new) and len(os.listdir(new)) == 1,
             what="bob's Maildir")
    box = mailbox.Maildir(os.path.join(base, DOMAIN, "bob"), create=False)
    msgs = list(box)
    assert msgs[0].get_payload().strip() == "for bob"
    assert msgs[0]["Delivered-To"] == f"bob@{DOMAIN}"
    carol = os.path.join(base, DOMAIN, "carol")
    wait_for(instance, lambda: os.path.exists(carol), what="carol's mbox")
    raw = open(carol).read()
    assert "\n>From here on\n" in raw
    assert len(mailbox.mbox(carol, create=False).keys()) == 1
    for dirpath, dirs, files in os.walk(base):
        for n in dirs + files:
            st = os.stat(os.path.join(dirpath, n))
            assert (st.st_uid, st.st_gid) == (owner.pw_uid, owner.pw_gid), n
    assert owned_by_root_under(base) == []
    instance.wait_log(r"to=<bob@virt\.example>, relay=virtual, .*status=sent "
                      r"\(delivered to mailbox\)")
    # Missing directories above a Maildir are made, as the owner.
    send(instance, [f"dave@{DOMAIN}"], body="for dave\n")
    new = os.path.join(base, DOMAIN, "deep", "er", "dave", "new")
    wait_for(instance, lambda: os.path.isdir(new) and len(os.listdir(new)) == 1,
             what="dave's Maildir")
    for d in ("deep", "deep/er", "deep/er/dave"):
        assert os.stat(os.path.join(base, DOMAIN, d)).st_uid == owner.pw_uid


def test_virtual_unknown_recipient(instance, users):
    virtual_setup(instance, users)
    start(instance)
    with smtplib.SMTP("127.0.0.1", instance.port, timeout=15) as c:
        c.ehlo("client.test.example")
        c.mail("sender@example.com")
        code, text = c.rcpt(f"nobody@{DOMAIN}")
    assert code == 550 and b"5.1.1" in text


def test_virtual_unknown_recipient_bounces_in_the_agent(instance, users):
    # The SMTP server lets everyone in; the agent itself says 5.1.1.
    virtual_setup(instance, users, "smtpd_reject_unlisted_recipient = no\n")
    start(instance)
    send(instance, [f"nobody@{DOMAIN}"])
    instance.wait_log(r"to=<nobody@virt\.example>, relay=virtual, .*"
                      r"dsn=5\.1\.1, status=bounced \(unknown user", 20)


def test_virtual_minimum_uid(instance, users):
    virtual_setup(instance, users, "virtual_minimum_uid = 2000000000\n")
    start(instance)
    send(instance, [f"bob@{DOMAIN}"])
    instance.wait_log(r"to=<bob@virt\.example>.*status=deferred "
                      r"\(uid \d+ for bob@virt\.example is below "
                      r"virtual_minimum_uid\)", 20)


def test_virtual_size_limit_leaves_mbox_as_it_was(instance, users):
    owner, base, _ = virtual_setup(instance, users,
                                   "virtual_mailbox_limit = 2000\n")
    start(instance)
    send(instance, [f"carol@{DOMAIN}"], body="small\n")
    carol = os.path.join(base, DOMAIN, "carol")
    wait_for(instance, lambda: os.path.exists(carol), what="carol's mbox")
    before = open(carol, "rb").read()
    send(instance, [f"carol@{DOMAIN}"], body=("z" * 70 + "\n") * 100)
    instance.wait_log(r"to=<carol@virt\.example>.*dsn=5\.2\.2, "
                      r"status=bounced", 20)
    assert open(carol, "rb").read() == before
    assert re.search(r"exceed", instance.log())
