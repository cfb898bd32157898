package main

import (
	"context"
	"database/sql"
	"fmt"

	"ariga.io/atlas/sql/postgres"
	"ariga.io/atlas/sql/schema"
)

// Finding is one problem in a plan, with the code `atlas migrate lint` uses.
type Finding struct{ Code, Text string }

func (f Finding) String() string { return f.Code + " " + f.Text }

// plan inspects the live tables, diffs them against the desired schema in
// HCL and returns the SQL Atlas would run, with the lint findings that make
// it unsafe to run unattended.
func plan(ctx context.Context, db *sql.DB, desiredHCL []byte, tables ...string) ([]string, []Finding, error) {
	drv, err := postgres.Open(db)
	if err != nil {
		return nil, nil, fmt.Errorf("atlas: open: %w", err)
	}
	current, err := drv.InspectSchema(ctx, "public", &schema.InspectOptions{Tables: tables})
	if err != nil {
		return nil, nil, fmt.Errorf("atlas: inspect: %w", err)
	}
	var desired schema.Schema
	if err := postgres.EvalHCLBytes(desiredHCL, &desired, nil); err != nil {
		return nil, nil, fmt.Errorf("atlas: desired schema: %w", err)
	}
	changes, err := drv.SchemaDiff(current, &desired)
	if err != nil {
		return nil, nil, fmt.Errorf("atlas: diff: %w", err)
	}
	p, err := drv.PlanChanges(ctx, "plan", changes)
	if err != nil {
		return nil, nil, fmt.Errorf("atlas: plan: %w", err)
	}
	stmts := make([]string, 0, len(p.Changes))
	for _, c := range p.Changes {
		stmts = append(stmts, c.Cmd)
	}
	return stmts, lint(changes), nil
}

// lint flags what `atlas migrate lint` flags: destructive changes (DS1xx),
// backward-incompatible ones (BC1xx) that break the running version of the
// application, data-dependent ones (MF1xx) that may fail on existing rows,
// and indexes built with a write lock (PG101).
func lint(changes []schema.Change) []Finding {
	var out []Finding
	for _, c := range changes {
		switch c := c.(type) {
		case *schema.DropSchema:
			out = append(out, Finding{"DS101", fmt.Sprintf("drops schema %q", c.S.Name)})
		case *schema.DropTable:
			out = append(out, Finding{"DS102", fmt.Sprintf("drops table %q", c.T.Name)})
		case *schema.RenameTable:
			out = append(out, Finding{"BC101", fmt.Sprintf("renames table %q to %q", c.From.Name, c.To.Name)})
		case *schema.ModifyTable:
			out = append(out, lintTable(c)...)
		}
	}
	return out
}

func lintTable(m *schema.ModifyTable) []Finding {
	var out []Finding
	for _, c := range m.Changes {
		switch c := c.(type) {
		case *schema.DropColumn:
			out = append(out, Finding{"DS103", fmt.Sprintf("drops column %q of table %q", c.C.Name, m.T.Name)})
		case *schema.RenameColumn:
			out = append(out, Finding{"BC102", fmt.Sprintf("renames column %q to %q", c.From.Name, c.To.Name)})
		case *schema.ModifyColumn:
			if c.Change.Is(schema.ChangeNull) && !c.To.Type.Null {
				out = append(out, Finding{"MF104", fmt.Sprintf("sets %q NOT NULL: fails on NULL rows", c.To.Name)})
			}
		case *schema.AddIndex:
			out = append(out, Finding{"PG101", fmt.Sprintf("creates index %q without CONCURRENTLY", c.I.Name)})
		}
	}
	return out
}
