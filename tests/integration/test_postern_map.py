"""postern-map end to end: build, query, delete, incremental load and dump
for each file table type, exit codes, the default type from main.cf (-c and
MAIL_CONFIG), atomic rebuild, and that the standard tools of each database
library read what postern-map wrote."""

import os
import shutil
import subprocess
import threading

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
POSTERN_MAP = os.environ.get("POSTERN_MAP", os.path.join(ROOT, "cmd", "postern-map"))
TIMEOUT = 30
SUFFIX = {"hash": ".db", "btree": ".db", "lmdb": ".lmdb", "cdb": ".cdb"}


def run(*args, stdin=None, conf=None, env_conf=None):
    env = dict(os.environ)
    env.pop("MAIL_CONFIG", None)
    if env_conf is not None:
        env["MAIL_CONFIG"] = env_conf
    cmd = [POSTERN_MAP]
    if conf is not None:
        cmd += ["-c", conf]
    cmd += list(args)
    return subprocess.run(cmd, input=stdin, capture_output=True, text=True,
                          timeout=TIMEOUT, env=env)


@pytest.fixture
def conf(tmp_path):
    """A config directory whose main.cf sets nothing."""
    d = tmp_path / "conf"
    d.mkdir()
    (d / "main.cf").write_text("# empty\n")
    return str(d)


@pytest.fixture
def src(tmp_path):
    path = tmp_path / "access"
    path.write_text(
        "# access table\n"
        "User@Example.COM   OK\n"
        "example.net        REJECT no\n"
        "   thanks\n"
        "192.0.2            DUNNO\n"
        "user@example.com   second\n")
    return str(path)


@pytest.mark.parametrize("dtype", ["hash", "btree", "lmdb", "cdb"])
def test_build_query_delete(dtype, src, conf):
    table = f"{dtype}:{src}"
    r = run(table, conf=conf)
    assert r.returncode == 0, r.stderr
    assert "access:6: duplicate entry for \"user@example.com\"" in r.stderr
    assert os.path.exists(src + SUFFIX[dtype])

    r = run("-q", "USER@example.com", table, conf=conf)
    assert (r.returncode, r.stdout) == (0, "OK\n")
    r = run("-q", "example.net", table, conf=conf)
    assert (r.returncode, r.stdout) == (0, "REJECT no thanks\n")
    r = run("-q", "missing.example", table, conf=conf)
    assert (r.returncode, r.stdout) == (1, "")

    r = run("-q", "-", table, conf=conf, stdin="192.0.2\nnope\nexample.net\n")
    assert r.returncode == 0
    assert r.stdout == "192.0.2\tDUNNO\nexample.net\tREJECT no thanks\n"

    r = run("-s", table, conf=conf)
    assert r.returncode == 0
    assert sorted(r.stdout.splitlines()) == sorted(
        ["user@example.com\tOK", "example.net\tREJECT no thanks", "192.0.2\tDUNNO"])

    r = run("-d", "Example.NET", table, conf=conf)
    assert r.returncode == 0, r.stderr
    r = run("-d", "example.net", table, conf=conf)
    assert r.returncode == 1
    r = run("-q", "example.net", table, conf=conf)
    assert r.returncode == 1

    r = run("-i", table, conf=conf, stdin="New.Key  new value\nuser@example.com replaced\n")
    assert r.returncode == 0, r.stderr
    assert run("-q", "new.key", table, conf=conf).stdout == "new value\n"
    # -i keeps the first value unless -r.
    assert run("-q", "user@example.com", table, conf=conf).stdout == "OK\n"
    r = run("-i", "-r", table, conf=conf, stdin="user@example.com replaced\n")
    assert r.returncode == 0
    assert run("-q", "user@example.com", table, conf=conf).stdout == "replaced\n"
    leftovers = [f for f in os.listdir(os.path.dirname(src)) if ".tmp" in f]
    assert leftovers == []


def test_fold_option(src, conf):
    assert run("-f", f"hash:{src}", conf=conf).returncode == 0
    assert run("-f", "-q", "User@Example.COM", f"hash:{src}", conf=conf).stdout == "OK\n"
    assert run("-f", "-q", "user@example.com", f"hash:{src}", conf=conf).stdout == "second\n"


def test_alias_mode(tmp_path, conf):
    aliases = tmp_path / "aliases"
    aliases.write_text("postmaster: root\nabuse:  root,\n  admin\n")
    r = run("-a", f"cdb:{aliases}", conf=conf)
    assert r.returncode == 0, r.stderr
    assert run("-q", "abuse", f"cdb:{aliases}", conf=conf).stdout == "root, admin\n"
    r = run("-a", "-s", f"cdb:{aliases}", conf=conf)
    assert r.stdout == "postmaster: root\nabuse: root, admin\n"


def test_default_type_from_config(tmp_path, src):
    conf = tmp_path / "conf-lmdb"
    conf.mkdir()
    (conf / "main.cf").write_text("default_database_type = lmdb\n")
    assert run(src, conf=str(conf)).returncode == 0
    assert os.path.exists(src + ".lmdb") and not os.path.exists(src + ".db")
    assert run("-q", "192.0.2", src, conf=str(conf)).stdout == "DUNNO\n"
    # The same through MAIL_CONFIG.
    (conf / "main.cf").write_text("default_database_type = cdb\n")
    assert run(src, env_conf=str(conf)).returncode == 0
    assert os.path.exists(src + ".cdb")
    # A type postern-map cannot build is a configuration error.
    (conf / "main.cf").write_text("default_database_type = regexp\n")
    r = run(src, conf=str(conf))
    assert r.returncode == 78 and "default_database_type" in r.stderr


