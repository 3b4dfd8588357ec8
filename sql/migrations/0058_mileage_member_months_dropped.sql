-- mileage_member_months (0048) is read by no query since mileage_member_years (0049) answers the
-- month-by-month figures; every ledger INSERT still fed it through its view. Both go.
DROP VIEW IF EXISTS mileage_member_months_mv;
DROP TABLE IF EXISTS mileage_member_months;
