"""citeqa as a service: an OpenAI-compatible HTTP API (`citeqa serve`) and an MCP server (`citeqa mcp`).

    app.py        the FastAPI app over one engine          chat.py       /v1/models, /v1/chat/completions
    schemas.py    request and response bodies (pydantic)   streaming.py  server-sent events, OpenAI chunks
    search.py     /v1/search                               documents.py  /v1/documents
    health.py     /healthz                                 answers.py    questions on worker threads, in the model's line
    errors.py     OpenAI-style error JSON                  auth.py       bearer token (CITEQA_API_KEY)
    loopback.py   is an address this machine only?         run.py        exposure rule, socket, uvicorn
    mcp_server.py the MCP tools
"""
