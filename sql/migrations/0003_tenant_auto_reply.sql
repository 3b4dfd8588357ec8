-- The polite automatic reply a resident gets when they send a message anyway (empty: the default text).
ALTER TABLE tenants ADD COLUMN IF NOT EXISTS auto_reply_text String DEFAULT '' AFTER line_api;
