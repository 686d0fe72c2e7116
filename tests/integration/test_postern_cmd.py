"""postern(1): status exit codes, check and the queue tree, start/stop
errors, usage. Every command runs with a timeout."""

import grp
import os
import pwd
import stat
import subprocess

from conftest import IS_ROOT, POSTERN

TREE = {
    "active": 0o700, "bounce": 0o700, "corrupt": 0o700, "defer": 0o700,
    "deferred": 0o700, "flush": 0o700, "hold": 0o700, "incoming": 0o700,
    "maildrop": 0o730, "pid": 0o755, "private": 0o700, "public": 0o710,
    "saved": 0o700, "trace": 0o700,
}


def test_status_exit_codes(instance):
    r = instance.postern("status", check=False)
    assert r.returncode == 1
    assert "the postern mail system is not running" in r.stderr
    pid = instance.start()
    r = instance.postern("status", check=False)
    assert r.returncode == 0
    assert f"the postern mail system is running: PID: {pid}" in r.stderr
    instance.stop()
    r = instance.postern("status", check=False)
    assert r.returncode == 1


def test_check_creates_the_queue_tree(instance):
    r = instance.postern("check")
    assert r.returncode == 0
    owner = pwd.getpwnam(instance.owner)
    setgid_gid = grp.getgrnam("postdrop").gr_gid if IS_ROOT else os.getgid()
    for name, mode in TREE.items():
        st = os.lstat(os.path.join(instance.queue, name))
        assert stat.S_ISDIR(st.st_mode), name
        assert stat.S_IMODE(st.st_mode) == mode, f"{name}: {oct(st.st_mode)}"
        if name == "pid" and IS_ROOT:
            assert (st.st_uid, st.st_gid) == (0, 0), name
        else:
            assert st.st_uid == owner.pw_uid, name
        if name in ("maildrop", "public"):
            assert st.st_gid == setgid_gid, name
    # Idempotent and quiet the second time.
    r = instance.postern("check")
    assert "warning" not in r.stderr


def test_check_warns_about_unsafe_directories_without_changing_them(instance):
    instance.postern("check")
    incoming = os.path.join(instance.queue, "incoming")
    os.chmod(incoming, 0o777)
    r = instance.postern("check")
    assert r.returncode == 0
    assert "incoming has mode 0777, expected 0700 (unsafe: writable by others)" in r.stderr
    assert stat.S_IMODE(os.stat(incoming).st_mode) == 0o777


def test_check_reports_missing_programs(instance):
    instance.write_master("x unix - - n - - nosuchdaemon\n")
    r = instance.postern("check")
    assert "nosuchdaemon" in r.stderr and "No such file" in r.stderr


def test_check_rejects_a_bad_master_cf(instance):
    instance.write_master("smtp inet n - n - - probe extra\nbroken\n")
    r = instance.postern("check", check=False)
    assert r.returncode == 1
    assert "postern: fatal:" in r.stderr and "master.cf" in r.stderr


def test_stop_and_reload_when_not_running_fail(instance):
    for cmd in ("stop", "reload", "abort"):
        r = instance.postern(cmd, check=False)
        assert r.returncode == 1, cmd
        assert "postern: fatal: the postern mail system is not running" in r.stderr


def test_start_failure_is_reported(instance):
    # The port is taken: master must fail, and start must say so.
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", instance.port))
        s.listen(1)
        r = instance.postern("start", check=False)
    assert r.returncode == 1
    assert "mail system startup failed" in r.stderr
    assert "Address already in use" in r.stderr
    assert instance.postern("status", check=False).returncode == 1


def test_flush_without_qmgr_says_so(running):
    # No qmgr in this master.cf: nothing listens on public/qmgr.
    r = running.postern("flush", check=False)
    assert r.returncode == 1
    assert "cannot flush the mail queue" in r.stderr


def test_usage(instance):
    r = subprocess.run([POSTERN, "-c", instance.etc], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 2
    assert "usage: postern" in r.stderr
    r = subprocess.run([POSTERN, "-c", instance.etc, "frobnicate"], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 2
