"""A throw-away certificate authority for the simulator's HTTPS endpoints."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

import trustme


@dataclass(frozen=True, slots=True)
class TestPki:
    server_context: ssl.SSLContext
    ca_path: Path


def make_pki(directory: Path) -> TestPki:
    """Mint a CA and a loopback server certificate; write the CA's PEM into `directory`."""
    ca = trustme.CA(organization_name="MDE simulator test CA")
    leaf = ca.issue_cert("127.0.0.1", "localhost", "::1")
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    leaf.configure_cert(server_context)
    directory.mkdir(parents=True, exist_ok=True)
    ca_path = directory / "simulator-ca.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    return TestPki(server_context, ca_path)
