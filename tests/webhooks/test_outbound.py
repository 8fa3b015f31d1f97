"""The guarded outgoing path: refused address classes, rebinding, no redirects, bounds, TLS."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from orlume_site import outbound
from tests.webhooks.conftest import Receiver, Reply, running_receiver

PUBLIC = "93.184.215.14"


@pytest.fixture
def no_connections(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Records connection attempts and refuses them, so no test reaches the internet."""
    attempts: list[tuple[str, int]] = []

    def connect(address: str, port: int, timeout: float) -> None:
        attempts.append((address, port))
        raise ConnectionRefusedError("tests do not leave the machine")

    monkeypatch.setattr(outbound, "_connect", connect)
    return attempts


def resolve_to(monkeypatch: pytest.MonkeyPatch, *answers: list[str]) -> list[str]:
    """Each resolution returns the next list of answers (the last one repeats)."""
    asked: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        asked.append(host)
        return answers[min(len(asked), len(answers)) - 1]

    monkeypatch.setattr(outbound, "_resolve", resolve)
    return asked


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "metadata"),
        ("fd00:ec2::254", "metadata"),
        ("169.254.10.10", "link_local"),
        ("fe80::1", "link_local"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"),
        ("0.0.0.0", "unspecified"),  # noqa: S104  (refused, never bound)
        ("::", "unspecified"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:169.254.169.254", "metadata"),
        ("::ffff:10.0.0.1", "private"),
        ("64:ff9b::a00:1", "private"),  # NAT64 of 10.0.0.1
        ("2002:7f00:1::", "loopback"),  # 6to4 of 127.0.0.1
        ("100.64.0.1", "shared"),
        ("100.127.255.254", "shared"),
        ("fd12:3456::1", "unique_local"),
        ("192.0.2.10", "private"),  # documentation range
    ],
)
def test_literal_addresses_of_each_refused_class_are_refused_before_any_connection(
    address: str, reason: str, no_connections: list[tuple[str, int]]
) -> None:
    host = f"[{address}]" if ":" in address else address
    with pytest.raises(outbound.OutboundRefused) as refused:
        outbound.request("POST", f"https://{host}/hook", body=b"{}")
    assert refused.value.kind == reason
    assert no_connections == []


