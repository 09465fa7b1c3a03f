"""The self-signed certificate of `scripts/app --https` (formcheck/tls.py): made once, for this machine's names
and addresses, kept while it is good, made again when it is about to expire or misses an address."""

import datetime as dt
import ipaddress
import ssl

from cryptography import x509

from formcheck import tls


def test_certificate_is_made_once_for_this_machine_and_reused(tmp_path):
    cert, key = tls.ensure_certificate(tmp_path)
    assert (cert, key) == (tmp_path / "cert.pem", tmp_path / "key.pem")
    assert key.stat().st_mode & 0o777 == 0o600  # the private key: its owner's only
    parsed = x509.load_pem_x509_certificate(cert.read_bytes())
    san = parsed.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    _, addresses = tls.local_names()
    assert "localhost" in san.get_values_for_type(x509.DNSName)
    assert ipaddress.ip_address("127.0.0.1") in san.get_values_for_type(x509.IPAddress)
    assert set(addresses) <= set(san.get_values_for_type(x509.IPAddress))
    assert parsed.not_valid_after_utc - dt.datetime.now(dt.UTC) > dt.timedelta(days=360)
    ssl.create_default_context().load_cert_chain(cert, key)  # a key and certificate that belong together
    before = cert.read_bytes()
    assert tls.ensure_certificate(tmp_path) == (cert, key) and cert.read_bytes() == before  # kept


def test_certificate_is_made_again_when_it_expires_soon_or_misses_an_address(tmp_path, monkeypatch):
    cert, _ = tls.ensure_certificate(tmp_path)
    first = cert.read_bytes()
    monkeypatch.setattr(tls, "RENEW_BEFORE", dt.timedelta(days=400))  # "expires within the renewal window"
    tls.ensure_certificate(tmp_path)
    second = cert.read_bytes()
    assert second != first
    monkeypatch.undo()
    names, addresses = tls.local_names()
    monkeypatch.setattr(tls, "local_names", lambda: (names, [*addresses, ipaddress.ip_address("10.9.8.7")]))
    tls.ensure_certificate(tmp_path)
    assert cert.read_bytes() != second
    san = x509.load_pem_x509_certificate(cert.read_bytes()).extensions.get_extension_for_class(
        x509.SubjectAlternativeName).value
    assert ipaddress.ip_address("10.9.8.7") in san.get_values_for_type(x509.IPAddress)
