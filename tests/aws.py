"""AWS in tests: a real ``moto_server`` process on 127.0.0.1 and an environment with fake credentials.

Nothing here mocks boto3 in-process: S3 and SageMaker traffic goes over HTTP to the moto server.
The fixtures are registered for every test package by ``tests/conftest.py``:

``moto_endpoint`` (session)  the server's URL, e.g. ``http://127.0.0.1:PORT``;
``aws_env``                  fake credentials, no profile/config files, no ambient endpoint or region
                             (set with monkeypatch, so subprocesses inherit it and it is undone after).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

MOTO_SERVER = Path(sys.executable).with_name("moto_server")
REGION = "us-east-1"
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_EC2_METADATA_DISABLED": "true",
}
AWS_UNSET = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3",
             "AWS_ENDPOINT_URL_SAGEMAKER", "AWS_REGION", "AWS_DEFAULT_PROFILE", "AWS_CA_BUNDLE")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_moto_server(log_path: Path, tries: int = 3, start_timeout_s: float = 60) -> tuple[subprocess.Popen, str]:
    """Start ``moto_server`` on a free port (a few tries: the port may be taken meanwhile); (process, URL)."""
    env = {k: v for k, v in os.environ.items() if k not in AWS_UNSET}
    env.update(AWS_ENV)
    for _ in range(tries):
        url = f"http://127.0.0.1:{free_port()}"
        with open(log_path, "ab") as log:
            proc = subprocess.Popen([str(MOTO_SERVER), "-H", "127.0.0.1", "-p", url.rsplit(":", 1)[1]],
                                    stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + start_timeout_s
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                urllib.request.urlopen(f"{url}/moto-api/reset", data=b"", timeout=2).read()
                return proc, url
            except urllib.error.HTTPError:
                return proc, url  # it answers
            except OSError:
                time.sleep(0.1)
        stop_process(proc)
    raise RuntimeError(f"moto_server did not start; log:\n{Path(log_path).read_text(errors='replace')[-3000:]}")


def stop_process(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="session")
def moto_endpoint(tmp_path_factory) -> str:
    """A real ``moto_server`` process on a free local port, for the whole session; its endpoint URL."""
    try:
        proc, url = start_moto_server(tmp_path_factory.mktemp("moto") / "moto.log")
    except RuntimeError as e:
        pytest.fail(str(e))
    try:
        yield url
    finally:
        stop_process(proc)


@pytest.fixture
def aws_env(monkeypatch, tmp_path):
    """Fake credentials, no profile/config files, no ambient endpoint (inherited by subprocesses)."""
    for k in AWS_UNSET:
        monkeypatch.delenv(k, raising=False)
    for k, v in AWS_ENV.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))


class LocalHTTPProxy:
    """An HTTP server thread on 127.0.0.1 in front of ``target`` (the moto server): a subclass's
    ``_serve(handler)`` answers each request, usually through :meth:`forward` (fault injection, logging,
    rewriting). ``url`` is where clients point; :meth:`close` stops it."""

    HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade",
           "content-length", "server", "date"}
    handler_timeout = 30

    def __init__(self, target: str):
        import http.server
        import threading
        from urllib.parse import urlparse

        self.target = urlparse(target)
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = proxy.handler_timeout

            def setup(self):
                super().setup()  # headers and body go out in separate writes: no Nagle/delayed-ACK stalls
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def log_message(self, *args):
                pass

            def handle_one(self):
                try:
                    proxy._serve(self)
                except (BrokenPipeError, ConnectionResetError, socket.timeout):
                    self.close_connection = True

            do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = handle_one

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def _serve(self, h) -> None:
        raise NotImplementedError

    def forward(self, h, body: bytes) -> tuple[int, str, list, bytes]:
        """Send the request on to the target unchanged: (status, reason, headers, body) of its answer."""
        import http.client

        conn = http.client.HTTPConnection(self.target.hostname, self.target.port, timeout=30)
        try:
            headers = {k: v for k, v in h.headers.items() if k.lower() not in self.HOP}
            if body:
                headers["Content-Length"] = str(len(body))
            conn.request(h.command, h.path, body=body or None, headers=headers)
            resp = conn.getresponse()
            return resp.status, resp.reason, resp.getheaders(), resp.read()
        finally:
            conn.close()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
