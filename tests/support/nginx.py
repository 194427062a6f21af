"""A real nginx (Debian package) balancing hub replicas, as docs/TEAM.md configures it."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.engines import _wait_for_port
from tests.support.ports import free_port

NGINX = "/usr/sbin/nginx"

# The configuration of docs/TEAM.md (« Behind a balancer »), with its servers filled in.
SITE = """
map $http_mcp_protocol_version $kimi_mcp_key {
    "2026-07-28"  $request_id;   # stateless: any replica
    default       $remote_addr;  # older versions: a session lives on one replica
}
upstream kimi_hub {
%(servers)s
}
upstream kimi_mcp {
    hash $kimi_mcp_key consistent;
%(servers)s
}
server {
    listen 127.0.0.1:%(port)d;
    proxy_http_version 1.1;
    proxy_buffering off;
    proxy_read_timeout 600s;
    location = /ws {
        proxy_pass http://kimi_hub;
        proxy_set_header Host $http_host;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection "upgrade";
    }
    location ~ /mcp$ {
        proxy_pass http://kimi_mcp;
        proxy_set_header Host $http_host;
        proxy_set_header Connection "";
    }
    location / {
        proxy_pass http://kimi_hub;
        proxy_set_header Host $http_host;
        proxy_set_header Connection "";
    }
}
"""


def missing_nginx() -> str | None:
    return None if Path(NGINX).exists() else f"nginx absent ({NGINX}, paquet Debian « nginx »)"


@dataclass
class Nginx:
    port: int
    root: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def upstreams(self) -> list[str]:
        """The replica (host:port) that served each request, in order (access log)."""
        return (self.root / "access.log").read_text().split()


@contextmanager
def running_nginx(backends: list[str], *, mcp: bool = True) -> Iterator[Nginx]:
    """nginx in front of ``backends`` (host:port); ``mcp=False``: /mcp in round robin too."""
    root = Path(tempfile.mkdtemp(prefix="kimi-nginx-"))
    port = free_port()
    servers = "\n".join(f"    server {b};" for b in backends)
    site = SITE % {"servers": servers, "port": port}
    if not mcp:
        site = site.replace("proxy_pass http://kimi_mcp;", "proxy_pass http://kimi_hub;")
    (root / "tmp").mkdir()
    root.chmod(0o755)  # nginx's workers drop root: they read and write here
    (root / "tmp").chmod(0o777)
    (root / "nginx.conf").write_text(
        f"daemon off;\npid {root}/nginx.pid;\nerror_log {root}/error.log warn;\n"
        "events { worker_connections 256; }\n"
        "http {\n"
        "  log_format served '$upstream_addr';\n"
        f"  access_log {root}/access.log served;\n"
        + "".join(
            f"  {kind}_temp_path {root}/tmp/{kind};\n"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        + site
        + "}\n"
    )
    with (root / "stderr.log").open("wb") as stderr:  # the child keeps its own copy
        process = subprocess.Popen(
            [NGINX, "-p", str(root), "-c", str(root / "nginx.conf")],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    try:
        _wait_for_port(port, "nginx", root / "stderr.log")
        yield Nginx(port, root)
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(root, ignore_errors=True)
