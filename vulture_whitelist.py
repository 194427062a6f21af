"""What vulture (`scripts/kimi-proxy test`) takes for dead code but is used, by name.

Only false positives go here, each with who uses it; dead code is deleted instead.
"""
# ruff: noqa: B018, F821

# uvicorn --reload/--workers and granian load the factory by its import string
# (hub/cli/main.py, bench/proxy.py)
app_from_env

# aiosqlite.Connection's own attribute, read by aiosqlite to build the rows
_.row_factory

# uvicorn.Server's own flag: the test servers set it to stop
_.should_exit

# pytest reads a module's marks from it
pytestmark

# the SDK's lowlevel Server reads it to stamp 2026-07-28 results (hub/api/mcp/mirror.py)
_.server_info_stamp

# parameters of __exit__ / __aexit__, which the protocol fixes
exc_type
tb
traceback

# the mcp SDK's TokenStorage protocol, called by its OAuth client
# (hub/features/mcp_hub/oauth_client.py MemoryTokens)
_.get_tokens
_.set_tokens
_.get_client_info
_.set_client_info

# the mcp SDK reads these of a request, a result model and a client extension
# (tests/support/modern_tasks.py: Mcp-Name, extra fields kept, claimed resultType, its id)
_.name_param
_.model_config
_.result_type
_.identifier
