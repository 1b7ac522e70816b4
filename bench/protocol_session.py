"""A Measure session as the server sees a browser's, without a browser: Bokeh's protocol over a WebSocket.

It asks for the page (the server builds the session's app, as for a browser), connects the page's WebSocket with
the session's token, pulls the document, says the document is ready, then changes filters by sending the same
``PATCH-DOC`` messages BokehJS sends for a ``<select>`` change, and times each from the message sent to the
server's redraw received (the ``PATCH-DOC`` whose hidden status marker carries the next render count). After each
redraw it sends what a browser sends after laying the page out again: each chart's new inner size.

It draws nothing, so on a machine it shares with the server it costs a few milliseconds a change where a Chromium
page costs about 300 ms: ``bench/app.py`` uses it to load the server with the other sessions of its 10-session
phase the way users on their own machines would, beside one Chromium page it times end to end.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from urllib.parse import urlsplit

from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.websocket import websocket_connect

# (the cards' HTML, with the marker, travels HTML-escaped inside the JSON of a message)
_RENDERS = re.compile(r'data-renders=&quot;(\d+)&quot;')
_SELECTS = {"group": "f-group-by", "period": "f-period"}


class ProtocolSession:
    """One session of the app at ``url`` (the page's address), opened by :meth:`open`."""

    def __init__(self, url: str):
        self.url = url
        self.renders = 0  # the highest render count the server has sent
        self.selects: dict[str, tuple[str, dict[str, str]]] = {}  # kind -> (model id, label -> value)
        self.shown: dict[str, str] = {}  # kind -> the label the select shows
        self.figures: list[str] = []  # the charts' model ids
        self._ws = None
        self._reader: asyncio.Task | None = None
        self._redrawn = asyncio.Event()
        self._width = 0

    async def open(self, timeout: float = 120.0) -> None:
        """Ask for the page, connect, pull the document and wait for the first draw."""
        page = (await AsyncHTTPClient().fetch(self.url, request_timeout=timeout)).body.decode()
        token = re.search(r'"token":\s*"([^"]+)"', page)
        if token is None:
            raise RuntimeError(f"no session token in the page at {self.url}")
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(self.url))
        self._ws = await websocket_connect(
            HTTPRequest(self.url.replace("http", "ws", 1) + "/ws", headers={"Origin": origin},
                        request_timeout=timeout),
            subprotocols=["bokeh", token.group(1)], max_message_size=512 * 1024 * 1024)
        header, _ = await self._read()
        if header["msgtype"] != "ACK":
            raise RuntimeError(f"the server answered the connection with {header['msgtype']}")
        self._send("PULL-DOC-REQ", {})
        while True:
            header, content = await self._read()
            self._seen(content)
            if header["msgtype"] == "PULL-DOC-REPLY":
                break
        self._models(json.loads(content)["doc"])
        self._reader = asyncio.ensure_future(self._read_on())
        self._send("PATCH-DOC", {"events": [{"kind": "MessageSent", "msg_type": "bokeh_event", "msg_data": {
            "type": "event", "name": "document_ready", "values": {"type": "map"}}}]})
        await asyncio.wait_for(self._wait_renders(0), timeout)

    async def change(self, kind: str, label: str, timeout: float = 120.0) -> float:
        """Choose ``label`` in the group-by (``kind`` "group") or period ("period") select (not the one it shows:
        that changes nothing); seconds until the server's redraw arrived."""
        model, values = self.selects[kind]
        before = self.renders
        t = time.perf_counter()
        self._send("PATCH-DOC", {"events": [
            {"kind": "ModelChanged", "model": {"id": model}, "attr": "value", "new": values[label]}]})
        self.shown[kind] = label
        await asyncio.wait_for(self._wait_renders(before), timeout)
        elapsed = time.perf_counter() - t
        self._width = 1 - self._width  # (a browser reports the charts' sizes after laying the page out again)
        for fig in self.figures:
            self._send("PATCH-DOC", {"events": [
                {"kind": "ModelChanged", "model": {"id": fig}, "attr": "inner_width", "new": 500 + self._width}]})
        return elapsed

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
        if self._ws is not None:
            self._ws.close()

    # ------------------------------------------------------------------ protocol
    def _send(self, msgtype: str, content: dict) -> None:
        """A message as BokehJS writes it: header, metadata and content, one text frame each."""
        header = {"msgid": uuid.uuid4().hex.upper(), "msgtype": msgtype}
        for part in (header, {}, content):
            self._ws.write_message(json.dumps(part))

    async def _read(self) -> tuple[dict, str]:
        """The next whole message: its header and its content (buffers are read and dropped)."""
        frames = [await self._ws.read_message() for _ in range(3)]
        if any(f is None for f in frames):
            raise ConnectionError("the server closed the session's WebSocket")
        header = json.loads(frames[0])
        for _ in range(2 * header.get("num_buffers", 0)):
            await self._ws.read_message()
        return header, frames[2]

    async def _read_on(self) -> None:
        while True:
            _, content = await self._read()
            self._seen(content)

    def _seen(self, content: str) -> None:
        counts = [int(n) for n in _RENDERS.findall(content)]
        if counts and max(counts) > self.renders:
            self.renders = max(counts)
            self._redrawn.set()

    async def _wait_renders(self, before: int) -> None:
        while self.renders <= before:
            self._redrawn.clear()
            await self._redrawn.wait()

    def _models(self, doc: dict) -> None:
        """The filters' selects (by their CSS class) and the charts, from the pulled document."""
        def walk(node):
            if isinstance(node, dict):
                if node.get("type") == "object":
                    attrs = node.get("attributes", {})
                    for kind, css in _SELECTS.items():
                        if css in (attrs.get("css_classes") or []):
                            self.selects[kind] = (node["id"], {label: value for value, label in attrs["options"]})
                            self.shown[kind] = next(label for value, label in attrs["options"]
                                                    if value == attrs["value"])
                    if node.get("name") == "Figure":
                        self.figures.append(node["id"])
                for v in node.values():
                    walk(v)
            elif isinstance(node, list):
                for v in node:
                    walk(v)

        walk(doc)
        missing = set(_SELECTS) - set(self.selects)
        if missing:
            raise RuntimeError(f"the page has no {', '.join(sorted(missing))} select")
