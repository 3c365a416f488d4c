"""Which encoding a body is in, and the body as UTF-8 where the parser would get it wrong.

Pure and free of feedparser: the feed parser and the HTML list reader both use it.

feedparser decodes a feed itself, by the HTTP charset, the XML declaration and a fallback
list, and that is right for almost every feed; kzfeed steps in only where it is wrong:

* UTF-32 (with or without a BOM) and UTF-16 without a BOM: feedparser refuses the first
  and garbles letters outside Latin-1 in the second;
* a declared encoding the bytes break in a few places (a cp1251 feed with a stray 0x98, a
  UTF-8 feed with a few bad bytes): decoded in that encoding, each bad byte one U+FFFD,
  instead of the whole feed in a fallback encoding;
* nothing declared and not UTF-8: cp1251 or KOI8-R when the bytes read as Cyrillic text
  (told apart by letter case), else whatever charset-normalizer finds (Latin-1 French,
  Hebrew, Japanese … are not forced into Cyrillic).

Such a body is handed on as UTF-8 with its XML declaration saying so.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Mapping

_BOMS = (  # UTF-32 LE's BOM starts with UTF-16 LE's: it is checked first
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# the declaration read as feedparser reads it: anything between the quotes
_XML_ENCODING = re.compile(
    rb"^\s*<\?xml[^<>]{0,200}?encoding\s*=\s*[\"']([^\"'<>]{0,60})[\"']", re.I
)
_LABEL = re.compile(rb"[A-Za-z0-9._:-]{1,40}")
_DECL_ENCODING = re.compile(r"(encoding\s*=\s*)([\"'])[^\"'<>]*\2", re.I)
_HTTP_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9._:-]{1,40})", re.I)
_CYRILLIC_GUESSES = ("cp1251", "koi8_r")
_CYRILLIC_FAMILY = frozenset(
    "cp1251 koi8_r koi8_u koi8_t kz1048 ptcp154 mac_cyrillic cp866 cp855 iso8859_5".split()
)


def bom(body: bytes) -> tuple[str, int] | None:
    """The encoding a byte-order mark names, and the mark's length."""
    for mark, name in _BOMS:
        if body.startswith(mark):
            return name, len(mark)
    return None


def wide_without_bom(body: bytes) -> str | None:
    """UTF-16/32 without a BOM, told by where the NULs of the first characters fall (an XML
    document starts with "<" or white space, both ASCII)."""
    head = body[:4]
    if len(head) < 4 or b"\x00" not in head:
        return None
    nul = (head[0] == 0, head[1] == 0, head[2] == 0, head[3] == 0)
    return {
        (True, True, True, False): "utf-32-be",
        (False, True, True, True): "utf-32-le",
        (True, False, True, False): "utf-16-be",
        (False, True, False, True): "utf-16-le",
    }.get(nul)


def codec_name(name: str | None) -> str | None:
    """Python's name for an encoding label, or None when Python has no such codec."""
    if not name:
        return None
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def http_charset(headers: Mapping[str, str]) -> str | None:
    match = _HTTP_CHARSET.search(headers.get("content-type", ""))
    return match.group(1).lower() if match else None


def xml_encoding(body: bytes) -> str | None:
    """The encoding label the XML declaration gives, when it is one that could be."""
    match = _XML_ENCODING.match(body)
    if match is None or not _LABEL.fullmatch(match.group(1)):
        return None
    return match.group(1).decode("ascii").lower()


def _decodes(body: bytes, encoding: str) -> bool:
    try:
        body.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return False
    return True


def _cyrillic_score(text: str) -> float:
    """Share of lower-case letters among Cyrillic ones: real Russian text is mostly
    lower-case; cp1251 read as KOI8-R (and the reverse) comes out mostly upper-case."""
    lower = sum(1 for ch in text if "а" <= ch <= "я" or ch == "ё")
    upper = sum(1 for ch in text if "А" <= ch <= "Я" or ch == "Ё")
    return lower / (lower + upper) if lower + upper else 0.0


_WORD = re.compile(r"[^\W\d_]+")
_VOWELS = frozenset("аеёиоуыэюяіәөүұ")
_RARE = frozenset("ъщфцэ")
_PUNCT = frozenset("«»—–…№“”„‘’•\u00a0\ufffd")


