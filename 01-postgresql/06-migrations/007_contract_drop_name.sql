-- Contract: only once no deployed version reads or writes name.
DROP TRIGGER profiles_sync_names ON profiles;
DROP FUNCTION profiles_sync_names();
ALTER TABLE profiles DROP COLUMN name;
