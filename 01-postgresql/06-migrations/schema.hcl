# The desired end state of the profiles table, in Atlas HCL.
schema "public" {}

table "profiles" {
  schema = schema.public
  column "id" {
    null = false
    type = bigint
    identity {
      generated = ALWAYS
    }
  }
  column "display_name" {
    null = false
    type = text
  }
  primary_key {
    columns = [column.id]
  }
  index "profiles_display_name_idx" {
    columns = [column.display_name]
  }
}
