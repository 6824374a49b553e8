"""What a request needed permission for, read from the request itself (the operator knows what it sent).

A 403 then names the verb, the resource with its group and the namespace exactly as RBAC spells them, instead of
relying on the wording of the API server's message.
"""

from dataclasses import dataclass

_VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch", "WATCH": "watch"}


@dataclass(frozen=True)
class Permission:
    verb: str
    resource: str  # the plural, e.g. `deployments`
    group: str  # "" for the core group
    namespace: str | None  # None: cluster-scoped
    subresource: str = ""

    def __str__(self) -> str:
        resource = f"{self.resource}.{self.group}" if self.group else self.resource
        if self.subresource:
            resource += f"/{self.subresource}"
        where = f"in namespace {self.namespace}" if self.namespace else "cluster-wide"
        return f"{self.verb} {resource} {where}"

    def denied(self) -> str:
        return f"forbidden: the operator's ServiceAccount may not {self}"


def needed(method: str, path: str) -> Permission:
    """The RBAC permission a request to `path` (`/api/v1/...` or `/apis/<group>/<version>/...`) needs."""
    parts = [p for p in path.split("?", 1)[0].split("/") if p]
    group, rest = ("", parts[2:]) if parts[:1] == ["api"] else (parts[1] if len(parts) > 1 else "", parts[3:])
    namespace = None
    if len(rest) >= 3 and rest[0] == "namespaces":
        namespace, rest = rest[1], rest[2:]
    resource = rest[0] if rest else ""
    named = len(rest) > 1
    if method == "GET":
        verb = "get" if named else "list"
    elif method == "DELETE":
        verb = "delete" if named else "deletecollection"
    else:
        verb = _VERBS.get(method, method.lower())
    return Permission(verb, resource, group, namespace, rest[2] if len(rest) > 2 else "")
