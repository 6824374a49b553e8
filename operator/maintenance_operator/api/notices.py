"""The notice webhook's JSON body: a public contract, documented by `docs/notice-webhook.schema.json`.

That JSON Schema is generated from these models (`make notice-schema`; a test fails when it drifts), and the
integration tests validate every body the real operator sends against the committed file.
"""

import json
from datetime import datetime
from typing import Annotated, Any

from pydantic import Field

from maintenance_operator.api.base import Model

SCHEMA_ID = "https://maintenance.ops.dev/schemas/notice-webhook/v1.json"


class WindowRef(Model):
    namespace: str
    name: str


class OccurrenceTimes(Model):
    id: Annotated[str, Field(description="The occurrence's stable id: its UTC start, e.g. `20261201T1400Z`.")]
    start: datetime
    end: datetime
    time_zone: Annotated[str, Field(description="The window's IANA time zone.")]


class NoticeTarget(Model):
    kind: Annotated[str, Field(pattern="^(Deployment|StatefulSet)$")]
    name: str
    reason: Annotated[str, Field(description="Why it is restarted: the maintenance reason, or `policy: Always`.")]
    downtime_expected: Annotated[bool, Field(description="A single instance or a Recreate rollout.")]


class NoticePayload(Model):
    """One batch: the targets of one window that are told, for one lead time, about one occurrence."""

    id: Annotated[
        str,
        Field(description="Delivery id, the same for each retry of this batch (also header X-Maintenance-Delivery)."),
    ]
    window: WindowRef
    occurrence: OccurrenceTimes
    lead_time: Annotated[str, Field(description="The lead time this notice is for, e.g. `24h` or `7d`.")]
    targets: Annotated[list[NoticeTarget], Field(min_length=1)]
    sent_at: Annotated[datetime, Field(description="When this attempt was sent; receivers may refuse old ones.")]

    def body(self) -> bytes:
        """The exact bytes that are signed and sent."""
        return json.dumps(self.wire(), separators=(",", ":"), sort_keys=True).encode()


def json_schema() -> dict[str, Any]:
    schema = NoticePayload.model_json_schema(by_alias=True, mode="serialization")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}
