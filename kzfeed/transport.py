"""A lean keep-alive transport for httpx: idle connections kept per origin, nothing more.

httpx's default pool (httpcore's) walks every connection it holds on each request and
asks each idle one's socket whether it is readable, and httpcore wraps each connection in a
layer with its own lock and trace.  kzfeed already decides how many requests run at once
(``jobs``) and per host (``per_host``), so a pool only has to hand back a connection for
the same origin: this one keeps idle HTTP/1.1 connections (httpcore's, used directly) in
least-recently-used order, at most ``idle_per_origin`` per origin and ``max_idle`` in all,
and checks only the one it takes.  Connections run on plain asyncio streams (TLS by the
standard library's ``ssl`` through ``StreamWriter.start_tls``) rather than anyio's layer.
500 conditional GETs answered 304 on loopback took 0.95 s through ``httpx.AsyncClient``
and its pool, about 0.3 s through this transport.

The HTTP/1.1 protocol is still httpcore's and h11's; timeouts come from the request;
errors come out as httpx's exceptions, as from httpx's own transport.  A request that fails
on a kept connection before any response arrived (the server closed it while idle) is sent
once more on a new connection.  A URL that the environment sends through a proxy
(HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, minus NO_PROXY) goes to httpx's own transport for
that proxy.

kzfeed calls the transport directly, not through an ``httpx.AsyncClient``: it follows
redirects itself and keeps no cookies, and the client's per-request work (merging
settings, cookie jars) cost as much again as the request on loopback.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import socket
import ssl
import urllib.request
import weakref
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any

import httpcore
import httpx

from .words import tr

KEEPALIVE_SECONDS = 5.0  # as httpx's default pool
# a request extension: connect only to addresses this transport resolved and found public
PUBLIC_ONLY = "kzfeed.public_only"
_Key = tuple[bytes, bytes, int]  # an origin: scheme, host, port

# httpcore's exceptions -> httpx's (the most specific match wins, as in httpx itself)
_ERRORS: dict[type[Exception], type[httpx.TransportError]] = {
    httpcore.TimeoutException: httpx.TimeoutException,
    httpcore.ConnectTimeout: httpx.ConnectTimeout,
    httpcore.ReadTimeout: httpx.ReadTimeout,
    httpcore.WriteTimeout: httpx.WriteTimeout,
    httpcore.PoolTimeout: httpx.PoolTimeout,
    httpcore.NetworkError: httpx.NetworkError,
    httpcore.ConnectError: httpx.ConnectError,
    httpcore.ReadError: httpx.ReadError,
    httpcore.WriteError: httpx.WriteError,
    httpcore.ProxyError: httpx.ProxyError,
    httpcore.UnsupportedProtocol: httpx.UnsupportedProtocol,
    httpcore.ProtocolError: httpx.ProtocolError,
    httpcore.LocalProtocolError: httpx.LocalProtocolError,
    httpcore.RemoteProtocolError: httpx.RemoteProtocolError,
    httpcore.ConnectionNotAvailable: httpx.ConnectError,
}
# failures that mean "this idle connection was already dead", worth one more try
_STALE = (
    httpcore.RemoteProtocolError,
    httpcore.ReadError,
    httpcore.WriteError,
    httpcore.ConnectionNotAvailable,
)


class Refusal(httpx.ConnectError):
    """A connection kzfeed itself refused (a host that resolves to a private address):
    reported as it is, not as a connection that failed."""


def is_public_ip(value: str) -> bool:
    """Whether an address is a public one: not loopback, private, link-local (the cloud
    metadata address 169.254.169.254), shared, reserved, multicast or unspecified."""
    try:
        ip = ipaddress.ip_address(value.split("%")[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return bool(ip.is_global) and not ip.is_multicast


async def resolve(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to, in the resolver's order, once each (OSError when
    it does not resolve)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def env_proxy(url: httpx.URL, proxies: dict[str, str]) -> str | None:
    """The proxy the environment names for ``url`` (``proxies`` as from
    ``urllib.request.getproxies_environment()``), or None: none set, or the host is in
    NO_PROXY (``*``, a host name matching itself and its subdomains, an address or a
    network such as ``10.0.0.0/8``)."""
    proxy = proxies.get(url.scheme) or proxies.get("all")
    if not proxy or _no_proxy(url.host.lower(), proxies.get("no", "")):
        return None
    return proxy


def _no_proxy(host: str, entries: str) -> bool:
    for entry in entries.replace(" ", "").lower().split(","):
        name = entry.lstrip(".")
        if entry == "*" or (name and (host == name or host.endswith("." + name))):
            return True
        if "/" in entry:
            with contextlib.suppress(ValueError):
                if ipaddress.ip_address(host) in ipaddress.ip_network(entry, strict=False):
                    return True
    return False


@contextlib.contextmanager
def _httpx_errors() -> Iterator[None]:
    try:
        yield
    except httpx.HTTPError:
        raise
    except Exception as exc:
        mapped = next((_ERRORS[k] for k in type(exc).__mro__ if k in _ERRORS), None)
        if mapped is None:
            raise
        raise mapped(str(exc)) from exc


def _asyncio_lock(conn: httpcore.AsyncHTTP11Connection) -> None:
    """Give ``conn`` an asyncio lock in place of httpcore's ``_state_lock`` (httpcore 1.x,
    which only takes it with ``async with``; else it keeps its own): httpcore's goes through
    anyio, whose asyncio layer costs 14 ms to import on the first request and a trip round
    the event loop on every acquire, twice a request.  kzfeed sends one request at a time on
    a connection, so the lock is never waited for."""
    if type(getattr(conn, "_state_lock", None)).__name__ == "AsyncLock":
        conn._state_lock = asyncio.Lock()  # type: ignore[assignment]


class _Stream(httpcore.AsyncNetworkStream):
    """httpcore's view of one asyncio stream connection (plain or TLS)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            async with asyncio.timeout(timeout):
                return await self._reader.read(max_bytes)
        except TimeoutError as exc:
            raise httpcore.ReadTimeout(tr("timed out reading the response")) from exc
        except OSError as exc:
            raise httpcore.ReadError(str(exc) or type(exc).__name__) from exc

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        try:
            self._writer.write(buffer)
            async with asyncio.timeout(timeout):
                await self._writer.drain()
        except TimeoutError as exc:
            raise httpcore.WriteTimeout(tr("timed out sending the request")) from exc
        except OSError as exc:
            raise httpcore.WriteError(str(exc) or type(exc).__name__) from exc

    async def aclose(self) -> None:
        self._writer.close()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                await self._writer.start_tls(ssl_context, server_hostname=server_hostname)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(tr("timed out in the TLS handshake")) from exc
        except ssl.SSLCertVerificationError as exc:
            self._writer.close()
            why = tr("TLS certificate not accepted: {reason}").format(
                reason=exc.verify_message or exc.reason
            )
            raise httpcore.ConnectError(why) from exc
        except (OSError, ssl.SSLError) as exc:  # ssl.SSLError is an OSError; named for clarity
            self._writer.close()
            raise httpcore.ConnectError(str(exc) or type(exc).__name__) from exc
        return self

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":  # an idle connection with data or EOF waiting is spent
            return self._reader.at_eof() or self._writer.transport.is_closing()
        names = {
            "ssl_object": "ssl_object",
            "socket": "socket",
            "client_addr": "sockname",
            "server_addr": "peername",
        }
        return self._writer.get_extra_info(names[info]) if info in names else None


