"""Hiding the secrets of portal links from people who may read a text but must not act as its reader
(staff reading an e-mail in the mail console, a log line).

Two layers, and the output is always rebuilt from the parsed pieces (the text between secrets as it
is, each secret span as [hidden]), never by replacing a found string wherever else it occurs:

1. By route. Every link is found by parsing: absolute on any host (scheme and host in any case),
   scheme-relative, a host without a scheme, a root-relative path; in the HTML part every text node
   and attribute value (entities decoded by html.parser); a link wrapped over lines continues on the
   next. Its path is percent-decoded and matched against the application's URL map: every path
   segment bound to a secret argument of the rule it matches (`token`, ...) is hidden, and so is
   every query or fragment value named like a secret or shaped like a signed token. A path that
   starts like a token route (`/r/`, `/verify-email/`, ...) but matches no rule (truncated, extra
   segments, another case, dot segments, encoded slashes) is hidden after that fixed prefix: closed.
2. By content. Every genuine portal token found anywhere in the message (raw, entity- or percent-
   decoded, NFKC-normalised, with line breaks and white space removed) is known by its signature.
   Any word still shown (a run between white space and hidden spans) that contains a genuine token,
   or SIGNATURE_WINDOW consecutive characters of a known signature, in any of those decodings, is
   hidden whole.

What is guaranteed: the secret segment of a link on a token route is never shown at all, whatever
the rest of the text says; and for every genuine token in the message, no SIGNATURE_WINDOW (6) or
more consecutive characters of its signature appear in what is shown, neither as they are, nor after
decoding entities or percent-escapes (in any order, up to three layers) or NFKC normalisation."""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import SplitResult, unquote, unquote_plus, urlsplit

from flask import current_app
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.routing import MapAdapter, RoutingException, Rule

from refportal.security.tokens import genuine_tokens

HIDDEN = "[hidden]"
# A shown word never carries this many consecutive characters of a genuine token's signature.
SIGNATURE_WINDOW = 6
# Route arguments and query parameters whose value is a secret.
SECRET_NAME = re.compile(r"(?:^|[_-])(?:token|secret|nonce|signature|sig|key|code|password)$", re.IGNORECASE)
# A value shaped like a signed token (itsdangerous, JWT), genuine or not.
SIGNED_SHAPE = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{20,}")

_ARGUMENT = re.compile(r"<(?:(?P<converter>[A-Za-z_]\w*)(?:\([^)]*\))?:)?(?P<name>[A-Za-z_]\w*)>")
# The characters a link cannot contain in running text (it ends at any of them).
_URL_CHARS = r"[^\s<>\"'`]"
# Where a link without a scheme may start: the text's start, white space or an opening mark.
_OPENING = r"(?<![^\s(<\[{\"'`=:,;|>])"
_URL = re.compile(
    rf"(?:[A-Za-z][A-Za-z0-9+.-]*:)?//[^\s/?#<>\"'`\\]*{_URL_CHARS}*"  # scheme://host..., //host...
    rf"|{_OPENING}[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+(?::\d+)?[/?#]{_URL_CHARS}*"  # host.example/...
    rf"|{_OPENING}/{_URL_CHARS}*"  # /path...
)
# Marks that end a sentence rather than a link; never characters of a token.
_TRAILING = ".,;:!?)]}*"
# The rest of a link wrapped onto the next line (a quoted-printable soft break, indentation, quoting).
_WRAPPED = re.compile(rf"=?[ \t]*\r?\n[ \t>]*({_URL_CHARS}+)")
_WRAPPED_LINES = 10
_LEADING_WORD = re.compile(rf"{_URL_CHARS}+")
_WORD = re.compile(r"\S+")
_SEGMENT_END = re.compile(r"[?#]")
_SCHEME = re.compile(r"(?:[A-Za-z][A-Za-z0-9+.-]*:)?")
_AUTHORITY_END = re.compile(r"[/?#\\]")

