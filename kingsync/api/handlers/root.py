"""``GET /``: Kingbird's version document. Public: clients read it before they have a token."""

from __future__ import annotations

import flask

# Kingbird's v1.0, unchanged: clients compare these values.
VERSION = {"id": "v1.0", "status": "CURRENT", "updated": "2016-03-07"}


def versions() -> flask.Response:
    # url_root has the client's scheme and host (HTTPProxyToWSGI) and any mount prefix.
    link = {"rel": "self", "href": flask.request.url_root + "v1.0/"}
    return flask.jsonify({"versions": [{**VERSION, "links": [link]}]})