def looks_cyrillic(text: str) -> bool:
    """Whether decoded text reads as Cyrillic prose: its non-ASCII letters are Cyrillic,
    its words are not half Latin ("Йlection prйsidentielle" is Latin-1 read as cp1251),
    vowels and rare letters are as common as in Russian or Kazakh (Hebrew read as cp1251
    is not), and most letters are lower-case."""
    words = [w for w in _WORD.findall(text) if not w.isascii()]
    letters = [ch for w in words for ch in w if not ch.isascii()]
    cyrillic = [ch for ch in letters if "\u0400" <= ch <= "\u04ff"]
    if len(cyrillic) < 8 or len(cyrillic) < 0.9 * len(letters):
        return False
    # CJK double bytes read as KOI8-R give box-drawing signs among short "words"
    signs = sum(1 for ch in text if not ch.isascii() and not ch.isalpha() and ch not in _PUNCT)
    if signs > 0.05 * len(letters) or len(letters) < 3 * len(words):
        return False
    mixed = sum(1 for w in words if any(ch.isascii() for ch in w))
    if mixed > 0.1 * len(words):
        return False
    vowels = sum(1 for ch in cyrillic if ch.lower() in _VOWELS) / len(cyrillic)
    # ъ щ ф ц э are 1-2 % of Russian letters; Hebrew read as cp1251 is a third of them
    rare = sum(1 for ch in cyrillic if ch.lower() in _RARE) / len(cyrillic)
    return 0.3 <= vowels <= 0.62 and rare <= 0.08 and _cyrillic_score(text) > 0.5


def _detected(sample: bytes) -> tuple[str, str] | None:
    """charset-normalizer's best guess (encoding, language), if any."""
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(sample).best()
    except Exception:  # a detector bug must not cost the feed: fall back to the parser's
        return None
    if best is None:
        return None
    return codec_name(best.encoding) or best.encoding, best.language or ""


def sniff_encoding(body: bytes, headers: Mapping[str, str]) -> str | None:
    """The encoding of a body that declares none (no BOM, no HTTP charset, no XML
    declaration) and is not UTF-8; None when it declares one, is UTF-8, or nothing fits."""
    if http_charset(headers) or bom(body) or xml_encoding(body) or _decodes(body, "utf-8"):
        return None
    return _guess(body)


def _guess(body: bytes) -> str | None:
    sample = body[:65536]
    decoded = {enc: sample.decode(enc, "replace") for enc in _CYRILLIC_GUESSES}
    cyrillic = max(_CYRILLIC_GUESSES, key=lambda enc: _cyrillic_score(decoded[enc]))
    detected = _detected(sample)
    if detected is not None and detected[0] == "kz1048":  # Kazakh letters: not in cp1251
        return "kz1048"
    if looks_cyrillic(decoded[cyrillic]):
        return cyrillic
    if detected is not None and detected[0] not in _CYRILLIC_FAMILY:
        return detected[0]
    return None


