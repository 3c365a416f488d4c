"""Fetching feeds politely with httpx: bytes and metadata out, no parsing here.

* one whole-request deadline per feed (connect, redirects and body together);
* conditional GET: ETag and Last-Modified sent back exactly as they were received;
* at most ``MAX_REDIRECTS`` redirects, each to http(s) only; a chain of 301/308 only
  yields ``permanent_url``;
* the body is read as a stream, capped as it comes and after decompression (`wire.py`:
  here, or, for an update, in the parse worker that gets the compressed bytes);
* at most ``jobs`` feeds at once and ``per_host`` requests per host at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import ipaddress
import re
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urljoin, urlsplit

import httpx

from . import __version__
from .dates import to_utc_iso, utcnow
from .errors import describe
from .model import FeedState, FetchResult
from .sanitize import UNSAFE_CHARS
from .transport import PUBLIC_ONLY, KeepAliveTransport, Refusal, is_public_ip, resolve
from .wire import BodyTooLarge, Refused, body_hash, coding, inflate, too_large, wire_limit
from .words import tr

MAX_REDIRECTS = 5
MAX_RETRY_AFTER = timedelta(days=7)
MAX_AGE_CAP = timedelta(hours=24)
USER_AGENT = f"kzfeed/{__version__} (command-line wire reader; +https://pypi.org/project/kzfeed/)"
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, text/html;q=0.5, */*;q=0.1"
)


def is_local(url: str) -> bool:
    scheme = urlsplit(url).scheme.lower()
    return scheme == "file" or scheme not in ("http", "https")


def parse_retry_after(value: str | None, now: datetime) -> datetime | None:
    """`Retry-After` as seconds or an HTTP date; garbage is ignored; capped at 7 days."""
    if not value:
        return None
    value = value.strip()
    when: datetime | None = None
    if value.isascii() and value.isdigit():  # "²".isdigit() is true, and int() refuses it
        seconds = _capped_seconds(value, MAX_RETRY_AFTER)
        when = now + timedelta(seconds=seconds)
    else:
        try:
            parsed = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if parsed is None or parsed.tzinfo is None:
            return None
        when = parsed
    if when <= now:
        return None
    return min(when, now + MAX_RETRY_AFTER)


def _capped_seconds(digits: str, cap: timedelta) -> int:
    """A number of seconds written in ASCII digits, at most ``cap``, read without ever
    making a number larger than the cap (leading zeros allowed: 0003600 is an hour)."""
    digits = digits.lstrip("0") or "0"
    limit = int(cap.total_seconds())
    return limit if len(digits) > len(str(limit)) else min(int(digits), limit)


_MAX_AGE = re.compile(r"(?:^|,)\s*(?:s-)?max-age\s*=\s*\"?([0-9]+)", re.I)


def parse_cache_control(headers: httpx.Headers, now: datetime) -> datetime | None:
    """The earliest time worth asking again, from `Cache-Control: max-age` or `Expires`."""
    cache = headers.get("cache-control", "")
    if re.search(r"no-cache|no-store", cache, re.I):
        return None
    match = _MAX_AGE.search(cache)
    if match:
        # capped before any arithmetic: a server may send max-age=99999999999999999999,
        # which no timedelta can hold
        seconds = _capped_seconds(match.group(1), MAX_AGE_CAP)
        return now + timedelta(seconds=seconds) if seconds > 0 else None
    expires = headers.get("expires")
    if expires:
        try:
            when = email.utils.parsedate_to_datetime(expires)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when is not None and when.tzinfo is not None and when > now:
            return min(when, now + MAX_AGE_CAP)
    return None


async def read_wire(response: httpx.Response, cap: int) -> tuple[bytes, str | None, str | None]:
    """The body as it came (no more than `wire_limit` allows: ``cap`` and gzip's framing),
    its content coding (`wire.coding`: None, "gzip" or "deflate") and, compressed, the
    hash of those bytes.  httpx would inflate each network chunk whole (a 64 KB gzip
    chunk can become 64 MB): kzfeed inflates the whole body itself (`wire.inflate`), with
    the output capped."""
    name = coding(response.headers.get("content-encoding"))
    limit = wire_limit(cap, name)
    raw = bytearray()
    async for chunk in response.aiter_raw():
        raw += chunk
        if len(raw) > limit:
            raise BodyTooLarge(too_large(cap))
    return bytes(raw), name, None if name is None else body_hash(raw)


DRAIN_LIMIT = 64 * 1024
DRAIN_SECONDS = 2.0


async def drain(response: httpx.Response, limit: int = DRAIN_LIMIT) -> None:
    """Read and drop a body we do not use (a 304's, an error page's, a redirect's) so the
    connection goes back to the pool for the next feed on that host instead of being
    closed; a body larger than ``limit`` is not worth reading: the connection is dropped."""
    seen = 0
    with contextlib.suppress(httpx.HTTPError, TimeoutError):
        async with asyncio.timeout(DRAIN_SECONDS):
            async for raw in response.aiter_raw():
                seen += len(raw)
                if seen > limit:
                    return


async def public_host(host: str, port: int) -> bool:
    """Whether every address ``host`` resolves to is public."""
    try:
        ipaddress.ip_address(host.strip("[]"))
        return is_public_ip(host.strip("[]"))
    except ValueError:
        pass
    try:
        addresses = await resolve(host, port)
    except OSError:
        return True  # does not resolve: the request itself will fail with a clear error
    return all(is_public_ip(address) for address in addresses)


def read_local(name: str, url: str, cap: int) -> FetchResult:
    """A feed saved on disk (`url` is a path or file:// URL from the user's own config)."""
    now = to_utc_iso(utcnow())
    parts = urlsplit(url)
    path = Path(unquote(parts.path)) if parts.scheme.lower() == "file" else Path(url)
    try:
        with open(path, "rb") as fh:
            body = fh.read(cap + 1)
    except OSError as exc:
        error = tr("cannot read {path}: {reason}").format(path=path, reason=exc.strerror)
        return FetchResult(name, url, url, None, error=error, fetched_at=now)
    if len(body) > cap:
        error = tr("file is larger than {limit} bytes").format(limit=cap)
        return FetchResult(name, url, url, None, error=error, fetched_at=now)
    return FetchResult(name, url, url, None, body=body, fetched_at=now)


class Fetcher:
    """One keep-alive transport shared by every feed of a run (see transport.py)."""

    def __init__(
        self,
        *,
        jobs: int = 8,
        per_host: int = 2,
        timeout: float = 20.0,
        max_bytes: int = 16 * 1024 * 1024,
        allow_private: bool = False,
        leave_compressed: bool = False,
    ) -> None:
        self.timeout = timeout
        # a compressed body comes back as it came, with its coding (FetchResult.coding)
        self.leave_compressed = leave_compressed
        self.max_bytes = max_bytes
        self.allow_private = allow_private
        self.per_host = per_host
        self._jobs = asyncio.Semaphore(jobs)
        self._hosts: dict[str, asyncio.Semaphore] = {}
        self._transport = KeepAliveTransport(idle_per_origin=per_host, max_idle=max(jobs, per_host))
        self._timeouts = httpx.Timeout(timeout).as_dict()  # connect/read/write/pool, each
        self._headers = {
            b"User-Agent": USER_AGENT.encode(),
            b"Accept": ACCEPT.encode(),
            b"Accept-Encoding": b"gzip, deflate",
        }

    @classmethod
    def from_settings(
        cls, settings: Any, jobs: int | None = None, leave_compressed: bool = False
    ) -> Fetcher:
        """A fetcher with the config's limits (timeout, size cap, per-host, private hosts)."""
        return cls(
            jobs=jobs or settings.jobs,
            per_host=settings.per_host,
            timeout=settings.timeout,
            max_bytes=settings.max_feed_bytes,
            allow_private=settings.allow_private,
            leave_compressed=leave_compressed,
        )

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._transport.aclose()

    def _host_slot(self, url: str) -> asyncio.Semaphore:
        host = (urlsplit(url).hostname or "").lower()
        if host not in self._hosts:
            self._hosts[host] = asyncio.Semaphore(self.per_host)
        return self._hosts[host]

    async def fetch(self, name: str, url: str, state: FeedState | None = None) -> FetchResult:
        """Fetch one feed; every failure comes back as ``FetchResult.error``, never raised."""
        if is_local(url):
            return await asyncio.to_thread(read_local, name, url, self.max_bytes)
        started = utcnow()
        async with self._jobs:
            try:
                async with asyncio.timeout(self.timeout):
                    return await self._fetch(name, url, state, started)
            except TimeoutError:
                return FetchResult(
                    name,
                    url,
                    url,
                    None,
                    error=tr("timed out after {seconds} s").format(seconds=f"{self.timeout:g}"),
                    fetched_at=to_utc_iso(started),
                )
            except Exception as exc:  # whatever a server sends costs its own feed only
                return FetchResult(
                    name,
                    url,
                    url,
                    None,
                    error=tr("internal error while fetching: {reason}").format(
                        reason=describe(exc)
                    ),
                    fetched_at=to_utc_iso(started),
                )

    async def _fetch(
        self, name: str, url: str, state: FeedState | None, started: datetime
    ) -> FetchResult:
        # validators go back byte for byte as they came (kept as latin-1 text)
        headers: dict[bytes, bytes] = {}
        if state is not None and state.etag:
            headers[b"If-None-Match"] = state.etag.encode("latin-1", "replace")
        if state is not None and state.last_modified:
            headers[b"If-Modified-Since"] = state.last_modified.encode("latin-1", "replace")
        fetched_at = to_utc_iso(started)
        current = url
        permanent: str | None = None
        all_permanent = True
        # once a redirect has left the feed's own host for a checked one, every later request
        # connects only to addresses the transport itself found public (no second lookup that
        # a rebinding DNS server could answer differently)
        pinned = False

        def fail(error: str, status: int | None = None) -> FetchResult:
            return FetchResult(name, url, current, status, fetched_at=fetched_at, error=error)

        for _hop in range(MAX_REDIRECTS + 1):
            try:
                async with (
                    self._host_slot(current),
                    self._stream(current, headers, public_only=pinned) as response,
                ):
                    status = response.status_code
                    if status in (301, 302, 303, 307, 308):
                        await drain(response)
                        location = response.headers.get("location")
                        if not location:
                            return fail(
                                tr("HTTP {status} redirect without a Location").format(
                                    status=status
                                ),
                                status,
                            )
                        target = urljoin(current, safe_location(location))
                        if urlsplit(target).scheme.lower() not in ("http", "https"):
                            return fail(
                                tr("refused: redirect to a non-http(s) URL {url}").format(
                                    url=target[:200]
                                ),
                                status,
                            )
                        refusal = await self._check_redirect(current, target)
                        if refusal:
                            return fail(refusal, status)
                        if not self.allow_private and _host(target) != _host(current):
                            pinned = True
                        all_permanent = all_permanent and status in (301, 308)
                        permanent = target if all_permanent else None
                        current = target
                        continue
                    # a wire hash stands for a stored body only beside that body's own hash
                    known = state.wire_hash if state is not None and state.body_hash else None
                    return await self._finish(
                        name, url, current, response, permanent, fetched_at, known
                    )
            except (BodyTooLarge, Refused) as exc:
                return fail(str(exc))
            except (httpx.InvalidURL, httpx.UnsupportedProtocol, ValueError) as exc:
                return fail(
                    tr("refused: invalid URL or redirect target ({reason})").format(reason=exc)
                )
            except httpx.HTTPError as exc:
                why = str(exc) or type(exc).__name__
                if isinstance(exc, Refusal):  # kzfeed's own refusal, not a failed connection
                    return fail(why)
                return fail(tr("connection failed: {reason}").format(reason=why))
        return fail(tr("more than {n} redirects").format(n=MAX_REDIRECTS))

    async def _check_redirect(self, current: str, target: str) -> str | None:
        """Why a redirect may not be followed: a jump to another host whose address is not
        public (loopback, private, link-local such as 169.254.169.254 …), unless allowed."""
        parts = urlsplit(target)
        if self.allow_private or parts.hostname == _host(current):
            return None
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
        if await public_host(parts.hostname or "", port):
            return None
        return tr(
            "refused: redirect to a private, loopback or link-local address ({host}); "
            "settings.allow_private = true allows it"
        ).format(host=parts.hostname)

    @contextlib.asynccontextmanager
    async def _stream(
        self, url: str, headers: dict[bytes, bytes], public_only: bool = False
    ) -> AsyncIterator[httpx.Response]:
        """One GET, straight to the transport (no client: no cookies, redirects are ours)."""
        extensions: dict[str, Any] = {"timeout": self._timeouts}
        if public_only:
            extensions[PUBLIC_ONLY] = True
        request = httpx.Request(
            "GET", url, headers={**self._headers, **headers}, extensions=extensions
        )
        response = await self._transport.handle_async_request(request)
        response.request = request
        try:
            yield response
        finally:
            await response.aclose()

    async def _finish(
        self,
        name: str,
        url: str,
        final: str,
        response: httpx.Response,
        permanent: str | None,
        fetched_at: str,
        known: str | None = None,
    ) -> FetchResult:
        status = response.status_code
        now = utcnow()
        base = FetchResult(
            name,
            url,
            final,
            status,
            headers=tuple((k.lower(), v) for k, v in response.headers.items()),
            etag=_raw_header(response, b"etag"),
            last_modified=_raw_header(response, b"last-modified"),
            permanent_url=permanent,
            fetched_at=fetched_at,
        )
        if status == 304 or status >= 400 or status < 200:
            await drain(response)
        if status == 304:
            return replace(
                base,
                not_modified=True,
                retry_after=_iso(parse_cache_control(response.headers, now)),
            )
        if status == 410:
            return replace(
                base, gone=True, error=tr("HTTP 410 Gone: the feed was removed; disabled")
            )
        if status in (429, 503):
            retry = parse_retry_after(response.headers.get("retry-after"), now)
            error = f"HTTP {status} {_reason(response)}"  # the server's own words
            if retry:
                error = tr("{error}; retrying after {when}").format(
                    error=error, when=to_utc_iso(retry)
                )
            return replace(base, retry_after=_iso(retry), error=error)
        if status >= 400 or status < 200:
            return replace(base, error=f"HTTP {status} {_reason(response)}".strip())
        declared = response.headers.get("content-length", "").strip()
        encoding = response.headers.get("content-encoding", "identity")
        limit = wire_limit(self.max_bytes, encoding)
        if declared.isascii() and declared.isdigit() and int(declared) > limit:
            raise BodyTooLarge(
                tr("declared body of {size} bytes is over the {limit}-byte limit").format(
                    size=declared, limit=self.max_bytes
                )
            )
        raw, packed, wire = await read_wire(response, self.max_bytes)
        # the compressed bytes of the last stored body (a server with pre-compressed files
        # sends the very same bytes until the feed changes): not even decompressed
        same = packed is not None and known is not None and wire == known
        if same:
            raw, packed = b"", None
        elif packed is not None and not self.leave_compressed:
            raw, packed = inflate(raw, packed, self.max_bytes), None
        # else: inflated by the parse worker (update), on every core
        return replace(
            base,
            body=raw,
            coding=packed,
            wire_hash=wire,
            same_wire=same,
            retry_after=_iso(parse_cache_control(response.headers, now)),
        )


# what the sanitizer removes from text, and white space (tab and line breaks are dropped first)
_LOCATION_UNSAFE = re.compile(f"[ {UNSAFE_CHARS}]")


def safe_location(location: str) -> str:
    """A redirect's ``Location`` as a URL kzfeed may follow, store and print: trimmed, tabs
    and line breaks dropped (as browsers do), every other control, space or bidi character
    percent-encoded, so none reaches a terminal or a JSON output raw."""
    value = re.sub(r"[\t\n\r]", "", location.strip())
    return _LOCATION_UNSAFE.sub(lambda m: quote(m.group(0), safe="", errors="replace"), value)


def _reason(response: httpx.Response) -> str:
    """The server's reason phrase, as one clean line of at most 100 characters."""
    from .sanitize import clean_line

    return clean_line(response.reason_phrase)[:100]


def _host(url: str) -> str | None:
    return urlsplit(url).hostname


def _iso(when: datetime | None) -> str | None:
    return to_utc_iso(when) if when else None


def _raw_header(response: httpx.Response, name: bytes) -> str | None:
    """A header's exact bytes, as latin-1 text (a lossless round trip)."""
    for key, value in response.headers.raw:
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def fetch_now(settings: Any, urls: list[str], name: str = "fetch") -> list[FetchResult]:
    """Fetch a few URLs at once, outside an update (add, show --full), under the same rules."""

    async def run() -> list[FetchResult]:
        async with Fetcher.from_settings(settings) as fetcher:
            return list(await asyncio.gather(*(fetcher.fetch(name, url) for url in urls)))

    return asyncio.run(run())
