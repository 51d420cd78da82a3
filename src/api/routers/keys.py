"""API keys: listed, read, relabelled, given an expiry and revoked by platform admins. Keys are
issued by an operator (`ledger keys create`), so a secret never travels over this API."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import Caller, KeysDep, QueriesDep, needs
from api.request_rules import REQUEST_RULES
from api.schemas import FreshnessOut, KeyListOut, KeyOut, KeyPatch
from ledger.application.api_keys import ApiKeys

router = APIRouter(prefix="/v1/keys", tags=["keys"], dependencies=REQUEST_RULES)


@router.get("", response_model=KeyListOut, dependencies=[needs(ApiKeys.listed)])
def list_keys(
    principal: Caller,
    keys: KeysDep,
    queries: QueriesDep,
    include_revoked: Annotated[bool, Query(description="List revoked keys too.")] = True,
) -> KeyListOut:
    """Every key, oldest first: id, label, scopes, binding, created, last used (to the hour),
    expiry, status. Never a secret: only its hash was ever recorded."""
    rows = keys.listed(principal, include_revoked=include_revoked)
    return KeyListOut(
        data=[KeyOut(**row) for row in rows], freshness=FreshnessOut(**queries.freshness())
    )


@router.get("/{key_id}", response_model=KeyOut, dependencies=[needs(ApiKeys.get)])
def get_key(key_id: str, principal: Caller, keys: KeysDep) -> KeyOut:
    return KeyOut(**keys.describe(keys.get(principal, key_id)))


@router.patch("/{key_id}", response_model=KeyOut, dependencies=[needs(ApiKeys.update)])
def update_key(key_id: str, body: KeyPatch, principal: Caller, keys: KeysDep) -> KeyOut:
    """A new label and/or expiry (`expires_at: null` removes it). A revoked key is 409."""
    key = keys.update(
        principal,
        key_id,
        label=body.label,
        expires_at=body.expires_at,
        clear_expiry="expires_at" in body.model_fields_set and body.expires_at is None,
    )
    return KeyOut(**keys.describe(key))


@router.post("/{key_id}/revoke", response_model=KeyOut, dependencies=[needs(ApiKeys.revoke)])
def revoke_key(key_id: str, principal: Caller, keys: KeysDep) -> KeyOut:
    """For good: the key answers 401 from its next request on. Revoking twice is 409."""
    return KeyOut(**keys.describe(keys.revoke(principal, key_id)))
