"""ExeML: a self-hosted, multi-tenant, code-free AutoML platform."""
