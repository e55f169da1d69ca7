"""The request context: who asked, in which project. It crosses RPC without
the user's token: the engine acts with kingsync's own service credentials."""

from __future__ import annotations

from typing import Any

from oslo_context import context


class RequestContext(context.RequestContext):
    def to_rpc(self) -> dict[str, Any]:
        """What an RPC message carries: ids only, never a token."""
        return {"request_id": self.request_id, "user_id": self.user_id, "project_id": self.project_id}

    @classmethod
    def from_rpc(cls, values: dict[str, Any]) -> RequestContext:
        return cls(
            request_id=values.get("request_id"), user_id=values.get("user_id"), project_id=values.get("project_id")
        )
