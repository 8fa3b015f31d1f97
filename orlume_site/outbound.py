"""The one guarded path for outgoing HTTP requests to addresses a user chose (webhooks first).

A user-supplied URL must not let the server reach itself, the private network behind it or the
cloud metadata service (SSRF). Every outgoing request to such a URL goes through `request()`:

1. The hostname is resolved here (`getaddrinfo`) and EVERY answer is checked; one refused answer
   refuses the request (`refusal_reason` lists the classes: loopback, private, unique-local,
   shared 100.64/10, link-local, metadata, multicast, reserved, unspecified, non-global, and IPv6
   addresses that embed a refused IPv4 one: IPv4-mapped, NAT64, 6to4, Teredo).
2. The TCP socket connects to one of the *checked* addresses, never to the name, so a second DNS
   answer (rebinding) cannot switch the target; the connected peer is compared with it again.
3. HTTP/1.1 is spoken with `http.client` over that socket. The Host header stays the original
   name; for https, TLS sends the name as SNI and verifies the certificate against it.

Why `http.client` and not httpx: it never follows redirects, never reads proxy variables from the
environment, and its `connect()` is one small method we own, so the address connected to is by
construction the address checked. Redirects come back to the caller as the 3xx they are.

Bounds: `timeout` is a TOTAL deadline (connect, TLS, send, headers, body), enforced by a watchdog
that shuts the socket down, so a server dripping bytes cannot hold a worker; the response body is
read up to `max_body_bytes` and the connection then closed.

`allow_private=True` (on-premises installs, tests) additionally permits loopback, private,
unique-local, shared and other non-global unicast addresses; link-local, metadata, multicast,
reserved and unspecified addresses stay refused whatever the setting.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Cloud metadata services: AWS/GCP/Azure/OpenStack (IPv4 and AWS IPv6), Alibaba, AWS ECS tasks.
METADATA_ADDRESSES = frozenset(
    {
        ipaddress.ip_address("169.254.169.254"),
        ipaddress.ip_address("fd00:ec2::254"),
        ipaddress.ip_address("100.100.100.200"),
        ipaddress.ip_address("169.254.170.2"),
    }
)
_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT (RFC 6598)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # well-known NAT64 prefix (RFC 6052)
_UNIQUE_LOCAL = ipaddress.ip_network("fc00::/7")
# Classes `allow_private=True` lets through. Everything else is refused whatever the setting.
PRIVATE_CLASSES = frozenset({"loopback", "private", "unique_local", "shared", "non_global"})
DEFAULT_PORTS = {"http": 80, "https": 443}


class OutboundError(Exception):
    """The request did not produce a response. `kind` is a stable machine word."""

    kind = "error"

    def __init__(self, detail: str, *, kind: str | None = None) -> None:
        super().__init__(detail)
        if kind:
            self.kind = kind


class OutboundRefused(OutboundError):
    """The guard refused the target before any byte was sent; `kind` names the class."""

    def __init__(self, kind: str, detail: str, *, address: str | None = None) -> None:
        super().__init__(detail, kind=kind)
        self.address = address


class OutboundTimeout(OutboundError):
    kind = "timeout"


class OutboundConnectionError(OutboundError):
    """DNS failure, connection refused or reset, TLS failure, malformed HTTP."""

    kind = "connection_error"


@dataclass(frozen=True)
class OutboundResponse:
    status: int
    headers: dict[str, str]  # names lower-cased
    body: bytes  # at most max_body_bytes
    truncated: bool  # the server had more to say than we read
    address: str  # the checked address actually connected to


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]  # the client address; the server is public by construction
    return None


def refusal_reason(address: IPAddress) -> str | None:
    """The class that makes `address` unfit for a user-chosen target, or None if it is public."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id:
            address = ipaddress.IPv6Address(str(address).split("%", 1)[0])
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            inner = refusal_reason(embedded)
            if inner is not None or address.ipv4_mapped is not None or address in _NAT64:
                # Mapped and NAT64 addresses reach exactly the embedded IPv4 address.
                return inner
    if address.is_unspecified:
        return "unspecified"
    if address in METADATA_ADDRESSES:
        return "metadata"
    if address.is_multicast:
        return "multicast"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link_local"
    if isinstance(address, ipaddress.IPv4Address) and address in _SHARED:
        return "shared"
    if address.is_reserved:
        return "reserved"
    if isinstance(address, ipaddress.IPv6Address) and address in _UNIQUE_LOCAL:
        return "unique_local"
    if address.is_private or (isinstance(address, ipaddress.IPv6Address) and address.is_site_local):
        return "private"
    if not address.is_global:
        return "non_global"
    return None