# HTML: attributes that make a link or a request, dropped (the message is shown inert); elements
# dropped with their content.
_URL_ATTRIBUTES = {
    "href", "src", "srcset", "action", "formaction", "background", "poster", "data", "cite", "longdesc", "ping",
    "xlink:href", "usemap", "manifest", "codebase", "archive", "lowsrc", "dynsrc", "classid", "http-equiv",
}  # fmt: skip
_DROPPED_ELEMENTS = {"script"}
# Elements inside a line of text: a link cut by one goes on after it (any other ends it).
_INLINE_ELEMENTS = {"a", "abbr", "b", "code", "em", "font", "i", "mark", "s", "small", "span", "strong", "sub", "sup",
                    "u", "wbr"}  # fmt: skip
_NAME = re.compile(r"[a-z][a-z0-9:._-]*")

Span = tuple[int, int]


@dataclass(frozen=True)
class TokenRoutes:
    """The URL map's rules that carry a secret argument: which path segments are secret, and the fixed
    start of each such route (a `None` element stands for a segment that is not secret but varies)."""

    secret_segments: dict[str, frozenset[int]]  # by the rule's pattern, e.g. /r/<token>
    prefixes: tuple[tuple[str | None, ...], ...]

    @classmethod
    def of(cls, rules: Iterable[Rule]) -> TokenRoutes:
        secret_segments: dict[str, frozenset[int]] = {}
        prefixes: set[tuple[str | None, ...]] = set()
        for rule in rules:
            segments = rule.rule.split("/")
            secret = set()
            for index, segment in enumerate(segments):
                for argument in _ARGUMENT.finditer(segment):
                    if SECRET_NAME.search(argument["name"]):
                        # A secret that may hold slashes hides every segment from its own.
                        secret |= set(range(index, len(segments))) if argument["converter"] == "path" else {index}
            if not secret:
                continue
            secret_segments[rule.rule] = frozenset(secret)
            first = min(secret)
            prefixes.add(tuple(None if _ARGUMENT.search(s) else s.casefold() for s in segments[1:first]))
        return cls(secret_segments, tuple(sorted(prefixes, key=len)))

    def prefix_length(self, segments: list[str]) -> int | None:
        """How many of the path's leading segments are the fixed start of a token route (the shortest
        such start), or None: the path is not on a token route."""
        for prefix in self.prefixes:
            if len(segments) >= len(prefix) and all(
                p is None or s.casefold() == p for p, s in zip(prefix, segments, strict=False)
            ):
                return len(prefix)
        return None


def token_routes() -> TokenRoutes:
    """The current application's token routes (read again when a rule was added)."""
    rules = list(current_app.url_map.iter_rules())
    known = current_app.extensions.get("refportal.token_routes")
    if known is None or known[0] != len(rules):
        known = current_app.extensions["refportal.token_routes"] = (len(rules), TokenRoutes.of(rules))
    return known[1]


def _adapter() -> MapAdapter:
    return current_app.url_map.bind("refportal.invalid")


def _matched_rule(adapter: MapAdapter, path: str) -> Rule | None:
    """The rule `path` is routed to, whatever its method, or None (no rule, or a redirect)."""
    method = "GET"
    for _ in range(2):
        try:
            rule, _arguments = adapter.match(path, method=method, return_rule=True)
            return rule
        except MethodNotAllowed as exc:
            method = sorted(exc.valid_methods or ["POST"])[0]
        except (HTTPException, RoutingException):
            return None
    return None


def _resolved(segments: list[str]) -> list[str]:
    """The segments as a browser and the router would read them: "\\" as "/", "." and ".." resolved,
    empty ones merged."""
    resolved: list[str] = []
    for segment in "/".join(segments).replace("\\", "/").split("/"):
        if segment == "..":
            if resolved:
                resolved.pop()
        elif segment not in ("", "."):
            resolved.append(segment)
    return resolved


