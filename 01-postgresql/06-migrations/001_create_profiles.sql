-- The schema the old application knows.
CREATE TABLE profiles (
	id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name text NOT NULL
);
