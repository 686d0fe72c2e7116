"""smtpd(8) client name lookup against a DNS server of the test's own.

Each test makes a network namespace with its own loopback (127.0.0.1 plus
127.0.0.2-4), writes /etc/netns/NAME/resolv.conf (which "ip netns exec"
mounts over /etc/resolv.conf) and runs a name server inside: dnsmasq with
fixed PTR and A records, or a UDP socket that never answers. postern is
started inside the namespace with smtpd_peername_lookup = yes, and clients
connect from the 127.0.0.x addresses inside it. Nothing here can reach the
machine's own resolver or the network. Needs root (namespaces, port 53);
the namespace and /etc/netns/NAME are always removed.
"""

import os
import shutil
import subprocess
import sys
import time

import pytest

from conftest import IS_ROOT, POSTERN, wait_for
from test_smtpd import (QUEUED, content_text, envelope, queue_file,
                        read_records, setup_instance)

pytestmark = pytest.mark.skipif(
    not IS_ROOT or shutil.which("ip") is None or shutil.which("dnsmasq") is None,
    reason="needs root, iproute2 and dnsmasq (tools/install-deps)")

# A client inside the namespace: one message from the given source
# address; prints the greeting's delay and the final reply.
CLIENT = r"""
import smtplib, sys, time
port, src = int(sys.argv[1]), sys.argv[2]
t0 = time.monotonic()
s = smtplib.SMTP("127.0.0.1", port, timeout=30, source_address=(src, 0))
print("greeting_delay=%.2f" % (time.monotonic() - t0))
s.ehlo("client.test.example")
s.mail("s@test.example")
s.rcpt("a@localhost")
code, resp = s.data(b"Subject: dns\r\n\r\nbody\r\n")
print("reply=%d %s" % (code, resp.decode()))
s.quit()
"""


class Netns:
    def __init__(self):
        self.name = f"pstn{os.getpid()}x{int(time.monotonic() * 1000) % 100000}"
        self.etc = f"/etc/netns/{self.name}"
        self.procs = []

    def run(self, *args, **kw):
        return subprocess.run(["ip", "netns", "exec", self.name, *args],
                              capture_output=True, text=True, timeout=60, **kw)

    def popen(self, *args):
        p = subprocess.Popen(["ip", "netns", "exec", self.name, *args],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
        self.procs.append(p)
        return p

    def create(self, resolv):
        subprocess.run(["ip", "netns", "add", self.name], check=True, timeout=30)
        subprocess.run(["ip", "-n", self.name, "link", "set", "lo", "up"],
                       check=True, timeout=30)
        for a in ("127.0.0.2", "127.0.0.3", "127.0.0.4"):
            subprocess.run(["ip", "-n", self.name, "addr", "add", f"{a}/8",
                            "dev", "lo"], check=True, timeout=30)
        os.makedirs(self.etc, exist_ok=True)
        with open(os.path.join(self.etc, "resolv.conf"), "w") as f:
            f.write(resolv)

    def destroy(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            p.wait(timeout=10)
        subprocess.run(["ip", "netns", "del", self.name], timeout=30)
        shutil.rmtree(self.etc, ignore_errors=True)


# Tests take (netns, instance) in that order: pytest then stops the
# instance before it removes the namespace, so no smtpd is left waiting
# on a name server that is gone.
@pytest.fixture
def netns():
    ns = Netns()
    try:
        yield ns
    finally:
        ns.destroy()
    assert not os.path.exists(ns.etc)


def wait_udp53(ns):
    """Until something listens on 127.0.0.1:53 inside the namespace."""
    wait_for(lambda: ":53 " in ns.run("ss", "-uln").stdout, 10,
             what="a name server on 127.0.0.1:53")


def start_in(ns, inst):
    setup_instance(inst, "smtpd_peername_lookup = yes\n")
    r = ns.run(POSTERN, "-c", inst.etc, "start")
    assert r.returncode == 0, r.stdout + r.stderr + inst.log()
    inst.master_pid = inst.read_pid()
    wait_for(lambda: ":%d " % inst.port in ns.run("ss", "-tln").stdout, 10,
             what="smtpd listening")


def client(ns, inst, src):
    r = ns.run(sys.executable, "-c", CLIENT, str(inst.port), src)
    assert r.returncode == 0, r.stdout + r.stderr + inst.log()
    out = dict(l.split("=", 1) for l in r.stdout.splitlines() if "=" in l)
    m = QUEUED.match(out["reply"])
    assert m, out
    return float(out["greeting_delay"]), m.group(1)


def test_reverse_name_verified_forward(netns, instance):
    netns.create("nameserver 127.0.0.1\n")
    netns.popen("dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null",
                "--no-resolv", "--no-hosts", "--listen-address=127.0.0.1",
                "--bind-interfaces", "--port=53", "--pid-file=",
                # 127.0.0.2: PTR and a matching A record.
                "--ptr-record=2.0.0.127.in-addr.arpa,good.test.example",
                "--host-record=good.test.example,127.0.0.2",
                # 127.0.0.3: a PTR whose name has no address (a liar).
                "--ptr-record=3.0.0.127.in-addr.arpa,liar.test.example",
                # 127.0.0.4: a PTR whose name resolves elsewhere.
                "--ptr-record=4.0.0.127.in-addr.arpa,other.test.example",
                "--host-record=other.test.example,127.0.0.9")
    wait_udp53(netns)
    start_in(netns, instance)

    _, qid = client(netns, instance, "127.0.0.2")
    recs = read_records(queue_file(instance, qid))
    assert content_text(recs).startswith(
        "Received: from client.test.example (good.test.example [127.0.0.2])"), \
        content_text(recs)
    assert "client_name=good.test.example" in envelope(recs, "A")
    instance.wait_log(r"connect from good\.test\.example\[127\.0\.0\.2\]")
    instance.wait_log(rf"{qid}: client=good\.test\.example\[127\.0\.0\.2\]")

    for src, name in (("127.0.0.3", "liar"), ("127.0.0.4", "other")):
        _, qid = client(netns, instance, src)
        recs = read_records(queue_file(instance, qid))
        assert content_text(recs).startswith(
            f"Received: from client.test.example (unknown [{src}])"), \
            content_text(recs)
        attrs = envelope(recs, "A")
        assert "client_name=unknown" in attrs
        # The unverified PTR name is kept apart, as Postfix does.
        assert f"reverse_client_name={name}.test.example" in attrs
        instance.wait_log(rf"warning: hostname {name}\.test\.example does not "
                          rf"resolve to address {src.replace('.', '[.]')}")
        instance.wait_log(rf"connect from unknown\[{src.replace('.', '[.]')}\]")


# A name server that reads queries and never answers.
SILENT = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 53))
print("ready", flush=True)
while True:
    s.recvfrom(4096)
"""


def test_silent_name_server_gives_unknown_in_bounded_time(netns, instance):
    # resolv.conf's own bound is honoured (smtpd's is 5s x 2 tries).
    netns.create("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
    sink = netns.popen(sys.executable, "-c", SILENT)
    assert sink.stdout.readline().strip() == "ready"
    start_in(netns, instance)
    delay, qid = client(netns, instance, "127.0.0.2")
    # One PTR query: about a second, and never the client's patience.
    assert delay < 5, delay
    recs = read_records(queue_file(instance, qid))
    assert content_text(recs).startswith(
        "Received: from client.test.example (unknown [127.0.0.2])")
    instance.wait_log(r"connect from unknown\[127\.0\.0\.2\]")
