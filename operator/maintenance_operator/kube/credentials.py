"""Where the operator's API credentials come from: in-cluster ServiceAccount first, else a kubeconfig.

Loaded once, shared by kopf's watches and by our own async client, so both talk to the same server as the same
identity.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Credentials:
    server: str
    ca_path: str | None = None
    insecure: bool = False
    token: str | None = None
    cert_path: str | None = None
    key_path: str | None = None
    namespace: str | None = None


def load_credentials(kubeconfig: str | None = None, context: str | None = None) -> Credentials:
    """Read credentials with the official client's loaders (they handle exec plugins, token files, ...)."""
    import kubernetes.client  # noqa: PLC0415  (heavy; only the process entry needs it)
    import kubernetes.config  # noqa: PLC0415

    config = kubernetes.client.Configuration()
    namespace: str | None = None
    try:
        if kubeconfig or context:
            raise kubernetes.config.ConfigException("explicit kubeconfig requested")
        kubernetes.config.load_incluster_config(client_configuration=config)  # type: ignore[no-untyped-call]
        try:
            with open("/var/run/secrets/kubernetes.io/serviceaccount/namespace") as f:
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
    header = config.get_api_key_with_prefix("BearerToken") or config.get_api_key_with_prefix("authorization")
    token = header.split(" ", 1)[-1] if header else None
    return Credentials(
        server=config.host,
        ca_path=config.ssl_ca_cert,
        insecure=not config.verify_ssl,
        token=token,
        cert_path=config.cert_file,
        key_path=config.key_file,
        namespace=namespace,
    )
