package main

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"strings"

	"ariga.io/atlas/sql/migrate"
	"ariga.io/atlas/sql/postgres"
	_ "ariga.io/atlas/sql/postgres/postgrescheck" // registers the PostgreSQL analyzers
	"ariga.io/atlas/sql/schema"
	"ariga.io/atlas/sql/sqlcheck"
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
	findings, err := lint(ctx, stmts, changes)
	return stmts, findings, err
}

// lint runs Atlas's own analyzers for PostgreSQL on the planned changes,
// the ones `atlas migrate lint` runs on a migration file: destructive
// (DS1xx), data-dependent (MF1xx, with the PostgreSQL NOT NULL check),
// backward-incompatible (BC1xx) and constraint drops (CD1xx). They come
// from sqlcheck's registry, filled by the postgrescheck import.
func lint(ctx context.Context, stmts []string, changes []schema.Change) ([]Finding, error) {
	analyzers, err := sqlcheck.AnalyzerFor(postgres.DriverName, nil)
	if err != nil {
		return nil, fmt.Errorf("atlas: analyzers: %w", err)
	}
	text := strings.Join(stmts, ";\n")
	pass := &sqlcheck.Pass{
		File: &sqlcheck.File{
			File:    migrate.NewLocalFile("plan.sql", []byte(text)),
			Changes: []*sqlcheck.Change{{Changes: changes, Stmt: &migrate.Stmt{Text: text}}},
			Sum:     changes,
		},
	}
	var out []Finding
	pass.Reporter = sqlcheck.ReportWriterFunc(func(r sqlcheck.Report) {
		for _, d := range r.Diagnostics {
			out = append(out, Finding{Code: d.Code, Text: d.Text})
		}
	})
	for _, a := range analyzers {
		// An analyzer also returns an error when it found something (its
		// "error" option); the findings are what this program acts on.
		_ = a.Analyze(ctx, pass)
	}
	return out, nil
}

// verifySum checks the migration files against atlas.sum, Atlas's
// integrity file: a migration edited after it was released, or two
// branches that each added version N, fail here instead of in production.
// After adding a migration: atlas migrate hash --dir file://.
func verifySum(fsys fs.FS) (int, error) {
	dir := migrate.OpenMemDir("migrations")
	defer dir.Close()
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return 0, fmt.Errorf("atlas.sum: %w", err)
	}
	for _, name := range append(names, migrate.HashFileName) {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return 0, fmt.Errorf("atlas.sum: %w", err)
		}
		if err := dir.WriteFile(name, b); err != nil {
			return 0, fmt.Errorf("atlas.sum: %w", err)
		}
	}
	if err := migrate.Validate(dir); err != nil {
		return 0, fmt.Errorf("atlas.sum: %w (run atlas migrate hash after changing a migration)", err)
	}
	return len(names), nil
}
