"""Keypairs: identified by name, owned by the calling user (nova's ``user_id``)."""

from __future__ import annotations

from collections.abc import Sequence

from keystoneauth1 import exceptions as ks_exceptions
from openstack import exceptions as sdk_exceptions
from oslo_log import log as logging

from kingsync import regions
from kingsync.api import errors
from kingsync.context import RequestContext

LOG = logging.getLogger(__name__)


def check_sources(ctxt: RequestContext, region: str, names: Sequence[str]) -> None:
    """404 unless each keypair exists in ``region`` for the caller.

    kingsync asks with its own service credentials, naming the caller's user
    id; the caller's token is not involved (nor kept: it is gone by now).
    """
    for name in names:
        try:
            regions.connection(region).compute.get_keypair(name, user_id=ctxt.user_id)
        except sdk_exceptions.NotFoundException:
            raise errors.ApiError(
                404,
                errors.RESOURCE_NOT_FOUND,
                "Keypair %r of user %s not found in region %s." % (name, ctxt.user_id, region),
            ) from None
        except (sdk_exceptions.SDKException, ks_exceptions.ClientException) as exc:
            LOG.warning("Could not look up keypair %s of user %s in region %s: %s", name, ctxt.user_id, region, exc)
            raise errors.ApiError(
                503,
                errors.REGION_UNAVAILABLE,
                "Region %s could not be asked whether keypair %r exists (%s); try again later."
                % (region, name, type(exc).__name__),
            ) from None
