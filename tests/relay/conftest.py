"""Real servers for the relay tests: an HTTP server serving feeds that change between
polls, and Debian's Dovecot as IMAP server (see ``dovecot``)."""

from __future__ import annotations

import getpass
import grp
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    content_type: str = "application/atom+xml; charset=utf-8"
    etag: str = ""
    last_modified: str = ""
    delay: float = 0.0


@dataclass
class FeedServer:
    """What each path answers; tests change it between polls and read the requests."""

    port: int
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def serve(self, path: str, body: bytes | str, **options: object) -> Route:
        route = Route(body.encode("utf-8") if isinstance(body, str) else body, **options)  # type: ignore[arg-type]
        self.routes[path] = route
        return route


def _handler(server: FeedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            server.requests.append((self.path, dict(self.headers.items())))
            route = server.routes.get(self.path)
            if route is None:
                self.send_error(404)
                return
            if route.delay:
                time.sleep(route.delay)
            fresh = (route.etag and self.headers.get("If-None-Match") == route.etag) or (
                route.last_modified and self.headers.get("If-Modified-Since") == route.last_modified
            )
            if fresh:
                self.send_response(304)
                self.end_headers()
                return
            self.send_response(route.status)
            self.send_header("Content-Type", route.content_type)
            self.send_header("Content-Length", str(len(route.body)))
            if route.etag:
                self.send_header("ETag", route.etag)
            if route.last_modified:
                self.send_header("Last-Modified", route.last_modified)
            self.end_headers()
            with suppress(BrokenPipeError, ConnectionResetError):  # the client gave up (time-out test)
                self.wfile.write(route.body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    state = FeedServer(port=0)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    httpd.daemon_threads = True
    state.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield state
    httpd.shutdown()
    httpd.server_close()


# --- Dovecot ---------------------------------------------------------------------------------

DOVECOT_USER = "funktionsbrevlada"
DOVECOT_PASSWORD = "hemligt-test-losen"


@dataclass
class Dovecot:
    port: int
    maildir: Path
    user: str = DOVECOT_USER
    password: str = DOVECOT_PASSWORD


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _dovecot_binary() -> str | None:
    return shutil.which("dovecot") or ("/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None)


def _accounts() -> tuple[str, str, str, int, int]:
    """(internal user, its group, login user, mail uid, mail gid): ourselves, or as root
    the unprivileged accounts the dovecot-core package creates."""
    if os.getuid() != 0:
        return (
            getpass.getuser(),
            grp.getgrgid(os.getgid()).gr_name,
            getpass.getuser(),
            os.getuid(),
            os.getgid(),
        )
    try:
        internal = pwd.getpwnam("dovecot")
        login = pwd.getpwnam("dovenull")
    except KeyError:
        pytest.skip("running as root, but the dovecot/dovenull accounts are missing")
    group = grp.getgrgid(internal.pw_gid).gr_name
    return internal.pw_name, group, login.pw_name, internal.pw_uid, internal.pw_gid


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    """A real IMAP server in a temporary directory: own config, a passwd-file user, a
    maildir, plain-text login on 127.0.0.1 without TLS. ``make test`` installs
    dovecot-imapd; without it the IMAP tests are skipped."""
    binary = _dovecot_binary()
    if binary is None:
        pytest.skip("dovecot is not installed (apt-get install dovecot-imapd; `make test` does it as root)")
    # Not under pytest's tmp dir: as root that is mode 0700 and Dovecot's own accounts
    # could not read their config.
    base = Path(tempfile.mkdtemp(prefix="commsplan-dovecot-"))
    base.chmod(0o755)
    port = _free_port()
    maildir = base / "mail"
    maildir.mkdir()
    (base / "run").mkdir()
    user, group, login_user, uid, gid = _accounts()
    if os.getuid() == 0:
        # Dovecot refuses to run its login and mail processes as root.
        for path in (base, maildir):
            os.chown(path, uid, gid)
    (base / "passwd").write_text(
        f"{DOVECOT_USER}:{{PLAIN}}{DOVECOT_PASSWORD}:{uid}:{gid}::{maildir}\n", encoding="utf-8"
    )
    config = base / "dovecot.conf"
    config.write_text(
        f"""
protocols = imap
listen = 127.0.0.1
base_dir = {base / "run"}
state_dir = {base / "state"}
ssl = no
first_valid_uid = {uid}
first_valid_gid = {gid}
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{maildir}
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {login_user}
log_path = {base / "dovecot.log"}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {base / "passwd"}
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {base / "passwd"}
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
service stats {{
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
""",
        encoding="utf-8",
    )
    (base / "state").mkdir()
    if os.getuid() == 0:
        for path in (base / "state", base / "run"):
            os.chown(path, uid, gid)
    process = subprocess.Popen(
        [binary, "-F", "-c", str(config)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read().decode("utf-8", "replace") if process.stdout else ""
            log = (base / "dovecot.log").read_text("utf-8") if (base / "dovecot.log").exists() else ""
            pytest.skip(f"dovecot did not start: {output} {log}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            time.sleep(0.1)
    else:
        process.terminate()
        pytest.skip("dovecot did not open its port within 15 s")
    yield Dovecot(port=port, maildir=maildir)
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
    if not os.environ.get("RELAY_KEEP_DOVECOT"):
        shutil.rmtree(base, ignore_errors=True)
