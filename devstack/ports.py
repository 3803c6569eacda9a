"""Loopback port helpers shared by the devstack services.

Everything binds to 127.0.0.1 only: the stack is for one developer's machine or a CI run,
and nothing here should ever be reachable from another host.
"""

from __future__ import annotations

import socket
import time

HOST = "127.0.0.1"


def free_port() -> int:
    """Ask the kernel for a port nobody listens on right now.

    There is an unavoidable race between closing this probe socket and the real server
    binding the port; callers persist the port they got so that the race is run only once.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def port_open(port: int, host: str = HOST, timeout: float = 0.5) -> bool:
    """Tell whether something accepts TCP connections on the port.

    Used both for readiness and to refuse to start on a port that another program holds.
    """
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_port_closed(port: int, timeout: float, host: str = HOST) -> bool:
    """Wait until the port stops accepting connections; a stopped server may linger briefly."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not port_open(port, host, timeout=0.2):
            return True
        time.sleep(0.1)
    return not port_open(port, host, timeout=0.2)
