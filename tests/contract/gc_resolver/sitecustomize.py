"""Loaded by the gc process of the contract tests (PYTHONPATH): resolves the Service's cluster DNS
names (*.svc.cluster.local) to 127.0.0.1, where the test runs the server. The URL, and so the Host
header the gc sends, stay as rendered (only the port is the local one)."""

import socket

_getaddrinfo = socket.getaddrinfo


def _resolve(host, *args, **kwargs):
    if isinstance(host, str) and host.endswith(".svc.cluster.local"):
        host = "127.0.0.1"
    return _getaddrinfo(host, *args, **kwargs)


socket.getaddrinfo = _resolve
