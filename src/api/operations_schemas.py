"""Bodies of the identity and operations routes (api.routers.operations)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field, StrictStr

from api.schemas import Strict


class KeyIdentityOut(BaseModel):
    key_id: str
    scopes: list[str]
    manufacturer_id: str | None = Field(
        description="The manufacturer a bound key sees only; null for a platform key."
    )


class QueueStateOut(BaseModel):
    queue: str
    dead_letters: int = Field(description="Dead letters counted (up to 100).")
    last_error: str | None = Field(description="The newest dead letter's error.")


class QueueStateList(BaseModel):
    data: list[QueueStateOut]


class DeadLetterOut(BaseModel):
    message_id: str
    receive_count: int
    error: str | None
    body: Any


class DeadLetterList(BaseModel):
    data: list[DeadLetterOut]


class RedriveIn(Strict):
    message_ids: list[Annotated[StrictStr, Field(min_length=1, max_length=200)]] | None = Field(
        None, max_length=100, description="Only these dead letters; all of them when absent."
    )


class RedriveOut(BaseModel):
    queue: str
    redriven: int