def test_errors_and_exit_codes(tmp_path, src, conf):
    missing = str(tmp_path / "missing")
    r = run(f"hash:{missing}", conf=conf)
    assert r.returncode == 66 and "open source file" in r.stderr
    assert not os.path.exists(missing + ".db")

    # A query of a table that does not exist is an error, not "not found".
    r = run("-q", "x", f"hash:{missing}", conf=conf)
    assert r.returncode == 75 and "No such file" in r.stderr

    # A bad line: exit 65 with file:line, and the old table stays.
    assert run(f"hash:{src}", conf=conf).returncode == 0
    with open(src, "a") as f:
        f.write("brokenline\n")
    r = run(f"hash:{src}", conf=conf)
    assert r.returncode == 65 and "access:7: expected" in r.stderr
    assert run("-q", "192.0.2", f"hash:{src}", conf=conf).stdout == "DUNNO\n"

    # A corrupt table file.
    with open(str(tmp_path / "junk.db"), "w") as f:
        f.write("x" * 8192)
    r = run("-q", "x", f"hash:{tmp_path / 'junk'}", conf=conf)
    assert r.returncode == 75

    r = run("-q", "x", "-s", f"hash:{src}", conf=conf)
    assert r.returncode == 64
    r = run(conf=conf)
    assert r.returncode == 64
    r = run(f"regexp:{src}", conf=conf)
    assert r.returncode == 64 and "read directly" in r.stderr


def test_query_pattern_tables(tmp_path, conf):
    pcre = tmp_path / "checks.pcre"
    pcre.write_text("/^(.*)@example\\.com$/ RELAY $1\n")
    r = run("-q", "joe@example.com", f"pcre:{pcre}", conf=conf)
    assert (r.returncode, r.stdout) == (0, "RELAY joe\n")
    cidr = tmp_path / "clients.cidr"
    cidr.write_text("192.0.2.0/24 OK\n2001:db8::/32 REJECT\n")
    assert run("-q", "2001:db8::5", f"cidr:{cidr}", conf=conf).stdout == "REJECT\n"
    cidr.write_text("192.0.2.1/24 OK\n")
    r = run("-q", "192.0.2.1", f"cidr:{cidr}", conf=conf)
    assert r.returncode == 75 and "clients.cidr:1: non-zero host bits" in r.stderr
    r = run("-q", "a", "inline:{ a=1, b=2 }", conf=conf)
    assert r.stdout == "1\n"


def test_db5_dump_reads_hash(src, conf):
    assert run(f"hash:{src}", conf=conf).returncode == 0
    out = subprocess.run(["db5.3_dump", "-p", src + ".db"], capture_output=True,
                         text=True, timeout=TIMEOUT)
    assert out.returncode == 0
    # Keys and values are stored with their NUL, as postmap does.
    assert " example.net\\00\n REJECT no thanks\\00\n" in out.stdout


def test_other_tools_read(src, conf):
    assert run(f"cdb:{src}", conf=conf).returncode == 0
    out = subprocess.run(["cdb", "-d", src + ".cdb"],
                         capture_output=True, timeout=TIMEOUT)
    assert out.returncode == 0 and b"+8,6:192.0.2\0->DUNNO\0\n" in out.stdout
    assert run(f"lmdb:{src}", conf=conf).returncode == 0
    out = subprocess.run(["mdb_dump", "-n", "-p", src + ".lmdb"],
                         capture_output=True, text=True, timeout=TIMEOUT)
    assert out.returncode == 0 and " 192.0.2\\00\n DUNNO\\00\n" in out.stdout


@pytest.mark.parametrize("dtype", ["hash", "lmdb", "cdb"])
def test_concurrent_incremental_loads(dtype, tmp_path, conf):
    """Two postern-map -i at once: the lock serialises them, no entry is
    lost and the table stays readable."""
    table = f"{dtype}:{tmp_path / 'map'}"
    inputs = ["".join(f"w{n}k{i} v{i}\n" for i in range(300)) for n in range(2)]
    results = [None, None]

    def load(n):
        results[n] = run("-i", table, conf=conf, stdin=inputs[n])

    threads = [threading.Thread(target=load, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT)
    assert all(r is not None and r.returncode == 0 for r in results), results
    r = run("-s", table, conf=conf)
    assert r.returncode == 0
    assert len(r.stdout.splitlines()) == 600


def test_rebuild_is_atomic(tmp_path, conf):
    """Readers running while the table is rebuilt over and over always see
    a complete table: every query answers, none fails or misses."""
    src = tmp_path / "big"
    src.write_text("".join(f"key{i} value{i}\n" for i in range(3000)))
    table = f"hash:{src}"
    assert run(table, conf=conf).returncode == 0
    stop = threading.Event()
    failures = []

    def rebuild():
        while not stop.is_set():
            r = run(table, conf=conf)
            if r.returncode != 0:
                failures.append(("build", r.stderr))

    t = threading.Thread(target=rebuild)
    t.start()
    try:
        for i in range(40):
            r = run("-q", f"key{(i * 73) % 3000}", table, conf=conf)
            if r.returncode != 0:
                failures.append(("query", r.returncode, r.stderr))
    finally:
        stop.set()
        t.join(TIMEOUT)
    assert failures == []
