"""postern-conf as an admin uses it: against a configuration directory of
its own (-c or MAIL_CONFIG), never the system's. No shell: every command
runs from an argv list."""

import os
import stat
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONF = os.path.join(ROOT, "cmd", "postern-conf")


def run(*args, env=None, check=True):
    full_env = dict(os.environ)
    full_env.pop("MAIL_CONFIG", None)
    if env:
        full_env.update(env)
    proc = subprocess.run([CONF, *args], capture_output=True, text=True,
                          timeout=30, env=full_env)
    if check and proc.returncode != 0:
        raise AssertionError(f"{args}: exit {proc.returncode}: {proc.stderr}")
    return proc


@pytest.fixture
def confdir(tmp_path):
    (tmp_path / "main.cf").write_text(
        "# site configuration\n"
        "compatibility_level = 3.12\n"
        "\n"
        "# how long processes live\n"
        "max_use = 50\n"
        "syslog_name = postern\n"
        "    # keep this one\n"
        "    -mx\n"
        "mail_name = $syslog_name mail\n")
    (tmp_path / "master.cf").write_text(
        "# service type private unpriv chroot wakeup maxproc command\n"
        "smtp inet n - n - - smtpd\n"
        "submission inet n - n - - smtpd\n"
        "  -o { syslog_name = postern/submission }\n"
        "qmgr unix n - n 300? 1 qmgr\n")
    return tmp_path


def test_all_parameters_sorted(confdir):
    out = run("-c", str(confdir)).stdout.splitlines()
    names = [line.split(" =")[0] for line in out]
    assert names == sorted(names)
    assert "max_use = 50" in out
    assert "max_idle = 100s" in out
    assert "syslog_name = postern -mx" in out
    # Values are shown raw, as Postfix's postconf does.
    assert "mail_name = $syslog_name mail" in out
    assert "maillog_file =" in out
    assert f"config_directory = {confdir}" in out


def test_n_d_h_x(confdir):
    out = run("-c", str(confdir), "-n").stdout.splitlines()
    assert out == ["compatibility_level = 3.12", "mail_name = $syslog_name mail",
                   "max_use = 50", "syslog_name = postern -mx"]
    assert run("-c", str(confdir), "-d", "max_use").stdout == "max_use = 100\n"
    assert run("-c", str(confdir), "-h", "max_use").stdout == "50\n"
    assert run("-c", str(confdir), "-x", "mail_name").stdout == "mail_name = postern -mx mail\n"
    assert run("-c", str(confdir), "-dh", "mail_name").stdout == "postern\n"


def test_unknown_name_warns_and_exits_0(confdir):
    proc = run("-c", str(confdir), "no_such_thing", "max_use")
    assert proc.stdout == "max_use = 50\n"
    assert "postern-conf: warning: no_such_thing: unknown parameter" in proc.stderr


def test_unknown_parameter_in_main_cf_warns_with_file_and_line(confdir):
    with open(confdir / "main.cf", "a") as f:
        f.write("bogus_setting = 1\nsmtpd_milters = inet:127.0.0.1:11332\n")
    proc = run("-c", str(confdir), "max_use")
    main_cf = str(confdir / "main.cf")
    assert f"postern-conf: warning: {main_cf}, line 10: unknown parameter bogus_setting; ignored" in proc.stderr
    assert (f"postern-conf: warning: {main_cf}, line 11: parameter smtpd_milters is not "
            "supported by postern yet; ignored") in proc.stderr


def test_syntax_error_is_fatal(confdir):
    with open(confdir / "main.cf", "a") as f:
        f.write("this is not an assignment\n")
    proc = run("-c", str(confdir), check=False)
    assert proc.returncode == 1
    assert f"postern-conf: fatal: {confdir}/main.cf, line 10: missing '='" in proc.stderr


def test_mail_config_honoured(confdir):
    proc = run("max_use", env={"MAIL_CONFIG": str(confdir)})
    assert proc.stdout == "max_use = 50\n"


def test_edit_keeps_comments_and_order(confdir):
    os.chmod(confdir / "main.cf", 0o640)
    run("-c", str(confdir), "-e", "syslog_name = edited", "max_use=7", "max_idle=5m")
    text = (confdir / "main.cf").read_text()
    assert text == ("# site configuration\n"
                    "compatibility_level = 3.12\n"
                    "\n"
                    "# how long processes live\n"
                    "max_use = 7\n"
                    "syslog_name = edited\n"
                    "    # keep this one\n"
                    "mail_name = $syslog_name mail\n"
                    "max_idle = 5m\n")
    assert stat.S_IMODE(os.stat(confdir / "main.cf").st_mode) == 0o640
    assert sorted(os.listdir(confdir)) == ["main.cf", "master.cf"]
    assert run("-c", str(confdir), "-x", "-h", "mail_name").stdout == "edited mail\n"


def test_edit_replaces_the_assignment_in_effect(confdir):
    with open(confdir / "main.cf", "a") as f:
        f.write("max_use = 60\n")
    run("-c", str(confdir), "-e", "max_use=70")
    lines = (confdir / "main.cf").read_text().splitlines()
    assert "max_use = 50" in lines
    assert lines[-1] == "max_use = 70"
    assert run("-c", str(confdir), "-h", "max_use").stdout == "70\n"


def test_edit_refuses_bad_values(confdir):
    before = (confdir / "main.cf").read_text()
    proc = run("-c", str(confdir), "-e", "max_use=lots", check=False)
    assert proc.returncode == 1
    assert "postern-conf: fatal: bad integer value for parameter max_use: lots" in proc.stderr
    proc = run("-c", str(confdir), "-e", "mail_version=9", check=False)
    assert proc.returncode == 1
    assert (confdir / "main.cf").read_text() == before


def test_edit_unknown_warns_and_creates_main_cf(tmp_path):
    proc = run("-c", str(tmp_path), "-e", "my_own=1")
    assert "postern-conf: warning: my_own: unknown parameter" in proc.stderr
    assert (tmp_path / "main.cf").read_text() == "my_own = 1\n"


def test_remove(confdir):
    run("-c", str(confdir), "-X", "syslog_name", "compatibility_level", "not_there")
    assert (confdir / "main.cf").read_text() == (
        "# site configuration\n"
        "\n"
        "# how long processes live\n"
        "max_use = 50\n"
        "    # keep this one\n"
        "mail_name = $syslog_name mail\n")


def test_master_entries(confdir):
    out = run("-c", str(confdir), "-M").stdout.splitlines()
    assert out == ["smtp inet n - n - - smtpd",
                   "submission inet n - n - - smtpd -o syslog_name=postern/submission",
                   "qmgr unix n - n 300? 1 qmgr"]
    assert run("-c", str(confdir), "-M", "qmgr/unix").stdout == "qmgr unix n - n 300? 1 qmgr\n"
    assert run("-c", str(confdir), "-M", "qmgr/inet").stdout == ""


def test_master_error_names_line(confdir):
    with open(confdir / "master.cf", "a") as f:
        f.write("bad unix n - n - x qmgr\n")
    proc = run("-c", str(confdir), "-M", check=False)
    assert proc.returncode == 1
    assert f"postern-conf: fatal: {confdir}/master.cf, line 6: bad maxproc column" in proc.stderr


def test_table_types():
    out = run("-m").stdout.splitlines()
    assert out == sorted(out)
    assert {"hash", "btree", "lmdb", "cdb", "texthash", "inline", "static",
            "cidr", "regexp", "pcre", "unix"} == set(out)


def test_usage_error():
    proc = run("-Q", check=False)
    assert proc.returncode == 64
    assert "usage: postern-conf" in proc.stderr