def secret_path_spans(path: str, routes: TokenRoutes, adapter: MapAdapter) -> tuple[list[Span], bool]:
    """The spans of `path` (beginning with "/") that are secret, and whether the secret runs to its end
    (so that whatever continues the path is secret too)."""
    raw = path.split("/")
    bounds: list[Span] = []
    position = 0
    for segment in raw:
        bounds.append((position, position + len(segment)))
        position += len(segment) + 1
    decoded = [unquote(segment) for segment in raw]
    aligned = "" not in decoded[1:-1] and not any(d in (".", "..") or "/" in d or "\\" in d for d in decoded)
    if not aligned:
        # The router (or a browser) would see other segments than the raw ones: hide the whole path
        # if what they would see is a token route.
        resolved = _resolved(decoded)
        rule = _matched_rule(adapter, "/" + "/".join(resolved))
        if (rule is not None and rule.rule in routes.secret_segments) or routes.prefix_length(resolved) is not None:
            return [(1, len(path))], True
        return [], False
    rule = _matched_rule(adapter, "/".join(decoded))
    if rule is not None:
        secret = routes.secret_segments.get(rule.rule, frozenset())
        return [bounds[i] for i in sorted(secret) if i < len(bounds)], len(raw) - 1 in secret
    known = routes.prefix_length(decoded[1:])
    if known is not None:
        start = bounds[1 + known][0] if 1 + known < len(bounds) else len(path)
        return [(start, len(path))], True
    # Not a token route, nor the start of one: only a value shaped like a signed token is hidden.
    spans = [bounds[i] for i, d in enumerate(decoded) if SIGNED_SHAPE.search(d)]
    return spans, bool(spans) and spans[-1][1] == len(path)


def hidden_path(path: str, marker: str = HIDDEN) -> str:
    """`path` with its secret segments replaced by `marker` (for a log line)."""
    spans, _ = secret_path_spans(path, token_routes(), _adapter())
    return _rebuilt(path, spans, marker)


def without_secrets(text: str | None, *, known_from: Iterable[str] = ()) -> str | None:
    """`text` (a mail server's reason, say) with every secret hidden, and any piece of the tokens in
    `known_from` (the message the reason is about)."""
    return Redactor.for_message(text, also_known=known_from).text(text) if text else text


def _parameter_spans(values: str) -> tuple[list[Span], bool]:
    """The secret values of a query string (or a fragment written like one): named like a secret or
    shaped like a signed token."""
    spans: list[Span] = []
    position = 0
    for parameter in re.split(r"[&;]", values):
        name, equals, value = parameter.partition("=")
        start = position + len(name) + len(equals) if equals else position
        shown = value if equals else name
        if shown and (
            (equals and SECRET_NAME.search(unquote_plus(name).strip())) or SIGNED_SHAPE.search(unquote_plus(shown))
        ):
            spans.append((start, position + len(parameter)))
        position += len(parameter) + 1
    return spans, bool(spans) and spans[-1][1] == len(values)


def _merged(spans: Iterable[Span]) -> list[Span]:
    merged: list[Span] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _rebuilt(text: str, spans: Iterable[Span], marker: str = HIDDEN) -> str:
    """The text with each span shown as `marker` (an empty span at a secret's place shows it too)."""
    pieces = []
    position = 0
    for start, end in _merged(spans):
        pieces += [text[position:start], marker]
        position = end
    pieces.append(text[position:])
    return "".join(pieces)


def _decodings(word: str) -> set[str]:
    """`word` as it is and as any mix of up to three layers of entity decoding, percent decoding and
    NFKC normalisation would show it."""
    found = {word}
    if word.isascii() and "&" not in word and "%" not in word:
        return found
    layer = {word}
    for _ in range(3):
        layer = {
            decoded
            for text in layer
            for decoded in (html.unescape(text), unquote(text), unicodedata.normalize("NFKC", text))
        } - found
        found |= layer
    return found


def _forms(text: str) -> set[str]:
    """Where a token may hide in a text: its decodings, each also with line breaks and white space removed."""
    forms = set()
    for decoded in _decodings(text):
        forms |= {decoded, re.sub(r"=?[ \t]*\r?\n[ \t>]*", "", decoded), re.sub(r"=?\s+", "", decoded)}
    return forms


@dataclass
class Link:
    """A link found in a text, as written, and the rule its path matches (on whatever host)."""

    url: str
    endpoint: str | None
    arguments: dict[str, Any] = field(default_factory=dict)


