"""The operators' console under /admin/: server-rendered pages over the use cases, with
accounts, roles (viewer < editor < admin), CSRF-checked forms and an audit log."""
