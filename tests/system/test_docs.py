"""The documentation keeps up with the code: every option of the daemons is in their man
page and sample config, every gtmctl command in gtmctl(8) and the README."""
import re
import subprocess

import pytest

from conftest import BUILDDIR, SRCDIR


def options_of(binary):
    """The --options a daemon's --help lists (its option table)."""
    out = subprocess.run([str(BUILDDIR / binary), "--help"], capture_output=True, text=True,
                         timeout=10).stdout
    return sorted(set(re.findall(r"^  --([a-z][a-z0-9-]*)", out, re.M)) -
                  {"config", "check-config", "help"})


def commands_of_gtmctl():
    out = subprocess.run([str(BUILDDIR / "gtmctl"), "--help"], capture_output=True, text=True,
                         timeout=10).stdout
    block = out.split("Commands:\n", 1)[1].split("\n\n", 1)[0]
    names = []
    for line in block.splitlines():
        words = line.split()
        two = " ".join(words[:2])
        probe = subprocess.run([str(BUILDDIR / "gtmctl"), *words[:2], "--help"],
                               capture_output=True, text=True, timeout=10)
        names.append(two if probe.stdout.startswith(f"usage: gtmctl {two}") else words[0])
    return names


@pytest.mark.parametrize("daemon", ["gtm-dnsd", "gtm-healthd"])
def test_every_option_documented(daemon):
    man = (SRCDIR / "doc" / f"{daemon}.8").read_text().replace("\\-", "-")
    conf = (SRCDIR / "etc" / f"{daemon}.conf").read_text()
    opts = options_of(daemon)
    assert opts, "no options found in --help"
    missing_man = [o for o in opts if f"--{o}" not in man]
    missing_conf = [o for o in opts if not re.search(rf"^# {re.escape(o)}\b", conf, re.M)]
    assert not missing_man, f"not in doc/{daemon}.8: {missing_man}"
    assert not missing_conf, f"not in etc/{daemon}.conf: {missing_conf}"


def test_every_gtmctl_command_documented():
    man = (SRCDIR / "doc" / "gtmctl.8").read_text().replace("\\-", "-")
    readme = (SRCDIR / "README.md").read_text()
    cmds = commands_of_gtmctl()
    assert len(cmds) > 10
    assert [c for c in cmds if f".SS {c}" not in man] == []
    assert [c for c in cmds if f"gtmctl {c}" not in readme] == []


def test_gtmctl_man_page_is_the_help():
    """Each command's section of gtmctl(8) is its --help: the usage line, then the text
    (roff's escapes and fill requests aside)."""
    man = (SRCDIR / "doc" / "gtmctl.8").read_text()
    differ = []
    for name in commands_of_gtmctl():
        want = subprocess.run([str(BUILDDIR / "gtmctl"), *name.split(), "--help"],
                              capture_output=True, text=True, timeout=10).stdout
        m = re.search(rf"^\.SS {re.escape(name)}\n(.*?)(?=^\.S[SH] |\Z)", man, re.M | re.S)
        assert m, f"no section {name}"
        text = m.group(1).replace("\\-", "-").replace("\\\\", "\\")
        text = "\n".join(line for line in text.splitlines() if line not in (".nf", ".fi", ".PP"))
        if text.rstrip("\n") != want.replace("usage: ", "", 1).rstrip("\n"):
            differ.append(name)
    assert differ == []

