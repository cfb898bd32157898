-- NOT NULL without a long lock, part 1: a CHECK marked NOT VALID applies to
-- new rows at once and skips the scan of existing ones.
ALTER TABLE profiles ADD CONSTRAINT profiles_display_name_not_null
	CHECK (display_name IS NOT NULL) NOT VALID;
