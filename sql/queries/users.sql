-- name: users.list
SELECT username, user_id, display_name, role, tenant_id, permissions, password_hash, disabled,
       toUnixTimestamp64Milli(created_at) AS created_ms, toUnixTimestamp64Milli(updated_at) AS updated_ms
FROM staff_users FINAL
ORDER BY username;

-- name: users.get
SELECT username, user_id, display_name, role, tenant_id, permissions, password_hash, disabled,
       toUnixTimestamp64Milli(created_at) AS created_ms, toUnixTimestamp64Milli(updated_at) AS updated_ms
FROM staff_users FINAL
WHERE username = {username:String};

-- name: users.token_owner
-- The account an API token belongs to (by the token's SHA-256) and when the token expires.
SELECT username, toUnixTimestamp64Milli(expires_at) AS expires_ms
FROM staff_api_tokens FINAL
WHERE token_hash = {hash:String};

-- name: users.tokens
-- API tokens that are not revoked, of one account ('' = every account), newest first.
SELECT token_hash, username, label, toUnixTimestamp64Milli(created_at) AS created_ms,
       toUnixTimestamp64Milli(expires_at) AS expires_ms
FROM staff_api_tokens FINAL
WHERE ({username:String} = '' OR username = {username:String})
ORDER BY created_at DESC, token_hash;

-- name: users.audit_recent
-- The latest audit records, newest first, optionally for one tenant or one action.
SELECT toUnixTimestamp64Milli(at) AS at_ms, event_id, action, outcome, actor_kind, user_id, username, role,
       tenant_id, target, detail, ip, user_agent
FROM audit_log
WHERE ({tenant:String} = '' OR tenant_id = {tenant:String})
  AND ({action:String} = '' OR action = {action:String})
ORDER BY at DESC
LIMIT {limit:UInt32};