class _AsyncioBackend(httpcore.AsyncNetworkBackend):
    """Connections on plain asyncio streams: anyio's layer (which httpcore uses by
    default) cost a fifth of a loopback request.  Dual-stack hosts are tried the Happy
    Eyeballs way, as anyio does."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(
                    host,
                    port,
                    happy_eyeballs_delay=0.25,
                    local_addr=(local_address, 0) if local_address else None,
                )
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(
                tr("timed out connecting to {host}:{port}").format(host=host, port=port)
            ) from exc
        except socket.gaierror as exc:
            raise httpcore.ConnectError(
                tr("cannot resolve {host}: {reason}").format(host=host, reason=exc.strerror)
            ) from exc
        except OSError as exc:
            why = os.strerror(exc.errno) if exc.errno else str(exc) or type(exc).__name__
            raise httpcore.ConnectError(
                tr("cannot connect to {host}:{port}: {reason}").format(
                    host=host, port=port, reason=why
                )
            ) from exc
        return _Stream(reader, writer)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:  # pragma: no cover - kzfeed never asks for one
        raise httpcore.ConnectError("unix sockets are not used")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class KeepAliveTransport(httpx.AsyncBaseTransport):
    """HTTP/1.1 connections kept for reuse: at most ``idle_per_origin`` idle ones per
    origin (scheme, host, port) and ``max_idle`` in all (the least recently used is closed
    first: a run over a thousand hosts must not hold a thousand sockets).  How many are busy
    at once is the caller's business."""

    def __init__(self, *, idle_per_origin: int = 8, max_idle: int = 16) -> None:
        self.idle_per_origin = max(1, idle_per_origin)
        self.max_idle = max(1, max_idle)
        # idle connections, least recently used first
        self._idle: OrderedDict[httpcore.AsyncHTTP11Connection, _Key] = OrderedDict()
        self._busy: set[httpcore.AsyncHTTP11Connection] = set()
        # connections made to addresses found public by this transport (PUBLIC_ONLY)
        self._checked: weakref.WeakSet[httpcore.AsyncHTTP11Connection] = weakref.WeakSet()
        self._ssl: ssl.SSLContext | None = None
        self._backend = _AsyncioBackend()
        self._proxies = urllib.request.getproxies_environment()
        self._via_proxy: dict[str, httpx.AsyncHTTPTransport] = {}

    @property
    def idle(self) -> int:
        """How many idle connections are kept."""
        return len(self._idle)

    def _ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:  # certificates are loaded on the first https request only
            try:
                self._ssl = httpx.create_ssl_context()
            except (OSError, ssl.SSLError) as exc:  # e.g. SSL_CERT_FILE names no file
                where = os.environ.get("SSL_CERT_FILE") or os.environ.get("SSL_CERT_DIR") or ""
                raise httpx.ConnectError(
                    tr("cannot load CA certificates {where}: {reason}").format(
                        where=where, reason=exc
                    )
                ) from exc
        return self._ssl

    async def _take(
        self, key: _Key, public_only: bool = False
    ) -> httpcore.AsyncHTTP11Connection | None:
        """The most recently used idle connection to ``key`` that is still open (for a
        PUBLIC_ONLY request, one made to an address found public)."""
        for conn in [c for c, k in reversed(self._idle.items()) if k == key]:
            if public_only and conn not in self._checked:
                continue
            del self._idle[conn]
            if conn.is_idle() and not conn.has_expired():
                return conn
            await conn.aclose()
        return None

    async def _connect(
        self, origin: httpcore.Origin, timeouts: dict[str, float | None], public_only: bool
    ) -> httpcore.AsyncHTTP11Connection:
        """A new HTTP/1.1 connection (TLS for https), used directly rather than through
        httpcore's connection wrapper, which adds a lock and a trace per request."""
        host = origin.host.decode("ascii")
        timeout = timeouts.get("connect")
        tls = self._ssl_context() if origin.scheme == b"https" else None  # before connecting
        if public_only:
            stream = await self._connect_public(host, origin.port, timeout)
        else:
            stream = await self._backend.connect_tcp(host, origin.port, timeout=timeout)
        if tls is not None:
            stream = await stream.start_tls(tls, server_hostname=host, timeout=timeout)
        conn = httpcore.AsyncHTTP11Connection(origin, stream, keepalive_expiry=KEEPALIVE_SECONDS)
        _asyncio_lock(conn)
        if public_only:
            self._checked.add(conn)
        return conn

    async def _connect_public(
        self, host: str, port: int, timeout: float | None
    ) -> httpcore.AsyncNetworkStream:
        """Resolve ``host`` once, refuse unless every address is public, and connect to
        those very addresses: a DNS server that answers a public address to a check and a
        private one to the connection (DNS rebinding) gets no second question."""
        try:
            async with asyncio.timeout(timeout):
                addresses = await resolve(host, port)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(
                tr("timed out resolving {host}").format(host=host)
            ) from exc
        except OSError as exc:
            raise httpcore.ConnectError(
                tr("cannot resolve {host}: {reason}").format(host=host, reason=exc)
            ) from exc
        private = [a for a in addresses if not is_public_ip(a)]
        if private or not addresses:
            raise Refusal(
                tr(
                    "refused: {host} resolves to a private, loopback or link-local address "
                    "({address}); settings.allow_private = true allows it"
                ).format(host=host, address=private[0] if private else tr("none"))
            )
        for address in addresses[:-1]:
            with contextlib.suppress(httpcore.ConnectError):
                return await self._backend.connect_tcp(address, port, timeout=timeout)
        return await self._backend.connect_tcp(addresses[-1], port, timeout=timeout)

    async def _release(self, conn: httpcore.AsyncHTTP11Connection, key: _Key) -> None:
        self._busy.discard(conn)
        if not conn.is_idle():  # closed, or the body was not read to the end
            await conn.aclose()
            return
        self._idle[conn] = key
        same = [c for c, k in self._idle.items() if k == key]
        for old in same[: max(0, len(same) - self.idle_per_origin)]:
            del self._idle[old]
            await old.aclose()
        while len(self._idle) > self.max_idle:
            old, _key = self._idle.popitem(last=False)
            await old.aclose()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.scheme not in ("http", "https") or not url.host:
            raise httpx.UnsupportedProtocol(
                tr("not an http(s) URL: {url}").format(url=str(url)[:200])
            )
        proxy = env_proxy(url, self._proxies) if self._proxies else None
        if proxy is not None:
            if proxy not in self._via_proxy:
                self._via_proxy[proxy] = httpx.AsyncHTTPTransport(proxy=proxy)
            return await self._via_proxy[proxy].handle_async_request(request)
        core = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        origin = core.url.origin
        key = (origin.scheme, origin.host, origin.port)
        public_only = bool(request.extensions.get(PUBLIC_ONLY))
        conn = await self._take(key, public_only)
        reused = conn is not None
        with _httpx_errors():
            while True:
                if conn is None:
                    timeouts = request.extensions.get("timeout", {})
                    conn = await self._connect(origin, timeouts, public_only)
                self._busy.add(conn)
                try:
                    response = await conn.handle_async_request(core)
                    break
                except _STALE:
                    self._busy.discard(conn)
                    await conn.aclose()
                    if not reused or request.method not in ("GET", "HEAD"):
                        raise
                    conn, reused = None, False  # the server closed it while idle: once more
                except BaseException:
                    self._busy.discard(conn)
                    await conn.aclose()
                    raise
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_Body(response, conn, key, self),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        conns = [*self._idle, *self._busy]
        self._idle.clear()
        self._busy.clear()
        for conn in conns:
            await conn.aclose()
        for transport in self._via_proxy.values():
            await transport.aclose()
        self._via_proxy.clear()


class _Body(httpx.AsyncByteStream):
    """A response body; closing it hands the connection back (or closes it when the body
    was not read to the end)."""

    def __init__(
        self,
        response: httpcore.Response,
        conn: httpcore.AsyncHTTP11Connection,
        key: _Key,
        owner: KeepAliveTransport,
    ) -> None:
        self._response = response
        self._conn = conn
        self._key = key
        self._owner = owner

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _httpx_errors():
            async for part in self._response.aiter_stream():
                yield part

    async def aclose(self) -> None:
        try:
            with _httpx_errors():
                await self._response.aclose()
        finally:
            await self._owner._release(self._conn, self._key)
