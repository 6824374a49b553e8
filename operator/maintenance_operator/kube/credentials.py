"""Where the operator's API credentials come from: in-cluster ServiceAccount first, else a kubeconfig.

Loaded once, shared by kopf's watches and by our own async client, so both talk to the same server as the same
identity. A token that lives in a file (the projected ServiceAccount token, a kubeconfig user's `tokenFile`) is
rotated by whoever wrote it (kubelet refreshes the projected one long before it expires), so both re-read it.
"""

import logging
import os
from dataclasses import dataclass

log = logging.getLogger(__name__)

SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
SERVICE_ACCOUNT_TOKEN = f"{SERVICE_ACCOUNT_DIR}/token"


@dataclass(frozen=True)
class Credentials:
    server: str
    ca_path: str | None = None
    insecure: bool = False
    token: str | None = None  # as read at start; with `token_path`, read the current one with TokenFile
    token_path: str | None = None
    cert_path: str | None = None
    key_path: str | None = None
    namespace: str | None = None


def read_token(path: str) -> str:
    with open(path) as f:
        return f.read().strip()


class TokenFile:
    """The current token of a file that is rotated under us.

    `current()` stats the file on each call (no read while inode, size and mtime stay the same: kubelet swaps the
    projected token's `..data` symlink, which changes the inode) and re-reads it when it changed. An unreadable
    file keeps the last token, so a rotation caught half-way does not fail requests that would still succeed.
    """

    def __init__(self, path: str, token: str | None = None) -> None:
        self.path = path
        self._token = token or ""
        self._seen: tuple[int, int, int] | None = None
        self.reread()

    def _stamp(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_ino, st.st_size, st.st_mtime_ns)

    def current(self) -> str:
        if self._stamp() != self._seen:
            self.reread()
        return self._token

    def reread(self) -> str:
        """Read now, whatever the file's stamp says (after a 401 a same-second rewrite must not be missed)."""
        stamp = self._stamp()
        try:
            token = read_token(self.path)
        except OSError as err:
            log.warning("cannot read the API token file %s (%s); keeping the previous token", self.path, err)
            return self._token
        if token and token != self._token:
            if self._seen is not None:
                log.info("API token file %s changed; using its new token", self.path)
            self._token = token
        self._seen = stamp
        return self._token


def load_credentials(kubeconfig: str | None = None, context: str | None = None) -> Credentials:
    """Read credentials with the official client's loaders (they handle exec plugins, token files, ...)."""
    import kubernetes.client  # noqa: PLC0415  (heavy; only the process entry needs it)
    import kubernetes.config  # noqa: PLC0415

    config = kubernetes.client.Configuration()
    namespace: str | None = None
    token_path: str | None = None
    try:
        if kubeconfig or context:
            raise kubernetes.config.ConfigException("explicit kubeconfig requested")
        kubernetes.config.load_incluster_config(client_configuration=config)  # type: ignore[no-untyped-call]
        token_path = SERVICE_ACCOUNT_TOKEN
        try:
            with open(f"{SERVICE_ACCOUNT_DIR}/namespace") as f:
                namespace = f.read().strip() or None
        except OSError:
            namespace = None
    except kubernetes.config.ConfigException:
        kubernetes.config.load_kube_config(config_file=kubeconfig, context=context, client_configuration=config)  # type: ignore[no-untyped-call]
        _, active = kubernetes.config.list_kube_config_contexts(config_file=kubeconfig)  # type: ignore[no-untyped-call]
        if context:
            contexts, _ = kubernetes.config.list_kube_config_contexts(config_file=kubeconfig)  # type: ignore[no-untyped-call]
            active = next((c for c in contexts if c["name"] == context), active)
        namespace = (active.get("context") or {}).get("namespace")
        token_path = kubeconfig_token_file(kubeconfig, context)
    header = config.get_api_key_with_prefix("BearerToken") or config.get_api_key_with_prefix("authorization")
    token = header.split(" ", 1)[-1] if header else None
    return Credentials(
        server=config.host,
        ca_path=config.ssl_ca_cert,
        insecure=not config.verify_ssl,
        token=token,
        token_path=token_path,
        cert_path=config.cert_file,
        key_path=config.key_file,
        namespace=namespace,
    )


def kubeconfig_token_file(kubeconfig: str | None, context: str | None) -> str | None:
    """The active user's `tokenFile`, resolved as the official client does (relative to its kubeconfig file).

    None when the user has an inline `token` too: it wins there (and in kubectl), so the file is not the token.
    The official loader keeps the user private; this is the one place that reaches into it.
    """
    from kubernetes.config import kube_config  # noqa: PLC0415

    loader = kube_config._get_kube_config_loader(  # type: ignore[no-untyped-call]
        filename=kubeconfig or kube_config.KUBE_CONFIG_DEFAULT_LOCATION, active_context=context
    )
    user = loader._user
    if not user or "token" in user or "tokenFile" not in user:
        return None
    path = str(user["tokenFile"])
    return os.path.join(loader._get_base_path(user.path), path)
