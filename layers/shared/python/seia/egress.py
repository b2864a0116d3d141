"""Where Seia may send a request on a user's behalf (webhooks, Slack), and sending it there.

A URL in a user's settings must not reach inside the deployment (server-side request forgery): the cloud's
metadata service, the database, anything on a private network. :func:`check_url` refuses it when the settings
are saved and again before each send, after resolving the name, and :func:`post` then connects to the very
address that was checked (no second lookup a DNS rebinding could change), sets the ``Host`` header and the TLS
server name to the URL's host, and follows no redirect.

Refused: loopback, private (RFC 1918, CGNAT, ...), link-local (169.254.0.0/16: the metadata service; fe80::/10),
unique-local (fc00::/7), multicast, unspecified, reserved addresses (IPv4-mapped IPv6 judged as IPv4), and every
address of the database's host. ``https`` only, unless ``SEIA_ALLOW_HTTP_WEBHOOKS=1``.

``SEIA_ALLOW_PRIVATE_WEBHOOKS=1`` admits loopback and private addresses (never the database's host and port): the
tests and ``make up`` run their receivers on 127.0.0.1. Both are read at each call, never cached.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

ALLOW_HTTP = "SEIA_ALLOW_HTTP_WEBHOOKS"
ALLOW_PRIVATE = "SEIA_ALLOW_PRIVATE_WEBHOOKS"
TIMEOUT_S = 5.0  # connect and read, each: a slow receiver never holds the worker long
MAX_RESPONSE = 64 * 1024

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class Refused(ValueError):
    """A URL Seia will not send to; the message says why (never the URL's path or query)."""


@dataclass(frozen=True)
class Target:
    """A checked URL: where to connect (`address`) and what to call the host (`host`)."""

    scheme: str
    host: str
    port: int
    path: str
    address: str


def _flag(name: str, env: Mapping[str, str] | None) -> bool:
    return (os.environ if env is None else env).get(name, "").strip().lower() in ("1", "true", "yes")


def _resolve(host: str, port: int) -> list[str]:
    """Every address of `host` (the module-level name lets the tests answer for a DNS server)."""
    return sorted({str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)})


def address_problem(address: Address, allow_private: bool) -> str | None:
    """Why Seia must not connect to `address`, or None.

    Examples
    --------
    >>> address_problem(ipaddress.ip_address("169.254.169.254"), True)
    'is link-local (the metadata service lives there)'
    >>> address_problem(ipaddress.ip_address("::ffff:10.0.0.1"), False)
    'is private'
    >>> address_problem(ipaddress.ip_address("93.184.216.34"), False) is None
    True
    """
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_unspecified:
        return "is unspecified"
    if address.is_link_local:
        return "is link-local (the metadata service lives there)"
    if address.is_multicast:
        return "is multicast"
    if address.is_loopback:
        return None if allow_private else "is loopback"
    if isinstance(address, ipaddress.IPv6Address) and address in ipaddress.ip_network("fc00::/7"):
        return None if allow_private else "is unique-local"
    if address.is_reserved:  # before private: Python counts 240.0.0.0/4 as both
        return "is reserved"
    if address.is_private or address in ipaddress.ip_network("100.64.0.0/10"):
        return None if allow_private else "is private"
    return None


def database_addresses(env: Mapping[str, str] | None = None) -> list[tuple[str, int]]:
    """(address, port) of the database's host, as the functions reach it (``SEIA_DB_HOST``, ``SEIA_DB_PORT``)."""
    from seia.config import get_settings

    settings = get_settings()
    env = os.environ if env is None else env
    host = env.get("SEIA_DB_HOST") or settings.db_host
    port = int(env.get("SEIA_DB_PORT") or settings.db_port)
    if host.startswith("/"):
        return []  # a Unix socket: nothing reachable over TCP
    try:
        return [(a, port) for a in _resolve(host, port)]
    except (OSError, ValueError):
        return []


def check_url(
    url: str,
    *,
    resolve: bool = True,
    env: Mapping[str, str] | None = None,
    database: Iterable[tuple[str, int]] | None = None,
) -> Target | None:
    """The checked target of `url`, or raise :class:`Refused` saying why.

    With ``resolve=False`` (settings time), or when the name does not resolve now, a host name is judged by its
    literal form only and None is returned: the send-time check resolves it again and decides.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Refused("must be an https URL")
    if parts.scheme == "http" and not _flag(ALLOW_HTTP, env):
        raise Refused(f"must be https (http only with {ALLOW_HTTP}=1)")
    if parts.username or parts.password:
        raise Refused("must not carry a user name or password")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise Refused("has an invalid port") from None
    host = parts.hostname
    allow_private = _flag(ALLOW_PRIVATE, env)
    try:
        literal: Address | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is None and (host == "localhost" or host.endswith(".localhost")) and not allow_private:
        raise Refused(f"host {host} is loopback")
    if literal is None and not resolve:
        return None
    try:
        addresses = [str(literal)] if literal is not None else _resolve(host, port)
    except (OSError, ValueError):  # ValueError: a name the resolver cannot encode (UnicodeError)
        return None  # does not resolve now: judged again, resolved, at send time
    if not addresses:
        return None
    db = list(database_addresses(env) if database is None else database)
    for text in addresses:
        address = ipaddress.ip_address(text.split("%", 1)[0])
        problem = address_problem(address, allow_private)
        where = f"address {address}" if literal is not None else f"host {host} resolves to {address}, which"
        if problem:
            raise Refused(f"{where} {problem}")
        if any(ipaddress.ip_address(a) == address and (not allow_private or p == port) for a, p in db):
            raise Refused(f"{where} is the database's host")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(parts.scheme, host, port, path, addresses[0])


def target(url: str, env: Mapping[str, str] | None = None) -> Target:
    """Send time: the URL resolved and checked; a name that does not resolve is refused too."""
    try:
        checked = check_url(url, env=env)
    except OSError as exc:
        raise Refused(f"host {urlsplit(url).hostname} does not resolve ({type(exc).__name__})") from None
    if checked is None:
        raise Refused(f"host {urlsplit(url).hostname} does not resolve")
    return checked


def post(url: str, body: bytes, headers: Mapping[str, str], env: Mapping[str, str] | None = None) -> int:
    """POST `body` to `url`'s checked address; the HTTP status. Raises :class:`Refused` or ``OSError``-like
    urllib3 errors; never follows a redirect and never waits more than :data:`TIMEOUT_S` per phase."""
    import urllib3

    t = target(url, env)
    timeout = urllib3.Timeout(connect=TIMEOUT_S, read=TIMEOUT_S)
    pool: urllib3.HTTPConnectionPool
    if t.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            t.address, t.port, timeout=timeout, retries=False, server_hostname=t.host, assert_hostname=t.host
        )
    else:
        pool = urllib3.HTTPConnectionPool(t.address, t.port, timeout=timeout, retries=False)
    host_header = t.host if t.port in (80, 443) else f"{t.host}:{t.port}"
    try:
        response = pool.urlopen(
            "POST",
            t.path,
            body=body,
            headers={"Host": host_header, **headers},
            redirect=False,
            retries=False,
            preload_content=False,
        )
        response.read(MAX_RESPONSE)
        response.release_conn()
        return int(response.status)
    finally:
        pool.close()
