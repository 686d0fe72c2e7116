"""Shared fixtures for the integration tests: a throw-away postern instance.

An Instance is a config dir, a queue dir, a daemon dir with symlinks to the
built master and the test-only probe daemon, and a maillog file, all in a
temporary directory. It is started with the real "postern -c DIR start"
and stopped with "postern stop"; the finalizer then asserts that no process
of the instance is left (master is a session leader, so every service
process is in its process group) and kills any that is, by pid.

Run as root, services run as the "postern" user that tools/install-deps
creates (tests that need it skip with a reason when it is missing); run as
anyone else, everything runs as that user (a sandbox instance).
"""

import contextlib
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import time

import pytest

TOP = os.path.realpath(os.path.join(os.path.dirname(__file__), "..", ".."))
MASTER = os.path.join(TOP, "master", "master")
PROBE = os.path.join(TOP, "tests", "fixtures", "probe")
POSTERN = os.path.join(TOP, "cmd", "postern")

IS_ROOT = os.geteuid() == 0


def mail_owner():
    """The user services run as: postern when root, else ourselves."""
    if not IS_ROOT:
        return pwd.getpwuid(os.getuid()).pw_name
    try:
        pwd.getpwnam("postern")
    except KeyError:
        pytest.skip("running as root needs the postern user and postdrop group "
                    "(tools/install-deps creates them)")
    return "postern"


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_pgid(pid):
    """Process group of pid, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return None
    # Field 5 (pgrp) comes after the parenthesised command, which may hold spaces.
    fields = stat[stat.rindex(")") + 2:].split()
    if fields[0] == "Z":
        return None
    return int(fields[2])


def group_members(pgid):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit() and proc_pgid(int(d)) == pgid:
            out.append(int(d))
    return out


def pid_alive(pid):
    return proc_pgid(pid) is not None


def wait_for(cond, timeout=10.0, step=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def parse_probe(line):
    """'pid=1 uid=2 ... gen=3' -> dict."""
    return dict(kv.split("=", 1) for kv in line.split())


class Conn:
    """A client connection to a probe service."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def readline(self, timeout=5.0):
        self.sock.settimeout(timeout)
        while b"\n" not in self.buf:
            data = self.sock.recv(4096)
            if not data:
                raise EOFError("connection closed")
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode()

    def hello(self, timeout=5.0):
        return parse_probe(self.readline(timeout))

    def echo(self, text, timeout=5.0):
        self.sock.sendall(text.encode() + b"\n")
        return self.readline(timeout)

    def quit(self):
        """Say QUIT and wait until the server has closed its side."""
        try:
            self.sock.sendall(b"QUIT\n")
            self.sock.settimeout(5)
            while self.sock.recv(4096):
                pass
        except OSError:
            pass
        self.sock.close()

    def close(self):
        self.sock.close()