@pytest.mark.parametrize("address", ["8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_pass_the_check(address: str) -> None:
    assert outbound.refusal_reason(ipaddress.ip_address(address)) is None


def test_a_name_resolving_to_loopback_is_refused(
    monkeypatch: pytest.MonkeyPatch, no_connections: list[tuple[str, int]]
) -> None:
    resolve_to(monkeypatch, ["127.0.0.1"])
    with pytest.raises(outbound.OutboundRefused) as refused:
        outbound.request("POST", "https://evil.example/hook")
    assert refused.value.kind == "loopback"
    assert no_connections == []


def test_localhost_is_refused_through_the_real_resolver(
    no_connections: list[tuple[str, int]],
) -> None:
    with pytest.raises(outbound.OutboundRefused) as refused:
        outbound.request("GET", "http://localhost:8000/")
    assert refused.value.kind == "loopback"
    assert no_connections == []


def test_one_refused_answer_among_public_ones_refuses_the_name(
    monkeypatch: pytest.MonkeyPatch, no_connections: list[tuple[str, int]]
) -> None:
    resolve_to(monkeypatch, [PUBLIC, "10.0.0.5"])
    with pytest.raises(outbound.OutboundRefused) as refused:
        outbound.request("POST", "https://mixed.example/hook")
    assert refused.value.kind == "private"
    assert no_connections == []


def test_rebinding_cannot_switch_the_target_after_the_check(
    monkeypatch: pytest.MonkeyPatch, no_connections: list[tuple[str, int]]
) -> None:
    # First answer public, every later answer loopback: only the checked one may be connected to.
    asked = resolve_to(monkeypatch, [PUBLIC], ["127.0.0.1"])
    with pytest.raises(outbound.OutboundConnectionError):
        outbound.request("POST", "https://rebind.example/hook")
    assert asked == ["rebind.example"]
    assert no_connections == [(PUBLIC, 443)]


def test_metadata_and_link_local_stay_refused_when_private_targets_are_allowed(
    monkeypatch: pytest.MonkeyPatch, no_connections: list[tuple[str, int]]
) -> None:
    resolve_to(monkeypatch, ["169.254.169.254"])
    with pytest.raises(outbound.OutboundRefused) as refused:
        outbound.request("GET", "http://metadata.example/", allow_private=True)
    assert refused.value.kind == "metadata"
    with pytest.raises(outbound.OutboundRefused):
        outbound.request("GET", "http://[fe80::1]/", allow_private=True)
    assert no_connections == []


def test_the_socket_goes_to_the_checked_address_with_the_original_host_header(
    monkeypatch: pytest.MonkeyPatch, receiver: Receiver
) -> None:
    resolve_to(monkeypatch, ["127.0.0.1"])
    response = outbound.request(
        "POST",
        receiver.url("/in?x=1", host="hooks.example"),
        headers={"User-Agent": "Orlume-Webhooks/1"},
        body=b"hello",
        allow_private=True,
    )
    assert (response.status, response.body, response.address) == (200, b"ok", "127.0.0.1")
    [hit] = receiver.hits("/in?x=1")
    assert hit.headers["Host"] == f"hooks.example:{receiver.port}"
    assert hit.body == b"hello"


def test_redirects_are_returned_not_followed(receiver: Receiver) -> None:
    receiver.reply("/hook", Reply(status=302, headers={"Location": receiver.url("/elsewhere")}))
    response = outbound.request("POST", receiver.url(), allow_private=True)
    assert response.status == 302
    assert receiver.hits("/elsewhere") == []


def test_a_huge_response_is_read_only_up_to_the_limit(receiver: Receiver) -> None:
    receiver.reply("/hook", Reply(status=200, body=b"y" * 2_000_000))
    response = outbound.request("POST", receiver.url(), allow_private=True, max_body_bytes=1000)
    assert response.body == b"y" * 1000
    assert response.truncated


def test_a_server_dripping_its_answer_is_cut_off_by_the_total_deadline(
    receiver: Receiver,
) -> None:
    # Each byte arrives well within a per-read timeout; only a total deadline ends this.
    receiver.reply("/hook", Reply(drip=True))
    with pytest.raises(outbound.OutboundTimeout):
        outbound.request("POST", receiver.url(), allow_private=True, timeout=0.5)


@pytest.mark.parametrize(
    "url",
    ["ftp://files.example/x", "https://user:pw@hooks.example/", "https:///nohost"],
)
def test_urls_that_are_not_plain_http_targets_are_refused(
    url: str, no_connections: list[tuple[str, int]]
) -> None:
    with pytest.raises(outbound.OutboundRefused):
        outbound.request("GET", url)
    assert no_connections == []


def _self_signed(tmp_path: Path, name: str) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert_file, key_file)
    client = ssl.create_default_context(cafile=str(cert_file))
    return server, client


def test_https_to_the_checked_address_verifies_the_certificate_for_the_original_name(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    server_tls, client_tls = _self_signed(tmp_path, "hooks.example")
    resolve_to(monkeypatch, ["127.0.0.1"])
    with running_receiver(tls=server_tls) as tls_receiver:
        response = outbound.request(
            "POST",
            tls_receiver.url(host="hooks.example"),
            allow_private=True,
            ssl_context=client_tls,
        )
        assert response.status == 200
        # The same server under a name its certificate does not carry is refused by TLS.
        with pytest.raises(outbound.OutboundConnectionError) as failed:
            outbound.request(
                "POST",
                tls_receiver.url(host="other.example"),
                allow_private=True,
                ssl_context=client_tls,
            )
        assert failed.value.kind == "tls"
        assert len(tls_receiver.hits()) == 1
