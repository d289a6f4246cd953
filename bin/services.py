"""Make sure PostgreSQL, MariaDB and Redis answer on 127.0.0.1 before the server test runs.

A service that is down is started with the machine's own command; one that
cannot be started stops the run with a loud error instead of skipped tests.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import time

SERVICES = {
    "PostgreSQL": (
        5432,
        lambda: [
            "pg_ctlcluster",
            "--skip-systemctl-redirect",
            os.path.basename(sorted(glob.glob("/etc/postgresql/*"))[-1]),
            "main",
            "start",
        ],
    ),
    "MariaDB": (
        3306,
        lambda: [
            "start-stop-daemon",
            "--start",
            "--oknodo",
            "--background",
            "--exec",
            "/usr/sbin/mariadbd",
        ],
    ),
    "Redis": (
        6379,
        lambda: [
            "redis-server",
            "--daemonize",
            "yes",
            "--bind",
            "127.0.0.1",
            "-::1",
            "--port",
            "6379",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            "/var/lib/redis",
            "--logfile",
            "/var/log/redis/ci.log",
        ],
    ),
}


def answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def main() -> int:
    down = []
    for name, (port, start_command) in SERVICES.items():
        if answers(port):
            continue
        try:
            command = start_command()
        except IndexError:
            command = None
        if command and shutil.which(command[0]):
            print(f"{name} is not answering on port {port}; starting it: {' '.join(command)}")
            subprocess.run(command, check=False)
            for _ in range(60):
                if answers(port):
                    break
                time.sleep(0.5)
        if not answers(port):
            down.append(f"{name} (127.0.0.1:{port})")
    if down:
        print("!" * 70, file=sys.stderr)
        print(f"ERROR: {', '.join(down)} not reachable and could not be started.", file=sys.stderr)
        print("The server test runs cannot happen; refusing to skip them.", file=sys.stderr)
        print("!" * 70, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
