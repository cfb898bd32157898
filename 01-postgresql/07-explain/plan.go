package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Explain is the output of EXPLAIN (ANALYZE, BUFFERS, VERBOSE, FORMAT JSON): a
// one-element array. Field names are PostgreSQL's own, spaces included.
type Explain struct {
	Plan          Plan    `json:"Plan"`
	QueryID       int64   `json:"Query Identifier"` // the queryid of pg_stat_statements
	PlanningTime  float64 `json:"Planning Time"`    // ms
	ExecutionTime float64 `json:"Execution Time"`   // ms
}

// Plan is one node of the plan tree; Plans are its children.
type Plan struct {
	NodeType         string  `json:"Node Type"`
	RelationName     string  `json:"Relation Name"`
	IndexName        string  `json:"Index Name"`
	PlanRows         float64 `json:"Plan Rows"`   // the planner's estimate
	ActualRows       float64 `json:"Actual Rows"` // per loop
	ActualLoops      float64 `json:"Actual Loops"`
	SharedHitBlocks  int64   `json:"Shared Hit Blocks"`
	SharedReadBlocks int64   `json:"Shared Read Blocks"`
	HeapFetches      *int64  `json:"Heap Fetches"` // Index Only Scan only
	Plans            []Plan  `json:"Plans"`
}

// explain runs query under EXPLAIN ANALYZE — it really executes the query,
// so never wrap a write in it outside a transaction you roll back.
func explain(ctx context.Context, pool *pgxpool.Pool, query string, args ...any) (Explain, error) {
	var raw []byte
	if err := pool.QueryRow(ctx, "EXPLAIN (ANALYZE, BUFFERS, VERBOSE, FORMAT JSON) "+query, args...).Scan(&raw); err != nil {
		return Explain{}, fmt.Errorf("explain: %w", err)
	}
	var out []Explain
	if err := json.Unmarshal(raw, &out); err != nil {
		return Explain{}, fmt.Errorf("decode plan: %w", err)
	}
	if len(out) != 1 {
		return Explain{}, fmt.Errorf("decode plan: %d plans, want 1", len(out))
	}
	return out[0], nil
}

// Scan returns the first node that reads a table or an index, depth first:
// the node that tells how the rows were found.
func (p Plan) Scan() Plan {
	if p.RelationName != "" || p.IndexName != "" {
		return p
	}
	for _, c := range p.Plans {
		if s := c.Scan(); s.NodeType != "" {
			return s
		}
	}
	return Plan{}
}

// String is the short form the example prints: node type and index.
func (p Plan) String() string {
	s := p.NodeType
	if p.IndexName != "" {
		s += " using " + p.IndexName
	} else if p.RelationName != "" {
		s += " on " + p.RelationName
	}
	// A bitmap scan reads the index in a child node: name it too.
	if p.NodeType == "Bitmap Heap Scan" && len(p.Plans) == 1 && p.Plans[0].IndexName != "" {
		s += " via " + p.Plans[0].String()
	}
	return s
}
