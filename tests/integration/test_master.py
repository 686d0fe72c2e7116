"""master(8) against the probe daemon: spawning, reuse, limits, crashes,
throttling, reload, stop, privileges. Every wait is bounded."""

import os
import pwd
import signal
import socket
import stat
import subprocess
import time

import pytest

from conftest import IS_ROOT, MASTER, Conn, pid_alive, wait_for


def test_services_spawned_per_master_cf(running):
    c = running.connect_inet()
    hello = c.hello()
    c.quit()
    assert hello["service"] == f"127.0.0.1:{running.port}"
    assert hello["gen"] == "1"
    u = running.connect_unix("probe")
    hello2 = u.hello()
    assert u.echo("ping") == "ping"
    u.quit()
    assert hello2["service"] == "probe"
    # Both are children of master, not master itself.
    kids = running.children()
    assert int(hello["pid"]) in kids or not pid_alive(int(hello["pid"]))
    assert int(hello["pid"]) != running.master_pid
    st = os.stat(os.path.join(running.queue, "private", "probe"))
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o600
    assert st.st_uid == pwd.getpwnam(running.owner).pw_uid


def test_idle_child_is_reused_and_max_use_replaces_it(instance):
    instance.write_master(f"127.0.0.1:{instance.port} inet n - n - 5 probe -o max_use=2\n")
    instance.start()
    pids = []
    for _ in range(3):
        c = instance.connect_inet()
        pids.append(int(c.hello()["pid"]))
        c.quit()
    assert pids[0] == pids[1], f"idle process not reused: {pids}"
    assert pids[2] != pids[0], f"max_use=2 did not retire the process: {pids}"
    wait_for(lambda: not pid_alive(pids[0]), 5, what="retired process to exit")


def test_maxproc_is_honoured(running):
    # maxproc is 2 for the inet probe service.
    a, b = running.connect_inet(), running.connect_inet()
    pa, pb = a.hello()["pid"], b.hello()["pid"]
    assert pa != pb
    c = running.connect_inet()  # accepted by the kernel backlog only
    with pytest.raises(socket.timeout):
        c.readline(timeout=1.5)
    a.quit()
    hello = c.hello(timeout=5)
    assert hello["pid"] == pa, "the freed process should serve the waiting client"
    b.quit()
    c.quit()
    assert len([p for p in running.children()]) <= 2


def test_killed_child_is_logged_and_service_recovers(running):
    c = running.connect_inet()
    pid = int(c.hello()["pid"])
    c.quit()
    os.kill(pid, signal.SIGKILL)
    running.wait_log(rf"warning: process \S+/probe pid {pid} killed by signal 9")
    c = running.connect_inet()
    hello = c.hello()
    c.quit()
    assert int(hello["pid"]) != pid
    assert "throttling" not in running.log(), "a used process dying must not throttle"


def test_crash_loop_is_throttled(instance):
    instance.write_master("crash unix - - n - - probe crash\n")
    instance.start()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(os.path.join(instance.queue, "private", "crash"))
    try:
        instance.wait_log(r"probe crash: crashing at start-up")
        instance.wait_log(r"warning: process \S+/probe pid \d+ exit status 1")
        instance.wait_log(r"bad command startup -- throttling service crash for 2 seconds")
        # While throttled nothing is started; after 2 s one more try.
        time.sleep(1.0)
        starts = instance.log().count("crashing at start-up")
        assert starts <= 2, f"{starts} starts within the throttle window"
        instance.wait_log(r"throttling service crash", timeout=10, count=2)
        # Bounded: about one start per throttle period, not thousands.
        assert instance.log().count("crashing at start-up") <= 5
    finally:
        s.close()


