-- Named queries of delivery/rich-menus/ (the rich menu editor). Tables: sql/migrations/0070_delivery_rich_menu_editor.sql.

-- name: rich_menus.menus
-- A tenant's menus ({menu} '' : all), the default first, then by title.
SELECT menu_id, title, alias_id, live_version, line_rich_menu_id, is_default, audience, priority, job,
       updated_by, toUnixTimestamp64Milli(updated_at) AS updated_ms
FROM delivery_rich_menu_menus FINAL
WHERE tenant_id = {tenant:String} AND ({menu:String} = '' OR menu_id = {menu:String})
ORDER BY is_default DESC, title, menu_id;

-- name: rich_menus.versions
-- A menu's versions, newest first ({version} 0: all).
SELECT version_no, design, status, line_rich_menu_id, created_by, toUnixTimestamp64Milli(created_at) AS created_ms,
       toUnixTimestamp64Milli(published_at) AS published_ms
FROM delivery_rich_menu_versions FINAL
WHERE tenant_id = {tenant:String} AND menu_id = {menu:String} AND ({version:UInt32} = 0 OR version_no = {version:UInt32})
ORDER BY version_no DESC;

-- name: rich_menus.image
-- One uploaded image.
SELECT content_type, width, height, data FROM delivery_rich_menu_images FINAL
WHERE tenant_id = {tenant:String} AND image_id = {image:String}
LIMIT 1;

-- name: rich_menus.image_info
-- An uploaded image's type and size, without its bytes.
SELECT content_type, width, height FROM delivery_rich_menu_images FINAL
WHERE tenant_id = {tenant:String} AND image_id = {image:String}
LIMIT 1;

-- name: rich_menus.links
-- Residents linked to audience menus ({menu} '' : any; {user} '' : all).
SELECT user_id, menu_id FROM delivery_rich_menu_links FINAL
WHERE tenant_id = {tenant:String} AND ({menu:String} = '' OR menu_id = {menu:String})
  AND ({user:String} = '' OR user_id = {user:String})
ORDER BY user_id;

-- name: rich_menus.segment_members
-- Friends of the tenant in a menu's segment (the marker: a compiled condition, delivery/audience.ts),
-- or only {user} when given.
SELECT user_id FROM resident_states FINAL
WHERE tenant_id = {tenant:String} AND is_friend = 1 AND ({user:String} = '' OR user_id = {user:String})
  AND ({{segment}})
ORDER BY user_id;

-- name: rich_menus.schedules
-- A tenant's scheduled switches ({tenant} '' : every tenant's), by start.
SELECT tenant_id, schedule_id, menu_id, toUnixTimestamp64Milli(starts_at) AS starts_ms,
       toUnixTimestamp64Milli(ends_at) AS ends_ms, state, created_by
FROM delivery_rich_menu_schedules FINAL
WHERE ({tenant:String} = '' OR tenant_id = {tenant:String})
ORDER BY starts_at, schedule_id;

-- name: rich_menus.managed
-- How many of a tenant's menus the editor has on LINE (then the old one-menu apply is refused).
SELECT count() AS n FROM delivery_rich_menu_menus FINAL
WHERE tenant_id = {tenant:String} AND line_rich_menu_id != '';
