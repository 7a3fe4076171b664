"""Use cases of the operators' console: accounts and sessions, the audit log, the dashboard's
daily counts, and the lookups behind its pages. Front ends (console, cli) call these."""
