"""The config files the tests write: the base config, an admin-keyed one, savings settings.

The base config routes models to the fake upstream (``tests.support.fake_upstream``):
``fake/echo`` (priced, 1 000-token window, keyed by ``UPSTREAM_SECRET``), ``other/echo``
(no key) and ``small`` (a 60-token window).
"""

from __future__ import annotations

from pathlib import Path

CONFIG = """
[server]
max_body_bytes = 65536

[database]
path = "hub.db"

[retry]
attempts = 3
backoff_initial = 0.01
backoff_max = 0.5
connect_timeout = 2.0
read_timeout = {read_timeout}

[providers.fake]
base_url = "{upstream}/v1"
api_key = "${{FAKE_UPSTREAM_KEY}}"

[providers.other]
base_url = "{upstream}/v1"

[models."fake/echo"]
provider = "fake"
model = "echo"
max_context = 1000
input_price = 1.0
output_price = 2.0

[models."other/echo"]
provider = "other"
model = "echo"
max_context = 8000

[models.small]
provider = "fake"
model = "echo"
max_context = 60
"""

UPSTREAM_SECRET = "sk-upstream-secret-123"
"""What ``FAKE_UPSTREAM_KEY`` holds in the tests: it must never leak anywhere."""


def write_config(
    tmp_path: Path, upstream_url: str, extra: str = "", read_timeout: float = 5.0
) -> Path:
    """``tmp_path/config.toml``: the base config on ``upstream_url``, then ``extra``."""
    path = tmp_path / "config.toml"
    path.write_text(CONFIG.format(upstream=upstream_url, read_timeout=read_timeout) + extra)
    return path


ADMIN = "admin-secret-key"
# 9 completion tokens (the fake upstream's answer) at 1000 per million = 0.009 a request;
# max_output = 9: a request without max_tokens reserves exactly what it will cost
PRICED = """
[models.priced]
provider = "fake"
model = "echo"
input_price = 0.0
output_price = 1000.0
max_output = 9
"""
COST = 0.009
"""What one request to ``priced`` costs."""


def with_admin_key(path: Path, admin: str = ADMIN) -> Path:
    """The config file at ``path`` rewritten with the admin key ``admin``."""
    text = path.read_text().replace("[server]\n", f'[server]\napi_key = "{admin}"\n', 1)
    path.write_text(text)
    return path


def keyed_config(tmp_path: Path, upstream_url: str, extra: str = "") -> Path:
    """The base config with the admin key ``ADMIN`` and the ``priced`` model."""
    return with_admin_key(write_config(tmp_path, upstream_url, PRICED + extra))


SAVINGS = """
[savings]
masking = {masking}
compaction = {compaction}
mask_min_tokens = 50
keep_recent_rounds = 1
rewrite_batch_rounds = 1
summarise_old_rounds = {summarise}
{summariser}

[models."fake/window"]
provider = "fake"
model = "echo"
max_context = 600

[models."fake/wide"]
provider = "fake"
model = "echo"
max_context = 100000
"""
"""Savings settings (``str.format`` them) and two models: a 600-token window, a wide one."""
