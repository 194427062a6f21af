"""Helpers the tests share; test modules import these, never each other nor conftest.

One job a module: ``hub_configs`` (config files), ``chats`` (messages to send),
``chat_strategies`` / ``chat_checks`` (Hypothesis histories and their validity),
``fake_upstream`` (the OpenAI-compatible upstream), ``asgi`` (the hub in-process),
``servers`` (uvicorn on loopback), ``hub_mcp`` (the hub's MCP side seen over REST),
``mcp_upstreams`` (real upstream MCP servers), ``node`` (Node 22+ for npm tools),
``engines`` (PostgreSQL and Redis), ``replicas`` (hub processes in team mode),
``dashboard_browser`` (chromium pages), ``records`` (rows written straight to the store),
``hub_rows`` (rows read back over REST), ``mcp_results`` (an MCP tool call's data or
error), ``json_values`` (the type of decoded JSON),
``ports``, ``polling`` and ``processes``. Fixtures live in the conftest files.

In-process or on a socket
-------------------------
Use the in-process hub (fixtures ``asgi_hub``, ``asgi_http``, ``asgi_openai``, or
``asgi.in_process(create_app(config))``) for what the hub answers: REST routes, validation
errors, sessions, analytics, exports' filters, keys, savings, what reaches the fake
upstream, rows and usage. It starts no server and no socket; its transport hands over each
request whole and buffers each answer whole, and sets no ``kimi.protocol`` extension, so
the hub takes the paths it takes under any ASGI server other than its own.

Use a real server (``hub_url``, ``http``, ``openai_client``, ``servers.serve``) where the
connection is the point: slow or disconnecting clients, streams cancelled or read while
other requests run, shutdown, WebSockets, Host/Origin as sent on the wire, the browser
(Playwright), the MCP clients (they hold a stream open), the conformance suite and the
Inspector, subprocess MCP upstreams, team replicas, and the smoke tests with the openai
SDK, which cover the hub's own uvicorn protocol end to end.
"""
