"""Generate docs/notice-webhook.schema.json, the JSON Schema of the notice webhook's body, from its models.

The models in `maintenance_operator.api.notices` are the source; a unit test fails when the committed file is
stale (`make notice-schema`), and the integration tests validate every body the operator sends against it.
"""

import json
import sys
from pathlib import Path

from maintenance_operator.api.notices import json_schema

TARGET = Path(__file__).resolve().parents[1] / "docs" / "notice-webhook.schema.json"


def render() -> str:
    return json.dumps(json_schema(), indent=2) + "\n"


if __name__ == "__main__":
    TARGET.write_text(render())
    print(f"wrote {TARGET}", file=sys.stderr)
