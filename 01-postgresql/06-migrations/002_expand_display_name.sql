-- Expand: name becomes display_name. The new column is nullable, so adding
-- it is a catalog change only (no table rewrite). Until the contract step a
-- trigger dual-writes: whichever version of the application writes one
-- column, the other follows.
ALTER TABLE profiles ADD COLUMN display_name text;

CREATE FUNCTION profiles_sync_names() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'INSERT' THEN
		NEW.display_name := coalesce(NEW.display_name, NEW.name);
		NEW.name := coalesce(NEW.name, NEW.display_name);
	ELSIF NEW.name IS DISTINCT FROM OLD.name THEN
		NEW.display_name := NEW.name;
	ELSIF NEW.display_name IS DISTINCT FROM OLD.display_name THEN
		NEW.name := NEW.display_name;
	END IF;
	RETURN NEW;
END $$;

CREATE TRIGGER profiles_sync_names BEFORE INSERT OR UPDATE ON profiles
	FOR EACH ROW EXECUTE FUNCTION profiles_sync_names();
