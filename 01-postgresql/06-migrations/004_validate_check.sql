-- NOT NULL without a long lock, part 2: VALIDATE scans the table under
-- SHARE UPDATE EXCLUSIVE — reads and writes go on. Its own migration, so a
-- retry of the next step (which waits for a stronger lock) never repeats
-- the scan.
ALTER TABLE profiles VALIDATE CONSTRAINT profiles_display_name_not_null;