@dataclass
class Redactor:
    """Hides the secrets of one message (its parts share their tokens); see the module's docstring."""

    signatures: set[str]
    routes: TokenRoutes
    adapter: MapAdapter
    base: SplitResult  # PORTAL_BASE_URL
    windows: set[str] = field(init=False)

    def __post_init__(self) -> None:
        self.windows = {
            signature[i : i + SIGNATURE_WINDOW]
            for signature in self.signatures
            for i in range(len(signature) - SIGNATURE_WINDOW + 1)
        }

    @classmethod
    def for_message(cls, *parts: str, also_known: Iterable[str] = ()) -> Redactor:
        """A redactor knowing every genuine token in any of the message's `parts` (looked for in every
        form), and in `also_known` texts as they are (the body of a message whose subject is listed)."""
        tokens: set[str] = set()
        for part in parts:
            for form in _forms(part):
                tokens |= genuine_tokens(form)
        for text in also_known:
            tokens |= genuine_tokens(text)
        return cls(
            signatures={token.rsplit(".", 1)[1] for token in tokens},
            routes=token_routes(),
            adapter=_adapter(),
            base=urlsplit(current_app.config["PORTAL_BASE_URL"]),
        )

    # -- links ------------------------------------------------------------------------------------

    def _path_start(self, url: str) -> int:
        """Where the path of `url` starts (past its scheme and host, if it has them)."""
        if url.startswith(("/", "\\")) and not url.startswith("//"):
            return 0
        slashes = url.find("//")
        host_start = slashes + 2 if slashes != -1 and _SCHEME.fullmatch(url[:slashes]) else 0
        host_end = _AUTHORITY_END.search(url, host_start)
        return host_end.start() if host_end else len(url)

    def _path_and_rest(self, url: str, path_start: int) -> tuple[int, int]:
        """Where the path of `url` ends (at its query or fragment), and where it begins past the
        portal's own base path (e.g. /portal), when it has one."""
        end_mark = _SEGMENT_END.search(url, path_start)
        path_end = end_mark.start() if end_mark else len(url)
        base_path = self.base.path.rstrip("/")
        if base_path and url[path_start:path_end].casefold().startswith(base_path.casefold() + "/"):
            path_start += len(base_path)
        return path_start, path_end

    def url_spans(self, url: str) -> tuple[list[Span], bool]:
        """The secret spans of one link (on any host: a link elsewhere is hidden the same way, which only
        ever hides more), and whether its secret runs to its end."""
        path_start, path_end = self._path_and_rest(url, self._path_start(url))
        spans: list[Span] = []
        open_end = False
        if url[path_start:path_end].startswith(("/", "\\")):
            found, open_end = secret_path_spans(url[path_start:path_end], self.routes, self.adapter)
            spans += [(path_start + s, path_start + e) for s, e in found]
            open_end = open_end and path_end == len(url)
        position = path_end
        while position < len(url):  # the query, then the fragment
            mark = url[position]
            end_mark = url.find("#", position + 1) if mark == "?" else -1
            end = end_mark if end_mark != -1 else len(url)
            found, open_tail = _parameter_spans(url[position + 1 : end])
            spans += [(position + 1 + s, position + 1 + e) for s, e in found]
            open_end = open_tail and end == len(url)
            position = end
        return spans, open_end

    def _links(self, text: str) -> Iterable[tuple[int, int]]:
        for match in _URL.finditer(text):
            start, end = match.span()
            while end > start and text[end - 1] in _TRAILING:
                end -= 1
            if end > start:
                yield start, end

    def links(self, text: str) -> list[Link]:
        """Every link in `text`, with the endpoint and arguments its path matches (None: no rule)."""
        found = []
        for start, end in self._links(text):
            url = text[start:end]
            path_start, path_end = self._path_and_rest(url, self._path_start(url))
            path = unquote(url[path_start:path_end])
            endpoint, arguments = None, {}
            if path.startswith("/"):
                try:
                    matched, values = self.adapter.match(path, method="GET")
                    endpoint, arguments = str(matched), dict(values)
                except (HTTPException, RoutingException):
                    pass
            found.append(Link(url, endpoint, arguments))
        return found

    # -- text -------------------------------------------------------------------------------------

    def _betrays(self, word: str) -> bool:
        """Whether a shown word holds a genuine token or a window of a known signature, in any decoding."""
        for decoded in _decodings(word):
            starts = range(len(decoded) - SIGNATURE_WINDOW + 1)
            if any(decoded[i : i + SIGNATURE_WINDOW] in self.windows for i in starts):
                return True
            if SIGNED_SHAPE.search(decoded) and genuine_tokens(decoded):
                return True
        return False

    def text_spans(self, text: str, *, continued: bool = False) -> tuple[list[Span], bool]:
        """The secret spans of a text; `continued`: the text begins inside a secret (the rest of a link
        cut by markup). Also whether the text ends inside a secret."""
        spans: list[Span] = []
        ends_open = False
        if continued and (leading := _LEADING_WORD.match(text)):
            spans.append(leading.span())
            ends_open = leading.end() == len(text)
        for start, end in self._links(text):
            found, open_end = self.url_spans(text[start:end])
            spans += [(start + s, start + e) for s, e in found]
            ends_open = open_end and end == len(text)
            position = end
            for _ in range(_WRAPPED_LINES if open_end else 0):  # the link's secret goes on, wrapped
                wrapped = _WRAPPED.match(text, position)
                if wrapped is None or _URL.search(wrapped.group(1)):
                    break  # the next line starts another link, or none
                spans.append(wrapped.span(1))
                position = wrapped.end(1)
                ends_open = position == len(text)
                if ends_open or text[position] not in "\r\n=":
                    break
        spans = _merged(spans)
        # Layer 2: any other shown word that betrays a genuine token.
        shown_from = 0
        for start, end in [*spans, (len(text), len(text))]:
            for word in _WORD.finditer(text, shown_from, start):
                if self._betrays(word.group()):
                    spans.append(word.span())
            shown_from = end
        return _merged(spans), ends_open

    def text(self, text: str) -> str:
        """The text with its secrets hidden."""
        spans, _ = self.text_spans(text)
        return _rebuilt(text, spans)

    def html(self, markup: str) -> str:
        """The HTML part re-serialized from its parse: secrets hidden in every text node and attribute
        value, every text and value escaped, no link, no script, no comment."""
        serializer = _Serializer(self.text_spans)
        serializer.feed(markup)
        serializer.close()
        return "".join(serializer.out)


