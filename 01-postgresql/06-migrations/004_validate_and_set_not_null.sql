-- Part 2: VALIDATE scans the table under SHARE UPDATE EXCLUSIVE — reads and
-- writes go on. SET NOT NULL then trusts the valid CHECK (PostgreSQL 12+)
-- instead of scanning again under ACCESS EXCLUSIVE; the CHECK is redundant.
ALTER TABLE profiles VALIDATE CONSTRAINT profiles_display_name_not_null;
ALTER TABLE profiles ALTER COLUMN display_name SET NOT NULL;
ALTER TABLE profiles DROP CONSTRAINT profiles_display_name_not_null;