class Instance:
    def __init__(self, base):
        self.base = str(base)
        os.chmod(self.base, 0o755)
        self.etc = os.path.join(self.base, "etc")
        self.libexec = os.path.join(self.base, "libexec")
        self.queue = os.path.join(self.base, "queue")
        self.maillog = os.path.join(self.base, "maillog")
        os.makedirs(self.etc)
        os.makedirs(self.libexec)
        for prog in (MASTER, PROBE):
            if not os.access(prog, os.X_OK):
                pytest.fail(f"{prog} is not built (make all tests/fixtures/probe)")
            os.symlink(prog, os.path.join(self.libexec, os.path.basename(prog)))
        self.owner = mail_owner()
        self.port = free_port()
        self.master_pid = None
        self.write_main()
        self.write_master(self.default_master_cf())

    def default_master_cf(self):
        return (f"127.0.0.1:{self.port} inet n - n - 2 probe\n"
                "probe unix - - n - - probe\n")

    def write_main(self, extra=""):
        group = "postdrop" if IS_ROOT else \
            __import__("grp").getgrgid(os.getgid()).gr_name
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            f.write(f"queue_directory = {self.queue}\n"
                    f"daemon_directory = {self.libexec}\n"
                    f"mail_owner = {self.owner}\n"
                    f"setgid_group = {group}\n"
                    f"maillog_file = {self.maillog}\n"
                    "service_throttle_time = 2s\n"
                    "inet_protocols = ipv4\n"
                    # Independent of the machine's /etc/aliases(.db).
                    "alias_maps =\n"
                    # Sanitizer builds: let services report too.
                    "import_environment = MAIL_CONFIG TZ LANG=C ASAN_OPTIONS"
                    " UBSAN_OPTIONS LSAN_OPTIONS\n"
                    + extra)

    def write_master(self, text):
        with open(os.path.join(self.etc, "master.cf"), "w") as f:
            f.write(text)

    def postern(self, *args, check=True, timeout=60):
        r = subprocess.run([POSTERN, "-c", self.etc, *args], capture_output=True,
                           text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError(f"postern {' '.join(args)} exited {r.returncode}:\n"
                                 f"{r.stdout}{r.stderr}\nlog:\n{self.log()}")
        return r

    def start(self):
        self.postern("start")
        self.master_pid = self.read_pid()
        return self.master_pid

    def read_pid(self):
        with open(os.path.join(self.queue, "pid", "master.pid")) as f:
            return int(f.read().split()[0])

    def stop(self):
        self.postern("stop")

    def processes(self):
        """Every process of the instance (master's process group)."""
        if self.master_pid is None:
            return []
        return group_members(self.master_pid)

    def children(self):
        return [p for p in self.processes() if p != self.master_pid]

    def log(self):
        try:
            with open(self.maillog, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def wait_log(self, pattern, timeout=10.0, count=1):
        rx = re.compile(pattern)
        return wait_for(lambda: len(rx.findall(self.log())) >= count and rx.findall(self.log()),
                        timeout, what=f"log line /{pattern}/ x{count}\nlog:\n{self.log()}")

    def connect_inet(self, port=None, timeout=5.0):
        s = socket.create_connection(("127.0.0.1", port or self.port), timeout=timeout)
        return Conn(s)

    def connect_unix(self, name, private=True, timeout=5.0):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect(os.path.join(self.queue, "private" if private else "public", name))
        return Conn(s)

    def cleanup(self):
        """Kill whatever is left, by pid; report it."""
        left = self.processes()
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return left


@pytest.fixture
def instance(tmp_path):
    """A configured, not yet started instance; always cleaned up."""
    inst = Instance(tmp_path)
    yield inst
    left = []
    if inst.master_pid is not None and pid_alive(inst.master_pid):
        if inst.postern("stop", check=False).returncode != 0:
            # A test may have left a main.cf that postern refuses.
            os.kill(inst.master_pid, signal.SIGTERM)
            try:
                wait_for(lambda: not inst.processes(), 15, what="instance to stop")
            except AssertionError:
                pass
    if inst.master_pid is not None:
        left = inst.processes()
        inst.cleanup()
    assert not left, f"processes left behind: {left}\nlog:\n{inst.log()}"


@pytest.fixture
def running(instance):
    """A started instance."""
    instance.start()
    return instance


# --- Debian's Dovecot LMTP, a real peer for the lmtp agent -----------------

DOVECOT = "/usr/sbin/dovecot"


def _dovecot_usable():
    if not IS_ROOT:
        pytest.skip("Dovecot LMTP is started as root")
    if not os.access(DOVECOT, os.X_OK) or not os.path.exists("/usr/lib/dovecot/lmtp"):
        pytest.skip("dovecot-core and dovecot-lmtpd are not installed")


@contextlib.contextmanager
def dovecot_lmtp(users, mail_owner):
    """Debian's Dovecot with only an LMTP listener on a UNIX socket, its
    own config in a temporary directory, and users = [(name, uid, gid)]
    with Maildirs under mail/NAME (mail/ owned by mail_owner's (uid, gid)).
    Yields {"sock", "mail", "dir"}; stops Dovecot and removes it all."""
    import pathlib
    import tempfile
    # Not under pytest's tmp_path: its parents are 0700, and lmtp runs as
    # the users.
    d = pathlib.Path(tempfile.mkdtemp(prefix="postern-dovecot-"))
    (d / "run").mkdir(parents=True)
    (d / "mail").mkdir()
    os.chmod(d, 0o755)
    os.chown(d / "mail", *mail_owner)
    (d / "users").write_text("".join(
        f"{name}:{{PLAIN}}secret:{uid}:{gid}::{d}/mail/{name}::\n"
        for name, uid, gid in users))
    sock = d / "lmtp"
    (d / "dovecot.conf").write_text(f"""
base_dir = {d}/run
state_dir = {d}/run
log_path = {d}/dovecot.log
protocols = lmtp
ssl = no
first_valid_uid = 1
auth_username_format = %Ln
default_internal_user = dovecot
default_login_user = dovenull
mail_location = maildir:{d}/mail/%u
passdb {{
  driver = passwd-file
  args = {d}/users
}}
userdb {{
  driver = passwd-file
  args = {d}/users
}}
service lmtp {{
  unix_listener {sock} {{
    mode = 0666
  }}
}}
service anvil {{
  chroot =
}}
""")
    p = subprocess.Popen([DOVECOT, "-F", "-c", str(d / "dovecot.conf")],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: sock.exists() or p.poll() is not None, 15, what="dovecot lmtp")
        if p.poll() is not None:
            pytest.fail("dovecot exited: " + p.stdout.read().decode(errors="replace"))
        yield {"sock": str(sock), "mail": d / "mail", "dir": d}
    finally:
        p.terminate()
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def dovecot():
    """Dovecot LMTP knowing alice and bob (both the postern user)."""
    _dovecot_usable()
    pw = pwd.getpwnam("postern")
    ids = (pw.pw_uid, pw.pw_gid)
    with dovecot_lmtp([("alice", *ids), ("bob", *ids)], ids) as dv:
        yield dv
