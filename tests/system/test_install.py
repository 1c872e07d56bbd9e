"""make install, as an operator installs gtm from source (into a DESTDIR here): the
daemons, gtmctl, man pages, systemd units that systemd accepts, the sysusers.d file of
the user gtm, and the daemons' config files — installed only where none exists, so an
operator's edits survive a reinstall, and removed by make uninstall only while
unchanged. The units' ExecStart lines are run with --check-config.
"""
import os
import shlex
import subprocess

import pytest

from conftest import BUILDDIR

UNITS = ("gtm-dnsd", "gtm-healthd")


def make(target, dest):
    p = subprocess.run(["make", "-C", BUILDDIR, target, f"DESTDIR={dest}"],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    return p


def installed(dest):
    return sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file())


def unit_value(text, key):
    return [line.split("=", 1)[1] for line in text.splitlines() if line.startswith(key + "=")]


@pytest.fixture
def dest(tmp_path):
    d = tmp_path / "dest"
    make("install", d)
    return d


def in_dest(dest, path):
    """An installed file's path under DESTDIR."""
    return str(dest) + path


def test_units_are_valid_and_their_commands_run(dest, tmp_path):
    files = installed(dest)
    units = {u: next(f for f in files if f.endswith(f"/systemd/system/{u}.service"))
             for u in UNITS}
    sysusers = next(f for f in files if f.endswith("/sysusers.d/gtm.conf"))
    db = tmp_path / "gtm.db"
    subprocess.run([BUILDDIR / "gtmctl", "--db", db, "init"], check=True, capture_output=True)
    has_gtm_user = subprocess.run(["id", "gtm"], capture_output=True).returncode == 0
    for name, rel in units.items():
        text = (dest / rel).read_text()
        (exec_start,) = unit_value(text, "ExecStart")
        argv = shlex.split(exec_start)
        # every absolute path of the command line is a file make install put there
        local = [in_dest(dest, a) if a.startswith("/") else a for a in argv]
        for a, orig in zip(local, argv):
            if orig.startswith("/"):
                assert os.path.isfile(a), f"{name}: {orig} was not installed"
        assert argv[0].endswith("/sbin/" + name)
        # on a store made for it; the user gtm exists once the package's sysusers.d
        # file ran, which this test does not do to the machine
        p = subprocess.run([*local, "--check-config"], capture_output=True, text=True,
                           timeout=30, env=dict(os.environ, GTM_DB=str(db)))
        if has_gtm_user:
            assert p.returncode == 0 and "configuration OK" in p.stdout, p.stderr
        else:
            assert (p.returncode, p.stderr) == (1, f"{name}: check failed: --user gtm: no such "
                                                   "user\n")
        # systemd checks the unit (the command and the man page it names must exist)
        unit = tmp_path / f"{name}.service"
        unit.write_text(text.replace(exec_start, " ".join(shlex.quote(a) for a in local)))
        env = dict(os.environ, MANPATH=str(next((dest / f).parent.parent for f in files
                                                if f.endswith(f"/man8/{name}.8"))))
        p = subprocess.run(["systemd-analyze", "verify", unit], capture_output=True, text=True,
                           env=env, timeout=60)
        assert (p.returncode, p.stderr) == (0, ""), p.stderr
        # StateDirectory= without User= would chown the store back to root at each start
        assert unit_value(text, "StateDirectory") == []
        assert unit_value(text, "ExecReload") == ["/bin/kill -HUP $MAINPID"]
    p = subprocess.run(["systemd-sysusers", "--dry-run", dest / sysusers], capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    assert "Creating user 'gtm'" in p.stdout + p.stderr or \
        subprocess.run(["id", "gtm"], capture_output=True).returncode == 0


def test_config_files_of_the_operator_are_kept(dest):
    conf = next(dest.rglob("etc/gtm/gtm-dnsd.conf"))
    sample = conf.read_text()
    assert "# listen 0.0.0.0:53" in sample
    conf.write_text(sample + "listen 192.0.2.53:53\n")
    make("install", dest)
    assert conf.read_text().endswith("listen 192.0.2.53:53\n")
    make("uninstall", dest)
    # everything make install put there is gone, but for the edited config file
    assert installed(dest) == [str(conf.relative_to(dest))]
