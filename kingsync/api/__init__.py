"""kingsync-api: the REST API (Flask behind oslo.middleware and keystonemiddleware).

app.py builds the application, middleware.py the stack around it, routes.py
is the one route table; handlers/ and schemas/ hold one module per
resource. The kinds a sync job may copy are kingsync.sync.kinds, shared
with the engine.
"""