def _few_errors(body: bytes, encoding: str) -> bool:
    """Whether ``body`` reads in ``encoding`` but for a few bytes (16, or 1 % of it)."""
    try:
        text = body.decode(encoding, "replace")
    except LookupError:
        return False
    return text.count("\ufffd") - body.count("\ufffd".encode()) <= max(16, len(text) // 100)


def _utf8_with_few_errors(body: bytes) -> bool:
    return _few_errors(body, "utf-8")


def broken_declaration(body: bytes) -> bool:
    """Whether the XML declaration names an encoding that is no encoding at all (a flipped
    byte in "utf-8": feedparser raised on it and the feed was lost)."""
    match = _XML_ENCODING.match(body)
    if match is None:
        return False
    return xml_encoding(body) is None or codec_name(match.group(1).decode()) is None


def choose(body: bytes, headers: Mapping[str, str]) -> tuple[str, int] | None:
    """The encoding kzfeed decodes ``body`` in itself, and how many leading bytes (a BOM)
    to skip; None when the parser's own decoding is right for it."""
    if broken_declaration(body):  # decoded here, whatever it is, so the declaration is fixed
        declared_http = codec_name(http_charset(headers))
        for name in (declared_http, "utf-8"):
            if name and _decodes(body, name):
                return name, 0
        if _utf8_with_few_errors(body):
            return "utf-8", 0
        return _guess(body) or declared_http or "utf-8", 0
    marked = bom(body)
    if marked is not None:
        name, skip = marked
        if name != "utf-8":
            return name, skip
        body = body[skip:]
        if _decodes(body, "utf-8"):
            return None
        return ("utf-8", skip) if _utf8_with_few_errors(body) else None
    wide = wide_without_bom(body)
    if wide is not None:
        return wide, 0
    labels = [label for label in (http_charset(headers), xml_encoding(body)) if label]
    known = [name for name in (codec_name(label) for label in labels) if name]
    # UTF-16/32 labels on a body that is neither, and ASCII (which says nothing), are noise
    known = [n for n in known if not n.startswith(("utf-16", "utf-32")) and n != "ascii"]
    if any(_decodes(body, name) for name in known) or _decodes(body, "utf-8"):
        return None  # the parser tries each declared encoding, then UTF-8, and finds it
    if known and known[0] == "utf-8":
        if _utf8_with_few_errors(body):
            return "utf-8", 0
    elif known and _few_errors(body, known[0]):
        return known[0], 0  # a few bytes the declared encoding has no character for
    guessed = _guess(body)
    return (guessed, 0) if guessed else None


def as_utf8(body: bytes, headers: Mapping[str, str]) -> tuple[bytes, dict[str, str]] | None:
    """``body`` decoded by kzfeed and re-encoded as UTF-8, its XML declaration and the
    Content-Type saying so; None when the body is best left to the parser as it is."""
    chosen = choose(body, headers)
    if chosen is None:
        return None
    encoding, skip = chosen
    text = body[skip:].decode(encoding, "replace")
    decl = re.match(r"\s*<\?xml[^<>]{0,300}?\?>", text)
    if decl is not None:
        fixed = _DECL_ENCODING.sub(r"\1\2utf-8\2", decl.group(0), count=1)
        text = fixed + text[decl.end() :]
    media = headers.get("content-type", "").split(";")[0].strip() or "application/xml"
    out = {k: v for k, v in headers.items() if k.lower() != "content-type"}
    out["content-type"] = f"{media}; charset=utf-8"
    return text.encode("utf-8"), out


def decode(body: bytes, candidates: list[str]) -> str:
    """Text of a page: the first of ``candidates`` (declared encodings) that decodes it,
    else UTF-8, else the detector's guess, else UTF-8 with replacements."""
    marked = bom(body)
    if marked is not None:
        return body[marked[1] :].decode(marked[0], "replace")
    for encoding in [*candidates, "utf-8"]:
        try:
            return body.decode(encoding)
        except (LookupError, UnicodeDecodeError):
            continue
    guessed = _guess(body)
    return body.decode(guessed or "utf-8", "replace")


# ---------------------------------------------------------------- character references

_CHAR_REF = rb"&#(?:[xX]([0-9A-Fa-f]{1,16})|([0-9]{1,24}));"
_CHAR_REFS = re.compile(_CHAR_REF + rb"(?:" + _CHAR_REF + rb")?")


def _xml_char(value: int) -> bool:
    return (
        value in (0x9, 0xA, 0xD)
        or 0x20 <= value <= 0xD7FF
        or 0xE000 <= value <= 0xFFFD
        or 0x10000 <= value <= 0x10FFFF
    )


def _ref_value(hex_digits: bytes | None, digits: bytes | None) -> int:
    return int(hex_digits, 16) if hex_digits else int(digits or b"0")


def _one_ref(value: int, original: bytes) -> bytes:
    if _xml_char(value):
        return original
    if value < 0x20:
        return b""  # a control character: kzfeed would remove it from the text anyway
    return b"&#xFFFD;"


def _fix_refs(match: re.Match[bytes]) -> bytes:
    first = _ref_value(match.group(1), match.group(2))
    if match.group(3) is None and match.group(4) is None:
        return _one_ref(first, match.group(0))
    second = _ref_value(match.group(3), match.group(4))
    if 0xD800 <= first <= 0xDBFF and 0xDC00 <= second <= 0xDFFF:  # a UTF-16 pair, as refs
        return b"&#x%X;" % (0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00))
    split = match.group(0).index(b";") + 1
    return _one_ref(first, match.group(0)[:split]) + _one_ref(second, match.group(0)[split:])


def repair_char_refs(body: bytes) -> bytes:
    """Numeric character references the XML parser would choke on, made harmless: a
    surrogate pair written as two references becomes the one character it encodes, a
    control character is dropped, any other impossible number (a lone surrogate, past
    U+10FFFF, U+FFFE) becomes U+FFFD.  ``body`` is in an ASCII-compatible encoding."""
    if b"&#" not in body:
        return body
    return _CHAR_REFS.sub(_fix_refs, body)
