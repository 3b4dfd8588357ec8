-- Deliveries started by e-mail (delivery/mail/).

-- name: delivery_mail.settings
SELECT tenant_id, secret, allowed_senders, enabled
FROM delivery_mail_settings FINAL
WHERE tenant_id = {tenant:String};

-- name: delivery_mail.rules
SELECT rule_id, name, sort, enabled, urgent, match, template, audience,
       toUnixTimestamp64Milli(updated_at) AS updated_ms
FROM delivery_mail_rules FINAL
WHERE tenant_id = {tenant:String}
ORDER BY sort, rule_id;

-- name: delivery_mail.log
SELECT mail_id, toUnixTimestamp64Milli(received_at) AS received_ms, sender, subject, outcome, reason,
       rule_id, rule_name, delivery_id, notice_id, places
FROM delivery_mail_log
WHERE tenant_id = {tenant:String}
ORDER BY received_at DESC, mail_id DESC
LIMIT {limit:UInt32};

-- name: delivery_mail.notice
SELECT tenant_id, subject, body, toUnixTimestamp64Milli(created_at) AS created_ms
FROM delivery_mail_notices FINAL
WHERE notice_id = {id:String};