class _Serializer(HTMLParser):
    """Rebuilds a document from html.parser's events (entities arrive decoded, and leave escaped)."""

    def __init__(self, spans_of: Callable[..., tuple[list[Span], bool]]) -> None:
        super().__init__(convert_charrefs=True)
        self.spans_of = spans_of
        self.out: list[str] = []
        self.dropped = 0  # inside an element dropped with its content
        self.continued = False  # the previous text ended inside a secret

    def _hidden(self, value: str, *, continued: bool = False) -> tuple[str, bool]:
        spans, ends_open = self.spans_of(value, continued=continued)
        return _rebuilt(value, spans), ends_open

    def _tag(self, tag: str, attrs: list[tuple[str, str | None]]) -> str | None:
        if not _NAME.fullmatch(tag):
            return None
        shown = [tag]
        for name, value in attrs:
            if not _NAME.fullmatch(name) or name in _URL_ATTRIBUTES or name.startswith("on"):
                continue
            if value is None:
                shown.append(name)
            else:
                shown.append(f'{name}="{html.escape(self._hidden(value)[0], quote=True)}"')
        return "<" + " ".join(shown) + ">"

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.continued &= tag in _INLINE_ELEMENTS
        if tag in _DROPPED_ELEMENTS:
            self.dropped += 1
        elif not self.dropped and (shown := self._tag(tag, attrs)):
            self.out.append(shown)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.continued &= tag in _INLINE_ELEMENTS
        if tag not in _DROPPED_ELEMENTS and not self.dropped and (shown := self._tag(tag, attrs)):
            self.out.append(shown)

    def handle_endtag(self, tag: str) -> None:
        self.continued &= tag in _INLINE_ELEMENTS
        if tag in _DROPPED_ELEMENTS:
            self.dropped = max(0, self.dropped - 1)
        elif not self.dropped and _NAME.fullmatch(tag):
            self.out.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        if self.dropped:
            return
        shown, self.continued = self._hidden(data, continued=self.continued)
        self.out.append(html.escape(shown, quote=True))

    def handle_decl(self, decl: str) -> None:
        if decl.casefold() == "doctype html":
            self.out.append("<!doctype html>")

    # Comments, processing instructions and CDATA are not shown.
    def handle_comment(self, data: str) -> None:
        pass

    def handle_pi(self, data: str) -> None:
        pass

    def unknown_decl(self, data: str) -> None:
        pass
