"""smtpd(8): smtpd_reject_unlisted_recipient / reject_unlisted_recipient,
smtpd_reject_unlisted_sender and the address classes behind them, with a
real master + smtpd + cleanup (the helpers of test_smtpd.py)."""

import os

from test_smtpd import HOST, session, start


def tables(tmp_path):
    aliases = tmp_path / "aliases"
    aliases.write_text("info root\n")
    valias = tmp_path / "valias"
    valias.write_text("known@valias.example root@localhost\n")
    vmbox = tmp_path / "vmailbox"
    vmbox.write_text("box@vmail.example vmail/box/\n")
    relay = tmp_path / "relay_rcpt"
    relay.write_text("r@relayed.example OK\n")
    return (f"alias_maps = texthash:{aliases}\n"
            # local_recipient_maps keeps its default: unix:passwd.byname $alias_maps
            "local_recipient_maps = unix:passwd.byname $alias_maps\n"
            "recipient_delimiter = +\n"
            "virtual_alias_domains = valias.example\n"
            f"virtual_alias_maps = texthash:{valias}\n"
            "virtual_mailbox_domains = vmail.example\n"
            f"virtual_mailbox_maps = texthash:{vmbox}\n"
            "relay_domains = relayed.example\n"
            f"relay_recipient_maps = texthash:{relay}\n")


def unknown(addr, table, code=550, enh="5.1.1", what="Recipient"):
    return f"{code} {enh} <{addr}>: {what} address rejected: User unknown in {table}"


def test_unlisted_recipients_by_address_class(instance, tmp_path):
    start(instance, tables(tmp_path))
    c = session(instance)
    assert c.cmd("MAIL FROM:<s@elsewhere.example>") == "250 2.1.0 Ok"
    # Local: the password file, the aliases, user+ext.
    assert c.cmd("RCPT TO:<root@localhost>") == "250 2.1.5 Ok"
    assert c.cmd(f"RCPT TO:<Root@{HOST}>") == "250 2.1.5 Ok"
    assert c.cmd("RCPT TO:<info@localhost>") == "250 2.1.5 Ok"
    assert c.cmd("RCPT TO:<info+news@localhost>") == "250 2.1.5 Ok"
    assert c.cmd("RCPT TO:<root@[127.0.0.1]>") == "250 2.1.5 Ok"
    assert c.cmd("RCPT TO:<nosuchuser@localhost>") == \
        unknown("nosuchuser@localhost", "local recipient table")
    assert c.cmd("RCPT TO:<nosuch+info@localhost>") == \
        unknown("nosuch+info@localhost", "local recipient table")
    # Always known, whatever the tables say (Postfix's exceptions).
    for always in ("PostMaster", "mailer-daemon", "double-bounce"):
        assert c.cmd(f"RCPT TO:<{always}@localhost>") == "250 2.1.5 Ok", always
    # Virtual alias domain: only what virtual_alias_maps lists.
    assert c.cmd("RCPT TO:<known@valias.example>") == "250 2.1.5 Ok"
    assert c.cmd("RCPT TO:<other@valias.example>") == \
        unknown("other@valias.example", "virtual alias table")
    # Virtual mailbox domain.
    assert c.cmd("RCPT TO:<box@vmail.example>") == "250 2.1.5 Ok"
    assert c.cmd("RCPT TO:<nobox@vmail.example>") == \
        unknown("nobox@vmail.example", "virtual mailbox table")
    # Relay domain with relay_recipient_maps.
    assert c.cmd("RCPT TO:<r@relayed.example>") == "250 2.1.5 Ok"
    assert c.cmd("RCPT TO:<x@relayed.example>") == \
        unknown("x@relayed.example", "relay recipient table")
    # Someone else's domain (we are in mynetworks): not ours to know.
    assert c.cmd("RCPT TO:<anyone@elsewhere.example>") == "250 2.1.5 Ok"
    c.cmd("QUIT")
    instance.wait_log(r": reject: RCPT from unknown\[127\.0\.0\.1\]: 550 5\.1\.1 "
                      r"<nosuchuser@localhost>: Recipient address rejected: User "
                      r"unknown in local recipient table; from=<s@elsewhere\.example> "
                      r"to=<nosuchuser@localhost> proto=ESMTP")


def test_virtual_alias_domain_accepted_from_outside(instance, tmp_path):
    # Virtual and relay domains are ours to accept from any client.
    start(instance, tables(tmp_path) + "mynetworks = 192.0.2.0/24\n")
    c = session(instance)
    c.cmd("MAIL FROM:<s@elsewhere.example>")
    assert c.cmd("RCPT TO:<known@valias.example>") == "250 2.1.5 Ok"
    assert c.cmd("RCPT TO:<box@vmail.example>") == "250 2.1.5 Ok"
    assert c.cmd("RCPT TO:<r@relayed.example>") == "250 2.1.5 Ok"
    assert c.cmd("RCPT TO:<anyone@elsewhere.example>") == \
        "454 4.7.1 <anyone@elsewhere.example>: Relay access denied"
    c.cmd("QUIT")


def test_restriction_and_reject_code(instance, tmp_path):
    start(instance, tables(tmp_path) +
          "smtpd_reject_unlisted_recipient = no\n"
          "unknown_local_recipient_reject_code = 450\n"
          "smtpd_recipient_restrictions = check_recipient_access "
          "inline:{ late@localhost=reject_unlisted_recipient }\n")
    c = session(instance)
    c.cmd("MAIL FROM:<s@elsewhere.example>")
    # Off: anyone is accepted ...
    assert c.cmd("RCPT TO:<nosuchuser@localhost>") == "250 2.1.5 Ok"
    # ... unless a restriction asks; the code is the admin's.
    assert c.cmd("RCPT TO:<late@localhost>") == \
        unknown("late@localhost", "local recipient table", 450, "4.1.1")
    c.cmd("QUIT")


def test_unlisted_sender(instance, tmp_path):
    start(instance, tables(tmp_path) + "smtpd_reject_unlisted_sender = yes\n")
    c = session(instance)
    assert c.cmd("MAIL FROM:<nosuch@localhost>") == "250 2.1.0 Ok"
    assert c.cmd("RCPT TO:<root@localhost>") == \
        unknown("nosuch@localhost", "local recipient table", 550, "5.1.0", "Sender")
    c.cmd("RSET")
    for sender in ("", "info@localhost", "someone@elsewhere.example"):
        assert c.cmd(f"MAIL FROM:<{sender}>") == "250 2.1.0 Ok"
        assert c.cmd("RCPT TO:<root@localhost>") == "250 2.1.5 Ok", sender
        c.cmd("RSET")
    c.cmd("QUIT")


def test_missing_alias_table_is_a_temporary_error(instance, tmp_path):
    missing = tmp_path / "no-such-aliases"
    start(instance, f"alias_maps = hash:{missing}\n"
                    "local_recipient_maps = unix:passwd.byname $alias_maps\n")
    c = session(instance)
    c.cmd("MAIL FROM:<s@elsewhere.example>")
    # A name the password file does not know needs the alias table.
    for _ in range(2):
        assert c.cmd("RCPT TO:<nobody-here@localhost>") == \
            "451 4.3.0 <nobody-here@localhost>: Temporary lookup failure"
    # The session (and the process) goes on.
    assert c.cmd("NOOP") == "250 2.0.0 Ok"
    assert c.cmd("RCPT TO:<x@elsewhere.example>") == "250 2.1.5 Ok"
    c.cmd("QUIT")
    instance.wait_log(rf"warning: .*hash:{missing}")
    assert os.path.exists(instance.maillog)