def _resolve(host: str, port: int) -> list[str]:
    """Every address the name has, in the resolver's order. Tests replace this function."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _connect(address: str, port: int, timeout: float) -> socket.socket:
    """Opens the TCP connection to one checked address. Tests replace this function."""
    return socket.create_connection((address, port), timeout=timeout)


def check_target(host: str, port: int, *, allow_private: bool) -> list[IPAddress]:
    """Resolves `host` and returns its addresses if every one of them is allowed.

    Raises OutboundRefused naming the first refused class, or OutboundConnectionError when the
    name does not resolve.
    """
    try:
        answers = [str(ipaddress.ip_address(host))]
    except ValueError:
        try:
            answers = _resolve(host, port)
        except (OSError, UnicodeError) as exc:
            raise OutboundConnectionError(f"{host} did not resolve: {exc}", kind="dns") from exc
    if not answers:
        raise OutboundConnectionError(f"{host} has no addresses", kind="dns")
    addresses: list[IPAddress] = []
    for answer in answers:
        address = ipaddress.ip_address(answer.split("%", 1)[0])
        reason = refusal_reason(address)
        if reason is not None and not (allow_private and reason in PRIVATE_CLASSES):
            raise OutboundRefused(
                reason, f"{host} resolves to a refused address ({reason})", address=str(address)
            )
        addresses.append(address)
    return addresses


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Sends to `host` (Host header) over a socket connected to the checked `address`."""

    def __init__(self, host: str, port: int, *, address: IPAddress, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.address = address
        self.connect_timeout = timeout

    def connect(self) -> None:
        sock = _connect(str(self.address), self.port, self.connect_timeout)
        try:
            peer = ipaddress.ip_address(str(sock.getpeername()[0]).split("%", 1)[0])
            if peer != self.address and getattr(peer, "ipv4_mapped", None) != self.address:
                raise OutboundRefused(
                    "peer_mismatch", f"connected to {peer}, not {self.address}", address=str(peer)
                )
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except BaseException:
            sock.close()
            raise
        self.sock = sock


class _PinnedHTTPSConnection(_PinnedHTTPConnection):
    default_port = 443

    def __init__(
        self,
        host: str,
        port: int,
        *,
        address: IPAddress,
        timeout: float,
        context: ssl.SSLContext,
    ) -> None:
        super().__init__(host, port, address=address, timeout=timeout)
        self.context = context

    def connect(self) -> None:
        super().connect()
        # SNI and certificate verification use the original name, not the address.
        self.sock = self.context.wrap_socket(self.sock, server_hostname=self.host)


def request(
    method: str,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    body: bytes = b"",
    timeout: float = 5.0,
    max_body_bytes: int = 4096,
    allow_private: bool = False,
    ssl_context: ssl.SSLContext | None = None,
) -> OutboundResponse:
    """Sends one request through the guard and returns the (bounded) response.

    Raises OutboundRefused (nothing was sent), OutboundTimeout or OutboundConnectionError.
    Never follows redirects: a 3xx is returned like any other status.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise OutboundRefused("scheme", "only http and https URLs can be requested")
    if parts.username is not None or parts.password is not None:
        raise OutboundRefused("credentials", "URLs with credentials are refused")
    host = parts.hostname
    try:
        port = parts.port or DEFAULT_PORTS[scheme]
    except ValueError as exc:
        raise OutboundRefused("bad_url", "the URL's port is not a number") from exc
    if not host:
        raise OutboundRefused("bad_url", "the URL names no host")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")

    deadline = time.monotonic() + timeout
    addresses = check_target(host, port, allow_private=allow_private)
    context = ssl_context or ssl.create_default_context()

    last_error: OutboundError = OutboundConnectionError(f"could not connect to {host}")
    for address in addresses:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise OutboundTimeout(f"{host} did not answer within {timeout:g}s")
        conn: _PinnedHTTPConnection
        if scheme == "https":
            conn = _PinnedHTTPSConnection(
                host, port, address=address, timeout=remaining, context=context
            )
        else:
            conn = _PinnedHTTPConnection(host, port, address=address, timeout=remaining)
        try:
            return _exchange(conn, method, target, headers or {}, body, deadline, max_body_bytes)
        except OutboundConnectionError as exc:
            if exc.kind != "connect":
                raise
            last_error = exc  # the next checked address may answer
    raise last_error


def _exchange(
    conn: _PinnedHTTPConnection,
    method: str,
    target: str,
    headers: Mapping[str, str],
    body: bytes,
    deadline: float,
    max_body_bytes: int,
) -> OutboundResponse:
    expired = threading.Event()

    def watchdog() -> None:
        expired.set()
        sock = conn.sock
        if sock is not None:
            # The plain socket's shutdown, even for TLS: it unblocks any recv/send at once.
            with contextlib.suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)

    timer = threading.Timer(max(deadline - time.monotonic(), 0.0), watchdog)
    timer.daemon = True
    timer.start()
    try:
        try:
            conn.connect()
        except OutboundError:
            raise
        except TimeoutError as exc:
            raise OutboundTimeout(f"connecting timed out: {exc}") from exc
        except ssl.SSLError as exc:
            raise OutboundConnectionError(f"TLS failed: {exc}", kind="tls") from exc
        except OSError as exc:
            raise OutboundConnectionError(f"could not connect: {exc}", kind="connect") from exc
        conn.request(method, target, body=body, headers=dict(headers))
        response = conn.getresponse()
        chunks: list[bytes] = []
        received = 0
        truncated = False
        while True:
            chunk = response.read(min(8192, max_body_bytes + 1 - received))
            if not chunk:
                break
            chunks.append(chunk)
            received += len(chunk)
            if received > max_body_bytes:
                truncated = True
                break
        if expired.is_set():
            raise OutboundTimeout("the response did not complete in time")
        data = b"".join(chunks)[:max_body_bytes]
        return OutboundResponse(
            status=response.status,
            headers={name.lower(): value for name, value in response.getheaders()},
            body=data,
            truncated=truncated,
            address=str(conn.address),
        )
    except OutboundError:
        raise
    except (TimeoutError, OSError, http.client.HTTPException) as exc:
        if expired.is_set() or isinstance(exc, TimeoutError):
            raise OutboundTimeout(f"the request timed out: {exc}") from exc
        kind = "tls" if isinstance(exc, ssl.SSLError) else "protocol"
        raise OutboundConnectionError(f"the request failed: {exc}", kind=kind) from exc
    finally:
        timer.cancel()
        conn.close()
