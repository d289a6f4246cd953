"""What bin/test needs, checked in seconds before anything long runs.

Run as root where apt-get exists, it installs what the distribution's packages provide and
works as installed; everything else missing is named with the way to get it, and the run
stops (exit 1) instead of failing twenty minutes in or skipping a backend. On success it
prints the directories to put first on PATH so that nox finds each Python of noxfile.py.
Standard library only: it runs before the virtual environment exists.
"""

from __future__ import annotations

import argparse
import ast
import glob
import os
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

import services  # bin/services.py: starts the servers this only checks are installed

REPO = Path(__file__).resolve().parent.parent


@dataclass
class Need:
    """One missing thing: what it is, what apt-get would install (if that is enough), how else."""

    what: str
    apt: tuple[str, ...] = ()
    how: str = ""


def nox_matrix(noxfile: Path = REPO / "noxfile.py") -> list[tuple[str, str, str | None]]:
    """noxfile.py's MATRIX of (Python, Django, DRF), read without importing nox."""
    for node in ast.parse(noxfile.read_text()).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "MATRIX":
            return ast.literal_eval(node.value)
    raise LookupError(f"{noxfile} has no MATRIX")


def runs_as(executable: str, version: str) -> bool:
    """Whether ``executable`` starts and is Python ``version`` (a pyenv shim may do neither)."""
    try:
        result = subprocess.run(
            [executable, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except OSError:
        return False
    return result.returncode == 0 and result.stdout.strip() == version


def find_python(version: str, path: str, pyenv_root: Path) -> str | None:
    """The directory of a working ``python<version>``: on PATH first, then pyenv's newest."""
    name = f"python{version}"
    on_path = shutil.which(name, path=path)
    if on_path and runs_as(on_path, version):
        return os.path.dirname(on_path)
    installed = glob.glob(str(pyenv_root / "versions" / f"{version}.*" / "bin" / name))
    for executable in sorted(installed, key=patch_level, reverse=True):
        if runs_as(executable, version):
            return os.path.dirname(executable)
    return None


def patch_level(executable: str) -> tuple[int, ...]:
    """(3, 10, 13) for .../versions/3.10.13/bin/python3.10; dev or rc versions sort first."""
    release = Path(executable).parent.parent.name
    return tuple(int(part) if part.isdigit() else -1 for part in release.split("."))


def pyenv_root(environ: dict[str, str]) -> Path:
    return Path(environ.get("PYENV_ROOT") or Path.home() / ".pyenv")


def nox_pythons(environ: dict[str, str]) -> tuple[list[str], list[Need]]:
    """Directories holding each Python noxfile.py's sessions need, and those not found."""
    sessions: dict[str, list[str]] = {}
    for python, django, _drf in nox_matrix():
        sessions.setdefault(python, []).append(f"django{django}")
    root = pyenv_root(environ)
    found, missing = [], []
    for version, names in sessions.items():
        directory = find_python(version, environ.get("PATH", ""), root)
        if directory:
            found.append(directory)
        else:
            missing.append(
                Need(
                    f"Python {version} (nox sessions {', '.join(names)}): no working"
                    f" python{version} on PATH or in {root}/versions",
                    apt=(f"python{version}",) if apt_has(f"python{version}") else (),
                    how=f"pyenv install {version}",
                )
            )
    return list(dict.fromkeys(found)), missing


def apt_has(package: str) -> bool:
    """Whether apt-get can install ``package`` here (root, apt present, a candidate version)."""
    if not can_apt():
        return False
    result = subprocess.run(
        ["apt-cache", "policy", package], capture_output=True, text=True, check=False
    )
    return "Candidate:" in result.stdout and "Candidate: (none)" not in result.stdout


def can_apt() -> bool:
    return os.geteuid() == 0 and shutil.which("apt-get") is not None


def build_tools() -> list[Need]:
    """mysqlclient (the MariaDB driver) has no Linux wheel: pip compiles it for the venv."""
    needs = []
    if sys.version_info < (3, 10):  # noqa: UP036 (it runs under whatever python3 is)
        needs.append(
            Need(
                f"Python 3.10 or newer as {sys.executable} (it is {sys.version.split()[0]})",
                how="set PYTHON=/path/to/python3.10+ or put one first on PATH",
            )
        )
    distro = sys.prefix == "/usr"  # Debian's own Python: its parts come as packages
    minor = f"python3.{sys.version_info[1]}"
    try:
        import ensurepip  # noqa: F401
        import venv  # noqa: F401
    except ImportError:
        needs.append(
            Need(
                f"the venv module of {sys.executable}",
                apt=(f"{minor}-venv",) if distro else (),
                how="a Python built with ensurepip (pyenv's are)",
            )
        )
    if not Path(sysconfig.get_paths()["include"], "Python.h").is_file():
        needs.append(
            Need(
                f"the C headers of {sys.executable} (Python.h)",
                apt=(f"{minor}-dev",) if distro else (),
                how="a Python built with its headers (pyenv's are)",
            )
        )
    if not (shutil.which("cc") or shutil.which("gcc")):
        needs.append(Need("a C compiler (cc)", apt=("gcc",), how="your system's gcc package"))
    if not any(pkg_config_has(name) for name in ("mysqlclient", "mariadb")):
        needs.append(
            Need(
                "MariaDB's client library and headers, found through pkg-config",
                apt=("libmariadb-dev", "pkg-config"),
                how="your system's libmariadb-dev (or libmysqlclient-dev) and pkg-config",
            )
        )
    return needs


def pkg_config_has(name: str) -> bool:
    if not shutil.which("pkg-config"):
        return False
    return subprocess.run(["pkg-config", "--exists", name], check=False).returncode == 0


#: name -> (is it installed, apt package that works as installed or (), what else it needs)
SERVERS = {
    "PostgreSQL": (
        lambda: shutil.which("pg_ctlcluster") is not None and bool(glob.glob("/etc/postgresql/*")),
        (),
        (
            "apt-get install postgresql, then let user postgres in over TCP on 127.0.0.1"
            " without a password (pg_hba.conf: host all all 127.0.0.1/32 trust)"
        ),
    ),
    "MariaDB": (
        lambda: os.path.exists("/usr/sbin/mariadbd"),
        (),
        (
            "apt-get install mariadb-server, then let root in over TCP on 127.0.0.1 with an"
            " empty password (ALTER USER root@localhost IDENTIFIED VIA unix_socket OR"
            " mysql_native_password USING PASSWORD(''))"
        ),
    ),
    "Redis": (lambda: shutil.which("redis-server") is not None, ("redis-server",), ""),
}


#: The browser tests/test_browser.py drives (Debian's package; Playwright never downloads one).
CHROMIUM = Path("/usr/bin/chromium")


def browser(chromium: Path | None = None) -> list[Need]:
    """Chromium for the browser test, which fails (never skips) without it."""
    chromium = chromium or CHROMIUM
    if chromium.is_file() and os.access(chromium, os.X_OK):
        return []
    return [
        Need(
            f"Chromium at {chromium} (tests/test_browser.py drives the demo's page in it)",
            apt=("chromium",),
            how="your distribution's chromium package, installed as /usr/bin/chromium",
        )
    ]


def servers() -> list[Need]:
    """Servers neither answering nor installed (bin/services.py starts installed ones)."""
    needs = []
    for name, (installed, apt, how) in SERVERS.items():
        port = services.SERVICES[name][0]
        if not (services.answers(port) or installed()):
            needs.append(
                Need(
                    f"{name} on 127.0.0.1:{port} (not running, not installed)",
                    apt=apt,
                    how=how or f"apt-get install {' '.join(apt)}",
                )
            )
    return needs


def survey(environ: dict[str, str]) -> tuple[list[str], list[Need]]:
    directories, missing = nox_pythons(environ)
    return directories, build_tools() + browser() + servers() + missing


def apt_install(packages: list[str]) -> None:
    print(f"bin/test: installing with apt-get: {' '.join(packages)}", file=sys.stderr)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], env=env, check=False)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages],
        env=env,
        stdout=subprocess.DEVNULL,
        check=False,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-install", action="store_true", help="only say what is missing")
    args = parser.parse_args(argv)
    environ = dict(os.environ)
    directories, missing = survey(environ)
    installable = sorted({package for need in missing for package in need.apt})
    if installable and not args.no_install and can_apt():
        apt_install(installable)
        directories, missing = survey(environ)
    if missing:
        print("bin/test cannot run; missing:", file=sys.stderr)
        for need in missing:
            way = f"apt-get install {' '.join(need.apt)}" if need.apt else need.how
            print(f"  - {need.what}\n    get it: {way}", file=sys.stderr)
        if any(need.apt for need in missing) and not can_apt():
            print("(bin/test installs the apt-get ones itself when run as root)", file=sys.stderr)
        return 1
    print(os.pathsep.join(directories))
    return 0


if __name__ == "__main__":
    sys.exit(main())
