-- The card design's artwork may be a PNG or a JPEG: its media type beside the base64 bytes
-- (image_png keeps its name; existing rows are PNGs).
ALTER TABLE mileage_card_designs ADD COLUMN IF NOT EXISTS image_type LowCardinality(String) DEFAULT 'image/png';
