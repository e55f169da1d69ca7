"""kingsync-api: the REST API (Flask behind oslo.middleware and keystonemiddleware).

app.py builds the application, middleware.py the stack around it, routes.py
is the one route table; handlers/, schemas/ and kinds/ hold one module per
resource (and per kind of synced resource).
"""