def test_reload_adds_drops_and_keeps_connections(running):
    held = running.connect_inet()
    held_hello = held.hello()
    assert held_hello["gen"] == "1"
    assert held.echo("before") == "before"

    running.write_master(f"127.0.0.1:{running.port} inet n - n - 2 probe\n"
                         "probe2 unix - - n - - probe\n")
    running.postern("reload")
    running.wait_log(r"reload -- version \S+, configuration " + running.etc)

    # Removed service: socket gone.
    with pytest.raises(OSError):
        running.connect_unix("probe", timeout=2)
    # Added service: works, new generation.
    u = running.connect_unix("probe2")
    assert u.hello()["gen"] == "2"
    u.quit()
    # Unchanged service: the established connection still works ...
    assert held.echo("after") == "after"
    # ... and new connections go to a new-generation process.
    n = running.connect_inet()
    new_hello = n.hello()
    n.quit()
    assert new_hello["gen"] == "2"
    assert new_hello["pid"] != held_hello["pid"]
    # The old process exits once its client is done.
    held.quit()
    wait_for(lambda: not pid_alive(int(held_hello["pid"])), 5,
             what="old-generation process to exit after its connection")


def test_reload_with_bad_master_cf_keeps_running(running):
    running.write_master("this is not a master.cf line\n")
    r = running.postern("reload", check=False)
    assert r.returncode != 0
    c = running.connect_inet()
    assert c.hello()["gen"] == "1"
    c.quit()


def test_stop_leaves_no_process(running):
    conns = [running.connect_inet(), running.connect_unix("probe")]
    for c in conns:
        c.hello()
    assert running.children()
    running.stop()
    assert running.processes() == []
    assert "terminating on signal 15" in running.log()
    for c in conns:
        c.close()
    r = running.postern("status", check=False)
    assert r.returncode == 1


def test_abort_kills_at_once(running):
    c = running.connect_inet()
    c.hello()
    t = time.monotonic()
    running.postern("abort")
    assert time.monotonic() - t < 5
    assert running.processes() == []
    assert "terminating on signal 3 (abort)" in running.log()
    c.close()


