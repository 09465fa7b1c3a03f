"""A self-signed certificate for `scripts/app --https`: browsers give a page the camera only over HTTPS (or on
localhost), so a phone on the same network needs the app served over TLS.

Made on first use in `data/tls/` (git-ignored; FORMCHECK_TLS_DIR elsewhere): an ECDSA P-256 key and a
certificate for localhost, this machine's name and its network addresses, valid for a year. It is made again
when it has expired (or expires within a week) or when the machine has an address the certificate does not
name. Browsers warn about a
self-signed certificate once; accept it to go on. A clinic server puts a real certificate on a reverse proxy.

    python -m formcheck.tls [FOLDER]     prints the certificate's and the key's paths, one a line
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import socket
import sys
from pathlib import Path

DEFAULT_DIR = Path(__file__).resolve().parent.parent / "data" / "tls"
CERT, KEY = "cert.pem", "key.pem"
VALID_DAYS = 365
RENEW_BEFORE = dt.timedelta(days=7)


def local_names() -> tuple[list[str], list[ipaddress.IPv4Address | ipaddress.IPv6Address]]:
    """The names and addresses a browser on this machine or its network may use to reach it."""
    names = ["localhost"]
    host = socket.gethostname()
    if host and host not in names:
        names.append(host)
    addresses = {ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")}
    try:
        for info in socket.getaddrinfo(host, None):
            addresses.add(ipaddress.ip_address(info[4][0].split("%")[0]))
    except OSError:
        pass
    try:  # the address of the route out (no packet is sent): the LAN address a phone uses
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))
            addresses.add(ipaddress.ip_address(s.getsockname()[0]))
    except OSError:
        pass
    return names, sorted(addresses, key=lambda a: (a.version, int(a)))


def _usable(cert_path: Path, key_path: Path, names: list[str], addresses: list) -> bool:
    from cryptography import x509

    if not (cert_path.exists() and key_path.exists()):
        return False
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (ValueError, x509.ExtensionNotFound):
        return False
    if cert.not_valid_after_utc - RENEW_BEFORE < dt.datetime.now(dt.UTC):
        return False
    return set(names) <= set(san.get_values_for_type(x509.DNSName)) and \
        set(addresses) <= set(san.get_values_for_type(x509.IPAddress))


def ensure_certificate(folder: str | os.PathLike | None = None) -> tuple[Path, Path]:
    """The (certificate, key) PEM files in `folder` (FORMCHECK_TLS_DIR, or data/tls), made now if missing or
    outdated."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    folder = Path(folder or os.environ.get("FORMCHECK_TLS_DIR") or DEFAULT_DIR)
    cert_path, key_path = folder / CERT, folder / KEY
    names, addresses = local_names()
    if _usable(cert_path, key_path, names, addresses):
        return cert_path, key_path
    folder.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "formcheck (self-signed)")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=VALID_DAYS))
            .add_extension(x509.SubjectAlternativeName([*(x509.DNSName(n) for n in names),
                                                        *(x509.IPAddress(a) for a in addresses)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # the key: readable by its owner only
    with os.fdopen(fd, "wb") as f:
        f.write(key_pem)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path


if __name__ == "__main__":
    for path in ensure_certificate(sys.argv[1] if len(sys.argv) > 1 else None):
        print(path)
