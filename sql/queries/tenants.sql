-- name: tenants.list
SELECT tenant_id, name, name_kana, kind, population, channel_id, bot_user_id,
       channel_secret_enc, channel_access_token_enc, line_api, auto_reply_text, liff_channel_id, liff_id,
       toUnixTimestamp64Milli(created_at) AS created_ms, toUnixTimestamp64Milli(updated_at) AS updated_ms
FROM tenants FINAL
ORDER BY tenant_id;

-- name: tenants.get
SELECT tenant_id, name, name_kana, kind, population, channel_id, bot_user_id,
       channel_secret_enc, channel_access_token_enc, line_api, auto_reply_text, liff_channel_id, liff_id,
       toUnixTimestamp64Milli(created_at) AS created_ms, toUnixTimestamp64Milli(updated_at) AS updated_ms
FROM tenants FINAL
WHERE tenant_id = {id:String};