def test_second_master_is_refused(running):
    r = subprocess.run([MASTER, "-c", running.etc, "-d"], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode != 0
    assert "fatal: the postern mail system is already running" in r.stderr
    r = subprocess.run([MASTER, "-c", running.etc, "-t"], timeout=30)
    assert r.returncode == 1, "master -t: 1 means a master runs"
    r = running.postern("start", check=False)
    assert r.returncode != 0
    assert "already running" in r.stderr


def test_environment_is_cleaned(instance, monkeypatch):
    # Read the environment of a live child from /proc.
    monkeypatch.setenv("POSTERN_TEST_SECRET", "leak")
    instance.start()
    c = instance.connect_inet()
    pid = int(c.hello()["pid"])
    with open(f"/proc/{pid}/environ", "rb") as f:
        env = dict(e.split(b"=", 1) for e in f.read().split(b"\0") if b"=" in e)
    c.quit()
    assert b"POSTERN_TEST_SECRET" not in env
    assert env[b"MAIL_CONFIG"] == instance.etc.encode()
    assert env[b"GENERATION"] == b"1"
    assert env[b"LANG"] == b"C"


def test_child_descriptors_follow_the_contract(running):
    c = running.connect_unix("probe")
    pid = int(c.hello()["pid"])
    fds = {int(fd): os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")}
    c.quit()
    assert fds[3] == "/dev/null" and fds[4] == "/dev/null"
    assert fds[5].startswith("pipe:")
    assert fds[6].startswith("socket:")
    # Nothing else of master's leaked: one listener, one client, no pid
    # file, no other service's socket or status pipe.
    assert sum(1 for t in fds.values() if t.startswith("socket:")) == 2, fds
    assert sum(1 for t in fds.values() if t.startswith("pipe:")) == 1, fds
    assert not any(t.endswith("master.pid") for t in fds.values()), fds


@pytest.mark.skipif(not IS_ROOT, reason="needs root: privilege drop to mail_owner")
def test_services_run_as_mail_owner_not_root(running):
    pw = pwd.getpwnam("postern")
    c = running.connect_inet()
    hello = c.hello()
    c.quit()
    assert int(hello["uid"]) == pw.pw_uid
    assert int(hello["euid"]) == pw.pw_uid
    assert int(hello["gid"]) == pw.pw_gid
    st = os.stat(os.path.join(running.queue, "pid", "master.pid"))
    assert st.st_uid == 0
    with open(f"/proc/{running.master_pid}/status") as f:
        uid_line = [l for l in f if l.startswith("Uid:")][0]
    assert uid_line.split()[1] == "0", "master itself stays root"


@pytest.mark.skipif(IS_ROOT, reason="sandbox mode needs a non-root user")
def test_unprivileged_master_runs_services_as_invoking_user(running):
    c = running.connect_inet()
    hello = c.hello()
    c.quit()
    assert int(hello["uid"]) == os.getuid()
    assert "running as unprivileged user" in running.log()


def test_solitary_service_never_runs_twice_across_reload(instance):
    instance.write_master("solo unix - - n - 1 probe\n")
    instance.start()
    held = instance.connect_unix("solo")
    first = held.hello()
    instance.postern("reload")
    instance.wait_log(r"reload -- version")
    waiting = instance.connect_unix("solo")
    with pytest.raises(socket.timeout):
        waiting.readline(timeout=1.5)
    held.quit()
    second = waiting.hello(timeout=5)
    waiting.quit()
    assert second["gen"] == "2" and second["pid"] != first["pid"]


def test_public_socket_and_bare_port_on_every_loopback_address(instance):
    instance.write_main("inet_interfaces = loopback-only\ninet_protocols = all\n")
    instance.write_master(f"{instance.port} inet n - n - - probe\n"
                          "pub unix n - n - - probe\n")
    instance.start()
    st = os.stat(os.path.join(instance.queue, "public", "pub"))
    assert stat.S_IMODE(st.st_mode) == 0o666
    u = instance.connect_unix("pub", private=False)
    assert u.hello()["service"] == "pub"
    u.quit()
    c = instance.connect_inet()
    assert c.hello()["service"] == str(instance.port)
    c.quit()
    if socket.has_ipv6 and os.path.exists("/proc/net/if_inet6"):
        c6 = Conn(socket.create_connection(("::1", instance.port), timeout=5))
        assert c6.hello()["service"] == str(instance.port)
        c6.quit()
    # Nothing listens on a non-loopback address.
    with open("/proc/net/tcp") as f:
        hexport = f"{instance.port:04X}"
        local = [line.split()[1] for line in f.readlines()[1:]
                 if line.split()[1].endswith(":" + hexport) and line.split()[3] == "0A"]
    assert local == ["0100007F:" + hexport], local


@pytest.mark.parametrize("kind", ["unix", "fifo"])
def test_wakeup_reaches_unix_and_fifo_services(instance, kind):
    instance.write_master(f"tick {kind} - - n 1 1 probe trigger\n")
    instance.start()
    instance.wait_log(r'probe tick: trigger "W" \(1 bytes\)', timeout=10, count=2)


def test_changed_service_keeps_established_connections(running):
    held = running.connect_inet()
    first = held.hello()
    running.write_master(f"127.0.0.1:{running.port} inet n - n - 3 probe\n"
                         "probe unix - - n - - probe\n")
    running.postern("reload")
    running.wait_log(rf"service 127.0.0.1:{running.port}/inet: configuration changed")
    assert held.echo("still here") == "still here"
    c = running.connect_inet()
    assert c.hello()["gen"] == "2"
    c.quit()
    held.quit()
    wait_for(lambda: not pid_alive(int(first["pid"])), 5, what="old process to exit")


def test_master_survives_sighup_with_broken_configuration(running):
    running.write_master("broken line\n")
    os.kill(running.master_pid, signal.SIGHUP)
    running.wait_log(r"master\.cf.*keeping the running services")
    running.write_master(running.default_master_cf())
    running.write_main("max_use = not-a-number\n")
    os.kill(running.master_pid, signal.SIGHUP)
    running.wait_log(r"reload ignored, the running configuration stays")
    # New processes read main.cf when they start: repair it, without a
    # reload, so that generation 1 (the ignored reloads) is what serves.
    running.write_main()
    c = running.connect_inet()
    assert c.hello()["gen"] == "1"
    c.quit()
