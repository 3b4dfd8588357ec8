-- Each ledger entry carries the participant's member number, so an award needs one INSERT: the
-- number given on a first award is durable with the award itself, and mileage_members (written
-- alongside, in larger batches) can be completed from the ledger if its row did not land.
ALTER TABLE mileage_ledger ADD COLUMN IF NOT EXISTS member_no String DEFAULT '';
